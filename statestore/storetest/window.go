package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
)

// RunWindow runs the window store conformance tests and property tests against h.
func RunWindow(t *testing.T, h Harness) {
	open := opener(h.window)
	b := func(s string) []byte { return []byte(s) }
	base := statestore.WindowOptions{Retention: time.Hour, SegmentInterval: 10 * time.Minute, WindowSize: time.Minute}

	t.Run("Defaults", func(t *testing.T) {
		s := open(t, statestore.WindowOptions{Retention: 10 * time.Minute})
		if got := s.Options().SegmentInterval; got != 5*time.Minute {
			t.Errorf("segment interval = %v, want retention/2", got)
		}
		s = open(t, statestore.WindowOptions{Retention: 30 * time.Second})
		if got := s.Options().SegmentInterval; got != time.Minute {
			t.Errorf("segment interval = %v, want the 60s minimum", got)
		}
		if s.ObservedStreamTime() != -1 {
			t.Errorf("observed stream time of an empty store = %d, want -1", s.ObservedStreamTime())
		}
	})

	t.Run("PutFetch", func(t *testing.T) {
		s := open(t, base)
		for _, ws := range []int64{120_000, 0, 60_000, 1_200_000} {
			mustNoErr(t, s.Put(b("k"), fmt.Appendf(nil, "%d", ws), ws), "put")
		}
		mustNoErr(t, s.Put(b("k"), b("60000b"), 60_000), "overwrite")
		mustNoErr(t, s.Put(b("other"), b("x"), 60_000), "put")
		v, err := s.FetchOne(b("k"), 60_000)
		if err != nil || string(v) != "60000b" {
			t.Fatalf("FetchOne = %q, %v", v, err)
		}
		if v, _ := s.FetchOne(b("k"), 30_000); v != nil {
			t.Fatalf("FetchOne of a missing window = %q", v)
		}
		got := drainW(t)(s.Fetch(b("k"), 0, 600_000))
		want := []Entry{{"k", 0, 60_000, "0"}, {"k", 60_000, 120_000, "60000b"}, {"k", 120_000, 180_000, "120000"}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Fetch = %v, want %v", got, want)
		}
		got = drainW(t)(s.BackwardFetch(b("k"), 60_000, math.MaxInt64))
		want = []Entry{{"k", 1_200_000, 1_260_000, "1200000"}, {"k", 120_000, 180_000, "120000"}, {"k", 60_000, 120_000, "60000b"}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("BackwardFetch = %v, want %v", got, want)
		}
		mustNoErr(t, s.Put(b("k"), nil, 60_000), "delete")
		if v, _ := s.FetchOne(b("k"), 60_000); v != nil {
			t.Fatalf("Put(nil) did not delete: %q", v)
		}
		if got := drainW(t)(s.Fetch(b("k"), 10, 5)); len(got) != 0 {
			t.Fatalf("Fetch with from > to = %v", got)
		}
	})

	t.Run("KeysOfDifferentLengths", func(t *testing.T) {
		// Keys that are prefixes of each other, with zero bytes, must not interleave.
		s := open(t, base)
		keys := []string{"", "\x00", "a", "a\x00", "a\x00\x00\x00\x00\x00\x00\x00\x01", "ab", "b", "\xff"}
		for i, k := range keys {
			for _, ws := range []int64{0, 60_000, 600_000, 660_000} {
				mustNoErr(t, s.Put(b(k), fmt.Appendf(nil, "%d", i), ws), "put")
			}
		}
		for _, k := range keys {
			got := drainW(t)(s.Fetch(b(k), 60_000, 600_000))
			if len(got) != 2 || got[0].Key != k || got[1].Key != k || got[0].Start != 60_000 || got[1].Start != 600_000 {
				t.Errorf("Fetch(%q) = %v", k, got)
			}
		}
		got := drainW(t)(s.FetchKeyRange(b("a"), b("ab"), 0, 60_000))
		var want []Entry
		for i, k := range keys {
			if k >= "a" && k <= "ab" {
				for _, ws := range []int64{0, 60_000} {
					want = append(want, Entry{k, ws, ws + 60_000, fmt.Sprint(i)})
				}
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("FetchKeyRange = %v, want %v", got, want)
		}
	})

	t.Run("OrderAcrossKeys", func(t *testing.T) {
		s := open(t, base)
		// Two segments (10 minutes each); order is (segment, key, start).
		puts := []struct {
			k  string
			ws int64
		}{{"b", 0}, {"a", 60_000}, {"a", 0}, {"b", 600_000}, {"a", 660_000}, {"c", 120_000}}
		for _, p := range puts {
			mustNoErr(t, s.Put(b(p.k), b(p.k), p.ws), "put")
		}
		want := []Entry{{"a", 0, 60_000, "a"}, {"a", 60_000, 120_000, "a"}, {"b", 0, 60_000, "b"}, {"c", 120_000, 180_000, "c"}, {"a", 660_000, 720_000, "a"}, {"b", 600_000, 660_000, "b"}}
		if got := drainW(t)(s.All()); !reflect.DeepEqual(got, want) {
			t.Errorf("All = %v, want %v", got, want)
		}
		rev := slices.Clone(want)
		slices.Reverse(rev)
		if got := drainW(t)(s.BackwardAll()); !reflect.DeepEqual(got, rev) {
			t.Errorf("BackwardAll = %v, want %v", got, rev)
		}
		if got := drainW(t)(s.FetchAll(60_000, 600_000)); !reflect.DeepEqual(got, []Entry{want[1], want[3], want[5]}) {
			t.Errorf("FetchAll = %v", got)
		}
		if got := drainW(t)(s.BackwardFetchKeyRange(b("b"), nil, 0, math.MaxInt64)); !reflect.DeepEqual(got, []Entry{want[5], want[3], want[2]}) {
			t.Errorf("BackwardFetchKeyRange = %v", got)
		}
	})

	t.Run("Retention", func(t *testing.T) {
		var expired []int64
		opts := base
		opts.OnExpired = func(_ []byte, ts int64) { expired = append(expired, ts) }
		s := open(t, opts)
		mustNoErr(t, s.Put(b("k"), b("old"), 0), "put")
		mustNoErr(t, s.Put(b("k"), b("mid"), 1_800_000), "put")
		mustNoErr(t, s.Put(b("k"), b("new"), 3_600_000), "put") // stream time 1h: window 0 expires
		if s.ObservedStreamTime() != 3_600_000 {
			t.Fatalf("observed stream time = %d", s.ObservedStreamTime())
		}
		got := drainW(t)(s.Fetch(b("k"), 0, math.MaxInt64))
		if len(got) != 2 || got[0].Value != "mid" {
			t.Fatalf("after expiry Fetch = %v", got)
		}
		if v, _ := s.FetchOne(b("k"), 0); v != nil {
			t.Fatalf("FetchOne returned an expired window")
		}
		mustNoErr(t, s.Put(b("k"), b("late"), 1), "late put")
		mustNoErr(t, s.Put(b("k"), b("edge"), 0), "late put")
		mustNoErr(t, s.Put(b("k"), b("live"), 1), "put just inside retention") // 3600000-3600000+1 = 1 is live
		if !slices.Equal(expired, []int64{0}) {
			t.Fatalf("expired = %v, want [0]", expired)
		}
		if v, _ := s.FetchOne(b("k"), 1); string(v) != "live" {
			t.Fatalf("window at the retention edge = %q", v)
		}
		mustNoErr(t, s.Put(b("k"), b("later"), 10*3_600_000), "put")
		if got := drainW(t)(s.All()); len(got) != 1 || got[0].Value != "later" {
			t.Fatalf("All after stream time jumps = %v", got)
		}
	})

	t.Run("RetainDuplicates", func(t *testing.T) {
		opts := base
		opts.RetainDuplicates = true
		var log []string
		opts.ChangeLogger = func(k, v []byte) error {
			key, ws, seq, err := statestore.ParseWindowKey(k)
			mustNoErr(t, err, "parse logged key")
			log = append(log, fmt.Sprintf("%s@%d#%d=%s", key, ws, seq, v))
			return nil
		}
		s := open(t, opts)
		mustNoErr(t, s.Put(b("k"), b("1"), 0), "put")
		mustNoErr(t, s.Put(b("k"), b("2"), 0), "put")
		mustNoErr(t, s.Put(b("k"), nil, 0), "put nil (ignored)")
		got := drainW(t)(s.Fetch(b("k"), 0, 0))
		if len(got) != 2 || got[0].Value != "1" || got[1].Value != "2" {
			t.Fatalf("duplicates = %v", got)
		}
		if want := []string{"k@0#1=1", "k@0#2=2"}; !slices.Equal(log, want) {
			t.Fatalf("logged %v, want %v", log, want)
		}
	})

	t.Run("ChangeLoggerAndRestore", func(t *testing.T) {
		var log changelog
		opts := base
		opts.ChangeLogger = log.record
		s := open(t, opts)
		mustNoErr(t, s.Put(b("a"), b("1"), 0), "put")
		mustNoErr(t, s.Put(b("b"), b("2"), 60_000), "put")
		mustNoErr(t, s.Put(b("a"), nil, 0), "delete")
		mustNoErr(t, s.Put(b("c"), b("3"), 4_000_000), "put")
		want := statestore.AppendWindowKey(nil, b("b"), 60_000, 0)
		if h.Caching {
			// Folded on flush: b, then a's put and delete as one tombstone, then c.
			mustNoErr(t, s.Flush(), "flush")
			if len(log) != 3 || !bytes.Equal(log[0].Key, want) || log[1].Value != nil {
				t.Fatalf("logged %v", log)
			}
		} else if len(log) != 4 || !bytes.Equal(log[1].Key, want) || log[2].Value != nil {
			t.Fatalf("logged %v", log)
		}
		// Restoring the changelog into an empty store gives the same contents.
		opts.ChangeLogger = nil
		s2 := open(t, opts)
		r := log.restoreInto(t, s2.(statestore.Restorable))
		_, err := r.Finish()
		mustNoErr(t, err, "finish")
		if got, want := drainW(t)(s2.All()), drainW(t)(s.All()); !reflect.DeepEqual(got, want) {
			t.Fatalf("restored %v, want %v", got, want)
		}
		if s2.ObservedStreamTime() != 4_000_000 {
			t.Fatalf("restore did not advance stream time: %d", s2.ObservedStreamTime())
		}
		bad := []statestore.KeyValue{{Key: b("short"), Value: b("x")}}
		if err := s2.(statestore.Restorable).RestoreBatch(bad); !errors.Is(err, statestore.ErrCorruptKey) {
			t.Fatalf("restore of a corrupt key = %v, want ErrCorruptKey", err)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		s := open(t, base)
		if err := s.Put(nil, b("v"), 0); !errors.Is(err, statestore.ErrNilKey) {
			t.Errorf("Put(nil key) = %v", err)
		}
		if err := s.Put(b("k"), b("v"), -1); !errors.Is(err, statestore.ErrNegativeTime) {
			t.Errorf("Put(negative time) = %v", err)
		}
		if _, err := s.Fetch(nil, 0, 1); !errors.Is(err, statestore.ErrNilKey) {
			t.Errorf("Fetch(nil key) = %v", err)
		}
		if _, err := h.OpenWindow(t.TempDir(), "bad", statestore.WindowOptions{}); !errors.Is(err, statestore.ErrInvalidOptions) {
			t.Errorf("open without retention = %v, want ErrInvalidOptions", err)
		}
	})

	t.Run("Closed", func(t *testing.T) {
		s := h.window(t, t.TempDir(), base)
		mustNoErr(t, s.Put(b("k"), b("v"), 0), "put")
		mustNoErr(t, s.Put(b("k"), b("v"), 1), "put")
		it, err := s.All()
		mustNoErr(t, err, "all")
		mustNoErr(t, s.Close(), "close")
		if it.Next() || !errors.Is(it.Err(), statestore.ErrClosed) {
			t.Fatalf("iterator after Close: err %v", it.Err())
		}
		it.Close()
		if err := s.Put(b("k"), b("v"), 0); !errors.Is(err, statestore.ErrClosed) {
			t.Errorf("Put after Close = %v", err)
		}
		if _, err := s.Fetch(b("k"), 0, 1); !errors.Is(err, statestore.ErrClosed) {
			t.Errorf("Fetch after Close = %v", err)
		}
		if err := s.Close(); !errors.Is(err, statestore.ErrClosed) {
			t.Errorf("second Close = %v", err)
		}
	})

	if h.Persistent {
		t.Run("Reopen", func(t *testing.T) {
			dir := t.TempDir()
			s := h.window(t, dir, base)
			mustNoErr(t, s.Put(b("k"), b("old"), 0), "put")
			mustNoErr(t, s.Put(b("k"), b("new"), 3_000_000), "put")
			mustNoErr(t, s.Close(), "close")
			s = h.window(t, dir, base)
			defer s.Close()
			if s.ObservedStreamTime() != 3_000_000 {
				t.Fatalf("stream time after reopen = %d", s.ObservedStreamTime())
			}
			mustNoErr(t, s.Put(b("k"), b("newer"), 4_000_000), "put") // expires window 0
			if got := drainW(t)(s.All()); len(got) != 2 || got[0].Value != "new" {
				t.Fatalf("after reopen: %v", got)
			}
		})
	}

	t.Run("Properties", func(t *testing.T) {
		for _, dups := range []bool{false, true} {
			if dups && h.uncachedDups {
				continue
			}
			runSeeds(t, h, fmt.Sprintf("dups=%v/", dups), func(t *testing.T, seed uint64) { windowProperty(t, h, seed, dups) })
		}
	})
}

type wkey struct {
	key string
	ts  int64
	seq uint32
}

func windowProperty(t *testing.T, h Harness, seed uint64, dups bool) {
	const (
		retention = 10_000
		interval  = 3_000
		size      = 500
	)
	opts := statestore.WindowOptions{Retention: retention * time.Millisecond, SegmentInterval: interval * time.Millisecond, WindowSize: size * time.Millisecond, RetainDuplicates: dups}
	p := newPropertyRun(t, h, seed, 0x51ed270b27f0a3c1, opts, h.window)
	r := p.r
	model := map[wkey]string{}
	observed := int64(-1)
	var seq uint32
	live := func() int64 { return minLive(observed, retention) }
	// query returns the model's entries in the store's documented order.
	query := func(keyFrom, keyTo []byte, single bool, from, to int64, reverse bool) []Entry {
		from = max(from, live())
		keep := func(k wkey) bool { return k.ts >= from && k.ts <= to && keyMatches(k.key, keyFrom, keyTo, single) }
		less := func(a, b wkey) bool {
			if a.ts/interval != b.ts/interval {
				return a.ts/interval < b.ts/interval
			}
			if a.key != b.key {
				return a.key < b.key
			}
			if a.ts != b.ts {
				return a.ts < b.ts
			}
			return a.seq < b.seq
		}
		return modelEntries(model, keep, less, func(k wkey, v string) Entry { return Entry{k.key, k.ts, k.ts + size, v} }, reverse)
	}
	now := int64(0)
	for step := range h.ops() {
		s := p.s
		switch op := r.IntN(100); {
		case op < 45:
			now += int64(r.IntN(300))
			ts := max(now-int64(r.IntN(12_000)), 0)
			k := randKey(r)
			v := fmt.Sprintf("v%d", step)
			var val []byte
			if r.IntN(8) > 0 {
				val = []byte(v)
			}
			if err := s.Put(k, val, ts); err != nil {
				p.fail(step, "Put: %v", err)
			}
			observed = max(observed, ts)
			if ts < live() {
				break
			}
			if dups {
				if val != nil {
					seq++
					model[wkey{string(k), ts, seq}] = v
				}
			} else if val == nil {
				delete(model, wkey{string(k), ts, 0})
			} else {
				model[wkey{string(k), ts, 0}] = v
			}
		case op < 55:
			if dups {
				break
			}
			k := randKey(r)
			ts := max(now-int64(r.IntN(12_000)), 0)
			v, err := s.FetchOne(k, ts)
			if err != nil {
				p.fail(step, "FetchOne: %v", err)
			}
			want, ok := model[wkey{string(k), ts, 0}]
			if ts < live() {
				ok, want = false, ""
			}
			if string(v) != want || (v != nil) != ok {
				p.fail(step, "FetchOne(%q, %d) = %q, want %q", k, ts, v, want)
			}
		case op < 70:
			k := randKey(r)
			from := now - int64(r.IntN(12_000))
			to := from + int64(r.IntN(8_000))
			reverse := r.IntN(2) == 0
			got := readWindowed(t, reverse,
				func() (statestore.WindowedIterator, error) { return s.Fetch(k, from, to) },
				func() (statestore.WindowedIterator, error) { return s.BackwardFetch(k, from, to) })
			if want := query(k, k, true, from, to, reverse); !entriesEqual(got, want) {
				p.fail(step, "Fetch(%q, %d, %d, reverse=%v) = %v, want %v", k, from, to, reverse, got, want)
			}
		case op < 82:
			kf, kt := randBound(r), randBound(r)
			from := now - int64(r.IntN(12_000))
			to := from + int64(r.IntN(8_000))
			reverse := r.IntN(2) == 0
			got := readWindowed(t, reverse,
				func() (statestore.WindowedIterator, error) { return s.FetchKeyRange(kf, kt, from, to) },
				func() (statestore.WindowedIterator, error) { return s.BackwardFetchKeyRange(kf, kt, from, to) })
			want := query(kf, kt, false, from, to, reverse)
			if kf != nil && kt != nil && bytes.Compare(kf, kt) > 0 {
				want = nil
			}
			if !entriesEqual(got, want) {
				p.fail(step, "FetchKeyRange(%q, %q, %d, %d, reverse=%v) = %v, want %v", kf, kt, from, to, reverse, got, want)
			}
		case op < 90:
			reverse := r.IntN(2) == 0
			if r.IntN(2) == 0 {
				from := now - int64(r.IntN(12_000))
				to := from + int64(r.IntN(8_000))
				got := readWindowed(t, reverse,
					func() (statestore.WindowedIterator, error) { return s.FetchAll(from, to) },
					func() (statestore.WindowedIterator, error) { return s.BackwardFetchAll(from, to) })
				if want := query(nil, nil, false, from, to, reverse); !entriesEqual(got, want) {
					p.fail(step, "FetchAll(%d, %d, reverse=%v) = %v, want %v", from, to, reverse, got, want)
				}
				break
			}
			got := readWindowed(t, reverse, s.All, s.BackwardAll)
			if want := query(nil, nil, false, 0, math.MaxInt64, reverse); !entriesEqual(got, want) {
				p.fail(step, "All(reverse=%v) = %v, want %v", reverse, got, want)
			}
		case op < 96:
			p.flush(step)
		default:
			if p.reopen(step) && p.s.ObservedStreamTime() != observed {
				p.fail(step, "observed stream time after reopen = %d, want %d", p.s.ObservedStreamTime(), observed)
			}
		}
		if p.s.ObservedStreamTime() != observed {
			p.fail(step, "ObservedStreamTime = %d, want %d", p.s.ObservedStreamTime(), observed)
		}
	}
}

func entriesEqual(a, b []Entry) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}
