package statestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
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
	// WriteThrough, when set, runs each write of a flushed entry to the store underneath
	// (write) with the entry's record context, for a change logger that stamps its records
	// with the time of the record that made the write.
	WriteThrough func(ctx RecordContext, write func() error) error
}

var (
	_ WindowStore  = (*CachingWindowStore)(nil)
	_ Restorable   = (*CachingWindowStore)(nil)
	_ SessionStore = (*CachingSessionStore)(nil)
	_ Restorable   = (*CachingSessionStore)(nil)
)

// windowedInner is the store under a caching window or session store, as far as the
// parts they share need it.
type windowedInner interface {
	Store
	ObservedStreamTime() int64
}

// windowedCaching is what the caching window and session stores share; S is the kind of
// store underneath.
type windowedCaching[S windowedInner] struct {
	inner    S
	name     string
	ns       *CacheNamespace
	opts     CachingWindowedOptions
	closed   atomic.Bool
	interval int64
	ret      int64 // retention, ms
	mu       sync.Mutex
	observed int64 // the largest time put through the cache (window start or session end)
	// sessions says the entries are sessions: segTime is the end and a cache key carries
	// the start after it. Otherwise segTime is the window start and size the window size.
	sessions bool
	size     int64
	// fetchOld reads the value the store underneath holds for w (for SendOldValues);
	// putInner writes to it.
	fetchOld  func(w Windowed) ([]byte, error)
	putInner  func(w Windowed, value []byte) error
	onExpired ExpiredHook
}

func (c *windowedCaching[S]) errf(op string, err error) error {
	return fmt.Errorf("statestore: %s: %s: %w", c.name, op, err)
}

func (c *windowedCaching[S]) ctx() RecordContext {
	if c.opts.Context != nil {
		return c.opts.Context()
	}
	return RecordContext{}
}

// Inner returns the wrapped store.
func (c *windowedCaching[S]) Inner() S { return c.inner }

// Name implements Store.
func (c *windowedCaching[S]) Name() string { return c.inner.Name() }

// Persistent implements Store.
func (c *windowedCaching[S]) Persistent() bool { return c.inner.Persistent() }

// ObservedStreamTime is the largest time written (window start or session end), whether it
// has reached the store yet or not.
func (c *windowedCaching[S]) ObservedStreamTime() int64 {
	return max(c.inner.ObservedStreamTime(), c.cacheObserved())
}

// Flush implements Store.
func (c *windowedCaching[S]) Flush() error {
	if err := c.ns.Flush(); err != nil {
		return err
	}
	return c.inner.Flush()
}

// FlushWrites implements WriteFlusher: the cache writes its dirty entries below.
func (c *windowedCaching[S]) FlushWrites() error {
	if err := c.ns.Flush(); err != nil {
		return err
	}
	return FlushWrites(c.inner)
}

// Close implements Store.
func (c *windowedCaching[S]) Close() error {
	if c.closed.Swap(true) {
		return c.errf("close", ErrClosed)
	}
	err := c.ns.Close()
	if cerr := c.inner.Close(); err == nil {
		err = cerr
	}
	return err
}

// RestoreBatch implements Restorable: it restores the store underneath and drops the cache.
func (c *windowedCaching[S]) RestoreBatch(records []KeyValue) error {
	r, ok := any(c.inner).(Restorable)
	if !ok {
		return c.errf("restore", fmt.Errorf("%w: inner store cannot restore", ErrUnsupported))
	}
	c.ns.Clear()
	return r.RestoreBatch(records)
}

// segTime is the time that picks w's segment: a window's start, a session's end.
func (c *windowedCaching[S]) segTime(w Windowed) int64 {
	if c.sessions {
		return w.End
	}
	return w.Start
}

// encode appends w's cache key.
func (c *windowedCaching[S]) encode(dst []byte, w Windowed) []byte {
	t := c.segTime(w)
	dst = binary.BigEndian.AppendUint64(dst, uint64(t/c.interval))
	dst = appendEscapedKey(dst, w.Key)
	dst = binary.BigEndian.AppendUint64(dst, uint64(t))
	if c.sessions {
		dst = binary.BigEndian.AppendUint64(dst, uint64(w.Start))
	}
	return dst
}

// decode reads a cache key written by encode.
func (c *windowedCaching[S]) decode(b []byte) (Windowed, error) {
	if len(b) < 8 {
		return Windowed{}, ErrCorruptKey
	}
	key, rest, err := cutEscapedKey(b[8:])
	if err != nil {
		return Windowed{}, ErrCorruptKey
	}
	switch {
	case c.sessions && len(rest) == 16:
		return Windowed{Key: key, End: int64(binary.BigEndian.Uint64(rest)), Start: int64(binary.BigEndian.Uint64(rest[8:]))}, nil
	case !c.sessions && len(rest) == 8:
		start := int64(binary.BigEndian.Uint64(rest))
		return Windowed{Key: key, Start: start, End: start + c.size}, nil
	}
	return Windowed{}, ErrCorruptKey
}

// cmp compares two entries in store order: segment, key, segment time, start.
func (c *windowedCaching[S]) cmp(a, b Windowed) int {
	ta, tb := c.segTime(a), c.segTime(b)
	if x := cmpInt(ta/c.interval, tb/c.interval); x != 0 {
		return x
	}
	if x := bytes.Compare(a.Key, b.Key); x != 0 {
		return x
	}
	if x := cmpInt(ta, tb); x != 0 {
		return x
	}
	return cmpInt(a.Start, b.Start)
}

// init sets the shared part up over inner, with inner's retention, segment interval and
// expired hook, and takes a namespace of cache. The caller sets sessions, size, fetchOld
// and putInner.
func (c *windowedCaching[S]) init(inner S, cache *RecordCache, opts CachingWindowedOptions, retention, interval time.Duration, onExpired ExpiredHook) error {
	if opts.Namespace == "" {
		opts.Namespace = inner.Name()
	}
	c.inner, c.name, c.opts, c.onExpired = inner, inner.Name(), opts, onExpired
	c.ret, c.interval, c.observed = retention.Milliseconds(), interval.Milliseconds(), -1
	ns, err := cache.Namespace(opts.Namespace, c.flushed)
	if err != nil {
		return err
	}
	c.ns = ns
	return nil
}

// flushed writes the dirty entries to the store underneath and hands them to OnFlush. A
// delete of an entry the store does not hold (a session merged into a longer one before
// it was ever flushed) is written (it moves the store's stream time) but not handed on, as
// Kafka Streams' caching stores do not forward it: the processors downstream never see a
// delete of something they were never sent.
func (c *windowedCaching[S]) flushed(entries []DirtyEntry) error {
	out := make([]CachedWindowedEntry, 0, len(entries))
	sendOld := c.opts.SendOldValues && c.opts.OnFlush != nil
	for _, e := range entries {
		w, err := c.decode(e.Key)
		if err != nil {
			return c.errf("flush: decode cache key", err)
		}
		var old []byte
		if sendOld || e.Value == nil {
			if old, err = c.fetchOld(w); err != nil {
				return err
			}
		}
		if err := c.writeThrough(e.Context, w, e.Value); err != nil {
			return err
		}
		if e.Value == nil && old == nil {
			continue
		}
		f := CachedWindowedEntry{Window: w, NewValue: e.Value, Context: e.Context}
		if sendOld {
			f.OldValue = old
		}
		out = append(out, f)
	}
	if c.opts.OnFlush != nil {
		return c.opts.OnFlush(out)
	}
	return nil
}

func (c *windowedCaching[S]) writeThrough(ctx RecordContext, w Windowed, value []byte) error {
	if c.opts.WriteThrough == nil {
		return c.putInner(w, value)
	}
	return c.opts.WriteThrough(ctx, func() error { return c.putInner(w, value) })
}

// SetFlushListener replaces the options' OnFlush and SendOldValues: the processor that
// forwards a store's flushed updates registers itself when it starts, as it is then that
// it knows whether the processors after it read old values.
func (c *windowedCaching[S]) SetFlushListener(onFlush func(entries []CachedWindowedEntry) error, sendOldValues bool) {
	c.opts.OnFlush, c.opts.SendOldValues = onFlush, sendOldValues
}

// Discard drops the cache's dirty entries without writing them to the store underneath:
// what an unclean close does before Close, which would otherwise flush them.
func (c *windowedCaching[S]) Discard() { c.ns.Clear() }

func (c *windowedCaching[S]) minLive() int64 {
	obs := c.ObservedStreamTime()
	if obs < 0 {
		return 0
	}
	return max(obs-c.ret+1, 0)
}

// put caches a write of w (already checked), or drops it to the expired hook when its
// segment time is no longer live.
func (c *windowedCaching[S]) put(w Windowed, value []byte) error {
	if t := c.segTime(w); t < c.minLive() {
		if c.onExpired != nil {
			c.onExpired(w.Key, t)
		}
		return nil
	}
	c.mu.Lock()
	c.observed = max(c.observed, c.segTime(w))
	c.mu.Unlock()
	return c.ns.Put(c.encode(nil, w), value, c.ctx())
}

// get reads w's value from the cache, or from the store underneath (fetch) on a miss.
func (c *windowedCaching[S]) get(op string, w Windowed, fetch func() ([]byte, error)) ([]byte, error) {
	if c.closed.Load() {
		return nil, c.errf(op, ErrClosed)
	}
	if c.segTime(w) < c.minLive() {
		return nil, nil
	}
	if l := c.ns.Get(c.encode(nil, w)); l.Found {
		return l.Value, nil
	}
	return fetch()
}

func (c *windowedCaching[S]) cacheObserved() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.observed
}

// read is every ranged read: the store's entries (open) merged with the cache's, both
// limited to keys keyFrom..keyTo (keyFrom alone when single), a segment time of at least
// from (raised to the smallest live time), a start of at most to, and segments up to the
// one of maxSegTime.
func (c *windowedCaching[S]) read(op string, keyFrom, keyTo []byte, single bool, from, to, maxSegTime int64, reverse bool,
	open func() (WindowedIterator, error)) (WindowedIterator, error) {
	if single && keyFrom == nil {
		return nil, c.errf(op, ErrNilKey)
	}
	if c.closed.Load() {
		return nil, c.errf(op, ErrClosed)
	}
	in, err := open()
	if err != nil {
		return nil, err
	}
	from = max(from, c.minLive())
	keep := func(w Windowed) bool {
		if c.segTime(w) < from || w.Start > to {
			return false
		}
		if single {
			return bytes.Equal(w.Key, keyFrom)
		}
		return keyIn(w.Key, keyFrom, keyTo)
	}
	if from > maxSegTime || to < 0 || (keyFrom != nil && keyTo != nil && bytes.Compare(keyFrom, keyTo) > 0) {
		return c.merge(in, nil, reverse, keep), nil
	}
	segTo := int64(math.MaxInt64)
	if maxSegTime < math.MaxInt64 {
		segTo = maxSegTime / c.interval
	}
	cached, err := c.cached(from/c.interval, segTo, reverse, keep)
	if err != nil {
		in.Close()
		return nil, err
	}
	return c.merge(in, cached, reverse, keep), nil
}

// cached returns the cache's entries in segments [segFrom, segTo] (ascending, or reversed)
// that keep accepts.
func (c *windowedCaching[S]) cached(segFrom, segTo int64, reverse bool, keep func(Windowed) bool) ([]windowedCacheEntry, error) {
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

func (c *windowedCaching[S]) merge(in WindowedIterator, cached []windowedCacheEntry, reverse bool, keep func(Windowed) bool) WindowedIterator {
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

// CachingWindowStore puts a RecordCache namespace in front of a WindowStore, as Kafka
// Streams' CachingWindowStore does. Writes reach the store (and its change logger) folded,
// on Flush or eviction; reads merge the cache and the store, the cache winning. It does not
// support stores that retain duplicates (ErrUnsupported), as Kafka Streams does not cache
// them either.
type CachingWindowStore struct {
	windowedCaching[WindowStore]
}

// NewCachingWindowStore wraps inner with a namespace of cache.
func NewCachingWindowStore(inner WindowStore, cache *RecordCache, opts CachingWindowedOptions) (*CachingWindowStore, error) {
	wo := inner.Options()
	if wo.RetainDuplicates {
		return nil, fmt.Errorf("statestore: %s: caching: %w: window store retains duplicates", inner.Name(), ErrUnsupported)
	}
	s := &CachingWindowStore{}
	s.size = wo.WindowSize.Milliseconds()
	s.fetchOld = func(w Windowed) ([]byte, error) { return inner.FetchOne(w.Key, w.Start) }
	s.putInner = func(w Windowed, value []byte) error { return inner.Put(w.Key, value, w.Start) }
	if err := s.init(inner, cache, opts, wo.Retention, wo.SegmentInterval, wo.OnExpired); err != nil {
		return nil, err
	}
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
	return s.put(Windowed{Key: key, Start: windowStart, End: windowStart + s.size}, value)
}

// FetchOne implements ReadOnlyWindowStore.
func (s *CachingWindowStore) FetchOne(key []byte, windowStart int64) ([]byte, error) {
	if key == nil {
		return nil, s.errf("fetch", ErrNilKey)
	}
	return s.get("fetch", Windowed{Key: key, Start: windowStart}, func() ([]byte, error) { return s.inner.FetchOne(key, windowStart) })
}

// fetch reads the windows starting from..to of keys keyFrom..keyTo (keyFrom alone when
// single); open opens the same read on the store underneath.
func (s *CachingWindowStore) fetch(keyFrom, keyTo []byte, single bool, from, to int64, reverse bool,
	open func() (WindowedIterator, error)) (WindowedIterator, error) {
	return s.read("fetch", keyFrom, keyTo, single, from, to, to, reverse, open)
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
	windowedCaching[SessionStore]
}

// NewCachingSessionStore wraps inner with a namespace of cache.
func NewCachingSessionStore(inner SessionStore, cache *RecordCache, opts CachingWindowedOptions) (*CachingSessionStore, error) {
	so := inner.Options()
	s := &CachingSessionStore{}
	s.sessions = true
	s.fetchOld = func(w Windowed) ([]byte, error) { return inner.FetchSession(w.Key, w.Start, w.End) }
	s.putInner = inner.Put
	if err := s.init(inner, cache, opts, so.Retention, so.SegmentInterval, so.OnExpired); err != nil {
		return nil, err
	}
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
	return s.get("fetch session", w, func() ([]byte, error) { return s.inner.FetchSession(key, start, end) })
}

// find reads the sessions of keys keyFrom..keyTo (keyFrom alone when single) that end at
// earliestEnd or later and start at latestStart or earlier; open opens the same read on
// the store underneath.
func (s *CachingSessionStore) find(keyFrom, keyTo []byte, single bool, earliestEnd, latestStart int64, reverse bool,
	open func() (WindowedIterator, error)) (WindowedIterator, error) {
	return s.read("find sessions", keyFrom, keyTo, single, earliestEnd, latestStart, math.MaxInt64, reverse, open)
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
