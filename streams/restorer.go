package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/client"
)

// changelogRestore is one changelog partition being restored.
type changelogRestore struct {
	task *streamTask
	end  int64
	next int64
	rs   *storeRestore // the bulk restorer and its progress (restore.go)
}

// changelogRestorer drives the restore of one stream thread's active tasks:
// it owns the restore consumer and the changelog partitions being read, and
// reports the tasks whose stores are all restored. It knows nothing of the
// thread's group consumer: the thread pauses a restoring task's input
// partitions and initializes and resumes the task once it is reported
// restored. It is not safe for concurrent use: the thread calls it with its
// lock held.
type changelogRestorer struct {
	app    *App
	thread string      // the thread's name, for logs and restore statuses
	cl     *kgo.Client // the restore consumer, made on first need
	active map[TopicPartition]*changelogRestore
}

func newChangelogRestorer(app *App, thread string) *changelogRestorer {
	return &changelogRestorer{app: app, thread: thread, active: make(map[TopicPartition]*changelogRestore)}
}

// busy reports whether a changelog partition is being restored.
func (r *changelogRestorer) busy() bool { return len(r.active) > 0 }

// start begins restoring task's stores from their checkpoints to the
// changelogs' current ends. It reports whether anything is left to
// restore; when nothing is, every changelog is marked restored (its
// checkpoint written) and the caller initializes the task at once.
func (r *changelogRestorer) start(ctx context.Context, task *streamTask) (bool, error) {
	cls := task.changelogs()
	if len(cls) == 0 {
		return false, nil
	}
	topics := make([]string, 0, len(cls))
	for _, c := range cls {
		topics = append(topics, c.Topic)
	}
	// The end is the log end offset under either guarantee, as Kafka
	// Streams has it, not the last stable offset: under
	// exactly_once_v2 the restore consumer reads committed, so it cannot
	// pass a transaction still open there and the restore ends only once
	// that transaction has. Such a transaction is the previous owner's
	// last one (a commit on revocation whose markers are not written yet,
	// or a zombie's), and when it commits, it also commits the input
	// offsets this task starts from (KIP-447): ending at the last stable
	// offset would leave its changelog records out of the store while the
	// input skips the records they came from.
	ends, err := r.app.admin.ListEndOffsets(ctx, topics...)
	if err != nil {
		return false, fmt.Errorf("streams: task %s: changelog end offsets: %w", task.ID(), err)
	}
	starts, err := r.app.admin.ListStartOffsets(ctx, topics...)
	if err != nil {
		return false, fmt.Errorf("streams: task %s: changelog start offsets: %w", task.ID(), err)
	}
	pending := map[string]map[int32]kgo.Offset{}
	for _, c := range cls {
		end, err := listedOffset(ends, c.TopicPartition)
		if err != nil {
			return false, fmt.Errorf("streams: task %s: end offset of %s: %w", task.ID(), c.TopicPartition, err)
		}
		start, err := listedOffset(starts, c.TopicPartition)
		if err != nil {
			return false, fmt.Errorf("streams: task %s: start offset of %s: %w", task.ID(), c.TopicPartition, err)
		}
		// A restore from the beginning starts at the log start offset: the
		// restore ends when it has read up to the end, and nothing would be
		// read below the log start (a changelog whose records retention or
		// DeleteRecords removed would never finish restoring). A
		// checkpoint below the log start does not get here: the opener
		// wiped that store (checkpoint_verify.go).
		c.StartOffset = max(c.StartOffset, start)
		if c.StartOffset >= end {
			if err := task.FinishRestore(c.TopicPartition, max(end, c.StartOffset)); err != nil {
				return false, err
			}
			continue
		}
		cr := &changelogRestore{task: task, end: end, next: c.StartOffset}
		if err := r.begin(cr, c); err != nil {
			return false, err
		}
		r.active[c.TopicPartition] = cr
		if pending[c.Topic] == nil {
			pending[c.Topic] = map[int32]kgo.Offset{}
		}
		pending[c.Topic][c.Partition] = kgo.NewOffset().At(c.StartOffset)
	}
	if len(pending) == 0 {
		return false, nil
	}
	if r.cl == nil {
		cl, err := r.app.newClient([]client.Role{client.RoleConsumer}, "",
			kgo.ClientID(r.thread+"-restore-consumer"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMaxWait(100*time.Millisecond),
			// Transaction markers move the restore's position past the
			// end of a transaction (they are not applied).
			kgo.KeepControlRecords())
		if err != nil {
			return false, fmt.Errorf("streams: restore consumer: %w", err)
		}
		r.cl = cl
	}
	r.cl.AddConsumePartitions(pending)
	return true, nil
}

// poll reads what the restore consumer has within timeout and applies it.
// It returns the tasks whose changelogs are now all restored (their
// checkpoints written), each once, for the caller to initialize.
func (r *changelogRestorer) poll(ctx context.Context, timeout time.Duration) ([]*streamTask, error) {
	if r.cl == nil {
		return nil, nil
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	fetches := r.cl.PollRecords(pctx, 10000)
	cancel()
	fetches.EachError(func(topic string, p int32, err error) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return
		}
		r.app.cfg.Logger.Warn("streams: restore fetch error", "thread", r.thread, "topic", topic, "partition", p, "err", err)
	})
	var ferr error
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if ferr != nil || len(p.Records) == 0 {
			return
		}
		cr, ok := r.active[TopicPartition{Topic: p.Topic, Partition: p.Partition}]
		if !ok {
			return
		}
		if err := r.apply(cr, p.Records); err != nil {
			ferr = err
			return
		}
		cr.next = p.Records[len(p.Records)-1].Offset + 1
	})
	if ferr != nil {
		return nil, ferr
	}
	done := map[string][]int32{}
	var touched []*streamTask
	for tp, cr := range r.active {
		if cr.next < cr.end {
			continue
		}
		if err := r.end(cr); err != nil {
			return nil, err
		}
		if err := cr.task.FinishRestore(tp, cr.next); err != nil {
			return nil, err
		}
		delete(r.active, tp)
		done[tp.Topic] = append(done[tp.Topic], tp.Partition)
		touched = append(touched, cr.task)
	}
	if len(done) > 0 {
		r.cl.RemoveConsumePartitions(done)
	}
	var finished []*streamTask
	seen := map[*streamTask]bool{}
	for _, task := range touched {
		if seen[task] || r.restoring(task) {
			continue
		}
		seen[task] = true
		finished = append(finished, task)
	}
	return finished, nil
}

// restoring reports whether a changelog of task is still being restored.
func (r *changelogRestorer) restoring(task *streamTask) bool {
	for _, cr := range r.active {
		if cr.task == task {
			return true
		}
	}
	return false
}

// drop forgets the restores of task (it closed before they ended).
func (r *changelogRestorer) drop(task *streamTask) {
	var remove map[string][]int32
	for tp, cr := range r.active {
		if cr.task != task {
			continue
		}
		if cr.rs != nil {
			r.app.restores.remove(cr.rs)
		}
		delete(r.active, tp)
		if remove == nil {
			remove = map[string][]int32{}
		}
		remove[tp.Topic] = append(remove[tp.Topic], tp.Partition)
	}
	if remove != nil && r.cl != nil {
		r.cl.RemoveConsumePartitions(remove)
	}
}

// close closes the restore consumer.
func (r *changelogRestorer) close() {
	if r.cl != nil {
		r.cl.Close()
	}
}

// startRestore begins restoring task's stores from their changelogs; its
// input partitions stay paused until it is done. A task with nothing to
// restore starts at once.
func (t *streamThread) startRestore(ctx context.Context, task *streamTask) error {
	restoring, err := t.restorer.start(ctx, task)
	if err != nil {
		return err
	}
	if !restoring {
		return task.Initialize(t.now().UnixMilli())
	}
	pause := map[string][]int32{}
	for _, tp := range task.Partitions() {
		pause[tp.Topic] = append(pause[tp.Topic], tp.Partition)
		t.paused[tp] = true
	}
	t.cl.PauseFetchPartitions(pause)
	return nil
}

// restoreStep runs one slice of the restore between the processing of the
// running tasks, then starts the tasks it finished.
func (t *streamThread) restoreStep() error {
	timeout := 50 * time.Millisecond
	if t.hasBuffered() {
		timeout = time.Millisecond
	}
	finished, err := t.restorer.poll(t.ctx, timeout)
	if err != nil {
		return err
	}
	for _, task := range finished {
		if task.State() == TaskRunning {
			continue
		}
		if err := task.Initialize(t.now().UnixMilli()); err != nil {
			return err
		}
		t.app.cfg.Logger.Info("streams: task restored", "thread", t.name, "task", task.ID().String())
		resume := map[string][]int32{}
		for _, tp := range task.Partitions() {
			if task.Buffered(tp) < t.app.cfg.BufferedRecordsPerPartition {
				resume[tp.Topic] = append(resume[tp.Topic], tp.Partition)
				delete(t.paused, tp)
			}
		}
		t.cl.ResumeFetchPartitions(resume)
	}
	t.updateRunning()
	return nil
}

// listedOffset is tp's offset in a ListOffsets answer, or why there is none.
func listedOffset(l kadm.ListedOffsets, tp TopicPartition) (int64, error) {
	o, ok := l.Lookup(tp.Topic, tp.Partition)
	if !ok {
		return 0, errors.New("the broker listed no offset for it (does the partition exist?)")
	}
	if o.Err != nil {
		return 0, o.Err
	}
	return o.Offset, nil
}
