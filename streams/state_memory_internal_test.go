package streams

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/rivulet-io/rivulet/statestore/badgerstore"
)

// stateMemoryApp is an App (not started) running a count over topic "in"
// into the persistent store "counts", with an in-memory table beside it,
// and an opener under a temporary directory that records the options each
// store opens with.
func stateMemoryApp(t *testing.T, props Properties) (*App, *dirOpener, map[string]badgerstore.Options) {
	t.Helper()
	b := NewBuilder()
	s := StringSerde()
	NewStream(b, "in", ConsumedWith(s, s)).GroupByKey().Count(MaterializedAs[string, int64]("counts"))
	NewTable(b, "mt", ConsumedWith(s, s), MaterializedAs[string, string]("mem").WithStoreType(InMemoryStore))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	all := Properties{PropApplicationID: "memapp", PropBootstrapServers: "127.0.0.1:1"}
	for k, v := range props {
		all[k] = v
	}
	seen := map[string]badgerstore.Options{}
	a, err := New(topo, all, WithBadgerConfigSetter(func(name string, o *badgerstore.Options) { seen[name] = *o }))
	if err != nil {
		t.Fatal(err)
	}
	op, err := newDirOpener(t.TempDir(), "memapp", a.cfg.Logger)
	if err != nil {
		t.Fatal(err)
	}
	a.configureOpener(op)
	return a, op, seen
}

// TestStateMemoryBudgetDividedOverAssignedStores: the budget is divided
// over the persistent stores of the tasks assigned (active and standby, all
// threads; in-memory stores do not count), and each store opens with
// options whose peak memory fits its share.
func TestStateMemoryBudgetDividedOverAssignedStores(t *testing.T) {
	a, op, seen := stateMemoryApp(t, Properties{PropStateMemoryMaxBytes: "268435456"})
	a.expectAssignment(0, map[string][]int32{"in": {0, 1}, "mt": {0, 1}}, []TaskID{{Subtopology: 0, Partition: 2}})
	a.expectAssignment(1, map[string][]int32{"in": {3}}, nil)
	if got := a.stateMemory.stores(); got != 4 {
		t.Fatalf("expected stores = %d, want 4 (three active and one standby count task; the table is in memory)", got)
	}
	sub, ok := a.subtopologyOf("in")
	if !ok {
		t.Fatal("no sub-topology reads in")
	}
	st, _, err := op.OpenKeyValue(TaskID{Subtopology: sub, Partition: 0}, "counts", true, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, ok := seen["counts"]
	if !ok {
		t.Fatal("the Badger config setter did not see the store's options")
	}
	want, err := badgerstore.OptionsForBudget(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if got.BudgetedMemory() > 64<<20 || got.MemoryBound() != want.MemoryBound() || got.BaseTableSize != want.BaseTableSize {
		t.Errorf("store opened with budgeted %d, bound %d, tables %d; want the options of a 64 MiB share (budgeted %d, bound %d, tables %d)",
			got.BudgetedMemory(), got.MemoryBound(), got.BaseTableSize, want.BudgetedMemory(), want.MemoryBound(), want.BaseTableSize)
	}
	// A thread that stops gives its share back.
	a.stateMemory.expect(1, 0)
	if got := a.stateMemory.stores(); got != 3 {
		t.Errorf("expected stores after a thread stopped = %d, want 3", got)
	}
}

// TestDefaultStateMemoryBudget: an application that sets no budget divides
// DefaultStateMemoryMaxBytes over its stores (32 MiB each over 4).
func TestDefaultStateMemoryBudget(t *testing.T) {
	a, op, seen := stateMemoryApp(t, nil)
	openCountsOfFourPartitions(t, a, op)
	want, err := badgerstore.OptionsForBudget(DefaultStateMemoryMaxBytes / 4)
	if err != nil {
		t.Fatal(err)
	}
	got := seen["counts"]
	if got.BudgetedMemory() > DefaultStateMemoryMaxBytes/4 || got.MemoryBound() != want.MemoryBound() || got.Compression != want.Compression {
		t.Errorf("store opened with budgeted %d, bound %d, %v; want the options of a 32 MiB share (budgeted %d, bound %d, %v)",
			got.BudgetedMemory(), got.MemoryBound(), got.Compression, want.BudgetedMemory(), want.MemoryBound(), want.Compression)
	}
}

// TestStateMemoryBudgetTooSmall: a budget below one store's minimum is
// refused by New with an error naming the setting; more stores than the
// budget holds open at the minimum, with a warning naming the setting.
func TestStateMemoryBudgetTooSmall(t *testing.T) {
	b := NewBuilder()
	s := StringSerde()
	NewStream(b, "in", ConsumedWith(s, s)).GroupByKey().Count(MaterializedAs[string, int64]("counts"))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(topo, Properties{PropApplicationID: "memapp", PropBootstrapServers: "127.0.0.1:1", PropStateMemoryMaxBytes: "1048576"})
	if err == nil || !strings.Contains(err.Error(), PropStateMemoryMaxBytes) || !strings.Contains(err.Error(), "below the minimum") {
		t.Fatalf("New with a 1 MiB budget: err = %v, want one naming %s and the minimum", err, PropStateMemoryMaxBytes)
	}

	a, op, seen := stateMemoryApp(t, Properties{PropStateMemoryMaxBytes: "104857600"})
	var logs strings.Builder
	op.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	parts := make([]int32, 16)
	for i := range parts {
		parts[i] = int32(i)
	}
	a.expectAssignment(0, map[string][]int32{"in": parts}, nil)
	sub, _ := a.subtopologyOf("in")
	st, _, err := op.OpenKeyValue(TaskID{Subtopology: sub, Partition: 0}, "counts", true, false)
	if err != nil {
		t.Fatalf("a store over the budget did not open: %v", err)
	}
	defer st.Close()
	if got := seen["counts"].BudgetedMemory(); got > badgerstore.MinStoreBudget {
		t.Errorf("store over the budget opened with peak %d, want at most the minimum %d", got, badgerstore.MinStoreBudget)
	}
	for _, want := range []string{PropStateMemoryMaxBytes, "16 persistent stores", "below the minimum"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log %q does not say %q", logs.String(), want)
		}
	}
}

// TestStateMemoryBudgetProperty: the budget is DefaultStateMemoryMaxBytes
// when not set, set by the property, switched off at 0, and refused when it
// is not a number or negative.
func TestStateMemoryBudgetProperty(t *testing.T) {
	c, err := parseConfig(Properties{PropApplicationID: "a", PropBootstrapServers: "b:1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.StateMemoryMaxBytes != 128<<20 || DefaultStateMemoryMaxBytes != 128<<20 {
		t.Errorf("default budget = %d (DefaultStateMemoryMaxBytes %d), want 128 MiB", c.StateMemoryMaxBytes, DefaultStateMemoryMaxBytes)
	}
	if m := newStateMemory(c.StateMemoryMaxBytes); m == nil || m.budget != 128<<20 {
		t.Errorf("default budget divider = %+v, want one of 128 MiB", m)
	}
	c, err = parseConfig(Properties{PropApplicationID: "a", PropBootstrapServers: "b:1", PropStateMemoryMaxBytes: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if c.StateMemoryMaxBytes != 0 || newStateMemory(c.StateMemoryMaxBytes) != nil {
		t.Errorf("budget 0 = %d, want none", c.StateMemoryMaxBytes)
	}
	if _, err := parseConfig(Properties{PropApplicationID: "a", PropBootstrapServers: "b:1", PropStateMemoryMaxBytes: "-1"}); err == nil || !strings.Contains(err.Error(), PropStateMemoryMaxBytes) {
		t.Errorf("a negative budget: err = %v, want one naming %s", err, PropStateMemoryMaxBytes)
	}
	c, err = parseConfig(Properties{PropApplicationID: "a", PropBootstrapServers: "b:1", PropStateMemoryMaxBytes: "201326592"})
	if err != nil || c.StateMemoryMaxBytes != 192<<20 {
		t.Fatalf("budget from the property = %v, %v; want 192 MiB", c, err)
	}
	if _, err := parseConfig(Properties{PropApplicationID: "a", PropBootstrapServers: "b:1", PropStateMemoryMaxBytes: "lots"}); err == nil || !strings.Contains(err.Error(), PropStateMemoryMaxBytes) {
		t.Errorf("a budget that is not a number: err = %v, want one naming %s", err, PropStateMemoryMaxBytes)
	}
}

// TestNoStateMemoryBudgetOpensDefaults: with the budget switched off (0)
// every store opens with badgerstore's default options, whatever the
// assignment.
func TestNoStateMemoryBudgetOpensDefaults(t *testing.T) {
	a, op, seen := stateMemoryApp(t, Properties{PropStateMemoryMaxBytes: "0"})
	openCountsOfFourPartitions(t, a, op)
	var want badgerstore.Options
	want.EnsureDefaults()
	got := seen["counts"]
	if got.MemoryBound() != want.MemoryBound() || got.BaseTableSize != want.BaseTableSize || got.Compression != want.Compression {
		t.Errorf("store opened with bound %d, tables %d, %v; want the defaults (%d, %d, %v)",
			got.MemoryBound(), got.BaseTableSize, got.Compression, want.MemoryBound(), want.BaseTableSize, want.Compression)
	}
}

// TestRecommendedMemoryLimit: the limit is the state budget (the default
// one when not set) plus the record cache plus the clients' allowance, and
// needs a budget.
func TestRecommendedMemoryLimit(t *testing.T) {
	props := Properties{PropApplicationID: "a", PropBootstrapServers: "b:1", PropStateMemoryMaxBytes: "201326592", PropCacheMaxBytes: "8388608"}
	got, err := RecommendedMemoryLimit(props)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(192<<20 + 8<<20 + memoryLimitOverhead); got != want {
		t.Errorf("limit = %d, want %d", got, want)
	}
	got, err = RecommendedMemoryLimit(Properties{PropApplicationID: "a", PropBootstrapServers: "b:1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(128<<20 + 10<<20 + memoryLimitOverhead); got != want || got != 330<<20 {
		t.Errorf("limit with the defaults = %d, want %d (330 MiB)", got, want)
	}
	if _, err := RecommendedMemoryLimit(Properties{PropApplicationID: "a", PropBootstrapServers: "b:1", PropStateMemoryMaxBytes: "0"}); err == nil || !strings.Contains(err.Error(), PropStateMemoryMaxBytes) {
		t.Errorf("limit without a budget: err = %v, want one naming %s", err, PropStateMemoryMaxBytes)
	}
}

// openCountsOfFourPartitions assigns a's thread 0 the four partitions of
// "in" and opens the count store of partition 0 through op (closed when the
// test ends).
func openCountsOfFourPartitions(t *testing.T, a *App, op *dirOpener) {
	t.Helper()
	a.expectAssignment(0, map[string][]int32{"in": {0, 1, 2, 3}}, nil)
	sub, _ := a.subtopologyOf("in")
	st, _, err := op.OpenKeyValue(TaskID{Subtopology: sub, Partition: 0}, "counts", true, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
}
