package streams

import (
	"strconv"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/memstore"
)

// BenchmarkStoreHandle: a Put and a Get through a key-value store handle
// over an in-memory store, as a processor makes them at INFO (the store
// itself) and at DEBUG (the metered layer around it).
func BenchmarkStoreHandle(b *testing.B) {
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
	}
	for _, level := range []string{"info", "debug"} {
		b.Run(level, func(b *testing.B) {
			var kv KeyValueStore[string, int64] = &kvStore[string, int64]{name: "s", raw: memstore.NewKeyValueStore("s", statestore.KeyValueOptions{}),
				keySerde: StringSerde(), valueSerde: Int64Serde(), ckpt: -1}
			if level == "debug" {
				kv = &meteredKV[string, int64]{KeyValueStore: kv, m: newStoreMeter(samplingOf(0, 0))}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				k := keys[i%len(keys)]
				if err := kv.Put(k, int64(i)); err != nil {
					b.Fatal(err)
				}
				if _, _, err := kv.Get(k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
