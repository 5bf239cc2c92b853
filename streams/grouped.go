package streams

import (
	"bytes"
	"errors"

	"github.com/rivulet-io/rivulet/statestore"
)

// GroupedStream is a stream grouped by key, ready to aggregate (Kafka
// Streams' KGroupedStream). If the key may have changed upstream, the
// aggregation reads the records back from a repartition topic first.
type GroupedStream[K, V any] struct {
	s          *Stream[K, V]
	keySerde   Serde[K]
	valueSerde Serde[V]
	name       string
}

// GroupByKey groups s by its current key.
func (s *Stream[K, V]) GroupByKey(grouped ...Grouped[K, V]) *GroupedStream[K, V] {
	g := firstOr(grouped)
	ks, vs := g.keySerde, g.valueSerde
	if ks == nil {
		ks = s.keySerde
	}
	if vs == nil {
		vs = s.valueSerde
	}
	return &GroupedStream[K, V]{s: s, keySerde: ks, valueSerde: vs, name: g.name}
}

// GroupBy groups s by a new key computed from each record; the aggregation
// that follows repartitions by it.
func GroupBy[K, V, KR any](s *Stream[K, V], fn func(key K, value V) KR, grouped ...Grouped[KR, V]) *GroupedStream[KR, V] {
	g := firstOr(grouped)
	sel := derive(s, prefixKeySelect, nil, func() Processor[K, V, KR, V] { return &selectKeyProc[K, V, KR]{fn: fn} }, g.keySerde, s.valueSerde, true)
	if g.valueSerde == nil {
		g.valueSerde = s.valueSerde
	}
	return &GroupedStream[KR, V]{s: sel, keySerde: g.keySerde, valueSerde: g.valueSerde, name: g.name}
}

// aggregateInput returns the stream an aggregation reads: s itself, or s
// read back through a repartition topic named after the grouping or the
// store, as Kafka Streams names it.
func (g *GroupedStream[K, V]) aggregateInput(storeName string) *Stream[K, V] {
	if !g.s.repartition {
		return g.s
	}
	prefix, userNamed := g.name, g.name != ""
	if !userNamed {
		prefix = storeName
	}
	return repartitionThrough(g.s, prefix, userNamed, serdeOr(g.keySerde), serdeOr(g.valueSerde), 0, nil)
}

// streamAggProc aggregates a stream into a table store and emits changes.
type streamAggProc[K, V, VA any] struct {
	tableOutput[K, VA]
	store string
	init  func() VA
	agg   func(K, V, VA) VA
	// reduce: the first value of a key becomes the aggregate as is.
	reduce func(VA, V) VA
}

func (p *streamAggProc[K, V, VA]) Init(ctx ProcessorContext[K, change[VA]]) error {
	return p.open(ctx, p.store)
}

func (p *streamAggProc[K, V, VA]) Close() error { return nil }

func (p *streamAggProc[K, V, VA]) Process(r Record[K, V]) error {
	// As Kafka Streams: records with a null key or value are skipped.
	if r.KeyIsNull() || r.ValueIsNull() {
		p.s.dropped()
		return nil
	}
	kb, old, hadOld, ref, err := p.lookupAgg(r.Key)
	if err != nil {
		return err
	}
	nv := fold(r.Key, r.Value, old.Value, hadOld, p.init, p.agg, p.reduce)
	return p.putAggregate(r.Key, kb, ref, nv, old, hadOld, r.Timestamp, r.Headers)
}

// lookupAgg serializes key as an aggregation does and reads its aggregate
// with one cache lookup; ref lets putAggregate write it back without a
// second one.
func (o *tableOutput[K, V]) lookupAgg(key K) (kb []byte, old ValueAndTimestamp[V], hadOld bool, ref statestore.CacheRef, err error) {
	if kb, err = o.s.aggKey(key); err != nil {
		return nil, old, false, ref, err
	}
	old, hadOld, ref, err = o.s.lookupKB(kb)
	return kb, old, hadOld, ref, err
}

// putAggregate keeps the aggregate v of key (serialized as kb, read through
// ref) at the later of ts and the old aggregate's time, and forwards the
// change unless the store's cache forwards it when it flushes.
func (o *tableOutput[K, V]) putAggregate(key K, kb []byte, ref statestore.CacheRef, v V, old ValueAndTimestamp[V], hadOld bool, ts int64, headers []Header) error {
	if hadOld && old.Timestamp > ts {
		ts = old.Timestamp
	}
	if err := o.s.putAtKB(ref, kb, ValueAndTimestamp[V]{Value: v, Timestamp: ts}); err != nil {
		return err
	}
	if o.s.caching() {
		return nil
	}
	return o.ctx.Forward(Record[K, change[V]]{Key: key, Value: change[V]{newV: v, hasNew: true, oldV: old.Value, hasOld: hadOld}, Timestamp: ts, Headers: headers})
}

// aggregate wires an aggregation of g into a table.
func aggregate[K, V, VA any](g *GroupedStream[K, V], prefix string, m Materialized[K, VA], mk func(store string) Processor[K, V, K, change[VA]]) *Table[K, VA] {
	b := g.s.b
	aggregateDefaults(b, prefix, &m, g.keySerde)
	procName := b.newName(prefix)
	in := g.aggregateInput(m.name)
	f := newTSFactory[K, VA](m)
	AddProcessor(b, procName, func() Processor[K, V, K, change[VA]] { return mk(m.name) }, in.node)
	addStoreFactory(b, f, procName)
	return tableOverStore(b, procName, f)
}

// Count counts the records per key (records with a null key or value are
// skipped). The result is a table of counts, kept in a store.
func (g *GroupedStream[K, V]) Count(materialized ...Materialized[K, int64]) *Table[K, int64] {
	m := firstOr(materialized)
	if m.valueSerde == nil {
		m.valueSerde = Int64Serde()
	}
	return aggregate(g, prefixAggregate, m, func(store string) Processor[K, V, K, change[int64]] {
		return &streamAggProc[K, V, int64]{store: store, init: func() int64 { return 0 }, agg: func(_ K, _ V, n int64) int64 { return n + 1 }}
	})
}

// Reduce combines the values of each key with fn (the first value is the
// initial aggregate).
func (g *GroupedStream[K, V]) Reduce(fn func(agg, value V) V, materialized ...Materialized[K, V]) *Table[K, V] {
	if fn == nil {
		g.s.b.fail(errors.New("streams: reduce: nil reducer"))
	}
	m := firstOr(materialized)
	if m.valueSerde == nil {
		m.valueSerde = g.valueSerde
	}
	return aggregate(g, prefixReduce, m, func(store string) Processor[K, V, K, change[V]] {
		return &streamAggProc[K, V, V]{store: store, reduce: fn}
	})
}

// Aggregate folds the values of each key into an aggregate of another type:
// init gives the starting aggregate of a new key, agg adds a value.
func Aggregate[K, V, VA any](g *GroupedStream[K, V], init func() VA, agg func(key K, value V, aggregate VA) VA, materialized ...Materialized[K, VA]) *Table[K, VA] {
	if init == nil || agg == nil {
		g.s.b.fail(errors.New("streams: aggregate: nil initializer or aggregator"))
	}
	m := firstOr(materialized)
	return aggregate(g, prefixAggregate, m, func(store string) Processor[K, V, K, change[VA]] {
		return &streamAggProc[K, V, VA]{store: store, init: init, agg: agg}
	})
}

// ---- grouped tables ----

// GroupedTable is a table re-grouped by a new key, ready to aggregate with
// an adder and a subtractor (Kafka Streams' KGroupedTable).
type GroupedTable[K, V any] struct {
	s          *Stream[K, change[V]]
	keySerde   Serde[K]
	valueSerde Serde[V]
	name       string
}

type tableSelectProc[K, V, KR, VR any] struct {
	ctx      ProcessorContext[KR, change[VR]]
	fn       func(K, V) (KR, VR)
	keySerde Serde[KR]
}

func (p *tableSelectProc[K, V, KR, VR]) Init(ctx ProcessorContext[KR, change[VR]]) error {
	p.ctx = ctx
	return nil
}
func (p *tableSelectProc[K, V, KR, VR]) Close() error { return nil }

func (p *tableSelectProc[K, V, KR, VR]) Process(r Record[K, change[V]]) error {
	c := r.Value
	var newK, oldK KR
	var newV, oldV VR
	if c.hasNew {
		newK, newV = p.fn(r.Key, c.newV)
	}
	if c.hasOld {
		oldK, oldV = p.fn(r.Key, c.oldV)
	}
	out := Record[KR, change[VR]]{Timestamp: r.Timestamp, Headers: r.Headers}
	if c.hasNew && c.hasOld {
		// Same new key: one record, so the aggregate never shows the state
		// between subtracting and adding.
		nb, err1 := p.keySerde.Serialize(newK)
		ob, err2 := p.keySerde.Serialize(oldK)
		if err1 == nil && err2 == nil && bytes.Equal(nb, ob) {
			out.Key = newK
			out.Value = change[VR]{newV: newV, hasNew: true, oldV: oldV, hasOld: true}
			return p.ctx.Forward(out)
		}
	}
	// As Kafka Streams: the subtraction goes first, then the addition.
	if c.hasOld {
		out.Key = oldK
		out.Value = change[VR]{oldV: oldV, hasOld: true}
		if err := p.ctx.Forward(out); err != nil {
			return err
		}
	}
	if c.hasNew {
		out.Key = newK
		out.Value = change[VR]{newV: newV, hasNew: true}
		return p.ctx.Forward(out)
	}
	return nil
}

// GroupByTable re-groups t by a new key and value computed from each entry
// (Kafka Streams' KTable.groupBy). Updates go through a repartition topic as
// a subtraction of the old entry and an addition of the new one.
func GroupByTable[K, V, KR, VR any](t *Table[K, V], fn func(key K, value V) (KR, VR), grouped ...Grouped[KR, VR]) *GroupedTable[KR, VR] {
	g := firstOr(grouped)
	ks := serdeOr(g.keySerde)
	name := t.b.newName(prefixTableSelect)
	AddProcessor(t.b, name, func() Processor[K, change[V], KR, change[VR]] {
		return &tableSelectProc[K, V, KR, VR]{fn: fn, keySerde: ks}
	}, t.node)
	s := &Stream[KR, change[VR]]{b: t.b, node: name, repartition: true}
	return &GroupedTable[KR, VR]{s: s, keySerde: g.keySerde, valueSerde: g.valueSerde, name: g.name}
}

type tableAggProc[K, V, VA any] struct {
	tableOutput[K, VA]
	store  string
	init   func() VA
	add    func(K, V, VA) VA
	sub    func(K, V, VA) VA
	reduce bool
}

func (p *tableAggProc[K, V, VA]) Init(ctx ProcessorContext[K, change[VA]]) error {
	return p.open(ctx, p.store)
}

func (p *tableAggProc[K, V, VA]) Close() error { return nil }

func (p *tableAggProc[K, V, VA]) Process(r Record[K, change[V]]) error {
	if r.KeyIsNull() {
		p.s.dropped()
		return nil
	}
	kb, old, hadOld, ref, err := p.lookupAgg(r.Key)
	if err != nil {
		return err
	}
	// As Kafka Streams' KTableAggregate/KTableReduce: subtract the old entry
	// only from an existing aggregate, then add the new one (a reduce starts
	// a new key from the value itself).
	agg, hasAgg := old.Value, hadOld
	if r.Value.hasOld && hasAgg {
		agg = p.sub(r.Key, r.Value.oldV, agg)
	}
	if r.Value.hasNew {
		switch {
		case hasAgg:
			agg = p.add(r.Key, r.Value.newV, agg)
		case p.reduce:
			agg, hasAgg = any(r.Value.newV).(VA), true
		default:
			agg, hasAgg = p.add(r.Key, r.Value.newV, p.init()), true
		}
	}
	if !hasAgg {
		return nil // nothing to subtract from and nothing to add
	}
	return p.putAggregate(r.Key, kb, ref, agg, old, hadOld, r.Timestamp, r.Headers)
}

func tableAggregate[K, V, VA any](g *GroupedTable[K, V], prefix string, m Materialized[K, VA], init func() VA, add, sub func(K, V, VA) VA, reduce bool) *Table[K, VA] {
	b := g.s.b
	aggregateDefaults(b, prefix, &m, g.keySerde)
	procName := b.newName(prefix)
	prefixName, userNamed := g.name, g.name != ""
	if !userNamed {
		prefixName = m.name
	}
	in := repartitionThrough(g.s, prefixName, userNamed, serdeOr(g.keySerde), Serde[change[V]](changeSerde[V]{inner: serdeOr(g.valueSerde)}), 0, nil)
	f := newTSFactory[K, VA](m)
	AddProcessor(b, procName, func() Processor[K, change[V], K, change[VA]] {
		return &tableAggProc[K, V, VA]{store: m.name, init: init, add: add, sub: sub, reduce: reduce}
	}, in.node)
	addStoreFactory(b, f, procName)
	return tableOverStore(b, procName, f)
}

// Count counts the entries per new key: an entry that moves to another key
// is subtracted from its old key's count.
func (g *GroupedTable[K, V]) Count(materialized ...Materialized[K, int64]) *Table[K, int64] {
	m := firstOr(materialized)
	if m.valueSerde == nil {
		m.valueSerde = Int64Serde()
	}
	return tableAggregate(g, prefixTableAgg, m, func() int64 { return 0 },
		func(_ K, _ V, n int64) int64 { return n + 1 }, func(_ K, _ V, n int64) int64 { return n - 1 }, false)
}

// Reduce keeps an aggregate per key with adder (for new entries) and
// subtractor (for entries that left or changed).
func (g *GroupedTable[K, V]) Reduce(adder, subtractor func(agg, value V) V, materialized ...Materialized[K, V]) *Table[K, V] {
	if adder == nil || subtractor == nil {
		g.s.b.fail(errors.New("streams: table reduce: nil adder or subtractor"))
	}
	m := firstOr(materialized)
	if m.valueSerde == nil {
		m.valueSerde = g.valueSerde
	}
	return tableAggregate(g, prefixTableReduce, m, nil,
		func(_ K, v V, agg V) V { return adder(agg, v) },
		func(_ K, v V, agg V) V { return subtractor(agg, v) }, true)
}

// AggregateTable keeps an aggregate per key of a grouped table: init starts
// a new key, adder adds an entry, subtractor removes one.
func AggregateTable[K, V, VA any](g *GroupedTable[K, V], init func() VA, adder, subtractor func(key K, value V, aggregate VA) VA, materialized ...Materialized[K, VA]) *Table[K, VA] {
	if init == nil || adder == nil || subtractor == nil {
		g.s.b.fail(errors.New("streams: table aggregate: nil initializer, adder or subtractor"))
	}
	return tableAggregate(g, prefixTableAgg, firstOr(materialized), init, adder, subtractor, false)
}
