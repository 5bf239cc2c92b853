package streams

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/rivulet-io/rivulet/statestore"
)

// Under exactly_once_v2 window and session stores stage their writes as
// key-value stores do (stagedKV): a write is sent to the changelog at once
// (inside the open transaction) and kept in memory, keyed by its changelog
// key, until the transaction commits; apply then writes the commit's writes
// to the store through its restore path (the changelog records themselves)
// and flushes it, before the checkpoint. Reads see the store with the staged
// writes over it, in the store's own order, so a task reads its own
// uncommitted writes.

// sequenceReserver is a window store retaining duplicates that hands out
// sequence numbers for writes applied later through RestoreBatch (the
// stores of statestore/memstore and statestore/badgerstore).
type sequenceReserver interface {
	ReserveSequence() (uint32, error)
}

// stagedEntry is one staged write of a window or session store; a nil value
// deletes (window) or removes the session.
type stagedEntry struct {
	key        []byte
	start, end int64
	// seq orders duplicates of one window: the store's entries count as -1
	// (before every staged duplicate), 0 in a store without duplicates.
	seq   int64
	value []byte
}

// liveFrom is the smallest unexpired time for a stream time observed and a
// retention: the rule of the statestore window and session stores.
func liveFrom(observed, retention int64) int64 {
	if observed < 0 {
		return 0
	}
	return max(observed-retention+1, 0)
}

// stagedTimes is what staged window and session stores share: the pending
// writes and the stream time they observed.
type stagedTimes struct {
	mu sync.RWMutex
	// pending maps a changelog key to its staged write.
	pending map[string]stagedEntry
	// byKey indexes pending by record key, for the single-key reads the
	// aggregations make per record.
	byKey map[string]map[string]struct{}
	// observed is the largest time staged (window start, session end), -1.
	observed  int64
	retention int64
	interval  int64
	logger    statestore.ChangeLogger
	onExpired statestore.ExpiredHook
}

func newStagedTimes(retention, interval int64, logger statestore.ChangeLogger, onExpired statestore.ExpiredHook) stagedTimes {
	return stagedTimes{pending: map[string]stagedEntry{}, byKey: map[string]map[string]struct{}{}, observed: -1, retention: retention, interval: max(interval, 1), logger: logger, onExpired: onExpired}
}

// stage records a write (under mu) unless its time is expired, and sends it
// to the changelog. ts is the time that advances the stream time.
func (s *stagedTimes) stage(baseObserved int64, ck []byte, e stagedEntry, ts int64) error {
	s.mu.Lock()
	s.observed = max(s.observed, ts)
	if ts < liveFrom(max(s.observed, baseObserved), s.retention) {
		s.mu.Unlock()
		if s.onExpired != nil {
			s.onExpired(e.key, ts)
		}
		return nil
	}
	s.pending[string(ck)] = e
	cks := s.byKey[string(e.key)]
	if cks == nil {
		cks = map[string]struct{}{}
		s.byKey[string(e.key)] = cks
	}
	cks[string(ck)] = struct{}{}
	s.mu.Unlock()
	if s.logger != nil {
		return s.logger(ck, e.value)
	}
	return nil
}

// lookup returns the staged write of changelog key ck.
func (s *stagedTimes) lookup(ck []byte) (stagedEntry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.pending[string(ck)]
	return e, ok
}

// applyTo writes the staged writes to base through its restore path and
// flushes it. Called once the transaction holding their changelog records
// committed.
func (s *stagedTimes) applyTo(name string, base statestore.Store) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) > 0 {
		r, ok := base.(statestore.Restorable)
		if !ok {
			return fmt.Errorf("streams: store %q (%T) cannot apply staged writes", name, base)
		}
		batch := make([]statestore.KeyValue, 0, len(s.pending))
		for k, e := range s.pending {
			batch = append(batch, statestore.KeyValue{Key: []byte(k), Value: e.value})
		}
		slices.SortFunc(batch, func(a, b statestore.KeyValue) int { return bytes.Compare(a.Key, b.Key) })
		if err := r.RestoreBatch(batch); err != nil {
			return fmt.Errorf("streams: store %q: apply committed writes: %w", name, err)
		}
		s.pending = map[string]stagedEntry{}
		s.byKey = map[string]map[string]struct{}{}
	}
	if err := base.Flush(); err != nil {
		return fmt.Errorf("streams: store %q: flush committed writes: %w", name, err)
	}
	return nil
}

func (s *stagedTimes) pendingCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.pending)
}

func (s *stagedTimes) drop() {
	s.mu.Lock()
	s.pending = map[string]stagedEntry{}
	s.byKey = map[string]map[string]struct{}{}
	s.mu.Unlock()
}

// overlay returns, under mu, the staged writes that keep accepts (of record
// key single only, when not nil), sorted by order, and the smallest live
// time; direct is set when nothing is staged over base (no pending write,
// no later stream time): base's reads are the answer.
func (s *stagedTimes) overlay(baseObserved int64, single []byte, keep func(*stagedEntry) bool, order func(a, b *stagedEntry) int, at func(*stagedEntry) int64) (ov []stagedEntry, live int64, direct bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	obs := max(s.observed, baseObserved)
	live = liveFrom(obs, s.retention)
	if len(s.pending) == 0 && s.observed <= baseObserved {
		return nil, live, true
	}
	add := func(e stagedEntry) {
		if at(&e) >= live && keep(&e) {
			ov = append(ov, e)
		}
	}
	if single != nil {
		for ck := range s.byKey[string(single)] {
			add(s.pending[ck])
		}
	} else {
		for _, e := range s.pending {
			add(e)
		}
	}
	slices.SortFunc(ov, func(a, b stagedEntry) int { return order(&a, &b) })
	return ov, live, false
}

// mergedWindowed walks a store's iterator and a sorted overlay of staged
// writes together, in one order; a staged write replaces (or, with a nil
// value, hides) the store's entry that orders equal to it. Entries whose
// time (at) is before live are expired and skipped.
type mergedWindowed struct {
	base    statestore.WindowedIterator
	ov      []stagedEntry
	i       int
	order   func(a, b *stagedEntry) int
	at      func(*stagedEntry) int64
	live    int64
	baseSeq int64
	started bool
	bHas    bool
	b       stagedEntry // the store's current entry (own buffers)
	cur     stagedEntry
	kbuf    []byte
	vbuf    []byte
	err     error
	closed  bool
}

func (m *mergedWindowed) advanceBase() {
	for m.base.Next() {
		m.b.start, m.b.end, m.b.seq = m.base.Start(), m.base.End(), m.baseSeq
		if m.at(&m.b) < m.live {
			continue
		}
		m.b.key = append(m.b.key[:0], m.base.Key()...)
		m.b.value = append(m.b.value[:0], m.base.Value()...)
		m.bHas = true
		return
	}
	m.bHas = false
	m.err = m.base.Err()
}

func (m *mergedWindowed) Next() bool {
	if m.closed {
		return false
	}
	if !m.started {
		m.started = true
		m.advanceBase()
	}
	for m.err == nil {
		oHas := m.i < len(m.ov)
		if !m.bHas && !oHas {
			return false
		}
		c := 1 // take the staged write
		if !oHas {
			c = -1
		} else if m.bHas {
			c = m.order(&m.b, &m.ov[m.i])
		}
		if c < 0 {
			// Own buffers: the store's entry is overwritten by advanceBase.
			m.kbuf = append(m.kbuf[:0], m.b.key...)
			m.vbuf = append(m.vbuf[:0], m.b.value...)
			m.cur = stagedEntry{key: m.kbuf, start: m.b.start, end: m.b.end, value: m.vbuf}
			m.advanceBase()
			return true
		}
		if c == 0 {
			m.advanceBase()
		}
		e := m.ov[m.i]
		m.i++
		if e.value == nil {
			continue // deleted
		}
		m.cur = e
		return true
	}
	return false
}

func (m *mergedWindowed) Key() []byte   { return m.cur.key }
func (m *mergedWindowed) Start() int64  { return m.cur.start }
func (m *mergedWindowed) End() int64    { return m.cur.end }
func (m *mergedWindowed) Value() []byte { return m.cur.value }
func (m *mergedWindowed) Err() error    { return m.err }

func (m *mergedWindowed) Close() error {
	if m.closed {
		return m.err
	}
	m.closed = true
	if err := m.base.Close(); err != nil && m.err == nil {
		m.err = err
	}
	return m.err
}

// reversedOrder is order backwards (the Backward* reads).
func reversedOrder(order func(a, b *stagedEntry) int) func(a, b *stagedEntry) int {
	return func(a, b *stagedEntry) int { return order(b, a) }
}

// inKeyRange reports whether from <= k <= to (nil bounds are open).
func inKeyRange(k, from, to []byte) bool {
	return (from == nil || bytes.Compare(k, from) >= 0) && (to == nil || bytes.Compare(k, to) <= 0)
}

// ---- window stores ----

// stagedWindow is a window store whose writes are staged until apply.
type stagedWindow struct {
	base statestore.WindowStore
	opts statestore.WindowOptions
	seqs sequenceReserver // set when the store retains duplicates
	size int64
	stagedTimes
}

// newStagedWindow wraps base (opened without change logger or expiry hook);
// opts are the options the runtime asked for, with both. It returns false
// when base cannot stage: it is not Restorable, or retains duplicates
// without handing out sequence numbers.
func newStagedWindow(base statestore.WindowStore, opts statestore.WindowOptions) (*stagedWindow, bool) {
	if _, ok := base.(statestore.Restorable); !ok {
		return nil, false
	}
	bo := base.Options()
	s := &stagedWindow{base: base, opts: opts, size: bo.WindowSize.Milliseconds(),
		stagedTimes: newStagedTimes(bo.Retention.Milliseconds(), bo.SegmentInterval.Milliseconds(), opts.ChangeLogger, opts.OnExpired)}
	if bo.RetainDuplicates {
		r, ok := base.(sequenceReserver)
		if !ok {
			return nil, false
		}
		s.seqs = r
	}
	return s, true
}

var (
	_ statestore.WindowStore = (*stagedWindow)(nil)
	_ statestore.Restorable  = (*stagedWindow)(nil)
)

func (s *stagedWindow) Name() string     { return s.base.Name() }
func (s *stagedWindow) Persistent() bool { return s.base.Persistent() }

// Flush flushes base: what it holds is committed.
func (s *stagedWindow) Flush() error { return s.base.Flush() }

// Close drops the staged writes (never committed) and closes base.
func (s *stagedWindow) Close() error {
	s.drop()
	return s.base.Close()
}

func (s *stagedWindow) apply() error { return s.applyTo(s.base.Name(), s.base) }

// RestoreBatch writes changelog records (committed) straight to base.
func (s *stagedWindow) RestoreBatch(records []statestore.KeyValue) error {
	if s.pendingCount() > 0 {
		return errStagedRestore
	}
	return s.base.(statestore.Restorable).RestoreBatch(records)
}

// Options returns base's options with the runtime's change logger and
// expiry hook.
func (s *stagedWindow) Options() statestore.WindowOptions {
	o := s.base.Options()
	o.ChangeLogger, o.OnExpired = s.opts.ChangeLogger, s.opts.OnExpired
	return o
}

func (s *stagedWindow) ObservedStreamTime() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return max(s.observed, s.base.ObservedStreamTime())
}

func (s *stagedWindow) Put(key, value []byte, windowStart int64) error {
	if key == nil {
		return fmt.Errorf("streams: store %q: put: %w", s.Name(), statestore.ErrNilKey)
	}
	if windowStart < 0 {
		return fmt.Errorf("streams: store %q: put: %w", s.Name(), statestore.ErrNegativeTime)
	}
	e := stagedEntry{key: bytes.Clone(key), start: windowStart, end: windowStart + s.size}
	if value != nil {
		e.value = bytes.Clone(value)
	}
	s.mu.Lock()
	s.observed = max(s.observed, windowStart)
	expired := windowStart < liveFrom(max(s.observed, s.base.ObservedStreamTime()), s.retention)
	s.mu.Unlock()
	if expired {
		if s.onExpired != nil {
			s.onExpired(key, windowStart)
		}
		return nil
	}
	var seq uint32
	if s.seqs != nil {
		if value == nil {
			return nil // as the store: a store with duplicates ignores a nil value
		}
		var err error
		if seq, err = s.seqs.ReserveSequence(); err != nil {
			return err
		}
		e.seq = int64(seq)
	}
	ck := statestore.AppendWindowKey(nil, key, windowStart, seq)
	return s.stage(s.base.ObservedStreamTime(), ck, e, windowStart)
}

func windowAt(e *stagedEntry) int64 { return e.start }

func (s *stagedWindow) baseSeq() int64 {
	if s.seqs != nil {
		return -1
	}
	return 0
}

// windowKeyOrder is the order of single-key fetches: window start, then
// sequence number.
func windowKeyOrder(a, b *stagedEntry) int {
	if c := cmp.Compare(a.start, b.start); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// windowRangeOrder is the order of fetches over key ranges: segment, key,
// window start, sequence number.
func (s *stagedWindow) windowRangeOrder(a, b *stagedEntry) int {
	if c := cmp.Compare(a.start/s.interval, b.start/s.interval); c != 0 {
		return c
	}
	if c := bytes.Compare(a.key, b.key); c != 0 {
		return c
	}
	return windowKeyOrder(a, b)
}

func (s *stagedWindow) FetchOne(key []byte, windowStart int64) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("streams: store %q: fetch: %w", s.Name(), statestore.ErrNilKey)
	}
	if s.seqs != nil {
		it, err := s.Fetch(key, windowStart, windowStart)
		if err != nil {
			return nil, err
		}
		var v []byte
		if it.Next() {
			v = bytes.Clone(it.Value())
		}
		return v, it.Close()
	}
	if windowStart < liveFrom(s.ObservedStreamTime(), s.retention) {
		return nil, nil
	}
	if e, ok := s.lookup(statestore.AppendWindowKey(nil, key, windowStart, 0)); ok {
		return e.value, nil
	}
	return s.base.FetchOne(key, windowStart)
}

// fetch merges base's read (open) with the staged writes of keys
// keyFrom..keyTo (one key when single) starting in timeFrom..timeTo.
func (s *stagedWindow) fetch(keyFrom, keyTo []byte, single bool, timeFrom, timeTo int64, reverse bool, open func() (statestore.WindowedIterator, error)) (statestore.WindowedIterator, error) {
	if single && keyFrom == nil {
		return nil, fmt.Errorf("streams: store %q: fetch: %w", s.Name(), statestore.ErrNilKey)
	}
	order := s.windowRangeOrder
	if single {
		order = windowKeyOrder
	}
	if reverse {
		order = reversedOrder(order)
	}
	keep := func(e *stagedEntry) bool {
		if e.start < timeFrom || e.start > timeTo {
			return false
		}
		if single {
			return bytes.Equal(e.key, keyFrom)
		}
		return inKeyRange(e.key, keyFrom, keyTo)
	}
	// The overlay is taken before base's snapshot: a write applied in
	// between is then seen in both, and the staged one wins.
	var one []byte
	if single {
		one = keyFrom
	}
	ov, live, direct := s.overlay(s.base.ObservedStreamTime(), one, keep, order, windowAt)
	it, err := open()
	if err != nil || direct {
		return it, err
	}
	return &mergedWindowed{base: it, ov: ov, order: order, at: windowAt, live: live, baseSeq: s.baseSeq()}, nil
}

func (s *stagedWindow) Fetch(key []byte, timeFrom, timeTo int64) (statestore.WindowedIterator, error) {
	return s.fetch(key, key, true, timeFrom, timeTo, false, func() (statestore.WindowedIterator, error) { return s.base.Fetch(key, timeFrom, timeTo) })
}

func (s *stagedWindow) BackwardFetch(key []byte, timeFrom, timeTo int64) (statestore.WindowedIterator, error) {
	return s.fetch(key, key, true, timeFrom, timeTo, true, func() (statestore.WindowedIterator, error) { return s.base.BackwardFetch(key, timeFrom, timeTo) })
}

func (s *stagedWindow) FetchKeyRange(keyFrom, keyTo []byte, timeFrom, timeTo int64) (statestore.WindowedIterator, error) {
	return s.fetch(keyFrom, keyTo, false, timeFrom, timeTo, false, func() (statestore.WindowedIterator, error) {
		return s.base.FetchKeyRange(keyFrom, keyTo, timeFrom, timeTo)
	})
}

func (s *stagedWindow) BackwardFetchKeyRange(keyFrom, keyTo []byte, timeFrom, timeTo int64) (statestore.WindowedIterator, error) {
	return s.fetch(keyFrom, keyTo, false, timeFrom, timeTo, true, func() (statestore.WindowedIterator, error) {
		return s.base.BackwardFetchKeyRange(keyFrom, keyTo, timeFrom, timeTo)
	})
}

func (s *stagedWindow) FetchAll(timeFrom, timeTo int64) (statestore.WindowedIterator, error) {
	return s.fetch(nil, nil, false, timeFrom, timeTo, false, func() (statestore.WindowedIterator, error) { return s.base.FetchAll(timeFrom, timeTo) })
}

func (s *stagedWindow) BackwardFetchAll(timeFrom, timeTo int64) (statestore.WindowedIterator, error) {
	return s.fetch(nil, nil, false, timeFrom, timeTo, true, func() (statestore.WindowedIterator, error) { return s.base.BackwardFetchAll(timeFrom, timeTo) })
}

func (s *stagedWindow) All() (statestore.WindowedIterator, error) {
	return s.fetch(nil, nil, false, 0, math.MaxInt64, false, s.base.All)
}

func (s *stagedWindow) BackwardAll() (statestore.WindowedIterator, error) {
	return s.fetch(nil, nil, false, 0, math.MaxInt64, true, s.base.BackwardAll)
}

// ---- session stores ----

// stagedSession is a session store whose writes are staged until apply.
type stagedSession struct {
	base statestore.SessionStore
	opts statestore.SessionOptions
	stagedTimes
}

// newStagedSession wraps base (opened without change logger or expiry
// hook); it returns false when base is not Restorable.
func newStagedSession(base statestore.SessionStore, opts statestore.SessionOptions) (*stagedSession, bool) {
	if _, ok := base.(statestore.Restorable); !ok {
		return nil, false
	}
	bo := base.Options()
	return &stagedSession{base: base, opts: opts,
		stagedTimes: newStagedTimes(bo.Retention.Milliseconds(), bo.SegmentInterval.Milliseconds(), opts.ChangeLogger, opts.OnExpired)}, true
}

var (
	_ statestore.SessionStore = (*stagedSession)(nil)
	_ statestore.Restorable   = (*stagedSession)(nil)
)

func (s *stagedSession) Name() string     { return s.base.Name() }
func (s *stagedSession) Persistent() bool { return s.base.Persistent() }

// Flush flushes base: what it holds is committed.
func (s *stagedSession) Flush() error { return s.base.Flush() }

// Close drops the staged writes (never committed) and closes base.
func (s *stagedSession) Close() error {
	s.drop()
	return s.base.Close()
}

func (s *stagedSession) apply() error { return s.applyTo(s.base.Name(), s.base) }

// RestoreBatch writes changelog records (committed) straight to base.
func (s *stagedSession) RestoreBatch(records []statestore.KeyValue) error {
	if s.pendingCount() > 0 {
		return errStagedRestore
	}
	return s.base.(statestore.Restorable).RestoreBatch(records)
}

// Options returns base's options with the runtime's change logger and
// expiry hook.
func (s *stagedSession) Options() statestore.SessionOptions {
	o := s.base.Options()
	o.ChangeLogger, o.OnExpired = s.opts.ChangeLogger, s.opts.OnExpired
	return o
}

func (s *stagedSession) ObservedStreamTime() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return max(s.observed, s.base.ObservedStreamTime())
}

func checkStagedSession(name string, w statestore.Windowed) error {
	var err error
	switch {
	case w.Key == nil:
		err = statestore.ErrNilKey
	case w.Start < 0 || w.End < 0:
		err = statestore.ErrNegativeTime
	case w.Start > w.End:
		err = statestore.ErrInvalidSession
	default:
		return nil
	}
	return fmt.Errorf("streams: store %q: session [%d, %d]: %w", name, w.Start, w.End, err)
}

func (s *stagedSession) Put(session statestore.Windowed, value []byte) error {
	if err := checkStagedSession(s.Name(), session); err != nil {
		return err
	}
	e := stagedEntry{key: bytes.Clone(session.Key), start: session.Start, end: session.End}
	if value != nil {
		e.value = bytes.Clone(value)
	}
	ck := statestore.AppendSessionKey(nil, session.Key, session.Start, session.End)
	return s.stage(s.base.ObservedStreamTime(), ck, e, session.End)
}

func (s *stagedSession) Remove(session statestore.Windowed) error { return s.Put(session, nil) }

func sessionAt(e *stagedEntry) int64 { return e.end }

// sessionKeyOrder is the order of one key's sessions: end, then start.
func sessionKeyOrder(a, b *stagedEntry) int {
	if c := cmp.Compare(a.end, b.end); c != 0 {
		return c
	}
	return cmp.Compare(a.start, b.start)
}

// sessionRangeOrder is the order over key ranges: segment (of the end),
// key, end, start.
func (s *stagedSession) sessionRangeOrder(a, b *stagedEntry) int {
	if c := cmp.Compare(a.end/s.interval, b.end/s.interval); c != 0 {
		return c
	}
	if c := bytes.Compare(a.key, b.key); c != 0 {
		return c
	}
	return sessionKeyOrder(a, b)
}

func (s *stagedSession) FetchSession(key []byte, start, end int64) ([]byte, error) {
	if err := checkStagedSession(s.Name(), statestore.Windowed{Key: key, Start: start, End: end}); err != nil {
		return nil, err
	}
	if end < liveFrom(s.ObservedStreamTime(), s.retention) {
		return nil, nil
	}
	if e, ok := s.lookup(statestore.AppendSessionKey(nil, key, start, end)); ok {
		return e.value, nil
	}
	return s.base.FetchSession(key, start, end)
}

// find merges base's read (open) with the staged sessions of keys
// keyFrom..keyTo (one key when single) ending at or after earliestEnd and
// starting at or before latestStart.
func (s *stagedSession) find(keyFrom, keyTo []byte, single bool, earliestEnd, latestStart int64, reverse bool, open func() (statestore.WindowedIterator, error)) (statestore.WindowedIterator, error) {
	if single && keyFrom == nil {
		return nil, fmt.Errorf("streams: store %q: find sessions: %w", s.Name(), statestore.ErrNilKey)
	}
	order := s.sessionRangeOrder
	if single {
		order = sessionKeyOrder
	}
	if reverse {
		order = reversedOrder(order)
	}
	keep := func(e *stagedEntry) bool {
		if e.end < earliestEnd || e.start > latestStart {
			return false
		}
		if single {
			return bytes.Equal(e.key, keyFrom)
		}
		return inKeyRange(e.key, keyFrom, keyTo)
	}
	var one []byte
	if single {
		one = keyFrom
	}
	ov, live, direct := s.overlay(s.base.ObservedStreamTime(), one, keep, order, sessionAt)
	it, err := open()
	if err != nil || direct {
		return it, err
	}
	return &mergedWindowed{base: it, ov: ov, order: order, at: sessionAt, live: live}, nil
}

func (s *stagedSession) FindSessions(key []byte, earliestSessionEnd, latestSessionStart int64) (statestore.WindowedIterator, error) {
	return s.find(key, key, true, earliestSessionEnd, latestSessionStart, false, func() (statestore.WindowedIterator, error) {
		return s.base.FindSessions(key, earliestSessionEnd, latestSessionStart)
	})
}

func (s *stagedSession) BackwardFindSessions(key []byte, earliestSessionEnd, latestSessionStart int64) (statestore.WindowedIterator, error) {
	return s.find(key, key, true, earliestSessionEnd, latestSessionStart, true, func() (statestore.WindowedIterator, error) {
		return s.base.BackwardFindSessions(key, earliestSessionEnd, latestSessionStart)
	})
}

func (s *stagedSession) FindSessionsKeyRange(keyFrom, keyTo []byte, earliestSessionEnd, latestSessionStart int64) (statestore.WindowedIterator, error) {
	return s.find(keyFrom, keyTo, false, earliestSessionEnd, latestSessionStart, false, func() (statestore.WindowedIterator, error) {
		return s.base.FindSessionsKeyRange(keyFrom, keyTo, earliestSessionEnd, latestSessionStart)
	})
}

func (s *stagedSession) BackwardFindSessionsKeyRange(keyFrom, keyTo []byte, earliestSessionEnd, latestSessionStart int64) (statestore.WindowedIterator, error) {
	return s.find(keyFrom, keyTo, false, earliestSessionEnd, latestSessionStart, true, func() (statestore.WindowedIterator, error) {
		return s.base.BackwardFindSessionsKeyRange(keyFrom, keyTo, earliestSessionEnd, latestSessionStart)
	})
}

func (s *stagedSession) Fetch(key []byte) (statestore.WindowedIterator, error) {
	return s.find(key, key, true, 0, math.MaxInt64, false, func() (statestore.WindowedIterator, error) { return s.base.Fetch(key) })
}

func (s *stagedSession) BackwardFetch(key []byte) (statestore.WindowedIterator, error) {
	return s.find(key, key, true, 0, math.MaxInt64, true, func() (statestore.WindowedIterator, error) { return s.base.BackwardFetch(key) })
}

func (s *stagedSession) FetchKeyRange(keyFrom, keyTo []byte) (statestore.WindowedIterator, error) {
	return s.find(keyFrom, keyTo, false, 0, math.MaxInt64, false, func() (statestore.WindowedIterator, error) { return s.base.FetchKeyRange(keyFrom, keyTo) })
}

func (s *stagedSession) BackwardFetchKeyRange(keyFrom, keyTo []byte) (statestore.WindowedIterator, error) {
	return s.find(keyFrom, keyTo, false, 0, math.MaxInt64, true, func() (statestore.WindowedIterator, error) { return s.base.BackwardFetchKeyRange(keyFrom, keyTo) })
}
