package badgerstore_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/badgerstore"
)

// TestRestoreMatchesChangelog restores a changelog with overwrites and tombstones spread
// over several sorted runs (the memory bound is small), into an empty store (the bulk
// path) and into a store that already holds data (the write-batch path), and checks both
// against the changelog's last value per key, before and after a reopen.
func TestRestoreMatchesChangelog(t *testing.T) {
	const keys, records = 3000, 40_000
	r := rand.New(rand.NewPCG(7, 8))
	var log []statestore.ChangelogRecord
	model := map[string]string{}
	for i := range records {
		k := fmt.Sprintf("key-%05d", r.IntN(keys))
		rec := statestore.ChangelogRecord{Key: []byte(k), Offset: int64(i)}
		if r.IntN(10) == 0 {
			delete(model, k)
		} else {
			v := fmt.Sprintf("value-%d-%040d", i, i)
			rec.Value = []byte(v)
			model[k] = v
		}
		log = append(log, rec)
	}
	for _, prefilled := range []bool{false, true} {
		t.Run(fmt.Sprint("prefilled=", prefilled), func(t *testing.T) {
			dir := t.TempDir()
			s := openKV(t, dir, "s", testOptions())
			want := model
			if prefilled {
				// A key the changelog never mentions stays.
				if err := s.Put([]byte("zz-existing"), []byte("kept")); err != nil {
					t.Fatal(err)
				}
				want = map[string]string{"zz-existing": "kept"}
				for k, v := range model {
					want[k] = v
				}
			}
			rs := statestore.NewRestorer(s, statestore.RestoreOptions{EndOffset: records})
			for i := 0; i < len(log); i += 1000 {
				if err := rs.Apply(log[i:min(i+1000, len(log))]); err != nil {
					t.Fatal(err)
				}
			}
			if !prefilled {
				runs, _ := filepath.Glob(filepath.Join(dir, badgerstore.RestoreTmpDirName, "run-*"))
				if len(runs) < 2 {
					t.Fatalf("%d sorted runs on disk: the test no longer crosses runs", len(runs))
				}
			}
			if _, err := rs.Finish(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, badgerstore.RestoreTmpDirName)); !os.IsNotExist(err) {
				t.Fatalf("restore left its runs behind: %v", err)
			}
			check := func(s statestore.KeyValueStore) {
				t.Helper()
				it, err := s.All()
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for it.Next() {
					if want[string(it.Key())] != string(it.Value()) {
						t.Fatalf("%s = %q, want %q", it.Key(), it.Value(), want[string(it.Key())])
					}
					n++
				}
				if err := it.Close(); err != nil {
					t.Fatal(err)
				}
				if n != len(want) {
					t.Fatalf("%d keys after restore, want %d", n, len(want))
				}
			}
			check(s)
			// The store takes normal writes after a bulk restore.
			if err := s.Put([]byte("after"), []byte("restore")); err != nil {
				t.Fatal(err)
			}
			want["after"] = "restore"
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openKV(t, dir, "s", testOptions())
			defer s.Close()
			check(s)
			delete(want, "after")
		})
	}
}

// TestLargePutAllGoesAroundTheBuffer checks the direct path of big batches: values still
// in the write buffer must not shadow what the batch writes.
func TestLargePutAllGoesAroundTheBuffer(t *testing.T) {
	o := testOptions()
	o.WriteBufferSize = 1 << 20 // keep the single puts in the buffer
	s := openKV(t, t.TempDir(), "s", o)
	defer s.Close()
	for i := range 100 {
		if err := s.Put(fmt.Appendf(nil, "k%04d", i), []byte("buffered")); err != nil {
			t.Fatal(err)
		}
	}
	batch := make([]statestore.KeyValue, 0, 2000)
	for i := range 2000 {
		kv := statestore.KeyValue{Key: fmt.Appendf(nil, "k%04d", i), Value: []byte("batched")}
		if i%10 == 0 {
			kv.Value = nil
		}
		batch = append(batch, kv)
	}
	if err := s.PutAll(batch); err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		v, err := s.Get(fmt.Appendf(nil, "k%04d", i))
		want := "batched"
		if i%10 == 0 {
			want = ""
		}
		if err != nil || string(v) != want || (want == "") != (v == nil) {
			t.Fatalf("k%04d = %q, %v; want %q", i, v, err, want)
		}
	}
	if n, _ := s.ApproximateNumEntries(); n != 1800 {
		t.Fatalf("%d entries, want 1800", n)
	}
}
