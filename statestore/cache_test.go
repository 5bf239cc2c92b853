package statestore_test

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
)

type flushLog struct {
	batches [][]string
}

func (f *flushLog) listener(entries []statestore.DirtyEntry) error {
	var b []string
	for _, e := range entries {
		if e.Value == nil {
			b = append(b, fmt.Sprintf("%s=<nil>@%d", e.Key, e.Context.Timestamp))
		} else {
			b = append(b, fmt.Sprintf("%s=%s@%d", e.Key, e.Value, e.Context.Timestamp))
		}
	}
	f.batches = append(f.batches, b)
	return nil
}

func TestCacheFoldsAndFlushesInUpdateOrder(t *testing.T) {
	c := statestore.NewRecordCache(1 << 20)
	var log flushLog
	ns, err := c.Namespace("task-0_0-counts", log.listener)
	if err != nil {
		t.Fatal(err)
	}
	put := func(k, v string, ts int64) {
		t.Helper()
		var val []byte
		if v != "" {
			val = []byte(v)
		}
		if err := ns.Put([]byte(k), val, statestore.RecordContext{Timestamp: ts}); err != nil {
			t.Fatal(err)
		}
	}
	put("a", "1", 1)
	put("b", "1", 2)
	put("a", "2", 3) // folds into a, and moves a after b
	put("c", "1", 4)
	put("b", "", 5) // a delete
	if l := ns.Get([]byte("b")); !l.Found || !l.Deleted {
		t.Fatalf("pending delete lookup = %+v", l)
	}
	if err := ns.Flush(); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a=2@3", "c=1@4", "b=<nil>@5"}}
	if !slices.EqualFunc(log.batches, want, slices.Equal) {
		t.Fatalf("flushed %q, want %q", log.batches, want)
	}
	if err := ns.Flush(); err != nil || len(log.batches) != 1 {
		t.Fatalf("a second flush with nothing dirty called the listener: %q", log.batches)
	}
	// Flushed deletes leave the cache; flushed values stay, clean.
	if l := ns.Get([]byte("b")); l.Found {
		t.Fatalf("flushed delete still cached: %+v", l)
	}
	if l := ns.Get([]byte("a")); !l.Found || string(l.Value) != "2" {
		t.Fatalf("flushed value not cached: %+v", l)
	}
}

func TestCacheEvictsLRUWithinNamespaceAndFlushesOnDirtyEviction(t *testing.T) {
	const entry = 96 + 2 // overhead + 1-byte key + 1-byte value
	c := statestore.NewRecordCache(4 * entry)
	var logA, logB flushLog
	a, _ := c.Namespace("a", logA.listener)
	b, _ := c.Namespace("b", logB.listener)
	ctx := statestore.RecordContext{}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.Put([]byte("x"), []byte("1"), ctx))
	must(a.PutClean([]byte("1"), []byte("1")))
	must(a.PutClean([]byte("2"), []byte("2")))
	must(a.PutClean([]byte("3"), []byte("3")))
	if c.SizeBytes() != 4*entry {
		t.Fatalf("size = %d, want %d", c.SizeBytes(), 4*entry)
	}
	a.Get([]byte("1"))                         // 1 becomes most recent: 2 is the LRU
	must(a.PutClean([]byte("4"), []byte("4"))) // over the bound: evict a's LRU, never b's
	if a.Get([]byte("2")).Found || !a.Get([]byte("1")).Found || !b.Get([]byte("x")).Found {
		t.Fatal("evicted the wrong entry")
	}
	if c.SizeBytes() > c.MaxBytes() {
		t.Fatalf("size %d over bound %d", c.SizeBytes(), c.MaxBytes())
	}
	// A dirty LRU entry flushes its namespace (all of its dirty entries) before leaving.
	a.Clear()
	must(a.Put([]byte("d"), []byte("1"), statestore.RecordContext{Timestamp: 7}))
	must(a.Put([]byte("e"), []byte("1"), statestore.RecordContext{Timestamp: 8}))
	must(a.Put([]byte("f"), []byte("1"), statestore.RecordContext{Timestamp: 9}))
	must(a.Put([]byte("g"), []byte("1"), statestore.RecordContext{Timestamp: 10}))
	want := [][]string{{"d=1@7", "e=1@8", "f=1@9", "g=1@10"}}
	if !slices.EqualFunc(logA.batches, want, slices.Equal) {
		t.Fatalf("eviction flushed %q, want %q", logA.batches, want)
	}
	if len(logB.batches) != 0 {
		t.Fatalf("a write to namespace a flushed namespace b: %q", logB.batches)
	}
	if c.SizeBytes() > c.MaxBytes() {
		t.Fatalf("size %d over bound %d", c.SizeBytes(), c.MaxBytes())
	}
}

func TestCacheNamespaces(t *testing.T) {
	c := statestore.NewRecordCache(0)
	if c.MaxBytes() != statestore.DefaultCacheMaxBytes {
		t.Fatalf("default bound = %d", c.MaxBytes())
	}
	ns, _ := c.Namespace("x", nil)
	if _, err := c.Namespace("x", nil); !errors.Is(err, statestore.ErrDuplicateNamespace) {
		t.Fatalf("duplicate namespace: %v", err)
	}
	_ = ns.Put([]byte("k"), []byte("v"), statestore.RecordContext{})
	_ = ns.Put([]byte("j"), nil, statestore.RecordContext{})
	got := ns.Range(nil, nil, false)
	if len(got) != 2 || string(got[0].Key) != "j" || got[0].Value != nil || string(got[1].Value) != "v" {
		t.Fatalf("Range = %q", got)
	}
	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ns.Put([]byte("k"), []byte("v"), statestore.RecordContext{}); !errors.Is(err, statestore.ErrClosed) {
		t.Fatalf("Put on a closed namespace = %v", err)
	}
	if c.SizeBytes() != 0 {
		t.Fatalf("closed namespace left %d bytes", c.SizeBytes())
	}
	if _, err := c.Namespace("x", nil); err != nil {
		t.Fatalf("re-registering a closed namespace: %v", err)
	}
}

func TestCachingStoreForwardsFoldedUpdatesWithOldValues(t *testing.T) {
	// A tiny inner store is enough here: the suite in storetest covers the rest.
	inner := newMapStore()
	var got []string
	s, err := statestore.NewCachingKeyValueStore(inner, statestore.NewRecordCache(1<<20), statestore.CachingOptions{
		SendOldValues: true,
		Context:       func() statestore.RecordContext { return statestore.RecordContext{Timestamp: 42} },
		OnFlush: func(entries []statestore.CachedEntry) error {
			for _, e := range entries {
				got = append(got, fmt.Sprintf("%s:%s->%s@%d", e.Key, e.OldValue, e.NewValue, e.Context.Timestamp))
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = inner.Put([]byte("w"), []byte("1"))
	for _, v := range []string{"2", "3", "4"} {
		if err := s.Put([]byte("w"), []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := inner.Get([]byte("w")); string(v) != "1" {
		t.Fatalf("the cache wrote through before a flush: %q", v)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"w:1->4@42"}; !slices.Equal(got, want) {
		t.Fatalf("forwarded %q, want %q", got, want)
	}
	if v, _ := inner.Get([]byte("w")); string(v) != "4" {
		t.Fatalf("store after flush = %q", v)
	}
}

// TestCacheProperty drives several namespaces with random writes, reads, flushes and
// clean reads, and checks after every step that the cache stays within its bound (up to
// the entry just written, when its namespace had nothing else to evict, as in Kafka
// Streams), and at the end that what the listeners received, replayed in order, equals the
// last write of every key: folding and eviction never lose or reorder an update.
func TestCacheProperty(t *testing.T) {
	knownOld := 0
	for seed := uint64(1); seed <= 4; seed++ {
		r := rand.New(rand.NewPCG(seed, 99))
		const max = 4096
		c := statestore.NewRecordCache(max)
		const spaces = 3
		sinks := make([]map[string]string, spaces)
		models := make([]map[string]string, spaces)
		nss := make([]*statestore.CacheNamespace, spaces)
		for i := range nss {
			sinks[i], models[i] = map[string]string{}, map[string]string{}
			sink := sinks[i]
			ns, err := c.Namespace(fmt.Sprint("ns", i), func(entries []statestore.DirtyEntry) error {
				seen := map[string]bool{}
				for _, e := range entries {
					if seen[string(e.Key)] {
						return fmt.Errorf("key %q twice in one flush: not folded", e.Key)
					}
					seen[string(e.Key)] = true
					// The sink is the store: an old value the cache claims to know is
					// what the sink holds.
					if stored, ok := sink[string(e.Key)]; e.OldValueKnown && (ok != (e.OldValue != nil) || stored != string(e.OldValue)) {
						return fmt.Errorf("key %q: known old value %q, the store holds %q (present %v)", e.Key, e.OldValue, stored, ok)
					}
					if e.OldValueKnown {
						knownOld++
					}
					if e.Value == nil {
						delete(sink, string(e.Key))
					} else {
						sink[string(e.Key)] = string(e.Value)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			nss[i] = ns
		}
		for step := range 5000 {
			i := r.IntN(spaces)
			ns, model := nss[i], models[i]
			k := fmt.Sprintf("key-%d", r.IntN(40))
			switch op := r.IntN(10); {
			case op < 6:
				v := fmt.Sprintf("v%d-%s", step, string(make([]byte, r.IntN(60))))
				var val []byte
				if r.IntN(6) > 0 {
					val = []byte(v)
					model[k] = v
				} else {
					delete(model, k)
				}
				if err := ns.Put([]byte(k), val, statestore.RecordContext{Offset: int64(step)}); err != nil {
					t.Fatalf("seed %d step %d: %v", seed, step, err)
				}
			case op < 8:
				l := ns.Get([]byte(k))
				want, ok := model[k]
				if l.Found && !l.Deleted && (!ok || string(l.Value) != want) {
					// A cached value must be the latest write (or a flushed one equal to it).
					t.Fatalf("seed %d step %d: Get(%s) = %q, model %q", seed, step, k, l.Value, want)
				}
			case op < 9:
				if r.IntN(2) == 0 {
					if err := ns.Flush(); err != nil {
						t.Fatalf("seed %d step %d: %v", seed, step, err)
					}
				} else {
					checkCacheRange(t, ns, r, fmt.Sprintf("seed %d step %d", seed, step))
				}
			default:
				if v, ok := sinks[i][k]; ok {
					_ = ns.PutClean([]byte(k), []byte(v)) // a read-through of the flushed value
				}
			}
			if c.SizeBytes() > max+200 {
				t.Fatalf("seed %d step %d: size %d over bound %d", seed, step, c.SizeBytes(), max)
			}
		}
		for i, ns := range nss {
			if err := ns.Flush(); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(sinks[i], models[i]) {
				t.Fatalf("seed %d: namespace %d: flushed state %v, want %v", seed, i, sinks[i], models[i])
			}
		}
	}
	if knownOld == 0 {
		t.Fatal("no flushed entry carried a known old value: the check above checked nothing")
	}
}

// TestCacheOldValues checks which old values the cache knows: a key read through
// PutClean or flushed before, at its first update since; not a key first written, and
// none after a flush listener failed (the store may not hold what the cache has), until
// Clear.
func TestCacheOldValues(t *testing.T) {
	c := statestore.NewRecordCache(1 << 20)
	var got []statestore.DirtyEntry
	fail := false
	ns, _ := c.Namespace("ns", func(entries []statestore.DirtyEntry) error {
		got = append(got[:0], entries...)
		if fail {
			return errors.New("store down")
		}
		return nil
	})
	ctx := statestore.RecordContext{}
	put := func(k, v string) {
		t.Helper()
		var val []byte
		if v != "" {
			val = []byte(v)
		}
		if err := ns.Put([]byte(k), val, ctx); err != nil {
			t.Fatal(err)
		}
	}
	flush := func() map[string]string {
		t.Helper()
		err := ns.Flush()
		if (err != nil) != fail {
			t.Fatalf("Flush = %v", err)
		}
		out := map[string]string{}
		for _, e := range got {
			switch {
			case !e.OldValueKnown:
				out[string(e.Key)] = "?"
			case e.OldValue == nil:
				out[string(e.Key)] = "<none>"
			default:
				out[string(e.Key)] = string(e.OldValue)
			}
		}
		return out
	}
	if err := ns.PutClean([]byte("read"), []byte("r0")); err != nil {
		t.Fatal(err)
	}
	put("read", "r1")
	put("read", "r2") // folded: the old value stays the store's
	put("new", "n1")
	if o := flush(); !maps.Equal(o, map[string]string{"read": "r0", "new": "?"}) {
		t.Fatalf("first flush: old values %v", o)
	}
	put("read", "r3")
	put("new", "")
	if o := flush(); !maps.Equal(o, map[string]string{"read": "r2", "new": "n1"}) {
		t.Fatalf("second flush: old values %v", o)
	}
	put("read", "r4")
	fail = true
	flush()
	put("read", "r5") // the failed flush may not have reached the store
	fail = false
	if o := flush(); !maps.Equal(o, map[string]string{"read": "?"}) {
		t.Fatalf("after a failed flush: old values %v", o)
	}
	ns.Clear()
	if err := ns.PutClean([]byte("read"), []byte("r5")); err != nil {
		t.Fatal(err)
	}
	put("read", "r6")
	if o := flush(); !maps.Equal(o, map[string]string{"read": "r5"}) {
		t.Fatalf("after Clear: old values %v", o)
	}
}

// checkCacheRange checks Range against the namespace's point reads: the full range is in
// strictly increasing key order, holds Len entries, each as Get sees it, and a random
// sub-range (forward or reverse) is exactly the matching part of it.
func checkCacheRange(t *testing.T, ns *statestore.CacheNamespace, r *rand.Rand, at string) {
	t.Helper()
	all := ns.Range(nil, nil, false)
	if len(all) != ns.Len() {
		t.Fatalf("%s: Range has %d entries, Len %d", at, len(all), ns.Len())
	}
	for i, e := range all {
		if i > 0 && string(all[i-1].Key) >= string(e.Key) {
			t.Fatalf("%s: Range out of order: %q then %q", at, all[i-1].Key, e.Key)
		}
		l := ns.Get(e.Key)
		if !l.Found || l.Deleted != (e.Value == nil) || string(l.Value) != string(e.Value) {
			t.Fatalf("%s: Range has %q=%q, Get %+v", at, e.Key, e.Value, l)
		}
	}
	from, to := []byte(fmt.Sprintf("key-%d", r.IntN(40))), []byte(fmt.Sprintf("key-%d", r.IntN(40)))
	reverse := r.IntN(2) == 0
	var want []statestore.KeyValue
	for _, e := range all {
		if string(e.Key) >= string(from) && string(e.Key) <= string(to) {
			want = append(want, e)
		}
	}
	if reverse {
		slices.Reverse(want)
	}
	got := ns.Range(from, to, reverse)
	if !slices.EqualFunc(got, want, func(a, b statestore.KeyValue) bool {
		return string(a.Key) == string(b.Key) && string(a.Value) == string(b.Value) && (a.Value == nil) == (b.Value == nil)
	}) {
		t.Fatalf("%s: Range(%s, %s, reverse=%v) = %q, want %q", at, from, to, reverse, got, want)
	}
}
