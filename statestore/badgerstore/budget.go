package badgerstore

import (
	"fmt"

	"github.com/rivulet-io/rivulet/statestore"
)

// MinStoreBudget is the smallest per-store figure OptionsForBudget accepts: the
// PeakMemory of the smallest options it builds (2 MiB of buffers and caches, 1 MiB
// memtables, 64 KiB tables, the 4 MiB key filter), about 19 MiB.
var MinStoreBudget = budgetOptions(minBudgetMemory, 64<<10).PeakMemory()

// minBudgetMemory is the smallest MemoryBound OptionsForBudget builds.
const minBudgetMemory = 2 << 20

// OptionsForBudget returns Options whose PeakMemory (buffers, caches, the key filter and
// Badger's working memory) is at most peak bytes, the share of a state memory budget one
// store may take. Its tables are compressed with ZSTD (CompressionZSTD): Badger reads
// tables through memory maps, so the pages of a store's tables count in the process's RSS,
// and compressed tables are about a third of the size. Tables shrink with the budget
// (the largest power of two up to 1 MiB whose compaction buffers, see WorkingMemory, take
// at most a third of it: 128 KiB at 48 MiB, 256 KiB at 96 MiB, 1 MiB from 448 MiB); the
// rest is divided as OptionsForMemory does (with memtables of at least 1 MiB). A peak below MinStoreBudget is refused with
// statestore.ErrInvalidOptions.
func OptionsForBudget(peak int64) (Options, error) {
	if peak < MinStoreBudget {
		return Options{}, fmt.Errorf("%w: badgerstore: store memory budget %d bytes is below the minimum of %d bytes (%d MiB)",
			statestore.ErrInvalidOptions, peak, MinStoreBudget, (MinStoreBudget+(1<<20)-1)>>20)
	}
	// The largest tables (a power of two from 64 KiB to 1 MiB) whose compaction buffers
	// take at most a third of the budget.
	table := int64(64 << 10)
	for table < 1<<20 && budgetOptions(minBudgetMemory, 2*table).compactionMemory() <= peak/3 {
		table *= 2
	}
	// Start from the largest MemoryBound that could fit (PeakMemory is at least 2.5 ×
	// MemoryBound plus the compactions' buffers) and step down until the integer sizes
	// fit.
	compaction := budgetOptions(minBudgetMemory, table).WorkingMemory()
	m := max((peak-compaction)*100/250, minBudgetMemory)
	o := budgetOptions(m, table)
	for o.PeakMemory() > peak && m > minBudgetMemory {
		m -= max(m/64, 64<<10)
		o = budgetOptions(m, table)
	}
	if o.PeakMemory() > peak {
		o = budgetOptions(minBudgetMemory, 64<<10)
	}
	return o, nil
}

// budgetOptions divides memory as OptionsForMemory does, without its 8 MiB floor
// (memtables of at least 1 MiB), with tables of size table, compressed.
func budgetOptions(memory, table int64) Options {
	memory = max(memory, minBudgetMemory)
	o := Options{
		NumMemtables:    2,
		MemTableSize:    max(memory/4, 1<<20),
		BlockCacheSize:  memory / 4,
		IndexCacheSize:  memory / 8,
		WriteBufferSize: memory / 8,
		BaseTableSize:   table,
		Compression:     CompressionZSTD,
	}
	o.EnsureDefaults()
	return o
}
