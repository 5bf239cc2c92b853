package streams

import (
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rivulet-io/rivulet/streams/httpjson"
	"github.com/rivulet-io/rivulet/topology"
)

// Metrics with Kafka Streams' names and levels. Kafka Streams groups its
// metrics by level (client, thread, task, processor node, state store) and
// records some only from a metrics.recording.level (INFO, DEBUG, TRACE).
// Each of them maps to one Prometheus name, rivulet_streams_<level>_<name>
// with the dashes of Kafka's name turned into underscores, and Kafka's
// tags as labels; a Kafka "-rate"/"-total" pair is one Prometheus counter
// (_total; rate() gives the rate). The table is in docs/operating.md.
//
// The values are read when Prometheus scrapes: the counters are the
// atomics the threads already keep, the lags are read from the tasks
// under their thread's lock. Nothing here runs per record except the
// end-to-end latency of source and sink nodes (a few atomic operations on
// the task's cached wall clock, no clock read) and, from DEBUG, the
// processor-node counters.

// recording levels, ordered.
const (
	levelInfo = iota
	levelDebug
	levelTrace
)

func recordingLevel(s string) int {
	switch s {
	case RecordingLevelDebug:
		return levelDebug
	case RecordingLevelTrace:
		return levelTrace
	default:
		return levelInfo
	}
}

// opsMetrics are the level-gated metrics of an application.
type opsMetrics struct {
	app   *App
	level int
	// nodes are the processor-node counters, by node name (DEBUG and up;
	// nil below). Fixed at New, so read without a lock.
	nodes map[string]*atomic.Int64
	// e2e are the end-to-end latency stats of source and sink nodes
	// (every level, as Kafka Streams records them at INFO), fixed at New.
	e2e map[string]*e2eStats
	// rates keep recent samples of the node counters for /topology.
	ratesMu sync.Mutex
	rates   map[string]*rateSamples
	// storeMeters are the state stores' operation stats (DEBUG and up;
	// metrics_stores.go).
	storeMeters storeMeters

	clientState, aliveThreads   *prometheus.Desc
	threadProcess, threadPunct  *prometheus.Desc
	threadDropped               *prometheus.Desc
	nodeProcess                 *prometheus.Desc
	e2eMin, e2eMax, e2eAvg      *prometheus.Desc
	recordsLag                  *prometheus.Desc
	taskActive                  *prometheus.Desc
	taskProcess, taskEnforced   *prometheus.Desc
	taskLatenessMax             *prometheus.Desc
	taskLatenessAvg             *prometheus.Desc
	cacheHitRatio               *prometheus.Desc
	restoreRemaining            *prometheus.Desc
	suppressBytes, suppressN    *prometheus.Desc
	restoreTotal                *prometheus.Desc
	recordsLead, recordsLeadMin *prometheus.Desc
	recordsLeadAvg              *prometheus.Desc
	// storeOpTotal, storeOpAvg and storeOpMax are per store operation
	// (storeOpNames): <op>_total, <op>_latency_avg_seconds and
	// <op>_latency_max_seconds (DEBUG).
	storeOpTotal, storeOpAvg, storeOpMax [numStoreOps]*prometheus.Desc

	pollLatency   *prometheus.HistogramVec
	pollRecords   *prometheus.CounterVec
	commitLatency *prometheus.HistogramVec
}

// taskMetrics are a task's own counters (DEBUG and up). A nil
// *taskMetrics records nothing.
type taskMetrics struct {
	processed atomic.Int64
	enforcedN atomic.Int64
	// lateness: how far behind stream time records came, in ms (Kafka
	// Streams' record-lateness), over records that were late.
	latenessMax, latenessSum, latenessN atomic.Int64
}

// observe counts a record about to be processed at timestamp ts while the
// task's stream time is streamTime.
func (m *taskMetrics) observe(streamTime, ts int64) {
	if m == nil {
		return
	}
	m.processed.Add(1)
	if streamTime >= 0 && ts < streamTime {
		late := streamTime - ts
		m.latenessSum.Add(late)
		m.latenessN.Add(1)
		for {
			cur := m.latenessMax.Load()
			if late <= cur || m.latenessMax.CompareAndSwap(cur, late) {
				break
			}
		}
	}
}

func (m *taskMetrics) enforced() {
	if m != nil {
		m.enforcedN.Add(1)
	}
}

// observePoll records one poll of a thread's consumer (INFO).
func (m *opsMetrics) observePoll(thread string, start time.Time, records int) {
	if m == nil {
		return
	}
	m.pollLatency.WithLabelValues(thread).Observe(time.Since(start).Seconds())
	m.pollRecords.WithLabelValues(thread).Add(float64(records))
}

// observeCommit records one commit of a thread (INFO).
func (m *opsMetrics) observeCommit(thread string, start time.Time) {
	if m == nil {
		return
	}
	m.commitLatency.WithLabelValues(thread).Observe(time.Since(start).Seconds())
}

func newOpsMetrics(a *App) (*opsMetrics, error) {
	m := newNodeMeters(a.topo, recordingLevel(a.cfg.Ops.RecordingLevel))
	m.app = a
	m.storeMeters.setSampling(a.cfg.Ops.SampleWindow, a.cfg.Ops.NumSamples)
	labels := prometheus.Labels{"application_id": a.cfg.ApplicationID, "client_id": a.cfg.ClientID}
	desc := func(level, name, help string, vars ...string) *prometheus.Desc {
		return prometheus.NewDesc("rivulet_streams_"+level+"_"+name, help, vars, labels)
	}
	m.clientState = desc("client", "state", "Kafka Streams client state (client-metrics state): 1 for the current state.", "state")
	m.aliveThreads = desc("client", "alive_stream_threads", "Stream threads alive (client-metrics alive-stream-threads).")
	m.threadProcess = desc("thread", "process_total", "Records processed by the thread's tasks (stream-thread-metrics process-total; rate() is process-rate).", "thread_id")
	m.threadPunct = desc("thread", "punctuate_total", "Punctuations fired by the thread (stream-thread-metrics punctuate-total).", "thread_id")
	m.threadDropped = desc("thread", "dropped_records_total", "Records the thread's tasks dropped (stream-task-metrics dropped-records-total, summed per thread).", "thread_id")
	m.nodeProcess = desc("processor_node", "process_total", "Records a node processed on this instance (stream-processor-node-metrics process-total; DEBUG).", "processor_node_id")
	m.e2eMin = desc("processor_node", "record_e2e_latency_min_seconds", "Smallest end-to-end latency (wall clock at the node minus the record timestamp) at a source or sink node (KIP-613 record-e2e-latency-min).", "processor_node_id")
	m.e2eMax = desc("processor_node", "record_e2e_latency_max_seconds", "Largest end-to-end latency at a source or sink node (KIP-613 record-e2e-latency-max).", "processor_node_id")
	m.e2eAvg = desc("processor_node", "record_e2e_latency_avg_seconds", "Average end-to-end latency at a source or sink node (KIP-613 record-e2e-latency-avg).", "processor_node_id")
	m.recordsLag = desc("partition", "records_lag", "Records of an input partition not processed yet: end offset as of the last fetch minus the next offset to process (consumer-fetch-manager-metrics records-lag).", "topic", "partition", "task_id")
	m.taskActive = desc("task", "active", "1 per active task of this instance, with its state (DEBUG).", "task_id", "state")
	m.taskProcess = desc("task", "process_total", "Records the task processed (stream-task-metrics process-total; DEBUG).", "task_id")
	m.taskEnforced = desc("task", "enforced_processing_total", "Times the task processed with an empty input partition after max.task.idle.ms (stream-task-metrics enforced-processing-total; DEBUG).", "task_id")
	m.taskLatenessMax = desc("task", "record_lateness_max_seconds", "Largest lateness (stream time minus the record's timestamp) of the task's late records (stream-task-metrics record-lateness-max; DEBUG).", "task_id")
	m.taskLatenessAvg = desc("task", "record_lateness_avg_seconds", "Average lateness of the task's late records (stream-task-metrics record-lateness-avg; DEBUG).", "task_id")
	m.cacheHitRatio = desc("record_cache", "hit_ratio", "Hits over reads of a store's record cache since the task started (stream-record-cache-metrics hit-ratio; DEBUG).", "task_id", "record_cache_id")
	m.restoreRemaining = desc("task", "restore_remaining_records_total", "Changelog records the task's restore still has to read (KIP-869 restore-remaining-records-total).", "task_id", "store")
	m.restoreTotal = desc("task", "restore_total", "Records restored so far by the task's restore in flight (state-store restore-total).", "task_id", "store")
	m.suppressBytes = desc("state_store", "suppression_buffer_size_bytes", "Bytes buffered by a suppression (stream-state-metrics suppression-buffer-size; DEBUG).", "task_id", "store")
	m.suppressN = desc("state_store", "suppression_buffer_count", "Records buffered by a suppression (stream-state-metrics suppression-buffer-count; DEBUG).", "task_id", "store")
	m.recordsLead = desc("partition", "records_lead", "Records of an input partition between its log start offset and the next offset to process (consumer-fetch-manager-metrics records-lead); a lead near 0 means retention is about to delete records not processed yet.", "topic", "partition", "task_id")
	m.recordsLeadMin = desc("partition", "records_lead_min", "Smallest records-lead seen at a fetch since the task took the partition (consumer-fetch-manager-metrics records-lead-min).", "topic", "partition", "task_id")
	m.recordsLeadAvg = desc("partition", "records_lead_avg", "Average records-lead over the fetches since the task took the partition (consumer-fetch-manager-metrics records-lead-avg).", "topic", "partition", "task_id")
	for op := range numStoreOps {
		name, kafka := storeOpNames[op], kafkaStoreOpNames[op]
		m.storeOpTotal[op] = desc("state_store", name+"_total", "Calls of "+kafka+" on the store (stream-state-metrics "+kafka+"-total; rate() is "+kafka+"-rate; DEBUG).", "task_id", "store")
		m.storeOpAvg[op] = desc("state_store", name+"_latency_avg_seconds", "Average latency of "+kafka+" on the store over the recent sample windows (metrics.sample.window.ms times metrics.num.samples; NaN when none; stream-state-metrics "+kafka+"-latency-avg; DEBUG).", "task_id", "store")
		m.storeOpMax[op] = desc("state_store", name+"_latency_max_seconds", "Largest latency of "+kafka+" on the store over the recent sample windows (NaN when none; stream-state-metrics "+kafka+"-latency-max; DEBUG).", "task_id", "store")
	}
	thr := []string{"thread_id"}
	m.pollLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "rivulet", Subsystem: "streams", Name: "thread_poll_latency_seconds",
		Help: "Time of each poll of a thread's consumer, waiting included (stream-thread-metrics poll-latency; the count's rate is poll-rate).", ConstLabels: labels,
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}, thr)
	m.pollRecords = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "rivulet", Subsystem: "streams", Name: "thread_poll_records_total",
		Help: "Records returned by a thread's polls (stream-thread-metrics poll-records, as a total).", ConstLabels: labels}, thr)
	m.commitLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "rivulet", Subsystem: "streams", Name: "thread_commit_latency_seconds",
		Help: "Time of each commit of a thread (stream-thread-metrics commit-latency; the count's rate is commit-rate).", ConstLabels: labels,
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)}, thr)
	reg := a.cfg.Registerer
	if reg == nil {
		reg = a.metrics.registry
	}
	for _, c := range []prometheus.Collector{m, m.pollLatency, m.pollRecords, m.commitLatency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// newNodeMeters returns the metrics of level with the per-node stats of
// topo's nodes, not registered anywhere yet.
func newNodeMeters(topo *Topology, level int) *opsMetrics {
	m := &opsMetrics{level: level, rates: map[string]*rateSamples{}, e2e: map[string]*e2eStats{}}
	if m.level >= levelDebug {
		m.nodes = map[string]*atomic.Int64{}
	}
	for _, n := range topo.t.Nodes() {
		if m.nodes != nil {
			m.nodes[n.Name] = new(atomic.Int64)
		}
		if n.Kind == topology.SourceNode || n.Kind == topology.SinkNode {
			m.e2e[n.Name] = new(e2eStats)
		}
	}
	return m
}

// Describe sends the descriptors (prometheus.Collector).
func (m *opsMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.clientState, m.aliveThreads, m.threadProcess, m.threadPunct, m.threadDropped, m.recordsLag} {
		ch <- d
	}
	ch <- m.restoreRemaining
	ch <- m.restoreTotal
	ch <- m.recordsLead
	ch <- m.recordsLeadMin
	ch <- m.recordsLeadAvg
	ch <- m.e2eMin
	ch <- m.e2eMax
	ch <- m.e2eAvg
	if m.level >= levelDebug {
		for op := range numStoreOps {
			ch <- m.storeOpTotal[op]
			ch <- m.storeOpAvg[op]
			ch <- m.storeOpMax[op]
		}
		for _, d := range []*prometheus.Desc{m.nodeProcess, m.taskActive, m.taskProcess, m.taskEnforced, m.taskLatenessMax, m.taskLatenessAvg, m.cacheHitRatio, m.suppressBytes, m.suppressN} {
			ch <- d
		}
	}
}

// partLag is one input partition's lag.
type partLag struct {
	tp   TopicPartition
	task TaskID
	lag  int64
}

// inputLags returns the lags of the task's input partitions known from
// fetches: the partition's end as of the last fetch minus the next offset
// to process. On the thread's goroutine or under its lock.
func (t *streamTask) inputLags() []partLag {
	var out []partLag
	for _, q := range t.queues {
		if !q.lagKnown || q.fetchNext < 0 {
			continue
		}
		end := q.fetchNext + q.lag
		pos := q.consumed
		if pos < 0 {
			pos = q.fetchNext - int64(q.len())
		}
		out = append(out, partLag{tp: q.tp, task: t.id, lag: max(end-pos, 0)})
	}
	return out
}

// Collect reads the values (prometheus.Collector).
func (m *opsMetrics) Collect(ch chan<- prometheus.Metric) {
	a := m.app
	st := a.State()
	for s := StateCreated; s <= StateError; s++ {
		v := 0.0
		if s == st {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(m.clientState, prometheus.GaugeValue, v, s.String())
	}
	threads := a.threadList()
	ch <- prometheus.MustNewConstMetric(m.aliveThreads, prometheus.GaugeValue, float64(len(threads)))
	sort.Slice(threads, func(i, j int) bool { return threads[i].id < threads[j].id })
	for _, t := range threads {
		ch <- prometheus.MustNewConstMetric(m.threadProcess, prometheus.CounterValue, float64(t.stats.Processed.Load()), t.name)
		ch <- prometheus.MustNewConstMetric(m.threadPunct, prometheus.CounterValue, float64(t.stats.Punctuations.Load()), t.name)
		ch <- prometheus.MustNewConstMetric(m.threadDropped, prometheus.CounterValue, float64(t.stats.DroppedRecords.Load()), t.name)
		var lags []partLag
		type taskState struct {
			id                                           TaskID
			state                                        TaskState
			processed, enforced, lateMax, lateSum, lateN int64
			caches, buffers                              map[string][2]int64
			stores                                       []storeOpValues
		}
		var states []taskState
		var leads []partLead
		t.mu.Lock()
		for id, task := range t.tasks {
			lags = append(lags, task.inputLags()...)
			leads = append(leads, task.inputLeads()...)
			ts := taskState{id: id, state: task.State()}
			if tm := task.ops; tm != nil {
				ts.processed, ts.enforced = tm.processed.Load(), tm.enforcedN.Load()
				ts.lateMax, ts.lateSum, ts.lateN = tm.latenessMax.Load(), tm.latenessSum.Load(), tm.latenessN.Load()
				ts.caches = task.cacheHits()
				ts.buffers = task.suppressionBuffers()
				ts.stores = task.storeStats(&m.storeMeters)
			}
			states = append(states, ts)
		}
		t.mu.Unlock()
		for _, l := range lags {
			ch <- prometheus.MustNewConstMetric(m.recordsLag, prometheus.GaugeValue, float64(l.lag), l.tp.Topic, strconv.Itoa(int(l.tp.Partition)), l.task.String())
		}
		for _, l := range leads {
			p := strconv.Itoa(int(l.tp.Partition))
			ch <- prometheus.MustNewConstMetric(m.recordsLead, prometheus.GaugeValue, float64(l.lead), l.tp.Topic, p, l.task.String())
			ch <- prometheus.MustNewConstMetric(m.recordsLeadMin, prometheus.GaugeValue, float64(l.min), l.tp.Topic, p, l.task.String())
			ch <- prometheus.MustNewConstMetric(m.recordsLeadAvg, prometheus.GaugeValue, l.avg, l.tp.Topic, p, l.task.String())
		}
		if m.level >= levelDebug {
			for _, s := range states {
				id := s.id.String()
				m.collectStores(ch, id, s.stores)
				ch <- prometheus.MustNewConstMetric(m.taskActive, prometheus.GaugeValue, 1, id, s.state.String())
				ch <- prometheus.MustNewConstMetric(m.taskProcess, prometheus.CounterValue, float64(s.processed), id)
				ch <- prometheus.MustNewConstMetric(m.taskEnforced, prometheus.CounterValue, float64(s.enforced), id)
				ch <- prometheus.MustNewConstMetric(m.taskLatenessMax, prometheus.GaugeValue, float64(s.lateMax)/1000, id)
				avg := 0.0
				if s.lateN > 0 {
					avg = float64(s.lateSum) / float64(s.lateN) / 1000
				}
				ch <- prometheus.MustNewConstMetric(m.taskLatenessAvg, prometheus.GaugeValue, avg, id)
				for store, hm := range s.caches {
					ratio := 0.0
					if hm[0]+hm[1] > 0 {
						ratio = float64(hm[0]) / float64(hm[0]+hm[1])
					}
					ch <- prometheus.MustNewConstMetric(m.cacheHitRatio, prometheus.GaugeValue, ratio, id, store)
				}
				for store, bn := range s.buffers {
					ch <- prometheus.MustNewConstMetric(m.suppressBytes, prometheus.GaugeValue, float64(bn[0]), id, store)
					ch <- prometheus.MustNewConstMetric(m.suppressN, prometheus.GaugeValue, float64(bn[1]), id, store)
				}
			}
		}
	}
	m.collectGlobal(ch)
	// A store restores from one changelog partition, a global store from
	// every partition of its topic: one sample per task and store.
	type restoreKey struct {
		task  TaskID
		store string
	}
	var keys []restoreKey
	sums := map[restoreKey][2]int64{}
	for _, r := range a.restores.snapshot() {
		k := restoreKey{task: r.Task, store: r.Store}
		v, seen := sums[k]
		if !seen {
			keys = append(keys, k)
		}
		sums[k] = [2]int64{v[0] + r.Remaining, v[1] + r.Restored}
	}
	for _, k := range keys {
		v := sums[k]
		ch <- prometheus.MustNewConstMetric(m.restoreRemaining, prometheus.GaugeValue, float64(v[0]), k.task.String(), k.store)
		ch <- prometheus.MustNewConstMetric(m.restoreTotal, prometheus.CounterValue, float64(v[1]), k.task.String(), k.store)
	}
	for name, c := range m.nodes { // DEBUG and up
		ch <- prometheus.MustNewConstMetric(m.nodeProcess, prometheus.CounterValue, float64(c.Load()), name)
	}
	for name, e := range m.e2e {
		n, lo, hi, sum := e.total()
		if n == 0 {
			continue
		}
		ch <- prometheus.MustNewConstMetric(m.e2eMin, prometheus.GaugeValue, float64(lo)/1000, name)
		ch <- prometheus.MustNewConstMetric(m.e2eMax, prometheus.GaugeValue, float64(hi)/1000, name)
		ch <- prometheus.MustNewConstMetric(m.e2eAvg, prometheus.GaugeValue, float64(sum)/float64(n)/1000, name)
	}
}

// bindNodeCounters gives the source and sink nodes their end-to-end
// latency stats and, from DEBUG, the task its task-level metrics and the
// nodes their processor-node counters.
func (t *streamTask) bindNodeCounters() {
	if t.cfg.Stats == nil || t.cfg.Stats.ops == nil {
		return
	}
	m := t.cfg.Stats.ops
	if m.nodes != nil {
		t.ops = new(taskMetrics)
	}
	shard := int(e2eNextShard.Add(1) % e2eShards)
	for _, n := range t.nodes {
		if b, ok := n.(interface {
			bindCounts(*opsMetrics, *int64, int)
		}); ok {
			b.bindCounts(m, &t.wallClock, shard)
		}
	}
}

// bindCounts binds the node's counters; clock is the task's wall clock as
// of the record being processed (KIP-613 measures with the task's cached
// system time, so no clock is read per record).
func (f *forwarder[K, V]) bindCounts(m *opsMetrics, clock *int64, shard int) {
	f.clock = clock
	f.self = m.nodes[f.owner]
	f.selfE2E = m.e2e[f.owner].shard(shard) // set for sources only
	var e2e []*e2eStat
	for i, n := range f.names {
		if s := m.e2e[n]; s != nil { // set for sinks only
			if e2e == nil {
				e2e = make([]*e2eStat, len(f.names))
			}
			e2e[i] = s.shard(shard)
		}
	}
	f.e2e = e2e
	if m.nodes == nil {
		return
	}
	counts := make([]*atomic.Int64, len(f.names))
	for i, n := range f.names {
		counts[i] = m.nodes[n]
		if counts[i] == nil {
			return // a node the topology does not know: count nothing
		}
	}
	f.counts = counts
}

// e2eStat is a node's record end-to-end latency (KIP-613) as seen by some
// of its tasks: the wall clock when a record reaches the node minus the
// record's timestamp, in ms. A nil *e2eStat records nothing. The padding
// keeps two stats off one cache line.
type e2eStat struct {
	min, max, sum, n atomic.Int64
	_                [32]byte
}

// e2eStats is a node's end-to-end latency over all its tasks, in shards: a
// task writes one shard (e2eNextShard spreads the tasks over them), so two
// stream threads running tasks of one sub-topology do not write the same
// cache line for every record. A scrape adds the shards up.
type e2eStats struct {
	shards [e2eShards]e2eStat
}

const e2eShards = 8

var e2eNextShard atomic.Uint32

// shard returns shard i (nil for a nil s: a node without stats).
func (s *e2eStats) shard(i int) *e2eStat {
	if s == nil {
		return nil
	}
	return &s.shards[i%e2eShards]
}

// total returns the count, the smallest and largest latency and the sum
// over every shard.
func (s *e2eStats) total() (n, lo, hi, sum int64) {
	for i := range s.shards {
		e := &s.shards[i]
		en := e.n.Load()
		if en == 0 {
			continue
		}
		elo, ehi := e.min.Load(), e.max.Load()
		if n == 0 || elo < lo {
			lo = elo
		}
		if n == 0 || ehi > hi {
			hi = ehi
		}
		n += en
		sum += e.sum.Load()
	}
	return n, lo, hi, sum
}

// observe records a record of timestamp ts reaching the node at now (ms).
func (e *e2eStat) observe(now, ts int64) {
	if e == nil {
		return
	}
	d := now - ts
	e.sum.Add(d)
	if e.n.Add(1) == 1 {
		e.min.Store(d)
		e.max.Store(d)
		return
	}
	for {
		cur := e.max.Load()
		if d <= cur || e.max.CompareAndSwap(cur, d) {
			break
		}
	}
	for {
		cur := e.min.Load()
		if d >= cur || e.min.CompareAndSwap(cur, d) {
			break
		}
	}
}

// rateSamples keeps a counter's recent values to compute a rate over the
// last minute.
type rateSamples struct {
	at  []time.Time
	val []int64
}

const rateWindow = time.Minute

// rate adds the sample (now, v) and returns the rate since the oldest
// sample of the last minute.
func (r *rateSamples) rate(now time.Time, v int64) float64 {
	if len(r.at) == 0 || now.Sub(r.at[len(r.at)-1]) >= time.Second {
		r.at, r.val = append(r.at, now), append(r.val, v)
	}
	i := 0
	for i < len(r.at)-1 && now.Sub(r.at[i]) > rateWindow {
		i++
	}
	r.at, r.val = r.at[i:], r.val[i:]
	dt := now.Sub(r.at[0]).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(v-r.val[0]) / dt
}

// nodeCounts returns the processor-node counts and rates (none below
// DEBUG).
func (a *App) nodeCounts() map[string]httpjson.NodeCounts {
	m := a.ops
	out := map[string]httpjson.NodeCounts{}
	if m == nil || m.nodes == nil {
		return out
	}
	now := time.Now()
	m.ratesMu.Lock()
	defer m.ratesMu.Unlock()
	for name, c := range m.nodes {
		v := c.Load()
		r := m.rates[name]
		if r == nil {
			r = &rateSamples{}
			m.rates[name] = r
		}
		out[name] = httpjson.NodeCounts{Processed: v, Rate: r.rate(now, v)}
	}
	return out
}

// nodeLabels are the notes the SVG topology shows under each node.
func (a *App) nodeLabels() map[string]string {
	out := map[string]string{}
	for name, c := range a.nodeCounts() {
		out[name] = strconv.FormatInt(c.Processed, 10) + " records, " + strconv.FormatFloat(c.Rate, 'f', 1, 64) + "/s"
	}
	return out
}

// cacheHits returns the record-cache hits and misses of the task's cached
// stores, by store. Under the task's thread lock.
func (t *streamTask) cacheHits() map[string][2]int64 {
	var out map[string][2]int64
	for name, s := range t.stores {
		c, ok := s.(interface{ cacheHitRatio() (int64, int64, bool) })
		if !ok {
			continue
		}
		if h, m, ok := c.cacheHitRatio(); ok {
			if out == nil {
				out = map[string][2]int64{}
			}
			out[name] = [2]int64{h, m}
		}
	}
	return out
}

// cacheHitRatio returns the hits and misses of the store's record cache.
func (s *tsStore[K, V]) cacheHitRatio() (hits, misses int64, ok bool) {
	if s.cache == nil {
		return 0, 0, false
	}
	hits, misses = s.cache.HitRatio()
	return hits, misses, true
}

// processor returns the Processor a processor node runs.
func (n *processorNode[KIn, VIn, KOut, VOut]) processor() any { return n.proc }

// bufferStats returns the suppression's store, buffered bytes and records.
func (p *suppressProc[K, V]) bufferStats() (store string, bytes, count int64) {
	return p.store, p.bytes, int64(len(p.index))
}

// suppressionBuffers returns the bytes and records buffered by the task's
// suppressions, by store. Under the task's thread lock.
func (t *streamTask) suppressionBuffers() map[string][2]int64 {
	var out map[string][2]int64
	for _, n := range t.nodes {
		pn, ok := n.(interface{ processor() any })
		if !ok {
			continue
		}
		if sp, ok := pn.processor().(interface {
			bufferStats() (string, int64, int64)
		}); ok {
			store, b, c := sp.bufferStats()
			if out == nil {
				out = map[string][2]int64{}
			}
			out[store] = [2]int64{b, c}
		}
	}
	return out
}

// collectStores sends the operation stats of a task's stores: only the
// operations a store has seen.
func (m *opsMetrics) collectStores(ch chan<- prometheus.Metric, task string, stores []storeOpValues) {
	for _, st := range stores {
		for op, v := range st.ops {
			if v[0] == 0 {
				continue
			}
			// As Kafka's sampled avg and max: NaN when no sample window
			// holds a recording.
			avg, largest := math.NaN(), math.NaN()
			if n := st.recent[op]; n > 0 {
				avg, largest = float64(v[1])/float64(n)/1e9, float64(v[2])/1e9
			}
			ch <- prometheus.MustNewConstMetric(m.storeOpTotal[op], prometheus.CounterValue, float64(v[0]), task, st.store)
			ch <- prometheus.MustNewConstMetric(m.storeOpAvg[op], prometheus.GaugeValue, avg, task, st.store)
			ch <- prometheus.MustNewConstMetric(m.storeOpMax[op], prometheus.GaugeValue, largest, task, st.store)
		}
	}
}
