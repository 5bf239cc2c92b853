package statestore_test

// Benchmarks of the record cache on the access patterns of the runtime. They use only the
// public API, so the same file runs against an older build of the package for a
// before/after comparison (benchmarks/RESULTS.md, "State stores"):
//
//	go test -run '^$' -bench Cache -benchtime 2000000x ./statestore/

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
)

// zipfWords returns n keys drawn from a vocabulary of vocab words with Zipf frequencies
// (s = 1.1, as the word-count benchmark's text), as the count processor sees them.
func zipfWords(n, vocab int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	z := rand.NewZipf(r, 1.1, 1, uint64(vocab-1))
	words := make([][]byte, vocab)
	for i := range words {
		words[i] = fmt.Appendf(nil, "w%06x", uint32(i)*2654435761)
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = words[z.Uint64()]
	}
	return out
}

// BenchmarkCache runs the word count's read-modify-write on one namespace (Get the count,
// Put it back incremented, Flush every flushEvery operations with a listener that reads
// every entry), with every key fitting the cache (wordcount) and with a vocabulary larger
// than the cache (evicting: clean and dirty evictions, flushes on dirty evictions); Range
// mixes writes with range reads of ~1/256 of the keys (the windowed caching stores' pattern).
func BenchmarkCache(b *testing.B) {
	const flushEvery = 100_000
	listener := func(entries []statestore.DirtyEntry) error {
		n := 0
		for _, e := range entries {
			n += len(e.Key) + len(e.Value)
		}
		if n < 0 {
			return fmt.Errorf("impossible")
		}
		return nil
	}
	rmw := func(b *testing.B, vocab int, maxBytes int64) {
		words := zipfWords(1<<20, vocab)
		c := statestore.NewRecordCache(maxBytes)
		ns, err := c.Namespace("0_0-counts", listener)
		if err != nil {
			b.Fatal(err)
		}
		ctx := statestore.RecordContext{Topic: "wordcount-input", Partition: 0}
		var val [16]byte
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			k := words[i&(len(words)-1)]
			var n uint64
			if l := ns.Get(k); l.Found && !l.Deleted {
				n = binary.BigEndian.Uint64(l.Value)
			}
			binary.BigEndian.PutUint64(val[:8], n+1)
			binary.BigEndian.PutUint64(val[8:], uint64(i))
			ctx.Offset, ctx.Timestamp = int64(i), int64(i)
			if err := ns.Put(k, val[:], ctx); err != nil {
				b.Fatal(err)
			}
			if i%flushEvery == flushEvery-1 {
				if err := ns.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := ns.Flush(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		hits, misses := ns.HitRatio()
		b.ReportMetric(float64(hits)/float64(hits+misses), "hit-ratio")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	}
	b.Run("wordcount", func(b *testing.B) { rmw(b, 50_000, statestore.DefaultCacheMaxBytes) })
	b.Run("evicting", func(b *testing.B) { rmw(b, 500_000, 2<<20) })
	b.Run("footprint", func(b *testing.B) {
		// Heap per entry beyond its key (8 bytes) and value (16 bytes), with nothing
		// evicted; compare with the overhead the bound counts (96 bytes).
		c := statestore.NewRecordCache(1 << 40)
		ns, err := c.Namespace("0_0-counts", nil)
		if err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.ResetTimer()
		var k [8]byte
		var v [16]byte
		for i := range b.N {
			binary.BigEndian.PutUint64(k[:], uint64(i)*0x9e3779b97f4a7c15)
			if err := ns.Put(k[:], v[:], statestore.RecordContext{}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N)-24, "overhead-B/entry")
		b.ReportMetric(float64(c.SizeBytes())/float64(b.N)-24, "counted-B/entry")
		runtime.KeepAlive(ns)
	})
	b.Run("Range", func(b *testing.B) {
		words := zipfWords(1<<16, 50_000)
		c := statestore.NewRecordCache(statestore.DefaultCacheMaxBytes)
		ns, err := c.Namespace("0_0-windows", listener)
		if err != nil {
			b.Fatal(err)
		}
		for _, w := range words {
			if err := ns.Put(w, w, statestore.RecordContext{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			k := words[i&(len(words)-1)]
			if err := ns.Put(k, k, statestore.RecordContext{}); err != nil {
				b.Fatal(err)
			}
			// The keys sharing k's first two hex digits: ~1/256 of the namespace.
			to := append(k[:3:3], 0xff)
			if got := ns.Range(k[:3], to, false); len(got) == 0 {
				b.Fatal("range: nothing")
			}
			if i%flushEvery == flushEvery-1 {
				if err := ns.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}
