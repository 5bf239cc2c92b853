package streams

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/badgerstore"
	"github.com/rivulet-io/rivulet/statestore/memstore"
)

// windowed renders a windowed iterator's entries.
func windowed(t *testing.T) func(statestore.WindowedIterator, error) []string {
	return func(it statestore.WindowedIterator, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for it.Next() {
			out = append(out, fmt.Sprintf("%s@[%d,%d]=%s", it.Key(), it.Start(), it.End(), it.Value()))
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
		return out
	}
}

// changeLog records what a store sends to its changelog and what it drops
// as expired.
type changeLog struct {
	recs    []string
	expired int
}

func (c *changeLog) logger(k, v []byte) error {
	c.recs = append(c.recs, fmt.Sprintf("%x=%s", k, v))
	return nil
}
func (c *changeLog) onExpired([]byte, int64) { c.expired++ }

// storeRead is one read of a window or session store, named for reports.
type storeRead[S any] struct {
	name string
	read func(S) (statestore.WindowedIterator, error)
}

// stagedRun is one seeded random comparison of a staged store with a plain
// one: both log to their own changeLog.
type stagedRun struct {
	t      *testing.T
	seed   uint64
	r      *rand.Rand
	pl, sl changeLog
}

func newStagedRun(t *testing.T, stream uint64) *stagedRun {
	seed := rand.Uint64()
	return &stagedRun{t: t, seed: seed, r: rand.New(rand.NewPCG(seed, stream))}
}

// stagedStores opens a plain store, logging to sr.pl, and a base store
// with open, and stages the base with stage, logging to sr.sl; withLog
// returns opts set to log to a changeLog.
func stagedStores[O, S, P any](sr *stagedRun, opts O, withLog func(O, *changeLog) O, open func(string, O) (S, error), stage func(S, O) (P, bool)) (S, S, P) {
	t := sr.t
	t.Helper()
	plain, err := open("p", withLog(opts, &sr.pl))
	mustOK(t, err)
	base, err := open("s", opts)
	mustOK(t, err)
	staged, ok := stage(base, withLog(opts, &sr.sl))
	if !ok {
		t.Fatalf("a memstore %T cannot stage", base)
	}
	return plain, base, staged
}

// key returns one of six keys at random.
func (sr *stagedRun) key() []byte { return []byte(fmt.Sprintf("k%d", sr.r.IntN(6))) }

// checkStep fails the test where the staged store's changelog records,
// expiries or stream time differ from the plain store's after step; it
// reports whether the step is one to compare every read at (every 25th).
func (sr *stagedRun) checkStep(step int, staged, plain interface{ ObservedStreamTime() int64 }) bool {
	t := sr.t
	t.Helper()
	if fmt.Sprint(sr.sl) != fmt.Sprint(sr.pl) {
		t.Fatalf("seed %d step %d: changelog and expiries differ:\n staged %v\n plain  %v", sr.seed, step, sr.sl, sr.pl)
	}
	if staged.ObservedStreamTime() != plain.ObservedStreamTime() {
		t.Fatalf("seed %d step %d: stream time %d, plain %d", sr.seed, step, staged.ObservedStreamTime(), plain.ObservedStreamTime())
	}
	return step%25 == 0
}

// compareReads fails the test where a read of the staged store differs
// from the same read of the plain one; k, k2, from and to are the reads'
// arguments, for the report.
func compareReads[S any](sr *stagedRun, step int, staged, plain S, reads []storeRead[S], k, k2 []byte, from, to int64) {
	t := sr.t
	t.Helper()
	for _, rd := range reads {
		a := windowed(t)(rd.read(staged))
		b := windowed(t)(rd.read(plain))
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("seed %d step %d: %s(%s, %s, %d, %d):\n staged %v\n plain  %v", sr.seed, step, rd.name, k, k2, from, to, a, b)
		}
	}
}

// TestStagedWindowMatchesPlainStore runs one seeded random sequence of
// window writes (overwrites, deletes, expired writes, duplicates) and
// commits against a staged window store and a plain one: every read agrees,
// both send the same changelog records, and after each commit the staged
// store's base holds what the plain store holds.
func TestStagedWindowMatchesPlainStore(t *testing.T) {
	for _, dups := range []bool{false, true} {
		t.Run(fmt.Sprintf("duplicates=%v", dups), func(t *testing.T) {
			sr := newStagedRun(t, 3)
			seed, r, key := sr.seed, sr.r, sr.key
			opts := statestore.WindowOptions{Retention: 200 * time.Millisecond, SegmentInterval: 50 * time.Millisecond,
				WindowSize: 10 * time.Millisecond, RetainDuplicates: dups}
			plain, base, staged := stagedStores(sr, opts, func(o statestore.WindowOptions, c *changeLog) statestore.WindowOptions {
				o.ChangeLogger, o.OnExpired = c.logger, c.onExpired
				return o
			}, memstore.NewWindowStore, newStagedWindow)
			now := int64(1000)
			for step := 0; step < 2500; step++ {
				switch op := r.IntN(10); {
				case op < 6:
					now += int64(r.IntN(8))
					k, ts := key(), max(now-int64(r.IntN(260)), 0)
					var v []byte
					if r.IntN(5) > 0 {
						v = []byte(fmt.Sprint(step))
					}
					mustOK(t, staged.Put(k, v, ts))
					mustOK(t, plain.Put(k, v, ts))
				case op < 7:
					mustOK(t, staged.apply())
					// The base's unexpired entries: a nil write to a store
					// with duplicates advances the stream time without a
					// changelog record, so the base may hold entries that
					// expired by then.
					live := liveFrom(plain.ObservedStreamTime(), opts.Retention.Milliseconds())
					a := windowed(t)(base.FetchAll(live, math.MaxInt64))
					b := windowed(t)(plain.All())
					if fmt.Sprint(a) != fmt.Sprint(b) {
						t.Fatalf("seed %d step %d: after apply, base:\n %v\nplain:\n %v", seed, step, a, b)
					}
				default:
					k, ts := key(), now-int64(r.IntN(220))
					a, err1 := staged.FetchOne(k, max(ts, 0))
					b, err2 := plain.FetchOne(k, max(ts, 0))
					mustOK(t, err1)
					mustOK(t, err2)
					if !bytes.Equal(a, b) {
						t.Fatalf("seed %d step %d: fetch one %s@%d = %q, plain %q", seed, step, k, ts, a, b)
					}
				}
				if !sr.checkStep(step, staged, plain) {
					continue
				}
				k, k2 := key(), key()
				from := now - int64(r.IntN(300))
				to := from + int64(r.IntN(200))
				reads := []storeRead[statestore.ReadOnlyWindowStore]{
					{"fetch", func(s statestore.ReadOnlyWindowStore) (statestore.WindowedIterator, error) {
						return s.Fetch(k, from, to)
					}},
					{"backward fetch", func(s statestore.ReadOnlyWindowStore) (statestore.WindowedIterator, error) {
						return s.BackwardFetch(k, from, to)
					}},
					{"fetch key range", func(s statestore.ReadOnlyWindowStore) (statestore.WindowedIterator, error) {
						return s.FetchKeyRange(k, k2, from, to)
					}},
					{"backward fetch key range", func(s statestore.ReadOnlyWindowStore) (statestore.WindowedIterator, error) {
						return s.BackwardFetchKeyRange(nil, k2, from, to)
					}},
					{"fetch all", func(s statestore.ReadOnlyWindowStore) (statestore.WindowedIterator, error) {
						return s.FetchAll(from, to)
					}},
					{"backward fetch all", func(s statestore.ReadOnlyWindowStore) (statestore.WindowedIterator, error) {
						return s.BackwardFetchAll(from, to)
					}},
					{"all", func(s statestore.ReadOnlyWindowStore) (statestore.WindowedIterator, error) { return s.All() }},
					{"backward all", func(s statestore.ReadOnlyWindowStore) (statestore.WindowedIterator, error) { return s.BackwardAll() }},
				}
				compareReads[statestore.ReadOnlyWindowStore](sr, step, staged, plain, reads, k, k2, from, to)
			}
		})
	}
}

// TestStagedSessionMatchesPlainStore is the session store's twin of
// TestStagedWindowMatchesPlainStore: sessions put, merged (removed and put
// again wider) and expired.
func TestStagedSessionMatchesPlainStore(t *testing.T) {
	sr := newStagedRun(t, 4)
	seed, r, key := sr.seed, sr.r, sr.key
	opts := statestore.SessionOptions{Retention: 200 * time.Millisecond, SegmentInterval: 50 * time.Millisecond}
	plain, base, staged := stagedStores(sr, opts, func(o statestore.SessionOptions, c *changeLog) statestore.SessionOptions {
		o.ChangeLogger, o.OnExpired = c.logger, c.onExpired
		return o
	}, memstore.NewSessionStore, newStagedSession)
	now := int64(1000)
	for step := 0; step < 2500; step++ {
		switch op := r.IntN(10); {
		case op < 5:
			now += int64(r.IntN(8))
			end := max(now-int64(r.IntN(260)), 0)
			w := statestore.Windowed{Key: key(), Start: max(end-int64(r.IntN(40)), 0), End: end}
			v := []byte(fmt.Sprint(step))
			mustOK(t, staged.Put(w, v))
			mustOK(t, plain.Put(w, v))
		case op < 6:
			// Remove one of a key's sessions, as a merge does.
			k := key()
			it, err := plain.Fetch(k)
			mustOK(t, err)
			var ws []statestore.Windowed
			for it.Next() {
				ws = append(ws, statestore.Windowed{Key: k, Start: it.Start(), End: it.End()})
			}
			mustOK(t, it.Close())
			if len(ws) > 0 {
				w := ws[r.IntN(len(ws))]
				mustOK(t, staged.Remove(w))
				mustOK(t, plain.Remove(w))
			}
		case op < 7:
			mustOK(t, staged.apply())
			a := windowed(t)(base.FetchKeyRange(nil, nil))
			b := windowed(t)(plain.FetchKeyRange(nil, nil))
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Fatalf("seed %d step %d: after apply, base:\n %v\nplain:\n %v", seed, step, a, b)
			}
		default:
			k := key()
			end := max(now-int64(r.IntN(220)), 0)
			start := max(end-int64(r.IntN(40)), 0)
			a, err1 := staged.FetchSession(k, start, end)
			b, err2 := plain.FetchSession(k, start, end)
			mustOK(t, err1)
			mustOK(t, err2)
			if !bytes.Equal(a, b) {
				t.Fatalf("seed %d step %d: fetch session %s@[%d,%d] = %q, plain %q", seed, step, k, start, end, a, b)
			}
		}
		if !sr.checkStep(step, staged, plain) {
			continue
		}
		k, k2 := key(), key()
		earliestEnd := now - int64(r.IntN(300))
		latestStart := earliestEnd + int64(r.IntN(200))
		reads := []storeRead[statestore.ReadOnlySessionStore]{
			{"find", func(s statestore.ReadOnlySessionStore) (statestore.WindowedIterator, error) {
				return s.FindSessions(k, earliestEnd, latestStart)
			}},
			{"backward find", func(s statestore.ReadOnlySessionStore) (statestore.WindowedIterator, error) {
				return s.BackwardFindSessions(k, earliestEnd, latestStart)
			}},
			{"find key range", func(s statestore.ReadOnlySessionStore) (statestore.WindowedIterator, error) {
				return s.FindSessionsKeyRange(k, k2, earliestEnd, latestStart)
			}},
			{"backward find key range", func(s statestore.ReadOnlySessionStore) (statestore.WindowedIterator, error) {
				return s.BackwardFindSessionsKeyRange(nil, k2, earliestEnd, math.MaxInt64)
			}},
			{"fetch", func(s statestore.ReadOnlySessionStore) (statestore.WindowedIterator, error) { return s.Fetch(k) }},
			{"backward fetch", func(s statestore.ReadOnlySessionStore) (statestore.WindowedIterator, error) {
				return s.BackwardFetch(k)
			}},
			{"fetch key range", func(s statestore.ReadOnlySessionStore) (statestore.WindowedIterator, error) {
				return s.FetchKeyRange(k, nil)
			}},
			{"backward fetch key range", func(s statestore.ReadOnlySessionStore) (statestore.WindowedIterator, error) {
				return s.BackwardFetchKeyRange(nil, nil)
			}},
		}
		compareReads[statestore.ReadOnlySessionStore](sr, step, staged, plain, reads, k, k2, earliestEnd, latestStart)
	}
}

// TestStagedWindowKeepsUncommittedWritesOffDisk: a persistent window store
// holds only applied writes; reopened after staged writes were dropped (a
// crash), it holds the committed state, and its duplicates' sequence
// numbers are not reused.
func TestStagedWindowKeepsUncommittedWritesOffDisk(t *testing.T) {
	dir := t.TempDir()
	opts := statestore.WindowOptions{Retention: time.Hour, RetainDuplicates: true}
	open := func() *stagedWindow {
		base, err := badgerstore.OpenWindowStore(dir, "w", badgerstore.Options{}, opts)
		mustOK(t, err)
		s, ok := newStagedWindow(base, opts)
		if !ok {
			t.Fatal("a badgerstore window store cannot stage")
		}
		return s
	}
	s := open()
	mustOK(t, s.Put([]byte("a"), []byte("1"), 100))
	mustOK(t, s.apply())
	mustOK(t, s.Put([]byte("a"), []byte("2"), 100))
	if got := windowed(t)(s.Fetch([]byte("a"), 0, 1000)); fmt.Sprint(got) != "[a@[100,100]=1 a@[100,100]=2]" {
		t.Fatalf("the store's own reads: %v", got)
	}
	if err := s.RestoreBatch(nil); err == nil {
		t.Fatal("restore into a store with staged writes was accepted")
	}
	mustOK(t, s.Close()) // the second write never committed
	s = open()
	if got := windowed(t)(s.Fetch([]byte("a"), 0, 1000)); fmt.Sprint(got) != "[a@[100,100]=1]" {
		t.Fatalf("after reopening: %v", got)
	}
	mustOK(t, s.Put([]byte("a"), []byte("3"), 100))
	mustOK(t, s.apply())
	if got := windowed(t)(s.Fetch([]byte("a"), 0, 1000)); fmt.Sprint(got) != "[a@[100,100]=1 a@[100,100]=3]" {
		t.Fatalf("after a second commit: %v", got)
	}
	mustOK(t, s.Close())
}

// BenchmarkStagedWindowStore measures a windowed count's store work per
// record (FetchOne, then Put) and a session count's (FindSessions, Remove,
// Put), on a plain in-memory store and on a staged one applied every 1000
// records (a commit), in one run.
func BenchmarkStagedWindowStore(b *testing.B) {
	const commitEvery = 1000
	wopts := statestore.WindowOptions{Retention: time.Hour, WindowSize: time.Minute}
	sopts := statestore.SessionOptions{Retention: time.Hour}
	keys := make([][]byte, 500)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("key%04d", i))
	}
	val := []byte("12345678")
	window := func(b *testing.B, s statestore.WindowStore, apply func() error) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			k, ts := keys[i%len(keys)], int64(i/len(keys))*60_000
			if _, err := s.FetchOne(k, ts); err != nil {
				b.Fatal(err)
			}
			if err := s.Put(k, val, ts); err != nil {
				b.Fatal(err)
			}
			if apply != nil && i%commitEvery == commitEvery-1 {
				if err := apply(); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	session := func(b *testing.B, s statestore.SessionStore, apply func() error) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			k, ts := keys[i%len(keys)], int64(i)
			it, err := s.FindSessions(k, ts-1000, ts+1000)
			if err != nil {
				b.Fatal(err)
			}
			start := ts
			for it.Next() {
				start = min(start, it.Start())
				if err := s.Remove(statestore.Windowed{Key: k, Start: it.Start(), End: it.End()}); err != nil {
					b.Fatal(err)
				}
			}
			mustOKB(b, it.Close())
			if err := s.Put(statestore.Windowed{Key: k, Start: start, End: ts}, val); err != nil {
				b.Fatal(err)
			}
			if apply != nil && i%commitEvery == commitEvery-1 {
				mustOKB(b, apply())
			}
		}
	}
	b.Run("window/plain", func(b *testing.B) {
		s, err := memstore.NewWindowStore("w", wopts)
		mustOKB(b, err)
		window(b, s, nil)
	})
	b.Run("window/staged", func(b *testing.B) {
		base, err := memstore.NewWindowStore("w", wopts)
		mustOKB(b, err)
		s, _ := newStagedWindow(base, wopts)
		window(b, s, s.apply)
	})
	b.Run("session/plain", func(b *testing.B) {
		s, err := memstore.NewSessionStore("s", sopts)
		mustOKB(b, err)
		session(b, s, nil)
	})
	b.Run("session/staged", func(b *testing.B) {
		base, err := memstore.NewSessionStore("s", sopts)
		mustOKB(b, err)
		s, _ := newStagedSession(base, sopts)
		session(b, s, s.apply)
	})
}

func mustOKB(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
