package badgerstore

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
)

// BenchmarkJoinWindowFetch is the work of one side of a stream-stream join: each record
// is put in a duplicate-retaining window store and the other key's windows within 10ms
// are fetched, keys Zipf-distributed over 10,000, records 1ms apart, a flush (commit)
// every 1,000 records; flush-ns/op is the flushes' share. Run with a fixed count:
//
//	go test -run '^$' -bench JoinWindowFetch -benchtime 300000x ./statestore/badgerstore/
//
// With RIVULET_BENCH_NO_SYNC=1 the store skips the fsync of its flushes (NoSyncOnFlush),
// to see what the fsync costs.
func BenchmarkJoinWindowFetch(b *testing.B) {
	st, err := OpenWindowStore(b.TempDir(), "join", Options{NoSyncOnFlush: os.Getenv("RIVULET_BENCH_NO_SYNC") != ""}, statestore.WindowOptions{
		Retention: 20 * time.Millisecond, WindowSize: 20 * time.Millisecond, RetainDuplicates: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	keys := make([][]byte, 10000)
	for i := range keys {
		keys[i] = []byte("key-" + strconv.Itoa(i))
	}
	z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, uint64(len(keys)-1))
	val := make([]byte, 100)
	b.ReportAllocs()
	b.ResetTimer()
	found := 0
	var flushTime time.Duration
	for i := 0; i < b.N; i++ {
		ts := int64(i)
		if err := st.Put(keys[z.Uint64()], val, ts); err != nil {
			b.Fatal(err)
		}
		it, err := st.Fetch(keys[z.Uint64()], ts-10, ts+10)
		if err != nil {
			b.Fatal(err)
		}
		for it.Next() {
			found++
		}
		if err := it.Close(); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			t0 := time.Now()
			if err := st.Flush(); err != nil {
				b.Fatal(err)
			}
			flushTime += time.Since(t0)
		}
	}
	b.ReportMetric(float64(found)/float64(b.N), "matches/op")
	b.ReportMetric(float64(flushTime.Nanoseconds())/float64(b.N), "flush-ns/op")
}
