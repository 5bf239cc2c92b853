package badgerstore_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/badgerstore"
	"github.com/rivulet-io/rivulet/statestore/storetest"
)

// testOptions keeps instances small and quiet; the write buffer is tiny so that tests
// cross the buffer/Badger boundary often.
func testOptions() badgerstore.Options {
	return badgerstore.Options{
		MemTableSize:       1 << 20,
		BlockCacheSize:     1 << 20,
		WriteBufferSize:    512,
		ValueLogGCInterval: -1,
		NoSyncOnFlush:      true,
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func harness() storetest.Harness {
	return storetest.Harness{
		OpenKeyValue: func(dir, name string, opts statestore.KeyValueOptions) (statestore.KeyValueStore, error) {
			s, err := badgerstore.OpenKeyValueStore(dir, name, testOptions(), opts)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		OpenWindow: func(dir, name string, opts statestore.WindowOptions) (statestore.WindowStore, error) {
			s, err := badgerstore.OpenWindowStore(dir, name, testOptions(), opts)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		OpenSession: func(dir, name string, opts statestore.SessionOptions) (statestore.SessionStore, error) {
			s, err := badgerstore.OpenSessionStore(dir, name, testOptions(), opts)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		Persistent:    true,
		PropertyOps:   800,
		PropertySeeds: 2,
	}
}

func TestKeyValue(t *testing.T) { storetest.RunKeyValue(t, harness()) }
func TestWindow(t *testing.T)   { storetest.RunWindow(t, harness()) }
func TestSession(t *testing.T)  { storetest.RunSession(t, harness()) }

// The suite again, with every store behind a small record cache.
func TestCaching(t *testing.T) {
	h := storetest.WithCache(harness(), statestore.NewRecordCache(4<<10))
	h.PropertySeeds = 1
	t.Run("KeyValue", func(t *testing.T) { storetest.RunKeyValue(t, h) })
	t.Run("Window", func(t *testing.T) { storetest.RunWindow(t, h) })
	t.Run("Session", func(t *testing.T) { storetest.RunSession(t, h) })
}

// openKV opens the key-value store in dir, failing the test on error.
func openKV(t testing.TB, dir, name string, opts badgerstore.Options) *badgerstore.KeyValueStore {
	t.Helper()
	s, err := badgerstore.OpenKeyValueStore(dir, name, opts, statestore.KeyValueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
