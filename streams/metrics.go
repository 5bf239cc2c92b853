package streams

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// appMetrics are an application's Prometheus metrics. The counters are
// read from the stats the threads keep (CounterFuncs), so the hot path only
// does atomic adds.
type appMetrics struct {
	registry *prometheus.Registry // private, when no Registerer was given

	commits           atomic.Int64
	commitFailures    atomic.Int64
	productionErrors  atomic.Int64
	threadFailures    atomic.Int64
	threadReplaced    atomic.Int64
	rebalances        atomic.Int64
	restoredRecords   atomic.Int64
	purgedPartitions  atomic.Int64
	commitLatencySecs prometheus.Histogram
}

func newAppMetrics(a *App) (*appMetrics, error) {
	m := &appMetrics{}
	reg := a.cfg.Registerer
	if reg == nil {
		m.registry = prometheus.NewRegistry()
		reg = m.registry
	}
	labels := prometheus.Labels{"application_id": a.cfg.ApplicationID, "client_id": a.cfg.ClientID}
	counter := func(name, help string, fn func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "rivulet", Subsystem: "streams", Name: name, Help: help, ConstLabels: labels,
		}, func() float64 { return float64(fn()) })
	}
	gauge := func(name, help string, fn func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "rivulet", Subsystem: "streams", Name: name, Help: help, ConstLabels: labels,
		}, fn)
	}
	stat := func(pick func(*taskStats) *atomic.Int64) func() int64 {
		return func() int64 {
			var n int64
			for _, s := range a.allStats() {
				n += pick(s).Load()
			}
			return n
		}
	}
	m.commitLatencySecs = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "rivulet", Subsystem: "streams", Name: "commit_latency_seconds",
		Help:        "Time a thread takes to commit: flush stores and caches, flush the producer, commit offsets.",
		ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	})
	cs := []prometheus.Collector{
		counter("process_total", "Records processed by tasks.", stat(func(s *taskStats) *atomic.Int64 { return &s.Processed })),
		counter("punctuate_total", "Punctuations fired.", stat(func(s *taskStats) *atomic.Int64 { return &s.Punctuations })),
		counter("dropped_records_total", "Records dropped: undecodable (when the handler continues), invalid timestamps, null keys in aggregations, unserializable results (when the handler continues).", stat(func(s *taskStats) *atomic.Int64 { return &s.DroppedRecords })),
		counter("deserialization_errors_total", "Records whose key or value could not be deserialized.", stat(func(s *taskStats) *atomic.Int64 { return &s.DeserializationErrors })),
		counter("serialization_errors_total", "Records whose key or value could not be serialized at a sink.", stat(func(s *taskStats) *atomic.Int64 { return &s.SerializationErrors })),
		counter("dead_letter_records_total", "Records sent to the dead-letter topic.", stat(func(s *taskStats) *atomic.Int64 { return &s.DeadLetterRecords })),
		counter("enforced_processing_total", "Times a task processed with an empty input partition after max.task.idle.ms.", stat(func(s *taskStats) *atomic.Int64 { return &s.EnforcedProcessingTotal })),
		counter("production_errors_total", "Records the broker refused for good.", m.productionErrors.Load),
		counter("commit_total", "Commits made by stream threads.", m.commits.Load),
		counter("commit_failures_total", "Commits that failed.", m.commitFailures.Load),
		counter("thread_failures_total", "Stream threads that failed (an error went to the uncaught-error handler).", m.threadFailures.Load),
		counter("thread_replacements_total", "Stream threads replaced after a failure.", m.threadReplaced.Load),
		counter("rebalances_total", "Partition assignments received by stream threads.", m.rebalances.Load),
		counter("restore_records_total", "Changelog records restored into stores.", m.restoredRecords.Load),
		counter("repartition_purges_total", "Repartition partitions whose consumed records were deleted.", m.purgedPartitions.Load),
		gauge("state", "Application state: 0 CREATED, 1 REBALANCING, 2 RUNNING, 3 PENDING_SHUTDOWN, 4 NOT_RUNNING, 5 PENDING_ERROR, 6 ERROR.", func() float64 { return float64(a.State()) }),
		gauge("active_tasks", "Active tasks of this instance.", func() float64 { return float64(len(a.Tasks())) }),
		gauge("restore_remaining_records", "Changelog records left to restore, over the restores in flight.", func() float64 { n, _ := a.restores.totals(); return float64(n) }),
		gauge("restore_records_per_second", "Restore rate: records restored per second since each restore in flight began, summed.", func() float64 { _, r := a.restores.totals(); return r }),
		gauge("alive_stream_threads", "Stream threads running.", func() float64 { return float64(a.aliveThreads()) }),
		m.commitLatencySecs,
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
