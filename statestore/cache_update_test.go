package statestore_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
)

// oldLog records flushed entries with their old values.
type oldLog struct{ entries []string }

func (l *oldLog) listener(entries []statestore.DirtyEntry) error {
	for _, e := range entries {
		l.entries = append(l.entries, fmt.Sprintf("%s=%q@%d old=%q/%v", e.Key, e.Value, e.Context.Timestamp, e.OldValue, e.OldValueKnown))
	}
	l.entries = append(l.entries, "|")
	return nil
}

// TestCacheLookupPutAtMatchesGetPut runs one seeded sequence of reads,
// read-modify-writes, clean puts, deletes, flushes and evictions against two
// caches: one doing each update as Get then Put, the other as Lookup then
// PutAt. Flushed entries (old values included), lookups and sizes must agree.
func TestCacheLookupPutAtMatchesGetPut(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0))
			var la, lb oldLog
			// Small bounds so that evictions (and the flushes they cause) happen.
			ca, cb := statestore.NewRecordCache(2000), statestore.NewRecordCache(2000)
			na, err := ca.Namespace("a", la.listener)
			if err != nil {
				t.Fatal(err)
			}
			nb, err := cb.Namespace("b", lb.listener)
			if err != nil {
				t.Fatal(err)
			}
			for op := 0; op < 3000; op++ {
				key := []byte(fmt.Sprintf("k%02d", rng.IntN(40)))
				ts := int64(op)
				switch r := rng.IntN(20); {
				case r < 12: // read-modify-write
					ga := na.Get(key)
					gb, ref := nb.Lookup(key)
					if ga.Found != gb.Found || ga.Deleted != gb.Deleted || string(ga.Value) != string(gb.Value) {
						t.Fatalf("seed %d op %d: Get %+v, Lookup %+v", seed, op, ga, gb)
					}
					nv := []byte(fmt.Sprintf("%s+%d", ga.Value, op%7))
					if err := na.Put(key, nv, statestore.RecordContext{Timestamp: ts}); err != nil {
						t.Fatal(err)
					}
					owned := slices.Clone(nv)
					if err := nb.PutAt(ref, key, owned, statestore.RecordContext{Timestamp: ts}); err != nil {
						t.Fatal(err)
					}
				case r < 14: // a write between a lookup and its PutAt makes the ref stale
					_, ref := nb.Lookup(key)
					for _, ns := range []*statestore.CacheNamespace{na, nb} {
						if err := ns.Put(key, nil, statestore.RecordContext{Timestamp: ts}); err != nil {
							t.Fatal(err)
						}
						if err := ns.Flush(); err != nil { // removes the written delete
							t.Fatal(err)
						}
					}
					if err := na.Put(key, []byte("x"), statestore.RecordContext{Timestamp: ts}); err != nil {
						t.Fatal(err)
					}
					if err := nb.PutAt(ref, key, []byte("x"), statestore.RecordContext{Timestamp: ts}); err != nil {
						t.Fatal(err)
					}
				case r < 16:
					v := []byte(fmt.Sprintf("clean%d", op))
					if err := na.PutClean(key, v); err != nil {
						t.Fatal(err)
					}
					if err := nb.PutClean(key, v); err != nil {
						t.Fatal(err)
					}
				case r < 18:
					for _, ns := range []*statestore.CacheNamespace{na, nb} {
						if err := ns.Put(key, nil, statestore.RecordContext{Timestamp: ts}); err != nil {
							t.Fatal(err)
						}
					}
				default:
					if err := na.Flush(); err != nil {
						t.Fatal(err)
					}
					if err := nb.Flush(); err != nil {
						t.Fatal(err)
					}
				}
				if na.Len() != nb.Len() || ca.SizeBytes() != cb.SizeBytes() {
					t.Fatalf("seed %d op %d: len %d vs %d, size %d vs %d", seed, op, na.Len(), nb.Len(), ca.SizeBytes(), cb.SizeBytes())
				}
			}
			if !slices.Equal(la.entries, lb.entries) {
				t.Fatalf("seed %d: flushed entries differ:\nGet+Put:      %v\nLookup+PutAt: %v", seed, la.entries, lb.entries)
			}
			if len(la.entries) == 0 {
				t.Fatalf("seed %d: nothing flushed", seed)
			}
		})
	}
}

func TestCachePutAtKeepsTheValueAndRejectsAClosedNamespace(t *testing.T) {
	c := statestore.NewRecordCache(1 << 20)
	ns, err := c.Namespace("n", nil)
	if err != nil {
		t.Fatal(err)
	}
	l, ref := ns.Lookup([]byte("k"))
	if l.Found {
		t.Fatalf("lookup of an empty cache: %+v", l)
	}
	v := []byte("v1")
	if err := ns.PutAt(ref, []byte("k"), v, statestore.RecordContext{}); err != nil {
		t.Fatal(err)
	}
	l, _ = ns.Lookup([]byte("k"))
	if !l.Found || &l.Value[0] != &v[0] {
		t.Fatalf("PutAt did not keep the given value: %+v", l)
	}
	ns.Close()
	if err := ns.PutAt(ref, []byte("k"), []byte("v2"), statestore.RecordContext{}); err == nil {
		t.Fatal("PutAt on a closed namespace: no error")
	}
}
