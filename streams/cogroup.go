package streams

import (
	"errors"
	"strconv"
)

// Node name prefixes of cogrouped aggregations, as Kafka Streams generates
// them.
const (
	prefixCogroupAgg   = "COGROUPKSTREAM-AGGREGATE-"
	prefixCogroupMerge = "COGROUPKSTREAM-MERGE-"
)

// CogroupedStream aggregates several grouped streams, each with its own
// value type and aggregator, into one aggregate per key kept in one store
// (Kafka Streams' CogroupedKStream, KIP-150). Windows close on the task's
// stream time, which records of every cogrouped stream advance (in Kafka
// Streams each stream's processor keeps its own). Start with Cogroup, add
// streams with CogroupWith, finish with Aggregate, WindowedBy or
// WindowedBySession. The grouped streams must be co-partitioned (they are
// after a repartition, which a grouping after a key change does).
type CogroupedStream[K, VA any] struct {
	b        *Builder
	keySerde Serde[K]
	inputs   []cogroupInput[K, VA]
}

// cogroupKind is what the final operation says about the aggregation: its
// initializer, and its windows (none, time or sliding, or sessions).
type cogroupKind[K, VA any] struct {
	init    func() VA
	windows *windowsSpec
	session *SessionWindows
	merger  func(K, VA, VA) VA
}

// cogroupInput wires one grouped stream's aggregation processor, writing to
// the shared store; it returns the processor's name.
type cogroupInput[K, VA any] func(store string, index int, kind cogroupKind[K, VA]) string

// Cogroup starts a cogrouped aggregation with g and its aggregator (Kafka
// Streams' KGroupedStream.cogroup).
func Cogroup[K, V, VA any](g *GroupedStream[K, V], agg func(key K, value V, aggregate VA) VA) *CogroupedStream[K, VA] {
	c := &CogroupedStream[K, VA]{b: g.s.b, keySerde: g.keySerde}
	return CogroupWith(c, g, agg)
}

// CogroupWith adds g, aggregated with agg into the same aggregate (Kafka
// Streams' CogroupedKStream.cogroup).
func CogroupWith[K, V, VA any](c *CogroupedStream[K, VA], g *GroupedStream[K, V], agg func(key K, value V, aggregate VA) VA) *CogroupedStream[K, VA] {
	if agg == nil {
		c.b.fail(errors.New("streams: cogroup: nil aggregator"))
		return c
	}
	if g.s.b != c.b {
		c.b.fail(errors.New("streams: cogroup: grouped streams from different builders"))
		return c
	}
	if c.keySerde == nil {
		c.keySerde = g.keySerde
	}
	b := c.b
	c.inputs = append(c.inputs, func(store string, index int, k cogroupKind[K, VA]) string {
		in := cogroupInputStream(g, store, index)
		name := b.newName(prefixCogroupAgg)
		switch {
		case k.session != nil:
			w := *k.session
			addGraceProcessor(b, name, w.closeDelay(), func() Processor[K, V, Windowed[K], change[VA]] {
				return &sessionAggProc[K, V, VA]{store: store, windows: w, init: k.init, agg: agg, merger: k.merger, sharedTime: true}
			}, in.node)
		case k.windows != nil && k.windows.sliding != nil:
			w := *k.windows.sliding
			addGraceProcessor(b, name, k.windows.closeDelay(), func() Processor[K, V, Windowed[K], change[VA]] {
				return &slidingWindowAggProc[K, V, VA]{store: store, windows: w, init: k.init, agg: agg, sharedTime: true}
			}, in.node)
		case k.windows != nil:
			w := *k.windows.time
			addGraceProcessor(b, name, k.windows.closeDelay(), func() Processor[K, V, Windowed[K], change[VA]] {
				return &timeWindowAggProc[K, V, VA]{store: store, windows: w, init: k.init, agg: agg, sharedTime: true}
			}, in.node)
		default:
			AddProcessor(b, name, func() Processor[K, V, K, change[VA]] {
				return &streamAggProc[K, V, VA]{store: store, init: k.init, agg: agg}
			}, in.node)
		}
		return name
	})
	return c
}

// cogroupInputStream is what one cogrouped stream's aggregation reads: the
// stream, or the stream read back through a repartition topic named after
// its grouping or, unnamed, after the store and the stream's position.
func cogroupInputStream[K, V any](g *GroupedStream[K, V], store string, index int) *Stream[K, V] {
	if !g.s.repartition {
		return g.s
	}
	prefix, userNamed := g.name, g.name != ""
	if !userNamed {
		prefix = store + "-" + strconv.Itoa(index)
	}
	return repartitionThrough(g.s, prefix, userNamed, serdeOr(g.keySerde), serdeOr(g.valueSerde), 0, nil)
}

// wire adds every input's processor and returns their names.
func (c *CogroupedStream[K, VA]) wire(store string, kind cogroupKind[K, VA]) []string {
	names := make([]string, len(c.inputs))
	for i, in := range c.inputs {
		names[i] = in(store, i, kind)
	}
	return names
}

func (c *CogroupedStream[K, VA]) check(init func() VA) bool {
	if init == nil {
		c.b.fail(errors.New("streams: cogroup aggregate: nil initializer"))
		return false
	}
	if len(c.inputs) == 0 {
		c.b.fail(errors.New("streams: cogroup aggregate: no grouped streams"))
		return false
	}
	return true
}

// Aggregate folds the records of every cogrouped stream into one aggregate
// per key: init starts a key, each stream's aggregator adds its records.
// Records with a null key or value are skipped, as in every aggregation.
func (c *CogroupedStream[K, VA]) Aggregate(init func() VA, materialized ...Materialized[K, VA]) *Table[K, VA] {
	b := c.b
	m := firstOr(materialized)
	aggregateDefaults(b, prefixCogroupAgg, &m, c.keySerde)
	if !c.check(init) {
		return &Table[K, VA]{b: b}
	}
	procs := c.wire(m.name, cogroupKind[K, VA]{init: init})
	f := newTSFactory[K, VA](m)
	addStoreFactory(b, f, procs...)
	merge := b.newName(prefixCogroupMerge)
	AddProcessor(b, merge, passSupplier[K, change[VA]], procs...)
	return tableOverStore(b, merge, f)
}

// TimeWindowedCogroupedStream is a cogrouped stream cut into time or
// sliding windows (Kafka Streams' TimeWindowedCogroupedKStream).
type TimeWindowedCogroupedStream[K, VA any] struct {
	c    *CogroupedStream[K, VA]
	spec windowsSpec
	emit EmitStrategy
}

// WindowedBy cuts the cogrouped streams into time or sliding windows.
func (c *CogroupedStream[K, VA]) WindowedBy(w Windows) *TimeWindowedCogroupedStream[K, VA] {
	if w == nil {
		c.b.fail(errors.New("streams: cogroup windowed by: nil windows"))
		return &TimeWindowedCogroupedStream[K, VA]{c: c, spec: windowsSpec{err: errors.New("nil windows")}}
	}
	spec := w.windowsSpec()
	if spec.err != nil {
		c.b.fail(spec.err)
	}
	return &TimeWindowedCogroupedStream[K, VA]{c: c, spec: spec}
}

// EmitStrategy returns w with the given emit strategy.
func (w *TimeWindowedCogroupedStream[K, VA]) EmitStrategy(e EmitStrategy) *TimeWindowedCogroupedStream[K, VA] {
	c := *w
	c.emit = e
	return &c
}

// Aggregate folds the records of every cogrouped stream into one aggregate
// per key and window.
func (w *TimeWindowedCogroupedStream[K, VA]) Aggregate(init func() VA, materialized ...Materialized[K, VA]) *Table[Windowed[K], VA] {
	c, b := w.c, w.c.b
	m := firstOr(materialized)
	aggregateDefaults(b, prefixCogroupAgg, &m, c.keySerde)
	if !c.check(init) || w.spec.err != nil {
		return &Table[Windowed[K], VA]{b: b}
	}
	f := timeWindowAggStore(b, &m, w.spec)
	spec := w.spec
	procs := c.wire(m.name, cogroupKind[K, VA]{init: init, windows: &spec})
	addStoreFactory(b, f, procs...)
	merge := b.newName(prefixCogroupMerge)
	AddProcessor(b, merge, passSupplier[Windowed[K], change[VA]], procs...)
	return timeWindowedTable(b, merge, m, w.spec, w.emit)
}

// SessionWindowedCogroupedStream is a cogrouped stream cut into sessions
// (Kafka Streams' SessionWindowedCogroupedKStream).
type SessionWindowedCogroupedStream[K, VA any] struct {
	c       *CogroupedStream[K, VA]
	windows SessionWindows
	emit    EmitStrategy
}

// WindowedBySession cuts the cogrouped streams into sessions.
func (c *CogroupedStream[K, VA]) WindowedBySession(w SessionWindows) *SessionWindowedCogroupedStream[K, VA] {
	if w.err != nil {
		c.b.fail(w.err)
	}
	return &SessionWindowedCogroupedStream[K, VA]{c: c, windows: w}
}

// EmitStrategy returns s with the given emit strategy.
func (s *SessionWindowedCogroupedStream[K, VA]) EmitStrategy(e EmitStrategy) *SessionWindowedCogroupedStream[K, VA] {
	c := *s
	c.emit = e
	return &c
}

// Aggregate folds the records of every cogrouped stream into one aggregate
// per key and session; merger combines the aggregates of two sessions a
// record bridges.
func (s *SessionWindowedCogroupedStream[K, VA]) Aggregate(init func() VA, merger func(key K, agg1, agg2 VA) VA, materialized ...Materialized[K, VA]) *Table[Windowed[K], VA] {
	c, b := s.c, s.c.b
	m := firstOr(materialized)
	aggregateDefaults(b, prefixCogroupAgg, &m, c.keySerde)
	if merger == nil {
		b.fail(errors.New("streams: cogroup session aggregate: nil merger"))
		return &Table[Windowed[K], VA]{b: b}
	}
	if !c.check(init) || s.windows.err != nil {
		return &Table[Windowed[K], VA]{b: b}
	}
	f := sessionAggStore(b, m, s.windows)
	w := s.windows
	procs := c.wire(m.name, cogroupKind[K, VA]{init: init, session: &w, merger: merger})
	addStoreFactory(b, f, procs...)
	merge := b.newName(prefixCogroupMerge)
	AddProcessor(b, merge, passSupplier[Windowed[K], change[VA]], procs...)
	return sessionTable(b, merge, f, s.emit)
}
