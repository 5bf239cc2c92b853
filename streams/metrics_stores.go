package streams

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// State-store metrics (Kafka Streams' stream-state-metrics, DEBUG): the
// rate and the average and largest latency of each operation on a store
// (over the sample windows of metrics_sampled.go), recorded by a metered layer as Kafka Streams' MeteredKeyValueStore,
// MeteredWindowStore and MeteredSessionStore do.
//
// The metered layer wraps the typed handles processors and queries get
// from GetKeyValueStore, GetWindowStore and GetSessionStore; the store the
// task keeps (restore, record cache, changelog, checkpoints) is not
// wrapped, so every interface the runtime asserts on it stays visible.
// The stores of DSL operators count their own operations instead
// (metrics_dsl_stores.go), and handles to them are not wrapped. Below
// DEBUG no handle is wrapped and no store has a meter: INFO pays nothing.
// Flushes are timed by the task's commit (streamTask.Flush), the one caller of a
// store's flush.

// storeOp is a metered store operation.
type storeOp int

const (
	opPut storeOp = iota
	opPutIfAbsent
	opPutAll
	opGet
	opDelete
	opRange
	opPrefixScan
	opAll
	opFetch
	opRemove
	opRestore
	opFlush
	numStoreOps
)

// storeOpNames are Kafka Streams' names of the operations, with the dashes
// turned into underscores.
var storeOpNames = [numStoreOps]string{"put", "put_if_absent", "put_all", "get", "delete", "range", "prefix_scan", "all", "fetch", "remove", "restore", "flush"}

// kafkaStoreOpNames are the same names as Kafka Streams spells them.
var kafkaStoreOpNames = [numStoreOps]string{"put", "put-if-absent", "put-all", "get", "delete", "range", "prefix-scan", "all", "fetch", "remove", "restore", "flush"}

// opStat counts one operation since the start; samples are its latency
// stats (ns) over the recent sample windows.
type opStat struct {
	n       atomic.Int64
	samples latencySamples
}

// storeMeter is one store's operation stats in one task. A nil
// *storeMeter records nothing; a zero one only counts.
type storeMeter struct {
	ops    [numStoreOps]opStat
	window int64 // sample window length, ns
}

// newStoreMeter returns a meter sampling latencies as s says.
func newStoreMeter(s sampling) *storeMeter {
	m := &storeMeter{window: s.window}
	for i := range m.ops {
		m.ops[i].samples = newLatencySamples(s.samples)
	}
	return m
}

// start returns when an operation starts: the zero time for a nil meter,
// so that below DEBUG no clock is read.
func (m *storeMeter) start() time.Time {
	if m == nil {
		return time.Time{}
	}
	return time.Now()
}

// done records op as started at start and finished now. Small enough to
// be inlined where it is deferred, so a nil meter costs a comparison.
func (m *storeMeter) done(op storeOp, start time.Time) {
	if m != nil {
		m.record(op, start)
	}
}

func (m *storeMeter) record(op storeOp, start time.Time) {
	now := time.Now()
	s := &m.ops[op]
	s.n.Add(1)
	if s.samples.n > 0 {
		s.samples.add(m.window, now.UnixNano(), int64(now.Sub(start)))
	}
}

// read returns op's count since the start and its count, latency sum and
// largest latency (ns) over the sample windows at now (Unix ns).
func (m *storeMeter) read(op storeOp, now int64) (total, n, sum, largest int64) {
	s := &m.ops[op]
	total = s.n.Load()
	if s.samples.n > 0 {
		n, sum, largest = s.samples.read(m.window, now)
	}
	return total, n, sum, largest
}

// meterKey names a store of a task.
type meterKey struct {
	task  TaskID
	store string
}

// storeMeters are the meters of every task's stores, kept while the app
// runs (a task that moves back finds its counters where they were).
type storeMeters struct {
	mu       sync.Mutex
	m        map[meterKey]*storeMeter
	sampling sampling // zero: the defaults
}

// setSampling sets the sampling of the meters made from now on: the
// sample window length and the number of samples.
func (s *storeMeters) setSampling(window time.Duration, samples int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sampling = samplingOf(window, samples)
}

func (s *storeMeters) get(k meterKey) *storeMeter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[meterKey]*storeMeter{}
	}
	m := s.m[k]
	if m == nil {
		if s.sampling.window == 0 {
			s.sampling = samplingOf(0, 0)
		}
		m = newStoreMeter(s.sampling)
		s.m[k] = m
	}
	return m
}

func (s *storeMeters) lookup(k meterKey) *storeMeter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k]
}

// ownerTask is the task a typed store was opened for.
func (s *kvStore[K, V]) ownerTask() *streamTask { return s.task }
func (l *storeLog) ownerTask() *streamTask      { return l.task }

// meterOf returns the meter of the store s, nil below DEBUG, when s
// belongs to no task with metrics, or when s counts its own operations
// (selfMetered: a handle to it is not wrapped, so nothing counts twice).
func meterOf(s StateStore) *storeMeter {
	if o, ok := s.(selfMetered); ok && o.countsOwnOperations() {
		return nil
	}
	o, ok := s.(interface{ ownerTask() *streamTask })
	if !ok {
		return nil
	}
	t := o.ownerTask()
	if t == nil || t.cfg.Stats == nil || t.cfg.Stats.ops == nil || t.cfg.Stats.ops.level < levelDebug {
		return nil
	}
	return t.cfg.Stats.ops.storeMeters.get(meterKey{task: t.id, store: s.Name()})
}

// flushMetered flushes s as the task's commit does, timing it at DEBUG.
func (t *streamTask) flushMetered(name string, s taskStore) func() error {
	if t.cfg.Stats == nil || t.cfg.Stats.ops == nil || t.cfg.Stats.ops.level < levelDebug {
		return s.flush
	}
	m := t.cfg.Stats.ops.storeMeters.get(meterKey{task: t.id, store: name})
	return func() error {
		defer m.done(opFlush, time.Now())
		return s.flush()
	}
}

// meterKV wraps kv, the typed handle of store s, in the metered layer
// (DEBUG and up); below DEBUG it returns kv.
func meterKV[K, V any](s StateStore, kv KeyValueStore[K, V]) KeyValueStore[K, V] {
	m := meterOf(s)
	if m == nil {
		return kv
	}
	return &meteredKV[K, V]{KeyValueStore: kv, m: m, desc: describeStore(s)}
}

// meterWindow wraps a window store handle (DEBUG and up).
func meterWindow[K, V any](s StateStore, ws ReadOnlyWindowStore[K, V]) ReadOnlyWindowStore[K, V] {
	m := meterOf(s)
	if m == nil {
		return ws
	}
	return &meteredWindow[K, V]{ReadOnlyWindowStore: ws, m: m, desc: describeStore(s)}
}

// meterSession wraps a session store handle (DEBUG and up).
func meterSession[K, V any](s StateStore, ss ReadOnlySessionStore[K, V]) ReadOnlySessionStore[K, V] {
	m := meterOf(s)
	if m == nil {
		return ss
	}
	return &meteredSession[K, V]{ReadOnlySessionStore: ss, m: m, desc: describeStore(s)}
}

// meteredKV is the metered layer of a key-value store handle. Reads
// through an iterator are timed from the call to the iterator's Close, as
// Kafka Streams' metered iterators are.
type meteredKV[K, V any] struct {
	KeyValueStore[K, V]
	m    *storeMeter
	desc string
}

func (s *meteredKV[K, V]) describe() string { return s.desc }

// serKey serializes a key as the store behind does (queries merging the
// entries of several tasks order them by it: see KeyValueQuery.serializer).
func (s *meteredKV[K, V]) serKey(k K) ([]byte, error) {
	switch in := s.KeyValueStore.(type) {
	case keySerializer[K]:
		return in.serKey(k)
	case *plainTSView[K, V]:
		return in.s.serKey(k)
	}
	return nil, fmt.Errorf("streams: store %q: %T cannot serialize keys", s.Name(), s.KeyValueStore)
}

func (s *meteredKV[K, V]) Get(key K) (V, bool, error) {
	defer s.m.done(opGet, time.Now())
	return s.KeyValueStore.Get(key)
}

func (s *meteredKV[K, V]) Put(key K, value V) error {
	defer s.m.done(opPut, time.Now())
	return s.KeyValueStore.Put(key, value)
}

func (s *meteredKV[K, V]) PutIfAbsent(key K, value V) (V, bool, error) {
	defer s.m.done(opPutIfAbsent, time.Now())
	return s.KeyValueStore.PutIfAbsent(key, value)
}

func (s *meteredKV[K, V]) PutAll(entries []KeyValue[K, V]) error {
	defer s.m.done(opPutAll, time.Now())
	return s.KeyValueStore.PutAll(entries)
}

func (s *meteredKV[K, V]) Delete(key K) (V, bool, error) {
	defer s.m.done(opDelete, time.Now())
	return s.KeyValueStore.Delete(key)
}

func (s *meteredKV[K, V]) Range(from, to K) (KeyValueIterator[K, V], error) {
	return meterIter[K, V](s.m, opRange, time.Now())(s.KeyValueStore.Range(from, to))
}

func (s *meteredKV[K, V]) ReverseRange(from, to K) (KeyValueIterator[K, V], error) {
	return meterIter[K, V](s.m, opRange, time.Now())(s.KeyValueStore.ReverseRange(from, to))
}

func (s *meteredKV[K, V]) PrefixScan(prefix K) (KeyValueIterator[K, V], error) {
	return meterIter[K, V](s.m, opPrefixScan, time.Now())(s.KeyValueStore.PrefixScan(prefix))
}

func (s *meteredKV[K, V]) All() (KeyValueIterator[K, V], error) {
	return meterIter[K, V](s.m, opAll, time.Now())(s.KeyValueStore.All())
}

func (s *meteredKV[K, V]) ReverseAll() (KeyValueIterator[K, V], error) {
	return meterIter[K, V](s.m, opAll, time.Now())(s.KeyValueStore.ReverseAll())
}

// iterMeter records an iterator's op, from start, at its first Close.
type iterMeter struct {
	m      *storeMeter
	op     storeOp
	start  time.Time
	closed bool
}

// close closes an iterator (with closeIt), recording op the first time.
func (i *iterMeter) close(closeIt func() error) error {
	if !i.closed {
		i.closed = true
		defer i.m.done(i.op, i.start)
	}
	return closeIt()
}

// meterIters returns a function wrapping an iterator (with wrap) so that
// its op is recorded, from start, when it is closed; a failed call is
// recorded at once.
func meterIters[I any](m *storeMeter, op storeOp, start time.Time, wrap func(I, iterMeter) I) func(I, error) (I, error) {
	return func(it I, err error) (I, error) {
		if err != nil {
			m.done(op, start)
			return it, err
		}
		return wrap(it, iterMeter{m: m, op: op, start: start}), nil
	}
}

// meterIter is meterIters for typed key-value iterators.
func meterIter[K, V any](m *storeMeter, op storeOp, start time.Time) func(KeyValueIterator[K, V], error) (KeyValueIterator[K, V], error) {
	return meterIters(m, op, start, func(it KeyValueIterator[K, V], im iterMeter) KeyValueIterator[K, V] {
		return &meteredIter[K, V]{it: it, iterMeter: im}
	})
}

// meterWIter is meterIters for window and session iterators.
func meterWIter[K, V any](m *storeMeter, op storeOp, start time.Time) func(WindowIterator[K, V], error) (WindowIterator[K, V], error) {
	return meterIters(m, op, start, func(it WindowIterator[K, V], im iterMeter) WindowIterator[K, V] {
		return &meteredIter[Windowed[K], V]{it: it, iterMeter: im}
	})
}

// entryIter is what every iterator of store entries has:
// KeyValueIterator[K, V] is an entryIter[K, V], WindowIterator[K, V] an
// entryIter[Windowed[K], V], and a bytes store's iterator an
// entryIter[[]byte, []byte].
type entryIter[K, V any] interface {
	Next() bool
	Key() K
	Value() V
	Err() error
	Close() error
}

// meteredIter is an iterator whose operation is recorded when it closes.
type meteredIter[K, V any] struct {
	it entryIter[K, V]
	iterMeter
}

func (i *meteredIter[K, V]) Next() bool   { return i.it.Next() }
func (i *meteredIter[K, V]) Key() K       { return i.it.Key() }
func (i *meteredIter[K, V]) Value() V     { return i.it.Value() }
func (i *meteredIter[K, V]) Err() error   { return i.it.Err() }
func (i *meteredIter[K, V]) Close() error { return i.close(i.it.Close) }

// meteredWindow is the metered layer of a window store handle: every read
// is a fetch, as in Kafka Streams' MeteredWindowStore.
type meteredWindow[K, V any] struct {
	ReadOnlyWindowStore[K, V]
	m    *storeMeter
	desc string
}

func (s *meteredWindow[K, V]) describe() string { return s.desc }

func (s *meteredWindow[K, V]) FetchOne(key K, windowStart int64) (V, bool, error) {
	defer s.m.done(opFetch, time.Now())
	return s.ReadOnlyWindowStore.FetchOne(key, windowStart)
}

func (s *meteredWindow[K, V]) Fetch(key K, timeFrom, timeTo int64) (WindowIterator[K, V], error) {
	return meterWIter[K, V](s.m, opFetch, time.Now())(s.ReadOnlyWindowStore.Fetch(key, timeFrom, timeTo))
}

func (s *meteredWindow[K, V]) BackwardFetch(key K, timeFrom, timeTo int64) (WindowIterator[K, V], error) {
	return meterWIter[K, V](s.m, opFetch, time.Now())(s.ReadOnlyWindowStore.BackwardFetch(key, timeFrom, timeTo))
}

func (s *meteredWindow[K, V]) FetchAll(timeFrom, timeTo int64) (WindowIterator[K, V], error) {
	return meterWIter[K, V](s.m, opFetch, time.Now())(s.ReadOnlyWindowStore.FetchAll(timeFrom, timeTo))
}

func (s *meteredWindow[K, V]) All() (WindowIterator[K, V], error) {
	return meterWIter[K, V](s.m, opAll, time.Now())(s.ReadOnlyWindowStore.All())
}

// meteredSession is the metered layer of a session store handle.
type meteredSession[K, V any] struct {
	ReadOnlySessionStore[K, V]
	m    *storeMeter
	desc string
}

func (s *meteredSession[K, V]) describe() string { return s.desc }

func (s *meteredSession[K, V]) FetchSession(key K, start, end int64) (V, bool, error) {
	defer s.m.done(opFetch, time.Now())
	return s.ReadOnlySessionStore.FetchSession(key, start, end)
}

func (s *meteredSession[K, V]) FindSessions(key K, earliestSessionEnd, latestSessionStart int64) (WindowIterator[K, V], error) {
	return meterWIter[K, V](s.m, opFetch, time.Now())(s.ReadOnlySessionStore.FindSessions(key, earliestSessionEnd, latestSessionStart))
}

func (s *meteredSession[K, V]) Fetch(key K) (WindowIterator[K, V], error) {
	return meterWIter[K, V](s.m, opFetch, time.Now())(s.ReadOnlySessionStore.Fetch(key))
}

func (s *meteredSession[K, V]) All() (WindowIterator[K, V], error) {
	return meterWIter[K, V](s.m, opAll, time.Now())(s.ReadOnlySessionStore.All())
}

// storeOpValues are one store's stats as read at a scrape.
type storeOpValues struct {
	store string
	// ops are each operation's count since the start, and its latency sum
	// and largest latency (ns) over the sample windows.
	ops [numStoreOps][3]int64
	// recent are each operation's count over the sample windows.
	recent [numStoreOps]int64
}

// storeStats returns the stats of the task's stores that have a meter.
// Under the task's thread lock.
func (t *streamTask) storeStats(meters *storeMeters) []storeOpValues {
	now := time.Now().UnixNano()
	var out []storeOpValues
	for _, name := range t.storeOrder {
		m := meters.lookup(meterKey{task: t.id, store: name})
		if m == nil {
			continue
		}
		v := storeOpValues{store: name}
		for i := range m.ops {
			total, n, sum, largest := m.read(storeOp(i), now)
			v.ops[i], v.recent[i] = [3]int64{total, sum, largest}, n
		}
		out = append(out, v)
	}
	return out
}

// ---- records-lead ----

// leadStat is an input partition's records-lead (Kafka's consumer
// fetch-manager records-lead: the position minus the log start offset):
// the log start offset from the last fetch answer and the smallest and
// average lead over fetches.
type leadStat struct {
	logStart    int64
	min, sum, n int64
}

// setLogStartOffset records tp's log start offset from a fetch answer (a
// negative one, from a broker that does not tell it, is ignored) and
// samples the partition's lead. On the thread's goroutine, with its lock.
func (t *streamTask) setLogStartOffset(tp TopicPartition, logStart int64) {
	q, ok := t.queueByTP[tp]
	if !ok || logStart < 0 {
		return
	}
	if q.lead == nil {
		q.lead = &leadStat{}
	}
	l := q.lead
	l.logStart = logStart
	lead := max(q.position()-logStart, 0)
	if l.n == 0 || lead < l.min {
		l.min = lead
	}
	l.sum += lead
	l.n++
}

// position is the next offset of the partition to process: the offset
// after the last record processed, or, before the first, the first
// buffered record's.
func (q *partitionQueue) position() int64 {
	if q.consumed >= 0 {
		return q.consumed
	}
	return q.fetchNext - int64(q.len())
}

// partLead is one input partition's lead.
type partLead struct {
	tp        TopicPartition
	task      TaskID
	lead, min int64
	avg       float64
}

// inputLeads returns, for each input partition of the task whose log
// start offset a fetch told, its lead. Under the thread's lock.
func (t *streamTask) inputLeads() []partLead {
	var out []partLead
	for _, q := range t.queues {
		if q.lead == nil || q.lead.n == 0 || q.fetchNext < 0 {
			continue
		}
		l := q.lead
		out = append(out, partLead{tp: q.tp, task: t.id, lead: max(q.position()-l.logStart, 0), min: l.min, avg: float64(l.sum) / float64(l.n)})
	}
	return out
}
