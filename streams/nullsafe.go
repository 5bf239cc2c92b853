package streams

// Null safety of the stateless operators.
//
// Kafka's null value (a tombstone) cannot be held by most Go types, so a
// user function given a tombstone's value would see V's zero value and
// could not tell it from a real one; what it returned would then travel on
// as a real value. So the operators that take a user function never call it
// for a tombstone:
//
//   - MapValues and FlatMapValues forward one tombstone (of the new value
//     type) with the same key;
//   - Filter, FilterNot and Peek pass it on unchanged; Foreach skips it;
//   - Map, FlatMap and SelectKey (and GroupBy's key selector) compute a
//     new key from the value, which a tombstone has not: they drop it and
//     count it as a dropped record (aggregations skip tombstones anyway);
//   - Split's Branch predicates do not match it: it goes to the first
//     BranchNullable branch that takes it, else to the default branch.
//
// Each of these operators has a null-aware twin named with the suffix
// Nullable (MapValuesNullable, FilterNullable, ...): its function receives
// the value as a Nullable[V], which says whether the value is null, and
// the mapping twins return Nullable values, so they can also turn a record
// into a tombstone. Process and ProcessValues are null-aware by nature:
// the processor gets the Record, whose ValueIsNull says it.

// Nullable is a value that may be Kafka's null, as database/sql's Null:
// Valid is false for null (a tombstone's value), and V is then the zero
// value. The zero Nullable is null.
type Nullable[V any] struct {
	V     V
	Valid bool
}

// NonNull returns a Nullable holding v.
func NonNull[V any](v V) Nullable[V] { return Nullable[V]{V: v, Valid: true} }

// Null returns Kafka's null for a value of type V.
func Null[V any]() Nullable[V] { return Nullable[V]{} }

// IsNull reports whether n is null.
func (n Nullable[V]) IsNull() bool { return !n.Valid }

// nullableOf returns r's value as a Nullable.
func nullableOf[K, V any](r Record[K, V]) Nullable[V] {
	return Nullable[V]{V: r.Value, Valid: !r.ValueIsNull()}
}

// nullOf returns a tombstone of value type VR with r's key, key-null flag,
// timestamp and headers.
func nullOf[VR, K, V any](r Record[K, V]) Record[K, VR] {
	var zero VR
	out := rekey(r, r.Key, zero, true, false)
	out.flags |= flagNullValue
	return out
}

// withNullable returns r carrying v: its value, or a tombstone when v is
// null.
func withNullable[K, V any](r Record[K, V], v Nullable[V]) Record[K, V] {
	r.Value = v.V
	if v.Valid {
		r.flags &^= flagNullValue
	} else {
		r.flags |= flagNullValue
	}
	return r
}

// dropTombstone counts a tombstone a key-changing operator cannot key.
// Logged at debug level only: a table's update stream carries tombstones
// as a matter of course.
func (p *statelessProc[KOut, VOut]) dropTombstone(op string) {
	if p.task == nil {
		return
	}
	p.task.cfg.Stats.DroppedRecords.Add(1)
	if meta, ok := p.task.recordMetadata(); ok {
		p.task.cfg.Logger.Debug("streams: dropping a tombstone: "+op+" computes a key from the value; use the Nullable form to map tombstones",
			"task", p.task.id.String(), "topic", meta.Topic, "partition", meta.Partition, "offset", meta.Offset)
	}
}

func (bp *branchPred[K, V]) matches(r Record[K, V], null bool) bool {
	switch {
	case bp.nullable != nil:
		return bp.nullable(r.Key, Nullable[V]{V: r.Value, Valid: !null})
	case bp.pred == nil:
		return true // the default branch
	case null:
		return false
	default:
		return bp.pred(r.Key, r.Value)
	}
}

// ---- the null-aware forms ----

type filterNullableProc[K, V any] struct {
	statelessProc[K, V]
	pred func(K, Nullable[V]) bool
	not  bool
}

func (p *filterNullableProc[K, V]) Process(r Record[K, V]) error {
	if p.pred(r.Key, nullableOf(r)) != p.not {
		return p.ctx.Forward(r)
	}
	return nil
}

// FilterNullable is Filter whose predicate also decides on tombstones: it
// gets the value as a Nullable, null for a tombstone.
func (s *Stream[K, V]) FilterNullable(pred func(key K, value Nullable[V]) bool, named ...Named) *Stream[K, V] {
	return derive(s, prefixFilter, named, func() Processor[K, V, K, V] { return &filterNullableProc[K, V]{pred: pred} }, s.keySerde, s.valueSerde, s.repartition)
}

// FilterNotNullable is FilterNot whose predicate also decides on
// tombstones.
func (s *Stream[K, V]) FilterNotNullable(pred func(key K, value Nullable[V]) bool, named ...Named) *Stream[K, V] {
	return derive(s, prefixFilter, named, func() Processor[K, V, K, V] { return &filterNullableProc[K, V]{pred: pred, not: true} }, s.keySerde, s.valueSerde, s.repartition)
}

type peekNullableProc[K, V any] struct {
	statelessProc[K, V]
	fn       func(K, Nullable[V])
	terminal bool
}

func (p *peekNullableProc[K, V]) Process(r Record[K, V]) error {
	p.fn(r.Key, nullableOf(r))
	if p.terminal {
		return nil
	}
	return p.ctx.Forward(r)
}

// PeekNullable is Peek whose function also sees tombstones (as a null
// Nullable).
func (s *Stream[K, V]) PeekNullable(fn func(key K, value Nullable[V]), named ...Named) *Stream[K, V] {
	return derive(s, prefixPeek, named, func() Processor[K, V, K, V] { return &peekNullableProc[K, V]{fn: fn} }, s.keySerde, s.valueSerde, s.repartition)
}

// ForeachNullable is Foreach whose function also sees tombstones.
func (s *Stream[K, V]) ForeachNullable(fn func(key K, value Nullable[V]), named ...Named) {
	derive(s, prefixForeach, named, func() Processor[K, V, K, V] { return &peekNullableProc[K, V]{fn: fn, terminal: true} }, s.keySerde, s.valueSerde, false)
}

type mapNullableProc[K, V, KR, VR any] struct {
	statelessProc[KR, VR]
	fn func(K, Nullable[V]) (KR, Nullable[VR])
}

func (p *mapNullableProc[K, V, KR, VR]) Process(r Record[K, V]) error {
	k, v := p.fn(r.Key, nullableOf(r))
	return p.ctx.Forward(withNullable(rekey(r, k, v.V, false, false), v))
}

// MapNullable is Map whose function also sees tombstones and may return
// a null value (a tombstone).
func MapNullable[K, V, KR, VR any](s *Stream[K, V], fn func(key K, value Nullable[V]) (KR, Nullable[VR]), named ...Named) *Stream[KR, VR] {
	return derive(s, prefixMap, named, func() Processor[K, V, KR, VR] { return &mapNullableProc[K, V, KR, VR]{fn: fn} }, nil, nil, true)
}

type mapValuesNullableProc[K, V, VR any] struct {
	statelessProc[K, VR]
	fn func(K, Nullable[V]) Nullable[VR]
}

func (p *mapValuesNullableProc[K, V, VR]) Process(r Record[K, V]) error {
	v := p.fn(r.Key, nullableOf(r))
	return p.ctx.Forward(withNullable(rekey(r, r.Key, v.V, true, false), v))
}

// MapValuesNullable is MapValues whose function also sees tombstones and
// may return a null value (a tombstone).
func MapValuesNullable[K, V, VR any](s *Stream[K, V], fn func(key K, value Nullable[V]) Nullable[VR], named ...Named) *Stream[K, VR] {
	return derive(s, prefixMapValues, named, func() Processor[K, V, K, VR] { return &mapValuesNullableProc[K, V, VR]{fn: fn} }, s.keySerde, nil, s.repartition)
}

type flatMapNullableProc[K, V, KR, VR any] struct {
	statelessProc[KR, VR]
	fn func(K, Nullable[V]) []KeyValue[KR, Nullable[VR]]
}

func (p *flatMapNullableProc[K, V, KR, VR]) Process(r Record[K, V]) error {
	for _, kv := range p.fn(r.Key, nullableOf(r)) {
		if err := p.ctx.Forward(withNullable(rekey(r, kv.Key, kv.Value.V, false, false), kv.Value)); err != nil {
			return err
		}
	}
	return nil
}

// FlatMapNullable is FlatMap whose function also sees tombstones and may
// return null values.
func FlatMapNullable[K, V, KR, VR any](s *Stream[K, V], fn func(key K, value Nullable[V]) []KeyValue[KR, Nullable[VR]], named ...Named) *Stream[KR, VR] {
	return derive(s, prefixFlatMap, named, func() Processor[K, V, KR, VR] { return &flatMapNullableProc[K, V, KR, VR]{fn: fn} }, nil, nil, true)
}

type flatMapValuesNullableProc[K, V, VR any] struct {
	statelessProc[K, VR]
	fn func(K, Nullable[V]) []Nullable[VR]
}

func (p *flatMapValuesNullableProc[K, V, VR]) Process(r Record[K, V]) error {
	for _, v := range p.fn(r.Key, nullableOf(r)) {
		if err := p.ctx.Forward(withNullable(rekey(r, r.Key, v.V, true, false), v)); err != nil {
			return err
		}
	}
	return nil
}

// FlatMapValuesNullable is FlatMapValues whose function also sees
// tombstones and may return null values.
func FlatMapValuesNullable[K, V, VR any](s *Stream[K, V], fn func(key K, value Nullable[V]) []Nullable[VR], named ...Named) *Stream[K, VR] {
	return derive(s, prefixFlatMapValues, named, func() Processor[K, V, K, VR] { return &flatMapValuesNullableProc[K, V, VR]{fn: fn} }, s.keySerde, nil, s.repartition)
}

type selectKeyNullableProc[K, V, KR any] struct {
	statelessProc[KR, V]
	fn func(K, Nullable[V]) KR
}

func (p *selectKeyNullableProc[K, V, KR]) Process(r Record[K, V]) error {
	return p.ctx.Forward(rekey(r, p.fn(r.Key, nullableOf(r)), r.Value, false, true))
}

// SelectKeyNullable is SelectKey whose function also sees tombstones; a
// tombstone keeps its null value under the new key.
func SelectKeyNullable[K, V, KR any](s *Stream[K, V], fn func(key K, value Nullable[V]) KR, named ...Named) *Stream[KR, V] {
	return derive(s, prefixKeySelect, named, func() Processor[K, V, KR, V] { return &selectKeyNullableProc[K, V, KR]{fn: fn} }, nil, s.valueSerde, true)
}

// BranchNullable is Branch whose predicate also sees tombstones.
func (bs *BranchedStream[K, V]) BranchNullable(pred func(key K, value Nullable[V]) bool, branch ...string) *BranchedStream[K, V] {
	return bs.addPredicate(branchPred[K, V]{nullable: pred}, branch)
}
