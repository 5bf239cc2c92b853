package badgerstore

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
)

func filterKey(i uint64) []byte { return binary.BigEndian.AppendUint64([]byte{dataPrefix}, i) }

// TestKeyFilterNeverMissesAnAddedKey adds keys across several growths of the filter
// and checks every one is still reported, and that keys never added are mostly not.
func TestKeyFilterNeverMissesAnAddedKey(t *testing.T) {
	f := newKeyFilter(64 << 20)
	const n = 200_000
	for i := uint64(0); i < n; i++ {
		f.add(filterKey(i))
		f.add(filterKey(i / 2)) // rewrites of a key must not count as new keys
	}
	for i := uint64(0); i < n; i++ {
		if !f.mayContain(filterKey(i)) {
			t.Fatalf("key %d added but not reported", i)
		}
	}
	fp := 0
	for i := uint64(n); i < 2*n; i++ {
		if f.mayContain(filterKey(i)) {
			fp++
		}
	}
	if rate := float64(fp) / n; rate > 0.1 {
		t.Fatalf("false positive rate %.3f", rate)
	}
	parts := len(*f.parts.Load())
	if parts < 2 || !f.active() {
		t.Fatalf("%d parts, active %v: the filter did not grow", parts, f.active())
	}
	t.Logf("%d keys: %d parts, %.2f%% false positives", n, parts, 100*float64(fp)/n)
}

// TestKeyFilterSwitchesOffAtItsBound: past its memory bound the filter reports every
// key as possibly present, while readers run concurrently with the writer.
func TestKeyFilterSwitchesOffAtItsBound(t *testing.T) {
	f := newKeyFilter(200 << 10)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var written sync.Map
	wg.Add(1)
	go func() { // a reader must never miss a key whose add returned before its read
		defer wg.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-stop:
				return
			default:
			}
			i := rng.Uint64N(300_000)
			if _, ok := written.Load(i); ok && !f.mayContain(filterKey(i)) {
				t.Errorf("key %d written but not reported", i)
				return
			}
		}
	}()
	for i := uint64(0); i < 300_000; i++ {
		f.add(filterKey(i))
		written.Store(i, true)
	}
	close(stop)
	wg.Wait()
	if f.active() {
		t.Fatal("filter still on past its bound")
	}
	if !f.mayContain(filterKey(1 << 40)) {
		t.Fatal("an off filter must report every key as possibly present")
	}
}

// TestStoreReadsThroughTheFilter writes a store that opened empty by every write path
// (small and large batches, deletes, a restore from scratch, a restore into data) and
// reads every key back after each step, and after a reopen (which has no filter).
func TestStoreReadsThroughTheFilter(t *testing.T) {
	dir := t.TempDir()
	open := func() *KeyValueStore {
		t.Helper()
		s, err := OpenKeyValueStore(dir, "filtered", Options{ValueLogGCInterval: -1}, statestore.KeyValueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	want := map[string]string{}
	check := func(s *KeyValueStore, step string) {
		t.Helper()
		for k, v := range want {
			got, err := s.Get([]byte(k))
			if err != nil || string(got) != v || (v != "" && got == nil) {
				t.Fatalf("%s: get %q = %q, %v; want %q", step, k, got, err, v)
			}
		}
		for i := 0; i < 100; i++ {
			k := fmt.Sprintf("absent-%d", i)
			if got, err := s.Get([]byte(k)); err != nil || got != nil {
				t.Fatalf("%s: get %q = %q, %v", step, k, got, err)
			}
		}
	}
	s := open()
	var restore []statestore.KeyValue
	for i := 0; i < 3000; i++ {
		k, v := fmt.Sprintf("r%05d", i), fmt.Sprintf("v%d", i)
		restore = append(restore, statestore.KeyValue{Key: []byte(k), Value: []byte(v)})
		want[k] = v
	}
	if err := s.RestoreBatch(restore); err != nil {
		t.Fatal(err)
	}
	check(s, "restore from scratch")
	for i := 0; i < 5000; i++ {
		k, v := fmt.Sprintf("p%05d", i), fmt.Sprintf("w%d", i)
		if err := s.Put([]byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
		want[k] = v
	}
	check(s, "puts")
	// A store read by ranges keeps its buffer in key order: the key filter still
	// answers first, and every buffered key must still be found.
	it, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	check(s, "puts, ordered buffer")
	var batch []statestore.KeyValue
	for i := 0; i < 5000; i++ {
		k := fmt.Sprintf("b%05d", i)
		batch = append(batch, statestore.KeyValue{Key: []byte(k), Value: []byte(k)})
		want[k] = k
	}
	if err := s.PutAll(batch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete([]byte("p00001")); err != nil {
		t.Fatal(err)
	}
	delete(want, "p00001")
	for _, k := range []string{"p00001", "never-written"} {
		if got, err := s.Delete([]byte(k)); err != nil || (k == "never-written" && got != nil) {
			t.Fatalf("delete %q = %q, %v", k, got, err)
		}
		if got, err := s.Get([]byte(k)); err != nil || got != nil {
			t.Fatalf("buffered delete of %q: get = %q, %v", k, got, err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	check(s, "batch, delete and flush")
	if err := s.RestoreBatch([]statestore.KeyValue{{Key: []byte("late"), Value: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	want["late"] = "x"
	check(s, "restore into data")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open()
	defer s.Close()
	check(s, "reopened")
}

// TestWindowStoreFilterOnlyWhereReadByKey: a window store that keeps duplicates is
// read by ranges only, so it opens with its filter off; one that does not keep them
// reads a window by key and keeps it. Both return every entry written, before and after
// a flush to Badger.
func TestWindowStoreFilterOnlyWhereReadByKey(t *testing.T) {
	for _, dups := range []bool{true, false} {
		t.Run(fmt.Sprintf("duplicates=%v", dups), func(t *testing.T) {
			s, err := OpenWindowStore(t.TempDir(), "w", Options{ValueLogGCInterval: -1}, statestore.WindowOptions{
				Retention: time.Hour, SegmentInterval: 10 * time.Minute, WindowSize: time.Second, RetainDuplicates: dups})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.eng.filter.active() == dups {
				t.Fatalf("filter active %v with duplicates %v", s.eng.filter.active(), dups)
			}
			const keys, puts = 50, 3
			for round := 0; round < puts; round++ {
				for k := 0; k < keys; k++ {
					if err := s.Put([]byte(fmt.Sprintf("k%02d", k)), []byte(fmt.Sprintf("v%d-%d", k, round)), int64(k*1000)); err != nil {
						t.Fatal(err)
					}
				}
			}
			check := func(step string) {
				t.Helper()
				for k := 0; k < keys; k++ {
					key := []byte(fmt.Sprintf("k%02d", k))
					it, err := s.Fetch(key, 0, int64(keys*1000))
					if err != nil {
						t.Fatal(err)
					}
					var got []string
					for it.Next() {
						got = append(got, string(it.Value()))
					}
					if err := it.Close(); err != nil {
						t.Fatal(err)
					}
					want := []string{fmt.Sprintf("v%d-%d", k, puts-1)}
					if dups {
						want = want[:0]
						for round := 0; round < puts; round++ {
							want = append(want, fmt.Sprintf("v%d-%d", k, round))
						}
					}
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("%s: fetch %s = %v, want %v", step, key, got, want)
					}
					one, err := s.FetchOne(key, int64(k*1000))
					if err != nil || string(one) != want[0] { // the first of the duplicates, or the one value
						t.Fatalf("%s: fetch one %s = %q, %v; want %q", step, key, one, err, want[0])
					}
					if absent, err := s.FetchOne([]byte("absent"), int64(k*1000)); err != nil || absent != nil {
						t.Fatalf("%s: fetch one of an absent key = %q, %v", step, absent, err)
					}
				}
			}
			check("buffered")
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			check("flushed")
		})
	}
}
