package streams

import (
	"errors"
	"testing"
	"time"
)

// wIter is a window iterator over n entries that counts its Close calls.
type wIter struct{ n, closed int }

func (i *wIter) Next() bool            { i.n--; return i.n >= 0 }
func (i *wIter) Key() Windowed[string] { return Windowed[string]{Key: "k"} }
func (i *wIter) Value() int64          { return 1 }
func (i *wIter) Err() error            { return nil }
func (i *wIter) Close() error          { i.closed++; return nil }

var errFetch = errors.New("fetch failed")

// windowAndSession is a read-only window and session store whose fetches
// of the key "bad" fail.
type windowAndSession struct{ last *wIter }

func (s *windowAndSession) Name() string     { return "w" }
func (s *windowAndSession) Persistent() bool { return false }
func (s *windowAndSession) iter(key string) (WindowIterator[string, int64], error) {
	if key == "bad" {
		return nil, errFetch
	}
	s.last = &wIter{n: 2}
	return s.last, nil
}
func (s *windowAndSession) FetchOne(string, int64) (int64, bool, error) { return 1, true, nil }
func (s *windowAndSession) Fetch(key string, _, _ int64) (WindowIterator[string, int64], error) {
	return s.iter(key)
}
func (s *windowAndSession) BackwardFetch(key string, _, _ int64) (WindowIterator[string, int64], error) {
	return s.iter(key)
}
func (s *windowAndSession) FetchAll(int64, int64) (WindowIterator[string, int64], error) {
	return s.iter("")
}
func (s *windowAndSession) All() (WindowIterator[string, int64], error) { return s.iter("") }
func (s *windowAndSession) FetchSession(string, int64, int64) (int64, bool, error) {
	return 1, true, nil
}
func (s *windowAndSession) FindSessions(key string, _, _ int64) (WindowIterator[string, int64], error) {
	return s.iter(key)
}

// sessionView is the session side of windowAndSession (Fetch differs).
type sessionView struct{ *windowAndSession }

func (s sessionView) Fetch(key string) (WindowIterator[string, int64], error) { return s.iter(key) }

// TestMeteredWindowAndSessionHandles: every read of a window or session
// handle counts once as a fetch (All as all); an iterator's read counts
// when it is closed, once however often it is closed; a failed call counts
// at once; the handle passes the entries through.
func TestMeteredWindowAndSessionHandles(t *testing.T) {
	inner := &windowAndSession{}
	m := newStoreMeter(samplingOf(0, 0))
	var w ReadOnlyWindowStore[string, int64] = &meteredWindow[string, int64]{ReadOnlyWindowStore: inner, m: m}
	count := func(op storeOp) int64 { return m.ops[op].n.Load() }

	if v, ok, err := w.FetchOne("k", 0); v != 1 || !ok || err != nil || count(opFetch) != 1 {
		t.Fatalf("FetchOne: %v %v %v, fetches %d", v, ok, err, count(opFetch))
	}
	it, err := w.Fetch("k", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for it.Next() {
		n++
	}
	if n != 2 || count(opFetch) != 1 {
		t.Fatalf("Fetch: %d entries, fetches %d before Close", n, count(opFetch))
	}
	if err := it.Close(); err != nil || count(opFetch) != 2 {
		t.Fatalf("Close: %v, fetches %d", err, count(opFetch))
	}
	if err := it.Close(); err != nil || count(opFetch) != 2 || inner.last.closed != 2 {
		t.Fatalf("second Close: %v, fetches %d, inner closes %d", err, count(opFetch), inner.last.closed)
	}
	if _, err := w.BackwardFetch("bad", 0, 10); !errors.Is(err, errFetch) || count(opFetch) != 3 {
		t.Fatalf("failed BackwardFetch: %v, fetches %d", err, count(opFetch))
	}
	for _, open := range []func() (WindowIterator[string, int64], error){
		func() (WindowIterator[string, int64], error) { return w.FetchAll(0, 10) },
		w.All,
	} {
		it, err := open()
		if err != nil {
			t.Fatal(err)
		}
		it.Close()
	}
	if count(opFetch) != 4 || count(opAll) != 1 {
		t.Fatalf("FetchAll and All: fetches %d, alls %d", count(opFetch), count(opAll))
	}

	m2 := newStoreMeter(samplingOf(0, 0))
	var s ReadOnlySessionStore[string, int64] = &meteredSession[string, int64]{ReadOnlySessionStore: sessionView{inner}, m: m2}
	s.FetchSession("k", 0, 1)
	for _, open := range []func() (WindowIterator[string, int64], error){
		func() (WindowIterator[string, int64], error) { return s.FindSessions("k", 0, 1) },
		func() (WindowIterator[string, int64], error) { return s.Fetch("k") },
		s.All,
	} {
		it, err := open()
		if err != nil {
			t.Fatal(err)
		}
		it.Close()
	}
	if m2.ops[opFetch].n.Load() != 3 || m2.ops[opAll].n.Load() != 1 {
		t.Fatalf("session: fetches %d, alls %d", m2.ops[opFetch].n.Load(), m2.ops[opAll].n.Load())
	}
	for op := range numStoreOps {
		total, n, sum, largest := m2.read(op, time.Now().UnixNano())
		if total != n || n > 0 && (largest < 0 || sum < largest) {
			t.Errorf("%s: total %d, n %d, sum %d, max %d", storeOpNames[op], total, n, sum, largest)
		}
	}
}
