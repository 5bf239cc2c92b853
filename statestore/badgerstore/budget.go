package badgerstore

import (
	"fmt"

	"github.com/rivulet-io/rivulet/statestore"
)

// MinStoreBudget is the smallest per-store figure OptionsForBudget accepts: the
// BudgetedMemory of the smallest options it builds (2 MiB of buffers and caches, 1 MiB
// memtables, the 4 MiB key filter), about 12 MiB.
var MinStoreBudget = budgetOptions(minBudgetMemory).BudgetedMemory()

// minBudgetMemory is the smallest MemoryBound OptionsForBudget builds.
const minBudgetMemory = 2 << 20

// BudgetedMemory is the part of PeakMemory that a store's options size: MemoryBound,
// FilterBound, and the working memory of its memtables and write buffer. What it leaves
// out is the compactions' table builders, which depend on BaseTableSize and the number of
// compactors, not on the buffers (see WorkingMemory: up to 56 MiB per store with 1 MiB
// tables; a heap profile of a count over 5M keys on 4 stores found about 42 MiB per store
// in the allocators of Badger's table builders, in use or kept in its pool).
func (o Options) BudgetedMemory() int64 {
	return o.PeakMemory() - o.compactionMemory()
}

// OptionsForBudget returns Options whose BudgetedMemory (buffers, caches, the key filter
// and the working memory of memtables and write buffer) is at most share bytes, one
// store's share of a state memory budget; the compactions' buffers come on top (see
// BudgetedMemory). Tables keep the default size (1 MiB: 128 KiB tables doubled a count's
// system CPU time, with many more files and syncs) and are compressed with Snappy (CompressionSnappy): Badger reads tables through memory maps, so
// the pages of a store's tables count in the process's RSS, and Snappy makes them smaller
// for little CPU (ZSTD makes them smaller still, at about 20% of a count's CPU). The
// buffers and caches are divided as OptionsForMemory does (with memtables of at least 1
// MiB). A share below MinStoreBudget is refused with statestore.ErrInvalidOptions.
func OptionsForBudget(share int64) (Options, error) {
	if share < MinStoreBudget {
		return Options{}, fmt.Errorf("%w: badgerstore: store memory budget %d bytes is below the minimum of %d bytes (%d MiB)",
			statestore.ErrInvalidOptions, share, MinStoreBudget, (MinStoreBudget+(1<<20)-1)>>20)
	}
	// BudgetedMemory is about 2.4 × MemoryBound (plus the filter's floor): start there and
	// step down until the integer sizes fit.
	m := max(share*10/24, minBudgetMemory)
	o := budgetOptions(m)
	for o.BudgetedMemory() > share && m > minBudgetMemory {
		m -= max(m/64, 64<<10)
		o = budgetOptions(m)
	}
	if o.BudgetedMemory() > share {
		o = budgetOptions(minBudgetMemory)
	}
	return o, nil
}

// budgetOptions divides memory as OptionsForMemory does, without its 8 MiB floor
// (memtables of at least 1 MiB), with Snappy-compressed tables.
func budgetOptions(memory int64) Options {
	o := divideMemory(max(memory, minBudgetMemory))
	o.Compression = CompressionSnappy
	o.EnsureDefaults()
	return o
}
