package streams

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/topology"
	"github.com/twmb/franz-go/pkg/kgo"
)

// recordCollector takes the records a task sends: to sinks, repartition
// topics, changelogs and the dead-letter topic. The runtime's collector
// hands them to a franz-go producer (errors found later surface when the
// runtime flushes it before committing); streamstest's keeps them in memory.
type recordCollector interface {
	// Send hands rec over. The collector owns rec's slices afterwards.
	Send(rec ProducerRecord) error
	// PartitionCount returns how many partitions topic has, for sinks with
	// a custom StreamPartitioner.
	PartitionCount(topic string) (int32, error)
}

// taskConfig is what a streamTask needs from the code that drives it.
type taskConfig struct {
	// ApplicationID names internal topics and state directories. Required.
	ApplicationID string
	// Collector takes every record the task sends. Required.
	Collector recordCollector
	// Stores opens the task's state stores. Required when the sub-topology
	// has stores.
	Stores storeOpener
	// GlobalStores are the instance's global stores, readable by every
	// processor. The default value is none.
	GlobalStores map[string]StateStore
	// TimestampExtractor is the default extractor for sources without their
	// own. The default value is RecordTimestamp.
	TimestampExtractor TimestampExtractor
	// DeserializationHandler decides about records that cannot be
	// deserialized. The default value is LogAndFail.
	DeserializationHandler DeserializationHandler
	// ProductionHandler decides about records that cannot be serialized at
	// a sink. The default value is ProductionFailAlways.
	ProductionHandler ProductionHandler
	// DeadLetterTopic, when set, receives records that cannot be
	// deserialized. The default value is "" (none).
	DeadLetterTopic string
	// MaxTaskIdle is how long the task waits for data on an empty input
	// partition, once that partition is known to be caught up, before
	// processing the others anyway (max.task.idle.ms, KIP-695). The default
	// value is 0: no waiting beyond the fetch (see TrackFetchLag). A
	// negative value never waits, not even for a fetch.
	MaxTaskIdle time.Duration
	// TrackFetchLag says the driver reports each input partition's fetch
	// position and end with SetFetchPosition (a stream thread does, from
	// every fetch). Then, unless MaxTaskIdle is negative, a task with an
	// empty partition whose lag is unknown or above zero does not process
	// its other partitions: the empty one has records on the broker that
	// may come first in timestamp order (Kafka Streams' KIP-695). Without
	// it (streamstest, tests), every partition counts as caught up.
	TrackFetchLag bool
	// Logger receives warnings (dropped records). The default value is
	// slog.Default().
	Logger *slog.Logger
	// Cache folds updates of the task's cached stores between commits
	// (shared by the tasks of a thread). The default value is nil: no
	// caching, every update goes downstream at once.
	Cache *statestore.RecordCache
	// Stats, when set, is where the task counts what it does (shared by the
	// tasks of a thread or an application). The default value is a private
	// one.
	Stats *taskStats
	// ownTimestamps makes records keep the timestamp they were written
	// with: no extractor runs (neither TimestampExtractor nor a source's)
	// and a negative timestamp is kept rather than dropped. The global task
	// reads its topics so, as Kafka Streams' global state update task does.
	ownTimestamps bool
}

// taskStats counts what tasks do. Safe for concurrent reads.
type taskStats struct {
	Processed               atomic.Int64
	Punctuations            atomic.Int64
	DroppedRecords          atomic.Int64 // skipped: bad timestamps, deserialization errors, null keys in aggregations
	DeserializationErrors   atomic.Int64
	SerializationErrors     atomic.Int64
	DeadLetterRecords       atomic.Int64
	EnforcedProcessingTotal atomic.Int64
	ops                     *opsMetrics // per-node and per-partition metrics (metrics_levels.go)
}

// TaskState is where a task is in its life.
type TaskState uint8

const (
	// TaskCreated: nodes built, stores open, not yet restored.
	TaskCreated TaskState = iota + 1
	// TaskRestoring: stores are being restored from their changelogs.
	TaskRestoring
	// TaskRunning: processors initialized, processing records.
	TaskRunning
	// TaskClosed: closed; no method but State may be called.
	TaskClosed
)

// String names the state.
func (s TaskState) String() string {
	switch s {
	case TaskCreated:
		return "CREATED"
	case TaskRestoring:
		return "RESTORING"
	case TaskRunning:
		return "RUNNING"
	case TaskClosed:
		return "CLOSED"
	default:
		return "TaskState(" + strconv.Itoa(int(s)) + ")"
	}
}

// partitionQueue buffers the raw records of one input partition.
type partitionQueue struct {
	tp            TopicPartition
	source        string
	head          queueHead
	buf           []RawRecord
	start         int
	headLoaded    bool
	headTS        int64
	partitionTime int64
	// consumed is the offset after the last record processed or skipped,
	// -1 before the first (kept here rather than in a map: it changes with
	// every record).
	consumed int64
	// Fetch lag (idle_lag.go): fetchNext is the offset after the last
	// record fetched (-1: none yet); lag is the partition's end minus
	// fetchNext as of the last fetch, when lagKnown.
	fetchNext int64
	lag       int64
	lagKnown  bool
	// idleDeadline is when the task stops waiting for this empty, caught-up
	// partition (max.task.idle.ms, kept per partition as Kafka Streams'
	// PartitionGroup does); -1 while the partition has records or is behind.
	idleDeadline int64
	lead         *leadStat // records-lead (metrics_stores.go); nil until a fetch told the log start offset
}

func (q *partitionQueue) len() int { return len(q.buf) - q.start }

func (q *partitionQueue) pop() {
	q.buf[q.start] = RawRecord{}
	q.start++
	if q.start == len(q.buf) {
		q.buf = q.buf[:0]
		q.start = 0
	} else if q.start >= 1024 && q.start*2 >= len(q.buf) {
		n := copy(q.buf, q.buf[q.start:])
		clear(q.buf[n:])
		q.buf = q.buf[:n]
		q.start = 0
	}
}

type punctuation struct {
	node      string
	interval  int64
	next      int64
	typ       PunctuationType
	fn        Punctuator
	cancelled bool
}

func (p *punctuation) Cancel() { p.cancelled = true }

// streamTask runs one sub-topology for one partition number: the deterministic
// core of the runtime, with no goroutines, no clock and no network. Its
// driver (a stream thread, or streamstest's Driver) feeds it records with
// AddRecords, calls Process and Punctuate with the current time, and runs
// the commit sequence: Flush, then flush the collector's producer, then
// commit CommitOffsets, then Checkpoint.
//
// A streamTask is not safe for concurrent use.
type streamTask struct {
	id    TaskID
	topo  *Topology
	sub   topology.Subtopology
	cfg   taskConfig
	state TaskState

	nodes     []runtimeNode // in topology order
	byName    map[string]runtimeNode
	queues    []*partitionQueue
	queueByTP map[TopicPartition]*partitionQueue

	stores     map[string]taskStore
	storeOrder []string

	streamTime int64
	wallClock  int64
	current    *RawRecord
	currentTS  int64 // extracted timestamp of current
	// curHeaders are the headers of the record the processor running now handles
	// (processorNode.receive), for the record context of its store writes.
	curHeaders      []Header
	tsOverride      int64
	hasOverride     bool
	dirty           bool
	commitRequested bool
	punctuations    []*punctuation
	processing      bool
	// waiting: the last Process found records but held them back for an
	// empty partition (fetch lag or max.task.idle.ms).
	waiting bool
	// initNode is the node whose Init is running (stores note which node
	// registers their flush listener).
	initNode string
	// ops are the task-level metrics (metrics_levels.go; nil below DEBUG).
	ops *taskMetrics
}

// newStreamTask builds the task id of topo for the given input partitions (the
// partitions numbered id.Partition of the sub-topology's source topics), and
// opens its stores. Before processing, restore its stores (see
// ChangelogOffsets) and call Initialize.
func newStreamTask(topo *Topology, id TaskID, partitions []TopicPartition, cfg taskConfig) (*streamTask, error) {
	if topo == nil {
		return nil, errors.New("streams: new task: nil topology")
	}
	var sub *topology.Subtopology
	for _, s := range topo.subs {
		if s.ID == id.Subtopology && !s.Global {
			s := s
			sub = &s
		}
	}
	if sub == nil {
		return nil, fmt.Errorf("streams: new task %s: no sub-topology %d", id, id.Subtopology)
	}
	return newTaskFor(topo, id, *sub, partitions, cfg)
}

func newTaskFor(topo *Topology, id TaskID, sub topology.Subtopology, partitions []TopicPartition, cfg taskConfig) (*streamTask, error) {
	if cfg.ApplicationID == "" {
		return nil, errors.New("streams: new task: empty application id")
	}
	if cfg.Collector == nil {
		return nil, errors.New("streams: new task: nil collector")
	}
	if cfg.TimestampExtractor == nil {
		cfg.TimestampExtractor = RecordTimestamp
	}
	if cfg.DeserializationHandler == nil {
		cfg.DeserializationHandler = LogAndFail
	}
	if cfg.ProductionHandler == nil {
		cfg.ProductionHandler = ProductionFailAlways
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Stats == nil {
		cfg.Stats = new(taskStats)
	}
	t := &streamTask{
		id:         id,
		topo:       topo.bind(cfg.ApplicationID),
		sub:        sub,
		cfg:        cfg,
		state:      TaskCreated,
		byName:     make(map[string]runtimeNode),
		queueByTP:  make(map[TopicPartition]*partitionQueue),
		stores:     make(map[string]taskStore),
		streamTime: -1,
	}
	if err := t.build(partitions); err != nil {
		t.closeStores()
		return nil, fmt.Errorf("streams: new task %s: %w", id, err)
	}
	return t, nil
}

func (t *streamTask) build(partitions []TopicPartition) error {
	inSub := make(map[string]bool, len(t.sub.Nodes))
	for _, n := range t.sub.Nodes {
		inSub[n] = true
	}
	// Build nodes in the order they were added to the topology, which is a
	// topological order (parents are added before children).
	for _, tn := range t.topo.t.Nodes() {
		if !inSub[tn.Name] {
			continue
		}
		f, ok := tn.Supplier.(nodeFactory)
		if !ok {
			return fmt.Errorf("node %q has no runtime factory (%T); build topologies with streams.Builder or streams.Topology", tn.Name, tn.Supplier)
		}
		n, err := f.newNode(tn.Name, t)
		if err != nil {
			return err
		}
		t.nodes = append(t.nodes, n)
		t.byName[tn.Name] = n
	}
	for _, tn := range t.topo.t.Nodes() {
		if !inSub[tn.Name] {
			continue
		}
		parent := t.byName[tn.Name]
		for _, c := range tn.Children {
			if err := parent.addChild(t.byName[c]); err != nil {
				return err
			}
		}
	}
	t.bindNodeCounters()
	for _, tp := range partitions {
		if tp.Partition != t.id.Partition && t.id != globalTaskID {
			return fmt.Errorf("partition %s does not belong to task %s", tp, t.id)
		}
		if err := t.addPartition(tp); err != nil {
			return err
		}
	}
	return t.openStores()
}

func (t *streamTask) addPartition(tp TopicPartition) error {
	if _, ok := t.queueByTP[tp]; ok {
		return nil
	}
	sn, ok := t.topo.names.SourceNodeForTopic(tp.Topic)
	if !ok || !slices.Contains(t.sub.Sources, sn.Name) {
		return fmt.Errorf("topic %q is not an input of sub-topology %d", tp.Topic, t.id.Subtopology)
	}
	src, ok := t.byName[sn.Name].(rawSource)
	if !ok {
		return fmt.Errorf("source %q cannot read raw records", sn.Name)
	}
	q := &partitionQueue{tp: tp, source: sn.Name, head: src.newHead(), partitionTime: -1, consumed: -1,
		fetchNext: -1, lagKnown: !t.cfg.TrackFetchLag, idleDeadline: -1}
	t.queues = append(t.queues, q)
	sort.Slice(t.queues, func(i, j int) bool {
		a, b := t.queues[i].tp, t.queues[j].tp
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.Partition < b.Partition
	})
	t.queueByTP[tp] = q
	return nil
}

// ID returns the task's id.
func (t *streamTask) ID() TaskID { return t.id }

// State returns the task's state.
func (t *streamTask) State() TaskState { return t.state }

// Partitions returns the task's input partitions, sorted.
func (t *streamTask) Partitions() []TopicPartition {
	out := make([]TopicPartition, len(t.queues))
	for i, q := range t.queues {
		out[i] = q.tp
	}
	return out
}

// Initialize initializes the processors (Processor.Init) once the stores are
// restored, and makes the task RUNNING.
func (t *streamTask) Initialize(wallClock int64) error {
	if t.state == TaskRunning {
		return nil
	}
	if t.state == TaskClosed {
		return fmt.Errorf("streams: task %s: initialize: closed", t.id)
	}
	t.wallClock = wallClock
	for _, n := range t.nodes {
		t.initNode = n.nodeName()
		err := t.guard(func() error { return n.init(t) })
		t.initNode = ""
		if err != nil {
			return fmt.Errorf("streams: task %s: %w", t.id, err)
		}
	}
	t.state = TaskRunning
	return nil
}

// AddRecords appends records read from tp to the task's buffer for tp. The
// records must be in offset order. The task keeps the slices the records
// point to until they are processed.
func (t *streamTask) AddRecords(tp TopicPartition, recs []RawRecord) error {
	q, ok := t.queueByTP[tp]
	if !ok {
		return fmt.Errorf("streams: task %s: %s is not one of its partitions", t.id, tp)
	}
	q.buf = append(q.buf, recs...)
	return nil
}

// addFetched is AddRecords for records as franz-go returns them: they go
// straight into the partition's buffer, without a RawRecord slice between.
func (t *streamTask) addFetched(tp TopicPartition, recs []*kgo.Record) error {
	q, ok := t.queueByTP[tp]
	if !ok {
		return fmt.Errorf("streams: task %s: %s is not one of its partitions", t.id, tp)
	}
	q.buf = toRaw(q.buf, recs)
	return nil
}

// Buffered returns how many records are buffered for tp.
func (t *streamTask) Buffered(tp TopicPartition) int {
	if q, ok := t.queueByTP[tp]; ok {
		return q.len()
	}
	return 0
}

// BufferedTotal returns how many records are buffered for all partitions.
func (t *streamTask) BufferedTotal() int {
	n := 0
	for _, q := range t.queues {
		n += q.len()
	}
	return n
}

// StreamTime returns the largest timestamp processed so far, or -1.
func (t *streamTask) StreamTime() int64 { return t.streamTime }

// guard runs fn, turning a panic in user code into an error.
func (t *streamTask) guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return fn()
}

// PanicError is a panic in user code (a processor, a DSL function, a serde),
// recovered and returned as an error.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("streams: panic: %v", e.Value) }

// loadHead makes sure q's head record is deserialized, skipping records the
// handlers drop.
func (t *streamTask) loadHead(q *partitionQueue) error {
	for !q.headLoaded && q.len() > 0 {
		raw := &q.buf[q.start]
		var ts int64
		extract := t.cfg.TimestampExtractor
		if t.cfg.ownTimestamps {
			extract = nil
		}
		err := t.guard(func() error {
			var err error
			ts, err = q.head.load(raw, q.partitionTime, extract)
			return err
		})
		if err != nil {
			var de *DeserializationError
			if !errors.As(err, &de) {
				return fmt.Errorf("streams: task %s: %w", t.id, err)
			}
			t.cfg.Stats.DeserializationErrors.Add(1)
			if t.cfg.DeadLetterTopic != "" {
				if err := t.sendDeadLetter(raw, err); err != nil {
					return err
				}
			}
			if t.cfg.DeserializationHandler(raw, err) != DeserializationContinue {
				return fmt.Errorf("streams: task %s: %w (the deserialization handler said fail; set default.deserialization.exception.handler to skip such records)", t.id, err)
			}
			t.cfg.Logger.Warn("streams: skipping record that cannot be deserialized", "task", t.id.String(), "topic", raw.Topic, "partition", raw.Partition, "offset", raw.Offset, "err", err)
			t.skip(q, raw)
			continue
		}
		if ts < 0 && !t.cfg.ownTimestamps {
			t.cfg.Logger.Warn("streams: skipping record with negative timestamp", "task", t.id.String(), "topic", raw.Topic, "partition", raw.Partition, "offset", raw.Offset, "timestamp", ts)
			t.skip(q, raw)
			continue
		}
		q.headLoaded = true
		q.headTS = ts
		if ts > q.partitionTime {
			q.partitionTime = ts
		}
	}
	return nil
}

func (t *streamTask) skip(q *partitionQueue, raw *RawRecord) {
	t.cfg.Stats.DroppedRecords.Add(1)
	q.consumed = raw.Offset + 1
	t.dirty = true
	q.head.clear()
	q.pop()
}

func (t *streamTask) sendDeadLetter(raw *RawRecord, cause error) error {
	h := append(slices.Clone(raw.Headers),
		Header{Key: HeaderErrorExceptionName, Value: []byte(fmt.Sprintf("%T", errors.Unwrap(cause)))},
		Header{Key: HeaderErrorMessage, Value: []byte(cause.Error())},
		Header{Key: HeaderErrorTopic, Value: []byte(raw.Topic)},
		Header{Key: HeaderErrorPartition, Value: []byte(strconv.FormatInt(int64(raw.Partition), 10))},
		Header{Key: HeaderErrorOffset, Value: []byte(strconv.FormatInt(raw.Offset, 10))},
	)
	ts := raw.Timestamp
	if ts < 0 {
		ts = t.wallClock
	}
	t.cfg.Stats.DeadLetterRecords.Add(1)
	if err := t.cfg.Collector.Send(ProducerRecord{Topic: t.cfg.DeadLetterTopic, Partition: -1, Key: raw.Key, Value: raw.Value, Timestamp: ts, Headers: h}); err != nil {
		return fmt.Errorf("streams: task %s: send to dead-letter topic %q: %w", t.id, t.cfg.DeadLetterTopic, err)
	}
	return nil
}

// Process processes at most one record: the buffered record with the
// smallest timestamp across the task's partitions (Kafka Streams'
// PartitionGroup), advancing stream time. It reports whether it processed
// one. wallClock is the current time in ms (for max.task.idle.ms and
// ProcessorContext.WallClockTime).
//
// An error leaves the task unusable except for Close(false): it is a
// processing failure for the uncaught-error handler.
func (t *streamTask) Process(wallClock int64) (bool, error) {
	if t.state != TaskRunning {
		return false, nil
	}
	t.wallClock = wallClock
	var best *partitionQueue
	empty := false
	for _, q := range t.queues {
		if err := t.loadHead(q); err != nil {
			return false, err
		}
		if !q.headLoaded {
			empty = true
			continue
		}
		q.idleDeadline = -1
		if best == nil || q.headTS < best.headTS {
			best = q
		}
	}
	if best == nil {
		if t.cfg.TrackFetchLag {
			// A stream thread asks every task, records or not: the wait for a
			// caught-up partition starts when it is first seen empty, as in
			// Kafka Streams, not when another partition's records arrive.
			t.startIdleDeadlines(wallClock)
		}
		t.waiting = false
		return false, nil
	}
	if empty && t.holdBack(wallClock) {
		t.waiting = true
		return false, nil
	}
	t.waiting = false
	raw := &best.buf[best.start]
	t.ops.observe(t.streamTime, best.headTS)
	if best.headTS > t.streamTime {
		t.streamTime = best.headTS
	}
	t.current = raw
	t.currentTS = best.headTS
	t.processing = true
	err := t.guard(best.head.process)
	t.processing = false
	t.current = nil
	best.consumed = raw.Offset + 1
	t.dirty = true
	offset := raw.Offset
	best.head.clear()
	best.headLoaded = false
	best.pop()
	if err != nil {
		return true, fmt.Errorf("streams: task %s: process %s@%d: %w", t.id, best.tp, offset, err)
	}
	t.cfg.Stats.Processed.Add(1)
	return true, nil
}

// schedule registers a punctuation for node.
func (t *streamTask) schedule(node string, interval time.Duration, typ PunctuationType, fn Punctuator) (Cancellable, error) {
	ms := interval.Milliseconds()
	if ms < 1 {
		return nil, fmt.Errorf("streams: schedule: interval %v must be at least 1ms", interval)
	}
	if fn == nil {
		return nil, errors.New("streams: schedule: nil punctuator")
	}
	p := &punctuation{node: node, interval: ms, typ: typ, fn: fn}
	switch typ {
	case StreamTime:
		// Aligned to 0: the first punctuation fires as soon as there is a
		// stream time, as in Kafka Streams.
		p.next = 0
	case WallClockTime:
		p.next = t.wallClock + ms
	default:
		return nil, fmt.Errorf("streams: schedule: unknown punctuation type %d", typ)
	}
	t.punctuations = append(t.punctuations, p)
	return p, nil
}

// Punctuate fires the punctuations that are due: stream-time ones against
// the task's stream time, then wall-clock ones against wallClock (ms). As
// Kafka Streams' punctuation queues, each kind fires in the order of the
// times its punctuations were due (in the order they were scheduled when
// due at the same time), and a punctuation scheduled by a punctuator fires
// in the same call if it is due. It reports whether any fired.
func (t *streamTask) Punctuate(wallClock int64) (bool, error) {
	if t.state != TaskRunning {
		return false, nil
	}
	t.wallClock = wallClock
	fired := false
	for _, typ := range [...]PunctuationType{StreamTime, WallClockTime} {
		now := wallClock
		if typ == StreamTime {
			now = t.streamTime
			if now < 0 {
				continue
			}
		}
		for {
			var p *punctuation
			for _, c := range t.punctuations {
				if c.typ == typ && !c.cancelled && c.next <= now && (p == nil || c.next < p.next) {
					p = c
				}
			}
			if p == nil {
				break
			}
			fired = true
			if err := t.punctuate(p, now); err != nil {
				return true, err
			}
		}
	}
	t.punctuations = slices.DeleteFunc(t.punctuations, func(p *punctuation) bool { return p.cancelled })
	return fired, nil
}

// punctuate calls p's punctuator at time now and schedules its next time.
func (t *streamTask) punctuate(p *punctuation, now int64) error {
	t.cfg.Stats.Punctuations.Add(1)
	// As Kafka Streams: inside a punctuator the record context is the punctuation's
	// time (wall-clock time for a wall-clock punctuator) with no headers, so what it
	// writes to stores is timestamped with it.
	prevHeaders := t.curHeaders
	t.curHeaders = nil
	err := t.guard(func() error { return t.withTimestamp(now, func() error { return p.fn(now) }) })
	t.curHeaders = prevHeaders
	// Skip missed punctuations rather than catching up one by one
	// (Kafka Streams' PunctuationSchedule.next).
	next := p.next + p.interval
	if now >= next {
		next = p.next + ((now-p.next)/p.interval+1)*p.interval
	}
	p.next = next
	if err != nil {
		return fmt.Errorf("streams: task %s: punctuation of %q: %w", t.id, p.node, err)
	}
	return nil
}

// recordMetadata returns the current record's position.
func (t *streamTask) recordMetadata() (RecordMetadata, bool) {
	if t.current == nil {
		return RecordMetadata{}, false
	}
	return RecordMetadata{Topic: t.current.Topic, Partition: t.current.Partition, Offset: t.current.Offset}, true
}

// timestamp is the timestamp for records the task writes on its own
// (changelogs): the current record's, or the punctuation's time in a punctuation.
func (t *streamTask) currentTimestamp() int64 {
	if t.hasOverride {
		return t.tsOverride
	}
	if t.current != nil {
		return t.currentTS
	}
	if t.streamTime >= 0 {
		return t.streamTime
	}
	return t.wallClock
}

// recordContext is what the cache keeps of the record making a write: its timestamp,
// where it came from, and the headers of the record the writing processor handles.
func (t *streamTask) recordContext(ts int64) statestore.RecordContext {
	rc := statestore.RecordContext{Timestamp: ts, Partition: -1, Offset: -1}
	if t.curHeaders != nil {
		rc.Headers = t.curHeaders
	}
	if t.current != nil {
		rc.Topic, rc.Partition, rc.Offset = t.current.Topic, t.current.Partition, t.current.Offset
	}
	return rc
}

// withTimestamp runs fn with ts as the current timestamp (cache flushes
// write and forward with the timestamp of the entry they flush).
func (t *streamTask) withTimestamp(ts int64, fn func() error) error {
	prevTS, prevHas := t.tsOverride, t.hasOverride
	t.tsOverride, t.hasOverride = ts, true
	err := fn()
	t.tsOverride, t.hasOverride = prevTS, prevHas
	return err
}

func (t *streamTask) send(pr *ProducerRecord) error {
	if err := t.cfg.Collector.Send(*pr); err != nil {
		return fmt.Errorf("streams: task %s: send to %s: %w", t.id, pr.Topic, err)
	}
	return nil
}

func (t *streamTask) serializationFailed(pr *ProducerRecord, err error) error {
	t.cfg.Stats.SerializationErrors.Add(1)
	if t.cfg.ProductionHandler(pr, err) == ProductionContinue {
		t.cfg.Logger.Warn("streams: dropping record that cannot be serialized", "task", t.id.String(), "topic", pr.Topic, "err", err)
		t.cfg.Stats.DroppedRecords.Add(1)
		return nil
	}
	return err
}

// NeedsCommit reports whether the task processed anything since the last
// MarkCommitted, or a processor asked for a commit.
func (t *streamTask) NeedsCommit() bool { return t.dirty || t.commitRequested }

// CommitRequested reports whether a processor called ProcessorContext.Commit
// since the last MarkCommitted.
func (t *streamTask) CommitRequested() bool { return t.commitRequested }

// Flush is the first step of a commit: it flushes the stores' caches
// (forwarding cached updates downstream and writing them to changelogs,
// through the collector) and then the stores themselves.
func (t *streamTask) Flush() error {
	if t.state != TaskRunning && t.state != TaskRestoring {
		return nil
	}
	for _, name := range t.storeOrder {
		s := t.stores[name]
		if err := t.guard(t.flushMetered(name, s)); err != nil {
			return fmt.Errorf("streams: task %s: flush store %q: %w", t.id, name, err)
		}
	}
	return nil
}

// CommitOffsets returns, for each input partition the task consumed from,
// the offset to commit: the offset after the last record processed (or
// skipped). Commit them only after Flush and after the collector's producer
// has flushed.
func (t *streamTask) CommitOffsets() map[TopicPartition]int64 {
	out := make(map[TopicPartition]int64, len(t.queues))
	for _, q := range t.queues {
		if q.consumed >= 0 {
			out[q.tp] = q.consumed
		}
	}
	return out
}

// MarkCommitted records that the offsets from CommitOffsets are committed.
func (t *streamTask) MarkCommitted() {
	t.dirty = false
	t.commitRequested = false
}

// SetStreamTime restores the task's stream time (for example from
// committed metadata) before processing starts; it never moves it back.
func (t *streamTask) SetStreamTime(ts int64) {
	if ts > t.streamTime {
		t.streamTime = ts
	}
}

// Close closes the task: its processors, then its stores. A clean close
// (after a commit) flushes the stores first; an unclean one (after a
// failure) does not, and the caller must not write checkpoints for it.
func (t *streamTask) Close(clean bool) error {
	if t.state == TaskClosed {
		return nil
	}
	var errs []error
	if t.state == TaskRunning {
		for _, n := range t.nodes {
			if err := t.guard(n.close); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if clean {
		if err := t.Flush(); err != nil {
			errs = append(errs, err)
		}
	}
	t.state = TaskClosed
	if err := t.closeStores(); err != nil {
		errs = append(errs, err)
	}
	for _, q := range t.queues {
		q.buf = nil
		q.head.clear()
	}
	if len(errs) > 0 {
		return fmt.Errorf("streams: task %s: close: %w", t.id, errors.Join(errs...))
	}
	return nil
}

// AddPartition adds an input partition to the task, for a topic a pattern
// source matched after the task was built.
func (t *streamTask) AddPartition(tp TopicPartition) error {
	if tp.Partition != t.id.Partition && t.id != globalTaskID {
		return fmt.Errorf("streams: task %s: partition %s does not belong to it", t.id, tp)
	}
	if err := t.addPartition(tp); err != nil {
		return fmt.Errorf("streams: task %s: %w", t.id, err)
	}
	return nil
}

// Store returns one of the task's stores by name.
func (t *streamTask) Store(name string) (StateStore, bool) {
	s, ok := t.stores[name]
	if !ok {
		return nil, false
	}
	return s, true
}

// StoreNames returns the names of the task's stores.
func (t *streamTask) StoreNames() []string { return slices.Clone(t.storeOrder) }
