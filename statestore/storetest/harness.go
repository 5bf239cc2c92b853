package storetest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
)

// Harness opens the stores of one implementation. dir is a directory the test owns (a
// persistent implementation keeps its data there; opening the same dir again must
// reopen the same data). Reopen-based checks run only when Persistent is set.
type Harness struct {
	// OpenKeyValue opens (or reopens) a key-value store.
	OpenKeyValue func(dir, name string, opts statestore.KeyValueOptions) (statestore.KeyValueStore, error)
	// OpenWindow opens (or reopens) a window store. Invalid options must fail with
	// statestore.ErrInvalidOptions.
	OpenWindow func(dir, name string, opts statestore.WindowOptions) (statestore.WindowStore, error)
	// OpenSession opens (or reopens) a session store. Invalid options must fail with
	// statestore.ErrInvalidOptions.
	OpenSession func(dir, name string, opts statestore.SessionOptions) (statestore.SessionStore, error)
	// Persistent says the stores keep their data across Close and reopen.
	Persistent bool
	// Caching says the stores are behind a record cache: writes reach the change logger
	// folded, on Flush, instead of one by one.
	Caching bool
	// PropertyOps is the number of random operations per property run. The default
	// value is 2000.
	PropertyOps int
	// PropertySeeds is the number of seeds each property test runs. The default value is 4.
	PropertySeeds int

	// uncachedDups is set by WithCache: window stores with duplicates are not wrapped, so
	// their property runs would repeat the uncached suite's.
	uncachedDups bool
}

func (h Harness) ops() int {
	if h.PropertyOps > 0 {
		return h.PropertyOps
	}
	return 2000
}

func (h Harness) seeds(t *testing.T) []uint64 {
	if s := os.Getenv("STORETEST_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("STORETEST_SEED=%q: %v", s, err)
		}
		return []uint64{seed}
	}
	n := h.PropertySeeds
	if n <= 0 {
		n = 4
	}
	base := uint64(1)
	if testing.Short() {
		n = 1
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = base + uint64(i)*7919
	}
	return out
}

func mustNoErr(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// drainKV reads an iterator to the end, copying every entry.
func drainKV(t testing.TB) func(statestore.KeyValueIterator, error) []statestore.KeyValue {
	return func(it statestore.KeyValueIterator, err error) []statestore.KeyValue {
		t.Helper()
		return drainKVIt(t, it, err)
	}
}

func drainKVIt(t testing.TB, it statestore.KeyValueIterator, err error) []statestore.KeyValue {
	t.Helper()
	mustNoErr(t, err, "open iterator")
	var out []statestore.KeyValue
	for it.Next() {
		out = append(out, statestore.KeyValue{Key: clone(it.Key()), Value: clone(it.Value())})
	}
	mustNoErr(t, it.Err(), "iterator")
	mustNoErr(t, it.Close(), "close iterator")
	return out
}

// Entry is one windowed entry read from a window or session store.
type Entry struct {
	Key        string
	Start, End int64
	Value      string
}

func drainW(t testing.TB) func(statestore.WindowedIterator, error) []Entry {
	return func(it statestore.WindowedIterator, err error) []Entry {
		t.Helper()
		return drainWIt(t, it, err)
	}
}

func drainWIt(t testing.TB, it statestore.WindowedIterator, err error) []Entry {
	t.Helper()
	mustNoErr(t, err, "open iterator")
	var out []Entry
	for it.Next() {
		if it.Value() == nil {
			t.Fatalf("iterator returned a nil value for %q", it.Key())
		}
		out = append(out, Entry{Key: string(it.Key()), Start: it.Start(), End: it.End(), Value: string(it.Value())})
	}
	mustNoErr(t, it.Err(), "iterator")
	mustNoErr(t, it.Close(), "close iterator")
	return out
}

// changelog collects what a store sends to its changelog, as the records
// a restore reads back (offsets counting from 0).
type changelog []statestore.ChangelogRecord

func (c *changelog) record(k, v []byte) error {
	*c = append(*c, statestore.ChangelogRecord{Key: clone(k), Value: clone(v), Offset: int64(len(*c))})
	return nil
}

// restoreInto applies the records to s with a new Restorer, which it
// returns to be finished or not.
func (c changelog) restoreInto(t *testing.T, s statestore.Restorable) *statestore.Restorer {
	t.Helper()
	r := statestore.NewRestorer(s, statestore.RestoreOptions{})
	mustNoErr(t, r.Apply(c), "restore")
	return r
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func (h Harness) kv(t testing.TB, dir string, opts statestore.KeyValueOptions) statestore.KeyValueStore {
	t.Helper()
	s, err := h.OpenKeyValue(dir, "kv", opts)
	mustNoErr(t, err, "open key-value store")
	return s
}

func (h Harness) window(t testing.TB, dir string, opts statestore.WindowOptions) statestore.WindowStore {
	t.Helper()
	s, err := h.OpenWindow(dir, "win", opts)
	mustNoErr(t, err, "open window store")
	return s
}

func (h Harness) session(t testing.TB, dir string, opts statestore.SessionOptions) statestore.SessionStore {
	t.Helper()
	s, err := h.OpenSession(dir, "sess", opts)
	mustNoErr(t, err, "open session store")
	return s
}

// WithCache returns h with every store put behind a namespace of cache (window stores
// that retain duplicates stay uncached, as the runtime leaves them), so the suite checks
// the caching stores over h's implementation. A small cache makes the suite evict and
// flush often.
func WithCache(h Harness, cache *statestore.RecordCache) Harness {
	var mu sync.Mutex
	n := 0
	namespace := func(name string) string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("%s-%d", name, n)
	}
	openKV, openW, openS := h.OpenKeyValue, h.OpenWindow, h.OpenSession
	h.OpenKeyValue = func(dir, name string, opts statestore.KeyValueOptions) (statestore.KeyValueStore, error) {
		inner, err := openKV(dir, name, opts)
		if err != nil {
			return nil, err
		}
		return statestore.NewCachingKeyValueStore(inner, cache, statestore.CachingOptions{Namespace: namespace(name)})
	}
	h.OpenWindow = func(dir, name string, opts statestore.WindowOptions) (statestore.WindowStore, error) {
		inner, err := openW(dir, name, opts)
		if err != nil || opts.RetainDuplicates {
			return inner, err
		}
		return statestore.NewCachingWindowStore(inner, cache, statestore.CachingWindowedOptions{Namespace: namespace(name)})
	}
	h.OpenSession = func(dir, name string, opts statestore.SessionOptions) (statestore.SessionStore, error) {
		inner, err := openS(dir, name, opts)
		if err != nil {
			return nil, err
		}
		return statestore.NewCachingSessionStore(inner, cache, statestore.CachingWindowedOptions{Namespace: namespace(name)})
	}
	h.Caching = true
	h.uncachedDups = true
	return h
}

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
