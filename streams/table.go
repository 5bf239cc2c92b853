package streams

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// change is what flows between table nodes: a key's new value and the value
// it replaces (Kafka Streams' Change). A missing side is a null.
type change[V any] struct {
	newV, oldV     V
	hasNew, hasOld bool
}

// changeSerde encodes a change for the repartition topic of a table
// grouping: a flags byte (1: new present, 2: old present), the new value's
// length as a uvarint and its bytes, then the old value's bytes.
type changeSerde[V any] struct{ inner Serde[V] }

func (s changeSerde[V]) Serialize(c change[V]) ([]byte, error) {
	flags, nb, ob, err := serializePair(s.inner, c.newV, c.hasNew, c.oldV, c.hasOld)
	if err != nil {
		return nil, err
	}
	return appendPair(make([]byte, 0, 1+binary.MaxVarintLen64+len(nb)+len(ob)), flags, nb, ob), nil
}

// serializePair serializes two optional values, for the layout of
// appendPair: flags 1 (first present) and 2 (second present), and each
// value's bytes.
func serializePair[V any](serde Serde[V], first V, hasFirst bool, second V, hasSecond bool) (flags byte, fb, sb []byte, err error) {
	if hasFirst {
		flags |= 1
		if fb, err = serde.Serialize(first); err != nil {
			return 0, nil, nil, err
		}
	}
	if hasSecond {
		flags |= 2
		if sb, err = serde.Serialize(second); err != nil {
			return 0, nil, nil, err
		}
	}
	return flags, fb, sb, nil
}

// appendPair appends two optional values as changes and suppression
// buffers store them: the flags byte, the first value's length as a
// uvarint and its bytes, then the second value's bytes.
func appendPair(out []byte, flags byte, fb, sb []byte) []byte {
	out = append(out, flags)
	out = binary.AppendUvarint(out, uint64(len(fb)))
	out = append(out, fb...)
	return append(out, sb...)
}

func (s changeSerde[V]) Deserialize(b []byte) (change[V], error) {
	var c change[V]
	bad := func(msg string) (change[V], error) {
		return change[V]{}, &SerdeError{Serde: "change", Len: len(b), Err: errors.New(msg)}
	}
	if len(b) < 2 {
		return bad("too short")
	}
	flags := b[0]
	if flags&^3 != 0 {
		return bad("unknown flags")
	}
	n, w := binary.Uvarint(b[1:])
	if w <= 0 || n > uint64(len(b)-1-w) {
		return bad("bad length")
	}
	rest := b[1+w:]
	nb, ob := rest[:n], rest[n:]
	var err error
	if flags&1 != 0 {
		c.hasNew = true
		if c.newV, err = s.inner.Deserialize(nb); err != nil {
			return change[V]{}, err
		}
	} else if n != 0 {
		return bad("new value bytes without the new flag")
	}
	if flags&2 != 0 {
		c.hasOld = true
		if c.oldV, err = s.inner.Deserialize(ob); err != nil {
			return change[V]{}, err
		}
	} else if len(ob) != 0 {
		return bad("old value bytes without the old flag")
	}
	return c, nil
}

func (s changeSerde[V]) String() string { return "Change(" + serdeName(s.inner) + ")" }

// Table is a changelog stream seen as the latest value per key (Kafka
// Streams' KTable). Its updates flow downstream as changes (new and old
// value), so aggregations over a table can subtract what a key had before.
type Table[K, V any] struct {
	b          *Builder
	node       string
	keySerde   Serde[K]
	valueSerde Serde[V]
	// store is the table's materialized store, "" if it has none.
	store string
	// getter looks up the table's current value by key: through its own
	// store, or its parent's plus the function between them (for joins).
	getter tableGetter[K, V]
}

// tableGetter makes per-task lookups of a table's current values; the
// stores it names must be connected to the processor that uses it.
type tableGetter[K, V any] interface {
	storeNames() []string
	newGetter(p StoreProvider) (func(K) (ValueAndTimestamp[V], bool, error), error)
}

// storeGetter looks values up in a materialized table store.
type storeGetter[K, V any] struct{ store string }

func (g storeGetter[K, V]) storeNames() []string { return []string{g.store} }
func (g storeGetter[K, V]) newGetter(p StoreProvider) (func(K) (ValueAndTimestamp[V], bool, error), error) {
	ts, err := storeAs[*tsStore[K, V]](p, g.store, "a table store of these types")
	if err != nil {
		return nil, err
	}
	return ts.get, nil
}

// mappedGetter applies a table operation to its parent's values.
type mappedGetter[K, V, VR any] struct {
	parent tableGetter[K, V]
	fn     func(K, V) (VR, bool)
}

func (g mappedGetter[K, V, VR]) storeNames() []string { return g.parent.storeNames() }
func (g mappedGetter[K, V, VR]) newGetter(p StoreProvider) (func(K) (ValueAndTimestamp[VR], bool, error), error) {
	pg, err := g.parent.newGetter(p)
	if err != nil {
		return nil, err
	}
	return func(k K) (ValueAndTimestamp[VR], bool, error) {
		v, ok, err := pg(k)
		if err != nil || !ok {
			return ValueAndTimestamp[VR]{}, false, err
		}
		vr, ok := g.fn(k, v.Value)
		return ValueAndTimestamp[VR]{Value: vr, Timestamp: v.Timestamp}, ok, nil
	}, nil
}

// Node returns the name of the node whose output this table is.
func (t *Table[K, V]) Node() string { return t.node }

// StoreName returns the name of the table's store ("" when the table is not
// materialized), the name interactive queries use.
func (t *Table[K, V]) StoreName() string { return t.store }

// shareSerdes gives the store (m) of a table read from a topic the serdes
// of the topic (c) it lacks, and c those of m.
func shareSerdes[K, V any](c Consumed[K, V], m Materialized[K, V]) (Consumed[K, V], Materialized[K, V]) {
	if m.keySerde == nil {
		m.keySerde = c.keySerde
	}
	if m.valueSerde == nil {
		m.valueSerde = c.valueSerde
	}
	if c.keySerde == nil {
		c.keySerde = m.keySerde
	}
	if c.valueSerde == nil {
		c.valueSerde = m.valueSerde
	}
	return c, m
}

// NewTable returns the table of topic's latest value per key: records with
// a null value delete their key. The table is materialized in a store
// (named "<topic>-STATE-STORE-<n>" unless a Materialized names it).
func NewTable[K, V any](b *Builder, topic string, consumed Consumed[K, V], materialized ...Materialized[K, V]) *Table[K, V] {
	c, m := shareSerdes(consumed, firstOr(materialized))
	srcName := b.nameOr(c.name, prefixSource)
	AddSource(b, srcName, c, topic)
	if m.name == "" {
		m.name = b.newName(topic + storeSuffix)
	}
	procName := b.newName(prefixTableSource)
	return materialize(&Stream[K, V]{b: b, node: srcName, keySerde: c.keySerde, valueSerde: c.valueSerde}, procName, m)
}

// ToTable turns s into a table: each record is the latest value of its key
// (a null value deletes it). Options: a Named for the node, a Materialized
// for the store. A stream whose key may have changed is repartitioned first.
func (s *Stream[K, V]) ToTable(opts ...TableOpOption) *Table[K, V] {
	var m Materialized[K, V]
	var name string
	for _, o := range opts {
		switch o := o.(type) {
		case Named:
			name = string(o)
		case Materialized[K, V]:
			m = o
		default:
			s.b.fail(fmt.Errorf("streams: to table: option %T does not fit a stream of %s", o, typesOf[K, V]()))
		}
	}
	procName := s.b.nameOr(name, prefixToTable)
	if m.keySerde == nil {
		m.keySerde = s.keySerde
	}
	if m.valueSerde == nil {
		m.valueSerde = s.valueSerde
	}
	if m.name == "" {
		m.name = s.b.newName(prefixToTable + "STATE-STORE-")
	}
	if s.repartition {
		// The key may have changed: the records of a key go through a repartition
		// topic ("<name>-repartition") to the one task that keeps the key, as Kafka
		// Streams' toTable does.
		s = repartitionThrough(s, procName, name != "", serdeOr(m.keySerde), serdeOr(m.valueSerde), 0, nil)
	}
	return materialize(s, procName, m)
}

// materialize adds a processor that keeps s's latest value per key in a
// store and emits changes.
func materialize[K, V any](s *Stream[K, V], procName string, m Materialized[K, V]) *Table[K, V] {
	if m.history != 0 {
		return materializeVersioned(s, procName, m)
	}
	b := s.b
	f := newTSFactory[K, V](m)
	AddProcessor(b, procName, func() Processor[K, V, K, change[V]] {
		return &tableSourceProc[K, V]{storedOutput[K, V]{store: m.name}}
	}, s.node)
	addStoreFactory(b, f, procName)
	return tableOverStore(b, procName, f)
}

// tableOverStore returns the table that node emits, its values kept in the
// table store f.
func tableOverStore[K, V any](b *Builder, node string, f *tsFactory[K, V]) *Table[K, V] {
	return &Table[K, V]{b: b, node: node, keySerde: f.keySerde, valueSerde: f.valueSerde, store: f.name, getter: storeGetter[K, V]{store: f.name}}
}

// tableOutput is the downstream side of the table processors that keep
// their result in a table store: the context they forward changes to and
// the store, whose cache forwards its flushed updates itself.
type tableOutput[K, V any] struct {
	ctx ProcessorContext[K, change[V]]
	s   *tsStore[K, V]
}

// open keeps ctx and opens the table store name, its flushes forwarded to
// ctx; with name "" the result is not materialized and there is no store.
func (o *tableOutput[K, V]) open(ctx ProcessorContext[K, change[V]], name string) error {
	o.ctx = ctx
	if name == "" {
		return nil
	}
	s, err := tsStoreOf[K, V](ctx, name)
	if err != nil {
		return err
	}
	o.s = s
	s.setFlushListener(func(r Record[K, change[V]]) error { return ctx.Forward(r) })
	return nil
}

// lookup serializes key and returns it with what the store holds for it.
func (o *tableOutput[K, V]) lookup(key K) (kb []byte, old ValueAndTimestamp[V], hadOld bool, err error) {
	if kb, err = o.s.serKey(key); err != nil {
		return nil, old, false, err
	}
	old, hadOld, err = o.s.getKB(kb)
	return kb, old, hadOld, err
}

// putChange keeps out's new value of key at ts in the store (deletes key
// when out has none) and sets out's old value to what the store held. It
// reports whether the store's cache forwards the change when it flushes:
// the caller then forwards nothing.
func (o *tableOutput[K, V]) putChange(key K, ts int64, out *change[V]) (cached bool, err error) {
	old, hadOld, err := o.s.get(key)
	if err != nil {
		return false, err
	}
	out.oldV, out.hasOld = old.Value, hadOld
	if out.hasNew {
		err = o.s.put(key, ValueAndTimestamp[V]{Value: out.newV, Timestamp: ts})
	} else {
		err = o.s.delete(key, ts)
	}
	if err != nil {
		return false, err
	}
	return o.s.caching(), nil
}

// storedOutput is a tableOutput whose processor has no other state: it
// opens the table store (store) at Init and has nothing to close.
type storedOutput[K, V any] struct {
	tableOutput[K, V]
	store string
}

func (p *storedOutput[K, V]) Init(ctx ProcessorContext[K, change[V]]) error {
	return p.open(ctx, p.store)
}

func (p *storedOutput[K, V]) Close() error { return nil }

type tableSourceProc[K, V any] struct{ storedOutput[K, V] }

func (p *tableSourceProc[K, V]) Process(r Record[K, V]) error {
	if r.KeyIsNull() {
		p.s.dropped()
		return nil
	}
	kb, old, hadOld, err := p.lookup(r.Key)
	if err != nil {
		return err
	}
	c := change[V]{oldV: old.Value, hasOld: hadOld}
	if r.ValueIsNull() {
		if err := p.s.deleteKB(kb, r.Timestamp); err != nil {
			return err
		}
	} else {
		c.newV, c.hasNew = r.Value, true
		if err := p.s.putKB(kb, ValueAndTimestamp[V]{Value: r.Value, Timestamp: r.Timestamp}); err != nil {
			return err
		}
	}
	if p.s.caching() {
		return nil // the cache forwards when it flushes
	}
	return p.ctx.Forward(rekey(r, r.Key, c, true, false))
}

// ---- table operators ----

type tableFilterProc[K, V any] struct {
	storedOutput[K, V]
	pred func(K, V) bool
	not  bool
}

func (p *tableFilterProc[K, V]) keep(k K, v V) bool { return p.pred(k, v) != p.not }

func (p *tableFilterProc[K, V]) Process(r Record[K, change[V]]) error {
	c := r.Value
	out := change[V]{}
	if c.hasNew && p.keep(r.Key, c.newV) {
		out.newV, out.hasNew = c.newV, true
	}
	if c.hasOld && p.keep(r.Key, c.oldV) {
		out.oldV, out.hasOld = c.oldV, true
	}
	if !out.hasNew && !out.hasOld {
		return nil // neither side passes: nothing changed for downstream
	}
	if p.s != nil {
		if cached, err := p.putChange(r.Key, r.Timestamp, &out); err != nil || cached {
			return err
		}
	}
	return p.ctx.Forward(rekey(r, r.Key, out, true, false))
}

// resultStore names the store a table operator keeps its result in: ""
// when the result is not materialized, else m's name or one made from
// prefix.
func resultStore[K, V any](b *Builder, materialized bool, m *Materialized[K, V], prefix string) string {
	if !materialized {
		return ""
	}
	if m.name == "" {
		m.name = b.newName(prefix + "STATE-STORE-")
	}
	return m.name
}

// keepResult registers the table store of m (its key serde defaulting to
// out's) for out's node and makes out read from it. It returns the store.
func keepResult[K, V any](out *Table[K, V], m Materialized[K, V]) *tsFactory[K, V] {
	if m.keySerde == nil {
		m.keySerde = out.keySerde
	}
	f := newTSFactory[K, V](m)
	addStoreFactory(out.b, f, out.node)
	out.store = m.name
	out.getter = storeGetter[K, V]{store: m.name}
	return f
}

// TableOpOption is accepted by table operators: a Named names the node, a
// Materialized keeps the result in a (queryable) store.
type TableOpOption interface{ tableOpOption() }

func (Named) tableOpOption()              {}
func (Materialized[K, V]) tableOpOption() {}

// tableOpOptions are the options of a table operation with a result table
// of K and R.
type tableOpOptions[K, R any] struct {
	named        string
	mat          Materialized[K, R]
	materialized bool
	// stores are the stores to connect (WithStores), where op takes them.
	stores []string
}

// parseTableOpOptions reads the options of the table operation op (named
// in errors), whose result is what (a table, a join result, ...); an option
// that does not fit fails the build. WithStores fits only withStores.
func parseTableOpOptions[K, R any](b *Builder, op, what string, withStores bool, opts []TableOpOption) tableOpOptions[K, R] {
	var o tableOpOptions[K, R]
	for _, opt := range opts {
		if ws, ok := opt.(WithStores); ok && withStores {
			o.stores = append(o.stores, ws...)
			continue
		}
		switch opt := opt.(type) {
		case Named:
			o.named = string(opt)
		case Materialized[K, R]:
			o.mat, o.materialized = opt, true
		default:
			b.fail(fmt.Errorf("streams: %s: option %T does not fit %s of %s", op, opt, what, typesOf[K, R]()))
		}
	}
	return o
}

func (t *Table[K, V]) filter(pred func(K, V) bool, not bool, opts []TableOpOption) *Table[K, V] {
	if pred == nil {
		t.b.fail(errors.New("streams: table filter: nil predicate"))
		return t
	}
	o := parseTableOpOptions[K, V](t.b, "table filter", "a table", false, opts)
	mat := o.mat
	name := t.b.nameOr(o.named, prefixTableFilter)
	store := resultStore(t.b, o.materialized, &mat, prefixTableFilter)
	AddProcessor(t.b, name, func() Processor[K, change[V], K, change[V]] {
		return &tableFilterProc[K, V]{storedOutput: storedOutput[K, V]{store: store}, pred: pred, not: not}
	}, t.node)
	out := &Table[K, V]{b: t.b, node: name, keySerde: t.keySerde, valueSerde: t.valueSerde}
	if store != "" {
		if mat.valueSerde == nil {
			mat.valueSerde = t.valueSerde
		}
		keepResult(out, mat)
	} else if t.getter != nil {
		out.getter = mappedGetter[K, V, V]{parent: t.getter, fn: func(k K, v V) (V, bool) { return v, pred(k, v) != not }}
	}
	return out
}

// Filter keeps the keys whose value pred accepts: an update to a value pred
// rejects becomes a delete downstream. Options: a Named, and a Materialized
// to keep the result in a queryable store.
func (t *Table[K, V]) Filter(pred func(key K, value V) bool, opts ...TableOpOption) *Table[K, V] {
	return t.filter(pred, false, opts)
}

// FilterNot keeps the keys whose value pred rejects.
func (t *Table[K, V]) FilterNot(pred func(key K, value V) bool, opts ...TableOpOption) *Table[K, V] {
	return t.filter(pred, true, opts)
}

type tableMapValuesProc[K, V, VR any] struct {
	ctx ProcessorContext[K, change[VR]]
	fn  func(K, V) VR
	// sendOld: a processor downstream reads old values, so they are mapped.
	sendOld bool
}

func (p *tableMapValuesProc[K, V, VR]) Init(ctx ProcessorContext[K, change[VR]]) error {
	p.ctx = ctx
	p.sendOld = sendsOldValues(ctx)
	return nil
}
func (p *tableMapValuesProc[K, V, VR]) Close() error { return nil }
func (p *tableMapValuesProc[K, V, VR]) Process(r Record[K, change[V]]) error {
	c := r.Value
	var out change[VR]
	if c.hasNew {
		out.newV, out.hasNew = p.fn(r.Key, c.newV), true
	}
	if c.hasOld && p.sendOld {
		out.oldV, out.hasOld = p.fn(r.Key, c.oldV), true
	}
	return p.ctx.Forward(rekey(r, r.Key, out, true, false))
}

// MapValuesTable maps each value of t (Kafka Streams' KTable.mapValues).
func MapValuesTable[K, V, VR any](t *Table[K, V], fn func(key K, value V) VR, named ...Named) *Table[K, VR] {
	name := t.b.nameOr(nameOr(named), prefixTableMapVal)
	AddProcessor(t.b, name, func() Processor[K, change[V], K, change[VR]] {
		return &tableMapValuesProc[K, V, VR]{fn: fn}
	}, t.node)
	out := &Table[K, VR]{b: t.b, node: name, keySerde: t.keySerde}
	if t.getter != nil {
		out.getter = mappedGetter[K, V, VR]{parent: t.getter, fn: func(k K, v V) (VR, bool) { return fn(k, v), true }}
	}
	return out
}

type toStreamProc[K, V any] struct {
	statelessProc[K, V]
}

func (p *toStreamProc[K, V]) Process(r Record[K, change[V]]) error {
	if r.Value.hasNew {
		return p.ctx.Forward(rekey(r, r.Key, r.Value.newV, true, false))
	}
	out := rekey(r, r.Key, r.Value.newV, true, false)
	out.flags |= flagNullValue
	return p.ctx.Forward(out)
}

// ToStream returns the stream of t's updates; a deleted key comes as a
// record with a null value (a tombstone).
func (t *Table[K, V]) ToStream(named ...Named) *Stream[K, V] {
	name := t.b.nameOr(nameOr(named), prefixTableToStream)
	AddProcessor(t.b, name, func() Processor[K, change[V], K, V] { return &toStreamProc[K, V]{} }, t.node)
	return &Stream[K, V]{b: t.b, node: name, keySerde: t.keySerde, valueSerde: t.valueSerde}
}
