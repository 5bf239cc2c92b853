package streams

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/rivulet-io/rivulet/statestore/badgerstore"
)

// DefaultStateMemoryMaxBytes is the state memory budget of an instance that
// does not set rivulet.state.memory.max.bytes: 128 MiB for all its
// persistent (Badger) stores. The budget is the counterpart of a Kafka
// Streams RocksDBConfigSetter sharing one block cache and write buffer
// manager over all stores. 0 means no budget: each store opens with
// badgerstore's defaults (about 141 MiB of peak memory per store, see
// badgerstore.Options.PeakMemory), so an instance's state memory grows with
// the number of its stores.
//
// With a budget, each store opens with badgerstore.OptionsForBudget(bytes /
// n), where n is the number of persistent stores of the tasks the instance
// was assigned (active and standby, over all threads) plus its global
// stores, counted when the assignment arrives; a store keeps the size it
// opened with until it is closed. The record cache (statestore.cache.max.bytes)
// is not part of it. A budget below badgerstore.MinStoreBudget (about 12
// MiB, one store) is refused by New; when more stores are assigned than the
// budget holds at that minimum each, they open at the minimum (over the
// budget) with a warning naming this setting. WithBadgerConfigSetter, when
// set, sees the options derived from the budget and may change them.
//
// The budget is live heap; RecommendedMemoryLimit gives the Go soft memory
// limit an application program should set to hold its RSS near it. With
// the default budget and that limit (330 MiB with the default record
// cache), a count over 5M distinct keys on 4 partitions stays under 512 MiB
// of RSS, where stores with badgerstore's defaults took 840-900 MiB; a
// store's share of 128 MiB (32 MiB over 4 stores) keeps the throughput of a
// word count (benchmarks/RESULTS.md).
const DefaultStateMemoryMaxBytes = 128 << 20

// checkStateMemory refuses a budget that cannot hold one store.
func checkStateMemory(budget int64) error {
	if budget != 0 && budget < badgerstore.MinStoreBudget {
		return fmt.Errorf("streams: property %s=%d is below the minimum of one store, %d bytes", PropStateMemoryMaxBytes, budget, badgerstore.MinStoreBudget)
	}
	return nil
}

// memoryLimitOverhead is what an application holds on top of its state
// memory budget and record cache: the stores' compaction buffers (not in
// the budget, see badgerstore.Options.BudgetedMemory), the clients' fetch
// and produce buffers, records in flight between them, goroutine stacks,
// and room for the collector to work.
const memoryLimitOverhead = 192 << 20

// RecommendedMemoryLimit returns the Go soft memory limit (GOMEMLIMIT,
// runtime/debug.SetMemoryLimit) for a program running one application with
// props and opts: its state memory budget (rivulet.state.memory.max.bytes,
// DefaultStateMemoryMaxBytes when not set) plus its record cache
// (statestore.cache.max.bytes) plus 192 MiB for the stores' compactions, the
// clients' buffers and records in flight: 330 MiB with the defaults. It
// refuses an application without a budget (the property set to 0). A
// library does not set the process's limit; the program does, as a Kafka
// Streams deployment sizes the JVM's -Xmx:
//
//	limit, err := streams.RecommendedMemoryLimit(props)
//	if err != nil { ... }
//	debug.SetMemoryLimit(limit)
//
// Without a limit Go lets the heap grow to about twice its live size between
// collections (GOGC=100): a count over 5M distinct keys peaked at 800-850
// MiB of RSS with the default budget and no limit, under 450 MiB with it.
// With the limit the collector runs earlier as the heap nears it, trading
// CPU for memory. The limit does not cover the file-backed pages of Badger's
// memory-mapped tables that the stores touched lately, which also count in
// RSS (docs/statestore.md, "Memory"); nor does it leave room for other large
// heaps of the same process, which a program adds to it.
func RecommendedMemoryLimit(props Properties, opts ...Option) (int64, error) {
	c, err := parseConfig(props, opts...)
	if err != nil {
		return 0, err
	}
	if c.StateMemoryMaxBytes == 0 {
		return 0, errors.New("streams: RecommendedMemoryLimit: property " + PropStateMemoryMaxBytes + " is 0 (no state memory budget)")
	}
	return c.StateMemoryMaxBytes + c.CacheMaxBytes + memoryLimitOverhead, nil
}

// stateMemory divides the state memory budget over the persistent stores
// the instance expects to hold: each stream thread reports the count of
// its assignment (its active and standby tasks' stores), the global thread
// that of the global stores.
type stateMemory struct {
	budget int64
	mu     sync.Mutex
	// expected is the number of persistent stores by owner: a stream
	// thread's id, or -1 for the global stores.
	expected map[int]int
	// warned is the store count last warned about (warnOver).
	warned int
}

// newStateMemory returns the divider of budget, nil when budget is 0 (no
// budget).
func newStateMemory(budget int64) *stateMemory {
	if budget <= 0 {
		return nil
	}
	return &stateMemory{budget: budget, expected: map[int]int{}}
}

// globalOwner is the owner key of the global stores.
const globalOwner = -1

// expect records that owner expects to hold n persistent stores (0 when it
// holds none, or stops).
func (m *stateMemory) expect(owner, n int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if n <= 0 {
		delete(m.expected, owner)
		return
	}
	m.expected[owner] = n
}

// stores is the number of persistent stores the instance expects, at least 1.
func (m *stateMemory) stores() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.expected {
		n += c
	}
	return max(n, 1)
}

// options returns the Badger options of one store: the budget's share,
// with base's logger and flags. A share below badgerstore.MinStoreBudget
// (more stores than the budget can hold) opens the store at that minimum,
// over the budget, with a warning saying so.
func (m *stateMemory) options(base badgerstore.Options) badgerstore.Options {
	n := m.stores()
	share := m.budget / int64(n)
	if share < badgerstore.MinStoreBudget {
		m.warnOver(base.Logger, n, share)
		share = badgerstore.MinStoreBudget
	}
	o, err := badgerstore.OptionsForBudget(share)
	if err != nil {
		// Unreachable: share is at least MinStoreBudget.
		o = badgerstore.Options{}
		o.EnsureDefaults()
	}
	o.Logger = base.Logger
	o.NoSyncOnFlush = base.NoSyncOnFlush
	o.WipeUnclean = base.WipeUnclean
	return o
}

// warnOver logs, once per store count, that n stores do not fit the budget.
func (m *stateMemory) warnOver(logger *slog.Logger, n int, share int64) {
	m.mu.Lock()
	warned := m.warned == n
	m.warned = n
	m.mu.Unlock()
	if warned || logger == nil {
		return
	}
	logger.Warn(fmt.Sprintf("streams: %s=%d over %d persistent stores leaves %d bytes per store, below the minimum of %d bytes: stores open at the minimum, over the budget; raise it or run fewer tasks per instance",
		PropStateMemoryMaxBytes, m.budget, n, share, badgerstore.MinStoreBudget), "stores", n)
}

// persistentStores is the number of persistent stores a task of
// sub-topology sub opens (stores of other types count too when their
// factory does not say; over-counting only makes shares smaller).
func (t *Topology) persistentStores(sub int) int {
	for _, s := range t.subs {
		if s.ID != sub {
			continue
		}
		n := 0
		for _, name := range s.Stores {
			if f, ok := t.stores[name].(interface{ inMemory() bool }); ok && f.inMemory() {
				continue
			}
			n++
		}
		return n
	}
	return 0
}

// globalPersistentStores is the number of persistent global stores.
func (t *Topology) globalPersistentStores() int {
	n := 0
	for _, s := range t.subs {
		if s.Global {
			n += t.persistentStores(s.ID)
		}
	}
	return n
}

// expectAssignment records the persistent stores of a thread's assignment:
// the tasks of its partitions and its standby tasks.
func (a *App) expectAssignment(thread int, topics map[string][]int32, standbys []TaskID) {
	if a.stateMemory == nil {
		return
	}
	tasks := map[TaskID]bool{}
	for topic, ps := range topics {
		sub, ok := a.subtopologyOf(topic)
		if !ok {
			continue
		}
		for _, p := range ps {
			tasks[TaskID{Subtopology: sub, Partition: p}] = true
		}
	}
	for _, id := range standbys {
		tasks[id] = true
	}
	n := 0
	for id := range tasks {
		n += a.topo.persistentStores(id.Subtopology)
	}
	a.stateMemory.expect(thread, n)
}

func (f *kvFactory[K, V]) inMemory() bool        { return f.storeType == InMemoryStore }
func (f *tsFactory[K, V]) inMemory() bool        { return f.storeType == InMemoryStore }
func (f *versionedFactory[K, V]) inMemory() bool { return f.inner.inMemory() }
func (f *windowFactory[K, V]) inMemory() bool    { return f.storeType == InMemoryStore }
func (f *sessionFactory[K, V]) inMemory() bool   { return f.storeType == InMemoryStore }
