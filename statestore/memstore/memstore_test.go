package memstore_test

import (
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

// The suite again, with every store behind a small record cache, so that entries are
// evicted and flushed while it runs.
func TestCaching(t *testing.T) {
	h := storetest.WithCache(harness(), statestore.NewRecordCache(4<<10))
	t.Run("KeyValue", func(t *testing.T) { storetest.RunKeyValue(t, h) })
	t.Run("Window", func(t *testing.T) { storetest.RunWindow(t, h) })
	t.Run("Session", func(t *testing.T) { storetest.RunSession(t, h) })
}
