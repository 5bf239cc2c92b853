package statestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// Cache keys of the windowed caching stores: segment(8) || escaped(key) || time(8)
// [|| time(8)], with the record key escaped as the stores do (0x00 -> 0x00 0xff,
// terminator 0x00 0x01), so the cache sorts its entries exactly as the store iterates
// them: by (segment, key, times). Kafka Streams' caching window store prefixes its cache
// keys with the segment for the same reason.

func appendEscapedKey(dst, key []byte) []byte {
	for _, b := range key {
		if b == 0 {
			dst = append(dst, 0, 0xff)
		} else {
			dst = append(dst, b)
		}
	}
	return append(dst, 0, 1)
}

func cutEscapedKey(b []byte) (key, rest []byte, err error) {
	key = make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != 0 {
			key = append(key, b[i])
			continue
		}
		if i+1 >= len(b) {
			break
		}
		switch b[i+1] {
		case 1:
			return key, b[i+2:], nil
		case 0xff:
			key = append(key, 0)
			i++
		default:
			return nil, nil, ErrCorruptKey
		}
	}
	return nil, nil, ErrCorruptKey
}

// windowedCacheEntry is a decoded cache entry of a windowed store.
type windowedCacheEntry struct {
	w     Windowed
	value []byte // nil: a pending delete
}

// windowedOrder compares two entries in store order.
type windowedOrder func(a, b Windowed) int

// windowedMergeIter merges decoded cache entries (which win on equal windows, and whose
// nil values hide entries) with a store iterator, both in the same order.
type windowedMergeIter struct {
	closed  *atomic.Bool
	keep    func(Windowed) bool // also applied to the store's entries (it may lag the cache's stream time)
	cache   []windowedCacheEntry
	in      WindowedIterator
	inOK    bool
	advance bool
	cmp     windowedOrder
	reverse bool
	cur     Windowed
	val     []byte
	err     error
}

func (m *windowedMergeIter) Next() bool {
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
		var inW Windowed
		for m.inOK {
			inW = Windowed{Key: m.in.Key(), Start: m.in.Start(), End: m.in.End()}
			if m.keep == nil || m.keep(inW) {
				break
			}
			m.inOK = m.in.Next()
		}
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
			c = m.cmp(m.cache[0].w, inW)
			if m.reverse {
				c = -c
			}
		}
		if c > 0 {
			m.cur, m.val, m.advance = inW, m.in.Value(), true
			return true
		}
		e := m.cache[0]
		m.cache = m.cache[1:]
		if c == 0 {
			m.inOK = m.in.Next()
		}
		if e.value == nil {
			continue
		}
		m.cur, m.val = e.w, e.value
		return true
	}
}

func (m *windowedMergeIter) Key() []byte   { return m.cur.Key }
func (m *windowedMergeIter) Start() int64  { return m.cur.Start }
func (m *windowedMergeIter) End() int64    { return m.cur.End }
func (m *windowedMergeIter) Value() []byte { return m.val }

func (m *windowedMergeIter) Err() error {
	if m.err != nil {
		return m.err
	}
	return m.in.Err()
}

func (m *windowedMergeIter) Close() error {
	err := m.in.Close()
	if m.err != nil && !errors.Is(m.err, ErrClosed) {
		return m.err
	}
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

// CachedWindowedEntry is one update forwarded by a caching window or session store on
// flush.
type CachedWindowedEntry struct {
	Window   Windowed
	NewValue []byte // nil: deleted
	OldValue []byte // nil when absent or when old values are not sent
	Context  RecordContext
}

// CachingWindowedOptions configure a caching window or session store. They mean what the
// fields of CachingOptions mean.
type CachingWindowedOptions struct {
	Namespace     string
	Context       func() RecordContext
	OnFlush       func(entries []CachedWindowedEntry) error
	SendOldValues bool
}

// windowedCaching is what the caching window and session stores share.
type windowedCaching struct {
	name     string
	ns       *CacheNamespace
	opts     CachingWindowedOptions
	closed   atomic.Bool
	interval int64
	mu       sync.Mutex
	observed int64 // the largest time put through the cache (window start or session end)
	encode   func(dst []byte, w Windowed) []byte
	decode   func(b []byte) (Windowed, error)
	cmp      windowedOrder
	segTime  func(w Windowed) int64 // the time that picks the segment
}

func (c *windowedCaching) errf(op string, err error) error {
	return fmt.Errorf("statestore: %s: %s: %w", c.name, op, err)
}

func (c *windowedCaching) ctx() RecordContext {
	if c.opts.Context != nil {
		return c.opts.Context()
	}
	return RecordContext{}
}

func (c *windowedCaching) put(w Windowed, value []byte) error {
	c.mu.Lock()
	c.observed = max(c.observed, c.segTime(w))
	c.mu.Unlock()
	return c.ns.Put(c.encode(nil, w), value, c.ctx())
}

func (c *windowedCaching) cacheObserved() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.observed
}

// cached returns the cache's entries in segments [segFrom, segTo] (ascending, or reversed)
// that keep accepts.
func (c *windowedCaching) cached(segFrom, segTo int64, reverse bool, keep func(Windowed) bool) ([]windowedCacheEntry, error) {
	from := binary.BigEndian.AppendUint64(nil, uint64(segFrom))
	var to []byte
	if segTo < math.MaxInt64 {
		to = binary.BigEndian.AppendUint64(nil, uint64(segTo+1))
	}
	raw := c.ns.Range(from, to, reverse)
	out := make([]windowedCacheEntry, 0, len(raw))
	for _, e := range raw {
		if to != nil && bytes.Equal(e.Key, to) {
			continue
		}
		w, err := c.decode(e.Key)
		if err != nil {
			return nil, c.errf("decode cache key", err)
		}
		if keep(w) {
			out = append(out, windowedCacheEntry{w: w, value: e.Value})
		}
	}
	return out, nil
}

func (c *windowedCaching) merge(in WindowedIterator, cached []windowedCacheEntry, reverse bool, keep func(Windowed) bool) WindowedIterator {
	m := &windowedMergeIter{closed: &c.closed, cache: cached, in: in, cmp: c.cmp, reverse: reverse, keep: keep}
	m.inOK = in.Next()
	return m
}

func keyIn(key, from, to []byte) bool {
	return (from == nil || bytes.Compare(key, from) >= 0) && (to == nil || bytes.Compare(key, to) <= 0)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cachingWindowed is what the caching window and session stores share beyond the
// cache itself: the store underneath, and how a flushed entry reaches it.
type cachingWindowed[S interface {
	Store
	ObservedStreamTime() int64
}] struct {
	windowedCaching
	inner S
	ret   int64 // retention in ms
	// fetchOld reads the value the store holds for w (the old value of a flush);
	// putInner writes w's value there (nil deletes).
	fetchOld func(w Windowed) ([]byte, error)
	putInner func(w Windowed, value []byte) error
}

func (s *cachingWindowed[S]) flushed(entries []DirtyEntry) error {
	out := make([]CachedWindowedEntry, len(entries))
	for i, e := range entries {
		w, err := s.decode(e.Key)
		if err != nil {
			return s.errf("flush: decode cache key", err)
		}
		out[i] = CachedWindowedEntry{Window: w, NewValue: e.Value, Context: e.Context}
		if s.opts.SendOldValues && s.opts.OnFlush != nil {
			if out[i].OldValue, err = s.fetchOld(w); err != nil {
				return err
			}
		}
		if err := s.putInner(w, e.Value); err != nil {
			return err
		}
	}
	if s.opts.OnFlush != nil {
		return s.opts.OnFlush(out)
	}
	return nil
}

// Inner returns the wrapped store.
func (s *cachingWindowed[S]) Inner() S { return s.inner }

// Name implements Store.
func (s *cachingWindowed[S]) Name() string { return s.inner.Name() }

// Persistent implements Store.
func (s *cachingWindowed[S]) Persistent() bool { return s.inner.Persistent() }

// ObservedStreamTime implements WindowStore and SessionStore: the largest time written
// (window start, or session end), whether it has reached the store yet or not.
func (s *cachingWindowed[S]) ObservedStreamTime() int64 {
	return max(s.inner.ObservedStreamTime(), s.cacheObserved())
}

// Flush implements Store.
func (s *cachingWindowed[S]) Flush() error {
	if err := s.ns.Flush(); err != nil {
		return err
	}
	return s.inner.Flush()
}

// Close implements Store.
func (s *cachingWindowed[S]) Close() error {
	if s.closed.Swap(true) {
		return s.errf("close", ErrClosed)
	}
	err := s.ns.Close()
	if cerr := s.inner.Close(); err == nil {
		err = cerr
	}
	return err
}

// RestoreBatch implements Restorable: it restores the store underneath and drops the cache.
func (s *cachingWindowed[S]) RestoreBatch(records []KeyValue) error {
	r, ok := any(s.inner).(Restorable)
	if !ok {
		return s.errf("restore", fmt.Errorf("%w: inner store cannot restore", ErrUnsupported))
	}
	s.ns.Clear()
	return r.RestoreBatch(records)
}

// minLive is the earliest time still within retention.
func (s *cachingWindowed[S]) minLive() int64 {
	obs := s.ObservedStreamTime()
	if obs < 0 {
		return 0
	}
	return max(obs-s.ret+1, 0)
}

// CachingWindowStore puts a RecordCache namespace in front of a WindowStore, as Kafka
// Streams' CachingWindowStore does. Writes reach the store (and its change logger) folded,
// on Flush or eviction; reads merge the cache and the store, the cache winning. It does not
// support stores that retain duplicates (ErrUnsupported), as Kafka Streams does not cache
// them either.
type CachingWindowStore struct {
	cachingWindowed[WindowStore]
	size int64
}

var (
	_ WindowStore = (*CachingWindowStore)(nil)
	_ Restorable  = (*CachingWindowStore)(nil)
)

// NewCachingWindowStore wraps inner with a namespace of cache.
func NewCachingWindowStore(inner WindowStore, cache *RecordCache, opts CachingWindowedOptions) (*CachingWindowStore, error) {
	wo := inner.Options()
	if wo.RetainDuplicates {
		return nil, fmt.Errorf("statestore: %s: caching: %w: window store retains duplicates", inner.Name(), ErrUnsupported)
	}
	if opts.Namespace == "" {
		opts.Namespace = inner.Name()
	}
	s := &CachingWindowStore{size: wo.WindowSize.Milliseconds()}
	s.cachingWindowed = cachingWindowed[WindowStore]{inner: inner, ret: wo.Retention.Milliseconds(),
		fetchOld: func(w Windowed) ([]byte, error) { return inner.FetchOne(w.Key, w.Start) },
		putInner: func(w Windowed, value []byte) error { return inner.Put(w.Key, value, w.Start) },
	}
	s.windowedCaching = windowedCaching{
		name: inner.Name(), opts: opts, interval: wo.SegmentInterval.Milliseconds(), observed: -1,
		segTime: func(w Windowed) int64 { return w.Start },
	}
	s.encode = func(dst []byte, w Windowed) []byte {
		dst = binary.BigEndian.AppendUint64(dst, uint64(w.Start/s.interval))
		dst = appendEscapedKey(dst, w.Key)
		return binary.BigEndian.AppendUint64(dst, uint64(w.Start))
	}
	s.decode = func(b []byte) (Windowed, error) {
		if len(b) < 8 {
			return Windowed{}, ErrCorruptKey
		}
		key, rest, err := cutEscapedKey(b[8:])
		if err != nil || len(rest) != 8 {
			return Windowed{}, ErrCorruptKey
		}
		start := int64(binary.BigEndian.Uint64(rest))
		return Windowed{Key: key, Start: start, End: start + s.size}, nil
	}
	s.cmp = func(a, b Windowed) int {
		if c := cmpInt(a.Start/s.interval, b.Start/s.interval); c != 0 {
			return c
		}
		if c := bytes.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return cmpInt(a.Start, b.Start)
	}
	ns, err := cache.Namespace(opts.Namespace, s.flushed)
	if err != nil {
		return nil, err
	}
	s.ns = ns
	return s, nil
}

// Options implements WindowStore.
func (s *CachingWindowStore) Options() WindowOptions { return s.inner.Options() }

// Put implements WindowStore.
func (s *CachingWindowStore) Put(key, value []byte, windowStart int64) error {
	if s.closed.Load() {
		return s.errf("put", ErrClosed)
	}
	switch {
	case key == nil:
		return s.errf("put", ErrNilKey)
	case windowStart < 0:
		return s.errf("put", ErrNegativeTime)
	}
	if windowStart < s.minLive() {
		if hook := s.inner.Options().OnExpired; hook != nil {
			hook(key, windowStart)
		}
		return nil
	}
	return s.put(Windowed{Key: key, Start: windowStart, End: windowStart + s.size}, value)
}

// FetchOne implements ReadOnlyWindowStore.
func (s *CachingWindowStore) FetchOne(key []byte, windowStart int64) ([]byte, error) {
	if key == nil {
		return nil, s.errf("fetch", ErrNilKey)
	}
	if s.closed.Load() {
		return nil, s.errf("fetch", ErrClosed)
	}
	if windowStart < s.minLive() {
		return nil, nil
	}
	if l := s.ns.Get(s.encode(nil, Windowed{Key: key, Start: windowStart})); l.Found {
		return l.Value, nil
	}
	return s.inner.FetchOne(key, windowStart)
}

func (s *CachingWindowStore) fetch(keyFrom, keyTo []byte, single bool, from, to int64, reverse bool,
	open func() (WindowedIterator, error)) (WindowedIterator, error) {
	if single && keyFrom == nil {
		return nil, s.errf("fetch", ErrNilKey)
	}
	if s.closed.Load() {
		return nil, s.errf("fetch", ErrClosed)
	}
	in, err := open()
	if err != nil {
		return nil, err
	}
	from = max(from, s.minLive())
	keep := func(w Windowed) bool {
		if w.Start < from || w.Start > to {
			return false
		}
		if single {
			return bytes.Equal(w.Key, keyFrom)
		}
		return keyIn(w.Key, keyFrom, keyTo)
	}
	if from > to || (keyFrom != nil && keyTo != nil && bytes.Compare(keyFrom, keyTo) > 0) {
		return s.merge(in, nil, reverse, keep), nil
	}
	cached, err := s.cached(from/s.interval, to/s.interval, reverse, keep)
	if err != nil {
		in.Close()
		return nil, err
	}
	return s.merge(in, cached, reverse, keep), nil
}

// Fetch implements ReadOnlyWindowStore.
func (s *CachingWindowStore) Fetch(key []byte, timeFrom, timeTo int64) (WindowedIterator, error) {
	return s.fetch(key, key, true, timeFrom, timeTo, false, func() (WindowedIterator, error) { return s.inner.Fetch(key, timeFrom, timeTo) })
}

// BackwardFetch implements ReadOnlyWindowStore.
func (s *CachingWindowStore) BackwardFetch(key []byte, timeFrom, timeTo int64) (WindowedIterator, error) {
	return s.fetch(key, key, true, timeFrom, timeTo, true, func() (WindowedIterator, error) { return s.inner.BackwardFetch(key, timeFrom, timeTo) })
}

// FetchKeyRange implements ReadOnlyWindowStore.
func (s *CachingWindowStore) FetchKeyRange(keyFrom, keyTo []byte, timeFrom, timeTo int64) (WindowedIterator, error) {
	return s.fetch(keyFrom, keyTo, false, timeFrom, timeTo, false, func() (WindowedIterator, error) {
		return s.inner.FetchKeyRange(keyFrom, keyTo, timeFrom, timeTo)
	})
}

// BackwardFetchKeyRange implements ReadOnlyWindowStore.
func (s *CachingWindowStore) BackwardFetchKeyRange(keyFrom, keyTo []byte, timeFrom, timeTo int64) (WindowedIterator, error) {
	return s.fetch(keyFrom, keyTo, false, timeFrom, timeTo, true, func() (WindowedIterator, error) {
		return s.inner.BackwardFetchKeyRange(keyFrom, keyTo, timeFrom, timeTo)
	})
}

// FetchAll implements ReadOnlyWindowStore.
func (s *CachingWindowStore) FetchAll(timeFrom, timeTo int64) (WindowedIterator, error) {
	return s.fetch(nil, nil, false, timeFrom, timeTo, false, func() (WindowedIterator, error) { return s.inner.FetchAll(timeFrom, timeTo) })
}

// BackwardFetchAll implements ReadOnlyWindowStore.
func (s *CachingWindowStore) BackwardFetchAll(timeFrom, timeTo int64) (WindowedIterator, error) {
	return s.fetch(nil, nil, false, timeFrom, timeTo, true, func() (WindowedIterator, error) { return s.inner.BackwardFetchAll(timeFrom, timeTo) })
}

// All implements ReadOnlyWindowStore.
func (s *CachingWindowStore) All() (WindowedIterator, error) {
	return s.fetch(nil, nil, false, 0, math.MaxInt64, false, s.inner.All)
}

// BackwardAll implements ReadOnlyWindowStore.
func (s *CachingWindowStore) BackwardAll() (WindowedIterator, error) {
	return s.fetch(nil, nil, false, 0, math.MaxInt64, true, s.inner.BackwardAll)
}

// CachingSessionStore puts a RecordCache namespace in front of a SessionStore, as Kafka
// Streams' CachingSessionStore does.
type CachingSessionStore struct {
	cachingWindowed[SessionStore]
}

var (
	_ SessionStore = (*CachingSessionStore)(nil)
	_ Restorable   = (*CachingSessionStore)(nil)
)

// NewCachingSessionStore wraps inner with a namespace of cache.
func NewCachingSessionStore(inner SessionStore, cache *RecordCache, opts CachingWindowedOptions) (*CachingSessionStore, error) {
	so := inner.Options()
	if opts.Namespace == "" {
		opts.Namespace = inner.Name()
	}
	s := &CachingSessionStore{}
	s.cachingWindowed = cachingWindowed[SessionStore]{inner: inner, ret: so.Retention.Milliseconds(),
		fetchOld: func(w Windowed) ([]byte, error) { return inner.FetchSession(w.Key, w.Start, w.End) },
		putInner: inner.Put,
	}
	s.windowedCaching = windowedCaching{
		name: inner.Name(), opts: opts, interval: so.SegmentInterval.Milliseconds(), observed: -1,
		segTime: func(w Windowed) int64 { return w.End },
	}
	s.encode = func(dst []byte, w Windowed) []byte {
		dst = binary.BigEndian.AppendUint64(dst, uint64(w.End/s.interval))
		dst = appendEscapedKey(dst, w.Key)
		dst = binary.BigEndian.AppendUint64(dst, uint64(w.End))
		return binary.BigEndian.AppendUint64(dst, uint64(w.Start))
	}
	s.decode = func(b []byte) (Windowed, error) {
		if len(b) < 8 {
			return Windowed{}, ErrCorruptKey
		}
		key, rest, err := cutEscapedKey(b[8:])
		if err != nil || len(rest) != 16 {
			return Windowed{}, ErrCorruptKey
		}
		return Windowed{Key: key, End: int64(binary.BigEndian.Uint64(rest)), Start: int64(binary.BigEndian.Uint64(rest[8:]))}, nil
	}
	s.cmp = func(a, b Windowed) int {
		if c := cmpInt(a.End/s.interval, b.End/s.interval); c != 0 {
			return c
		}
		if c := bytes.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		if c := cmpInt(a.End, b.End); c != 0 {
			return c
		}
		return cmpInt(a.Start, b.Start)
	}
	ns, err := cache.Namespace(opts.Namespace, s.flushed)
	if err != nil {
		return nil, err
	}
	s.ns = ns
	return s, nil
}

// Options implements SessionStore.
func (s *CachingSessionStore) Options() SessionOptions { return s.inner.Options() }

func checkWindowed(w Windowed) error {
	switch {
	case w.Key == nil:
		return ErrNilKey
	case w.Start < 0 || w.End < 0:
		return ErrNegativeTime
	case w.Start > w.End:
		return ErrInvalidSession
	}
	return nil
}

// Put implements SessionStore.
func (s *CachingSessionStore) Put(session Windowed, value []byte) error {
	if s.closed.Load() {
		return s.errf("put", ErrClosed)
	}
	if err := checkWindowed(session); err != nil {
		return s.errf("put", err)
	}
	if session.End < s.minLive() {
		if hook := s.inner.Options().OnExpired; hook != nil {
			hook(session.Key, session.End)
		}
		return nil
	}
	return s.put(session, value)
}

// Remove implements SessionStore.
func (s *CachingSessionStore) Remove(session Windowed) error { return s.Put(session, nil) }

// FetchSession implements ReadOnlySessionStore.
func (s *CachingSessionStore) FetchSession(key []byte, start, end int64) ([]byte, error) {
	w := Windowed{Key: key, Start: start, End: end}
	if err := checkWindowed(w); err != nil {
		return nil, s.errf("fetch session", err)
	}
	if s.closed.Load() {
		return nil, s.errf("fetch session", ErrClosed)
	}
	if end < s.minLive() {
		return nil, nil
	}
	if l := s.ns.Get(s.encode(nil, w)); l.Found {
		return l.Value, nil
	}
	return s.inner.FetchSession(key, start, end)
}

func (s *CachingSessionStore) find(keyFrom, keyTo []byte, single bool, earliestEnd, latestStart int64, reverse bool,
	open func() (WindowedIterator, error)) (WindowedIterator, error) {
	if single && keyFrom == nil {
		return nil, s.errf("find sessions", ErrNilKey)
	}
	if s.closed.Load() {
		return nil, s.errf("find sessions", ErrClosed)
	}
	in, err := open()
	if err != nil {
		return nil, err
	}
	earliestEnd = max(earliestEnd, s.minLive())
	keep := func(w Windowed) bool {
		if w.End < earliestEnd || w.Start > latestStart {
			return false
		}
		if single {
			return bytes.Equal(w.Key, keyFrom)
		}
		return keyIn(w.Key, keyFrom, keyTo)
	}
	if latestStart < 0 || (keyFrom != nil && keyTo != nil && bytes.Compare(keyFrom, keyTo) > 0) {
		return s.merge(in, nil, reverse, keep), nil
	}
	cached, err := s.cached(earliestEnd/s.interval, math.MaxInt64, reverse, keep)
	if err != nil {
		in.Close()
		return nil, err
	}
	return s.merge(in, cached, reverse, keep), nil
}

// FindSessions implements ReadOnlySessionStore.
func (s *CachingSessionStore) FindSessions(key []byte, earliestSessionEnd, latestSessionStart int64) (WindowedIterator, error) {
	return s.find(key, key, true, earliestSessionEnd, latestSessionStart, false, func() (WindowedIterator, error) {
		return s.inner.FindSessions(key, earliestSessionEnd, latestSessionStart)
	})
}

// BackwardFindSessions implements ReadOnlySessionStore.
func (s *CachingSessionStore) BackwardFindSessions(key []byte, earliestSessionEnd, latestSessionStart int64) (WindowedIterator, error) {
	return s.find(key, key, true, earliestSessionEnd, latestSessionStart, true, func() (WindowedIterator, error) {
		return s.inner.BackwardFindSessions(key, earliestSessionEnd, latestSessionStart)
	})
}

// FindSessionsKeyRange implements ReadOnlySessionStore.
func (s *CachingSessionStore) FindSessionsKeyRange(keyFrom, keyTo []byte, earliestSessionEnd, latestSessionStart int64) (WindowedIterator, error) {
	return s.find(keyFrom, keyTo, false, earliestSessionEnd, latestSessionStart, false, func() (WindowedIterator, error) {
		return s.inner.FindSessionsKeyRange(keyFrom, keyTo, earliestSessionEnd, latestSessionStart)
	})
}

// BackwardFindSessionsKeyRange implements ReadOnlySessionStore.
func (s *CachingSessionStore) BackwardFindSessionsKeyRange(keyFrom, keyTo []byte, earliestSessionEnd, latestSessionStart int64) (WindowedIterator, error) {
	return s.find(keyFrom, keyTo, false, earliestSessionEnd, latestSessionStart, true, func() (WindowedIterator, error) {
		return s.inner.BackwardFindSessionsKeyRange(keyFrom, keyTo, earliestSessionEnd, latestSessionStart)
	})
}

// Fetch implements ReadOnlySessionStore.
func (s *CachingSessionStore) Fetch(key []byte) (WindowedIterator, error) {
	return s.FindSessions(key, 0, math.MaxInt64)
}

// BackwardFetch implements ReadOnlySessionStore.
func (s *CachingSessionStore) BackwardFetch(key []byte) (WindowedIterator, error) {
	return s.BackwardFindSessions(key, 0, math.MaxInt64)
}

// FetchKeyRange implements ReadOnlySessionStore.
func (s *CachingSessionStore) FetchKeyRange(keyFrom, keyTo []byte) (WindowedIterator, error) {
	return s.FindSessionsKeyRange(keyFrom, keyTo, 0, math.MaxInt64)
}

// BackwardFetchKeyRange implements ReadOnlySessionStore.
func (s *CachingSessionStore) BackwardFetchKeyRange(keyFrom, keyTo []byte) (WindowedIterator, error) {
	return s.BackwardFindSessionsKeyRange(keyFrom, keyTo, 0, math.MaxInt64)
}
