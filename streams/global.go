package streams

import (
	"errors"
	"fmt"
	"sort"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/topology"
)

// GlobalTable is a table every instance holds in full (Kafka Streams'
// GlobalKTable): it reads every partition of its topic, so lookups need no
// co-partitioning. It is kept by the runtime's global thread, which catches
// up with the topic before stream threads start.
type GlobalTable[K, V any] struct {
	b          *Builder
	store      string
	keySerde   Serde[K]
	valueSerde Serde[V]
}

// StoreName returns the name of the global table's store.
func (g *GlobalTable[K, V]) StoreName() string { return g.store }

// NewGlobalTable returns the global table of topic's latest value per key.
// Its store is not logged: the topic itself is its changelog.
func NewGlobalTable[K, V any](b *Builder, topic string, consumed Consumed[K, V], materialized ...Materialized[K, V]) *GlobalTable[K, V] {
	c, m := shareSerdes(consumed, firstOr(materialized))
	if m.name == "" {
		m.name = b.newName(topic + storeSuffix)
	}
	srcName := b.nameOr(c.name, prefixSource)
	procName := b.newName(prefixTableSource)
	m.noLog = true
	m.noCache = true
	f := newTSFactory[K, V](m)
	f.global = true
	src := &sourceFactory[K, V]{keySerde: c.keySerde, valueSerde: c.valueSerde, extractor: c.extractor, reset: OffsetResetEarliest}
	proc := &processorFactory[K, V, K, change[V]]{supplier: func() Processor[K, V, K, change[V]] {
		return &tableSourceProc[K, V]{storedOutput[K, V]{store: m.name}}
	}}
	spec := f.spec()
	if err := b.t.AddGlobalStore(spec, srcName, src, topic, procName, proc); err != nil {
		b.fail(err)
	} else {
		b.stores[spec.Name] = f
	}
	return &GlobalTable[K, V]{b: b, store: m.name, keySerde: f.keySerde, valueSerde: f.valueSerde}
}

// globalTaskID is the task id under which global stores live: sub-topology
// -1, partition -1; its directory is "global".
var globalTaskID = TaskID{Subtopology: -1, Partition: -1}

// globalTask keeps the instance's global stores up to date from their
// topics. Like streamTask it is deterministic and has no goroutines; unlike a
// streamTask it reads every partition of its topics and processes records as they
// come. The runtime bootstraps it to the topics' end offsets before stream
// threads start.
type globalTask struct {
	t      *streamTask
	topics []string
	stores []string
	// offsets is the next offset per partition, for checkpoints.
	offsets map[TopicPartition]int64
}

// newGlobalTask builds the global sub-topologies of topo, reading the given
// partitions of the global topics. It returns nil when the topology has no
// global stores.
func newGlobalTask(topo *Topology, partitions []TopicPartition, cfg taskConfig) (*globalTask, error) {
	var subs []topology.Subtopology
	for _, s := range topo.subs {
		if s.Global {
			subs = append(subs, s)
		}
	}
	if len(subs) == 0 {
		return nil, nil
	}
	merged := topology.Subtopology{ID: -1, Global: true}
	for _, s := range subs {
		merged.Nodes = append(merged.Nodes, s.Nodes...)
		merged.Sources = append(merged.Sources, s.Sources...)
		merged.SourceTopics = append(merged.SourceTopics, s.SourceTopics...)
		merged.Stores = append(merged.Stores, s.Stores...)
	}
	sort.Strings(merged.SourceTopics)
	cfg.Cache = nil
	// Global records are applied with the timestamp they were written with
	// and never dropped for it.
	cfg.ownTimestamps = true
	t, err := newTaskFor(topo, globalTaskID, merged, partitions, cfg)
	if err != nil {
		return nil, err
	}
	g := &globalTask{t: t, topics: merged.SourceTopics, stores: merged.Stores, offsets: make(map[TopicPartition]int64)}
	return g, nil
}

// Topics returns the global topics.
func (g *globalTask) Topics() []string { return g.topics }

// Stores returns the global stores by name, for taskConfig.GlobalStores.
func (g *globalTask) Stores() map[string]StateStore {
	out := make(map[string]StateStore, len(g.stores))
	for _, n := range g.stores {
		out[n] = g.t.stores[n]
	}
	return out
}

// Checkpoints returns, per global topic partition, the offset to start
// from: what the stores' checkpoints say, or 0.
func (g *globalTask) Checkpoints() map[TopicPartition]int64 {
	out := make(map[TopicPartition]int64)
	for _, q := range g.t.queues {
		out[q.tp] = 0
	}
	for _, n := range g.stores {
		if s, ok := g.t.stores[n].(interface{ globalCheckpoint() statestore.Checkpoint }); ok {
			for tp, off := range s.globalCheckpoint() {
				k := TopicPartition{Topic: tp.Topic, Partition: tp.Partition}
				if _, ok := out[k]; ok && off > out[k] {
					out[k] = off
				}
			}
		}
	}
	for tp, off := range out {
		g.offsets[tp] = off
	}
	return out
}

// reset wipes the global stores and forgets every position, so the stores
// are rebuilt from the start of their topics: what the global thread does
// when a global topic no longer holds the records the stores reflect.
// Every partition's next offset is then 0 (its log start).
func (g *globalTask) reset() error {
	for _, q := range g.t.queues {
		q.head.clear()
		clear(q.buf)
		q.buf, q.start = q.buf[:0], 0
		q.headLoaded = false
		q.partitionTime = -1
		q.consumed = -1
		g.offsets[q.tp] = 0
	}
	for _, n := range g.stores {
		s, ok := g.t.stores[n].(interface{ wipeGlobal() error })
		if !ok {
			return fmt.Errorf("streams: global store %q cannot be wiped", n)
		}
		if err := s.wipeGlobal(); err != nil {
			return fmt.Errorf("streams: wipe global store %q: %w", n, err)
		}
	}
	return nil
}

// Initialize initializes the global processors.
func (g *globalTask) Initialize(wallClock int64) error { return g.t.Initialize(wallClock) }

// Update applies records read from a global topic partition, in order.
func (g *globalTask) Update(tp TopicPartition, recs []RawRecord, wallClock int64) error {
	if err := g.t.AddRecords(tp, recs); err != nil {
		return err
	}
	for {
		ok, err := g.t.Process(wallClock)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
	}
	for tp, off := range g.t.CommitOffsets() {
		// Never back: advance may have moved past markers after the
		// last record applied.
		if off > g.offsets[tp] {
			g.offsets[tp] = off
		}
	}
	return nil
}

// advance moves tp's next offset to next, the offset after the last record
// read from it, once every record read was applied: records that are
// never applied (transaction markers) then count as read too.
func (g *globalTask) advance(tp TopicPartition, next int64) {
	if g.t.Buffered(tp) == 0 && next > g.offsets[tp] {
		g.offsets[tp] = next
	}
}

// Offsets returns the next offset per partition after what was applied.
func (g *globalTask) Offsets() map[TopicPartition]int64 {
	out := make(map[TopicPartition]int64, len(g.offsets))
	for tp, off := range g.offsets {
		out[tp] = off
	}
	return out
}

// Checkpoint flushes the global stores and writes their checkpoints.
func (g *globalTask) Checkpoint() error {
	if err := g.t.Flush(); err != nil {
		return err
	}
	cp := statestore.Checkpoint{}
	for tp, off := range g.offsets {
		cp[statestore.TopicPartition{Topic: tp.Topic, Partition: tp.Partition}] = off
	}
	var errs []error
	for _, n := range g.stores {
		s := g.t.stores[n]
		if !s.Persistent() {
			continue
		}
		if err := g.t.cfg.Stores.WriteCheckpoint(globalTaskID, n, cp); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("streams: global task: checkpoint: %w", errors.Join(errs...))
	}
	return nil
}

// Close closes the global processors and stores.
func (g *globalTask) Close(clean bool) error { return g.t.Close(clean) }
