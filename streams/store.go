package streams

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/memstore"
	"github.com/rivulet-io/rivulet/topology"
)

// StateStore is what every store a processor can reach has. Type-assert it,
// or use GetKeyValueStore, for the typed interface.
type StateStore interface {
	// Name is the store's name in the topology.
	Name() string
	// Persistent reports whether the store keeps its data on disk.
	Persistent() bool
}

// StoreProvider finds stores by name; every ProcessorContext is one.
type StoreProvider interface {
	StateStore(name string) (StateStore, error)
}

// KeyValueIterator walks typed entries in the byte order of the serialized
// keys. It must be closed.
type KeyValueIterator[K, V any] interface {
	// Next moves to the next entry; false at the end or on an error.
	Next() bool
	// Key and Value are the current entry's key and value.
	Key() K
	Value() V
	// Err is the first error met (decoding included).
	Err() error
	// Close releases the iterator and returns Err.
	Close() error
}

// ReadOnlyKeyValueStore is the read side of a typed key-value store. Ranges
// are in the byte order of the serialized keys (for StringSerde, the strings'
// byte order; for Int64Serde, numeric order of non-negative values), with
// inclusive bounds.
type ReadOnlyKeyValueStore[K, V any] interface {
	StateStore
	// Get returns key's value and whether it is present.
	Get(key K) (V, bool, error)
	// Range returns the entries with from <= key <= to.
	Range(from, to K) (KeyValueIterator[K, V], error)
	// ReverseRange is Range in descending order.
	ReverseRange(from, to K) (KeyValueIterator[K, V], error)
	// PrefixScan returns the entries whose serialized key starts with the
	// serialized prefix.
	PrefixScan(prefix K) (KeyValueIterator[K, V], error)
	// All returns every entry.
	All() (KeyValueIterator[K, V], error)
	// ReverseAll is All in descending order.
	ReverseAll() (KeyValueIterator[K, V], error)
	// ApproximateNumEntries estimates the number of entries.
	ApproximateNumEntries() (int64, error)
}

// KeyValueStore is a typed key-value store. Writes from a processor also go
// to the store's changelog when logging is on.
type KeyValueStore[K, V any] interface {
	ReadOnlyKeyValueStore[K, V]
	// Put sets key to value.
	Put(key K, value V) error
	// PutIfAbsent sets key to value only when key is absent; it returns the
	// value that was there and whether there was one.
	PutIfAbsent(key K, value V) (V, bool, error)
	// PutAll puts every entry.
	PutAll(entries []KeyValue[K, V]) error
	// Delete removes key and returns its old value and whether it existed.
	Delete(key K) (V, bool, error)
}

// ValueAndTimestamp is a value with the timestamp of the record that last
// updated it: what the DSL's table and aggregation stores hold.
type ValueAndTimestamp[V any] struct {
	Value     V
	Timestamp int64
}

// GetKeyValueStore returns the named store as a typed key-value store. For
// the stores of DSL tables and aggregations, both KeyValueStore[K, V] and
// KeyValueStore[K, ValueAndTimestamp[V]] work (the first one reads and
// writes plain values; writes through it use the current time).
func GetKeyValueStore[K, V any](p StoreProvider, name string) (KeyValueStore[K, V], error) {
	s, err := p.StateStore(name)
	if err != nil {
		return nil, err
	}
	if kv, ok := s.(KeyValueStore[K, V]); ok {
		return meterKV(s, kv), nil
	}
	if pv, ok := s.(interface{ plainView() any }); ok {
		if kv, ok := pv.plainView().(KeyValueStore[K, V]); ok {
			return meterKV(s, kv), nil
		}
	}
	return nil, fmt.Errorf("streams: store %q is a %s, not a KeyValueStore[%s, %s]", name, describeStore(s), reflect.TypeFor[K](), reflect.TypeFor[V]())
}

// storeAs returns p's store name as an S, the store (what, in errors) the
// processor asking for it needs.
func storeAs[S any](p StoreProvider, name, what string) (S, error) {
	var none S
	s, err := p.StateStore(name)
	if err != nil {
		return none, err
	}
	st, ok := s.(S)
	if !ok {
		return none, fmt.Errorf("streams: store %q is a %s, not %s", name, describeStore(s), what)
	}
	return st, nil
}

func describeStore(s StateStore) string {
	if d, ok := s.(interface{ describe() string }); ok {
		return d.describe()
	}
	return fmt.Sprintf("%T", s)
}

// ---- store builders (processor API) ----

// StoreBuilder describes a store to register with AddStateStore.
type StoreBuilder interface {
	factory() storeFactory
}

// KeyValueStoreBuilder describes a typed key-value store for the processor
// API. Logging is on and the store is persistent unless changed.
type KeyValueStoreBuilder[K, V any] struct {
	name       string
	keySerde   Serde[K]
	valueSerde Serde[V]
	noLog      bool
	logConfig  map[string]string
	storeType  StoreType
}

// NewKeyValueStoreBuilder returns a builder for a store named name (nil
// serdes pick the defaults).
func NewKeyValueStoreBuilder[K, V any](name string, keySerde Serde[K], valueSerde Serde[V]) KeyValueStoreBuilder[K, V] {
	return KeyValueStoreBuilder[K, V]{name: name, keySerde: keySerde, valueSerde: valueSerde}
}

// WithLoggingDisabled turns the changelog off.
func (b KeyValueStoreBuilder[K, V]) WithLoggingDisabled() KeyValueStoreBuilder[K, V] {
	b.noLog = true
	return b
}

// WithLoggingEnabled turns the changelog on with extra topic configs.
func (b KeyValueStoreBuilder[K, V]) WithLoggingEnabled(topicConfig map[string]string) KeyValueStoreBuilder[K, V] {
	b.noLog = false
	b.logConfig = topicConfig
	return b
}

// WithStoreType picks persistent (default) or in-memory.
func (b KeyValueStoreBuilder[K, V]) WithStoreType(t StoreType) KeyValueStoreBuilder[K, V] {
	b.storeType = t
	return b
}

func (b KeyValueStoreBuilder[K, V]) factory() storeFactory {
	return &kvFactory[K, V]{name: b.name, keySerde: serdeOr(b.keySerde), valueSerde: serdeOr(b.valueSerde),
		logging: !b.noLog, logConfig: b.logConfig, storeType: b.storeType}
}

// ---- factories and the store opener ----

// storeFactory is what topology.Store.Supplier holds for the runtime.
type storeFactory interface {
	spec() topology.Store
	// open opens the store for task t.
	open(t *streamTask) (taskStore, error)
}

// taskStore is a store opened for one task.
type taskStore interface {
	StateStore
	// flush writes cached entries through (forwarding and logging them) and
	// flushes the underlying store, durably.
	flush() error
	// flushWrites writes cached entries through (forwarding and logging
	// them) without making the underlying store durable
	// (statestore.WriteFlusher): what every commit does.
	flushWrites() error
	close() error
	// changelog returns the changelog partition, when logged.
	changelog() (TopicPartition, bool)
	// checkpoint is the changelog offset the store reflects, -1 if unknown.
	checkpoint() int64
	// restore applies changelog records.
	restore(recs []RawRecord) error
	// restored records that the store reflects the changelog up to next.
	restored(next int64) error
	// writeCheckpoint records that the store reflects the changelog up to
	// next (after a flush and a producer flush).
	writeCheckpoint(next int64) error
}

// storeOpener opens the bytes-level stores behind a task's typed stores.
// The runtime's opener keeps persistent stores under
// state.dir/<application.id>/<task>/<store> (Badger) and in-memory ones in
// memory; inMemoryStores keeps everything in memory.
type storeOpener interface {
	// OpenKeyValue opens task's store name, creating it if needed. For a
	// persistent, logged store it returns the checkpoint found with it; when
	// there is none (or it is damaged) the opener wipes the store, so a
	// restore from the start of the changelog rebuilds it exactly. An
	// in-memory store is always new and has no checkpoint.
	OpenKeyValue(task TaskID, name string, persistent, logged bool) (statestore.KeyValueStore, statestore.Checkpoint, error)
	// WriteCheckpoint records the changelog offsets a flushed store reflects.
	// A no-op for in-memory stores.
	WriteCheckpoint(task TaskID, name string, cp statestore.Checkpoint) error
}

// inMemoryStores returns a storeOpener that keeps every store in memory
// (memstore), whatever the topology asks: for tests.
func inMemoryStores() storeOpener { return memOpener{} }

type memOpener struct{}

func (memOpener) OpenKeyValue(_ TaskID, name string, _, _ bool) (statestore.KeyValueStore, statestore.Checkpoint, error) {
	return memstore.NewKeyValueStore(name, statestore.KeyValueOptions{}), nil, nil
}

func (memOpener) WriteCheckpoint(TaskID, string, statestore.Checkpoint) error { return nil }

// openStores opens the stores of the task's sub-topology.
func (t *streamTask) openStores() error {
	for _, name := range t.sub.Stores {
		f, ok := t.topo.stores[name]
		if !ok {
			spec := t.topo.t.Store(name)
			if spec != nil {
				if sf, ok := spec.Supplier.(storeFactory); ok {
					f = sf
				}
			}
		}
		if f == nil {
			return fmt.Errorf("store %q has no factory", name)
		}
		if t.cfg.Stores == nil {
			return fmt.Errorf("store %q: no StoreOpener configured", name)
		}
		s, err := f.open(t)
		if err != nil {
			return fmt.Errorf("open store %q: %w", name, err)
		}
		t.meterStore(name, s)
		t.stores[name] = s
		t.storeOrder = append(t.storeOrder, name)
	}
	return nil
}

func (t *streamTask) closeStores() error {
	var errs []error
	for _, name := range t.storeOrder {
		if err := t.stores[name].close(); err != nil {
			errs = append(errs, fmt.Errorf("store %q: %w", name, err))
		}
	}
	t.stores = map[string]taskStore{}
	t.storeOrder = nil
	return errors.Join(errs...)
}

// stateStore finds a store for a processor: one connected to it, or a
// global store.
func (t *streamTask) stateStore(node string, connected []string, name string) (StateStore, error) {
	for _, c := range connected {
		if c == name {
			if s, ok := t.stores[name]; ok {
				return s, nil
			}
		}
	}
	if s, ok := t.cfg.GlobalStores[name]; ok {
		return s, nil
	}
	if _, ok := t.stores[name]; ok {
		return nil, fmt.Errorf("streams: processor %q has no access to store %q: connect it (WithStores, ConnectStores)", node, name)
	}
	return nil, fmt.Errorf("streams: processor %q: no store named %q", node, name)
}

// changelogPartition is a changelog partition a task's store is restored
// from.
type changelogPartition struct {
	Store string
	TopicPartition
	// StartOffset is the next offset to read: the checkpointed offset, or 0
	// when the store is new (restore from the beginning).
	StartOffset int64
}

// changelogs returns the changelog partitions of the task's logged stores,
// for the runtime to restore them before Initialize.
func (t *streamTask) changelogs() []changelogPartition {
	var out []changelogPartition
	for _, name := range t.storeOrder {
		s := t.stores[name]
		tp, ok := s.changelog()
		if !ok {
			continue
		}
		start := s.checkpoint()
		if start < 0 {
			start = 0
		}
		out = append(out, changelogPartition{Store: name, TopicPartition: tp, StartOffset: start})
	}
	return out
}

func (t *streamTask) storeForChangelog(tp TopicPartition) (taskStore, error) {
	for _, name := range t.storeOrder {
		s := t.stores[name]
		if ctp, ok := s.changelog(); ok && ctp == tp {
			return s, nil
		}
	}
	return nil, fmt.Errorf("streams: task %s: %s is not a changelog of its stores", t.id, tp)
}

// RestoreRecords applies changelog records read from tp to the store it
// backs, bypassing logging and caching.
func (t *streamTask) RestoreRecords(tp TopicPartition, recs []RawRecord) error {
	return t.onChangelogStore(tp, "restore", func(s taskStore) error { return s.restore(recs) })
}

// onChangelogStore runs fn, the restore step op, on the store backed by
// changelog tp.
func (t *streamTask) onChangelogStore(tp TopicPartition, op string, fn func(taskStore) error) error {
	s, err := t.storeForChangelog(tp)
	if err != nil {
		return err
	}
	if err := fn(s); err != nil {
		return fmt.Errorf("streams: task %s: %s %s: %w", t.id, op, tp, err)
	}
	return nil
}

// FinishRestore records that the store backed by tp is restored up to
// next (the changelog's end offset when restore began), flushes it and
// writes its checkpoint.
func (t *streamTask) FinishRestore(tp TopicPartition, next int64) error {
	return t.onChangelogStore(tp, "finish restore of", func(s taskStore) error { return s.restored(next) })
}

// Checkpoint writes the checkpoints of the task's logged stores after a
// commit: acked maps changelog partitions to the offset after the last
// record of that partition the producer acknowledged. Stores whose
// changelog is not in acked keep their previous checkpoint.
func (t *streamTask) Checkpoint(acked map[TopicPartition]int64) error {
	if t.state == TaskClosed {
		return nil
	}
	for name, s := range t.loggedStores() {
		next, ok := acked[s.changelogTP()]
		if !ok {
			next = s.checkpoint()
			if next < 0 {
				continue
			}
		}
		if err := s.writeCheckpoint(next); err != nil {
			return fmt.Errorf("streams: task %s: checkpoint store %q: %w", t.id, name, err)
		}
	}
	return nil
}

// ---- typed key-value store ----

type kvFactory[K, V any] struct {
	name       string
	keySerde   Serde[K]
	valueSerde Serde[V]
	logging    bool
	logConfig  map[string]string
	storeType  StoreType
	global     bool
	ownOps     bool // a DSL operator's bytes store counting its own operations (metrics_dsl_bytes.go)
}

func (f *kvFactory[K, V]) spec() topology.Store {
	return topology.Store{Name: f.name, Kind: topology.KeyValueStoreKind, Logging: f.logging, LogConfig: f.logConfig, Supplier: f}
}

func (f *kvFactory[K, V]) open(t *streamTask) (taskStore, error) {
	// A global store is not logged, but its topic is its changelog: open it
	// as logged so it is wiped when it has no checkpoint.
	raw, cp, err := t.cfg.Stores.OpenKeyValue(t.id, f.name, f.storeType == PersistentStore, f.logging || f.global)
	if err != nil {
		return nil, err
	}
	s := &kvStore[K, V]{name: f.name, raw: raw, keySerde: f.keySerde, valueSerde: f.valueSerde, task: t, ckpt: -1, ownOps: f.ownOps}
	if f.global {
		s.globalCP = cp
		return s, nil
	}
	if f.logging {
		s.logged = true
		s.changelogTP = TopicPartition{Topic: t.topo.names.ChangelogTopic(f.name), Partition: t.id.Partition}
		if off, ok := cp[statestore.TopicPartition{Topic: s.changelogTP.Topic, Partition: s.changelogTP.Partition}]; ok {
			s.ckpt = off
		}
	}
	return s, nil
}

// kvStore is a typed key-value store over a bytes store, logging writes to
// the changelog through the task's collector.
type kvStore[K, V any] struct {
	name        string
	raw         statestore.KeyValueStore
	keySerde    Serde[K]
	valueSerde  Serde[V]
	task        *streamTask
	logged      bool
	changelogTP TopicPartition
	ckpt        int64
	globalCP    statestore.Checkpoint
	ownOps      bool
	m           *storeMeter // with ownOps, from DEBUG (metrics_dsl_bytes.go)
}

func (s *kvStore[K, V]) globalCheckpoint() statestore.Checkpoint { return s.globalCP }

// wipeGlobal deletes every entry of a global store, in place (stream
// threads keep reading the same store), and makes the deletion durable.
func (s *kvStore[K, V]) wipeGlobal() error {
	const batch = 4096
	for {
		it, err := s.raw.All()
		if err != nil {
			return err
		}
		var dels []statestore.KeyValue
		for len(dels) < batch && it.Next() {
			dels = append(dels, statestore.KeyValue{Key: bytes.Clone(it.Key())})
		}
		if err := it.Close(); err != nil {
			return err
		}
		if len(dels) == 0 {
			break
		}
		if err := s.raw.PutAll(dels); err != nil {
			return err
		}
	}
	s.globalCP = nil
	return s.raw.Flush()
}

func (s *kvStore[K, V]) Name() string     { return s.name }
func (s *kvStore[K, V]) Persistent() bool { return s.raw.Persistent() }
func (s *kvStore[K, V]) describe() string {
	return fmt.Sprintf("KeyValueStore[%s, %s]", reflect.TypeFor[K](), reflect.TypeFor[V]())
}

func (s *kvStore[K, V]) changelog() (TopicPartition, bool) { return s.changelogTP, s.logged }
func (s *kvStore[K, V]) checkpoint() int64                 { return s.ckpt }
func (s *kvStore[K, V]) flush() error                      { return s.raw.Flush() }
func (s *kvStore[K, V]) flushWrites() error                { return statestore.FlushWrites(s.raw) }
func (s *kvStore[K, V]) close() error                      { return s.raw.Close() }

func (s *kvStore[K, V]) restore(recs []RawRecord) error { return restoreInto(s.name, s.raw, recs) }

func (s *kvStore[K, V]) restored(next int64) error {
	if err := s.raw.Flush(); err != nil {
		return err
	}
	return s.writeCheckpoint(next)
}

func (s *kvStore[K, V]) writeCheckpoint(next int64) error {
	if !s.logged || next < 0 {
		return nil
	}
	s.ckpt = next
	if !s.raw.Persistent() {
		return nil
	}
	return s.task.cfg.Stores.WriteCheckpoint(s.task.id, s.name, statestore.Checkpoint{
		{Topic: s.changelogTP.Topic, Partition: s.changelogTP.Partition}: next,
	})
}

func (s *kvStore[K, V]) serKey(k K) ([]byte, error) { return serializeKey(s.name, s.keySerde, k) }

func (s *kvStore[K, V]) decode(b []byte) (V, error) { return deserializeValue(s.name, s.valueSerde, b) }

func (s *kvStore[K, V]) log(key, value []byte) error {
	if !s.logged {
		return nil
	}
	return s.task.send(&ProducerRecord{Topic: s.changelogTP.Topic, Partition: s.changelogTP.Partition, Key: key, Value: value, Timestamp: s.task.currentTimestamp()})
}

// putBytes writes serialized bytes (nil value deletes) and logs them.
func (s *kvStore[K, V]) putBytes(kb, vb []byte) error {
	if err := s.raw.Put(kb, vb); err != nil {
		return fmt.Errorf("streams: store %q: put: %w", s.name, err)
	}
	return s.log(kb, vb)
}

func (s *kvStore[K, V]) getBytes(kb []byte) ([]byte, error) {
	b, err := s.raw.Get(kb)
	if err != nil {
		return nil, fmt.Errorf("streams: store %q: get: %w", s.name, err)
	}
	return b, nil
}

func (s *kvStore[K, V]) Get(key K) (V, bool, error) {
	var zero V
	kb, err := s.serKey(key)
	if err != nil {
		return zero, false, err
	}
	b, err := s.getBytes(kb)
	if err != nil || b == nil {
		return zero, false, err
	}
	v, err := s.decode(b)
	return v, err == nil, err
}

func (s *kvStore[K, V]) Put(key K, value V) error {
	kb, err := s.serKey(key)
	if err != nil {
		return err
	}
	vb, err := serializeValue(s.name, s.valueSerde, value) // a value is never a tombstone: use Delete
	if err != nil {
		return err
	}
	return s.putBytes(kb, vb)
}

func (s *kvStore[K, V]) PutIfAbsent(key K, value V) (V, bool, error) {
	old, ok, err := s.Get(key)
	if err != nil || ok {
		return old, ok, err
	}
	return old, false, s.Put(key, value)
}

func (s *kvStore[K, V]) PutAll(entries []KeyValue[K, V]) error {
	for _, e := range entries {
		if err := s.Put(e.Key, e.Value); err != nil {
			return err
		}
	}
	return nil
}

func (s *kvStore[K, V]) Delete(key K) (V, bool, error) {
	old, ok, err := s.Get(key)
	if err != nil || !ok {
		return old, ok, err
	}
	kb, err := s.serKey(key)
	if err != nil {
		return old, ok, err
	}
	return old, true, s.putBytes(kb, nil)
}

func (s *kvStore[K, V]) iter(it statestore.KeyValueIterator, err error) (KeyValueIterator[K, V], error) {
	if err != nil {
		return nil, fmt.Errorf("streams: store %q: %w", s.name, err)
	}
	return &kvIter[K, V]{it: it, s: s}, nil
}

func (s *kvStore[K, V]) Range(from, to K) (KeyValueIterator[K, V], error) {
	return s.rangeOf(from, to, s.raw.Range)
}

func (s *kvStore[K, V]) ReverseRange(from, to K) (KeyValueIterator[K, V], error) {
	return s.rangeOf(from, to, s.raw.ReverseRange)
}

// rangeOf serializes the bounds of a range read and reads it with read.
func (s *kvStore[K, V]) rangeOf(from, to K, read func(from, to []byte) (statestore.KeyValueIterator, error)) (KeyValueIterator[K, V], error) {
	fb, err := s.serKey(from)
	if err != nil {
		return nil, err
	}
	tb, err := s.serKey(to)
	if err != nil {
		return nil, err
	}
	return s.iter(read(fb, tb))
}

func (s *kvStore[K, V]) PrefixScan(prefix K) (KeyValueIterator[K, V], error) {
	pb, err := s.serKey(prefix)
	if err != nil {
		return nil, err
	}
	return s.iter(s.raw.PrefixScan(pb))
}

func (s *kvStore[K, V]) All() (KeyValueIterator[K, V], error) { return s.iter(s.raw.All()) }
func (s *kvStore[K, V]) ReverseAll() (KeyValueIterator[K, V], error) {
	return s.iter(s.raw.ReverseAll())
}
func (s *kvStore[K, V]) ApproximateNumEntries() (int64, error) { return s.raw.ApproximateNumEntries() }

type kvIter[K, V any] struct {
	it statestore.KeyValueIterator
	s  *kvStore[K, V]
	k  K
	v  V
	decodeErr
}

func (i *kvIter[K, V]) Next() bool {
	if i.err != nil || !i.it.Next() {
		return false
	}
	k, err := i.s.keySerde.Deserialize(i.it.Key())
	if err != nil {
		i.err = fmt.Errorf("streams: store %q: deserialize key: %w", i.s.name, err)
		return false
	}
	v, err := i.s.decode(i.it.Value())
	if err != nil {
		i.err = err
		return false
	}
	i.k, i.v = k, v
	return true
}

func (i *kvIter[K, V]) Key() K       { return i.k }
func (i *kvIter[K, V]) Value() V     { return i.v }
func (i *kvIter[K, V]) Err() error   { return i.or(i.it.Err()) }
func (i *kvIter[K, V]) Close() error { return i.or(i.it.Close()) }

// ---- timestamped values ----

// timestampedSerde stores a value with its timestamp: 8 bytes big-endian
// timestamp, then the value's bytes.
type timestampedSerde[V any] struct{ inner Serde[V] }

func (s timestampedSerde[V]) Serialize(v ValueAndTimestamp[V]) ([]byte, error) {
	if a, ok := s.inner.(appender[V]); ok {
		// One allocation instead of two for the built-in serdes.
		return a.appendTo(binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(v.Timestamp)), v.Value)
	}
	b, err := s.inner.Serialize(v.Value)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 8, 8+len(b))
	binary.BigEndian.PutUint64(out, uint64(v.Timestamp))
	return append(out, b...), nil
}

// appender is implemented by serdes that can encode into a given buffer.
type appender[T any] interface {
	appendTo(dst []byte, v T) ([]byte, error)
}

func (s timestampedSerde[V]) Deserialize(b []byte) (ValueAndTimestamp[V], error) {
	if len(b) < 8 {
		return ValueAndTimestamp[V]{}, &SerdeError{Serde: "timestamped value", Len: len(b), Err: errors.New("shorter than its 8-byte timestamp")}
	}
	v, err := s.inner.Deserialize(b[8:])
	return ValueAndTimestamp[V]{Value: v, Timestamp: int64(binary.BigEndian.Uint64(b))}, err
}

func (s timestampedSerde[V]) String() string { return "Timestamped(" + serdeName(s.inner) + ")" }
