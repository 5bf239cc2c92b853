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
	one  [1]statestore.KeyValue
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

// Name implements statestore.Store.
func (s *SessionStore) Name() string { return s.eng.Name() }

// Persistent implements statestore.Store.
func (s *SessionStore) Persistent() bool { return s.eng.Persistent() }

// Flush implements statestore.Store.
func (s *SessionStore) Flush() error { return s.flush() }

// Close implements statestore.Store.
func (s *SessionStore) Close() error { return s.close() }

// Options implements statestore.SessionStore.
func (s *SessionStore) Options() statestore.SessionOptions { return s.opts }

// ObservedStreamTime implements statestore.SessionStore.
func (s *SessionStore) ObservedStreamTime() int64 { return s.observed.Load() }

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
	if err := s.g.rlock("put"); err != nil {
		return err
	}
	defer s.g.runlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.advance(session.End) {
		if s.onExpired != nil {
			s.onExpired(session.Key, session.End)
		}
		return s.expireErr()
	}
	seg := s.segmentOf(session.End)
	if value != nil {
		s.addSegment(seg)
	}
	s.kbuf = SessionStoreKey(s.kbuf[:0], seg, session.Key, session.Start, session.End)
	s.one[0] = statestore.KeyValue{Key: s.kbuf, Value: value}
	err := s.eng.Apply(s.one[:])
	s.one[0] = statestore.KeyValue{}
	if err != nil {
		return s.errf("put", err)
	}
	if s.logger != nil {
		s.cbuf = statestore.AppendSessionKey(s.cbuf[:0], session.Key, session.Start, session.End)
		if err := s.logger(s.cbuf, value); err != nil {
			return s.errf("put: change logger", err)
		}
	}
	return s.expireErr()
}

// Remove implements statestore.SessionStore.
func (s *SessionStore) Remove(session statestore.Windowed) error { return s.Put(session, nil) }

func (s *SessionStore) expireErr() error {
	if err := s.expire(); err != nil {
		return s.errf("expire segments", err)
	}
	return nil
}

// RestoreBatch implements statestore.Restorable: records carry session changelog keys.
func (s *SessionStore) RestoreBatch(records []statestore.KeyValue) error {
	if err := s.g.rlock("restore"); err != nil {
		return err
	}
	defer s.g.runlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	batch := make([]statestore.KeyValue, 0, len(records))
	for _, r := range records {
		key, start, end, err := statestore.ParseSessionKey(r.Key)
		if err != nil {
			return s.errf("restore", err)
		}
		if s.advance(end) {
			continue
		}
		seg := s.segmentOf(end)
		s.addSegment(seg)
		batch = append(batch, statestore.KeyValue{Key: SessionStoreKey(nil, seg, key, start, end), Value: r.Value})
	}
	if err := s.eng.Restore(batch); err != nil {
		return s.errf("restore", err)
	}
	return s.expireErr()
}

// FetchSession implements statestore.ReadOnlySessionStore.
func (s *SessionStore) FetchSession(key []byte, start, end int64) ([]byte, error) {
	if err := checkSession(statestore.Windowed{Key: key, Start: start, End: end}); err != nil {
		return nil, s.errf("fetch session", err)
	}
	if err := s.g.rlock("fetch session"); err != nil {
		return nil, err
	}
	defer s.g.runlock()
	if end < s.minLive() {
		return nil, nil
	}
	v, err := s.eng.Get(SessionStoreKey(nil, s.segmentOf(end), key, start, end))
	if err != nil {
		return nil, s.errf("fetch session", err)
	}
	return v, nil
}

func (s *SessionStore) decode(raw []byte) ([]byte, int64, int64, error) {
	_, k, start, end, err := ParseSessionStoreKey(raw)
	if err != nil {
		return nil, 0, 0, s.errf("decode", err)
	}
	return k, start, end, nil
}

func (s *SessionStore) find(op string, keyFrom, keyTo []byte, single bool, earliestEnd, latestStart int64, reverse bool) (statestore.WindowedIterator, error) {
	if single && keyFrom == nil {
		return nil, s.errf(op, statestore.ErrNilKey)
	}
	if err := s.g.rlock(op); err != nil {
		return nil, err
	}
	defer s.g.runlock()
	earliestEnd = max(earliestEnd, s.minLive())
	if latestStart < 0 {
		return emptyWindowed{}, nil
	}
	return s.readWindowed(s.segmentsIn(earliestEnd, math.MaxInt64), windowedRead{
		op: op, keyFrom: keyFrom, keyTo: keyTo, single: single, reverse: reverse,
		singleRange: func(seg int64) ([]byte, []byte) {
			return SessionStoreKey(nil, seg, keyFrom, 0, earliestEnd), Successor(appendEscaped(appendSeg(nil, seg), keyFrom))
		},
		keyToHi: func(seg int64) []byte { return Successor(appendEscaped(appendSeg(nil, seg), keyTo)) },
		decode:  s.decode,
		keep: func(_ []byte, start, end int64) bool {
			return end >= earliestEnd && start <= latestStart
		},
	})
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
