package memstore_test

import (
	"fmt"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/memstore"
	"github.com/rivulet-io/rivulet/statestore/storetest"
)

func harness() storetest.Harness {
	return storetest.Harness{
		OpenKeyValue: func(_, name string, opts statestore.KeyValueOptions) (statestore.KeyValueStore, error) {
			return memstore.NewKeyValueStore(name, opts), nil
		},
		OpenWindow: func(_, name string, opts statestore.WindowOptions) (statestore.WindowStore, error) {
			return memstore.NewWindowStore(name, opts)
		},
		OpenSession: func(_, name string, opts statestore.SessionOptions) (statestore.SessionStore, error) {
			return memstore.NewSessionStore(name, opts)
		},
	}
}

func TestKeyValue(t *testing.T) { storetest.RunKeyValue(t, harness()) }

func TestWindow(t *testing.T) { storetest.RunWindow(t, harness()) }

func TestSession(t *testing.T) { storetest.RunSession(t, harness()) }

// cachingHarness runs the suite against memstore behind a small record cache, so that
// entries are evicted and flushed while the suite runs.
func cachingHarness() storetest.Harness {
	h := harness()
	cache := statestore.NewRecordCache(4 << 10)
	n := 0
	h.OpenKeyValue = func(_, name string, opts statestore.KeyValueOptions) (statestore.KeyValueStore, error) {
		n++
		return statestore.NewCachingKeyValueStore(memstore.NewKeyValueStore(name, opts), cache,
			statestore.CachingOptions{Namespace: fmt.Sprint(name, n)})
	}
	h.Caching = true
	return h
}

func TestCachingKeyValue(t *testing.T) { storetest.RunKeyValue(t, cachingHarness()) }
