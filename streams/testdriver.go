package streams

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/streams/internal/driverhook"
	"github.com/rivulet-io/rivulet/topology"
)

func init() { driverhook.New = newTestDriver }

// testDriver runs a topology's tasks with no broker, on the caller's
// goroutine, for streamstest.Driver: one task per sub-topology (every topic
// has one partition), in-memory stores, and a collector that keeps every
// record sent and feeds records of topics the topology reads back in.
type testDriver struct {
	topo      *Topology
	names     *topology.Bound // topo bound to the application id
	cfg       driverhook.Config
	tasks     map[int]*streamTask
	taskOrder []int
	global    *globalTask
	globalTop map[string]bool
	cache     *statestore.RecordCache
	stats     taskStats

	wall    int64
	outputs map[string][]ProducerRecord
	offsets map[string]int64
	pending []RawRecord
	err     error
	closed  bool
}

// newTestDriver is driverhook.New. On error it returns a nil any, not a
// nil *testDriver in one.
func newTestDriver(anyTopo any, cfg driverhook.Config) (any, error) {
	topo, ok := anyTopo.(*Topology)
	if !ok || topo == nil {
		return nil, errors.New("streamstest: nil topology")
	}
	d := &testDriver{
		topo:      topo,
		names:     topo.Graph().Bind(cfg.ApplicationID),
		cfg:       cfg,
		tasks:     make(map[int]*streamTask),
		globalTop: make(map[string]bool),
		wall:      cfg.StartTime,
		outputs:   make(map[string][]ProducerRecord),
		offsets:   make(map[string]int64),
	}
	if cfg.CacheMaxBytes > 0 {
		d.cache = statestore.NewRecordCache(cfg.CacheMaxBytes)
	}
	var globalParts []TopicPartition
	for _, s := range topo.Subtopologies() {
		if s.Global {
			for _, tp := range s.SourceTopics {
				d.globalTop[tp] = true
				globalParts = append(globalParts, TopicPartition{Topic: tp})
			}
		}
	}
	if len(globalParts) > 0 {
		gt, err := newGlobalTask(topo, globalParts, d.taskConfig(nil))
		if err != nil {
			return nil, fmt.Errorf("streamstest: %w", err)
		}
		if err := gt.Initialize(d.wall); err != nil {
			gt.Close(false)
			return nil, fmt.Errorf("streamstest: %w", err)
		}
		d.global = gt
	}
	var globals map[string]StateStore
	if d.global != nil {
		globals = d.global.Stores()
	}
	for _, s := range topo.Subtopologies() {
		if s.Global {
			continue
		}
		var parts []TopicPartition
		for _, tp := range s.SourceTopics {
			parts = append(parts, TopicPartition{Topic: d.names.TopicName(tp)})
		}
		t, err := newStreamTask(topo, topology.TaskID{Subtopology: s.ID}, parts, d.taskConfig(globals))
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

func (d *testDriver) taskConfig(globals map[string]StateStore) taskConfig {
	cfg := taskConfig{
		ApplicationID:   d.cfg.ApplicationID,
		Collector:       (*testCollector)(d),
		Stores:          inMemoryStores(),
		GlobalStores:    globals,
		DeadLetterTopic: d.cfg.DeadLetterTopic,
		MaxTaskIdle:     d.cfg.MaxTaskIdle,
		Logger:          d.cfg.Logger,
		Stats:           &d.stats,
		Cache:           d.cache,
	}
	cfg.TimestampExtractor, _ = d.cfg.TimestampExtractor.(TimestampExtractor)
	cfg.DeserializationHandler, _ = d.cfg.DeserializationHandler.(DeserializationHandler)
	cfg.ProductionHandler, _ = d.cfg.ProductionHandler.(ProductionHandler)
	return cfg
}

// testCollector captures what tasks send: every record is kept as output of
// its topic, and records for topics the topology reads are fed back in.
type testCollector testDriver

func (c *testCollector) Send(pr ProducerRecord) error {
	d := (*testDriver)(c)
	off := d.offsets[pr.Topic]
	d.offsets[pr.Topic] = off + 1
	d.outputs[pr.Topic] = append(d.outputs[pr.Topic], pr)
	if d.reads(pr.Topic) {
		d.pending = append(d.pending, RawRecord{
			Topic: pr.Topic, Offset: off, Key: pr.Key, Value: pr.Value, Timestamp: pr.Timestamp, Headers: pr.Headers,
		})
	}
	return nil
}

func (c *testCollector) PartitionCount(string) (int32, error) { return c.cfg.PartitionCount, nil }

// reads reports whether the topology reads topic.
func (d *testDriver) reads(topic string) bool {
	if d.globalTop[topic] {
		return true
	}
	_, ok := d.names.SourceNodeForTopic(topic)
	return ok
}

// route hands a record to the task (or global task) reading its topic.
func (d *testDriver) route(raw RawRecord) error {
	if d.globalTop[raw.Topic] {
		return d.global.Update(TopicPartition{Topic: raw.Topic}, []RawRecord{raw}, d.wall)
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
				tp := TopicPartition{Topic: raw.Topic}
				if err := t.AddPartition(tp); err != nil {
					return err
				}
				return t.AddRecords(tp, []RawRecord{raw})
			}
		}
	}
	return fmt.Errorf("streamstest: no task reads topic %q", raw.Topic)
}

// Pipe puts a record on an input topic and runs everything it causes.
func (d *testDriver) Pipe(raw RawRecord) error {
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
func (d *testDriver) runAndCommit() error {
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

func (d *testDriver) runAll() error {
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
func (d *testDriver) AdvanceWallClockTime(by time.Duration) error {
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
func (d *testDriver) WallClockTime() int64 { return d.wall }

// StateStore returns a store by name, from any task or the global stores.
func (d *testDriver) StateStore(name string) (StateStore, error) {
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

// Outputs returns the records each topic has received and not yet been
// read: the driver's own map, which the caller may shorten.
func (d *testDriver) Outputs() map[string][]ProducerRecord { return d.outputs }

// Counters returns what the tasks counted so far.
func (d *testDriver) Counters() driverhook.Counters {
	s := &d.stats
	return driverhook.Counters{
		Processed:               s.Processed.Load(),
		Punctuations:            s.Punctuations.Load(),
		DroppedRecords:          s.DroppedRecords.Load(),
		DeserializationErrors:   s.DeserializationErrors.Load(),
		SerializationErrors:     s.SerializationErrors.Load(),
		DeadLetterRecords:       s.DeadLetterRecords.Load(),
		EnforcedProcessingTotal: s.EnforcedProcessingTotal.Load(),
	}
}

// Close closes every task; it is a no-op the second time.
func (d *testDriver) Close() error {
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
