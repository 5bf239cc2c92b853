package streams

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"sync/atomic"
	"time"

	"github.com/rivulet-io/rivulet/topology"
)

// Versioned key-value stores (Kafka Streams' VersionedKeyValueStore,
// KIP-889): a store that keeps, per key, every value with the time it
// became valid, for a history retention, so a lookup can ask for the value
// a key had at a given time. A table materialized with WithVersioning keeps
// its values in one; a stream-table join against such a table joins each
// stream record with the table value as of the record's timestamp (KIP-914)
// instead of the latest one.
//
// Layout over a plain bytes store (Badger or memory), one entry per
// version: key = uvarint(len(k)) ‖ k ‖ big-endian (MaxInt64 - validFrom),
// so a key's versions sort newest first; value = a flag byte (0: a value,
// 1: a delete) ‖ the serialized value. The changelog carries the same
// entries (compacted: each version is its own key), and a pruned version
// is deleted with a tombstone, so a restore rebuilds the history exactly.

// VersionedRecord is one version of a key's value: the value and the time
// from which it is valid.
type VersionedRecord[V any] struct {
	Value     V
	Timestamp int64
}

// VersionedKeyValueStore is the typed view of a versioned store.
type VersionedKeyValueStore[K, V any] interface {
	StateStore
	// Get returns key's latest value; false when key has none or its latest
	// version is a delete.
	Get(key K) (VersionedRecord[V], bool, error)
	// GetAsOf returns the value key had at time asOf: the latest version
	// that became valid at or before asOf; false when there is none (or it
	// is a delete, or asOf is older than the history kept).
	GetAsOf(key K, asOf int64) (VersionedRecord[V], bool, error)
}

// WithVersioning keeps the table's history: every value of a key with the
// time it became valid, for historyRetention of the table's stream time
// (the latest timestamp it received; KIP-889).
// Stream-table joins against the table then look values up as of the
// stream record's time. Caching does not apply to versioned stores.
func (m Materialized[K, V]) WithVersioning(historyRetention time.Duration) Materialized[K, V] {
	m.history = historyRetention
	return m
}

// versionedFactory makes versioned stores: a logged bytes key-value store
// plus the typed view.
type versionedFactory[K, V any] struct {
	inner      *kvFactory[[]byte, []byte]
	keySerde   Serde[K]
	valueSerde Serde[V]
	history    int64 // ms
}

func newVersionedFactory[K, V any](m Materialized[K, V]) *versionedFactory[K, V] {
	return &versionedFactory[K, V]{
		inner: &kvFactory[[]byte, []byte]{name: m.name, keySerde: BytesSerde(), valueSerde: BytesSerde(),
			logging: !m.noLog, logConfig: m.logConfig, storeType: m.storeType, ownOps: true},
		keySerde: serdeOr(m.keySerde), valueSerde: serdeOr(m.valueSerde), history: m.history.Milliseconds(),
	}
}

func (f *versionedFactory[K, V]) spec() topology.Store {
	s := f.inner.spec()
	s.Supplier = f
	return s
}

func (f *versionedFactory[K, V]) open(t *streamTask) (taskStore, error) {
	ts, err := f.inner.open(t)
	if err != nil {
		return nil, err
	}
	vs := &versionedStore[K, V]{kvStore: ts.(*kvStore[[]byte, []byte]), keySerde: f.keySerde, valueSerde: f.valueSerde, history: f.history}
	vs.observed.Store(math.MinInt64)
	return vs, nil
}

// versionedStore is a versioned store over a bytes store.
type versionedStore[K, V any] struct {
	*kvStore[[]byte, []byte]
	keySerde   Serde[K]
	valueSerde Serde[V]
	history    int64
	// observed is the store's own stream time: the latest timestamp put
	// into it (math.MinInt64 before the first), as Kafka Streams' versioned
	// store keeps it. The history is measured back from it, not from the
	// task's stream time, which other inputs of the task (a join's stream
	// side) move on. It starts afresh when the store is opened, as
	// Kafka's does when reopened without a restore (a restore there
	// starts it at the latest restored timestamp). Written on the task's
	// goroutine, read by interactive queries too.
	observed atomic.Int64
}

func (s *versionedStore[K, V]) describe() string {
	return fmt.Sprintf("VersionedKeyValueStore[%s, %s]", typeName[K](), typeName[V]())
}

func typeName[T any]() string {
	var zero T
	return fmt.Sprintf("%T", zero)
}

const (
	versionValue  byte = 0
	versionDelete byte = 1
)

// keyPrefix is uvarint(len(kb)) ‖ kb: no key's prefix is another key's.
func keyPrefix(kb []byte) []byte {
	out := binary.AppendUvarint(make([]byte, 0, len(kb)+binary.MaxVarintLen64+8), uint64(len(kb)))
	return append(out, kb...)
}

func versionKey(prefix []byte, validFrom int64) []byte {
	out := append([]byte(nil), prefix...)
	return binary.BigEndian.AppendUint64(out, uint64(math.MaxInt64-max(validFrom, 0)))
}

func (s *versionedStore[K, V]) serVersionKey(key K) ([]byte, error) {
	kb, err := s.keySerde.Serialize(key)
	if err != nil {
		return nil, fmt.Errorf("streams: store %q: serialize key: %w", s.name, err)
	}
	return keyPrefix(kb), nil
}

// version is one decoded entry.
type version struct {
	key       []byte // the entry's store key
	validFrom int64
	deleted   bool
	value     []byte
}

// versions returns the versions of the key with prefix, newest first, that
// became valid at or before asOf (all of them with math.MaxInt64), at most
// limit of them when limit > 0.
func (s *versionedStore[K, V]) versions(prefix []byte, asOf int64, limit int) ([]version, error) {
	from := versionKey(prefix, asOf)
	to := versionKey(prefix, 0)
	it, err := s.raw.Range(from, to)
	if err != nil {
		return nil, fmt.Errorf("streams: store %q: %w", s.name, err)
	}
	var out []version
	for it.Next() && (limit <= 0 || len(out) < limit) {
		k, v := it.Key(), it.Value()
		if len(k) != len(prefix)+8 || len(v) < 1 || v[0] > versionDelete {
			it.Close()
			return nil, fmt.Errorf("streams: store %q: damaged version entry", s.name)
		}
		out = append(out, version{
			key:       append([]byte(nil), k...),
			validFrom: math.MaxInt64 - int64(binary.BigEndian.Uint64(k[len(prefix):])),
			deleted:   v[0] == versionDelete,
			value:     append([]byte(nil), v[1:]...),
		})
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("streams: store %q: %w", s.name, err)
	}
	return out, nil
}

func (s *versionedStore[K, V]) decodeVersion(v version) (VersionedRecord[V], bool, error) {
	if v.deleted {
		return VersionedRecord[V]{}, false, nil
	}
	val, err := s.valueSerde.Deserialize(v.value)
	if err != nil {
		return VersionedRecord[V]{}, false, fmt.Errorf("streams: store %q: deserialize value: %w", s.name, err)
	}
	return VersionedRecord[V]{Value: val, Timestamp: v.validFrom}, true, nil
}

// GetAsOf implements VersionedKeyValueStore.
func (s *versionedStore[K, V]) GetAsOf(key K, asOf int64) (VersionedRecord[V], bool, error) {
	if s.m != nil {
		defer s.m.done(opGet, s.m.start())
	}
	return s.getAsOf(key, asOf)
}

func (s *versionedStore[K, V]) getAsOf(key K, asOf int64) (VersionedRecord[V], bool, error) {
	// As Kafka Streams' versioned store: a time older than the history
	// has no value, even where the key's old versions are not pruned yet
	// (they are pruned only when the key is written).
	if o := s.observed.Load(); o != math.MinInt64 && asOf < o-s.history {
		return VersionedRecord[V]{}, false, nil
	}
	prefix, err := s.serVersionKey(key)
	if err != nil {
		return VersionedRecord[V]{}, false, err
	}
	vs, err := s.versions(prefix, asOf, 1)
	if err != nil || len(vs) == 0 {
		return VersionedRecord[V]{}, false, err
	}
	return s.decodeVersion(vs[0])
}

// Get implements VersionedKeyValueStore.
func (s *versionedStore[K, V]) Get(key K) (VersionedRecord[V], bool, error) {
	if s.m != nil {
		defer s.m.done(opGet, s.m.start())
	}
	return s.getAsOf(key, math.MaxInt64)
}

// latest returns key's newest version (a delete included), if any.
func (s *versionedStore[K, V]) latest(prefix []byte) (version, bool, error) {
	if s.m != nil {
		defer s.m.done(opGet, s.m.start())
	}
	vs, err := s.versions(prefix, math.MaxInt64, 1)
	if err != nil || len(vs) == 0 {
		return version{}, false, err
	}
	return vs[0], true, nil
}

// put writes a version of key valid from ts (a delete when del), unless ts
// is older than the history kept (the store's stream time - history), and
// prunes the key's versions no lookup within the history can reach. It
// reports whether the version was written.
func (s *versionedStore[K, V]) put(prefix []byte, value V, del bool, ts int64) (bool, error) {
	if s.m != nil {
		defer s.m.done(opPut, s.m.start())
	}
	observed := max(s.observed.Load(), ts)
	horizon := observed - s.history
	if ts < horizon {
		return false, nil
	}
	s.observed.Store(observed)
	vb := []byte{versionDelete}
	if !del {
		b, err := s.valueSerde.Serialize(value)
		if err != nil {
			return false, fmt.Errorf("streams: store %q: serialize value: %w", s.name, err)
		}
		vb = append([]byte{versionValue}, b...)
	}
	if err := s.putBytes(versionKey(prefix, ts), vb); err != nil {
		return false, err
	}
	// Keep every version valid after the horizon and the one valid at it;
	// older ones can no longer be asked for.
	vs, err := s.versions(prefix, math.MaxInt64, 0)
	if err != nil {
		return true, err
	}
	for i, v := range vs {
		if v.validFrom <= horizon {
			for _, old := range vs[i+1:] {
				if err := s.putBytes(old.key, nil); err != nil {
					return true, err
				}
			}
			break
		}
	}
	return true, nil
}

// GetVersionedKeyValueStore returns the named versioned store (the store of
// a table materialized WithVersioning) for reading: from a processor's
// context, or from a streamstest.Driver.
func GetVersionedKeyValueStore[K, V any](p StoreProvider, name string) (VersionedKeyValueStore[K, V], error) {
	s, err := p.StateStore(name)
	if err != nil {
		return nil, err
	}
	if vs, ok := s.(*versionedStore[K, V]); ok {
		return vs, nil
	}
	return nil, fmt.Errorf("streams: store %q is a %s, not a versioned store of %s", name, describeStore(s), typesOf[K, V]())
}

// ---- versioned tables ----

// materializeVersioned adds the source processor of a versioned table.
func materializeVersioned[K, V any](s *Stream[K, V], procName string, m Materialized[K, V]) *Table[K, V] {
	b := s.b
	if m.history <= 0 {
		b.fail(fmt.Errorf("streams: versioned store %q: history retention must be positive", m.name))
	}
	f := newVersionedFactory[K, V](m)
	AddProcessor(b, procName, func() Processor[K, V, K, change[V]] {
		return &versionedSourceProc[K, V]{store: m.name}
	}, s.node)
	addStoreFactory(b, f, procName)
	return &Table[K, V]{b: b, node: procName, keySerde: f.keySerde, valueSerde: f.valueSerde, store: m.name, getter: versionedGetter[K, V]{store: m.name}}
}

type versionedSourceProc[K, V any] struct {
	ctx   ProcessorContext[K, change[V]]
	store string
	s     *versionedStore[K, V]
	task  *streamTask
}

func (p *versionedSourceProc[K, V]) Init(ctx ProcessorContext[K, change[V]]) error {
	p.ctx = ctx
	vs, err := storeAs[*versionedStore[K, V]](ctx, p.store, "a versioned store of "+typesOf[K, V]())
	if err != nil {
		return err
	}
	p.s = vs
	if n, ok := ctx.(interface{ taskOf() *streamTask }); ok {
		p.task = n.taskOf()
	}
	return nil
}

func (p *versionedSourceProc[K, V]) Close() error { return nil }

// Process writes the record as a version. An update older than the key's
// latest version changes the history but not the table's current value,
// so nothing goes downstream (Kafka Streams forwards it marked as not the
// latest, and only its aggregations and table joins skip it: see the
// deviations in docs/streams-windows-joins.md); an update older than the
// history kept is dropped.
func (p *versionedSourceProc[K, V]) Process(r Record[K, V]) error {
	if r.KeyIsNull() {
		if p.task != nil {
			dropNull(p.task, "versioned table")
		}
		return nil
	}
	prefix, err := p.s.serVersionKey(r.Key)
	if err != nil {
		return err
	}
	prev, hadPrev, err := p.s.latest(prefix)
	if err != nil {
		return err
	}
	written, err := p.s.put(prefix, r.Value, r.ValueIsNull(), r.Timestamp)
	if err != nil {
		return err
	}
	if !written {
		if p.task != nil {
			p.task.cfg.Stats.DroppedRecords.Add(1)
		}
		return nil
	}
	if hadPrev && r.Timestamp < prev.validFrom {
		return nil // out of order: the current value did not change
	}
	var c change[V]
	if hadPrev && !prev.deleted {
		old, _, err := p.s.decodeVersion(prev)
		if err != nil {
			return err
		}
		c.oldV, c.hasOld = old.Value, true
	}
	if !r.ValueIsNull() {
		c.newV, c.hasNew = r.Value, true
	}
	if !c.hasNew && !c.hasOld {
		return nil
	}
	return p.ctx.Forward(rekey(r, r.Key, c, true, false))
}

// versionedGetter looks a versioned table up: the latest value, or (for
// stream-table joins) the value as of a time.
type versionedGetter[K, V any] struct{ store string }

func (g versionedGetter[K, V]) storeNames() []string { return []string{g.store} }

func (g versionedGetter[K, V]) open(p StoreProvider) (*versionedStore[K, V], error) {
	return storeAs[*versionedStore[K, V]](p, g.store, "a versioned store of these types")
}

func (g versionedGetter[K, V]) newGetter(p StoreProvider) (func(K) (ValueAndTimestamp[V], bool, error), error) {
	vs, err := g.open(p)
	if err != nil {
		return nil, err
	}
	return func(k K) (ValueAndTimestamp[V], bool, error) {
		r, ok, err := vs.Get(k)
		return ValueAndTimestamp[V](r), ok, err
	}, nil
}

// asOfGetter is a table getter that can look values up as of a time.
type asOfGetter[K, V any] interface {
	newAsOfGetter(p StoreProvider) (func(K, int64) (ValueAndTimestamp[V], bool, error), error)
}

func (g versionedGetter[K, V]) newAsOfGetter(p StoreProvider) (func(K, int64) (ValueAndTimestamp[V], bool, error), error) {
	vs, err := g.open(p)
	if err != nil {
		return nil, err
	}
	return func(k K, ts int64) (ValueAndTimestamp[V], bool, error) {
		r, ok, err := vs.GetAsOf(k, ts)
		return ValueAndTimestamp[V](r), ok, err
	}, nil
}

// refuseVersioning fails the build when a Materialized asks for versioning
// where it is not given (windowed and session stores).
func refuseVersioning(b *Builder, store string, history time.Duration) {
	if history != 0 {
		b.fail(fmt.Errorf("streams: store %q: versioning (WithVersioning) applies to tables from NewTable and ToTable only", store))
	}
}

func (f *tsFactory[K, V]) versioningIgnored() bool { return f.versioned }

// checkVersioning refuses every table store whose Materialized asked for
// versioning that its operator does not give, so no table silently keeps
// only the latest values.
func (b *Builder) checkVersioning() {
	names := make([]string, 0, len(b.stores))
	for name := range b.stores {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if v, ok := b.stores[name].(interface{ versioningIgnored() bool }); ok && v.versioningIgnored() {
			refuseVersioning(b, name, 1)
		}
	}
}
