package partlog

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Benchmarks compare the log with the plain file operation it is built on,
// measured in the same run; each group ends with a "ratio" sub-benchmark
// that reports log throughput / baseline throughput as the metric "ratio".
// Run them with:
//
//	go test -run '^$' -bench . -benchmem ./brokerlite/partlog/

// benchBatches returns n distinct record batches of about 16 KiB, each
// holding 100-byte records, as a producer sends them.
func benchBatches(b *testing.B, n int) [][]byte {
	b.Helper()
	out := make([][]byte, n)
	value := make([]byte, 100-10) // with the key and record overhead, ~100 bytes a record
	for i := range out {
		var recs []rec
		size := batchHeaderSize
		for j := 0; size < 16<<10-120; j++ {
			for k := range value {
				value[k] = byte(i + j + k)
			}
			r := rec{key: []byte(fmt.Sprintf("%06d", j)), value: append([]byte(nil), value...), ts: 1_700_000_000_000}
			recs = append(recs, r)
			size += 100 + 3
		}
		out[i] = mkBatch(b, batchOpt{}, recs...)
	}
	return out
}

// interleaved times two operations alternately, one call each per
// iteration, so both see the same machine: on a shared, noisy machine this is
// the fair comparison. It reports each side's MB/s and the ratio
// subject/baseline throughput as the metric "ratio".
type interleaved struct {
	base, subj           time.Duration
	baseBytes, subjBytes int64
}

func (iv *interleaved) timeBase(n int64, fn func()) {
	t := time.Now()
	fn()
	iv.base += time.Since(t)
	iv.baseBytes += n
}

func (iv *interleaved) timeSubj(n int64, fn func()) {
	t := time.Now()
	fn()
	iv.subj += time.Since(t)
	iv.subjBytes += n
}

func (iv *interleaved) report(b *testing.B, baseName, subjName string) {
	if iv.base <= 0 || iv.subj <= 0 {
		return
	}
	bt := float64(iv.baseBytes) / iv.base.Seconds() / 1e6
	st := float64(iv.subjBytes) / iv.subj.Seconds() / 1e6
	b.ReportMetric(bt, baseName+"-MB/s")
	b.ReportMetric(st, subjName+"-MB/s")
	b.ReportMetric(st/bt, "ratio")
}

func benchConfig() Config {
	c := DefaultConfig()
	c.SegmentBytes = 256 << 20 // roll during long runs
	c.FileDeleteDelayMs = 0
	return c
}

// freshDir runs fn in a new directory and then, untimed, removes it and
// flushes the page cache's dirty data, so each measured run starts from the
// same writeback state whatever ran before it.
func freshDir(b *testing.B, fn func(dir string)) {
	b.Helper()
	b.StopTimer()
	syscall.Sync()
	dir, err := os.MkdirTemp("", "partlog-bench")
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		b.StopTimer()
		os.RemoveAll(dir)
		syscall.Sync()
	}()
	fn(dir) // fn starts the timer after its setup
}

// BenchmarkAppend: 16 KiB batches of 100-byte records appended without
// fsync, against a plain sequential write of the same bytes.
// Goal: log >= 0.8x the plain write.
func BenchmarkAppend(b *testing.B) {
	batches := benchBatches(b, 64)
	b.Run("file", func(b *testing.B) {
		freshDir(b, func(dir string) {
			b.StopTimer()
			f := createPlain(b, dir)
			defer f.Close()
			writeEach(b, batches, func(p []byte) error {
				_, err := f.Write(p)
				return err
			})
		})
	})
	b.Run("log", func(b *testing.B) {
		freshDir(b, func(dir string) {
			b.StopTimer()
			l := openLog(b, dir, benchConfig(), nil)
			defer l.close(false)
			writeEach(b, batches, func(p []byte) error {
				_, err := l.Append(p)
				return err
			})
		})
	})
	b.Run("interleaved", func(b *testing.B) {
		freshDir(b, func(dir string) {
			f := createPlain(b, dir)
			defer f.Close()
			l := openLog(b, filepath.Join(dir, "log"), benchConfig(), nil)
			defer l.close(false)
			n := int64(len(batches[0]))
			b.SetBytes(2 * n)
			b.ReportAllocs()
			var iv interleaved
			b.ResetTimer()
			b.StartTimer()
			for i := 0; i < b.N; i++ {
				bt := batches[i%len(batches)]
				iv.timeBase(n, func() {
					if _, err := f.Write(bt); err != nil {
						b.Fatal(err)
					}
				})
				iv.timeSubj(n, func() {
					if _, err := l.Append(bt); err != nil {
						b.Fatal(err)
					}
				})
			}
			b.StopTimer()
			iv.report(b, "file", "log")
		})
	})
}

// BenchmarkGroupCommit: acks=-1 appends (Append then Sync) from 64
// concurrent appenders sharing fsyncs, against one fsync per append (a plain
// file write followed by its own fsync, one after another).
// Goal: log >= 10x the fsync-per-append baseline.
func BenchmarkGroupCommit(b *testing.B) {
	batches := benchBatches(b, 64)
	b.Run("fsync-per-append", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "plain"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		b.SetBytes(int64(len(batches[0])))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := f.Write(batches[i%len(batches)]); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("log-64-appenders", func(b *testing.B) {
		l := openLog(b, b.TempDir(), benchConfig(), nil)
		defer l.close(false)
		// Each appender owns its batches (Append rewrites headers in place).
		own := make([][][]byte, 64)
		for i := range own {
			for j := 0; j < 4; j++ {
				own[i] = append(own[i], append([]byte(nil), batches[(i*4+j)%len(batches)]...))
			}
		}
		b.SetBytes(int64(len(batches[0])))
		b.ReportAllocs()
		var next atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		for g := 0; g < 64; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; next.Add(1) <= int64(b.N); i++ {
					if _, err := l.Append(own[g][i%len(own[g])]); err != nil {
						b.Error(err)
						return
					}
					if err := l.Sync(); err != nil {
						b.Error(err)
						return
					}
				}
			}(g)
		}
		wg.Wait()
	})
	// interleaved: alternate 100 ms windows of each, b.N window pairs
	// (run with e.g. -benchtime 20x).
	b.Run("interleaved", func(b *testing.B) {
		dir := b.TempDir()
		f := createPlain(b, dir)
		defer f.Close()
		l := openLog(b, filepath.Join(dir, "log"), benchConfig(), nil)
		defer l.close(false)
		own := make([][]byte, 64)
		for i := range own {
			own[i] = append([]byte(nil), batches[i%len(batches)]...)
		}
		n := int64(len(batches[0]))
		const window = 100 * time.Millisecond
		var iv interleaved
		for i := 0; i < b.N; i++ {
			iv.timeBase(0, func() {
				for end := time.Now().Add(window); time.Now().Before(end); {
					if _, err := f.Write(batches[0]); err != nil {
						b.Fatal(err)
					}
					if err := f.Sync(); err != nil {
						b.Fatal(err)
					}
					iv.baseBytes += n
				}
			})
			iv.timeSubj(0, func() {
				var stop atomic.Bool
				var done atomic.Int64
				var wg sync.WaitGroup
				for g := 0; g < 64; g++ {
					wg.Add(1)
					go func(g int) {
						defer wg.Done()
						for !stop.Load() {
							if _, err := l.Append(own[g]); err != nil {
								b.Error(err)
								return
							}
							if err := l.Sync(); err != nil {
								b.Error(err)
								return
							}
							done.Add(1)
						}
					}(g)
				}
				time.Sleep(window) // the window's length, not a wait for a condition
				stop.Store(true)
				wg.Wait()
				iv.subjBytes += done.Load() * n
			})
		}
		iv.report(b, "fsync-per-append", "log-64")
	})
}

// BenchmarkRead: sequential consumption with 1 MiB reads (a fetch's
// per-partition limit) from a 64 MiB log in the page cache, against plain
// 1 MiB sequential reads of a file holding the same bytes.
func BenchmarkRead(b *testing.B) {
	const total = 64 << 20
	batches := benchBatches(b, 64)
	dir := b.TempDir()
	l := openLog(b, filepath.Join(dir, "log"), benchConfig(), nil)
	defer l.close(false)
	plain, err := os.Create(filepath.Join(dir, "plain"))
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	for i := 0; l.Size() < total; i++ {
		bt := batches[i%len(batches)]
		if _, err := l.Append(bt); err != nil {
			b.Fatal(err)
		}
		if _, err := plain.Write(bt); err != nil {
			b.Fatal(err)
		}
	}
	size := l.Size()
	const chunk = 1 << 20
	b.Run("file", func(b *testing.B) {
		buf := make([]byte, chunk)
		b.SetBytes(chunk)
		b.ReportAllocs()
		b.ResetTimer()
		var pos int64
		for i := 0; i < b.N; i++ {
			if pos+chunk > size {
				pos = 0
			}
			if _, err := plain.ReadAt(buf, pos); err != nil {
				b.Fatal(err)
			}
			pos += chunk
		}
	})
	b.Run("log", func(b *testing.B) {
		buf := make([]byte, 0, 2*chunk)
		b.SetBytes(chunk)
		b.ReportAllocs()
		b.ResetTimer()
		var off int64
		var n int64
		for i := 0; i < b.N; i++ {
			if off >= l.LogEndOffset() {
				off = 0
			}
			rr, err := l.ReadAppend(buf[:0], off, chunk)
			if err != nil {
				b.Fatal(err)
			}
			n += int64(len(rr.Records))
			hs, _ := parseHeader(rr.Records[len(rr.Records)-lastBatchSize(rr.Records):])
			off = hs.lastOffset() + 1
		}
		b.StopTimer()
		// Reads return whole batches only, so slightly under 1 MiB each:
		// account for the bytes really read.
		b.SetBytes(n / int64(b.N))
	})
	b.Run("interleaved", func(b *testing.B) {
		fbuf := make([]byte, chunk)
		lbuf := make([]byte, 0, 2*chunk)
		b.ReportAllocs()
		var iv interleaved
		var pos, off int64
		for i := 0; i < b.N; i++ {
			if pos+chunk > size {
				pos = 0
			}
			iv.timeBase(chunk, func() {
				if _, err := plain.ReadAt(fbuf, pos); err != nil {
					b.Fatal(err)
				}
			})
			pos += chunk
			if off >= l.LogEndOffset() {
				off = 0
			}
			var rr ReadResult
			iv.timeSubj(0, func() {
				var err error
				if rr, err = l.ReadAppend(lbuf[:0], off, chunk); err != nil {
					b.Fatal(err)
				}
			})
			iv.subjBytes += int64(len(rr.Records))
			hs, _ := parseHeader(rr.Records[len(rr.Records)-lastBatchSize(rr.Records):])
			off = hs.lastOffset() + 1
		}
		iv.report(b, "file", "log")
	})
}

// lastBatchSize returns the size of the last batch in b.
func lastBatchSize(b []byte) int {
	last := 0
	for p := 0; p < len(b); {
		h, _ := parseHeader(b[p:])
		last = h.size()
		p += last
	}
	return last
}

// BenchmarkAppendParallelPartitions appends to 8 partitions from 8
// goroutines: no lock is shared between partitions.
func BenchmarkAppendParallelPartitions(b *testing.B) {
	batches := benchBatches(b, 8)
	logs := make([]*Log, 8)
	for i := range logs {
		l := openLog(b, filepath.Join(b.TempDir(), fmt.Sprint(i)), benchConfig(), nil)
		defer l.close(false)
		logs[i] = l
	}
	b.SetBytes(int64(len(batches[0])))
	b.ReportAllocs()
	var idx atomic.Int64
	b.SetParallelism((8 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(idx.Add(1)-1) % len(logs)
		own := append([]byte(nil), batches[i]...)
		for pb.Next() {
			if _, err := logs[i].Append(own); err != nil {
				b.Error(err)
				return
			}
		}
	})
	_ = time.Now
}

// writeEach times one write of a batch per iteration, cycling through batches.
func writeEach(b *testing.B, batches [][]byte, write func(p []byte) error) {
	b.SetBytes(int64(len(batches[0])))
	b.ReportAllocs()
	b.ResetTimer()
	b.StartTimer()
	for i := 0; i < b.N; i++ {
		if err := write(batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
	}
}

// createPlain creates the plain file in dir that the benchmarks write beside the log.
func createPlain(b *testing.B, dir string) *os.File {
	f, err := os.Create(filepath.Join(dir, "plain"))
	if err != nil {
		b.Fatal(err)
	}
	return f
}
