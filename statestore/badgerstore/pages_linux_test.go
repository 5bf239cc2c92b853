package badgerstore

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestParseMapping(t *testing.T) {
	for _, tc := range []struct {
		line string
		want mapping
		ok   bool
	}{
		{"7f0000001000-7f0000101000 rw-s 00000000 fd:01 1234                       /var/state/app/0_1/counts/badger/000042.sst",
			mapping{0x7f0000001000, 0x7f0000101000, "/var/state/app/0_1/counts/badger/000042.sst"}, true},
		{"7f0000001000-7f0000002000 r--s 00000000 fd:01 0 /tmp/a dir/with  spaces/000001.sst",
			mapping{0x7f0000001000, 0x7f0000002000, "/tmp/a dir/with  spaces/000001.sst"}, true},
		{"7f0000001000-7f0000101000 rw-p 00000000 fd:01 1234 /var/state/000042.sst", mapping{}, false}, // private
		{"7f0000001000-7f0000101000 rw-p 00000000 00:00 0", mapping{}, false},                          // anonymous
		{"7f0000001000-7f0000101000 rw-s 00000000 00:00 0 ", mapping{}, false},
		{"7f0000101000-7f0000001000 rw-s 00000000 fd:01 1 /x/000001.sst", mapping{}, false}, // end before start
		{"zz-7f0000101000 rw-s 00000000 fd:01 1 /x/000001.sst", mapping{}, false},
		{"7f0000001000 rw-s 00000000 fd:01 1 /x/000001.sst", mapping{}, false},
		{"", mapping{}, false},
	} {
		got, ok := parseMapping(tc.line)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseMapping(%q) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParseMapping: any line parses without a panic, and a parsed mapping is a shared
// file mapping with a non-empty range.
func FuzzParseMapping(f *testing.F) {
	f.Add("7f0000001000-7f0000101000 rw-s 00000000 fd:01 1234 /var/state/badger/000042.sst")
	f.Add("7f0000001000-7f0000101000 rw-p 00000000 00:00 0")
	f.Add("1-2 r--s 0 0 0  /a b")
	f.Fuzz(func(t *testing.T, line string) {
		m, ok := parseMapping(line)
		if !ok {
			return
		}
		if m.end <= m.start || m.path == "" || m.path[0] == ' ' {
			t.Fatalf("parseMapping(%q) = %+v", line, m)
		}
	})
}

// tableRSS is the resident size of this process's mappings of the tables in dir, from
// /proc/self/smaps.
func tableRSS(t *testing.T, dir string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rss int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") { // a mapping's header line, not one of its figures
			m, ok := parseMapping(line)
			in = ok && filepath.Dir(m.path) == dir && strings.HasSuffix(m.path, ".sst")
			continue
		}
		if in && fields[0] == "Rss:" && len(fields) >= 2 {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			rss += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rss
}

// TestDroppedTablePagesLeaveTheRSSAndKeepTheData: after a pass, the pages of a store's
// tables are out of the process's RSS, and every key reads back as written, before and
// after more writes and Badger's compactions, while passes run all along.
func TestDroppedTablePagesLeaveTheRSSAndKeepTheData(t *testing.T) {
	opts := loadTestOptions()
	opts.KeepTablePages = true // only this test's dropper touches the store
	eng, _, err := openEngine(t.TempDir(), "kv", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	const n = 40_000
	writeTables(t, eng, 0, n)
	waitTables(t, eng, 4)
	eng.reads.invalidate()
	checkKeys(t, eng, n) // reads map the tables' pages
	before := tableRSS(t, eng.dataDir)
	if before < 1<<20 {
		t.Fatalf("the tables hold %d bytes of RSS before the pass, want at least 1 MiB", before)
	}

	d := newPageDropper(readMappings, dropMapping)
	d.engines[eng] = struct{}{}
	if dropped := d.pass(); dropped == 0 {
		t.Fatal("the pass dropped nothing")
	}
	after := tableRSS(t, eng.dataDir)
	if after > before/10 {
		t.Fatalf("the tables hold %d bytes of RSS after the pass, %d before", after, before)
	}
	t.Logf("RSS of the tables: %d KiB before the pass, %d KiB after", before>>10, after>>10)
	eng.reads.invalidate()
	checkKeys(t, eng, n)

	// Passes run while the store is written over and compacted, and read.
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			d.pass()
		}
	}()
	for round := 1; round <= 3; round++ {
		writeTables(t, eng, 0, n) // the same keys again: compactions merge them
		writeTables(t, eng, n+(round-1)*n/4, n/4)
		checkKeys(t, eng, n)
	}
	stop.Store(true)
	wg.Wait()
	eng.reads.invalidate()
	checkKeys(t, eng, n+3*n/4)
}
