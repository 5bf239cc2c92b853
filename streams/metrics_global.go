package streams

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/statestore"
)

// Metrics of the global stores and the global thread, as far as Kafka
// Streams has them: the global stores' operations (stream-state-metrics,
// DEBUG) under task "-1_-1", with the time the global thread took to catch
// the stores up with their topics as the stores' restore latency
// (Kafka Streams times a global store's init, which restores it); the
// records dropped by the global task (dropped-records) under the global
// thread's id; records-lag of the global topic partitions (the global
// consumer's consumer-fetch-manager-metrics); and, while the global thread
// catches up before the stream threads start, the restore progress of each
// global store (restore-remaining-records-total, restore-total).

// globalThreadName is the global thread's id in metrics, as Kafka Streams
// names it.
func (g *globalThread) threadName() string { return g.app.cfg.ClientID + "-GlobalStreamThread" }

// globalMeters are what the global thread keeps for the metrics. ends and
// logStarts, by global topic partition, are from the last fetch; catchUp
// counts the records applied per partition while the thread catches up.
// The maps are guarded by the global thread's mu.
type globalMeters struct {
	ends    map[TopicPartition]int64
	catchUp map[TopicPartition]*catchUpProgress
}

// catchUpProgress is one global topic partition's catch-up so far (read by
// scrapes, hence atomics).
type catchUpProgress struct {
	restored atomic.Int64
	offset   atomic.Int64 // of the last record applied, -1 before the first
}

// observeFetch records a fetched partition's end (the last stable offset
// under read_committed) and its records applied while catching up. With
// g.mu held.
func (g *globalThread) observeFetch(p kgo.FetchTopicPartition) {
	if p.Err != nil {
		return
	}
	tp := TopicPartition{Topic: p.Topic, Partition: p.Partition}
	end := p.HighWatermark
	if g.app.eos() {
		end = p.LastStableOffset
	}
	if end >= 0 {
		if g.meters.ends == nil {
			g.meters.ends = map[TopicPartition]int64{}
		}
		g.meters.ends[tp] = end
	}
	if c := g.meters.catchUp[tp]; c != nil && len(p.Records) > 0 {
		c.restored.Add(int64(len(p.Records)))
		c.offset.Store(p.Records[len(p.Records)-1].Offset)
	}
}

// globalCatchUp is the global thread catching up with its topics, shown as
// the restores of the global stores.
type globalCatchUp struct {
	g        *globalThread
	started  time.Time
	restores []*storeRestore
}

// beginCatchUp registers a restore per global store and partition of its
// topic that has records to read up to want.
func (g *globalThread) beginCatchUp(want map[TopicPartition]int64) *globalCatchUp {
	c := &globalCatchUp{g: g, started: time.Now()}
	from := g.task.Offsets()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.meters.catchUp = map[TopicPartition]*catchUpProgress{}
	for _, sub := range g.app.topo.subs {
		if !sub.Global {
			continue
		}
		for tp, end := range want {
			if !containsString(sub.SourceTopics, tp.Topic) || end <= from[tp] {
				continue
			}
			p := g.meters.catchUp[tp]
			if p == nil {
				p = &catchUpProgress{}
				p.offset.Store(-1)
				g.meters.catchUp[tp] = p
			}
			for _, store := range sub.Stores {
				r := &storeRestore{thread: g.threadName(), task: globalTaskID, store: store, tp: tp, from: from[tp], started: c.started}
				r.progress = func() statestore.RestoreProgress {
					return statestore.RestoreProgress{Store: store, Restored: p.restored.Load(), Offset: p.offset.Load(), EndOffset: end}
				}
				c.restores = append(c.restores, r)
				g.app.restores.add(r)
				g.app.cfg.Logger.Info("streams: restoring global store", "thread", r.thread, "store", store,
					"topic", tp.String(), "from", r.from, "to", end)
			}
		}
	}
	return c
}

// caughtUp records the catch-up's time as each global store's restore
// latency (DEBUG).
func (c *globalCatchUp) caughtUp() {
	t := c.g.task.t
	if t.cfg.Stats == nil || t.cfg.Stats.ops == nil || t.cfg.Stats.ops.level < levelDebug {
		return
	}
	for _, store := range c.g.task.stores {
		t.cfg.Stats.ops.storeMeters.get(meterKey{task: globalTaskID, store: store}).done(opRestore, c.started)
	}
}

// end forgets the catch-up's restores, caught up or not.
func (c *globalCatchUp) end() {
	for _, r := range c.restores {
		c.g.app.restores.remove(r)
	}
	c.g.mu.Lock()
	c.g.meters.catchUp = nil
	c.g.mu.Unlock()
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// collectGlobal sends the metrics of the global thread and its stores.
func (m *opsMetrics) collectGlobal(ch chan<- prometheus.Metric) {
	a := m.app
	a.mu.Lock()
	g := a.global
	a.mu.Unlock()
	if g == nil {
		return
	}
	name := g.threadName()
	ch <- prometheus.MustNewConstMetric(m.threadDropped, prometheus.CounterValue, float64(g.task.t.cfg.Stats.DroppedRecords.Load()), name)
	type lag struct {
		tp  TopicPartition
		lag int64
	}
	var lags []lag
	var stores []storeOpValues
	g.mu.Lock()
	offs := g.task.Offsets()
	for tp, end := range g.meters.ends {
		if pos, ok := offs[tp]; ok {
			lags = append(lags, lag{tp: tp, lag: max(end-pos, 0)})
		}
	}
	if m.level >= levelDebug {
		stores = g.task.t.storeStats(&m.storeMeters)
	}
	g.mu.Unlock()
	id := globalTaskID.String()
	for _, l := range lags {
		ch <- prometheus.MustNewConstMetric(m.recordsLag, prometheus.GaugeValue, float64(l.lag), l.tp.Topic, strconv.Itoa(int(l.tp.Partition)), id)
	}
	m.collectStores(ch, id, stores)
}
