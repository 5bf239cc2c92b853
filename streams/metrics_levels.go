package streams

import (
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
// processor-node counters, and those only from DEBUG.

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
	// rates keep recent samples of the node counters for /topology.
	ratesMu sync.Mutex
	rates   map[string]*rateSamples

	clientState, aliveThreads  *prometheus.Desc
	threadProcess, threadPunct *prometheus.Desc
	threadDropped              *prometheus.Desc
	nodeProcess                *prometheus.Desc
	recordsLag                 *prometheus.Desc
	taskActive                 *prometheus.Desc
}

func newOpsMetrics(a *App) (*opsMetrics, error) {
	m := &opsMetrics{app: a, level: recordingLevel(a.cfg.Ops.RecordingLevel), rates: map[string]*rateSamples{}}
	if m.level >= levelDebug {
		m.nodes = map[string]*atomic.Int64{}
		for _, n := range a.topo.t.Nodes() {
			m.nodes[n.Name] = new(atomic.Int64)
		}
	}
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
	m.recordsLag = desc("partition", "records_lag", "Records of an input partition not processed yet: end offset as of the last fetch minus the next offset to process (consumer-fetch-manager-metrics records-lag).", "topic", "partition", "task_id")
	m.taskActive = desc("task", "active", "1 per active task of this instance, with its state (DEBUG).", "task_id", "state")
	reg := a.cfg.Registerer
	if reg == nil {
		reg = a.metrics.registry
	}
	if err := reg.Register(m); err != nil {
		return nil, err
	}
	return m, nil
}

// Describe sends the descriptors (prometheus.Collector).
func (m *opsMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.clientState, m.aliveThreads, m.threadProcess, m.threadPunct, m.threadDropped, m.recordsLag} {
		ch <- d
	}
	if m.level >= levelDebug {
		ch <- m.nodeProcess
		ch <- m.taskActive
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
func (t *Task) inputLags() []partLag {
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
	a.mu.Lock()
	threads := make([]*streamThread, 0, len(a.threads))
	for _, t := range a.threads {
		threads = append(threads, t)
	}
	a.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(m.aliveThreads, prometheus.GaugeValue, float64(len(threads)))
	sort.Slice(threads, func(i, j int) bool { return threads[i].id < threads[j].id })
	for _, t := range threads {
		ch <- prometheus.MustNewConstMetric(m.threadProcess, prometheus.CounterValue, float64(t.stats.Processed.Load()), t.name)
		ch <- prometheus.MustNewConstMetric(m.threadPunct, prometheus.CounterValue, float64(t.stats.Punctuations.Load()), t.name)
		ch <- prometheus.MustNewConstMetric(m.threadDropped, prometheus.CounterValue, float64(t.stats.DroppedRecords.Load()), t.name)
		var lags []partLag
		type taskState struct {
			id    TaskID
			state TaskState
		}
		var states []taskState
		t.mu.Lock()
		for id, task := range t.tasks {
			lags = append(lags, task.inputLags()...)
			states = append(states, taskState{id, task.State()})
		}
		t.mu.Unlock()
		for _, l := range lags {
			ch <- prometheus.MustNewConstMetric(m.recordsLag, prometheus.GaugeValue, float64(l.lag), l.tp.Topic, strconv.Itoa(int(l.tp.Partition)), l.task.String())
		}
		if m.level >= levelDebug {
			for _, s := range states {
				ch <- prometheus.MustNewConstMetric(m.taskActive, prometheus.GaugeValue, 1, s.id.String(), s.state.String())
			}
		}
	}
	if m.level >= levelDebug {
		for name, c := range m.nodes {
			ch <- prometheus.MustNewConstMetric(m.nodeProcess, prometheus.CounterValue, float64(c.Load()), name)
		}
	}
}

// bindNodeCounters gives the task's nodes their processor-node counters.
func (t *Task) bindNodeCounters() {
	if t.cfg.Stats == nil || t.cfg.Stats.ops == nil || t.cfg.Stats.ops.nodes == nil {
		return
	}
	nodes := t.cfg.Stats.ops.nodes
	for _, n := range t.nodes {
		if b, ok := n.(interface {
			bindCounts(map[string]*atomic.Int64)
		}); ok {
			b.bindCounts(nodes)
		}
	}
}

func (f *forwarder[K, V]) bindCounts(nodes map[string]*atomic.Int64) {
	f.self = nodes[f.owner]
	counts := make([]*atomic.Int64, len(f.names))
	for i, n := range f.names {
		counts[i] = nodes[n]
		if counts[i] == nil {
			return // a node the topology does not know: count nothing
		}
	}
	f.counts = counts
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
func (a *App) nodeCounts() map[string]NodeCounts {
	m := a.ops
	out := map[string]NodeCounts{}
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
		out[name] = NodeCounts{Processed: v, Rate: r.rate(now, v)}
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
