package streams

import (
	"errors"
	"fmt"
	"time"

	"github.com/rivulet-io/rivulet/topology"
)

// Windows is what GroupedStream.WindowedBy takes: TimeWindows (tumbling or
// hopping) or SlidingWindows.
type Windows interface {
	windowsSpec() windowsSpec
}

// windowsSpec is what the DSL needs of time or sliding windows.
type windowsSpec struct {
	time    *TimeWindows
	sliding *SlidingWindows
	// size is the window size (the time difference for sliding windows),
	// grace the grace period and minRetention the smallest store retention,
	// all in ms.
	size, grace, minRetention int64
	err                       error
}

// closeDelay is how long after a window's end stream time must be for the window to be
// closed: the grace period for time windows (their end is exclusive), one more for sliding
// windows (their end is inclusive).
func (s windowsSpec) closeDelay() int64 {
	if s.sliding != nil {
		return s.grace + 1
	}
	return s.grace
}

func (w TimeWindows) windowsSpec() windowsSpec {
	return windowsSpec{time: &w, size: w.size, grace: w.grace, minRetention: w.size + w.grace, err: w.err}
}

// As Kafka Streams: a sliding window store keeps twice the time difference
// plus grace, since a record may update windows that start up to 2*d
// before it.
func (w SlidingWindows) windowsSpec() windowsSpec {
	return windowsSpec{sliding: &w, size: w.diff, grace: w.grace, minRetention: 2*w.diff + w.grace, err: w.err}
}

// TimeWindowedStream is a grouped stream cut into time or sliding windows,
// ready to aggregate per key and window (Kafka Streams'
// TimeWindowedKStream). The results are tables keyed by Windowed[K].
type TimeWindowedStream[K, V any] struct {
	g    *GroupedStream[K, V]
	spec windowsSpec
	emit EmitStrategy
}

// SessionWindowedStream is a grouped stream cut into sessions, ready to
// aggregate per key and session (Kafka Streams' SessionWindowedKStream).
type SessionWindowedStream[K, V any] struct {
	g       *GroupedStream[K, V]
	windows SessionWindows
	emit    EmitStrategy
}

// WindowedBy cuts the grouped stream g into time windows (TimeWindows) or
// sliding windows (SlidingWindows): Kafka Streams' KGroupedStream.windowedBy.
// It is a function, not a method of GroupedStream, because a method would
// make Go instantiate GroupedStream[Windowed[Windowed[...]]] without end
// (the results are keyed by Windowed[K]).
func WindowedBy[K, V any](g *GroupedStream[K, V], w Windows) *TimeWindowedStream[K, V] {
	if w == nil {
		g.s.b.fail(errors.New("streams: windowed by: nil windows"))
		return &TimeWindowedStream[K, V]{g: g, spec: windowsSpec{err: errors.New("nil windows")}}
	}
	spec := w.windowsSpec()
	if spec.err != nil {
		g.s.b.fail(spec.err)
	}
	return &TimeWindowedStream[K, V]{g: g, spec: spec}
}

// WindowedBySession cuts the grouped stream g into sessions (Kafka Streams'
// KGroupedStream.windowedBy(SessionWindows)).
func WindowedBySession[K, V any](g *GroupedStream[K, V], w SessionWindows) *SessionWindowedStream[K, V] {
	if w.err != nil {
		g.s.b.fail(w.err)
	}
	return &SessionWindowedStream[K, V]{g: g, windows: w}
}

// graceFactory is the topology payload of a windowed aggregation node: the
// node factory plus how long after a window's end stream time must be for
// the window to be closed (its grace period, plus the gap and 1 for
// sessions, plus 1 for sliding windows, whose end is inclusive), which a
// following Suppress(UntilWindowCloses) looks up, as Kafka Streams'
// GraphGraceSearchUtil does: a window is emitted when its end is at or
// before stream time minus that.
type graceFactory struct {
	nodeFactory
	grace int64
}

func (f graceFactory) windowGrace() int64 { return f.grace }

// addGraceProcessor adds a processor node that carries a grace period.
func addGraceProcessor[KIn, VIn, KOut, VOut any](b *Builder, name string, grace int64, supplier ProcessorSupplier[KIn, VIn, KOut, VOut], parent string) {
	f := graceFactory{nodeFactory: &processorFactory[KIn, VIn, KOut, VOut]{supplier: supplier}, grace: grace}
	b.fail(b.t.AddProcessor(name, f, parent))
}

// retentionFor checks a Materialized retention against the smallest one
// the windows need and returns the retention to use, in ms.
func retentionFor(store string, given time.Duration, min int64, what string) (int64, error) {
	if given == 0 {
		return min, nil
	}
	r := given.Milliseconds()
	if r < min {
		return 0, fmt.Errorf("streams: windowed store %q: retention %v must be at least %s (%dms)", store, given, what, min)
	}
	return r, nil
}

// windowedAggregate wires a time or sliding windowed aggregation of w.
func windowedAggregate[K, V, VA any](w *TimeWindowedStream[K, V], prefix string, m Materialized[K, VA], mk func(store string) Processor[K, V, Windowed[K], change[VA]]) *Table[Windowed[K], VA] {
	g := w.g
	b := g.s.b
	aggregateDefaults(b, prefix, &m, g.keySerde)
	procName := b.newName(prefix)
	f := timeWindowAggStore(b, &m, w.spec)
	in := g.aggregateInput(m.name)
	addGraceProcessor(b, procName, w.spec.closeDelay(), func() Processor[K, V, Windowed[K], change[VA]] { return mk(m.name) }, in.node)
	addStoreFactory(b, f, procName)
	return timeWindowedTable(b, procName, m, w.spec, w.emit)
}

// aggregateDefaults names m's store after prefix when it has no name and
// gives it the grouping's key serde when it has none.
func aggregateDefaults[K, VA any](b *Builder, prefix string, m *Materialized[K, VA], keySerde Serde[K]) {
	if m.name == "" {
		m.name = b.newName(prefix + "STATE-STORE-")
	}
	if m.keySerde == nil {
		m.keySerde = keySerde
	}
}

// timeWindowAggStore returns the store of a time or sliding windowed
// aggregation of spec, materialized as m (whose serdes it sets to the
// ones the store uses). A retention shorter than the windows need, or
// versioning, fails b.
func timeWindowAggStore[K, VA any](b *Builder, m *Materialized[K, VA], spec windowsSpec) *windowFactory[K, ValueAndTimestamp[VA]] {
	what := "the window size plus the grace period"
	if spec.sliding != nil {
		what = "twice the time difference plus the grace period"
	}
	retention, err := retentionFor(m.name, m.retention, spec.minRetention, what)
	if err != nil {
		b.fail(err)
		retention = spec.minRetention
	}
	refuseVersioning(b, m.name, m.history)
	m.keySerde, m.valueSerde = serdeOr(m.keySerde), serdeOr(m.valueSerde)
	return &windowFactory[K, ValueAndTimestamp[VA]]{windowedFactory: windowedFactory[K, ValueAndTimestamp[VA]]{
		name: m.name, keySerde: m.keySerde, valueSerde: timestampedSerde[VA]{inner: m.valueSerde},
		logging: !m.noLog, logConfig: m.logConfig, storeType: m.storeType, retention: retention,
	}, size: spec.size, cached: !m.noCache}
}

// timeWindowedTable returns the table that node emits, its windows kept in
// the store of m (after timeWindowAggStore).
func timeWindowedTable[K, VA any](b *Builder, node string, m Materialized[K, VA], spec windowsSpec, emit EmitStrategy) *Table[Windowed[K], VA] {
	wks := TimeWindowedSerde(m.keySerde, time.Duration(spec.size)*time.Millisecond)
	return withEmit(&Table[Windowed[K], VA]{b: b, node: node, keySerde: wks, valueSerde: m.valueSerde, store: m.name, getter: windowGetter[K, VA]{store: m.name}}, emit)
}

// addStoreFactory registers a store made by one of this file's factories.
func addStoreFactory(b *Builder, f storeFactory, processors ...string) {
	spec := f.spec()
	if err := b.t.AddStore(spec, processors...); err != nil {
		b.fail(err)
		return
	}
	b.stores[spec.Name] = f
}

// windowAggProc returns the processor for w's windows.
func windowAggProc[K, V, VA any](w *TimeWindowedStream[K, V], store string, init func() VA, agg func(K, V, VA) VA, reduce func(VA, V) VA) Processor[K, V, Windowed[K], change[VA]] {
	if w.spec.sliding != nil {
		return &slidingWindowAggProc[K, V, VA]{store: store, windows: *w.spec.sliding, init: init, agg: agg, reduce: reduce}
	}
	return &timeWindowAggProc[K, V, VA]{store: store, windows: *w.spec.time, init: init, agg: agg, reduce: reduce}
}

// Count counts the records per key and window (records with a null key or
// value are skipped).
func (w *TimeWindowedStream[K, V]) Count(materialized ...Materialized[K, int64]) *Table[Windowed[K], int64] {
	m := firstOr(materialized)
	if m.valueSerde == nil {
		m.valueSerde = Int64Serde()
	}
	return windowedAggregate(w, prefixAggregate, m, func(store string) Processor[K, V, Windowed[K], change[int64]] {
		return windowAggProc(w, store, func() int64 { return 0 }, func(_ K, _ V, n int64) int64 { return n + 1 }, nil)
	})
}

// Reduce combines the values of each key and window with fn (the first
// value of a window is its initial aggregate).
func (w *TimeWindowedStream[K, V]) Reduce(fn func(agg, value V) V, materialized ...Materialized[K, V]) *Table[Windowed[K], V] {
	m := reduceStore(w.g, "windowed reduce", fn, materialized)
	return windowedAggregate(w, prefixReduce, m, func(store string) Processor[K, V, Windowed[K], change[V]] {
		return windowAggProc[K, V, V](w, store, nil, nil, fn)
	})
}

// AggregateWindowed folds the values of each key and window into an
// aggregate: init starts a window, agg adds a value.
func AggregateWindowed[K, V, VA any](w *TimeWindowedStream[K, V], init func() VA, agg func(key K, value V, aggregate VA) VA, materialized ...Materialized[K, VA]) *Table[Windowed[K], VA] {
	if init == nil || agg == nil {
		w.g.s.b.fail(errors.New("streams: windowed aggregate: nil initializer or aggregator"))
	}
	return windowedAggregate(w, prefixAggregate, firstOr(materialized), func(store string) Processor[K, V, Windowed[K], change[VA]] {
		return windowAggProc(w, store, init, agg, nil)
	})
}

// ---- sessions ----

// sessionAggregate wires a session aggregation.
func sessionAggregate[K, V, VA any](s *SessionWindowedStream[K, V], prefix string, m Materialized[K, VA], mk func(store string) Processor[K, V, Windowed[K], change[VA]]) *Table[Windowed[K], VA] {
	g := s.g
	b := g.s.b
	aggregateDefaults(b, prefix, &m, g.keySerde)
	procName := b.newName(prefix)
	f := sessionAggStore(b, m, s.windows)
	in := g.aggregateInput(m.name)
	addGraceProcessor(b, procName, s.windows.closeDelay(), func() Processor[K, V, Windowed[K], change[VA]] { return mk(m.name) }, in.node)
	addStoreFactory(b, f, procName)
	return sessionTable(b, procName, f, s.emit)
}

// sessionAggStore returns the store of a session aggregation of windows,
// materialized as m. A retention shorter than the sessions need, or
// versioning, fails b.
func sessionAggStore[K, VA any](b *Builder, m Materialized[K, VA], windows SessionWindows) *sessionFactory[K, VA] {
	min := windows.gap + windows.grace
	retention, err := retentionFor(m.name, m.retention, min, "the inactivity gap plus the grace period")
	if err != nil {
		b.fail(err)
		retention = min
	}
	refuseVersioning(b, m.name, m.history)
	// One more millisecond than asked: a session ending exactly at the close time (stream
	// time minus gap minus grace) may still be extended, so the store keeps it readable
	// (a store drops what ends before stream time minus its retention plus 1).
	return &sessionFactory[K, VA]{windowedFactory: windowedFactory[K, VA]{
		name: m.name, keySerde: serdeOr(m.keySerde), valueSerde: serdeOr(m.valueSerde),
		logging: !m.noLog, logConfig: m.logConfig, storeType: m.storeType, retention: retention + 1,
	}, cached: !m.noCache}
}

// sessionTable returns the table that node emits, its sessions kept in f.
func sessionTable[K, VA any](b *Builder, node string, f *sessionFactory[K, VA], emit EmitStrategy) *Table[Windowed[K], VA] {
	return withEmit(&Table[Windowed[K], VA]{b: b, node: node, keySerde: SessionWindowedSerde(f.keySerde), valueSerde: f.valueSerde, store: f.name, getter: sessionGetter[K, VA]{store: f.name}}, emit)
}

// Count counts the records per key and session.
func (s *SessionWindowedStream[K, V]) Count(materialized ...Materialized[K, int64]) *Table[Windowed[K], int64] {
	m := firstOr(materialized)
	if m.valueSerde == nil {
		m.valueSerde = Int64Serde()
	}
	w := s.windows
	return sessionAggregate(s, prefixAggregate, m, func(store string) Processor[K, V, Windowed[K], change[int64]] {
		return &sessionAggProc[K, V, int64]{store: store, windows: w,
			init:   func() int64 { return 0 },
			agg:    func(_ K, _ V, n int64) int64 { return n + 1 },
			merger: func(_ K, a, b int64) int64 { return a + b }}
	})
}

// Reduce combines the values of each key and session with fn; merging two
// sessions combines their aggregates with fn too.
func (s *SessionWindowedStream[K, V]) Reduce(fn func(agg, value V) V, materialized ...Materialized[K, V]) *Table[Windowed[K], V] {
	m := reduceStore(s.g, "session reduce", fn, materialized)
	w := s.windows
	return sessionAggregate(s, prefixReduce, m, func(store string) Processor[K, V, Windowed[K], change[V]] {
		return &sessionAggProc[K, V, V]{store: store, windows: w, reduce: fn,
			merger: func(_ K, a, b V) V { return fn(a, b) }}
	})
}

// AggregateSession folds the values of each key and session into an
// aggregate: init starts a session, agg adds a value, and merger combines
// the aggregates of two sessions a record bridges.
func AggregateSession[K, V, VA any](s *SessionWindowedStream[K, V], init func() VA, agg func(key K, value V, aggregate VA) VA, merger func(key K, agg1, agg2 VA) VA, materialized ...Materialized[K, VA]) *Table[Windowed[K], VA] {
	if init == nil || agg == nil || merger == nil {
		s.g.s.b.fail(errors.New("streams: session aggregate: nil initializer, aggregator or merger"))
	}
	w := s.windows
	return sessionAggregate(s, prefixAggregate, firstOr(materialized), func(store string) Processor[K, V, Windowed[K], change[VA]] {
		return &sessionAggProc[K, V, VA]{store: store, windows: w, init: init, agg: agg, merger: merger}
	})
}

// ---- getters of windowed tables (for joins and lookups) ----

type windowGetter[K, V any] struct{ store string }

func (g windowGetter[K, V]) storeNames() []string { return []string{g.store} }
func (g windowGetter[K, V]) newGetter(p StoreProvider) (func(Windowed[K]) (ValueAndTimestamp[V], bool, error), error) {
	ws, err := storeAs[*windowStore[K, ValueAndTimestamp[V]]](p, g.store, "a windowed aggregation store of these types")
	if err != nil {
		return nil, err
	}
	return func(k Windowed[K]) (ValueAndTimestamp[V], bool, error) {
		return ws.FetchOne(k.Key, k.Window.Start)
	}, nil
}

type sessionGetter[K, V any] struct{ store string }

func (g sessionGetter[K, V]) storeNames() []string { return []string{g.store} }
func (g sessionGetter[K, V]) newGetter(p StoreProvider) (func(Windowed[K]) (ValueAndTimestamp[V], bool, error), error) {
	ss, err := storeAs[*sessionStore[K, V]](p, g.store, "a session store of these types")
	if err != nil {
		return nil, err
	}
	return func(k Windowed[K]) (ValueAndTimestamp[V], bool, error) {
		v, ok, err := ss.FetchSession(k.Key, k.Window.Start, k.Window.End)
		return ValueAndTimestamp[V]{Value: v, Timestamp: k.Window.End}, ok, err
	}, nil
}

// windowGraceOf finds the grace period of the windowed aggregation a table
// node descends from, walking up through table operators, as Kafka
// Streams' GraphGraceSearchUtil: false when there is none (or the node has
// several windowed ancestors with different grace periods).
func windowGraceOf(t *topology.Topology, node string) (int64, bool) {
	seen := map[string]bool{}
	var walk func(string) (int64, bool, bool)
	// walk returns (grace, found, conflict).
	walk = func(name string) (int64, bool, bool) {
		if seen[name] {
			return 0, false, false
		}
		seen[name] = true
		n := t.Node(name)
		if n == nil {
			return 0, false, false
		}
		if f, ok := n.Supplier.(interface{ windowGrace() int64 }); ok {
			return f.windowGrace(), true, false
		}
		if n.Kind == topology.SourceNode {
			return 0, false, false
		}
		var grace int64
		found := false
		for _, p := range n.Parents {
			g, ok, conflict := walk(p)
			if conflict {
				return 0, false, true
			}
			if !ok {
				continue
			}
			if found && g != grace {
				return 0, false, true
			}
			grace, found = g, true
		}
		return grace, found, false
	}
	g, ok, conflict := walk(node)
	return g, ok && !conflict
}

// reduceStore checks the reducer of a windowed reduce (op) and returns the
// options of its store, whose values default to the grouped stream's
// serde.
func reduceStore[K, V any](g *GroupedStream[K, V], op string, fn func(agg, value V) V, materialized []Materialized[K, V]) Materialized[K, V] {
	if fn == nil {
		g.s.b.fail(fmt.Errorf("streams: %s: nil reducer", op))
	}
	m := firstOr(materialized)
	if m.valueSerde == nil {
		m.valueSerde = g.valueSerde
	}
	return m
}
