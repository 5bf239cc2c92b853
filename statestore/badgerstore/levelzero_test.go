package badgerstore

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
)

// TestLevelZeroHoldsSixtyFourMiBOfMemtables: whatever the memtables' size (the defaults,
// OptionsForMemory, a state memory budget's small ones), Badger is configured to compact
// level 0 once it holds 64 MiB of memtables (at least NumMemtables tables and 2), and to
// stall writes at three times that many tables.
func TestLevelZeroHoldsSixtyFourMiBOfMemtables(t *testing.T) {
	cases := sizedOptions(t, 512<<20, MinStoreBudget, 16<<20, 32<<20, 128<<20)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for name, o := range cases {
		bo := badgerOptions("", o, log) // builds options only: no directory is opened
		tables := int64(bo.NumLevelZeroTables)
		least := int64(max(o.NumMemtables, 2))
		held := tables * o.MemTableSize
		switch {
		case tables < least:
			t.Errorf("%s: level 0 compacts at %d tables, fewer than %d", name, tables, least)
		case held < 64<<20:
			t.Errorf("%s: level 0 compacts after %d tables of %d bytes = %s, want 64 MiB", name, tables, o.MemTableSize, fmtMiB(held))
		case tables > least && held >= 64<<20+o.MemTableSize:
			t.Errorf("%s: level 0 compacts after %d tables of %d bytes = %s, more than one memtable over 64 MiB", name, tables, o.MemTableSize, fmtMiB(held))
		}
		if bo.NumLevelZeroTablesStall != 3*bo.NumLevelZeroTables {
			t.Errorf("%s: writes stall at %d level-0 tables, want 3 x %d", name, bo.NumLevelZeroTablesStall, bo.NumLevelZeroTables)
		}
	}
}

func fmtMiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// TestMemoryBoundIsWhatBadgerUses checks that every byte MemoryBound counts goes to a buffer
// or cache Badger and the store use: the memtables, the block cache and the write buffer.
// Badger's index cache serves only encrypted tables (stores are not encrypted: tables'
// indexes and bloom filters are read in place from their memory maps), so the options
// leave it off rather than budget memory that nothing would hold.
func TestMemoryBoundIsWhatBadgerUses(t *testing.T) {
	cases := sizedOptions(t, 64<<20, MinStoreBudget, 32<<20)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for name, o := range cases {
		bo := badgerOptions("", o, log)
		if bo.IndexCacheSize != 0 || len(bo.EncryptionKey) != 0 {
			t.Errorf("%s: Badger index cache %d bytes, encryption key %d bytes; want neither", name, bo.IndexCacheSize, len(bo.EncryptionKey))
		}
		if bo.BlockCacheSize != o.BlockCacheSize || bo.MemTableSize != o.MemTableSize || bo.NumMemtables != o.NumMemtables {
			t.Errorf("%s: Badger got block cache %d, memtables %d x %d; options say %d, %d x %d", name,
				bo.BlockCacheSize, bo.NumMemtables, bo.MemTableSize, o.BlockCacheSize, o.NumMemtables, o.MemTableSize)
		}
		used := int64(bo.NumMemtables)*bo.MemTableSize + bo.BlockCacheSize + o.WriteBufferSize
		if used != o.MemoryBound() {
			t.Errorf("%s: memtables, block cache and write buffer hold %s; MemoryBound says %s", name, fmtMiB(used), fmtMiB(o.MemoryBound()))
		}
	}
	if def := cases["defaults"]; def.MemoryBound() != 32<<20 {
		t.Errorf("default MemoryBound %s, want the documented 32 MiB", fmtMiB(def.MemoryBound()))
	}
}

// sizedOptions returns the store options the tests check, by name: the defaults,
// OptionsForMemory(memory) and OptionsForBudget of each share.
func sizedOptions(t *testing.T, memory int64, shares ...int64) map[string]Options {
	t.Helper()
	var def Options
	def.EnsureDefaults()
	cases := map[string]Options{"defaults": def, "OptionsForMemory(" + fmtMiB(memory) + ")": OptionsForMemory(memory)}
	for _, share := range shares {
		o, err := OptionsForBudget(share)
		if err != nil {
			t.Fatal(err)
		}
		cases["OptionsForBudget("+fmtMiB(share)+")"] = o
	}
	return cases
}
