package streams

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/client"
)

// Standby replicas (num.standby.replicas) and KIP-441 warm-up replicas:
// copies of a task's stores kept on an instance that does not run the task,
// fed from the task's changelog partitions. A promoted standby (the task
// becomes active here) hands its stores over on disk: it flushes, writes
// its checkpoint and closes, and the active task opens the same directory
// and restores only what the standby had not read yet.
//
// One standbyManager per instance owns every standby task of the instance
// (whatever thread the assignment gave them to: the threads share the
// state directory) and one consumer outside the group that reads their
// changelogs, on a goroutine of its own so standbys never slow down the
// stream threads.

// standbyTaskInfo describes a standby (or warm-up) task this instance holds.
type standbyTaskInfo struct {
	ID TaskID
	// Threads are the stream threads whose assignment lists the task.
	Threads []string
	// Changelogs are its changelog partitions with the next offset to read
	// and the lag behind the end last seen (-1 while unknown).
	Changelogs []standbyChangelog
}

// standbyChangelog is one changelog partition a standby task follows.
type standbyChangelog struct {
	TopicPartition
	Next int64
	Lag  int64
}

type standbyManager struct {
	app *App

	mu      sync.Mutex
	want    map[int][]TaskID // standby tasks by stream thread id
	names   map[int]string   // thread names, for standbyTaskInfo
	active  map[TaskID]int   // tasks running on this instance: never standbys here
	tasks   map[TaskID]*standbyTask
	cl      *kgo.Client
	started bool
	closed  bool
	wake    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
	applied int64 // changelog records written into standby stores
	// handover passes in-memory stores from promoted standbys to their
	// active tasks (standby_handover.go).
	handover  *handover
	rawOpener storeOpener // the runtime's, for standby tasks
}

type standbyTask struct {
	task *streamTask
	next map[TopicPartition]int64
	end  map[TopicPartition]int64 // high watermarks seen
}

func newStandbyManager(a *App) *standbyManager {
	return &standbyManager{
		app:      a,
		want:     map[int][]TaskID{},
		names:    map[int]string{},
		active:   map[TaskID]int{},
		tasks:    map[TaskID]*standbyTask{},
		wake:     make(chan struct{}, 1),
		handover: newHandover(a.cfg.ApplicationID),
	}
}

// wrapOpener returns the storeOpener active tasks use: inner, plus the
// in-memory stores promoted standbys hand over.
func (m *standbyManager) wrapOpener(inner storeOpener) storeOpener {
	if m == nil {
		return inner
	}
	m.mu.Lock()
	m.rawOpener = inner
	m.mu.Unlock()
	return &activeOpener{handoverOpener{inner: inner, h: m.handover}}
}

func (m *standbyManager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// assign records a stream thread's standby tasks from its latest
// assignment (nil when the thread stops).
func (m *standbyManager) assign(thread int, name string, tasks []TaskID) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if len(tasks) == 0 {
		delete(m.want, thread)
	} else {
		m.want[thread] = append([]TaskID(nil), tasks...)
		m.names[thread] = name
	}
	if !m.started && len(tasks) > 0 {
		m.started = true
		ctx, cancel := context.WithCancel(context.Background())
		m.cancel = cancel
		m.done = make(chan struct{})
		go m.run(ctx)
	}
	m.poke()
}

// tasksOf returns a thread's standby tasks, for its subscription.
func (m *standbyManager) tasksOf(thread int) []TaskID {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]TaskID(nil), m.want[thread]...)
}

// activate is called before a stream thread opens task id as active: a
// standby of it on this instance is closed first (its checkpoint written),
// so the active task starts from its state.
func (m *standbyManager) activate(id TaskID) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.active[id]++
	if st, ok := m.tasks[id]; ok {
		m.handover.release(id, st.next)
		m.closeTaskLocked(id, st)
		m.app.cfg.Logger.Info("streams: standby task promoted to active", "task", id.String())
	}
}

// deactivate is called after a stream thread closed task id: if the
// assignment keeps a standby of it here, the standby takes over its state.
func (m *standbyManager) deactivate(id TaskID) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handover.drop(id) // handed over but not taken: the active task failed to open
	if m.active[id] <= 1 {
		delete(m.active, id)
	} else {
		m.active[id]--
	}
	m.poke()
}

// activeTasks lists the tasks running on this instance.
func (m *standbyManager) activeTasks() []TaskID {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]TaskID, 0, len(m.active))
	for id := range m.active {
		out = append(out, id)
	}
	return out
}

// positions returns the offset sums of the standby tasks' stores.
func (m *standbyManager) positions() map[TaskID]int64 {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[TaskID]int64, len(m.tasks))
	for id, st := range m.tasks {
		var sum int64
		for _, n := range st.next {
			sum += n
		}
		out[id] = sum
	}
	return out
}

// standbyTasks returns the standby and warm-up tasks this instance holds
// now, sorted by id: those open, and those assigned but waiting (their
// task still runs here, or the manager has not opened them yet) without
// changelogs.
func (a *App) standbyTasks() []standbyTaskInfo {
	m := a.standbys
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	byID := map[TaskID]*standbyTaskInfo{}
	for th, ids := range m.want {
		for _, id := range ids {
			if byID[id] == nil {
				byID[id] = &standbyTaskInfo{ID: id}
			}
			byID[id].Threads = append(byID[id].Threads, m.names[th])
		}
	}
	out := make([]standbyTaskInfo, 0, len(byID))
	for id, info := range byID {
		sort.Strings(info.Threads)
		if st, ok := m.tasks[id]; ok {
			for tp, next := range st.next {
				lag := int64(-1)
				if end, ok := st.end[tp]; ok {
					lag = max(end-next, 0)
				}
				info.Changelogs = append(info.Changelogs, standbyChangelog{TopicPartition: tp, Next: next, Lag: lag})
			}
			sort.Slice(info.Changelogs, func(i, j int) bool {
				a, b := info.Changelogs[i], info.Changelogs[j]
				return a.Topic < b.Topic || a.Topic == b.Topic && a.Partition < b.Partition
			})
		}
		out = append(out, *info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID.Less(out[j].ID) })
	return out
}

// close stops the manager: standby tasks write their checkpoints and close.
func (m *standbyManager) close() {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.closed = true
	cancel, done := m.cancel, m.done
	m.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// standbyPoll bounds one wait for changelog records.
const standbyPoll = 200 * time.Millisecond

// standbyEndsInterval is how often the manager asks for the changelogs' end
// offsets, for the standbys' lags (fetches tell it too, but only for
// partitions with new records).
const standbyEndsInterval = time.Second

// refreshEnds updates the standby tasks' changelog end offsets.
func (m *standbyManager) refreshEnds(ctx context.Context) {
	m.mu.Lock()
	topicSet := map[string]bool{}
	for _, st := range m.tasks {
		for tp := range st.next {
			topicSet[tp.Topic] = true
		}
	}
	m.mu.Unlock()
	m.app.mu.Lock()
	admin := m.app.admin
	m.app.mu.Unlock()
	if len(topicSet) == 0 || admin == nil {
		return
	}
	topics := make([]string, 0, len(topicSet))
	for t := range topicSet {
		topics = append(topics, t)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	list := admin.ListEndOffsets
	if m.app.eos() {
		// Read committed: the end is the last stable offset.
		list = admin.ListCommittedOffsets
	}
	ends, err := list(ctx, topics...)
	if err != nil {
		return // the next round retries; lags stay as they were
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, st := range m.tasks {
		for tp := range st.next {
			if o, ok := ends.Lookup(tp.Topic, tp.Partition); ok && o.Err == nil {
				if cur, known := st.end[tp]; !known || o.Offset > cur {
					st.end[tp] = o.Offset
				}
			}
		}
	}
}

func (m *standbyManager) run(ctx context.Context) {
	defer close(m.done)
	defer func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		for id, st := range m.tasks {
			m.closeTaskLocked(id, st)
		}
		if m.cl != nil {
			m.cl.Close()
			m.cl = nil
		}
	}()
	lastCheckpoint, lastEnds := time.Now(), time.Time{}
	for ctx.Err() == nil {
		if time.Since(lastEnds) >= standbyEndsInterval {
			m.refreshEnds(ctx)
			lastEnds = time.Now()
		}
		m.mu.Lock()
		m.reconcileLocked()
		cl, n := m.cl, len(m.tasks)
		m.mu.Unlock()
		if n == 0 || cl == nil {
			select {
			case <-ctx.Done():
			case <-m.wake:
			case <-time.After(time.Second): // retry a failed open
			}
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, standbyPoll)
		fetches := cl.PollRecords(pctx, 10000)
		cancel()
		if fetches.IsClientClosed() {
			return
		}
		m.mu.Lock()
		m.applyLocked(fetches)
		if time.Since(lastCheckpoint) >= min(m.app.cfg.CommitInterval, 5*time.Second) {
			m.checkpointLocked()
			lastCheckpoint = time.Now()
		}
		m.mu.Unlock()
	}
}

// reconcileLocked opens the standby tasks the assignments want and closes
// the others.
func (m *standbyManager) reconcileLocked() {
	want := map[TaskID]bool{}
	for _, ids := range m.want {
		for _, id := range ids {
			if m.active[id] == 0 {
				want[id] = true
			}
		}
	}
	for id, st := range m.tasks {
		if !want[id] {
			m.closeTaskLocked(id, st)
		}
	}
	ids := make([]TaskID, 0, len(want))
	for id := range want {
		if _, ok := m.tasks[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].Less(ids[j]) })
	for _, id := range ids {
		if err := m.openTaskLocked(id); err != nil {
			m.app.cfg.Logger.Warn("streams: open standby task; retrying", "task", id.String(), "err", err)
		}
	}
}

func (m *standbyManager) openTaskLocked(id TaskID) error {
	a := m.app
	if m.rawOpener == nil {
		return errNoOpener
	}
	if m.cl == nil {
		cl, err := a.newClient([]client.Role{client.RoleConsumer}, "",
			kgo.ClientID(a.cfg.ClientID+"-standby-consumer"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMaxWait(100*time.Millisecond),
			// Transaction markers move a standby's position past the end
			// of a transaction (they are not applied).
			kgo.KeepControlRecords())
		if err != nil {
			return fmt.Errorf("streams: standby consumer: %w", err)
		}
		m.cl = cl
	}
	task, err := newStreamTask(a.topo, id, nil, taskConfig{
		ApplicationID: a.cfg.ApplicationID,
		Collector:     standbyCollector{},
		Stores:        &standbyOpener{handoverOpener{inner: m.rawOpener, h: m.handover}},
		Logger:        a.cfg.Logger.With("standby", id.String()),
	})
	if err != nil {
		return err
	}
	st := &standbyTask{task: task, next: map[TopicPartition]int64{}, end: map[TopicPartition]int64{}}
	add := map[string]map[int32]kgo.Offset{}
	for _, c := range task.changelogs() {
		st.next[c.TopicPartition] = c.StartOffset
		if add[c.Topic] == nil {
			add[c.Topic] = map[int32]kgo.Offset{}
		}
		add[c.Topic][c.Partition] = kgo.NewOffset().At(c.StartOffset)
	}
	m.tasks[id] = st
	m.cl.AddConsumePartitions(add)
	a.cfg.Logger.Info("streams: standby task opened", "task", id.String(), "changelogs", len(st.next))
	return nil
}

// closeTaskLocked stops following a standby task's changelogs, writes its
// checkpoints and closes its stores.
func (m *standbyManager) closeTaskLocked(id TaskID, st *standbyTask) {
	remove := map[string][]int32{}
	for tp, next := range st.next {
		remove[tp.Topic] = append(remove[tp.Topic], tp.Partition)
		if err := st.task.FinishRestore(tp, next); err != nil {
			m.app.cfg.Logger.Warn("streams: standby checkpoint", "task", id.String(), "err", err)
		}
	}
	if m.cl != nil {
		m.cl.RemoveConsumePartitions(remove)
	}
	if err := st.task.Close(false); err != nil {
		m.app.cfg.Logger.Warn("streams: close standby task", "task", id.String(), "err", err)
	}
	delete(m.tasks, id)
}

// applyLocked writes fetched changelog records into the standby stores.
func (m *standbyManager) applyLocked(fetches kgo.Fetches) {
	fetches.EachError(func(topic string, p int32, err error) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return
		}
		m.app.cfg.Logger.Warn("streams: standby fetch error", "topic", topic, "partition", p, "err", err)
	})
	var raws []RawRecord
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		tp := TopicPartition{Topic: p.Topic, Partition: p.Partition}
		st := m.findLocked(tp)
		if st == nil {
			return // closed meanwhile
		}
		if end := m.fetchEnd(p); end >= 0 {
			if cur, known := st.end[tp]; !known || end > cur {
				st.end[tp] = end
			}
		}
		next := st.next[tp]
		recs := p.Records
		for len(recs) > 0 && recs[0].Offset < next {
			recs = recs[1:] // read before a reopen: already applied
		}
		if len(recs) == 0 {
			return
		}
		// Transaction markers (control records) are not applied, but the
		// position moves past them: a standby that read its changelog's
		// last marker has lag 0.
		raws = toRaw(raws[:0], recs)
		if len(raws) == 0 {
			st.next[tp] = recs[len(recs)-1].Offset + 1
			return
		}
		if err := st.task.RestoreRecords(tp, raws); err != nil {
			// The standby's copy is now unknown: drop it (and its
			// checkpoint stays at what was last written) and let the next
			// reconcile reopen it from there.
			m.app.cfg.Logger.Warn("streams: standby apply failed; reopening the task", "task", st.task.ID().String(), "err", err)
			m.dropLocked(st)
			return
		}
		st.next[tp] = recs[len(recs)-1].Offset + 1
		m.applied += int64(len(raws))
	})
	clear(raws)
}

// fetchEnd is the end a fetched changelog partition reports for the
// standbys' lags: its high watermark, or under exactly_once_v2 (read
// committed) its last stable offset, the end a read_committed reader can
// reach. -1 when unknown.
func (m *standbyManager) fetchEnd(p kgo.FetchTopicPartition) int64 {
	if m.app.eos() {
		return p.LastStableOffset
	}
	return p.HighWatermark
}

func (m *standbyManager) findLocked(tp TopicPartition) *standbyTask {
	for _, st := range m.tasks {
		if _, ok := st.next[tp]; ok {
			return st
		}
	}
	return nil
}

// dropLocked closes a standby task without writing checkpoints.
func (m *standbyManager) dropLocked(st *standbyTask) {
	remove := map[string][]int32{}
	for tp := range st.next {
		remove[tp.Topic] = append(remove[tp.Topic], tp.Partition)
	}
	if m.cl != nil {
		m.cl.RemoveConsumePartitions(remove)
	}
	_ = st.task.Close(false)
	delete(m.tasks, st.task.ID())
}

func (m *standbyManager) checkpointLocked() {
	for id, st := range m.tasks {
		for tp, next := range st.next {
			if err := st.task.FinishRestore(tp, next); err != nil {
				m.app.cfg.Logger.Warn("streams: standby checkpoint", "task", id.String(), "err", err)
			}
		}
	}
}

// standbyCollector refuses records: a standby task only restores.
type standbyCollector struct{}

func (standbyCollector) Send(ProducerRecord) error {
	return errors.New("streams: a standby task does not send records")
}

func (standbyCollector) PartitionCount(string) (int32, error) {
	return 0, errors.New("streams: a standby task does not send records")
}

// String renders "topic-partition@next (lag n)".
func (c standbyChangelog) String() string {
	return fmt.Sprintf("%s@%d (lag %d)", c.TopicPartition, c.Next, c.Lag)
}
