package storetest

import (
	"fmt"
	"os"
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
