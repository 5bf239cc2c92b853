package badgerstore

// Benchmarks against raw Badger with the same Badger options, in the same run. They use
// fixed-size data sets, so run them with a fixed count, as in benchmarks/RESULTS.md:
//
//	go test -run '^$' -bench . -benchtime 1000000x ./statestore/badgerstore/
//
// Each rivulet sub-benchmark reports vs-raw: raw Badger's time divided by the store's
// for the same work (1.0 = as fast as raw Badger; above 0.8 meets the 20% goal).
// Put and Restore also report the peak anonymous RSS growth and peak Go heap during the
// run, to compare with the store's memory bound.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/rivulet-io/rivulet/statestore"
)

const (
	benchKeyLen   = 16
	benchValueLen = 100
)

func benchKey(dst []byte, i uint64) []byte {
	// Hash-ordered, as real keys arrive: a splitmix64 of i, then i for uniqueness.
	z := i + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	dst = binary.BigEndian.AppendUint64(dst[:0], z)
	return binary.BigEndian.AppendUint64(dst, i)
}

func benchValue(dst []byte, i uint64) []byte {
	dst = dst[:0]
	for len(dst) < benchValueLen {
		dst = binary.BigEndian.AppendUint64(dst, i*0x100000001b3)
	}
	return dst[:benchValueLen]
}

func benchOptions() Options {
	o := Options{
		ValueLogGCInterval: -1,
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if v := os.Getenv("XMEM"); v != "" {
		n, _ := strconv.ParseInt(v, 10, 64)
		o = OptionsForMemory(n << 20)
		o.ValueLogGCInterval = -1
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	o.EnsureDefaults()
	return o
}

func openRaw(b *testing.B, dir string) *badger.DB {
	o := benchOptions()
	db, err := badger.Open(badgerOptions(dir, o, o.Logger))
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// benchRawWriteBatch times raw Badger writing what feed sets through one write batch,
// then syncing; name keys the vs-raw ratio.
func benchRawWriteBatch(b *testing.B, name string, feed func(wb *badger.WriteBatch)) {
	db := openRaw(b, b.TempDir())
	defer db.Close()
	b.SetBytes(benchKeyLen + benchValueLen)
	b.ReportAllocs()
	b.ResetTimer()
	wb := db.NewWriteBatch()
	feed(wb)
	if err := wb.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := db.Sync(); err != nil {
		b.Fatal(err)
	}
	finishRaw(b, name)
}

// openBenchStore opens a key-value store with opts in dir, failing on error.
func openBenchStore(tb testing.TB, dir, name string, opts Options) *KeyValueStore {
	tb.Helper()
	s, err := OpenKeyValueStore(dir, name, opts, statestore.KeyValueOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// rawTimes holds raw Badger's elapsed time per benchmark, for the vs-raw ratio.
var rawTimes sync.Map

// finishRaw stops the timer of a raw Badger benchmark, keeps its time under name for the
// vs-raw ratio and reports records/s.
func finishRaw(b *testing.B, name string) {
	b.StopTimer()
	if b.N > 1 {
		rawTimes.Store(name, b.Elapsed())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func reportVsRaw(b *testing.B, name string) {
	if v, ok := rawTimes.Load(name); ok && b.N > 1 {
		b.ReportMetric(float64(v.(time.Duration))/float64(b.Elapsed()), "vs-raw")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// memSampler tracks, while it runs, the peak anonymous RSS (Go heap with its garbage,
// Badger's arenas and caches, goroutine stacks; not the page cache of Badger's mmapped
// files) and the peak live heap (what the last GC found reachable: the store's real
// footprint, without the garbage Go keeps until its next cycle). The process's CPU time is
// taken too, to report CPU per record, which a loaded machine does not distort.
type memSampler struct {
	stop               chan struct{}
	done               chan struct{}
	baseAnon, baseLive int64
	peakAnon, peakLive int64
	cpu0               time.Duration
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

func rssAnon() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func startMem() *memSampler {
	runtime.GC()
	m := &memSampler{stop: make(chan struct{}), done: make(chan struct{}), baseAnon: rssAnon(), baseLive: liveHeap(), cpu0: cpuTime()}
	go func() {
		defer close(m.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			m.peakAnon = max(m.peakAnon, rssAnon())
			m.peakLive = max(m.peakLive, liveHeap())
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memSampler) report(b *testing.B, o Options) {
	close(m.stop)
	<-m.done
	b.ReportMetric(float64(m.peakAnon-m.baseAnon)/(1<<20), "rss-anon-MiB")
	b.ReportMetric(float64(m.peakLive-m.baseLive)/(1<<20), "live-heap-MiB")
	b.ReportMetric(float64(o.PeakMemory())/(1<<20), "budget-MiB")
	b.ReportMetric(float64(cpuTime()-m.cpu0)/float64(b.N), "cpu-ns/record")
}

func BenchmarkPut(b *testing.B) {
	b.Run("raw-badger-writebatch", func(b *testing.B) {
		benchRawWriteBatch(b, "put", func(wb *badger.WriteBatch) {
			var v []byte
			for i := range uint64(b.N) {
				k := benchKey(make([]byte, 0, benchKeyLen+1), i) // the batch keeps the slices
				v = benchValue(make([]byte, 0, benchValueLen), i)
				if err := wb.Set(k, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("raw-badger-txn-per-put", func(b *testing.B) {
		db := openRaw(b, b.TempDir())
		defer db.Close()
		n := min(b.N, 100_000) // one commit per put is slow: measure a slice of it
		b.SetBytes(benchKeyLen + benchValueLen)
		b.ResetTimer()
		var k, v []byte
		for i := range uint64(n) {
			k, v = benchKey(k, i), benchValue(v, i)
			if err := db.Update(func(txn *badger.Txn) error { return txn.Set(k, v) }); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("rivulet", func(b *testing.B) {
		opts := benchOptions()
		s := openBenchStore(b, b.TempDir(), "bench", opts)
		defer s.Close()
		mem := startMem()
		b.SetBytes(benchKeyLen + benchValueLen)
		b.ReportAllocs()
		b.ResetTimer()
		var k, v []byte
		for i := range uint64(b.N) {
			k, v = benchKey(k, i), benchValue(v, i)
			if err := s.Put(k, v); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		mem.report(b, opts)
		reportVsRaw(b, "put")
	})
}

// fixture is a store and a raw Badger instance, each holding the same n keys.
type fixture struct {
	n     int
	store *KeyValueStore
	raw   *badger.DB
	dir   string
}

var (
	fixtureMu sync.Mutex
	fixtures  = map[int]*fixture{}
)

// rawGet reads k from the raw Badger database, failing b unless it holds
// a benchmark value.
func (f *fixture) rawGet(b *testing.B, k []byte) {
	var v []byte
	err := f.raw.View(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if err != nil || len(v) != benchValueLen {
		b.Fatal(err)
	}
}

// storeGet reads k from the store, failing b unless it holds a benchmark
// value.
func (f *fixture) storeGet(b *testing.B, k []byte) {
	v, err := f.store.Get(k)
	if err != nil || len(v) != benchValueLen {
		b.Fatal(err, len(v))
	}
}

// rawRange reads up to limit entries of the raw Badger database from from
// on, copying each value into v's buffer; it returns how many it read and
// the buffer.
func (f *fixture) rawRange(b *testing.B, from, v []byte, limit int) (int, []byte) {
	got := 0
	err := f.raw.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
		defer it.Close()
		for it.Seek(from); it.Valid() && got < limit; it.Next() {
			var err error
			if v, err = it.Item().ValueCopy(v[:0]); err != nil {
				return err
			}
			got++
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return got, v
}

// storeRange reads up to limit entries of the store from from on, failing
// b unless each holds a benchmark value; it returns how many it read.
func (f *fixture) storeRange(b *testing.B, from []byte, limit int) int {
	it, err := f.store.Range(from, nil)
	if err != nil {
		b.Fatal(err)
	}
	got := 0
	for ; got < limit && it.Next(); got++ {
		if len(it.Value()) != benchValueLen {
			b.Fatal("bad value")
		}
	}
	if err := it.Close(); err != nil {
		b.Fatal(err)
	}
	return got
}

func loadFixture(b *testing.B, n int) *fixture {
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if f, ok := fixtures[n]; ok {
		return f
	}
	dir, err := os.MkdirTemp("", "rivulet-bench-")
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{n: n, dir: dir}
	f.store, err = OpenKeyValueStore(filepath.Join(dir, "store"), "bench", benchOptions(), statestore.KeyValueOptions{})
	if err != nil {
		b.Fatal(err)
	}
	f.raw = openRaw(b, filepath.Join(dir, "raw"))
	wb := f.raw.NewWriteBatch()
	batch := make([]statestore.KeyValue, 0, 10_000)
	for i := range uint64(n) {
		k, v := benchKey(nil, i), benchValue(nil, i)
		if err := wb.Set(k, v); err != nil {
			b.Fatal(err)
		}
		batch = append(batch, statestore.KeyValue{Key: k, Value: v})
		if len(batch) == cap(batch) {
			if err := f.store.PutAll(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := f.store.PutAll(batch); err != nil {
		b.Fatal(err)
	}
	if err := wb.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.store.Flush(); err != nil {
		b.Fatal(err)
	}
	fixtures[n] = f
	return f
}

// CleanupBenchFixtures closes and deletes the benchmark fixtures; TestMain (in the
// external test package) calls it.
func CleanupBenchFixtures() {
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	for n, f := range fixtures {
		f.store.Close()
		f.raw.Close()
		os.RemoveAll(f.dir)
		delete(fixtures, n)
	}
}

const fixtureKeys = 1_000_000

func BenchmarkGet(b *testing.B) {
	f := loadFixture(b, fixtureKeys)
	get := func(fetch func(*testing.B, []byte)) func(*testing.B, *rand.Rand) {
		return func(b *testing.B, r *rand.Rand) {
			var k []byte
			for range b.N {
				k = benchKey(k, r.Uint64N(uint64(f.n)))
				fetch(b, k)
			}
		}
	}
	rawThenStore(b, "get", 1, 2, get(f.rawGet), get(f.storeGet))
}

// BenchmarkRange reads ranges of 100 consecutive keys from random starting points; b.N
// counts entries read.
func BenchmarkRange(b *testing.B) {
	const span = 100
	f := loadFixture(b, fixtureKeys)
	rawThenStore(b, "range", 3, 4, func(b *testing.B, r *rand.Rand) {
		var from, v []byte
		n := 0
		for n < b.N {
			from = benchKey(from, r.Uint64N(uint64(f.n)))
			var got int
			got, v = f.rawRange(b, from, v, min(span, b.N-n))
			n += got
		}
	}, func(b *testing.B, r *rand.Rand) {
		var from []byte
		n := 0
		for n < b.N {
			from = benchKey(from, r.Uint64N(uint64(f.n)))
			n += f.storeRange(b, from, min(span, b.N-n))
		}
	})
}

// rawThenStore runs raw Badger's side, then the store's, as two
// sub-benchmarks drawing the same random sequence (PCG seeds s1, s2); the
// store's reports its time relative to raw Badger's under name.
func rawThenStore(b *testing.B, name string, s1, s2 uint64, raw, store func(*testing.B, *rand.Rand)) {
	b.Run("raw-badger", func(b *testing.B) {
		r := rand.New(rand.NewPCG(s1, s2))
		b.ReportAllocs()
		b.ResetTimer()
		raw(b, r)
		finishRaw(b, name)
	})
	b.Run("rivulet", func(b *testing.B) {
		r := rand.New(rand.NewPCG(s1, s2))
		b.ReportAllocs()
		b.ResetTimer()
		store(b, r)
		b.StopTimer()
		reportVsRaw(b, name)
	})
}

// BenchmarkRestore applies b.N changelog records in fetch-sized batches (made on the fly,
// as a consumer hands them over) to an empty store, then finishes the restore.
func BenchmarkRestore(b *testing.B) {
	const batchSize = 8192
	// batches calls fn with each batch of records; fresh slices every time, as the
	// records of a fetch are.
	batches := func(n int, fn func([]statestore.ChangelogRecord)) {
		batch := make([]statestore.ChangelogRecord, 0, batchSize)
		for i := 0; i < n; i += batchSize {
			batch = batch[:0]
			for j := i; j < min(i+batchSize, n); j++ {
				batch = append(batch, statestore.ChangelogRecord{Key: benchKey(nil, uint64(j)), Value: benchValue(nil, uint64(j)), Offset: int64(j)})
			}
			fn(batch)
		}
	}
	b.Run("raw-badger-writebatch", func(b *testing.B) {
		benchRawWriteBatch(b, "restore", func(wb *badger.WriteBatch) {
			batches(b.N, func(batch []statestore.ChangelogRecord) {
				for _, r := range batch {
					if err := wb.Set(r.Key, r.Value); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	})
	b.Run("rivulet", func(b *testing.B) {
		opts := benchOptions()
		s := openBenchStore(b, b.TempDir(), "bench", opts)
		defer s.Close()
		r := statestore.NewRestorer(s, statestore.RestoreOptions{EndOffset: int64(b.N)})
		mem := startMem()
		b.SetBytes(benchKeyLen + benchValueLen)
		b.ReportAllocs()
		b.ResetTimer()
		batches(b.N, func(batch []statestore.ChangelogRecord) {
			if err := r.Apply(batch); err != nil {
				b.Fatal(err)
			}
		})
		p, err := r.Finish()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		mem.report(b, opts)
		if p.Restored != int64(b.N) || p.Remaining() != 0 {
			b.Fatalf("progress %+v", p)
		}
		// What was restored reads back (a sample of the keys).
		for i := uint64(0); i < uint64(b.N); i += max(uint64(b.N)/1000, 1) {
			if v, err := s.Get(benchKey(nil, i)); err != nil || !bytes.Equal(v, benchValue(nil, i)) {
				b.Fatalf("key %d after restore: %x, %v", i, v, err)
			}
		}
		reportVsRaw(b, "restore")
	})
}

// TestBenchData checks the benchmarks' keys and values on a small store, so the
// benchmarks read what they think they read.
func TestBenchData(t *testing.T) {
	dir := t.TempDir()
	s := openBenchStore(t, dir, "x", benchOptions())
	defer s.Close()
	for i := range uint64(1000) {
		if err := s.Put(benchKey(nil, i), benchValue(nil, i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range uint64(1000) {
		v, err := s.Get(benchKey(nil, i))
		if err != nil || !bytes.Equal(v, benchValue(nil, i)) || len(benchKey(nil, i)) != benchKeyLen {
			t.Fatalf("key %d: %v %x", i, err, v)
		}
	}
}

// BenchmarkReadsInterleaved measures Get and Range on the same 1M-key data for the store
// and for raw Badger in alternating chunks, so that the load of a shared machine, which
// drifts over seconds, weighs on both sides alike. b.N counts operations on each side
// (Get: lookups; Range: entries read in 100-key ranges). It reports the ratio of raw
// Badger's time to the store's (vs-raw) and both sides' records/s.
func BenchmarkReadsInterleaved(b *testing.B) {
	f := loadFixture(b, fixtureKeys)
	const chunks = 20
	get := func(raw bool, r *rand.Rand, n int) {
		var k []byte
		for range n {
			k = benchKey(k, r.Uint64N(uint64(f.n)))
			if raw {
				f.rawGet(b, k)
				continue
			}
			f.storeGet(b, k)
		}
	}
	const span = 100
	rng := func(raw bool, r *rand.Rand, n int) {
		var from, v []byte
		for done := 0; done < n; {
			from = benchKey(from, r.Uint64N(uint64(f.n)))
			if raw {
				var got int
				got, v = f.rawRange(b, from, v, min(span, n-done))
				done += got
				continue
			}
			done += f.storeRange(b, from, min(span, n-done))
		}
	}
	for _, op := range []struct {
		name string
		fn   func(bool, *rand.Rand, int)
	}{{"Get", get}, {"Range", rng}} {
		b.Run(op.name, func(b *testing.B) {
			rRaw, rStore := rand.New(rand.NewPCG(5, 6)), rand.New(rand.NewPCG(5, 6))
			var tRaw, tStore time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for c := range chunks {
				n := b.N/chunks + boolInt(c < b.N%chunks)
				t0 := time.Now()
				op.fn(true, rRaw, n)
				t1 := time.Now()
				op.fn(false, rStore, n)
				tRaw += t1.Sub(t0)
				tStore += time.Since(t1)
			}
			b.StopTimer()
			b.ReportMetric(float64(tRaw)/float64(tStore), "vs-raw")
			b.ReportMetric(float64(b.N)/tStore.Seconds(), "records/s")
			b.ReportMetric(float64(b.N)/tRaw.Seconds(), "raw-records/s")
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BenchmarkPutInterleaved writes b.N keys to the store and b.N to raw Badger (a
// WriteBatch per chunk, its fastest write path) in alternating chunks, for the same
// reason as BenchmarkReadsInterleaved; both end with a flush and an fsync. Put writes one
// key per call (through the write buffer, readable at once); PutAll-1000 writes batches of
// 1000, as a record cache flush does.
func BenchmarkPutInterleaved(b *testing.B) {
	for _, batchSize := range []int{1, 1000} {
		name := "Put"
		if batchSize > 1 {
			name = fmt.Sprintf("PutAll-%d", batchSize)
		}
		b.Run(name, func(b *testing.B) { benchPutInterleaved(b, batchSize) })
	}
}

func benchPutInterleaved(b *testing.B, batchSize int) {
	const chunks = 20
	db := openRaw(b, b.TempDir())
	defer db.Close()
	opts := benchOptions()
	s := openBenchStore(b, b.TempDir(), "bench", opts)
	defer s.Close()
	var tRaw, tStore time.Duration
	b.SetBytes(benchKeyLen + benchValueLen)
	b.ReportAllocs()
	b.ResetTimer()
	next := uint64(0)
	var k, v []byte
	batch := make([]statestore.KeyValue, 0, batchSize)
	for c := range chunks {
		n := uint64(b.N/chunks + boolInt(c < b.N%chunks))
		t0 := time.Now()
		wb := db.NewWriteBatch()
		for i := next; i < next+n; i++ {
			if err := wb.Set(benchKey(make([]byte, 0, benchKeyLen), i), benchValue(make([]byte, 0, benchValueLen), i)); err != nil {
				b.Fatal(err)
			}
		}
		if err := wb.Flush(); err != nil {
			b.Fatal(err)
		}
		if c == chunks-1 {
			if err := db.Sync(); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		for i := next; i < next+n; i++ {
			if batchSize == 1 {
				k, v = benchKey(k, i), benchValue(v, i)
				if err := s.Put(k, v); err != nil {
					b.Fatal(err)
				}
				continue
			}
			batch = append(batch, statestore.KeyValue{Key: benchKey(make([]byte, 0, benchKeyLen), i), Value: benchValue(make([]byte, 0, benchValueLen), i)})
			if len(batch) == batchSize || i == next+n-1 {
				if err := s.PutAll(batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		if c == chunks-1 {
			if err := s.Flush(); err != nil {
				b.Fatal(err)
			}
		}
		tRaw += t1.Sub(t0)
		tStore += time.Since(t1)
		next += n
	}
	b.StopTimer()
	b.ReportMetric(float64(tRaw)/float64(tStore), "vs-raw")
	b.ReportMetric(float64(b.N)/tStore.Seconds(), "records/s")
	b.ReportMetric(float64(b.N)/tRaw.Seconds(), "raw-records/s")
}

// BenchmarkGetNewStore reads a store opened empty, as a count over new keys (user ids)
// reads it: keys it never held (answered by its key filter, without Badger) and keys it
// holds (in its write buffer or in Badger). b.N counts lookups.
func BenchmarkGetNewStore(b *testing.B) {
	const held = 200_000
	s := openBenchStore(b, b.TempDir(), "getnew", Options{})
	defer s.Close()
	v := make([]byte, 8)
	var k []byte
	for i := range uint64(held) {
		k = benchKey(k, 2*i) // even keys held, odd keys never written
		if err := s.Put(k, v); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		odd  uint64
	}{{"absent", 1}, {"held", 0}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			r := rand.New(rand.NewPCG(1, 2))
			for b.Loop() {
				k = benchKey(k, 2*r.Uint64N(held)+c.odd)
				got, err := s.Get(k)
				if err != nil || (got != nil) != (c.odd == 0) {
					b.Fatalf("Get: %v, %d bytes", err, len(got))
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
		})
	}
}

// BenchmarkKeyFilterMiss tests keys never added against a filter holding 1.39M keys
// within a 4 MiB bound (a store's share of a count over 5M new keys on 4 partitions):
// the read of a key a store never held. It reports the parts and the false positives.
func BenchmarkKeyFilterMiss(b *testing.B) {
	f := newKeyFilter(4 << 20)
	const n = 1_390_000
	for i := uint64(0); i < n; i++ {
		f.add(filterKey(i))
	}
	if !f.active() {
		b.Fatal("the filter switched off")
	}
	fp := 0
	i := uint64(n)
	for b.Loop() {
		if f.mayContain(filterKey(i)) {
			fp++
		}
		i++
	}
	b.ReportMetric(100*float64(fp)/float64(b.N), "fp%")
	b.ReportMetric(float64(len(*f.parts.Load())), "parts")
}
