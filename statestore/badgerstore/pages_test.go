package badgerstore

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
)

// writeTables writes n distinct keys of 100-byte values to eng and flushes them, so
// that Badger writes its memtables out as level-0 tables (1 MiB memtables).
func writeTables(t *testing.T, eng *engine, from, n int) {
	t.Helper()
	batch := make([]statestore.KeyValue, 0, 1000)
	for i := from; i < from+n; i++ {
		batch = append(batch, statestore.KeyValue{Key: pageKey(i), Value: pageValue(i)})
		if len(batch) == cap(batch) {
			if err := eng.Apply(batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := eng.Apply(batch); err != nil {
		t.Fatal(err)
	}
	if err := eng.Flush(); err != nil {
		t.Fatal(err)
	}
}

func pageKey(i int) []byte   { return fmt.Appendf(nil, "key-%08d", i) }
func pageValue(i int) []byte { return fmt.Appendf(nil, "%-100d", i) }

// checkKeys reads keys [0, n) back from eng.
func checkKeys(t *testing.T, eng *engine, n int) {
	t.Helper()
	for i := range n {
		v, err := eng.Get(pageKey(i))
		if err != nil || string(v) != string(pageValue(i)) {
			t.Fatalf("Get(%s) = %q, %v", pageKey(i), v, err)
		}
	}
}

// waitTables waits until Badger lists at least n tables.
func waitTables(t *testing.T, eng *engine, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(eng.db.Tables()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("Badger lists %d tables, want at least %d", len(eng.db.Tables()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPageDropperDropsOnlyTablesItHolds: a pass drops the mappings of the tables in the
// store's levels, and nothing else: not a table file Badger no longer lists (its
// mapping may be gone and its addresses reused), not a file of another directory, not
// another kind of file; the next pass drops them again.
func TestPageDropperDropsOnlyTablesItHolds(t *testing.T) {
	dir := t.TempDir()
	eng, _, err := openEngine(dir, "kv", loadTestOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	writeTables(t, eng, 0, 30_000)
	waitTables(t, eng, 2)

	inLevels := map[uint64]bool{}
	for _, ti := range eng.db.Tables() {
		inLevels[ti.ID] = true
	}
	// Mappings as the system would list them: one per table in the levels, each at its
	// own address, plus files the dropper must leave alone.
	var maps []mapping
	addr := uintptr(1 << 40)
	add := func(path string) uintptr {
		addr += 1 << 20
		maps = append(maps, mapping{start: addr, end: addr + 4096, path: path})
		return addr
	}
	want := map[uintptr]bool{}
	for id := range inLevels {
		want[add(filepath.Join(eng.dataDir, fmt.Sprintf("%06d.sst", id)))] = true
	}
	add(filepath.Join(eng.dataDir, "999999.sst"))                                // not in the levels
	add(filepath.Join(t.TempDir(), fmt.Sprintf("%06d.sst", firstKey(inLevels)))) // another directory
	add(filepath.Join(eng.dataDir, "00001.mem"))                                 // a memtable's log
	add(filepath.Join(eng.dataDir, "MANIFEST"))

	var mu sync.Mutex
	var dropped []uintptr
	d := newPageDropper(func() ([]mapping, error) { return maps, nil }, func(start, end uintptr) error {
		mu.Lock()
		defer mu.Unlock()
		dropped = append(dropped, start)
		return nil
	})
	d.engines[eng] = struct{}{}

	check := func(pass string) {
		t.Helper()
		got := map[uintptr]bool{}
		for _, a := range dropped {
			got[a] = true
		}
		if len(got) != len(want) || len(dropped) != len(want) {
			t.Fatalf("%s: dropped %d mappings (%d distinct), want %d", pass, len(dropped), len(got), len(want))
		}
		for a := range want {
			if !got[a] {
				t.Fatalf("%s: the mapping at %#x was not dropped", pass, a)
			}
		}
		dropped = nil
	}
	if n := d.pass(); n != int64(len(want))*4096 {
		t.Errorf("the pass dropped %d bytes, want %d", n, len(want)*4096)
	}
	check("first pass")
	d.pass() // pages mapped again since are dropped again
	check("second pass")
}

func firstKey(m map[uint64]bool) uint64 {
	for k := range m {
		return k
	}
	return 0
}

// TestPageDropperRegistersOpenStores: an open store is in the process's dropper and its
// goroutine runs; closing the last store takes it out and stops the goroutine. A store
// that keeps its pages is never in it.
func TestPageDropperRegistersOpenStores(t *testing.T) {
	if !pageDropSupported {
		t.Skip("stores keep their tables' pages on this system")
	}
	registered := func(e *engine) bool {
		tablePages.mu.Lock()
		defer tablePages.mu.Unlock()
		_, ok := tablePages.engines[e]
		return ok
	}
	eng, _, err := openEngine(t.TempDir(), "kv", loadTestOptions())
	if err != nil {
		t.Fatal(err)
	}
	opts := loadTestOptions()
	opts.KeepTablePages = true
	keep, _, err := openEngine(t.TempDir(), "kept", opts)
	if err != nil {
		t.Fatal(err)
	}
	if !registered(eng) || registered(keep) {
		t.Fatalf("registered: store %v, store keeping its pages %v; want true, false", registered(eng), registered(keep))
	}
	if err := keep.Close(); err != nil {
		t.Fatal(err)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	if registered(eng) {
		t.Fatal("a closed store is still registered")
	}
	tablePages.mu.Lock()
	running := tablePages.stop != nil
	left := len(tablePages.engines)
	tablePages.mu.Unlock()
	if left == 0 && running {
		t.Fatal("the dropper's goroutine runs with no store open")
	}
}

// TestPageDropperLogsItsFirstFailure: a pass that cannot list the mappings or drop one
// says so once in the store's log, and later passes go on without logging again.
func TestPageDropperLogsItsFirstFailure(t *testing.T) {
	var log bytes.Buffer
	opts := loadTestOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&log, nil))
	eng, _, err := openEngine(t.TempDir(), "kv", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	writeTables(t, eng, 0, 30_000)
	waitTables(t, eng, 1)

	d := newPageDropper(func() ([]mapping, error) { return nil, errors.New("no maps here") },
		func(start, end uintptr) error { return nil })
	d.engines[eng] = struct{}{}
	for range 3 {
		if n := d.pass(); n != 0 {
			t.Fatalf("a pass without mappings dropped %d bytes", n)
		}
	}
	if got := strings.Count(log.String(), "no maps here"); got != 1 {
		t.Fatalf("the failure was logged %d times, want once; log:\n%s", got, log.String())
	}
}
