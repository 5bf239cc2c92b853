package streams

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rivulet-io/rivulet/client"
)

const (
	threadStarting int32 = iota
	threadRebalancing
	threadRunning
	threadDead
)

// commitTimeout bounds one commit (Kafka's default.api.timeout.ms).
const commitTimeout = 60 * time.Second

// processBatch is how many records a task processes before the thread
// moves to the next task and checks punctuations.
const processBatch = 100

// streamThread drives tasks from one franz-go client that is both a member
// of the application's consumer group and its producer. Its loop polls,
// feeds tasks, processes, punctuates and commits; franz-go's rebalance
// callbacks run between polls (BlockRebalanceOnPoll), never while records
// are being processed, and take the thread's lock.
type streamThread struct {
	app       *App
	id        int
	name      string
	cl        *kgo.Client
	restorer  *changelogRestorer
	collector *threadCollector
	ctx       context.Context
	cancel    context.CancelFunc
	// prodCtx outlives ctx: the final commit still produces after Close.
	prodCtx    context.Context
	prodCancel context.CancelFunc
	state      atomic.Int32
	// removing is set by App.RemoveStreamThread; exited is closed once the
	// thread's goroutine has ended.
	removing atomic.Bool
	exited   chan struct{}
	// stats are the thread's own counters (no cache line shared with other
	// threads on the per-record path); the app's metrics sum them.
	stats *taskStats

	// Follow-up rebalances (see taskBalancer.Balance).
	rejoins    atomic.Uint64
	followupMu sync.Mutex
	followup   *time.Timer
	closed     bool
	// probe is the KIP-441 probing rebalance the assignment asked for.
	probe *time.Timer
	// cohort holds the threads started with this one, which join the
	// group together (join_cohort.go); nil for a thread started alone.
	cohort *joinCohort

	mu       sync.Mutex
	tasks    map[TaskID]*streamTask
	byTP     map[TopicPartition]*streamTask
	assigned map[TopicPartition]bool
	paused   map[TopicPartition]bool
	fatal    error
	failed   bool

	lastCommit   time.Time
	lastLagCheck time.Time
	lastPurge    time.Time
	purgeOffsets map[TopicPartition]int64

	// Exactly-once (eos.go): a transaction is open; its offsets were
	// added to it; the tasks were revived and the input must be rewound.
	inTxn        bool
	offsetsAdded bool
	needRewind   bool
	topicIDCache map[string][16]byte

	// asyncCommits holds what the periodic offset commits in flight
	// report (commit_async.go).
	asyncCommits asyncCommits
}

func newStreamThread(a *App, id int, cohort *joinCohort) (*streamThread, error) {
	t := &streamThread{
		app:          a,
		id:           id,
		name:         a.cfg.ClientID + "-StreamThread-" + strconv.Itoa(id+1),
		tasks:        make(map[TaskID]*streamTask),
		byTP:         make(map[TopicPartition]*streamTask),
		assigned:     make(map[TopicPartition]bool),
		paused:       make(map[TopicPartition]bool),
		purgeOffsets: make(map[TopicPartition]int64),
		exited:       make(chan struct{}),
		cohort:       cohort,
	}
	t.stats = a.newStats()
	t.restorer = newChangelogRestorer(a, t.name)
	t.ctx, t.cancel = context.WithCancel(a.runCtx)
	t.prodCtx, t.prodCancel = context.WithCancel(context.Background())
	var bal kgo.GroupBalancer = &taskBalancer{app: a, thread: t, cooperative: true}
	if a.cfg.Balancer != nil {
		bal = a.cfg.Balancer(a)
	}
	reset := kgo.NewOffset().AtStart()
	if a.cfg.AutoOffsetReset == "latest" {
		reset = kgo.NewOffset().AtEnd()
	}
	topics, patterns := a.sourceTopics()
	opts := []kgo.Opt{
		kgo.ClientID(t.name),
		kgo.ConsumerGroup(a.cfg.ApplicationID),
		kgo.Balancers(bal),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		// Transaction markers come back as control records (not given to
		// tasks): their offsets are the fetch position that task idling
		// compares with the partition's end (idle_lag.go).
		kgo.KeepControlRecords(),
		kgo.ConsumeResetOffset(reset),
		kgo.OnPartitionsAssigned(t.onAssigned),
		kgo.OnPartitionsRevoked(t.onRevoked),
		kgo.OnPartitionsLost(t.onLost),
		kgo.RecordPartitioner(newStreamsPartitioner()),
	}
	if !hasProp(a.cfg.ClientProperties["producer"], "linger.ms") {
		// No linger (Kafka Streams sets linger.ms=100): franz-go batches the
		// records produced while a request to the broker is in flight, so a
		// busy thread's batches fill anyway, and a linger only delays the
		// records of a quiet one (measured: map-only p99 at 2,000 records/s
		// from ~9.4 ms to ~3 ms, throughput unchanged).
		opts = append(opts, kgo.ProducerLinger(0))
	}
	if !hasProp(a.cfg.ClientProperties["producer"], "compression.type") {
		// Kafka's producer default, which Kafka Streams keeps (franz-go's is snappy): a
		// stream thread writes each record to a repartition, changelog or output topic,
		// and compressing it there and decompressing it again on the way back in took
		// about 3% of the CPU of a count over new keys (its profile); the word count's
		// process used about 7% less CPU without it.
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	}
	if !hasProp(a.cfg.ClientProperties["consumer"], "fetch.max.wait.ms") {
		// A partition resumed after back-pressure (pauseFull) joins the next fetch only
		// after the one in flight, which the broker holds up to fetch.max.wait.ms when
		// nothing in it has new data; meanwhile a task waiting on that partition stalls.
		// franz-go's default of 5 s stalled a stream-stream join for seconds (rivulet
		// bench streams: 75k against 170-200k records/s, every other run); Kafka's 500
		// ms still halved a table-table join now and then (about 550k against 1M).
		opts = append(opts, kgo.FetchMaxWait(defaultFetchMaxWait))
	}
	if len(patterns) > 0 {
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(append(regexQuote(topics), patterns...)...))
	} else {
		opts = append(opts, kgo.ConsumeTopics(topics...))
	}
	if a.eos() {
		opts = append(opts, t.eosClientOpts()...)
	}
	// The client joins the group as soon as it exists, and the rebalance
	// callbacks take t.mu: hold it until the thread is fully built.
	t.mu.Lock()
	defer t.mu.Unlock()
	cl, err := a.newClient([]client.Role{client.RoleProducer, client.RoleConsumer}, strconv.Itoa(id+1), opts...)
	if err != nil {
		return nil, fmt.Errorf("streams: thread %s: client: %w", t.name, err)
	}
	t.cl = cl
	t.collector = newThreadCollector(t.prodCtx, cl, t.stats, a.cfg.ProductionHandler, a.cfg.Logger.With("thread", t.name), func() { a.metrics.productionErrors.Add(1) })
	t.collector.eos = a.eos()
	return t, nil
}

// defaultFetchMaxWait is the stream threads' fetch.max.wait.ms unless the
// consumer properties set one (Kafka's default is 500 ms, franz-go's 5 s), as
// the restore and standby consumers use: an idle thread sends ten fetches a
// second, and a resumed partition waits at most this long.
const defaultFetchMaxWait = 100 * time.Millisecond

// followupDelay is how long a member waits before asking for the
// follow-up rebalance that finishes a cooperative move (normally the
// revoking member's own rejoin does it first).
const followupDelay = time.Second

// assignmentReceived runs when the thread gets an assignment: a pending
// follow-up is now moot, unless this assignment asks for one.
func (t *streamThread) assignmentReceived(followup bool) {
	t.followupMu.Lock()
	defer t.followupMu.Unlock()
	if t.followup != nil {
		t.followup.Stop()
		t.followup = nil
	}
	if !followup || t.closed {
		return
	}
	t.followup = time.AfterFunc(followupDelay, func() {
		t.followupMu.Lock()
		defer t.followupMu.Unlock()
		if t.closed {
			return
		}
		t.rejoins.Add(1)
		t.app.cfg.Logger.Debug("streams: asking for a follow-up rebalance", "thread", t.name)
		t.cl.ForceRebalance()
	})
}

func (t *streamThread) stopFollowups() {
	t.followupMu.Lock()
	defer t.followupMu.Unlock()
	t.closed = true
	if t.followup != nil {
		t.followup.Stop()
		t.followup = nil
	}
	if t.probe != nil {
		t.probe.Stop()
		t.probe = nil
	}
}

func hasProp(p Properties, key string) bool {
	_, ok := p[key]
	return ok
}

func (t *streamThread) setState(s int32) {
	if t.state.Swap(s) != s {
		t.app.updateState()
	}
}

func (t *streamThread) now() time.Time { return t.app.cfg.now() }

func (t *streamThread) taskConfig() taskConfig {
	a := t.app
	var globals map[string]StateStore
	if a.global != nil {
		globals = a.global.task.Stores()
	}
	return taskConfig{
		ApplicationID:          a.cfg.ApplicationID,
		Collector:              t.collector,
		Stores:                 a.opener,
		GlobalStores:           globals,
		TimestampExtractor:     a.cfg.TimestampExtractor,
		DeserializationHandler: a.cfg.DeserializationHandler,
		ProductionHandler:      a.cfg.ProductionHandler,
		DeadLetterTopic:        a.cfg.DeadLetterTopic,
		MaxTaskIdle:            a.cfg.MaxTaskIdle,
		TrackFetchLag:          true,
		Logger:                 a.cfg.Logger.With("thread", t.name),
		Stats:                  t.stats,
		Cache:                  a.cache,
	}
}

// run is the thread's loop. It returns nil after a clean stop, or the
// error that failed the thread.
func (t *streamThread) run() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("streams: thread %s: panic: %v", t.name, r)
		}
		t.shutdown(err == nil)
		t.setState(threadDead)
	}()
	t.setState(threadRebalancing)
	if t.app.eos() {
		if err := t.eosInit(t.ctx); err != nil {
			if t.ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	t.lastCommit = t.now()
	t.lastPurge = t.now()
	for {
		if t.ctx.Err() != nil {
			return nil
		}
		t.mu.Lock()
		busy := t.restorer.busy() || t.hasBuffered()
		waiting := t.hasWaiting()
		fatal := t.fatal
		t.mu.Unlock()
		if fatal != nil {
			return fatal
		}
		timeout := t.app.cfg.PollTimeout
		if busy {
			timeout = time.Millisecond
		} else if waiting {
			// A task waits for a fetch (which ends the poll at once) or
			// for max.task.idle.ms and end-offset checks (which need the
			// loop to come round).
			timeout = min(timeout, 10*time.Millisecond)
		}
		// An idle thread wakes when its commit is due rather than up to
		// poll.ms later: the records its caches hold go out on time.
		if due := t.lastCommit.Add(t.app.cfg.CommitInterval).Sub(t.now()); due < timeout {
			timeout = max(due, time.Millisecond)
		}
		pctx, cancel := context.WithTimeout(t.ctx, timeout)
		pollStart := time.Now()
		fetches := t.drainBuffered(t.cl.PollRecords(pctx, t.app.cfg.MaxPollRecords))
		cancel()
		t.app.ops.observePoll(t.name, pollStart, fetches.NumRecords())
		if fetches.IsClientClosed() {
			return nil
		}
		t.mu.Lock()
		err := t.step(fetches)
		t.mu.Unlock()
		t.cl.AllowRebalance()
		if err != nil {
			return fmt.Errorf("streams: thread %s: %w", t.name, err)
		}
	}
}

// drainPolls bounds how many polls' worth of records (max.poll.records
// each) one step of a thread takes from what its client has fetched.
const drainPolls = 16

// drainBuffered adds to fetches, a full poll, what the client has already
// fetched, without waiting (at most drainPolls polls' worth in all).
// franz-go fetches a partition again only once the records it fetched
// last were all polled: taking them at once lets the next fetch (the
// broker's read, the transfer, decompression and decoding) run while the
// thread processes these, instead of after them. The records are in memory
// already; back-pressure stays with pauseFull.
func (t *streamThread) drainBuffered(fetches kgo.Fetches) kgo.Fetches {
	limit := t.app.cfg.MaxPollRecords
	for n, polls := fetches.NumRecords(), 1; n >= limit && polls < drainPolls; polls++ {
		//lint:ignore SA1012 franz-go's PollRecords with a nil context takes only what is buffered, returning at once.
		more := t.cl.PollRecords(nil, limit)
		if n = more.NumRecords(); n == 0 {
			break
		}
		fetches = append(fetches, more...)
	}
	return fetches
}

// hasBuffered reports whether a running task has records it can process
// (not held back for an empty partition).
func (t *streamThread) hasBuffered() bool {
	for _, task := range t.tasks {
		if task.State() == TaskRunning && task.BufferedTotal() > 0 && !task.Waiting() {
			return true
		}
	}
	return false
}

// hasWaiting reports whether a running task holds records back for an
// empty partition (task idling, idle_lag.go).
func (t *streamThread) hasWaiting() bool {
	for _, task := range t.tasks {
		if task.Waiting() {
			return true
		}
	}
	return false
}

// lagCheckInterval is how often a thread checks the end offsets of empty
// partitions its tasks wait on.
const lagCheckInterval = 100 * time.Millisecond

// checkLags tells tasks waiting on empty partitions of unknown or positive
// fetch lag whether those partitions have anything to fetch (KIP-695): a
// partition with nothing to fetch never appears in a franz-go fetch, so
// its end offset is compared with the fetch position, or with the
// committed offset when nothing was fetched yet. At most every
// lagCheckInterval. It reports whether it found a partition caught up.
// Called with t.mu held.
func (t *streamThread) checkLags() bool {
	now := t.now()
	if now.Sub(t.lastLagCheck) < lagCheckInterval {
		return false
	}
	type pending struct {
		task *streamTask
		tp   TopicPartition
	}
	var list []pending
	topicSet := map[string]bool{}
	for _, task := range t.tasks {
		if task.State() != TaskRunning {
			continue
		}
		for _, tp := range task.LagPending() {
			list = append(list, pending{task, tp})
			topicSet[tp.Topic] = true
		}
	}
	if len(list) == 0 {
		return false
	}
	t.lastLagCheck = now
	topics := make([]string, 0, len(topicSet))
	for tp := range topicSet {
		topics = append(topics, tp)
	}
	ctx, cancel := context.WithTimeout(t.ctx, 2*time.Second)
	defer cancel()
	ends, err := t.app.admin.ListEndOffsets(ctx, topics...)
	if err != nil {
		t.app.cfg.Logger.Debug("streams: end offsets for task idling", "thread", t.name, "err", err)
		return false
	}
	caughtUp := false
	committed := t.cl.CommittedOffsets()
	var starts kadm.ListedOffsets
	for _, p := range list {
		end, ok := ends.Lookup(p.tp.Topic, p.tp.Partition)
		if !ok || end.Err != nil {
			continue
		}
		pos, ok := p.task.FetchPosition(p.tp)
		if !ok {
			if eo, ok := committed[p.tp.Topic][p.tp.Partition]; ok && eo.Offset >= 0 {
				pos = eo.Offset
			} else if t.app.cfg.AutoOffsetReset == "latest" {
				pos = end.Offset
			} else {
				if starts == nil {
					if starts, err = t.app.admin.ListStartOffsets(ctx, topics...); err != nil {
						return caughtUp
					}
				}
				start, ok := starts.Lookup(p.tp.Topic, p.tp.Partition)
				if !ok || start.Err != nil {
					continue
				}
				pos = start.Offset
			}
		}
		if end.Offset <= pos {
			// Nothing to fetch: the lag is zero. (Above zero the next
			// fetch brings the records and their position.)
			p.task.SetFetchPosition(p.tp, pos, end.Offset)
			caughtUp = true
		}
	}
	return caughtUp
}

// step handles one poll's worth of work. Called with t.mu held.
func (t *streamThread) step(fetches kgo.Fetches) error {
	if t.fatal != nil {
		return t.fatal
	}
	if err := t.takeAsyncCommits(); err != nil {
		return err
	}
	if t.needRewind {
		// The tasks were revived: what this poll returned may lie past the
		// committed offsets the input goes back to.
		if err := t.rewind(t.prodCtx); err != nil {
			return err
		}
		fetches = nil
	}
	if t.app.eos() {
		if err := t.eosBegin(); err != nil {
			return err
		}
	}
	var ferr error
	fetches.EachError(func(topic string, p int32, err error) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return
		}
		if errors.Is(err, kerr.FencedInstanceID) && ferr == nil {
			// Another instance joined with this thread's group.instance.id:
			// this one is a zombie and must stop (as Kafka Streams' fatal
			// FencedInstanceIdException), not retry forever.
			ferr = fmt.Errorf("streams: another instance with the same group.instance.id replaced this thread in the group: %w", err)
			return
		}
		t.app.cfg.Logger.Warn("streams: fetch error", "thread", t.name, "topic", topic, "partition", p, "err", err)
	})
	if ferr != nil {
		return ferr
	}
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if ferr != nil || len(p.Records) == 0 {
			return
		}
		tp := TopicPartition{Topic: p.Topic, Partition: p.Partition}
		task, ok := t.byTP[tp]
		if !ok {
			return // revoked meanwhile
		}
		if err := task.addFetched(tp, p.Records); err != nil {
			ferr = err
			return
		}
		task.SetFetchPosition(tp, p.Records[len(p.Records)-1].Offset+1, p.HighWatermark)
		task.setLogStartOffset(tp, p.LogStartOffset)
	})
	if ferr != nil {
		return ferr
	}
	if t.restorer.busy() {
		if err := t.restoreStep(); err != nil {
			return err
		}
	}
	if err := t.process(); err != nil {
		return err
	}
	if t.checkLags() {
		if err := t.process(); err != nil {
			return err
		}
	}
	t.pauseFull()
	t.resumeDrained()
	now := t.now()
	requested := false
	for _, task := range t.tasks {
		if task.CommitRequested() {
			requested = true
		}
	}
	if requested || now.Sub(t.lastCommit) >= t.app.cfg.CommitInterval {
		// Not t.ctx: a Close arriving mid-commit must not cut the commit
		// short (the thread then stops after it and commits once more).
		ctx, cancel := context.WithTimeout(t.prodCtx, commitTimeout)
		err := t.commit(ctx, t.runningTasks(), false)
		cancel()
		if errors.Is(err, errCommitRebalancing) {
			// Not a failure of the thread: the tasks stay uncommitted and
			// the next commit, after the rebalance, commits them (or the
			// rebalance takes them away and their input is processed
			// again by their new owner).
			t.app.cfg.Logger.Info("streams: offsets not committed during a rebalance; they are committed after it", "thread", t.name, "err", err)
		} else if err != nil {
			return err
		}
		t.lastCommit = now
	}
	if now.Sub(t.lastPurge) >= t.app.cfg.RepartitionPurgeInterval {
		t.purge()
		t.lastPurge = now
	}
	return nil
}

func toRaw(dst []RawRecord, recs []*kgo.Record) []RawRecord {
	for _, r := range recs {
		if r.Attrs.IsControl() {
			continue // a transaction marker
		}
		raw := RawRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp.UnixMilli()}
		if len(r.Headers) > 0 {
			raw.Headers = make([]Header, len(r.Headers))
			for i, h := range r.Headers {
				raw.Headers[i] = Header{Key: h.Key, Value: h.Value}
			}
		}
		dst = append(dst, raw)
	}
	return dst
}

func timeFromMillis(ms int64) time.Time { return time.UnixMilli(ms) }

func (t *streamThread) runningTasks() []*streamTask {
	out := make([]*streamTask, 0, len(t.tasks))
	for _, task := range t.tasks {
		if task.State() == TaskRunning {
			out = append(out, task)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID().Less(out[j].ID()) })
	return out
}

// process runs the running tasks round robin until their buffers are empty
// (or they wait on max.task.idle.ms), punctuating between batches.
func (t *streamThread) process() error {
	tasks := t.runningTasks()
	for {
		progressed := false
		now := t.now().UnixMilli()
		for _, task := range tasks {
			for i := 0; i < processBatch; i++ {
				ok, err := task.Process(now)
				if err != nil {
					return err
				}
				if !ok {
					break
				}
				progressed = true
			}
			if _, err := task.Punctuate(now); err != nil {
				return err
			}
		}
		if !progressed {
			return nil
		}
	}
}

// pauseFull pauses fetching the partitions whose buffers processing left at
// buffered.records.per.partition or above (a task holding records back for
// an empty partition, max.task.idle.ms): back-pressure. It runs after
// processing, not as records arrive: a task drains what it can in the same
// step, and franz-go drops what it has already fetched for a partition
// when the partition is paused, so pausing one the task is about to drain
// would only make the client fetch (and decompress) the same records again.
func (t *streamThread) pauseFull() {
	var pause map[string][]int32
	for tp, task := range t.byTP {
		if t.paused[tp] || task.State() != TaskRunning || task.Buffered(tp) < t.app.cfg.BufferedRecordsPerPartition {
			continue
		}
		if pause == nil {
			pause = map[string][]int32{}
		}
		pause[tp.Topic] = append(pause[tp.Topic], tp.Partition)
		t.paused[tp] = true
	}
	if pause != nil {
		t.cl.PauseFetchPartitions(pause)
	}
}

// resumeDrained resumes partitions paused for back-pressure whose buffers
// went below the limit.
func (t *streamThread) resumeDrained() {
	var resume map[string][]int32
	for tp := range t.paused {
		task, ok := t.byTP[tp]
		if !ok {
			// No task any more (closeTask resumes its partitions; this
			// covers any other way out): franz-go keeps a partition paused
			// until it is resumed, across rebalances, so resume it or a
			// later assignment of it would never fetch.
			if resume == nil {
				resume = map[string][]int32{}
			}
			resume[tp.Topic] = append(resume[tp.Topic], tp.Partition)
			delete(t.paused, tp)
			continue
		}
		if task.State() != TaskRunning {
			continue // restoring: stays paused
		}
		if task.Buffered(tp) < t.app.cfg.BufferedRecordsPerPartition {
			if resume == nil {
				resume = map[string][]int32{}
			}
			resume[tp.Topic] = append(resume[tp.Topic], tp.Partition)
			delete(t.paused, tp)
		}
	}
	if resume != nil {
		t.cl.ResumeFetchPartitions(resume)
	}
}

// commit runs Kafka Streams' commit sequence for tasks: flush their caches
// and stores (which sends cached updates downstream and to changelogs),
// flush the producer (every record acknowledged), commit the consumed
// offsets, then write the stores' checkpoints. A periodic commit (not
// final) sends the offsets without waiting for the group coordinator's
// answer (commit_async.go); a final one, before tasks close or move, waits.
//
// The stores' caches are written through on every commit, so their records
// are produced before the offsets are committed; the stores are made durable
// and their checkpoints written only when a task's checkpoint is due (see
// streamTask.checkpointIfDue) or when final is set (before tasks close or move).
func (t *streamThread) commit(ctx context.Context, tasks []*streamTask, final bool) error {
	if t.app.eos() {
		// One transaction holds the output of every task of the thread.
		return t.commitEOS(ctx)
	}
	start := time.Now()
	for _, task := range tasks {
		if err := task.flushWrites(); err != nil {
			return err
		}
	}
	// The production handler saw each refused record as it failed; an
	// error here is one it said to fail on.
	if err := t.collector.flush(ctx); err != nil {
		return err
	}
	if final {
		t.asyncCommits.inflight.Wait()
	}
	offsets := map[string]map[int32]kgo.EpochOffset{}
	for _, task := range tasks {
		// A task whose offsets a periodic commit sent and a rebalance
		// refused commits again, whether it processed anything since or not.
		commitOffsets := task.CommitOffsets()
		refused := t.asyncCommits.takeRefused(commitOffsets)
		if !refused && !task.NeedsCommit() {
			continue
		}
		for tp, off := range commitOffsets {
			if offsets[tp.Topic] == nil {
				offsets[tp.Topic] = map[int32]kgo.EpochOffset{}
			}
			offsets[tp.Topic][tp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
		}
	}
	if len(offsets) > 0 && !final {
		t.commitOffsetsAsync(offsets)
	} else if len(offsets) > 0 {
		var cerr error
		t.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			cerr = offsetCommitError(resp, err)
		})
		if cerr != nil {
			t.app.metrics.commitFailures.Add(1)
			if rebalanceError(cerr) {
				return fmt.Errorf("%w: %w", errCommitRebalancing, cerr)
			}
			return fmt.Errorf("streams: commit offsets: %w", cerr)
		}
		t.notePurgeable(offsets)
	}
	acked := t.collector.ackedOffsets()
	for _, task := range tasks {
		task.MarkCommitted()
		if err := task.checkpointIfDue(acked, final, t.app.cfg.CheckpointDeltaRecords); err != nil {
			return err
		}
	}
	t.app.metrics.commits.Add(1)
	t.app.metrics.commitLatencySecs.Observe(time.Since(start).Seconds())
	t.app.ops.observeCommit(t.name, start)
	return nil
}

// errCommitRebalancing: the group refused a commit because it is
// rebalancing or this member's generation is gone (Kafka Streams'
// TaskMigratedException). The offsets stay uncommitted; nothing is lost.
var errCommitRebalancing = errors.New("streams: commit refused by a rebalance")

// rebalanceError reports whether a commit error only means the group moved
// on (a rebalance in progress, an old generation, a member the group no
// longer knows): the client rejoins by itself.
func rebalanceError(err error) bool {
	return errors.Is(err, kerr.RebalanceInProgress) || errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.UnknownMemberID)
}

// purge deletes the records of repartition topics that are committed, as
// Kafka Streams does: they are never read again.
func (t *streamThread) purge() {
	if len(t.purgeOffsets) == 0 {
		return
	}
	offs := kadm.Offsets{}
	for tp, o := range t.purgeOffsets {
		offs.AddOffset(tp.Topic, tp.Partition, o, -1)
	}
	clear(t.purgeOffsets)
	ctx, cancel := context.WithTimeout(t.ctx, 10*time.Second)
	defer cancel()
	resp, err := t.app.admin.DeleteRecords(ctx, offs)
	if err != nil {
		t.app.cfg.Logger.Warn("streams: purge repartition topics", "thread", t.name, "err", err)
		return
	}
	resp.Each(func(r kadm.DeleteRecordsResponse) {
		if r.Err == nil {
			t.app.metrics.purgedPartitions.Add(1)
		}
	})
}

// shutdown ends the thread: on a clean stop it commits and closes every
// task cleanly; after a failure it closes them without committing. Then it
// closes the clients (leaving the group).
func (t *streamThread) shutdown(clean bool) {
	t.mu.Lock()
	if !clean {
		t.failed = true
	}
	tasks := make([]*streamTask, 0, len(t.tasks))
	for _, task := range t.tasks {
		tasks = append(tasks, task)
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].ID().Less(tasks[j].ID()) })
	if !clean && t.app.eos() {
		ctx, cancel := context.WithTimeout(t.prodCtx, 5*time.Second)
		if err := t.abortTxn(ctx); err != nil {
			t.app.cfg.Logger.Warn("streams: abort transaction", "thread", t.name, "err", err)
		}
		cancel()
	}
	if clean && len(tasks) > 0 {
		ctx, cancel := context.WithTimeout(t.prodCtx, commitTimeout)
		var running []*streamTask
		for _, task := range tasks {
			if task.State() == TaskRunning {
				running = append(running, task)
			}
		}
		if err := t.commit(ctx, running, true); err != nil {
			t.app.cfg.Logger.Warn("streams: final commit failed; uncommitted input will be processed again", "thread", t.name, "err", err)
			clean = false
		} else if t.app.eosStores != nil {
			t.finalCheckpoints(running)
		}
		cancel()
	}
	closing := clean && len(tasks) > 0
	if closing && t.app.eos() {
		if err := t.eosBegin(); err != nil {
			t.app.cfg.Logger.Warn("streams: begin the transaction of what the tasks send as they close", "thread", t.name, "err", err)
			closing = false
		}
	}
	for _, task := range tasks {
		t.closeTask(task, clean)
	}
	if closing {
		t.deliverClosing()
	}
	t.mu.Unlock()
	t.stopFollowups()
	t.leaveCohort()
	t.app.standbys.assign(t.id, t.name, nil)
	t.app.stateMemory.expect(t.id, 0)
	t.cancel()
	t.prodCancel()
	t.restorer.close()
	if clean {
		t.cl.Close() // leaves the group
	} else {
		// A failed thread leaves the group too, so its tasks move at once,
		// but without committing anything (failed is set).
		t.cl.Close()
	}
}

// deliverClosing delivers, at a clean shutdown, what the tasks' processors
// forwarded or wrote to stores as they closed (after the last commit):
// under exactly_once_v2 in one last transaction, otherwise by flushing the
// producer before the client closes, as Kafka's producer does on close.
// Called with t.mu held, after the tasks closed.
func (t *streamThread) deliverClosing() {
	ctx, cancel := context.WithTimeout(t.prodCtx, commitTimeout)
	defer cancel()
	var err error
	if t.app.eos() {
		err = t.commitEOS(ctx)
	} else {
		err = t.collector.flush(ctx)
	}
	if err != nil {
		t.app.cfg.Logger.Warn("streams: what the tasks sent as they closed may not be delivered", "thread", t.name, "err", err)
	}
}

func (t *streamThread) taskInfos() []TaskInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]TaskInfo, 0, len(t.tasks))
	for id, task := range t.tasks {
		out = append(out, TaskInfo{ID: id, Thread: t.name, State: task.State(), Partitions: task.Partitions()})
	}
	return out
}
