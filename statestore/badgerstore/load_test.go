package badgerstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
)

// A child process of TestKill9DuringRestoreFromScratch stops at a stage of the load and
// waits to be killed.
func init() {
	if stage := os.Getenv("BADGERSTORE_CRASH_AT"); stage != "" {
		loadFault = func(at string) error {
			if at == stage {
				fmt.Println("ready")
				time.Sleep(time.Hour)
			}
			return nil
		}
	}
}

func loadTestOptions() Options {
	return Options{
		MemTableSize:       1 << 20,
		BlockCacheSize:     1 << 20,
		BaseTableSize:      64 << 10, // many small tables
		ValueLogGCInterval: -1,
		NoSyncOnFlush:      true,
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// refSorted is the sort the bulk loader must agree with: by key, stably, last record
// of each key kept.
func refSorted(recs []statestore.KeyValue) []statestore.KeyValue {
	s := slices.Clone(recs)
	slices.SortStableFunc(s, func(a, b statestore.KeyValue) int { return bytes.Compare(a.Key, b.Key) })
	var out []statestore.KeyValue
	for i, r := range s {
		if i+1 < len(s) && bytes.Equal(s[i+1].Key, r.Key) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// checkSorted runs recs through a run buffer's sort and compares with refSorted. b (nil:
// a new one) keeps its sort's work space from earlier calls, as a loader does across runs.
func checkSorted(t *testing.T, b *bulkLoader, recs []statestore.KeyValue) {
	t.Helper()
	if b == nil {
		b = &bulkLoader{limit: 1 << 20}
	}
	b.cur = &runBuf{}
	if err := b.add(recs); err != nil {
		t.Fatal(err)
	}
	if len(b.runs) > 0 {
		t.Fatal("the records did not fit one run")
	}
	got := b.sorted(b.cur)
	want := refSorted(recs)
	if len(got) != len(want) {
		t.Fatalf("%d records sorted, want %d", len(got), len(want))
	}
	for i, r := range got {
		k, v := b.cur.key(r)[1:], b.cur.value(r) // without the data prefix
		if !bytes.Equal(k, want[i].Key) || !bytes.Equal(v, want[i].Value) || (v == nil) != (want[i].Value == nil) {
			t.Fatalf("record %d: %q=%q, want %q=%q", i, k, v, want[i].Key, want[i].Value)
		}
	}
}

// TestRunSort checks the radix sort of a run against a comparison sort, on keys shaped
// to reach every branch: a long shared prefix (as window keys' segment), keys equal on
// the 8 sorted bytes and differing after them, prefixes of each other, zero bytes, the
// empty key, duplicates (the last wins) and tombstones.
func TestRunSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := &bulkLoader{limit: 1 << 20}
	for round := range 200 {
		n := 300 - round // shrinking: the work space is reused, never regrown
		prefix := bytes.Repeat([]byte{byte(round)}, r.IntN(12))
		var recs []statestore.KeyValue
		for i := range n {
			k := append([]byte(nil), prefix...)
			if round%3 == 0 { // keys differing in one byte only: an odd number of radix passes
				k = append(k, byte(r.IntN(256)), 'x')
				recs = append(recs, statestore.KeyValue{Key: k, Value: fmt.Appendf(nil, "v%d", i)})
				continue
			}
			switch r.IntN(4) {
			case 0: // short, from a small alphabet: many duplicates and prefixes
				for range r.IntN(4) {
					k = append(k, byte(r.IntN(3)))
				}
			case 1: // equal on the sorted bytes, differing after them
				k = append(k, "same8byt"...)
				k = append(k, byte(r.IntN(4)), byte(r.IntN(256)))
			default:
				for range r.IntN(20) {
					k = append(k, byte(r.IntN(256)))
				}
			}
			var v []byte
			if r.IntN(5) > 0 {
				v = fmt.Appendf(nil, "v%d", i)
			}
			recs = append(recs, statestore.KeyValue{Key: k, Value: v})
		}
		checkSorted(t, b, recs)
	}
}

// FuzzRunSort splits the input into records (a 0xff byte ends a key; the record's index
// is its value) and checks the run sort against a comparison sort.
func FuzzRunSort(f *testing.F) {
	f.Add([]byte("b\xffa\xffb\xff\xffab\xff"))
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x00\x01\xff\x00\x00\x00\x00\x00\x00\x00\x00\xff"))
	f.Add([]byte("segment1keyA\xffsegment1keyB\xffsegment2\xffsegment1keyA\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			t.Skip("long inputs only make longer keys") // and would not fit one run
		}
		var recs []statestore.KeyValue
		for i, k := range bytes.Split(data, []byte{0xff}) {
			var v []byte
			if i%3 != 2 {
				v = fmt.Appendf(nil, "%d", i)
			}
			recs = append(recs, statestore.KeyValue{Key: k, Value: v})
		}
		checkSorted(t, nil, recs)
	})
}

func engineOf(t *testing.T, s *KeyValueStore) *engine {
	t.Helper()
	e, ok := s.Engine().(*engine)
	if !ok {
		t.Fatalf("engine is a %T", s.Engine())
	}
	return e
}

// restoreAll restores recs into s in batches of 1000 and finishes.
func restoreAll(t *testing.T, s statestore.Restorable, recs []statestore.ChangelogRecord) {
	t.Helper()
	rs := statestore.NewRestorer(s, statestore.RestoreOptions{})
	for i := 0; i < len(recs); i += 1000 {
		if err := rs.Apply(recs[i:min(i+1000, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rs.Finish(); err != nil {
		t.Fatal(err)
	}
}

// changelog returns n records over keys keys, with overwrites and tombstones, and the
// model they leave.
func changelog(n, keys int, seed uint64) ([]statestore.ChangelogRecord, map[string]string) {
	r := rand.New(rand.NewPCG(seed, 1))
	model := map[string]string{}
	var recs []statestore.ChangelogRecord
	for i := range n {
		k := fmt.Sprintf("key-%06d", r.IntN(keys))
		rec := statestore.ChangelogRecord{Key: []byte(k), Offset: int64(i)}
		if r.IntN(8) == 0 {
			delete(model, k)
		} else {
			v := fmt.Sprintf("v%d", i)
			rec.Value = []byte(v)
			model[k] = v
		}
		recs = append(recs, rec)
	}
	return recs, model
}

func checkModel(t *testing.T, s statestore.KeyValueStore, model map[string]string) {
	t.Helper()
	it, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for it.Next() {
		if want, ok := model[string(it.Key())]; !ok || want != string(it.Value()) {
			t.Fatalf("%s = %q, want %q (present %v)", it.Key(), it.Value(), want, ok)
		}
		n++
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if n != len(model) {
		t.Fatalf("%d keys, want %d", n, len(model))
	}
	for k, v := range model {
		got, err := s.Get([]byte(k))
		if err != nil || string(got) != v {
			t.Fatalf("Get(%s) = %q, %v; want %q", k, got, err, v)
		}
	}
}

// TestDirectLoad restores enough records to take the table-building path, in one run
// and over several, and checks that Badger opens what was built: every key reads back,
// later writes win over restored values (their versions are higher), a compaction of
// the whole tree keeps everything, and it all survives a reopen.
func TestDirectLoad(t *testing.T) {
	for _, tc := range []struct {
		name        string
		memTable    int64
		wantRuns    bool
		compression Compression
	}{{"one run", 8 << 20, false, CompressionNone}, {"several runs", 1 << 20, true, CompressionNone},
		{"compressed tables", 1 << 20, true, CompressionZSTD}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := loadTestOptions()
			o.MemTableSize = tc.memTable
			o.Compression = tc.compression
			s, err := OpenKeyValueStore(dir, "s", o, statestore.KeyValueOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { s.Close() }()
			recs, model := changelog(30_000, 12_000, 1)
			rs := statestore.NewRestorer(s, statestore.RestoreOptions{})
			for i := 0; i < len(recs); i += 1000 {
				if err := rs.Apply(recs[i:min(i+1000, len(recs))]); err != nil {
					t.Fatal(err)
				}
			}
			e := engineOf(t, s)
			if runs := len(e.bulk.runs); (runs > 0) != tc.wantRuns {
				t.Fatalf("%d runs spilled", runs)
			}
			if _, err := rs.Finish(); err != nil {
				t.Fatal(err)
			}
			tables := e.db.Tables()
			if len(tables) < 2 {
				t.Fatalf("%d tables: the load did not build tables", len(tables))
			}
			for _, ti := range tables {
				if ti.Level != e.bopts.MaxLevels-1 {
					t.Fatalf("table %d at level %d, want the last level", ti.ID, ti.Level)
				}
			}
			checkModel(t, s, model)
			// Writes after the restore: an overwrite, a delete, a new key.
			var some string
			for k := range model {
				some = k
				break
			}
			var gone string
			for k := range model {
				if k != some {
					gone = k
					break
				}
			}
			model[some] = "after"
			delete(model, gone)
			model["new"] = "key"
			must(t, s.Put([]byte(some), []byte("after")))
			if _, err := s.Delete([]byte(gone)); err != nil {
				t.Fatal(err)
			}
			must(t, s.Put([]byte("new"), []byte("key")))
			must(t, s.Flush())
			checkModel(t, s, model)
			// Compact everything (memtable included) into the last level.
			must(t, e.db.Flatten(1))
			checkModel(t, s, model)
			must(t, s.Close())
			s, err = OpenKeyValueStore(dir, "s", o, statestore.KeyValueOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkModel(t, s, model)
			if _, err := os.Stat(filepath.Join(dir, RestoreTmpDirName)); !os.IsNotExist(err) {
				t.Fatalf("runs left behind: %v", err)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDirectLoadOverDeletedData restores into a store that holds no live key but whose
// Badger still has tables (of keys deleted since): they must go first, or their
// tombstones would hide restored keys.
func TestDirectLoadOverDeletedData(t *testing.T) {
	dir := t.TempDir()
	o := loadTestOptions()
	s, err := OpenKeyValueStore(dir, "s", o, statestore.KeyValueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recs, model := changelog(20_000, 8_000, 2)
	for k := range model {
		must(t, s.Put([]byte(k), []byte("old")))
	}
	must(t, s.Flush())
	for k := range model {
		if _, err := s.Delete([]byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	must(t, s.Flush())
	must(t, s.Close())
	s, err = OpenKeyValueStore(dir, "s", o, statestore.KeyValueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := engineOf(t, s)
	if !e.fresh || len(e.db.Tables()) == 0 {
		t.Fatalf("setup: fresh %v, %d tables", e.fresh, len(e.db.Tables()))
	}
	restoreAll(t, s, recs)
	checkModel(t, s, model)
}

// TestDirectLoadFailure makes each step of the table-building path fail and checks the
// store comes back empty and usable (it held nothing before), and that a restore after
// that works.
func TestDirectLoadFailure(t *testing.T) {
	for _, stage := range []string{"tables", "manifest", "open"} {
		t.Run(stage, func(t *testing.T) {
			dir := t.TempDir()
			o := loadTestOptions()
			s, err := OpenKeyValueStore(dir, "s", o, statestore.KeyValueOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			injected := errors.New("injected")
			loadFault = func(at string) error {
				if at == stage {
					return injected
				}
				return nil
			}
			defer func() { loadFault = nil }()
			recs, model := changelog(10_000, 5_000, 3)
			rs := statestore.NewRestorer(s, statestore.RestoreOptions{})
			if err := rs.Apply(recs); err != nil {
				t.Fatal(err)
			}
			if _, err := rs.Finish(); !errors.Is(err, injected) {
				t.Fatalf("Finish = %v, want the injected error", err)
			}
			checkModel(t, s, map[string]string{})
			if ssts, _ := filepath.Glob(filepath.Join(dir, DataDirName, "*.sst")); len(ssts) > 0 {
				t.Fatalf("tables left behind: %v", ssts)
			}
			loadFault = nil
			restoreAll(t, s, recs)
			checkModel(t, s, model)
		})
	}
}

// TestDirectLoadWindowStore restores a window store (keys sharing their segment prefix)
// through the table-building path and reads it back.
func TestDirectLoadWindowStore(t *testing.T) {
	dir := t.TempDir()
	ws, err := OpenWindowStore(dir, "w", loadTestOptions(), statestore.WindowOptions{Retention: 1000 * time.Hour, SegmentInterval: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	r := rand.New(rand.NewPCG(5, 6))
	type win struct {
		k     string
		start int64
	}
	model := map[win]string{}
	var recs []statestore.ChangelogRecord
	for i := range 12_000 {
		w := win{fmt.Sprintf("k%03d", r.IntN(300)), int64(r.IntN(40)) << 18}
		v := fmt.Sprint(i)
		model[w] = v
		recs = append(recs, statestore.ChangelogRecord{Key: statestore.AppendWindowKey(nil, []byte(w.k), w.start, 0), Value: []byte(v), Offset: int64(i)})
	}
	restoreAll(t, ws, recs)
	n := 0
	it, err := ws.All()
	if err != nil {
		t.Fatal(err)
	}
	for it.Next() {
		w := win{string(it.Key()), it.Start()}
		if model[w] != string(it.Value()) {
			t.Fatalf("%+v = %q, want %q", w, it.Value(), model[w])
		}
		n++
	}
	must(t, it.Close())
	if n != len(model) {
		t.Fatalf("%d windows, want %d", n, len(model))
	}
	for w, v := range model {
		got, err := ws.FetchOne([]byte(w.k), w.start)
		if err != nil || string(got) != v {
			t.Fatalf("FetchOne(%+v) = %q, %v; want %q", w, got, err, v)
		}
	}
}
