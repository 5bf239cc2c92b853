package streams

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/statestore"
)

// IgnoredProperties lists the properties app was given that have no effect,
// with what happens instead (for the external tests of this package).
func IgnoredProperties(app *App) []ignoredProperty { return app.cfg.IgnoredProperties }

// WithCheckpointEveryCommit makes every at-least-once commit that moved a
// changelog make the stores durable and write their checkpoints, instead of
// once the changelogs moved on by 10,000 records.
func WithCheckpointEveryCommit() Option {
	return func(c *config) { c.CheckpointDeltaRecords = 0 }
}

// Restores returns the progress of app's store restores in flight.
func Restores(app *App) []restoreStatus { return app.restoreStatuses() }

// StandbyTasks returns the standby and warm-up tasks app holds.
func StandbyTasks(app *App) []standbyTaskInfo { return app.standbyTasks() }

// TransactionTimeout parses props as New does and returns the transaction
// timeout the exactly-once producers get (0 under at_least_once).
func TransactionTimeout(props Properties) (time.Duration, error) {
	cfg, err := parseConfig(props)
	if err != nil {
		return 0, err
	}
	return cfg.TransactionTimeout, nil
}

// StandbyChangelog is a standby task's changelog partition with its
// position and lag, as StandbyTasks lists them.
type StandbyChangelog = standbyChangelog

// StandbyTaskInfo is a standby or warm-up task as StandbyTasks lists it.
type StandbyTaskInfo = standbyTaskInfo

// BenchTask is a task of the runtime, for the external benchmarks.
type BenchTask = streamTask

// NewBenchTask returns an initialized task of topo's sub-topology id.Subtopology reading
// tp, as the runtime runs it: with a 10 MiB record cache and in-memory
// stores. What it sends is discarded.
func NewBenchTask(topo *Topology, id TaskID, tp TopicPartition) (*BenchTask, error) {
	t, err := newStreamTask(topo, id, []TopicPartition{tp}, taskConfig{
		ApplicationID: "bench", Collector: discardCollector{}, Stores: inMemoryStores(),
		Logger: slog.New(slog.DiscardHandler), Cache: statestore.NewRecordCache(10 << 20),
	})
	if err != nil {
		return nil, err
	}
	if err := t.Initialize(0); err != nil {
		t.Close(false)
		return nil, err
	}
	return t, nil
}

type discardCollector struct{}

func (discardCollector) Send(ProducerRecord) error            { return nil }
func (discardCollector) PartitionCount(string) (int32, error) { return 1, nil }

// ThreadFetchMaxWaits returns the fetch.max.wait.ms each stream thread's
// client fetches with.
func ThreadFetchMaxWaits(app *App) []time.Duration {
	var out []time.Duration
	for _, t := range app.threadList() {
		out = append(out, t.cl.OptValue(kgo.FetchMaxWait).(time.Duration))
	}
	return out
}

// ThreadCompressions returns the producer compression each stream thread's
// client prefers first: "none", "snappy", ...
func ThreadCompressions(app *App) []string {
	var out []string
	for _, t := range app.threadList() {
		codecs := t.cl.OptValue(kgo.ProducerBatchCompression).([]kgo.CompressionCodec)
		out = append(out, codecName(codecs[0]))
	}
	return out
}

func codecName(c kgo.CompressionCodec) string {
	for name, want := range map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
		"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()} {
		if c == want {
			return name
		}
	}
	return fmt.Sprint(c)
}

// PausedPartitions returns the input partitions app's stream threads have
// paused fetching (back-pressure, or a task restoring).
func PausedPartitions(app *App) []TopicPartition {
	var out []TopicPartition
	for _, t := range app.threadList() {
		t.mu.Lock()
		for tp, paused := range t.paused {
			if paused {
				out = append(out, tp)
			}
		}
		t.mu.Unlock()
	}
	return out
}
