package statestore_test

import (
	"fmt"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/memstore"
)

// A caching store folds the updates of a commit interval: the store, its changelog (the
// ChangeLogger) and downstream (OnFlush) each see one update per key.
func ExampleNewCachingKeyValueStore() {
	inner := memstore.NewKeyValueStore("counts", statestore.KeyValueOptions{
		ChangeLogger: func(key, value []byte) error {
			fmt.Printf("changelog: %s=%s\n", key, value)
			return nil
		},
	})
	cache := statestore.NewRecordCache(statestore.DefaultCacheMaxBytes)
	offset := int64(0)
	counts, _ := statestore.NewCachingKeyValueStore(inner, cache, statestore.CachingOptions{
		Namespace: "0_0-counts",
		Context:   func() statestore.RecordContext { return statestore.RecordContext{Offset: offset} },
		OnFlush: func(entries []statestore.CachedEntry) error {
			for _, e := range entries {
				fmt.Printf("forward: %s=%s (from offset %d)\n", e.Key, e.NewValue, e.Context.Offset)
			}
			return nil
		},
	})
	defer counts.Close()
	for i, word := range []string{"kafka", "go", "kafka", "kafka"} {
		offset = int64(i)
		n := byte('0')
		if v, _ := counts.Get([]byte(word)); v != nil {
			n = v[0]
		}
		_ = counts.Put([]byte(word), []byte{n + 1})
	}
	_ = counts.Flush() // on commit
	// Output:
	// changelog: go=1
	// changelog: kafka=3
	// forward: go=1 (from offset 1)
	// forward: kafka=3 (from offset 3)
}
