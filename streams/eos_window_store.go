package streams

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

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

// expired advances the stream time to ts and reports whether a write of
// key at ts is expired (older than the retention), calling the expiry hook
// when it is.
func (s *stagedTimes) expired(baseObserved int64, key []byte, ts int64) bool {
	s.mu.Lock()
	s.observed = max(s.observed, ts)
	expired := ts < liveFrom(max(s.observed, baseObserved), s.retention)
	s.mu.Unlock()
	if expired && s.onExpired != nil {
		s.onExpired(key, ts)
	}
	return expired
}

// stage records a write (not expired) under its changelog key ck and sends
// it to the changelog.
func (s *stagedTimes) stage(ck []byte, e stagedEntry) error {
	s.mu.Lock()
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
		if err := r.RestoreBatch(sortedBatch(s.pending, func(e stagedEntry) []byte { return e.value })); err != nil {
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

// sortedBatch returns the staged writes of pending (by key) as one batch in
// key order.
func sortedBatch[E any](pending map[string]E, value func(E) []byte) []statestore.KeyValue {
	batch := make([]statestore.KeyValue, 0, len(pending))
	for k, e := range pending {
		batch = append(batch, statestore.KeyValue{Key: []byte(k), Value: value(e)})
	}
	slices.SortFunc(batch, func(a, b statestore.KeyValue) int { return bytes.Compare(a.Key, b.Key) })
	return batch
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

// timedStore is what a staged store needs of the window or session store
// underneath.
type timedStore interface {
	statestore.Store
	ObservedStreamTime() int64
}

// stagedLayout is how a kind of store orders its entries.
type stagedLayout struct {
	// op names the reads in errors.
	op string
	// at is the time an entry expires by (window start, session end).
	at func(*stagedEntry) int64
	// keyOrder is the order of one key's entries.
	keyOrder func(a, b *stagedEntry) int
	// baseSeq is the sequence number the store's own entries order by.
	baseSeq int64
}

// stagedStore is a window or session store (base) whose writes are staged
// until apply: what stagedWindow and stagedSession share.
type stagedStore[S timedStore] struct {
	base   S
	layout stagedLayout
	stagedTimes
}

// init wraps base (opened without change logger or expiry hook) with the
// runtime's change logger and expiry hook; it returns false when base is
// not Restorable.
func (s *stagedStore[S]) init(base S, layout stagedLayout, retention, interval time.Duration, logger statestore.ChangeLogger, onExpired statestore.ExpiredHook) bool {
	if _, ok := any(base).(statestore.Restorable); !ok {
		return false
	}
	s.base, s.layout = base, layout
	s.stagedTimes = newStagedTimes(retention.Milliseconds(), interval.Milliseconds(), logger, onExpired)
	return true
}

func (s *stagedStore[S]) Name() string     { return s.base.Name() }
func (s *stagedStore[S]) Persistent() bool { return s.base.Persistent() }

// Flush flushes base: what it holds is committed.
func (s *stagedStore[S]) Flush() error { return s.base.Flush() }

// Close drops the staged writes (never committed) and closes base.
func (s *stagedStore[S]) Close() error {
	s.drop()
	return s.base.Close()
}

func (s *stagedStore[S]) apply() error { return s.applyTo(s.base.Name(), s.base) }

// RestoreBatch writes changelog records (committed) straight to base.
func (s *stagedStore[S]) RestoreBatch(records []statestore.KeyValue) error {
	if s.pendingCount() > 0 {
		return errStagedRestore
	}
	return any(s.base).(statestore.Restorable).RestoreBatch(records)
}

func (s *stagedStore[S]) ObservedStreamTime() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return max(s.observed, s.base.ObservedStreamTime())
}

// fetchExact returns the value of the entry of changelog key ck, expiring
// at at: nil when expired, the staged write when there is one, else base's
// (read).
func (s *stagedStore[S]) fetchExact(at int64, ck []byte, read func() ([]byte, error)) ([]byte, error) {
	if at < liveFrom(s.ObservedStreamTime(), s.retention) {
		return nil, nil
	}
	if e, ok := s.lookup(ck); ok {
		return e.value, nil
	}
	return read()
}

// rangeOrder is the order of reads over key ranges: segment (of the time
// an entry expires by), key, then the order of one key's entries.
func (s *stagedStore[S]) rangeOrder(a, b *stagedEntry) int {
	if c := cmp.Compare(s.layout.at(a)/s.interval, s.layout.at(b)/s.interval); c != 0 {
		return c
	}
	if c := bytes.Compare(a.key, b.key); c != 0 {
		return c
	}
	return s.layout.keyOrder(a, b)
}

// read merges base's read (open) with the staged writes of keys
// keyFrom..keyTo (one key when single) whose times inTime accepts.
func (s *stagedStore[S]) read(keyFrom, keyTo []byte, single, reverse bool, inTime func(*stagedEntry) bool, open func() (statestore.WindowedIterator, error)) (statestore.WindowedIterator, error) {
	if single && keyFrom == nil {
		return nil, fmt.Errorf("streams: store %q: %s: %w", s.Name(), s.layout.op, statestore.ErrNilKey)
	}
	order := s.rangeOrder
	if single {
		order = s.layout.keyOrder
	}
	if reverse {
		order = reversedOrder(order)
	}
	keep := func(e *stagedEntry) bool {
		if !inTime(e) {
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
	ov, live, direct := s.overlay(s.base.ObservedStreamTime(), one, keep, order, s.layout.at)
	it, err := open()
	if err != nil || direct {
		return it, err
	}
	return &mergedWindowed{base: it, ov: ov, order: order, at: s.layout.at, live: live, baseSeq: s.layout.baseSeq}, nil
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
	stagedStore[statestore.WindowStore]
	seqs sequenceReserver // set when the store retains duplicates
	size int64
}

// newStagedWindow wraps base (opened without change logger or expiry hook);
// opts are the options the runtime asked for, with both. It returns false
// when base cannot stage: it is not Restorable, or retains duplicates
// without handing out sequence numbers.
func newStagedWindow(base statestore.WindowStore, opts statestore.WindowOptions) (*stagedWindow, bool) {
	bo := base.Options()
	layout := stagedLayout{op: "fetch", at: windowAt, keyOrder: windowKeyOrder}
	var seqs sequenceReserver
	if bo.RetainDuplicates {
		r, ok := base.(sequenceReserver)
		if !ok {
			return nil, false
		}
		seqs, layout.baseSeq = r, -1
	}
	s := &stagedWindow{seqs: seqs, size: bo.WindowSize.Milliseconds()}
	if !s.init(base, layout, bo.Retention, bo.SegmentInterval, opts.ChangeLogger, opts.OnExpired) {
		return nil, false
	}
	return s, true
}

var (
	_ statestore.WindowStore = (*stagedWindow)(nil)
	_ statestore.Restorable  = (*stagedWindow)(nil)
)

// Options returns base's options with the runtime's change logger and
// expiry hook.
func (s *stagedWindow) Options() statestore.WindowOptions {
	o := s.base.Options()
	o.ChangeLogger, o.OnExpired = s.logger, s.onExpired
	return o
}

func (s *stagedWindow) Put(key, value []byte, windowStart int64) error {
	if key == nil {
		return fmt.Errorf("streams: store %q: put: %w", s.Name(), statestore.ErrNilKey)
	}
	if windowStart < 0 {
		return fmt.Errorf("streams: store %q: put: %w", s.Name(), statestore.ErrNegativeTime)
	}
	if s.expired(s.base.ObservedStreamTime(), key, windowStart) {
		return nil
	}
	e := stagedEntry{key: bytes.Clone(key), start: windowStart, end: windowStart + s.size}
	if value != nil {
		e.value = bytes.Clone(value)
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
	return s.stage(statestore.AppendWindowKey(nil, key, windowStart, seq), e)
}

func windowAt(e *stagedEntry) int64 { return e.start }

// windowKeyOrder is the order of single-key fetches: window start, then
// sequence number.
func windowKeyOrder(a, b *stagedEntry) int {
	if c := cmp.Compare(a.start, b.start); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

func (s *stagedWindow) FetchOne(key []byte, windowStart int64) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("streams: store %q: fetch: %w", s.Name(), statestore.ErrNilKey)
	}
	if s.seqs != nil {
		return statestore.FirstValue(s.Fetch(key, windowStart, windowStart))
	}
	return s.fetchExact(windowStart, statestore.AppendWindowKey(nil, key, windowStart, 0), func() ([]byte, error) { return s.base.FetchOne(key, windowStart) })
}

// fetch merges base's read (open) with the staged writes of keys
// keyFrom..keyTo (one key when single) starting in timeFrom..timeTo.
func (s *stagedWindow) fetch(keyFrom, keyTo []byte, single bool, timeFrom, timeTo int64, reverse bool, open func() (statestore.WindowedIterator, error)) (statestore.WindowedIterator, error) {
	return s.read(keyFrom, keyTo, single, reverse, func(e *stagedEntry) bool { return e.start >= timeFrom && e.start <= timeTo }, open)
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
	stagedStore[statestore.SessionStore]
}

// newStagedSession wraps base (opened without change logger or expiry
// hook); it returns false when base is not Restorable.
func newStagedSession(base statestore.SessionStore, opts statestore.SessionOptions) (*stagedSession, bool) {
	bo := base.Options()
	s := &stagedSession{}
	if !s.init(base, stagedLayout{op: "find sessions", at: sessionAt, keyOrder: sessionKeyOrder}, bo.Retention, bo.SegmentInterval, opts.ChangeLogger, opts.OnExpired) {
		return nil, false
	}
	return s, true
}

var (
	_ statestore.SessionStore = (*stagedSession)(nil)
	_ statestore.Restorable   = (*stagedSession)(nil)
)

// Options returns base's options with the runtime's change logger and
// expiry hook.
func (s *stagedSession) Options() statestore.SessionOptions {
	o := s.base.Options()
	o.ChangeLogger, o.OnExpired = s.logger, s.onExpired
	return o
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
	if s.expired(s.base.ObservedStreamTime(), session.Key, session.End) {
		return nil
	}
	e := stagedEntry{key: bytes.Clone(session.Key), start: session.Start, end: session.End}
	if value != nil {
		e.value = bytes.Clone(value)
	}
	return s.stage(statestore.AppendSessionKey(nil, session.Key, session.Start, session.End), e)
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

func (s *stagedSession) FetchSession(key []byte, start, end int64) ([]byte, error) {
	if err := checkStagedSession(s.Name(), statestore.Windowed{Key: key, Start: start, End: end}); err != nil {
		return nil, err
	}
	return s.fetchExact(end, statestore.AppendSessionKey(nil, key, start, end), func() ([]byte, error) { return s.base.FetchSession(key, start, end) })
}

// find merges base's read (open) with the staged sessions of keys
// keyFrom..keyTo (one key when single) ending at or after earliestEnd and
// starting at or before latestStart.
func (s *stagedSession) find(keyFrom, keyTo []byte, single bool, earliestEnd, latestStart int64, reverse bool, open func() (statestore.WindowedIterator, error)) (statestore.WindowedIterator, error) {
	return s.read(keyFrom, keyTo, single, reverse, func(e *stagedEntry) bool { return e.end >= earliestEnd && e.start <= latestStart }, open)
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
