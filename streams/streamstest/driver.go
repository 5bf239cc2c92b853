package streamstest

import (
	"errors"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/internal/driverhook"
)

// Option configures a Driver.
type Option func(*config)

type config struct {
	appID        string
	start        int64
	cacheBytes   int64
	extractor    streams.TimestampExtractor
	deser        streams.DeserializationHandler
	prod         streams.ProductionHandler
	deadLetter   string
	logger       *slog.Logger
	maxTaskIdle  time.Duration
	partitionCnt int32
}

// WithApplicationID sets the application id (it prefixes internal topics,
// "<id>-<name>-repartition"). The default is "streamstest".
func WithApplicationID(id string) Option { return func(c *config) { c.appID = id } }

// WithStartTime sets the initial wall-clock time and the default start time
// of input topics, in ms. The default is 0, so outputs are the same on
// every run.
func WithStartTime(ms int64) Option { return func(c *config) { c.start = ms } }

// WithCacheMaxBytes sets the record cache budget. The default is 10 MiB, as
// Kafka Streams; 0 disables caching. The driver commits after every piped
// record, so caching only folds the updates one input record causes.
func WithCacheMaxBytes(n int64) Option { return func(c *config) { c.cacheBytes = n } }

// WithTimestampExtractor sets the default timestamp extractor.
func WithTimestampExtractor(fn streams.TimestampExtractor) Option {
	return func(c *config) { c.extractor = fn }
}

// WithDeserializationHandler sets the deserialization error handler.
func WithDeserializationHandler(fn streams.DeserializationHandler) Option {
	return func(c *config) { c.deser = fn }
}

// WithProductionHandler sets the production error handler (called for
// records that cannot be serialized).
func WithProductionHandler(fn streams.ProductionHandler) Option {
	return func(c *config) { c.prod = fn }
}

// WithDeadLetterTopic sends undecodable records to topic.
func WithDeadLetterTopic(topic string) Option { return func(c *config) { c.deadLetter = topic } }

// WithLogger sets the logger for dropped-record warnings. The default
// discards them.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithPartitionCount sets the partition count custom partitioners see. The
// driver still runs one task per sub-topology (partition 0). The default
// is 1.
func WithPartitionCount(n int32) Option { return func(c *config) { c.partitionCnt = n } }

// Driver runs a topology with no broker, deterministically (Kafka Streams'
// TopologyTestDriver). Every topic has one partition, so each sub-topology
// runs as one task. Records piped into an input topic are processed at
// once, including what they cause through repartition topics and topics the
// topology both writes and reads; then the driver commits (caches flush).
//
// A Driver is not safe for concurrent use. Close it when done.
type Driver struct {
	cfg config
	rt  runtime
}

// runtime is the task runtime of package streams that runs a Driver's
// topology (see package driverhook).
type runtime interface {
	Pipe(raw streams.RawRecord) error
	AdvanceWallClockTime(by time.Duration) error
	WallClockTime() int64
	StateStore(name string) (streams.StateStore, error)
	Outputs() map[string][]streams.ProducerRecord
	Counters() driverhook.Counters
	Close() error
}

// New returns a driver running topo.
func New(topo *streams.Topology, opts ...Option) (*Driver, error) {
	if topo == nil {
		return nil, errors.New("streamstest: nil topology")
	}
	cfg := config{appID: "streamstest", cacheBytes: 10 << 20, partitionCnt: 1}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	hc := driverhook.Config{
		ApplicationID:   cfg.appID,
		StartTime:       cfg.start,
		CacheMaxBytes:   cfg.cacheBytes,
		DeadLetterTopic: cfg.deadLetter,
		Logger:          cfg.logger,
		MaxTaskIdle:     cfg.maxTaskIdle,
		PartitionCount:  cfg.partitionCnt,
		// An unset handler travels as a nil func: the default, as nil.
		TimestampExtractor:     cfg.extractor,
		DeserializationHandler: cfg.deser,
		ProductionHandler:      cfg.prod,
	}
	rt, err := driverhook.New(topo, hc)
	if err != nil {
		return nil, err
	}
	return &Driver{cfg: cfg, rt: rt.(runtime)}, nil
}

// pipe puts a record on an input topic and runs everything it causes.
func (d *Driver) pipe(raw streams.RawRecord) error { return d.rt.Pipe(raw) }

// outputs returns the records not yet read, by topic (the runtime's map).
func (d *Driver) outputs() map[string][]streams.ProducerRecord { return d.rt.Outputs() }

// AdvanceWallClockTime moves the wall clock forward and fires the
// wall-clock punctuations that are due.
func (d *Driver) AdvanceWallClockTime(by time.Duration) error {
	return d.rt.AdvanceWallClockTime(by)
}

// WallClockTime returns the driver's wall-clock time in ms.
func (d *Driver) WallClockTime() int64 { return d.rt.WallClockTime() }

// StateStore returns a store by name, from any task or the global stores.
// It makes the Driver a streams.StoreProvider, so streams.GetKeyValueStore
// works on it.
func (d *Driver) StateStore(name string) (streams.StateStore, error) {
	return d.rt.StateStore(name)
}

// KeyValueStore returns a typed view of a key-value store (a store of the
// Processor API, or the store of a DSL table or aggregation).
func KeyValueStore[K, V any](d *Driver, name string) (streams.KeyValueStore[K, V], error) {
	return streams.GetKeyValueStore[K, V](d, name)
}

// Stats counts what the driver's tasks did.
type Stats struct {
	// Processed counts records processed.
	Processed atomic.Int64
	// Punctuations counts punctuations fired.
	Punctuations atomic.Int64
	// DroppedRecords counts records skipped: bad timestamps,
	// deserialization errors, null keys in aggregations.
	DroppedRecords atomic.Int64
	// DeserializationErrors counts records that could not be deserialized.
	DeserializationErrors atomic.Int64
	// SerializationErrors counts records that could not be serialized at a
	// sink.
	SerializationErrors atomic.Int64
	// DeadLetterRecords counts records sent to the dead-letter topic.
	DeadLetterRecords atomic.Int64
	// EnforcedProcessingTotal counts times a task processed while an input
	// partition was empty (max.task.idle.ms passed).
	EnforcedProcessingTotal atomic.Int64
}

// Stats returns the counters of the driver's tasks (dropped records,
// deserialization errors, ...) as they are now.
func (d *Driver) Stats() *Stats {
	c := d.rt.Counters()
	s := new(Stats)
	s.Processed.Store(c.Processed)
	s.Punctuations.Store(c.Punctuations)
	s.DroppedRecords.Store(c.DroppedRecords)
	s.DeserializationErrors.Store(c.DeserializationErrors)
	s.SerializationErrors.Store(c.SerializationErrors)
	s.DeadLetterRecords.Store(c.DeadLetterRecords)
	s.EnforcedProcessingTotal.Store(c.EnforcedProcessingTotal)
	return s
}

// ProducedTopics returns the topics the topology has written to, sorted.
func (d *Driver) ProducedTopics() []string {
	outs := d.outputs()
	out := make([]string, 0, len(outs))
	for t := range outs {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Close closes every task.
func (d *Driver) Close() error { return d.rt.Close() }
