package streams

import (
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/badgerstore"
	"github.com/rivulet-io/rivulet/statestore/memstore"
	"github.com/rivulet-io/rivulet/topology"
)

// windowStoreOpener is what a storeOpener also implements to open the
// bytes-level window and session stores behind windowed aggregations and
// stream-stream joins, with the same checkpoint rules as OpenKeyValue.
// inMemoryStores and the runtime's opener implement it; with a storeOpener
// that does not, window and session stores are kept in memory (memstore)
// and restored from their changelogs from the start, like Kafka Streams'
// in-memory window stores.
type windowStoreOpener interface {
	// OpenWindow opens task's window store name with opts (the runtime sets
	// the change logger and expiry hook in opts).
	OpenWindow(task TaskID, name string, persistent, logged bool, opts statestore.WindowOptions) (statestore.WindowStore, statestore.Checkpoint, error)
	// OpenSession opens task's session store name with opts.
	OpenSession(task TaskID, name string, persistent, logged bool, opts statestore.SessionOptions) (statestore.SessionStore, statestore.Checkpoint, error)
}

func (memOpener) OpenWindow(_ TaskID, name string, _, _ bool, opts statestore.WindowOptions) (statestore.WindowStore, statestore.Checkpoint, error) {
	s, err := memstore.NewWindowStore(name, opts)
	return s, nil, err
}

func (memOpener) OpenSession(_ TaskID, name string, _, _ bool, opts statestore.SessionOptions) (statestore.SessionStore, statestore.Checkpoint, error) {
	s, err := memstore.NewSessionStore(name, opts)
	return s, nil, err
}

// OpenWindow opens a window store under the task's state directory (Badger)
// or in memory; see OpenKeyValue for the checkpoint rules.
func (o *dirOpener) OpenWindow(task TaskID, name string, persistent, logged bool, opts statestore.WindowOptions) (statestore.WindowStore, statestore.Checkpoint, error) {
	if !persistent {
		s, err := memstore.NewWindowStore(name, opts)
		return s, nil, err
	}
	dir := o.dir(task, name)
	open := func() (statestore.WindowStore, badgerstore.Status, error) {
		s, err := badgerstore.OpenWindowStore(dir, name, o.optsFor(name), opts)
		if err != nil {
			return nil, badgerstore.Status{}, err
		}
		return s, s.Status(), nil
	}
	return openWithCheckpoint(o, task, name, dir, logged, open, func(s statestore.WindowStore) (bool, error) {
		it, err := s.All()
		if err != nil {
			return false, err
		}
		defer it.Close()
		return !it.Next(), it.Err()
	})
}

// OpenSession opens a session store under the task's state directory
// (Badger) or in memory; see OpenKeyValue for the checkpoint rules.
func (o *dirOpener) OpenSession(task TaskID, name string, persistent, logged bool, opts statestore.SessionOptions) (statestore.SessionStore, statestore.Checkpoint, error) {
	if !persistent {
		s, err := memstore.NewSessionStore(name, opts)
		return s, nil, err
	}
	dir := o.dir(task, name)
	open := func() (statestore.SessionStore, badgerstore.Status, error) {
		s, err := badgerstore.OpenSessionStore(dir, name, o.optsFor(name), opts)
		if err != nil {
			return nil, badgerstore.Status{}, err
		}
		return s, s.Status(), nil
	}
	return openWithCheckpoint(o, task, name, dir, logged, open, func(s statestore.SessionStore) (bool, error) {
		it, err := s.FetchKeyRange(nil, nil)
		if err != nil {
			return false, err
		}
		defer it.Close()
		return !it.Next(), it.Err()
	})
}

// windowChangelogAdditionalRetention is added to a window or session
// store's retention for its changelog topic's retention.ms, as Kafka
// Streams' windowstore.changelog.additional.retention.ms (1 day).
const windowChangelogAdditionalRetention = 24 * time.Hour

// changelogConfig returns the changelog topic configs of a window or
// session store: the user's, plus retention.ms unless given.
func windowLogConfig(user map[string]string, retention int64) map[string]string {
	cfg := maps.Clone(user)
	if cfg == nil {
		cfg = map[string]string{}
	}
	if _, ok := cfg["retention.ms"]; !ok {
		cfg["retention.ms"] = strconv.FormatInt(retention+windowChangelogAdditionalRetention.Milliseconds(), 10)
	}
	return cfg
}

// storeLog is the changelog and checkpoint side a window or session store
// shares with key-value stores.
type storeLog struct {
	name        string
	task        *streamTask
	persistent  bool
	logged      bool
	changelogTP TopicPartition
	ckpt        int64
	// m counts the store's operations (metrics_dsl_stores.go; nil below
	// DEBUG).
	m *storeMeter
}

func newStoreLog(t *streamTask, name string, logged bool, cp statestore.Checkpoint) storeLog {
	l := storeLog{name: name, task: t, logged: logged, ckpt: -1}
	if logged {
		l.changelogTP = TopicPartition{Topic: topology.ChangelogTopicName(t.cfg.ApplicationID, name), Partition: t.id.Partition}
		if off, ok := cp[statestore.TopicPartition{Topic: l.changelogTP.Topic, Partition: l.changelogTP.Partition}]; ok {
			l.ckpt = off
		}
	}
	return l
}

func (l *storeLog) changelog() (TopicPartition, bool) { return l.changelogTP, l.logged }
func (l *storeLog) checkpoint() int64                 { return l.ckpt }

// logger is the statestore ChangeLogger: it sends each applied write to the
// changelog, with the timestamp of the record being processed. The store
// owns key and value, so they are copied.
func (l *storeLog) logger(key, value []byte) error {
	pr := ProducerRecord{Topic: l.changelogTP.Topic, Partition: l.changelogTP.Partition, Key: cloneBytes(key), Timestamp: l.task.currentTimestamp()}
	if value != nil {
		pr.Value = cloneBytes(value)
	}
	return l.task.send(&pr)
}

// expired counts writes a store dropped as older than its retention, as
// Kafka Streams' dropped-records.
func (l *storeLog) expired(_ []byte, ts int64) {
	l.task.cfg.Stats.DroppedRecords.Add(1)
	logDropped(l.task, "older than the window store's retention", "window_timestamp", readableMs(ts))
}

func (l *storeLog) writeCheckpoint(next int64) error {
	if !l.logged || next < 0 {
		return nil
	}
	l.ckpt = next
	if !l.persistent {
		return nil
	}
	return l.task.cfg.Stores.WriteCheckpoint(l.task.id, l.name, statestore.Checkpoint{
		{Topic: l.changelogTP.Topic, Partition: l.changelogTP.Partition}: next,
	})
}

func restoreInto(name string, raw statestore.Store, recs []RawRecord) error {
	r, ok := raw.(statestore.Restorable)
	if !ok {
		return fmt.Errorf("store %q (%T) cannot restore in bulk", name, raw)
	}
	batch := make([]statestore.KeyValue, 0, len(recs))
	for i := range recs {
		if recs[i].Key == nil {
			continue // a changelog record always has a key; skip garbage
		}
		batch = append(batch, statestore.KeyValue{Key: recs[i].Key, Value: recs[i].Value})
	}
	return r.RestoreBatch(batch)
}

// ---- window stores ----

// windowedFactory is what the factories of window and session stores
// share.
type windowedFactory[K, V any] struct {
	name       string
	keySerde   Serde[K]
	valueSerde Serde[V]
	logging    bool
	logConfig  map[string]string
	storeType  StoreType
	retention  int64
}

// storeSpec is the topology's store of kind, opened by supplier (the
// factory).
func (f *windowedFactory[K, V]) storeSpec(kind topology.StoreKind, supplier any) topology.Store {
	var cfg map[string]string
	if f.logging {
		cfg = windowLogConfig(f.logConfig, f.retention)
	}
	return topology.Store{Name: f.name, Kind: kind, Logging: f.logging, LogConfig: cfg, Supplier: supplier}
}

// windowFactory makes the typed window stores of windowed aggregations
// (values with timestamps) and stream-stream joins (plain values, with
// duplicates).
type windowFactory[K, V any] struct {
	windowedFactory[K, V]
	size int64
	dups bool
	// cached puts the task's record cache in front of the store (windowed
	// aggregations, unless their Materialized disables caching); a store
	// retaining duplicates is never cached, as in Kafka Streams.
	cached bool
}

func (f *windowFactory[K, V]) spec() topology.Store { return f.storeSpec(topology.WindowStoreKind, f) }

func (f *windowFactory[K, V]) open(t *streamTask) (taskStore, error) {
	s := &windowStore[K, V]{size: f.size}
	s.keySerde, s.valueSerde = f.keySerde, f.valueSerde
	err := s.open(t, f.name, f.logging, func(logger statestore.ChangeLogger, onExpired statestore.ExpiredHook) (statestore.WindowStore, statestore.Checkpoint, error) {
		return openWindow(t.cfg.Stores, t.id, f.name, f.storeType == PersistentStore, f.logging, statestore.WindowOptions{
			Retention:        time.Duration(f.retention) * time.Millisecond,
			WindowSize:       time.Duration(f.size) * time.Millisecond,
			RetainDuplicates: f.dups,
			OnExpired:        onExpired,
			ChangeLogger:     logger,
		})
	})
	if err != nil {
		return nil, err
	}
	if f.cached && !f.dups && t.cfg.Cache != nil {
		if err := s.startCache(t.cfg.Cache, t.id.String()+"-"+f.name); err != nil {
			s.raw.Close()
			return nil, err
		}
	}
	return s, nil
}

// windowedStore is what the typed window and session stores share: the
// bytes store underneath (raw, of type R), the serdes, and the changelog
// and checkpoint side.
type windowedStore[K, V any, R statestore.Store] struct {
	storeLog
	raw        R
	keySerde   Serde[K]
	valueSerde Serde[V]
	// writeCtx is the record context of the write being cached.
	writeCtx statestore.RecordContext
}

// open opens the bytes store underneath with open, given the change
// logger (when logging) and the expiry hook, and sets up the changelog
// side.
func (s *windowedStore[K, V, R]) open(t *streamTask, name string, logging bool, open func(statestore.ChangeLogger, statestore.ExpiredHook) (R, statestore.Checkpoint, error)) error {
	var logger statestore.ChangeLogger
	if logging {
		logger = s.logger
	}
	raw, cp, err := open(logger, s.expired)
	if err != nil {
		return err
	}
	s.raw = raw
	s.storeLog = newStoreLog(t, name, logging, cp)
	s.persistent = raw.Persistent()
	return nil
}

func (s *windowedStore[K, V, R]) Name() string     { return s.name }
func (s *windowedStore[K, V, R]) Persistent() bool { return s.raw.Persistent() }
func (s *windowedStore[K, V, R]) flush() error     { return s.raw.Flush() }
func (s *windowedStore[K, V, R]) flushWrites() error {
	return statestore.FlushWrites(s.raw)
}
func (s *windowedStore[K, V, R]) close() error { return s.raw.Close() }
func (s *windowedStore[K, V, R]) restore(recs []RawRecord) error {
	return restoreInto(s.name, s.raw, recs)
}
func (s *windowedStore[K, V, R]) restored(next int64) error {
	if err := s.raw.Flush(); err != nil {
		return err
	}
	return s.writeCheckpoint(next)
}

func (s *windowedStore[K, V, R]) serKey(k K) ([]byte, error) {
	return serializeKey(s.name, s.keySerde, k)
}

// serialize serializes a key and value to put.
func (s *windowedStore[K, V, R]) serialize(key K, v V) (kb, vb []byte, err error) {
	if kb, err = s.serKey(key); err != nil {
		return nil, nil, err
	}
	if vb, err = serializeValue(s.name, s.valueSerde, v); err != nil {
		return nil, nil, err
	}
	return kb, vb, nil
}

// decode deserializes a value read, nil meaning none.
func (s *windowedStore[K, V, R]) decode(b []byte, err error) (V, bool, error) {
	var zero V
	if err != nil || b == nil {
		return zero, false, err
	}
	v, err := deserializeValue(s.name, s.valueSerde, b)
	return v, err == nil, err
}

func (s *windowedStore[K, V, R]) iter(it statestore.WindowedIterator, err error, key *K) (WindowIterator[K, V], error) {
	if err != nil {
		return nil, fmt.Errorf("streams: store %q: %w", s.name, err)
	}
	return &windowIter[K, V]{it: it, name: s.name, keySerde: s.keySerde, valueSerde: s.valueSerde, fixed: key}, nil
}

// serializeKey serializes k with the key serde of store name; a nil key
// is empty.
func serializeKey[K any](name string, serde Serde[K], k K) ([]byte, error) {
	return serializeNonNil(name, "key", serde, k)
}

// serializeValue serializes v with the value serde of store name; a nil
// value is empty (never a tombstone).
func serializeValue[V any](name string, serde Serde[V], v V) ([]byte, error) {
	return serializeNonNil(name, "value", serde, v)
}

// serializeNonNil serializes x, the key or value (what) of store name, with
// serde; nil comes back empty.
func serializeNonNil[T any](name, what string, serde Serde[T], x T) ([]byte, error) {
	b, err := serde.Serialize(x)
	if err != nil {
		return nil, fmt.Errorf("streams: store %q: serialize %s: %w", name, what, err)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// deserializeValue deserializes b with the value serde of store name.
func deserializeValue[V any](name string, serde Serde[V], b []byte) (V, error) {
	v, err := serde.Deserialize(b)
	if err != nil {
		return v, fmt.Errorf("streams: store %q: deserialize value: %w", name, err)
	}
	return v, nil
}

// windowStore is a typed window store over a bytes store, logging writes
// to its changelog through the task's collector, optionally with the
// task's record cache in front (cached): writes then reach the store, its
// changelog and the processors downstream folded, when the cache flushes
// (at a commit, or when it evicts), as Kafka Streams' caching window store.
type windowStore[K, V any] struct {
	windowedStore[K, V, statestore.WindowStore]
	size int64
	// cached is the caching store over raw, nil without a cache.
	cached *statestore.CachingWindowStore
}

// windowFlushed is one update a caching window or session store flushed:
// key's window (or session), its new value (none when deleted) and the
// value the store held before (when the processors downstream read old
// values), with the timestamp and headers of the record that made the last
// write.
type windowFlushed[K, V any] struct {
	key            Windowed[K]
	newV, oldV     V
	hasNew, hasOld bool
	ts             int64
	headers        []Header
}

func (s *windowStore[K, V]) describe() string {
	return fmt.Sprintf("WindowStore[%s, %s]", reflect.TypeFor[K](), reflect.TypeFor[V]())
}

// store is what reads and writes go through: the cache over the store, or
// the store.
func (s *windowStore[K, V]) store() statestore.WindowStore {
	if s.cached == nil {
		return s.raw
	}
	return s.cached
}

// startCache puts a namespace of cache in front of the store. Until a
// processor registers a flush listener, flushed updates are only written
// through.
func (s *windowStore[K, V]) startCache(cache *statestore.RecordCache, namespace string) error {
	c, err := statestore.NewCachingWindowStore(s.raw, cache, s.cacheOptions(namespace))
	if err != nil {
		return err
	}
	s.cached = c
	return nil
}

// cacheOptions configure the cache in front of a window or session store:
// a cached write keeps the record context of writeCtx (the record that made
// it), and its changelog record carries that record's time when flushed.
func (s *windowedStore[K, V, R]) cacheOptions(namespace string) statestore.CachingWindowedOptions {
	return statestore.CachingWindowedOptions{
		Namespace: namespace,
		Context:   func() statestore.RecordContext { return s.writeCtx },
		WriteThrough: func(rc statestore.RecordContext, write func() error) error {
			return s.task.withTimestamp(rc.Timestamp, write)
		},
	}
}

// cachedWrite runs write (a write into the cache) with the record context of
// a record at ts with headers.
func (s *windowedStore[K, V, R]) cachedWrite(ts int64, headers []Header, write func() error) error {
	s.writeCtx = s.task.recordContext(ts)
	s.writeCtx.Headers = headers
	err := write()
	s.writeCtx = statestore.RecordContext{}
	return err
}

func (s *windowStore[K, V]) caching() bool { return s.cached != nil }

// setFlushListener registers fn to receive the cache's flushed updates. It
// is called from a processor's Init, like tsStore's.
func (s *windowStore[K, V]) setFlushListener(fn func(windowFlushed[K, V]) error) {
	s.cached.SetFlushListener(s.flushListener(fn))
}

// flushListener is what a caching window or session store is given to hand
// its flushed updates to fn, and whether they carry old values: when the
// processors after the one initializing read them.
func (s *windowedStore[K, V, R]) flushListener(fn func(windowFlushed[K, V]) error) (func([]statestore.CachedWindowedEntry) error, bool) {
	sendOld := true
	if node := s.task.initNode; node != "" {
		sendOld = s.task.childrenNeedOldValues(node)
	}
	return func(entries []statestore.CachedWindowedEntry) error { return s.forwardFlushed(entries, fn) }, sendOld
}

// forwardFlushed decodes flushed entries and hands them to fn, each with the
// time of its last write as the task's current time.
func (s *windowedStore[K, V, R]) forwardFlushed(entries []statestore.CachedWindowedEntry, fn func(windowFlushed[K, V]) error) error {
	for _, e := range entries {
		k, err := s.keySerde.Deserialize(e.Window.Key)
		if err != nil {
			return fmt.Errorf("streams: store %q: deserialize key: %w", s.name, err)
		}
		f := windowFlushed[K, V]{key: Windowed[K]{Key: k, Window: Window{Start: e.Window.Start, End: e.Window.End}}, ts: e.Context.Timestamp}
		if f.newV, f.hasNew, err = s.decode(e.NewValue, nil); err != nil {
			return err
		}
		if f.oldV, f.hasOld, err = s.decode(e.OldValue, nil); err != nil {
			return err
		}
		if h, ok := e.Context.Headers.([]Header); ok {
			f.headers = h
		}
		if err := s.task.withTimestamp(f.ts, func() error { return fn(f) }); err != nil {
			return err
		}
	}
	return nil
}

// flush and flushWrites go through the cache, which writes its dirty
// windows before the store flushes.
func (s *windowStore[K, V]) flush() error       { return s.store().Flush() }
func (s *windowStore[K, V]) flushWrites() error { return statestore.FlushWrites(s.store()) }

func (s *windowStore[K, V]) close() error {
	if s.cached != nil {
		// Dirty entries are dropped, not flushed: a clean close flushed
		// already, and an unclean one must not write anything more.
		s.cached.Discard()
		return s.cached.Close()
	}
	return s.raw.Close()
}

// put writes key's window starting at start.
func (s *windowStore[K, V]) put(key K, v V, start int64) error {
	return s.putAt(key, v, start, s.task.currentTimestamp(), nil)
}

// putAt writes key's window starting at start, made by a record at ts with
// headers (which a cached write keeps until it is flushed).
func (s *windowStore[K, V]) putAt(key K, v V, start, ts int64, headers []Header) error {
	if s.m != nil {
		defer s.m.done(opPut, s.m.start())
	}
	kb, vb, err := s.serialize(key, v)
	if err != nil {
		return err
	}
	if s.cached != nil {
		err = s.cachedWrite(ts, headers, func() error { return s.cached.Put(kb, vb, start) })
	} else {
		err = s.raw.Put(kb, vb, start)
	}
	if err != nil {
		return fmt.Errorf("streams: store %q: put: %w", s.name, err)
	}
	return nil
}

// FetchOne returns the value of key's window that starts at windowStart.
func (s *windowStore[K, V]) FetchOne(key K, windowStart int64) (V, bool, error) {
	if s.m != nil {
		defer s.m.done(opFetch, s.m.start())
	}
	kb, err := s.serKey(key)
	if err != nil {
		var zero V
		return zero, false, err
	}
	b, err := s.store().FetchOne(kb, windowStart)
	if err != nil {
		err = fmt.Errorf("streams: store %q: fetch: %w", s.name, err)
	}
	return s.decode(b, err)
}

// Fetch returns key's windows with timeFrom <= start <= timeTo, in start
// order.
func (s *windowStore[K, V]) Fetch(key K, timeFrom, timeTo int64) (WindowIterator[K, V], error) {
	start := s.m.start()
	kb, err := s.serKey(key)
	if err != nil {
		return nil, err
	}
	it, err := s.store().Fetch(kb, max(0, timeFrom), timeTo)
	wi, err := s.iter(it, err, &key)
	return meteredWOpen(s.m, opFetch, start, wi, err)
}

// BackwardFetch is Fetch in descending start order.
func (s *windowStore[K, V]) BackwardFetch(key K, timeFrom, timeTo int64) (WindowIterator[K, V], error) {
	start := s.m.start()
	kb, err := s.serKey(key)
	if err != nil {
		return nil, err
	}
	it, err := s.store().BackwardFetch(kb, max(0, timeFrom), timeTo)
	wi, err := s.iter(it, err, &key)
	return meteredWOpen(s.m, opFetch, start, wi, err)
}

// FetchAll returns the windows of every key with timeFrom <= start <= timeTo.
func (s *windowStore[K, V]) FetchAll(timeFrom, timeTo int64) (WindowIterator[K, V], error) {
	start := s.m.start()
	it, err := s.store().FetchAll(max(0, timeFrom), timeTo)
	wi, err := s.iter(it, err, nil)
	return meteredWOpen(s.m, opFetch, start, wi, err)
}

// All returns every window the store keeps.
func (s *windowStore[K, V]) All() (WindowIterator[K, V], error) {
	start := s.m.start()
	it, err := s.store().All()
	wi, err := s.iter(it, err, nil)
	return meteredWOpen(s.m, opAll, start, wi, err)
}

// WindowIterator walks typed windowed entries of a window or session store.
// It must be closed.
type WindowIterator[K, V any] interface {
	// Next moves to the next entry; false at the end or on an error.
	Next() bool
	// Key is the current entry's key and window.
	Key() Windowed[K]
	// Value is the current entry's value.
	Value() V
	// Err is the first error met (decoding included).
	Err() error
	// Close releases the iterator and returns Err.
	Close() error
}

type windowIter[K, V any] struct {
	it         statestore.WindowedIterator
	name       string
	keySerde   Serde[K]
	valueSerde Serde[V]
	fixed      *K // the key of a single-key fetch, not decoded again
	k          Windowed[K]
	v          V
	decodeErr
}

// decodeErr is the first decoding error of a typed iterator over a bytes
// iterator: it ends the iteration and is reported before the bytes
// iterator's own.
type decodeErr struct{ err error }

// or returns the decoding error, else err (the bytes iterator's).
func (d *decodeErr) or(err error) error {
	if d.err != nil {
		return d.err
	}
	return err
}

func (i *windowIter[K, V]) Next() bool {
	if i.err != nil || !i.it.Next() {
		return false
	}
	if i.fixed != nil {
		i.k.Key = *i.fixed
	} else {
		k, err := i.keySerde.Deserialize(i.it.Key())
		if err != nil {
			i.err = fmt.Errorf("streams: store %q: deserialize key: %w", i.name, err)
			return false
		}
		i.k.Key = k
	}
	i.k.Window = Window{Start: i.it.Start(), End: i.it.End()}
	v, err := i.valueSerde.Deserialize(i.it.Value())
	if err != nil {
		i.err = fmt.Errorf("streams: store %q: deserialize value: %w", i.name, err)
		return false
	}
	i.v = v
	return true
}

func (i *windowIter[K, V]) Key() Windowed[K] { return i.k }
func (i *windowIter[K, V]) Value() V         { return i.v }
func (i *windowIter[K, V]) Err() error       { return i.or(i.it.Err()) }
func (i *windowIter[K, V]) Close() error     { return i.or(i.it.Close()) }

// ReadOnlyWindowStore is the read side of a typed window store: what
// interactive queries and tests see of a windowed aggregation's store.
// Times are window starts in ms, bounds inclusive.
type ReadOnlyWindowStore[K, V any] interface {
	StateStore
	// FetchOne returns the value of key's window that starts at windowStart.
	FetchOne(key K, windowStart int64) (V, bool, error)
	// Fetch returns key's windows with timeFrom <= start <= timeTo.
	Fetch(key K, timeFrom, timeTo int64) (WindowIterator[K, V], error)
	// BackwardFetch is Fetch in descending start order.
	BackwardFetch(key K, timeFrom, timeTo int64) (WindowIterator[K, V], error)
	// FetchAll returns every key's windows with timeFrom <= start <= timeTo.
	FetchAll(timeFrom, timeTo int64) (WindowIterator[K, V], error)
	// All returns every window kept.
	All() (WindowIterator[K, V], error)
}

// GetWindowStore returns the named window store for reading. For the
// stores of DSL windowed aggregations both ReadOnlyWindowStore[K, V] (the
// aggregates) and ReadOnlyWindowStore[K, ValueAndTimestamp[V]] work.
func GetWindowStore[K, V any](p StoreProvider, name string) (ReadOnlyWindowStore[K, V], error) {
	s, err := p.StateStore(name)
	if err != nil {
		return nil, err
	}
	if ws, ok := s.(ReadOnlyWindowStore[K, V]); ok {
		return meterWindow(s, ws), nil
	}
	if ts, ok := s.(*windowStore[K, ValueAndTimestamp[V]]); ok {
		return meterWindow[K, V](s, &plainWindowView[K, V]{s: ts}), nil
	}
	return nil, fmt.Errorf("streams: store %q is a %s, not a window store of %s", name, describeStore(s), typesOf[K, V]())
}

// plainWindowView is a store of timestamped aggregates seen without the
// timestamps.
type plainWindowView[K, V any] struct {
	s *windowStore[K, ValueAndTimestamp[V]]
}

func (p *plainWindowView[K, V]) Name() string     { return p.s.name }
func (p *plainWindowView[K, V]) Persistent() bool { return p.s.Persistent() }
func (p *plainWindowView[K, V]) FetchOne(key K, start int64) (V, bool, error) {
	v, ok, err := p.s.FetchOne(key, start)
	return v.Value, ok, err
}
func (p *plainWindowView[K, V]) Fetch(key K, from, to int64) (WindowIterator[K, V], error) {
	return plainWindowIter(p.s.Fetch(key, from, to))
}
func (p *plainWindowView[K, V]) BackwardFetch(key K, from, to int64) (WindowIterator[K, V], error) {
	return plainWindowIter(p.s.BackwardFetch(key, from, to))
}
func (p *plainWindowView[K, V]) FetchAll(from, to int64) (WindowIterator[K, V], error) {
	return plainWindowIter(p.s.FetchAll(from, to))
}
func (p *plainWindowView[K, V]) All() (WindowIterator[K, V], error) {
	return plainWindowIter(p.s.All())
}

func plainWindowIter[K, V any](it WindowIterator[K, ValueAndTimestamp[V]], err error) (WindowIterator[K, V], error) {
	if err != nil {
		return nil, err
	}
	return &plainWIter[K, V]{it: it}, nil
}

type plainWIter[K, V any] struct {
	it WindowIterator[K, ValueAndTimestamp[V]]
}

func (i *plainWIter[K, V]) Next() bool       { return i.it.Next() }
func (i *plainWIter[K, V]) Key() Windowed[K] { return i.it.Key() }
func (i *plainWIter[K, V]) Value() V         { return i.it.Value().Value }
func (i *plainWIter[K, V]) Err() error       { return i.it.Err() }
func (i *plainWIter[K, V]) Close() error     { return i.it.Close() }

// ---- session stores ----

// sessionFactory makes the typed session stores of session aggregations.
type sessionFactory[K, V any] struct {
	windowedFactory[K, V]
	// cached puts the task's record cache in front of the store, unless the
	// aggregation's Materialized disables caching.
	cached bool
}

func (f *sessionFactory[K, V]) spec() topology.Store {
	return f.storeSpec(topology.SessionStoreKind, f)
}

func (f *sessionFactory[K, V]) open(t *streamTask) (taskStore, error) {
	s := &sessionStore[K, V]{}
	s.keySerde, s.valueSerde = f.keySerde, f.valueSerde
	err := s.open(t, f.name, f.logging, func(logger statestore.ChangeLogger, onExpired statestore.ExpiredHook) (statestore.SessionStore, statestore.Checkpoint, error) {
		return openSession(t.cfg.Stores, t.id, f.name, f.storeType == PersistentStore, f.logging, statestore.SessionOptions{
			Retention:    time.Duration(f.retention) * time.Millisecond,
			OnExpired:    onExpired,
			ChangeLogger: logger,
		})
	})
	if err != nil {
		return nil, err
	}
	if f.cached && t.cfg.Cache != nil {
		c, err := statestore.NewCachingSessionStore(s.raw, t.cfg.Cache, s.cacheOptions(t.id.String()+"-"+f.name))
		if err != nil {
			s.raw.Close()
			return nil, err
		}
		s.cached = c
	}
	return s, nil
}

// sessionStore is a typed session store over a bytes store, optionally with
// the task's record cache in front (cached), as Kafka Streams' caching
// session store: the puts and removes of a session then reach the store,
// its changelog and the processors downstream folded, when the cache
// flushes; the processors downstream never see a session merged away
// before it was ever flushed.
type sessionStore[K, V any] struct {
	windowedStore[K, V, statestore.SessionStore]
	cached *statestore.CachingSessionStore
}

// store is what reads and writes go through: the cache over the store, or
// the store.
func (s *sessionStore[K, V]) store() statestore.SessionStore {
	if s.cached == nil {
		return s.raw
	}
	return s.cached
}

func (s *sessionStore[K, V]) caching() bool { return s.cached != nil }

// setFlushListener registers fn to receive the cache's flushed updates.
func (s *sessionStore[K, V]) setFlushListener(fn func(windowFlushed[K, V]) error) {
	s.cached.SetFlushListener(s.flushListener(fn))
}

func (s *sessionStore[K, V]) flush() error       { return s.store().Flush() }
func (s *sessionStore[K, V]) flushWrites() error { return statestore.FlushWrites(s.store()) }

func (s *sessionStore[K, V]) close() error {
	if s.cached != nil {
		// As windowStore.close: a clean close flushed already.
		s.cached.Discard()
		return s.cached.Close()
	}
	return s.raw.Close()
}

func (s *sessionStore[K, V]) describe() string {
	return fmt.Sprintf("SessionStore[%s, %s]", reflect.TypeFor[K](), reflect.TypeFor[V]())
}

// putAt writes session w, made by a record at ts with headers (which a
// cached write keeps until it is flushed).
func (s *sessionStore[K, V]) putAt(w Windowed[K], v V, ts int64, headers []Header) error {
	if s.m != nil {
		defer s.m.done(opPut, s.m.start())
	}
	kb, vb, err := s.serialize(w.Key, v)
	if err != nil {
		return err
	}
	if err := s.write(statestore.Windowed{Key: kb, Start: w.Window.Start, End: w.Window.End}, vb, ts, headers); err != nil {
		return fmt.Errorf("streams: store %q: put: %w", s.name, err)
	}
	return nil
}

// removeAt removes session w, as a record at ts with headers.
func (s *sessionStore[K, V]) removeAt(w Windowed[K], ts int64, headers []Header) error {
	if s.m != nil {
		defer s.m.done(opRemove, s.m.start())
	}
	kb, err := s.serKey(w.Key)
	if err != nil {
		return err
	}
	if err := s.write(statestore.Windowed{Key: kb, Start: w.Window.Start, End: w.Window.End}, nil, ts, headers); err != nil {
		return fmt.Errorf("streams: store %q: remove: %w", s.name, err)
	}
	return nil
}

// write puts (vb nil: removes) session w, through the cache when there is
// one.
func (s *sessionStore[K, V]) write(w statestore.Windowed, vb []byte, ts int64, headers []Header) error {
	switch {
	case s.cached != nil:
		return s.cachedWrite(ts, headers, func() error { return s.cached.Put(w, vb) })
	case vb == nil:
		return s.raw.Remove(w)
	}
	return s.raw.Put(w, vb)
}

// FindSessions returns key's sessions that end at or after
// earliestSessionEnd and start at or before latestSessionStart.
func (s *sessionStore[K, V]) FindSessions(key K, earliestSessionEnd, latestSessionStart int64) (WindowIterator[K, V], error) {
	start := s.m.start()
	kb, err := s.serKey(key)
	if err != nil {
		return nil, err
	}
	it, err := s.store().FindSessions(kb, max(0, earliestSessionEnd), latestSessionStart)
	wi, err := s.iter(it, err, &key)
	return meteredWOpen(s.m, opFetch, start, wi, err)
}

// FetchSession returns the value of exactly that session.
func (s *sessionStore[K, V]) FetchSession(key K, start, end int64) (V, bool, error) {
	if s.m != nil {
		defer s.m.done(opFetch, s.m.start())
	}
	kb, err := s.serKey(key)
	if err != nil {
		var zero V
		return zero, false, err
	}
	return s.decode(s.store().FetchSession(kb, start, end))
}

// Fetch returns every session of key.
func (s *sessionStore[K, V]) Fetch(key K) (WindowIterator[K, V], error) {
	start := s.m.start()
	kb, err := s.serKey(key)
	if err != nil {
		return nil, err
	}
	it, err := s.store().Fetch(kb)
	wi, err := s.iter(it, err, &key)
	return meteredWOpen(s.m, opFetch, start, wi, err)
}

// All returns every session kept.
func (s *sessionStore[K, V]) All() (WindowIterator[K, V], error) {
	start := s.m.start()
	it, err := s.store().FetchKeyRange(nil, nil)
	wi, err := s.iter(it, err, nil)
	return meteredWOpen(s.m, opAll, start, wi, err)
}

// ReadOnlySessionStore is the read side of a typed session store. Sessions
// are [start, end], both inclusive, in ms.
type ReadOnlySessionStore[K, V any] interface {
	StateStore
	// FetchSession returns the value of exactly that session.
	FetchSession(key K, start, end int64) (V, bool, error)
	// FindSessions returns key's sessions that end at or after
	// earliestSessionEnd and start at or before latestSessionStart.
	FindSessions(key K, earliestSessionEnd, latestSessionStart int64) (WindowIterator[K, V], error)
	// Fetch returns every session of key.
	Fetch(key K) (WindowIterator[K, V], error)
	// All returns every session kept.
	All() (WindowIterator[K, V], error)
}

// GetSessionStore returns the named session store for reading.
func GetSessionStore[K, V any](p StoreProvider, name string) (ReadOnlySessionStore[K, V], error) {
	s, err := p.StateStore(name)
	if err != nil {
		return nil, err
	}
	if ss, ok := s.(ReadOnlySessionStore[K, V]); ok {
		return meterSession(s, ss), nil
	}
	return nil, fmt.Errorf("streams: store %q is a %s, not a session store of %s", name, describeStore(s), typesOf[K, V]())
}
