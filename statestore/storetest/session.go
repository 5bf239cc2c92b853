package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
)

// RunSession runs the session store conformance tests and property tests against h.
func RunSession(t *testing.T, h Harness) {
	open := opener(h.session)
	b := func(s string) []byte { return []byte(s) }
	w := func(k string, start, end int64) statestore.Windowed {
		return statestore.Windowed{Key: []byte(k), Start: start, End: end}
	}
	base := statestore.SessionOptions{Retention: time.Hour, SegmentInterval: 10 * time.Minute}

	t.Run("PutFindRemove", func(t *testing.T) {
		s := open(t, base)
		mustNoErr(t, s.Put(w("u", 0, 1000), b("a")), "put")
		mustNoErr(t, s.Put(w("u", 5000, 9000), b("b")), "put")
		mustNoErr(t, s.Put(w("u", 2000, 3000), b("c")), "put")
		mustNoErr(t, s.Put(w("u", 2500, 3000), b("d")), "put") // same end, later start
		mustNoErr(t, s.Put(w("v", 0, 10_000), b("e")), "put")
		if v, err := s.FetchSession(b("u"), 2000, 3000); err != nil || string(v) != "c" {
			t.Fatalf("FetchSession = %q, %v", v, err)
		}
		if v, _ := s.FetchSession(b("u"), 2000, 3001); v != nil {
			t.Fatalf("FetchSession of a missing session = %q", v)
		}
		// end >= 1500 and start <= 4000: (2000,3000) and (2500,3000); (5000,9000) starts too late.
		got := drainW(t)(s.FindSessions(b("u"), 1500, 4000))
		want := []Entry{{"u", 2000, 3000, "c"}, {"u", 2500, 3000, "d"}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("FindSessions = %v, want %v", got, want)
		}
		got = drainW(t)(s.BackwardFindSessions(b("u"), 1000, 5000))
		want = []Entry{{"u", 5000, 9000, "b"}, {"u", 2500, 3000, "d"}, {"u", 2000, 3000, "c"}, {"u", 0, 1000, "a"}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("BackwardFindSessions = %v, want %v", got, want)
		}
		all := drainW(t)(s.Fetch(b("u")))
		if len(all) != 4 || all[0].Value != "a" || all[3].Value != "b" {
			t.Fatalf("Fetch = %v", all)
		}
		mustNoErr(t, s.Remove(w("u", 2000, 3000)), "remove")
		mustNoErr(t, s.Put(w("u", 0, 1000), nil), "put nil")
		got = drainW(t)(s.Fetch(b("u")))
		if want := []Entry{{"u", 2500, 3000, "d"}, {"u", 5000, 9000, "b"}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("after removes Fetch = %v, want %v", got, want)
		}
		got = drainW(t)(s.FetchKeyRange(b("u"), b("v")))
		if len(got) != 3 || got[2].Key != "v" {
			t.Fatalf("FetchKeyRange = %v", got)
		}
		got = drainW(t)(s.BackwardFetchKeyRange(nil, nil))
		if len(got) != 3 || got[0].Key != "v" {
			t.Fatalf("BackwardFetchKeyRange = %v", got)
		}
		got = drainW(t)(s.BackwardFetch(b("u")))
		if len(got) != 2 || got[0].Value != "b" {
			t.Fatalf("BackwardFetch = %v", got)
		}
	})

	t.Run("KeysOfDifferentLengths", func(t *testing.T) {
		s := open(t, base)
		keys := []string{"", "\x00", "a", "a\x00", "a\x00\x00\x00\x00\x00\x00\x00\x01", "ab", "\xff"}
		for i, k := range keys {
			mustNoErr(t, s.Put(w(k, 0, 100), fmt.Appendf(nil, "%d", i)), "put")
			mustNoErr(t, s.Put(w(k, 200, 700_000), fmt.Appendf(nil, "%d", i)), "put")
		}
		for _, k := range keys {
			got := drainW(t)(s.Fetch(b(k)))
			if len(got) != 2 || got[0].Key != k || got[1].Key != k {
				t.Errorf("Fetch(%q) = %v", k, got)
			}
		}
		got := drainW(t)(s.FindSessionsKeyRange(b("a"), b("ab"), 0, math.MaxInt64))
		if len(got) != 8 {
			t.Errorf("FindSessionsKeyRange(a, ab) = %v", got)
		}
	})

	t.Run("Retention", func(t *testing.T) {
		var expired []int64
		opts := base
		opts.OnExpired = func(_ []byte, ts int64) { expired = append(expired, ts) }
		s := open(t, opts)
		mustNoErr(t, s.Put(w("u", 0, 10), b("old")), "put")
		mustNoErr(t, s.Put(w("u", 0, 3_600_010), b("new")), "put") // stream time: end 3600010; end 10 expires
		if got := drainW(t)(s.Fetch(b("u"))); len(got) != 1 || got[0].Value != "new" {
			t.Fatalf("after expiry: %v", got)
		}
		mustNoErr(t, s.Put(w("u", 0, 5), b("late")), "late put")
		if !slices.Equal(expired, []int64{5}) {
			t.Fatalf("expired = %v", expired)
		}
		if v, _ := s.FetchSession(b("u"), 0, 10); v != nil {
			t.Fatalf("FetchSession returned an expired session")
		}
	})

	t.Run("ChangeLoggerAndRestore", func(t *testing.T) {
		var log changelog
		opts := base
		opts.ChangeLogger = log.record
		s := open(t, opts)
		mustNoErr(t, s.Put(w("a", 10, 20), b("1")), "put")
		mustNoErr(t, s.Put(w("b", 0, 30), b("2")), "put")
		mustNoErr(t, s.Remove(w("a", 10, 20)), "remove")
		want := statestore.AppendSessionKey(nil, b("b"), 0, 30)
		bAt := 1
		if h.Caching {
			// Folded on flush: b, then a's put and remove as one tombstone.
			mustNoErr(t, s.Flush(), "flush")
			if len(log) != 2 || log[1].Value != nil {
				t.Fatalf("logged %v", log)
			}
			bAt = 0
		} else if len(log) != 3 || log[2].Value != nil {
			t.Fatalf("logged %v", log)
		}
		if !bytes.Equal(log[bAt].Key, want) {
			t.Fatalf("logged %v", log)
		}
		if k, start, end, err := statestore.ParseSessionKey(log[bAt].Key); err != nil || string(k) != "b" || start != 0 || end != 30 {
			t.Fatalf("logged key decodes to %q [%d,%d] %v", k, start, end, err)
		}
		opts.ChangeLogger = nil
		s2 := open(t, opts)
		log.restoreInto(t, s2.(statestore.Restorable))
		if got, want := drainW(t)(s2.FetchKeyRange(nil, nil)), drainW(t)(s.FetchKeyRange(nil, nil)); !reflect.DeepEqual(got, want) {
			t.Fatalf("restored %v, want %v", got, want)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		s := open(t, base)
		cases := map[string]struct {
			w    statestore.Windowed
			want error
		}{
			"nil key":     {statestore.Windowed{Start: 0, End: 1}, statestore.ErrNilKey},
			"negative":    {w("k", -1, 1), statestore.ErrNegativeTime},
			"start > end": {w("k", 5, 1), statestore.ErrInvalidSession},
		}
		for name, c := range cases {
			if err := s.Put(c.w, b("v")); !errors.Is(err, c.want) {
				t.Errorf("Put(%s) = %v, want %v", name, err, c.want)
			}
		}
		if _, err := s.FetchSession(b("k"), 5, 1); !errors.Is(err, statestore.ErrInvalidSession) {
			t.Errorf("FetchSession(start > end) = %v", err)
		}
		if _, err := h.OpenSession(t.TempDir(), "bad", statestore.SessionOptions{}); !errors.Is(err, statestore.ErrInvalidOptions) {
			t.Errorf("open without retention = %v", err)
		}
	})

	t.Run("Closed", func(t *testing.T) {
		s := h.session(t, t.TempDir(), base)
		mustNoErr(t, s.Close(), "close")
		if err := s.Put(w("k", 0, 1), b("v")); !errors.Is(err, statestore.ErrClosed) {
			t.Errorf("Put after Close = %v", err)
		}
		if _, err := s.FindSessions(b("k"), 0, 1); !errors.Is(err, statestore.ErrClosed) {
			t.Errorf("FindSessions after Close = %v", err)
		}
	})

	if h.Persistent {
		t.Run("Reopen", func(t *testing.T) {
			dir := t.TempDir()
			s := h.session(t, dir, base)
			mustNoErr(t, s.Put(w("u", 0, 10), b("a")), "put")
			mustNoErr(t, s.Close(), "close")
			s = h.session(t, dir, base)
			defer s.Close()
			if got := drainW(t)(s.Fetch(b("u"))); len(got) != 1 || s.ObservedStreamTime() != 10 {
				t.Fatalf("after reopen: %v, stream time %d", got, s.ObservedStreamTime())
			}
		})
	}

	t.Run("Properties", func(t *testing.T) {
		runSeeds(t, h, "", func(t *testing.T, seed uint64) { sessionProperty(t, h, seed) })
	})
}

type skey struct {
	key        string
	start, end int64
}

func sessionProperty(t *testing.T, h Harness, seed uint64) {
	const (
		retention = 10_000
		interval  = 3_000
	)
	opts := statestore.SessionOptions{Retention: retention * time.Millisecond, SegmentInterval: interval * time.Millisecond}
	p := newPropertyRun(t, h, seed, 0x2545f4914f6cdd1d, opts, h.session)
	r := p.r
	model := map[skey]string{}
	observed := int64(-1)
	live := func() int64 { return minLive(observed, retention) }
	// byKey orders sessions by key, end, start.
	byKey := func(a, b skey) bool {
		if a.key != b.key {
			return a.key < b.key
		}
		if a.end != b.end {
			return a.end < b.end
		}
		return a.start < b.start
	}
	query := func(keyFrom, keyTo []byte, single bool, earliestEnd, latestStart int64, reverse bool) []Entry {
		earliestEnd = max(earliestEnd, live())
		keep := func(k skey) bool {
			return k.end >= earliestEnd && k.start <= latestStart && keyMatches(k.key, keyFrom, keyTo, single)
		}
		// Store order: segment (of the end), then key, end, start.
		less := func(a, b skey) bool {
			if a.end/interval != b.end/interval {
				return a.end/interval < b.end/interval
			}
			return byKey(a, b)
		}
		return modelEntries(model, keep, less, func(k skey, v string) Entry { return Entry{k.key, k.start, k.end, v} }, reverse)
	}
	// pick chooses an existing session (deterministically for a seed), so removes hit.
	pick := func() (skey, bool) {
		if len(model) == 0 {
			return skey{}, false
		}
		ks := make([]skey, 0, len(model))
		for k := range model {
			ks = append(ks, k)
		}
		sort.Slice(ks, func(i, j int) bool { return byKey(ks[i], ks[j]) })
		return ks[r.IntN(len(ks))], true
	}
	now := int64(0)
	for step := range h.ops() {
		s := p.s
		switch op := r.IntN(100); {
		case op < 40:
			now += int64(r.IntN(300))
			end := max(now-int64(r.IntN(12_000)), 0)
			start := max(end-int64(r.IntN(2_000)), 0)
			k := randKey(r)
			v := fmt.Sprintf("v%d", step)
			if err := s.Put(statestore.Windowed{Key: k, Start: start, End: end}, []byte(v)); err != nil {
				p.fail(step, "Put: %v", err)
			}
			observed = max(observed, end)
			if end >= live() {
				model[skey{string(k), start, end}] = v
			}
		case op < 48:
			k, ok := pick()
			if !ok {
				break
			}
			if err := s.Remove(statestore.Windowed{Key: []byte(k.key), Start: k.start, End: k.end}); err != nil {
				p.fail(step, "Remove: %v", err)
			}
			delete(model, k)
		case op < 56:
			k, ok := pick()
			if !ok {
				break
			}
			v, err := s.FetchSession([]byte(k.key), k.start, k.end)
			if err != nil {
				p.fail(step, "FetchSession: %v", err)
			}
			want := model[k]
			if k.end < live() {
				want = ""
			}
			if string(v) != want {
				p.fail(step, "FetchSession(%v) = %q, want %q", k, v, want)
			}
		case op < 75:
			k := randKey(r)
			earliestEnd := now - int64(r.IntN(12_000))
			latestStart := earliestEnd + int64(r.IntN(4_000)) - 1000
			reverse := r.IntN(2) == 0
			got := readWindowed(t, reverse,
				func() (statestore.WindowedIterator, error) { return s.FindSessions(k, earliestEnd, latestStart) },
				func() (statestore.WindowedIterator, error) {
					return s.BackwardFindSessions(k, earliestEnd, latestStart)
				})
			if want := query(k, k, true, earliestEnd, latestStart, reverse); !entriesEqual(got, want) {
				p.fail(step, "FindSessions(%q, %d, %d, reverse=%v) = %v, want %v", k, earliestEnd, latestStart, reverse, got, want)
			}
		case op < 88:
			kf, kt := randBound(r), randBound(r)
			earliestEnd := now - int64(r.IntN(12_000))
			latestStart := earliestEnd + int64(r.IntN(4_000))
			if r.IntN(4) == 0 {
				earliestEnd, latestStart = 0, math.MaxInt64
			}
			reverse := r.IntN(2) == 0
			got := readWindowed(t, reverse,
				func() (statestore.WindowedIterator, error) {
					return s.FindSessionsKeyRange(kf, kt, earliestEnd, latestStart)
				},
				func() (statestore.WindowedIterator, error) {
					return s.BackwardFindSessionsKeyRange(kf, kt, earliestEnd, latestStart)
				})
			want := query(kf, kt, false, earliestEnd, latestStart, reverse)
			if kf != nil && kt != nil && bytes.Compare(kf, kt) > 0 {
				want = nil
			}
			if !entriesEqual(got, want) {
				p.fail(step, "FindSessionsKeyRange(%q, %q, %d, %d, reverse=%v) = %v, want %v", kf, kt, earliestEnd, latestStart, reverse, got, want)
			}
		case op < 95:
			p.flush(step)
		default:
			p.reopen(step)
		}
		if p.s.ObservedStreamTime() != observed {
			p.fail(step, "ObservedStreamTime = %d, want %d", p.s.ObservedStreamTime(), observed)
		}
	}
}
