package statestore

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"
)

// CachedEntry is one update forwarded by a caching store on flush: the folded new value
// of a key, the value the store held before (when SendOldValues is set), and the context
// of the last write.
type CachedEntry struct {
	Key      []byte
	NewValue []byte // nil: the key was deleted
	OldValue []byte // nil when absent or when old values are not sent
	Context  RecordContext
}

// CachingOptions configure a caching store.
type CachingOptions struct {
	// Namespace is the store's namespace in the cache; it must be unique in the cache.
	// The default value is the store's name.
	Namespace string
	// Context returns the context of the record being processed; the cache keeps it with
	// each write. The default value is nil (an empty context).
	Context func() RecordContext
	// OnFlush receives the folded updates after they are written to the store, in order
	// (the runtime forwards them downstream). The default value is nil.
	OnFlush func(entries []CachedEntry) error
	// SendOldValues hands OnFlush each key's previous value (Kafka Streams does this when
	// a downstream KTable operation needs old values): the one the cache knows
	// (DirtyEntry.OldValue), or else read from the store before the new one is written.
	// The default value is false.
	SendOldValues bool
}

// CachingKeyValueStore puts a RecordCache namespace in front of a KeyValueStore, as
// Kafka Streams' CachingKeyValueStore does: writes go to the cache and reach the store
// (and its change logger) folded, on Flush or eviction; reads look in the cache first and
// cache what they read from the store; iterators merge the two, the cache winning.
type CachingKeyValueStore struct {
	inner  KeyValueStore
	ns     *CacheNamespace
	opts   CachingOptions
	closed atomic.Bool
}

var (
	_ KeyValueStore = (*CachingKeyValueStore)(nil)
	_ Restorable    = (*CachingKeyValueStore)(nil)
)

// NewCachingKeyValueStore wraps inner with a namespace of cache.
func NewCachingKeyValueStore(inner KeyValueStore, cache *RecordCache, opts CachingOptions) (*CachingKeyValueStore, error) {
	if opts.Namespace == "" {
		opts.Namespace = inner.Name()
	}
	s := &CachingKeyValueStore{inner: inner, opts: opts}
	ns, err := cache.Namespace(opts.Namespace, s.flushed)
	if err != nil {
		return nil, err
	}
	s.ns = ns
	return s, nil
}

// Inner returns the wrapped store.
func (s *CachingKeyValueStore) Inner() KeyValueStore { return s.inner }

// flushed writes the folded entries to the store, then hands them to OnFlush.
func (s *CachingKeyValueStore) flushed(entries []DirtyEntry) error {
	out := make([]CachedEntry, len(entries))
	batch := make([]KeyValue, len(entries))
	for i, e := range entries {
		out[i] = CachedEntry{Key: e.Key, NewValue: e.Value, Context: e.Context}
		batch[i] = KeyValue{Key: e.Key, Value: e.Value}
		if s.opts.SendOldValues && s.opts.OnFlush != nil {
			old := e.OldValue
			if !e.OldValueKnown {
				var err error
				if old, err = s.inner.Get(e.Key); err != nil {
					return err
				}
			}
			out[i].OldValue = old
		}
	}
	if err := s.inner.PutAll(batch); err != nil {
		return err
	}
	if s.opts.OnFlush != nil {
		return s.opts.OnFlush(out)
	}
	return nil
}

func (s *CachingKeyValueStore) ctx() RecordContext {
	if s.opts.Context != nil {
		return s.opts.Context()
	}
	return RecordContext{}
}

func (s *CachingKeyValueStore) errf(op string, err error) error {
	return fmt.Errorf("statestore: %s: %s: %w", s.inner.Name(), op, err)
}

// Name implements Store.
func (s *CachingKeyValueStore) Name() string { return s.inner.Name() }

// Persistent implements Store.
func (s *CachingKeyValueStore) Persistent() bool { return s.inner.Persistent() }

// Flush implements Store: the cache's dirty entries go to the store (and OnFlush), then
// the store is flushed.
func (s *CachingKeyValueStore) Flush() error {
	if err := s.ns.Flush(); err != nil {
		return err
	}
	return s.inner.Flush()
}

// FlushWrites implements WriteFlusher: the cache writes its dirty entries below.
func (s *CachingKeyValueStore) FlushWrites() error {
	if err := s.ns.Flush(); err != nil {
		return err
	}
	return FlushWrites(s.inner)
}

// Close flushes, releases the namespace and closes the store.
func (s *CachingKeyValueStore) Close() error {
	if s.closed.Swap(true) {
		return s.errf("close", ErrClosed)
	}
	err := s.ns.Close()
	if cerr := s.inner.Close(); err == nil {
		err = cerr
	}
	return err
}

// Get implements ReadOnlyKeyValueStore.
func (s *CachingKeyValueStore) Get(key []byte) ([]byte, error) {
	if key == nil {
		return nil, s.errf("get", ErrNilKey)
	}
	if l := s.ns.Get(key); l.Found {
		return l.Value, nil
	}
	v, err := s.inner.Get(key)
	if err != nil || v == nil {
		return v, err
	}
	if err := s.ns.PutClean(key, v); err != nil {
		return nil, s.errf("get", err)
	}
	return v, nil
}

// Put implements KeyValueStore.
func (s *CachingKeyValueStore) Put(key, value []byte) error {
	if key == nil {
		return s.errf("put", ErrNilKey)
	}
	return s.ns.Put(key, value, s.ctx())
}

// PutIfAbsent implements KeyValueStore.
func (s *CachingKeyValueStore) PutIfAbsent(key, value []byte) ([]byte, error) {
	old, err := s.Get(key)
	if err != nil || old != nil || value == nil {
		return old, err
	}
	return nil, s.Put(key, value)
}

// PutAll implements KeyValueStore.
func (s *CachingKeyValueStore) PutAll(entries []KeyValue) error {
	for _, e := range entries {
		if e.Key == nil {
			return s.errf("put all", ErrNilKey)
		}
	}
	for _, e := range entries {
		if err := s.ns.Put(e.Key, e.Value, s.ctx()); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements KeyValueStore.
func (s *CachingKeyValueStore) Delete(key []byte) ([]byte, error) {
	old, err := s.Get(key)
	if err != nil {
		return nil, err
	}
	return old, s.Put(key, nil)
}

// RestoreBatch implements Restorable: it restores the store underneath and drops what the
// cache holds for it.
func (s *CachingKeyValueStore) RestoreBatch(records []KeyValue) error {
	r, ok := s.inner.(Restorable)
	if !ok {
		return s.errf("restore", fmt.Errorf("%w: inner store cannot restore", ErrUnsupported))
	}
	s.ns.Clear()
	return r.RestoreBatch(records)
}

// ApproximateNumEntries implements ReadOnlyKeyValueStore with the store's estimate (the
// cache's unflushed entries are not counted, as in Kafka Streams).
func (s *CachingKeyValueStore) ApproximateNumEntries() (int64, error) {
	return s.inner.ApproximateNumEntries()
}

func (s *CachingKeyValueStore) merged(from, to []byte, reverse bool, open func() (KeyValueIterator, error)) (KeyValueIterator, error) {
	if from != nil && to != nil && bytes.Compare(from, to) > 0 {
		return emptyKV{}, nil
	}
	cached := s.ns.Range(from, to, reverse)
	it, err := open()
	if err != nil {
		return nil, err
	}
	m := &cacheMergeIter{cache: cached, in: it, reverse: reverse, closed: &s.closed}
	m.inOK = it.Next()
	return m, nil
}

// Range implements ReadOnlyKeyValueStore.
func (s *CachingKeyValueStore) Range(from, to []byte) (KeyValueIterator, error) {
	return s.merged(from, to, false, func() (KeyValueIterator, error) { return s.inner.Range(from, to) })
}

// ReverseRange implements ReadOnlyKeyValueStore.
func (s *CachingKeyValueStore) ReverseRange(from, to []byte) (KeyValueIterator, error) {
	return s.merged(from, to, true, func() (KeyValueIterator, error) { return s.inner.ReverseRange(from, to) })
}

// PrefixScan implements ReadOnlyKeyValueStore.
func (s *CachingKeyValueStore) PrefixScan(prefix []byte) (KeyValueIterator, error) {
	if prefix == nil {
		prefix = []byte{}
	}
	it, err := s.merged(prefix, nil, false, func() (KeyValueIterator, error) { return s.inner.PrefixScan(prefix) })
	if err != nil {
		return nil, err
	}
	m := it.(*cacheMergeIter)
	// The cache range from prefix is unbounded above: keep only the prefix's keys.
	n := 0
	for n < len(m.cache) && bytes.HasPrefix(m.cache[n].Key, prefix) {
		n++
	}
	m.cache = m.cache[:n]
	return m, nil
}

// All implements ReadOnlyKeyValueStore.
func (s *CachingKeyValueStore) All() (KeyValueIterator, error) {
	return s.merged(nil, nil, false, s.inner.All)
}

// ReverseAll implements ReadOnlyKeyValueStore.
func (s *CachingKeyValueStore) ReverseAll() (KeyValueIterator, error) {
	return s.merged(nil, nil, true, s.inner.ReverseAll)
}

// cacheMergeIter merges a copy of the cache's entries (which win, and whose nil values
// hide keys) with the store's iterator.
type cacheMergeIter struct {
	closed  *atomic.Bool // the store's: a closed store ends its iterators
	err     error
	cache   []KeyValue
	in      KeyValueIterator
	inOK    bool
	reverse bool
	advance bool // the store's current entry was returned: move past it on Next
	key     []byte
	val     []byte
}

func (m *cacheMergeIter) Next() bool {
	if m.err != nil {
		return false
	}
	if m.closed.Load() {
		m.err = fmt.Errorf("statestore: iterator: %w", ErrClosed)
		return false
	}
	if m.advance {
		m.inOK = m.in.Next()
		m.advance = false
	}
	for {
		if len(m.cache) == 0 && !m.inOK {
			return false
		}
		var c int
		switch {
		case len(m.cache) == 0:
			c = 1
		case !m.inOK:
			c = -1
		default:
			c = bytes.Compare(m.cache[0].Key, m.in.Key())
			if m.reverse {
				c = -c
			}
		}
		if c > 0 {
			m.key, m.val, m.advance = m.in.Key(), m.in.Value(), true
			return true
		}
		e := m.cache[0]
		m.cache = m.cache[1:]
		if c == 0 {
			m.inOK = m.in.Next()
		}
		if e.Value == nil {
			continue
		}
		m.key, m.val = e.Key, e.Value
		return true
	}
}

func (m *cacheMergeIter) Key() []byte   { return m.key }
func (m *cacheMergeIter) Value() []byte { return m.val }
func (m *cacheMergeIter) Err() error {
	if m.err != nil {
		return m.err
	}
	return m.in.Err()
}

func (m *cacheMergeIter) Close() error {
	err := m.in.Close()
	if m.err != nil && !errors.Is(m.err, ErrClosed) {
		return m.err
	}
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

type emptyKV struct{}

func (emptyKV) Next() bool    { return false }
func (emptyKV) Key() []byte   { return nil }
func (emptyKV) Value() []byte { return nil }
func (emptyKV) Err() error    { return nil }
func (emptyKV) Close() error  { return nil }
