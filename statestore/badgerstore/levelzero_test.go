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
	var def Options
	def.EnsureDefaults()
	cases := map[string]Options{"defaults": def, "OptionsForMemory(512 MiB)": OptionsForMemory(512 << 20)}
	for _, share := range []int64{MinStoreBudget, 16 << 20, 32 << 20, 128 << 20} {
		o, err := OptionsForBudget(share)
		if err != nil {
			t.Fatal(err)
		}
		cases["OptionsForBudget("+fmtMiB(share)+")"] = o
	}
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
