package core

import (
	"math"

	"github.com/rivulet-io/rivulet/statestore"
)

// SessionStore is statestore.SessionStore over an Engine. Layout of an entry's key:
// segment(8) || escaped(key) || end(8) || start(8), segment = end/interval.
type SessionStore struct {
	segmented
	opts statestore.SessionOptions
}

var (
	_ statestore.SessionStore = (*SessionStore)(nil)
	_ statestore.Restorable   = (*SessionStore)(nil)
)

// NewSessionStore returns a session store over eng; it owns eng and closes it (also when
// NewSessionStore fails).
func NewSessionStore(eng Engine, opts statestore.SessionOptions) (*SessionStore, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		eng.Close()
		return nil, err
	}
	s := &SessionStore{opts: opts}
	if err := s.init(eng, opts.Retention.Milliseconds(), opts.SegmentInterval.Milliseconds(), opts.OnExpired, opts.ChangeLogger); err != nil {
		eng.Close()
		return nil, s.errf("open", err)
	}
	return s, nil
}

// Options implements statestore.SessionStore.
func (s *SessionStore) Options() statestore.SessionOptions { return s.opts }

func checkSession(w statestore.Windowed) error {
	switch {
	case w.Key == nil:
		return statestore.ErrNilKey
	case w.Start < 0 || w.End < 0:
		return statestore.ErrNegativeTime
	case w.Start > w.End:
		return statestore.ErrInvalidSession
	}
	return nil
}

// Put implements statestore.SessionStore.
func (s *SessionStore) Put(session statestore.Windowed, value []byte) error {
	if err := checkSession(session); err != nil {
		return s.errf("put", err)
	}
	if err := s.g.wlock("put"); err != nil {
		return err
	}
	defer s.g.wunlock()
	if s.late(session.Key, session.End) {
		return s.expireErr()
	}
	seg := s.segmentOf(session.End)
	if value != nil {
		s.addSegment(seg)
	}
	s.kbuf = SessionStoreKey(s.kbuf[:0], seg, session.Key, session.Start, session.End)
	if s.logger != nil {
		s.cbuf = statestore.AppendSessionKey(s.cbuf[:0], session.Key, session.Start, session.End)
	}
	return s.putScratch(value)
}

// Remove implements statestore.SessionStore.
func (s *SessionStore) Remove(session statestore.Windowed) error { return s.Put(session, nil) }

// RestoreBatch implements statestore.Restorable: records carry session changelog keys.
func (s *SessionStore) RestoreBatch(records []statestore.KeyValue) error {
	return s.restore(records, func(changelogKey []byte) (int64, func(int64) []byte, error) {
		key, start, end, err := statestore.ParseSessionKey(changelogKey)
		return end, func(seg int64) []byte { return SessionStoreKey(nil, seg, key, start, end) }, err
	})
}

// FetchSession implements statestore.ReadOnlySessionStore.
func (s *SessionStore) FetchSession(key []byte, start, end int64) ([]byte, error) {
	if err := checkSession(statestore.Windowed{Key: key, Start: start, End: end}); err != nil {
		return nil, s.errf("fetch session", err)
	}
	return s.getAt("fetch session", end, SessionStoreKey(nil, s.segmentOf(end), key, start, end))
}

func (s *SessionStore) decode(raw []byte) ([]byte, int64, int64, error) {
	_, k, start, end, err := ParseSessionStoreKey(raw)
	if err != nil {
		return nil, 0, 0, s.errf("decode", err)
	}
	return k, start, end, nil
}

// find is every read: keys keyFrom..keyTo (single when single), sessions ending at
// earliestEnd or later and starting at latestStart or earlier.
func (s *SessionStore) find(op string, keyFrom, keyTo []byte, single bool, earliestEnd, latestStart int64, reverse bool) (statestore.WindowedIterator, error) {
	bounds := func(seg, earliestEnd int64) (lo, hi []byte) {
		if single {
			return SessionStoreKey(nil, seg, keyFrom, 0, earliestEnd), Successor(appendEscaped(appendSeg(nil, seg), keyFrom))
		}
		lo = appendSeg(nil, seg)
		if keyFrom != nil {
			lo = appendEscaped(lo, keyFrom)
		}
		if keyTo != nil {
			return lo, Successor(appendEscaped(appendSeg(nil, seg), keyTo))
		}
		return lo, Successor(appendSeg(nil, seg))
	}
	keep := func(earliestEnd, start, end int64) bool { return end >= earliestEnd && start <= latestStart }
	// Segments go by session end, so every segment from earliestEnd's on may hold one; no
	// session starts before 0, so a negative latestStart reads nothing.
	to := int64(math.MaxInt64)
	if latestStart < 0 {
		to = -1
	}
	return s.read(op, keyFrom, keyTo, single, earliestEnd, to, reverse, bounds, s.decode, keep)
}

// FindSessions implements statestore.ReadOnlySessionStore.
func (s *SessionStore) FindSessions(key []byte, earliestSessionEnd, latestSessionStart int64) (statestore.WindowedIterator, error) {
	return s.find("find sessions", key, key, true, earliestSessionEnd, latestSessionStart, false)
}

// BackwardFindSessions implements statestore.ReadOnlySessionStore.
func (s *SessionStore) BackwardFindSessions(key []byte, earliestSessionEnd, latestSessionStart int64) (statestore.WindowedIterator, error) {
	return s.find("backward find sessions", key, key, true, earliestSessionEnd, latestSessionStart, true)
}

// FindSessionsKeyRange implements statestore.ReadOnlySessionStore.
func (s *SessionStore) FindSessionsKeyRange(keyFrom, keyTo []byte, earliestSessionEnd, latestSessionStart int64) (statestore.WindowedIterator, error) {
	return s.find("find sessions", keyFrom, keyTo, false, earliestSessionEnd, latestSessionStart, false)
}

// BackwardFindSessionsKeyRange implements statestore.ReadOnlySessionStore.
func (s *SessionStore) BackwardFindSessionsKeyRange(keyFrom, keyTo []byte, earliestSessionEnd, latestSessionStart int64) (statestore.WindowedIterator, error) {
	return s.find("backward find sessions", keyFrom, keyTo, false, earliestSessionEnd, latestSessionStart, true)
}

// Fetch implements statestore.ReadOnlySessionStore.
func (s *SessionStore) Fetch(key []byte) (statestore.WindowedIterator, error) {
	return s.find("fetch", key, key, true, 0, math.MaxInt64, false)
}

// BackwardFetch implements statestore.ReadOnlySessionStore.
func (s *SessionStore) BackwardFetch(key []byte) (statestore.WindowedIterator, error) {
	return s.find("backward fetch", key, key, true, 0, math.MaxInt64, true)
}

// FetchKeyRange implements statestore.ReadOnlySessionStore.
func (s *SessionStore) FetchKeyRange(keyFrom, keyTo []byte) (statestore.WindowedIterator, error) {
	return s.find("fetch key range", keyFrom, keyTo, false, 0, math.MaxInt64, false)
}

// BackwardFetchKeyRange implements statestore.ReadOnlySessionStore.
func (s *SessionStore) BackwardFetchKeyRange(keyFrom, keyTo []byte) (statestore.WindowedIterator, error) {
	return s.find("backward fetch key range", keyFrom, keyTo, false, 0, math.MaxInt64, true)
}
