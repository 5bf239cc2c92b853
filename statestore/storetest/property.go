package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
)

// opener returns a function that opens a store with open in a fresh directory of the
// test, closed when the test ends.
func opener[O any, S statestore.Store](open func(t testing.TB, dir string, opts O) S) func(t *testing.T, opts O) S {
	return func(t *testing.T, opts O) S {
		s := open(t, t.TempDir(), opts)
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// runSeeds runs run once per seed of h, as subtests named prefix + "seed=N".
func runSeeds(t *testing.T, h Harness, prefix string, run func(t *testing.T, seed uint64)) {
	for _, seed := range h.seeds(t) {
		t.Run(fmt.Sprint(prefix, "seed=", seed), func(t *testing.T) { run(t, seed) })
	}
}

// propertyRun is one seeded run of random operations against a store of kind S opened
// with options O, checked against a model the caller keeps.
type propertyRun[O any, S statestore.Store] struct {
	t    *testing.T
	h    Harness
	seed uint64
	r    *rand.Rand
	dir  string
	opts O
	open func(t testing.TB, dir string, opts O) S
	s    S // the store under test; reopen replaces it
}

// newPropertyRun opens the store in a fresh directory; stream picks the random stream of
// the kind of store, so kinds draw differently from one seed. The store is closed when the
// test ends.
func newPropertyRun[O any, S statestore.Store](t *testing.T, h Harness, seed, stream uint64, opts O, open func(t testing.TB, dir string, opts O) S) *propertyRun[O, S] {
	p := &propertyRun[O, S]{t: t, h: h, seed: seed, r: rand.New(rand.NewPCG(seed, seed^stream)), dir: t.TempDir(), opts: opts, open: open}
	p.s = open(t, p.dir, opts)
	t.Cleanup(func() { p.s.Close() })
	return p
}

// fail ends the run at step with a message that says how to replay it.
func (p *propertyRun[O, S]) fail(step int, format string, args ...any) {
	p.t.Helper()
	p.t.Fatalf("seed %d (replay with STORETEST_SEED=%d), step %d: %s", p.seed, p.seed, step, fmt.Sprintf(format, args...))
}

// flush flushes the store.
func (p *propertyRun[O, S]) flush(step int) {
	p.t.Helper()
	if err := p.s.Flush(); err != nil {
		p.fail(step, "Flush: %v", err)
	}
}

// reopen closes and reopens a persistent store (reporting whether it did).
func (p *propertyRun[O, S]) reopen(step int) bool {
	p.t.Helper()
	if !p.h.Persistent {
		return false
	}
	if err := p.s.Close(); err != nil {
		p.fail(step, "Close: %v", err)
	}
	p.s = p.open(p.t, p.dir, p.opts)
	return true
}

// minLive is the smallest unexpired time of a store with the given retention that has
// observed the stream time observed (-1: none yet).
func minLive(observed, retention int64) int64 {
	if observed < 0 {
		return 0
	}
	return max(observed-retention+1, 0)
}

// keyMatches says whether a read of keyFrom alone (single) or of keyFrom..keyTo (nil: no
// bound) covers key.
func keyMatches(key string, keyFrom, keyTo []byte, single bool) bool {
	if single {
		return key == string(keyFrom)
	}
	return (keyFrom == nil || key >= string(keyFrom)) && (keyTo == nil || key <= string(keyTo))
}

// modelEntries returns the entries of a windowed model that keep accepts, in the order
// less gives (reversed when reverse).
func modelEntries[K comparable](model map[K]string, keep func(K) bool, less func(a, b K) bool, entry func(K, string) Entry, reverse bool) []Entry {
	var ks []K
	for k := range model {
		if keep(k) {
			ks = append(ks, k)
		}
	}
	sort.Slice(ks, func(i, j int) bool { return less(ks[i], ks[j]) })
	if reverse {
		slices.Reverse(ks)
	}
	out := []Entry{}
	for _, k := range ks {
		out = append(out, entry(k, model[k]))
	}
	return out
}

// readWindowed drains the read forward or, when reverse, the backward one.
func readWindowed(t testing.TB, reverse bool, forward, backward func() (statestore.WindowedIterator, error)) []Entry {
	t.Helper()
	if reverse {
		return drainW(t)(backward())
	}
	return drainW(t)(forward())
}
