package streamstest

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/topology"
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
	topo      *streams.Topology
	names     *topology.Bound // topo bound to the application id
	cfg       config
	tasks     map[int]*streams.Task
	taskOrder []int
	global    *streams.GlobalTask
	globalTop map[string]bool
	cache     *statestore.RecordCache
	stats     streams.TaskStats

	wall    int64
	outputs map[string][]streams.ProducerRecord
	offsets map[string]int64
	pending []streams.RawRecord
	err     error
	closed  bool
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
	d := &Driver{
		topo:      topo,
		names:     topo.Graph().Bind(cfg.appID),
		cfg:       cfg,
		tasks:     make(map[int]*streams.Task),
		globalTop: make(map[string]bool),
		cache:     newCache(cfg.cacheBytes),
		wall:      cfg.start,
		outputs:   make(map[string][]streams.ProducerRecord),
		offsets:   make(map[string]int64),
	}
	var globalParts []streams.TopicPartition
	for _, s := range topo.Subtopologies() {
		if s.Global {
			for _, tp := range s.SourceTopics {
				d.globalTop[tp] = true
				globalParts = append(globalParts, streams.TopicPartition{Topic: tp})
			}
		}
	}
	if len(globalParts) > 0 {
		gt, err := streams.NewGlobalTask(topo, globalParts, d.taskConfig(nil))
		if err != nil {
			return nil, fmt.Errorf("streamstest: %w", err)
		}
		if err := gt.Initialize(d.wall); err != nil {
			gt.Close(false)
			return nil, fmt.Errorf("streamstest: %w", err)
		}
		d.global = gt
	}
	var globals map[string]streams.StateStore
	if d.global != nil {
		globals = d.global.Stores()
	}
	for _, s := range topo.Subtopologies() {
		if s.Global {
			continue
		}
		var parts []streams.TopicPartition
		for _, tp := range s.SourceTopics {
			parts = append(parts, streams.TopicPartition{Topic: d.names.TopicName(tp)})
		}
		t, err := streams.NewTask(topo, topology.TaskID{Subtopology: s.ID}, parts, d.taskConfig(globals))
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("streamstest: %w", err)
		}
		d.tasks[s.ID] = t
		d.taskOrder = append(d.taskOrder, s.ID)
		if err := t.Initialize(d.wall); err != nil {
			d.Close()
			return nil, fmt.Errorf("streamstest: %w", err)
		}
	}
	sort.Ints(d.taskOrder)
	return d, nil
}

func (d *Driver) taskConfig(globals map[string]streams.StateStore) streams.TaskConfig {
	return streams.TaskConfig{
		ApplicationID:          d.cfg.appID,
		Collector:              (*collector)(d),
		Stores:                 streams.InMemoryStores(),
		GlobalStores:           globals,
		TimestampExtractor:     d.cfg.extractor,
		DeserializationHandler: d.cfg.deser,
		ProductionHandler:      d.cfg.prod,
		DeadLetterTopic:        d.cfg.deadLetter,
		MaxTaskIdle:            d.cfg.maxTaskIdle,
		Logger:                 d.cfg.logger,
		Stats:                  &d.stats,
		Cache:                  d.cache,
	}
}

// newCache returns a cache of n bytes, or nil (no caching) for 0.
func newCache(n int64) *statestore.RecordCache {
	if n <= 0 {
		return nil
	}
	return statestore.NewRecordCache(n)
}

// collector captures what tasks send: every record is kept as output of its
// topic, and records for topics the topology reads are fed back in.
type collector Driver

func (c *collector) Send(pr streams.ProducerRecord) error {
	d := (*Driver)(c)
	off := d.offsets[pr.Topic]
	d.offsets[pr.Topic] = off + 1
	d.outputs[pr.Topic] = append(d.outputs[pr.Topic], pr)
	if d.reads(pr.Topic) {
		d.pending = append(d.pending, streams.RawRecord{
			Topic: pr.Topic, Offset: off, Key: pr.Key, Value: pr.Value, Timestamp: pr.Timestamp, Headers: pr.Headers,
		})
	}
	return nil
}

func (c *collector) PartitionCount(string) (int32, error) { return c.cfg.partitionCnt, nil }

// reads reports whether the topology reads topic.
func (d *Driver) reads(topic string) bool {
	if d.globalTop[topic] {
		return true
	}
	_, ok := d.names.SourceNodeForTopic(topic)
	return ok
}

// route hands a record to the task (or global task) reading its topic.
func (d *Driver) route(raw streams.RawRecord) error {
	if d.globalTop[raw.Topic] {
		return d.global.Update(streams.TopicPartition{Topic: raw.Topic}, []streams.RawRecord{raw}, d.wall)
	}
	n, ok := d.names.SourceNodeForTopic(raw.Topic)
	if !ok {
		return fmt.Errorf("streamstest: topic %q is not an input of the topology", raw.Topic)
	}
	for _, id := range d.taskOrder {
		t := d.tasks[id]
		for _, s := range d.topo.Subtopologies() {
			if s.ID != id {
				continue
			}
			for _, src := range s.Sources {
				if src != n.Name {
					continue
				}
				tp := streams.TopicPartition{Topic: raw.Topic}
				if err := t.AddPartition(tp); err != nil {
					return err
				}
				return t.AddRecords(tp, []streams.RawRecord{raw})
			}
		}
	}
	return fmt.Errorf("streamstest: no task reads topic %q", raw.Topic)
}

// pipe puts a record on an input topic and runs everything it causes.
func (d *Driver) pipe(raw streams.RawRecord) error {
	if d.closed {
		return errors.New("streamstest: driver closed")
	}
	if d.err != nil {
		return d.err
	}
	if !d.reads(raw.Topic) {
		return fmt.Errorf("streamstest: topic %q is not an input of the topology", raw.Topic)
	}
	raw.Offset = d.offsets[raw.Topic]
	d.offsets[raw.Topic]++
	d.pending = append(d.pending, raw)
	if err := d.runAndCommit(); err != nil {
		d.err = err
		return err
	}
	return nil
}

// runAndCommit processes until nothing is left, then commits, repeating
// while the commit's cache flushes produce more input.
func (d *Driver) runAndCommit() error {
	for {
		if err := d.runAll(); err != nil {
			return err
		}
		for _, id := range d.taskOrder {
			if err := d.tasks[id].Flush(); err != nil {
				return err
			}
		}
		if len(d.pending) == 0 {
			break
		}
	}
	for _, id := range d.taskOrder {
		d.tasks[id].MarkCommitted()
	}
	if d.global != nil {
		return d.global.Checkpoint()
	}
	return nil
}

func (d *Driver) runAll() error {
	for {
		progressed := false
		for len(d.pending) > 0 {
			raw := d.pending[0]
			d.pending = d.pending[1:]
			if err := d.route(raw); err != nil {
				return err
			}
			progressed = true
		}
		for _, id := range d.taskOrder {
			t := d.tasks[id]
			for {
				ok, err := t.Process(d.wall)
				if err != nil {
					return err
				}
				if !ok {
					break
				}
				progressed = true
				if _, err := t.Punctuate(d.wall); err != nil {
					return err
				}
				if len(d.pending) > 0 {
					break // internal records first, as they would arrive
				}
			}
		}
		if !progressed {
			return nil
		}
	}
}

// AdvanceWallClockTime moves the wall clock forward and fires the
// wall-clock punctuations that are due.
func (d *Driver) AdvanceWallClockTime(by time.Duration) error {
	if d.closed {
		return errors.New("streamstest: driver closed")
	}
	if d.err != nil {
		return d.err
	}
	if by < 0 {
		return fmt.Errorf("streamstest: cannot move the wall clock back by %v", by)
	}
	d.wall += by.Milliseconds()
	for _, id := range d.taskOrder {
		if _, err := d.tasks[id].Punctuate(d.wall); err != nil {
			d.err = err
			return err
		}
	}
	if err := d.runAndCommit(); err != nil {
		d.err = err
		return err
	}
	return nil
}

// WallClockTime returns the driver's wall-clock time in ms.
func (d *Driver) WallClockTime() int64 { return d.wall }

// StateStore returns a store by name, from any task or the global stores.
// It makes the Driver a streams.StoreProvider, so streams.GetKeyValueStore
// works on it.
func (d *Driver) StateStore(name string) (streams.StateStore, error) {
	for _, id := range d.taskOrder {
		if s, ok := d.tasks[id].Store(name); ok {
			return s, nil
		}
	}
	if d.global != nil {
		if s, ok := d.global.Stores()[name]; ok {
			return s, nil
		}
	}
	return nil, fmt.Errorf("streamstest: no store named %q", name)
}

// KeyValueStore returns a typed view of a key-value store (a store of the
// Processor API, or the store of a DSL table or aggregation).
func KeyValueStore[K, V any](d *Driver, name string) (streams.KeyValueStore[K, V], error) {
	return streams.GetKeyValueStore[K, V](d, name)
}

// Stats returns the counters of the driver's tasks (dropped records,
// deserialization errors, ...).
func (d *Driver) Stats() *streams.TaskStats { return &d.stats }

// ProducedTopics returns the topics the topology has written to, sorted.
func (d *Driver) ProducedTopics() []string {
	out := make([]string, 0, len(d.outputs))
	for t := range d.outputs {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Close closes every task.
func (d *Driver) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for _, id := range d.taskOrder {
		if err := d.tasks[id].Close(d.err == nil); err != nil {
			errs = append(errs, err)
		}
	}
	if d.global != nil {
		if err := d.global.Close(d.err == nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
