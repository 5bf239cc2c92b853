package streams

import (
	"errors"
	"fmt"
	"time"
)

// Joined configures a stream-table join: the serdes of the key, the
// stream's value and the table's value (for the stream's repartition topic,
// if it needs one) and a name for the join processor and that topic
// ("<name>-repartition"), as Kafka Streams' Joined.
type Joined[K, V, VT any] struct {
	keySerde        Serde[K]
	valueSerde      Serde[V]
	otherValueSerde Serde[VT]
	name            string
	// grace holds stream records back for a join against a versioned table
	// (WithGracePeriod in join_grace.go).
	grace time.Duration
}

// JoinedWith returns a Joined with the given serdes (nil for the streams'
// own).
func JoinedWith[K, V, VT any](keySerde Serde[K], valueSerde Serde[V], otherValueSerde Serde[VT]) Joined[K, V, VT] {
	return Joined[K, V, VT]{keySerde: keySerde, valueSerde: valueSerde, otherValueSerde: otherValueSerde}
}

// WithName names the join processor and the stream's repartition topic.
func (j Joined[K, V, VT]) WithName(name string) Joined[K, V, VT] { j.name = name; return j }

// ---- stream-table ----

// JoinWithTable joins each record of s with the table's current value for
// its key (Kafka Streams' KStream.join(KTable)): a table lookup at the time
// the stream record is processed, which, as tasks process their inputs in
// timestamp order, is the table as of the stream record's timestamp. Only
// stream records trigger results; table updates only change the table.
// Stream records with a null key or value, and those whose key the table
// does not hold, produce nothing. The stream and the table must be
// co-partitioned; a stream whose key may have changed is repartitioned.
func JoinWithTable[K, V, VT, VR any](s *Stream[K, V], t *Table[K, VT], joiner func(key K, value V, tableValue VT) VR, joined ...Joined[K, V, VT]) *Stream[K, VR] {
	if joiner == nil {
		s.b.fail(errors.New("streams: join with table: nil joiner"))
	}
	return streamTableJoin(s, t, firstOr(joined), false, func(k K, v V, tv *VT) VR { return joiner(k, v, *tv) })
}

// LeftJoinWithTable is JoinWithTable that also emits stream records the
// table has no value for, with a nil table value. Since KIP-962, a stream
// record with a null key is emitted too (with a nil table value).
func LeftJoinWithTable[K, V, VT, VR any](s *Stream[K, V], t *Table[K, VT], joiner func(key K, value V, tableValue *VT) VR, joined ...Joined[K, V, VT]) *Stream[K, VR] {
	if joiner == nil {
		s.b.fail(errors.New("streams: left join with table: nil joiner"))
	}
	return streamTableJoin(s, t, firstOr(joined), true, joiner)
}

func streamTableJoin[K, V, VT, VR any](s *Stream[K, V], t *Table[K, VT], j Joined[K, V, VT], left bool, joiner func(K, V, *VT) VR) *Stream[K, VR] {
	b := s.b
	if !sameBuilder(b, t.b, "stream-table join") {
		return &Stream[K, VR]{b: b, node: s.node}
	}
	prefix := prefixStreamJoin
	if left {
		prefix = prefixStreamLeftJoin
	}
	name := b.nameOr(j.name, prefix)
	if t.getter == nil {
		b.fail(fmt.Errorf("streams: join %q: the table has no store to look values up in; materialize it (Materialized)", name))
		return &Stream[K, VR]{b: b, node: s.node}
	}
	ks := j.keySerde
	if ks == nil {
		ks = s.keySerde
	}
	if ks == nil {
		ks = t.keySerde
	}
	vs := j.valueSerde
	if vs == nil {
		vs = s.valueSerde
	}
	if s.repartition {
		s = repartitionThrough(s, name, j.name != "", serdeOr(ks), serdeOr(vs), 0, nil)
	}
	if left {
		// A left join emits a null-key record with no table value (KIP-962), so the
		// repartition topics upstream keep them, as in Kafka Streams.
		b.passesNullKeys(name)
	}
	getter := t.getter
	buf := graceBuffer(b, name, j, getter, serdeOr(ks), serdeOr(vs))
	AddProcessor(b, name, func() Processor[K, V, K, VR] {
		return &streamTableJoinProc[K, V, VT, VR]{getter: getter, left: left, joiner: joiner, buf: buf}
	}, s.node)
	ConnectStores(b, name, getter.storeNames()...)
	if buf != nil {
		ConnectStores(b, name, buf.store)
	}
	copartition(b, s.node, t.node)
	return &Stream[K, VR]{b: b, node: name, keySerde: ks}
}

// streamTableJoinProc is Kafka Streams' KStreamKTableJoinProcessor.
type streamTableJoinProc[K, V, VT, VR any] struct {
	ctx    ProcessorContext[K, VR]
	getter tableGetter[K, VT]
	get    func(K) (ValueAndTimestamp[VT], bool, error)
	// getAsOf is set for a versioned table: the record joins the value the
	// table had at the record's time (KIP-914).
	getAsOf func(K, int64) (ValueAndTimestamp[VT], bool, error)
	left    bool
	joiner  func(K, V, *VT) VR
	task    *streamTask
	// buf is the grace buffer (join_grace.go), nil without a grace period.
	buf *graceSpec[K, V]
	gb  *graceState
}

func (p *streamTableJoinProc[K, V, VT, VR]) Init(ctx ProcessorContext[K, VR]) error {
	p.ctx = ctx
	g, err := p.getter.newGetter(ctx)
	if err != nil {
		return err
	}
	p.get = g
	if ag, ok := p.getter.(asOfGetter[K, VT]); ok {
		if p.getAsOf, err = ag.newAsOfGetter(ctx); err != nil {
			return err
		}
	}
	if n, ok := ctx.(interface{ taskOf() *streamTask }); ok {
		p.task = n.taskOf()
	}
	if p.buf != nil {
		return p.initGrace(ctx)
	}
	return nil
}

func (p *streamTableJoinProc[K, V, VT, VR]) Close() error { return nil }

func (p *streamTableJoinProc[K, V, VT, VR]) Process(r Record[K, V]) error {
	if r.ValueIsNull() || r.KeyIsNull() && !p.left {
		if p.task != nil {
			dropNull(p.task, "stream-table join")
		}
		return nil
	}
	if r.KeyIsNull() {
		return p.ctx.Forward(rekey(r, r.Key, p.joiner(r.Key, r.Value, nil), true, false))
	}
	if p.buf != nil {
		return p.processGrace(r)
	}
	return p.join(r)
}

// join joins r with the table (as of r's time for a versioned table).
func (p *streamTableJoinProc[K, V, VT, VR]) join(r Record[K, V]) error {
	var tv ValueAndTimestamp[VT]
	var ok bool
	var err error
	if p.getAsOf != nil {
		tv, ok, err = p.getAsOf(r.Key, r.Timestamp)
	} else {
		tv, ok, err = p.get(r.Key)
	}
	if err != nil {
		return err
	}
	if !ok {
		if !p.left {
			return nil
		}
		return p.ctx.Forward(rekey(r, r.Key, p.joiner(r.Key, r.Value, nil), false, false))
	}
	return p.ctx.Forward(rekey(r, r.Key, p.joiner(r.Key, r.Value, &tv.Value), false, false))
}

// taskOf gives DSL processors the task they run in (for counting dropped
// records).
func (n *processorNode[KIn, VIn, KOut, VOut]) taskOf() *streamTask { return n.task }

// ---- stream-global table ----

// JoinWithGlobalTable joins each record of s with the global table's value
// for the key keySelector computes from the record (Kafka Streams'
// KStream.join(GlobalKTable)). The global table is complete in every
// instance, so no co-partitioning or repartitioning is needed, and it is
// not time-synchronized with the stream. Stream records with a null value,
// or whose lookup key the table does not hold, produce nothing.
func JoinWithGlobalTable[K, V, KG, VG, VR any](s *Stream[K, V], g *GlobalTable[KG, VG], keySelector func(key K, value V) KG, joiner func(key K, value V, tableValue VG) VR, named ...Named) *Stream[K, VR] {
	if joiner == nil {
		s.b.fail(errors.New("streams: join with global table: nil joiner"))
	}
	return globalTableJoin(s, g, keySelector, nameOr(named), false, func(k K, v V, gv *VG) VR { return joiner(k, v, *gv) })
}

// LeftJoinWithGlobalTable is JoinWithGlobalTable that also emits stream
// records the table has no value for, with a nil table value.
func LeftJoinWithGlobalTable[K, V, KG, VG, VR any](s *Stream[K, V], g *GlobalTable[KG, VG], keySelector func(key K, value V) KG, joiner func(key K, value V, tableValue *VG) VR, named ...Named) *Stream[K, VR] {
	if joiner == nil {
		s.b.fail(errors.New("streams: left join with global table: nil joiner"))
	}
	return globalTableJoin(s, g, keySelector, nameOr(named), true, joiner)
}

func globalTableJoin[K, V, KG, VG, VR any](s *Stream[K, V], g *GlobalTable[KG, VG], keySelector func(K, V) KG, name string, left bool, joiner func(K, V, *VG) VR) *Stream[K, VR] {
	b := s.b
	if !sameBuilder(b, g.b, "stream-global table join") {
		return &Stream[K, VR]{b: b, node: s.node}
	}
	if keySelector == nil {
		b.fail(errors.New("streams: join with global table: nil key selector"))
	}
	prefix := prefixStreamJoin
	if left {
		prefix = prefixStreamLeftJoin
	}
	name = b.nameOr(name, prefix)
	store := g.store
	AddProcessor(b, name, func() Processor[K, V, K, VR] {
		return &globalJoinProc[K, V, KG, VG, VR]{store: store, selector: keySelector, left: left, joiner: joiner}
	}, s.node)
	if left {
		b.passesNullKeys(name) // it emits null-key records (KIP-962)
	}
	return &Stream[K, VR]{b: b, node: name, keySerde: s.keySerde, repartition: s.repartition}
}

type globalJoinProc[K, V, KG, VG, VR any] struct {
	ctx      ProcessorContext[K, VR]
	store    string
	s        *tsStore[KG, VG]
	selector func(K, V) KG
	left     bool
	joiner   func(K, V, *VG) VR
	task     *streamTask
}

func (p *globalJoinProc[K, V, KG, VG, VR]) Init(ctx ProcessorContext[K, VR]) error {
	p.ctx = ctx
	s, err := tsStoreOf[KG, VG](ctx, p.store)
	if err != nil {
		return err
	}
	p.s = s
	if n, ok := ctx.(interface{ taskOf() *streamTask }); ok {
		p.task = n.taskOf()
	}
	return nil
}

func (p *globalJoinProc[K, V, KG, VG, VR]) Close() error { return nil }

func (p *globalJoinProc[K, V, KG, VG, VR]) Process(r Record[K, V]) error {
	if r.ValueIsNull() {
		if p.task != nil {
			dropNull(p.task, "stream-global table join")
		}
		return nil
	}
	gv, ok, err := p.s.get(p.selector(r.Key, r.Value))
	if err != nil {
		return err
	}
	switch {
	case ok:
		return p.ctx.Forward(rekey(r, r.Key, p.joiner(r.Key, r.Value, &gv.Value), true, false))
	case p.left:
		return p.ctx.Forward(rekey(r, r.Key, p.joiner(r.Key, r.Value, nil), true, false))
	}
	return nil
}

// ---- table-table ----

// Node name prefixes of table-table joins, as Kafka Streams generates them.
const (
	prefixTableJoinThis   = "KTABLE-JOINTHIS-"
	prefixTableJoinOther  = "KTABLE-JOINOTHER-"
	prefixTableLeftThis   = "KTABLE-LEFTTHIS-"
	prefixTableLeftOther  = "KTABLE-LEFTOTHER-"
	prefixTableOuterThis  = "KTABLE-OUTERTHIS-"
	prefixTableOuterOther = "KTABLE-OUTEROTHER-"
	prefixTableMerge      = "KTABLE-MERGE-"
)

// joinKind says which (left, right) presences make a join result.
type joinKind uint8

const (
	innerJoin joinKind = iota
	leftJoin
	outerJoin
)

func (k joinKind) exists(l, r bool) bool {
	switch k {
	case innerJoin:
		return l && r
	case leftJoin:
		return l
	default:
		return l || r
	}
}

// JoinTables joins two tables on their keys (Kafka Streams' KTable.join):
// the result holds joiner(left, right) for every key both tables hold,
// updated whenever either side changes; when one side loses the key, the
// result gets a delete. Options: a Named, and a Materialized to keep the
// result in a store. Both tables must be co-partitioned.
func JoinTables[K, V, VO, VR any](left *Table[K, V], right *Table[K, VO], joiner func(key K, left V, right VO) VR, opts ...TableOpOption) *Table[K, VR] {
	if joiner == nil {
		left.b.fail(errors.New("streams: table join: nil joiner"))
	}
	return tableTableJoin(left, right, innerJoin, func(k K, l *V, r *VO) VR { return joiner(k, *l, *r) }, opts)
}

// LeftJoinTables is JoinTables whose result holds every key of the left
// table, with a nil right value where the right table lacks the key.
func LeftJoinTables[K, V, VO, VR any](left *Table[K, V], right *Table[K, VO], joiner func(key K, left V, right *VO) VR, opts ...TableOpOption) *Table[K, VR] {
	if joiner == nil {
		left.b.fail(errors.New("streams: table left join: nil joiner"))
	}
	return tableTableJoin(left, right, leftJoin, func(k K, l *V, r *VO) VR { return joiner(k, *l, r) }, opts)
}

// OuterJoinTables is JoinTables whose result holds every key of either
// table, with a nil value for the side that lacks it.
func OuterJoinTables[K, V, VO, VR any](left *Table[K, V], right *Table[K, VO], joiner func(key K, left *V, right *VO) VR, opts ...TableOpOption) *Table[K, VR] {
	if joiner == nil {
		left.b.fail(errors.New("streams: table outer join: nil joiner"))
	}
	return tableTableJoin(left, right, outerJoin, joiner, opts)
}

func tableTableJoin[K, V, VO, VR any](left *Table[K, V], right *Table[K, VO], kind joinKind, joiner func(K, *V, *VO) VR, opts []TableOpOption) *Table[K, VR] {
	b := left.b
	if !sameBuilder(b, right.b, "table join") {
		return &Table[K, VR]{b: b, node: left.node}
	}
	o := parseTableOpOptions[K, VR](b, "table join", "a join result", false, opts)
	named, mat, materialized := o.named, o.mat, o.materialized
	if left.getter == nil || right.getter == nil {
		b.fail(errors.New("streams: table join: both tables need a store to look values up in; materialize them (Materialized)"))
		return &Table[K, VR]{b: b, node: left.node}
	}
	thisPrefix, otherPrefix := prefixTableJoinThis, prefixTableJoinOther
	switch kind {
	case leftJoin:
		thisPrefix, otherPrefix = prefixTableLeftThis, prefixTableLeftOther
	case outerJoin:
		thisPrefix, otherPrefix = prefixTableOuterThis, prefixTableOuterOther
	}
	var thisName, otherName, mergeName string
	if named != "" {
		thisName, otherName, mergeName = named+"-join-this", named+"-join-other", named
	} else {
		thisName, otherName, mergeName = b.newName(thisPrefix), b.newName(otherPrefix), b.newName(prefixTableMerge)
	}
	lg, rg := left.getter, right.getter
	AddProcessor(b, thisName, func() Processor[K, change[V], K, change[VR]] {
		return &tableJoinProc[K, V, VO, VR]{getter: rg, kind: kind, thisIsLeft: true,
			joiner: func(k K, this *V, other *VO) VR { return joiner(k, this, other) }}
	}, left.node)
	AddProcessor(b, otherName, func() Processor[K, change[VO], K, change[VR]] {
		return &tableJoinProc[K, VO, V, VR]{getter: lg, kind: kind, thisIsLeft: false,
			joiner: func(k K, this *VO, other *V) VR { return joiner(k, other, this) }}
	}, right.node)
	ConnectStores(b, thisName, rg.storeNames()...)
	ConnectStores(b, otherName, lg.storeNames()...)
	store := resultStore(b, materialized, &mat, prefixTableMerge)
	AddProcessor(b, mergeName, func() Processor[K, change[VR], K, change[VR]] {
		return &tableMergeProc[K, VR]{storedOutput[K, VR]{store: store}}
	}, thisName, otherName)
	out := &Table[K, VR]{b: b, node: mergeName, keySerde: left.keySerde}
	if store != "" {
		out.valueSerde = keepResult(out, mat).valueSerde
	} else {
		out.getter = joinedGetter[K, V, VO, VR]{left: lg, right: rg, kind: kind, joiner: joiner}
	}
	copartition(b, left.node, right.node)
	return out
}

// tableJoinProc is one side of a table-table join (Kafka Streams'
// KTableKTableInnerJoin, LeftJoin, RightJoin and OuterJoin in one): on a
// change of this side it looks the other side up and emits the change of
// the join result, the new result computed from the new value and the old
// one from the old value. A side with no result before or after emits
// nothing, so deletes reach downstream only for results that existed.
type tableJoinProc[K, VThis, VOther, VR any] struct {
	ctx        ProcessorContext[K, change[VR]]
	getter     tableGetter[K, VOther]
	get        func(K) (ValueAndTimestamp[VOther], bool, error)
	kind       joinKind
	thisIsLeft bool
	joiner     func(K, *VThis, *VOther) VR
	task       *streamTask
}

func (p *tableJoinProc[K, VThis, VOther, VR]) Init(ctx ProcessorContext[K, change[VR]]) error {
	p.ctx = ctx
	g, err := p.getter.newGetter(ctx)
	if err != nil {
		return err
	}
	p.get = g
	if n, ok := ctx.(interface{ taskOf() *streamTask }); ok {
		p.task = n.taskOf()
	}
	return nil
}

func (p *tableJoinProc[K, VThis, VOther, VR]) Close() error { return nil }

func (p *tableJoinProc[K, VThis, VOther, VR]) exists(this, other bool) bool {
	if p.thisIsLeft {
		return p.kind.exists(this, other)
	}
	return p.kind.exists(other, this)
}

func (p *tableJoinProc[K, VThis, VOther, VR]) Process(r Record[K, change[VThis]]) error {
	if r.KeyIsNull() {
		if p.task != nil {
			dropNull(p.task, "table-table join")
		}
		return nil
	}
	ov, ok, err := p.get(r.Key)
	if err != nil {
		return err
	}
	var other *VOther
	ts := r.Timestamp
	if ok {
		other = &ov.Value
		ts = max(ts, ov.Timestamp)
	}
	c := r.Value
	var out change[VR]
	if p.exists(c.hasNew, ok) {
		var this *VThis
		if c.hasNew {
			this = &c.newV
		}
		out.newV, out.hasNew = p.joiner(r.Key, this, other), true
	}
	if p.exists(c.hasOld, ok) {
		var this *VThis
		if c.hasOld {
			this = &c.oldV
		}
		out.oldV, out.hasOld = p.joiner(r.Key, this, other), true
	}
	if !out.hasNew && !out.hasOld {
		return nil
	}
	return p.ctx.Forward(Record[K, change[VR]]{Key: r.Key, Value: out, Timestamp: ts, Headers: r.Headers})
}

// tableMergeProc merges the two sides of a table join and, when the result
// is materialized, keeps it in its store (the old value then comes from
// the store).
type tableMergeProc[K, V any] struct{ storedOutput[K, V] }

func (p *tableMergeProc[K, V]) Process(r Record[K, change[V]]) error {
	if p.s == nil {
		return p.ctx.Forward(r)
	}
	old, hadOld, err := p.s.get(r.Key)
	if err != nil {
		return err
	}
	if r.Value.hasNew {
		err = p.s.put(r.Key, ValueAndTimestamp[V]{Value: r.Value.newV, Timestamp: r.Timestamp})
	} else {
		if !hadOld {
			return nil
		}
		err = p.s.delete(r.Key, r.Timestamp)
	}
	if err != nil {
		return err
	}
	if p.s.caching() {
		return nil
	}
	out := r
	out.Value = change[V]{newV: r.Value.newV, hasNew: r.Value.hasNew, oldV: old.Value, hasOld: hadOld}
	return p.ctx.Forward(out)
}

// joinedGetter looks a table-table join result up from both sides' stores
// (Kafka Streams' KTableKTableJoinValueGetter).
type joinedGetter[K, V, VO, VR any] struct {
	left   tableGetter[K, V]
	right  tableGetter[K, VO]
	kind   joinKind
	joiner func(K, *V, *VO) VR
}

func (g joinedGetter[K, V, VO, VR]) storeNames() []string {
	return append(append([]string(nil), g.left.storeNames()...), g.right.storeNames()...)
}

func (g joinedGetter[K, V, VO, VR]) newGetter(p StoreProvider) (func(K) (ValueAndTimestamp[VR], bool, error), error) {
	lg, err := g.left.newGetter(p)
	if err != nil {
		return nil, err
	}
	rg, err := g.right.newGetter(p)
	if err != nil {
		return nil, err
	}
	return func(k K) (ValueAndTimestamp[VR], bool, error) {
		var zero ValueAndTimestamp[VR]
		lv, lok, err := lg(k)
		if err != nil {
			return zero, false, err
		}
		rv, rok, err := rg(k)
		if err != nil {
			return zero, false, err
		}
		if !g.kind.exists(lok, rok) {
			return zero, false, nil
		}
		var l *V
		var r *VO
		ts := int64(-1)
		if lok {
			l, ts = &lv.Value, lv.Timestamp
		}
		if rok {
			r, ts = &rv.Value, max(ts, rv.Timestamp)
		}
		return ValueAndTimestamp[VR]{Value: g.joiner(k, l, r), Timestamp: ts}, true, nil
	}, nil
}
