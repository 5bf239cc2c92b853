package streams

import (
	"fmt"
	"reflect"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/topology"
)

// tsFactory makes the timestamped key-value stores behind the DSL's tables
// and aggregations.
type tsFactory[K, V any] struct {
	name       string
	keySerde   Serde[K]
	valueSerde Serde[V]
	logging    bool
	logConfig  map[string]string
	storeType  StoreType
	cached     bool
	global     bool
	// versioned is set when the Materialized asked for versioning, which
	// only NewTable and ToTable give: Build refuses it (versioned.go).
	versioned bool
}

func newTSFactory[K, V any](m Materialized[K, V]) *tsFactory[K, V] {
	return &tsFactory[K, V]{
		name: m.name, keySerde: serdeOr(m.keySerde), valueSerde: serdeOr(m.valueSerde),
		logging: !m.noLog, logConfig: m.logConfig, storeType: m.storeType, cached: !m.noCache,
		versioned: m.history != 0,
	}
}

func (f *tsFactory[K, V]) spec() topology.Store {
	return topology.Store{Name: f.name, Kind: topology.KeyValueStoreKind, Logging: f.logging, LogConfig: f.logConfig, Supplier: f}
}

func (f *tsFactory[K, V]) open(t *streamTask) (taskStore, error) {
	inner := &kvFactory[K, ValueAndTimestamp[V]]{
		name: f.name, keySerde: f.keySerde, valueSerde: timestampedSerde[V]{inner: f.valueSerde},
		logging: f.logging && !f.global, logConfig: f.logConfig, storeType: f.storeType, global: f.global,
	}
	ts, err := inner.open(t)
	if err != nil {
		return nil, err
	}
	kv := ts.(*kvStore[K, ValueAndTimestamp[V]])
	s := &tsStore[K, V]{kvStore: kv, valueSerde: f.valueSerde}
	if f.cached && !f.global && t.cfg.Cache != nil {
		c, err := t.cfg.Cache.Namespace(t.id.String()+"-"+f.name, s.flushEntries)
		if err != nil {
			kv.close()
			return nil, err
		}
		s.cache = c
	}
	return s, nil
}

// tsStore is a typed store of values with timestamps, optionally with a
// record cache in front that folds updates of a key until the next flush,
// when they are written through (and logged) and forwarded downstream by
// the flush listener.
type tsStore[K, V any] struct {
	*kvStore[K, ValueAndTimestamp[V]]
	valueSerde Serde[V]
	cache      *statestore.CacheNamespace
	listener   func(Record[K, change[V]]) error
	// sendOld is set when a processor downstream of the listener's node
	// reads old values (send_old_values.go): flushes then give each change
	// its old value, read from the store when the cache does not know it.
	// Without it, only deletes need the old value (a delete of an absent
	// key is not forwarded), as in Kafka Streams' caching store.
	sendOld bool
	// m counts the store's operations (metrics_dsl_stores.go; nil below
	// DEBUG).
	m *storeMeter
}

func tsStoreOf[K, V any](p StoreProvider, name string) (*tsStore[K, V], error) {
	s, err := p.StateStore(name)
	if err != nil {
		return nil, err
	}
	ts, ok := s.(*tsStore[K, V])
	if !ok {
		return nil, fmt.Errorf("streams: store %q is a %s, not a table store of %s", name, describeStore(s), typesOf[K, V]())
	}
	return ts, nil
}

func (s *tsStore[K, V]) describe() string {
	return fmt.Sprintf("TimestampedKeyValueStore[%s, %s]", reflect.TypeFor[K](), reflect.TypeFor[V]())
}

func (s *tsStore[K, V]) caching() bool { return s.cache != nil }

// setFlushListener registers fn to receive the cache's flushed updates. It
// is called from a processor's Init: the node being initialized is the one
// that forwards them, and its children decide whether old values are read.
func (s *tsStore[K, V]) setFlushListener(fn func(Record[K, change[V]]) error) {
	s.listener = fn
	if node := s.task.initNode; node != "" {
		s.sendOld = s.task.childrenNeedOldValues(node)
	} else {
		s.sendOld = true
	}
}

func (s *tsStore[K, V]) dropped() {
	s.task.cfg.Stats.DroppedRecords.Add(1)
	logDropped(s.task, "null key or value", "store", s.name)
}

// get returns key's value, from the cache when it holds the key. For the
// task's own goroutine only (see getKB).
func (s *tsStore[K, V]) get(key K) (ValueAndTimestamp[V], bool, error) {
	kb, err := s.serKey(key)
	if err != nil {
		return ValueAndTimestamp[V]{}, false, err
	}
	return s.read(kb, true)
}

// getKB is get with the key already serialized (an aggregation serializes
// it once for the read and the write). On the task's goroutine only: a
// value read from the store on a cache miss is cached clean when old values
// are needed, so the key's next update knows its old value and the flush
// need not read the store again. (A reader on another goroutine must not do
// that: a flush may write a newer value between its store read and its
// PutClean, and the cache would then hold the stale one.)
func (s *tsStore[K, V]) getKB(kb []byte) (ValueAndTimestamp[V], bool, error) {
	return s.read(kb, true)
}

func (s *tsStore[K, V]) read(kb []byte, warm bool) (ValueAndTimestamp[V], bool, error) {
	if s.m != nil {
		defer s.m.done(opGet, s.m.start())
	}
	var zero ValueAndTimestamp[V]
	if s.cache != nil {
		if l := s.cache.Get(kb); l.Found {
			if l.Deleted {
				return zero, false, nil
			}
			v, err := s.decode(l.Value)
			return v, err == nil, err
		}
	}
	return s.readStore(kb, warm)
}

// readStore is read below the cache: the store itself (warming the cache
// with what it read when old values are sent and warm is set). It counts
// no store operation: its callers do.
func (s *tsStore[K, V]) readStore(kb []byte, warm bool) (ValueAndTimestamp[V], bool, error) {
	var zero ValueAndTimestamp[V]
	b, err := s.getBytes(kb)
	if err != nil || b == nil {
		return zero, false, err
	}
	if warm && s.sendOld && s.cache != nil {
		if err := s.cache.PutClean(kb, b); err != nil {
			return zero, false, fmt.Errorf("streams: store %q: %w", s.name, err)
		}
	}
	v, err := s.decode(b)
	return v, err == nil, err
}

func (s *tsStore[K, V]) put(key K, v ValueAndTimestamp[V]) error {
	kb, err := s.serKey(key)
	if err != nil {
		return err
	}
	return s.putKB(kb, v)
}

// putKB is put with the key already serialized; the store, cache or
// changelog may keep kb.
func (s *tsStore[K, V]) putKB(kb []byte, v ValueAndTimestamp[V]) error {
	if s.m != nil {
		defer s.m.done(opPut, s.m.start())
	}
	vb, err := s.kvStore.valueSerde.Serialize(v)
	if err != nil {
		return fmt.Errorf("streams: store %q: serialize value: %w", s.name, err)
	}
	if s.cache != nil {
		return s.cache.Put(kb, vb, s.task.recordContext(v.Timestamp))
	}
	return s.putBytes(kb, vb)
}

func (s *tsStore[K, V]) delete(key K, ts int64) error {
	kb, err := s.serKey(key)
	if err != nil {
		return err
	}
	return s.deleteKB(kb, ts)
}

func (s *tsStore[K, V]) deleteKB(kb []byte, ts int64) error {
	if s.m != nil {
		defer s.m.done(opDelete, s.m.start())
	}
	if s.cache != nil {
		return s.cache.Put(kb, nil, s.task.recordContext(ts))
	}
	return s.putBytes(kb, nil)
}

// flushEntries is the cache's flush listener: it writes dirty entries
// through to the store (and changelog) and forwards each as a change whose
// old value is what the store held before.
func (s *tsStore[K, V]) flushEntries(entries []statestore.DirtyEntry) error {
	for _, e := range entries {
		// The old value: known to the cache when the key was cached clean
		// at its first update since the last flush; otherwise read from
		// the store, but only when it is used (sendOld, or a delete, which
		// is dropped when the key is absent).
		oldB, known := e.OldValue, e.OldValueKnown
		if !known && (e.Value == nil || s.sendOld) {
			var err error
			if oldB, err = s.getBytes(e.Key); err != nil {
				return err
			}
			known = true
		}
		if known && oldB == nil && e.Value == nil {
			continue // deleting an absent key changes nothing
		}
		ts := e.Context.Timestamp
		if err := s.task.withTimestamp(ts, func() error { return s.putBytes(e.Key, e.Value) }); err != nil {
			return err
		}
		if s.listener == nil {
			continue
		}
		k, err := s.keySerde.Deserialize(e.Key)
		if err != nil {
			return fmt.Errorf("streams: store %q: deserialize key: %w", s.name, err)
		}
		var c change[V]
		if s.sendOld && oldB != nil {
			old, err := s.decode(oldB)
			if err != nil {
				return err
			}
			c.oldV, c.hasOld = old.Value, true
		}
		if e.Value != nil {
			nv, err := s.decode(e.Value)
			if err != nil {
				return err
			}
			c.newV, c.hasNew = nv.Value, true
		}
		rec := Record[K, change[V]]{Key: k, Value: c, Timestamp: ts}
		if h, ok := e.Context.Headers.([]Header); ok {
			rec.Headers = h
		}
		if err := s.task.withTimestamp(ts, func() error { return s.listener(rec) }); err != nil {
			return err
		}
	}
	return nil
}

func (s *tsStore[K, V]) flush() error {
	if err := s.flushCache(); err != nil {
		return err
	}
	return s.kvStore.flush()
}

func (s *tsStore[K, V]) flushWrites() error {
	if err := s.flushCache(); err != nil {
		return err
	}
	return s.kvStore.flushWrites()
}

func (s *tsStore[K, V]) flushCache() error {
	if s.cache == nil {
		return nil
	}
	return s.cache.Flush()
}

func (s *tsStore[K, V]) close() error {
	if s.cache != nil {
		// Dirty entries are dropped, not flushed: a clean close flushed
		// already, and an unclean one must not write anything more.
		s.cache.Clear()
		s.cache.Close()
	}
	return s.kvStore.close()
}

// The public typed interface reads through the cache.

// Get reads key through the cache. Interactive queries may call it from
// any goroutine: it never caches what it reads from the store.
func (s *tsStore[K, V]) Get(key K) (ValueAndTimestamp[V], bool, error) {
	kb, err := s.serKey(key)
	if err != nil {
		return ValueAndTimestamp[V]{}, false, err
	}
	return s.read(kb, false)
}

func (s *tsStore[K, V]) Put(key K, v ValueAndTimestamp[V]) error { return s.put(key, v) }

func (s *tsStore[K, V]) PutIfAbsent(key K, v ValueAndTimestamp[V]) (ValueAndTimestamp[V], bool, error) {
	old, ok, err := s.get(key)
	if err != nil || ok {
		return old, ok, err
	}
	return old, false, s.put(key, v)
}

func (s *tsStore[K, V]) PutAll(entries []KeyValue[K, ValueAndTimestamp[V]]) error {
	for _, e := range entries {
		if err := s.put(e.Key, e.Value); err != nil {
			return err
		}
	}
	return nil
}

func (s *tsStore[K, V]) Delete(key K) (ValueAndTimestamp[V], bool, error) {
	old, ok, err := s.get(key)
	if err != nil || !ok {
		return old, ok, err
	}
	return old, true, s.delete(key, s.task.currentTimestamp())
}

// Iterators see the store merged with the cache's pending writes.

func (s *tsStore[K, V]) merged(it statestore.KeyValueIterator, err error, lo, hi []byte, reverse bool) (KeyValueIterator[K, ValueAndTimestamp[V]], error) {
	if err != nil {
		return nil, fmt.Errorf("streams: store %q: %w", s.name, err)
	}
	if s.cache != nil {
		it = newMergedIterator(it, s.cache.Range(lo, hi, reverse), reverse)
	}
	return &kvIter[K, ValueAndTimestamp[V]]{it: it, s: s.kvStore}, nil
}

func (s *tsStore[K, V]) Range(from, to K) (KeyValueIterator[K, ValueAndTimestamp[V]], error) {
	start := s.m.start()
	fb, err := s.serKey(from)
	if err != nil {
		return nil, err
	}
	tb, err := s.serKey(to)
	if err != nil {
		return nil, err
	}
	it, err := s.raw.Range(fb, tb)
	mi, err := s.merged(it, err, fb, tb, false)
	return meteredOpen(s.m, opRange, start, mi, err)
}

func (s *tsStore[K, V]) ReverseRange(from, to K) (KeyValueIterator[K, ValueAndTimestamp[V]], error) {
	start := s.m.start()
	fb, err := s.serKey(from)
	if err != nil {
		return nil, err
	}
	tb, err := s.serKey(to)
	if err != nil {
		return nil, err
	}
	it, err := s.raw.ReverseRange(fb, tb)
	mi, err := s.merged(it, err, fb, tb, true)
	return meteredOpen(s.m, opRange, start, mi, err)
}

func (s *tsStore[K, V]) PrefixScan(prefix K) (KeyValueIterator[K, ValueAndTimestamp[V]], error) {
	start := s.m.start()
	pb, err := s.serKey(prefix)
	if err != nil {
		return nil, err
	}
	it, err := s.raw.PrefixScan(pb)
	mi, err := s.merged(it, err, pb, prefixEnd(pb), false)
	return meteredOpen(s.m, opPrefixScan, start, mi, err)
}

func (s *tsStore[K, V]) All() (KeyValueIterator[K, ValueAndTimestamp[V]], error) {
	start := s.m.start()
	it, err := s.raw.All()
	mi, err := s.merged(it, err, nil, nil, false)
	return meteredOpen(s.m, opAll, start, mi, err)
}

func (s *tsStore[K, V]) ReverseAll() (KeyValueIterator[K, ValueAndTimestamp[V]], error) {
	start := s.m.start()
	it, err := s.raw.ReverseAll()
	mi, err := s.merged(it, err, nil, nil, true)
	return meteredOpen(s.m, opAll, start, mi, err)
}

func (s *tsStore[K, V]) ApproximateNumEntries() (int64, error) {
	n, err := s.raw.ApproximateNumEntries()
	if s.cache != nil {
		n += int64(s.cache.Len())
	}
	return n, err
}

// plainView lets GetKeyValueStore[K, V] work on a table store.
func (s *tsStore[K, V]) plainView() any { return &plainTSView[K, V]{s: s} }

// plainTSView is a table store seen as a KeyValueStore[K, V].
type plainTSView[K, V any] struct{ s *tsStore[K, V] }

func (p *plainTSView[K, V]) Name() string     { return p.s.name }
func (p *plainTSView[K, V]) Persistent() bool { return p.s.Persistent() }
func (p *plainTSView[K, V]) Get(key K) (V, bool, error) {
	v, ok, err := p.s.Get(key)
	return v.Value, ok, err
}
func (p *plainTSView[K, V]) Put(key K, v V) error {
	return p.s.put(key, ValueAndTimestamp[V]{Value: v, Timestamp: p.s.task.currentTimestamp()})
}
func (p *plainTSView[K, V]) PutIfAbsent(key K, v V) (V, bool, error) {
	old, ok, err := p.s.PutIfAbsent(key, ValueAndTimestamp[V]{Value: v, Timestamp: p.s.task.currentTimestamp()})
	return old.Value, ok, err
}
func (p *plainTSView[K, V]) PutAll(entries []KeyValue[K, V]) error {
	for _, e := range entries {
		if err := p.Put(e.Key, e.Value); err != nil {
			return err
		}
	}
	return nil
}
func (p *plainTSView[K, V]) Delete(key K) (V, bool, error) {
	old, ok, err := p.s.Delete(key)
	return old.Value, ok, err
}
func (p *plainTSView[K, V]) Range(from, to K) (KeyValueIterator[K, V], error) {
	return plainIter(p.s.Range(from, to))
}
func (p *plainTSView[K, V]) ReverseRange(from, to K) (KeyValueIterator[K, V], error) {
	return plainIter(p.s.ReverseRange(from, to))
}
func (p *plainTSView[K, V]) PrefixScan(prefix K) (KeyValueIterator[K, V], error) {
	return plainIter(p.s.PrefixScan(prefix))
}
func (p *plainTSView[K, V]) All() (KeyValueIterator[K, V], error) { return plainIter(p.s.All()) }
func (p *plainTSView[K, V]) ReverseAll() (KeyValueIterator[K, V], error) {
	return plainIter(p.s.ReverseAll())
}
func (p *plainTSView[K, V]) ApproximateNumEntries() (int64, error) {
	return p.s.ApproximateNumEntries()
}

func plainIter[K, V any](it KeyValueIterator[K, ValueAndTimestamp[V]], err error) (KeyValueIterator[K, V], error) {
	if err != nil {
		return nil, err
	}
	return &plainIterator[K, V]{it: it}, nil
}

type plainIterator[K, V any] struct {
	it KeyValueIterator[K, ValueAndTimestamp[V]]
}

func (i *plainIterator[K, V]) Next() bool   { return i.it.Next() }
func (i *plainIterator[K, V]) Key() K       { return i.it.Key() }
func (i *plainIterator[K, V]) Value() V     { return i.it.Value().Value }
func (i *plainIterator[K, V]) Err() error   { return i.it.Err() }
func (i *plainIterator[K, V]) Close() error { return i.it.Close() }

func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // no upper bound
}
