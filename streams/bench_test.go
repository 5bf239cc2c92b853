package streams_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/streams"
)

// End-to-end throughput: records/s from an input topic, through a pipeline,
// to an output topic, with commits every 100 ms. The baseline in the same
// run is a hand-written franz-go consume-transform-produce loop doing the
// same work with the same commit interval (at-least-once: flush, then
// commit). Run with:
//
//	go test ./streams -run '^$' -bench BenchmarkEndToEnd -benchtime 3x

const (
	e2eBenchRecords = 500_000
	e2eBenchKeys    = 1000
)

func benchValue(i int) []byte {
	v := bytes.Repeat([]byte{'a' + byte(i%26)}, 100)
	copy(v, strconv.Itoa(i))
	return v
}

// passes is the map-filter pipeline's filter: keep records whose index is
// even (half of them).
func passes(v []byte) bool {
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n%2 == 0
}

func BenchmarkEndToEnd(b *testing.B) {
	for _, br := range brokers(b) {
		in := uniq("bench-in")
		createTopic(b, br.addrs, 4, in)
		var recs []*kgo.Record
		for i := 0; i < e2eBenchRecords; i++ {
			recs = append(recs, &kgo.Record{Topic: in, Key: []byte("k" + strconv.Itoa(i%e2eBenchKeys)), Value: benchValue(i)})
		}
		produce(b, br.addrs, recs...)
		for _, pipeline := range []string{"map-filter", "count"} {
			for _, impl := range []string{"franz-go-loop", "rivulet-1-thread", "rivulet-2-threads"} {
				b.Run(fmt.Sprintf("%s/%s/%s", br.name, pipeline, impl), func(b *testing.B) {
					var total time.Duration
					for i := 0; i < b.N; i++ {
						total += runBench(b, br, in, pipeline, impl)
					}
					b.ReportMetric(float64(e2eBenchRecords*b.N)/total.Seconds(), "records/s")
					b.ReportMetric(0, "ns/op")
				})
			}
		}
	}
}

// runBench runs one pipeline over the whole input and returns how long it
// took until the output was complete.
func runBench(b *testing.B, br broker, in, pipeline, impl string) time.Duration {
	b.Helper()
	id := uniq("bench")
	out := id + "-out"
	createTopic(b, br.addrs, 4, out)
	done := watchOutput(b, br.addrs, out, pipeline)
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	var stop func()
	switch impl {
	case "franz-go-loop":
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := franzLoop(ctx, br.addrs, id, in, out, pipeline); err != nil && ctx.Err() == nil {
				b.Error(err)
			}
		}()
		stop = func() { cancel(); wg.Wait() }
	default:
		threads := "1"
		if impl == "rivulet-2-threads" {
			threads = "2"
		}
		bld := streams.NewBuilder()
		bs := streams.BytesSerde()
		src := streams.NewStream(bld, in, streams.ConsumedWith(streams.StringSerde(), bs))
		if pipeline == "map-filter" {
			streams.MapValues(src.Filter(func(_ string, v []byte) bool { return passes(v) }),
				func(_ string, v []byte) []byte { return bytes.ToUpper(v) }).To(out, streams.ProducedWith(streams.StringSerde(), bs))
		} else {
			src.GroupByKey().Count().ToStream().To(out, streams.ProducedWith(streams.StringSerde(), streams.Int64Serde()))
		}
		topo, err := bld.Build()
		must(b, err)
		app, err := streams.New(topo, streams.Properties{
			"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": b.TempDir(),
			"commit.interval.ms": "100", "num.stream.threads": threads,
		}, streams.WithLogger(slog.New(slog.DiscardHandler)))
		must(b, err)
		must(b, app.Start(ctx))
		stop = func() {
			c, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel2()
			app.Close(c)
			cancel()
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("%s did not finish", impl)
	}
	elapsed := time.Since(start)
	stop()
	return elapsed
}

// watchOutput consumes out and closes the returned channel once the output
// is complete: every passing record (map-filter), or every key at its final
// count (count).
func watchOutput(b *testing.B, addrs []string, out, pipeline string) <-chan struct{} {
	done := make(chan struct{})
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(out), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	must(b, err)
	go func() {
		defer cl.Close()
		want := e2eBenchRecords / 2
		n := 0
		counts := map[string]int64{}
		var sum int64
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			fs := cl.PollFetches(ctx)
			timedOut := ctx.Err() != nil
			cancel()
			if fs.IsClientClosed() || timedOut {
				return
			}
			complete := false
			fs.EachRecord(func(r *kgo.Record) {
				if pipeline == "map-filter" {
					n++
					complete = n >= want
					return
				}
				v := i64(r.Value)
				sum += v - counts[string(r.Key)]
				counts[string(r.Key)] = v
				complete = sum >= e2eBenchRecords
			})
			if complete {
				close(done)
				return
			}
		}
	}()
	return done
}

// franzLoop is the baseline: what one writes with franz-go alone.
func franzLoop(ctx context.Context, addrs []string, group, in, out, pipeline string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(in),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	counts := map[string]int64{}
	dirty := map[string]bool{}
	last := time.Now()
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		fs := cl.PollRecords(pctx, 1000)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			if pipeline == "map-filter" {
				if passes(r.Value) {
					cl.Produce(ctx, &kgo.Record{Topic: out, Key: r.Key, Value: bytes.ToUpper(r.Value)}, nil)
				}
				return
			}
			counts[string(r.Key)]++
			dirty[string(r.Key)] = true
		})
		if time.Since(last) >= 100*time.Millisecond {
			for k := range dirty {
				v, _ := streams.Int64Serde().Serialize(counts[k])
				cl.Produce(ctx, &kgo.Record{Topic: out, Key: []byte(k), Value: v}, nil)
			}
			clear(dirty)
			if err := cl.Flush(ctx); err != nil {
				return err
			}
			if err := cl.CommitUncommittedOffsets(ctx); err != nil {
				return err
			}
			last = time.Now()
		}
	}
	return nil
}

// In-process cost per record: the deterministic task alone (no broker),
// against hand-written code doing the same work, same run.
//
//	go test ./streams -run '^$' -bench BenchmarkTask -benchmem
func BenchmarkTask(b *testing.B) {
	raws := make([]streams.RawRecord, 4096)
	for i := range raws {
		raws[i] = streams.RawRecord{Topic: "in", Offset: int64(i), Key: []byte("k" + strconv.Itoa(i%e2eBenchKeys)), Value: benchValue(i), Timestamp: int64(i)}
	}
	for _, pipeline := range []string{"map-filter", "count"} {
		b.Run(pipeline+"/handwritten", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(100)
			counts := map[string]int64{}
			var sink [][]byte
			for i := 0; i < b.N; i++ {
				r := &raws[i%len(raws)]
				if pipeline == "map-filter" {
					if passes(r.Value) {
						sink = append(sink[:0], bytes.ToUpper(r.Value))
					}
				} else {
					counts[string(r.Key)]++
				}
			}
			_ = sink
		})
		b.Run(pipeline+"/task", func(b *testing.B) {
			bld := streams.NewBuilder()
			bs := streams.BytesSerde()
			src := streams.NewStream(bld, "in", streams.ConsumedWith(streams.StringSerde(), bs))
			if pipeline == "map-filter" {
				streams.MapValues(src.Filter(func(_ string, v []byte) bool { return passes(v) }),
					func(_ string, v []byte) []byte { return bytes.ToUpper(v) }).To("out", streams.ProducedWith(streams.StringSerde(), bs))
			} else {
				src.GroupByKey().Count().ToStream().To("out", streams.ProducedWith(streams.StringSerde(), streams.Int64Serde()))
			}
			topo, err := bld.Build()
			must(b, err)
			// As the runtime runs it: with the record cache, flushed (as a
			// commit does) every 64Ki records (a 100 ms commit interval at
			// ~650k records/s).
			task, err := streams.NewBenchTask(topo, streams.TaskID{}, streams.TopicPartition{Topic: "in"})
			must(b, err)
			defer task.Close(false)
			b.ReportAllocs()
			b.SetBytes(100)
			b.ResetTimer()
			since := 0
			for i := 0; i < b.N; i += len(raws) {
				n := min(len(raws), b.N-i)
				must(b, task.AddRecords(streams.TopicPartition{Topic: "in"}, raws[:n]))
				processBuffered(b, task)
				if since += n; since >= 1<<16 {
					must(b, task.Flush())
					since = 0
				}
			}
		})
	}
}

// BenchmarkTaskWordCount: the word count's two sub-topologies as tasks (no
// broker), words Zipf-distributed (s=1.1) over 5,000 as in the harness's text: split (lines of ~10 words -> groupBy -> the repartition sink)
// and count (the repartition topic -> count -> the output sink, the record
// cache flushed every 64Ki records). Per word.
//
//	go test ./streams -run '^$' -bench BenchmarkTaskWordCount -benchmem
func BenchmarkTaskWordCount(b *testing.B) {
	const words = 10
	vocab := make([]string, 5000)
	for i := range vocab {
		vocab[i] = "w" + strconv.Itoa(i*7919%100000)
	}
	zipf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, uint64(len(vocab)-1))
	lines := make([]streams.RawRecord, 1024)
	for i := range lines {
		var sb strings.Builder
		for j := 0; j < words; j++ {
			sb.WriteString(vocab[zipf.Uint64()])
			sb.WriteByte(' ')
		}
		lines[i] = streams.RawRecord{Topic: "in", Offset: int64(i), Value: []byte(sb.String()), Timestamp: int64(i)}
	}
	keyed := make([]streams.RawRecord, 4096)
	for i := range keyed {
		w := []byte(vocab[zipf.Uint64()])
		keyed[i] = streams.RawRecord{Topic: "bench-counts-repartition", Offset: int64(i), Key: w, Value: w, Timestamp: int64(i)}
	}
	bld := streams.NewBuilder()
	src := streams.NewStream(bld, "in", streams.ConsumedWith(streams.BytesSerde(), streams.StringSerde()))
	streams.GroupBy(streams.FlatMapValues(src, func(_ []byte, line string) []string { return strings.Fields(line) }),
		func(_ []byte, w string) string { return w }, streams.GroupedWith(streams.StringSerde(), streams.StringSerde())).
		Count(streams.MaterializedAs[string, int64]("counts")).ToStream().To("out", streams.ProducedWith(streams.StringSerde(), streams.Int64Serde()))
	topo, err := bld.Build()
	must(b, err)
	for _, sub := range []struct {
		name string
		id   int
		raws []streams.RawRecord
		per  int // words per input record
	}{{"split", 0, lines, words}, {"count", 1, keyed, 1}} {
		b.Run(sub.name, func(b *testing.B) {
			tp := streams.TopicPartition{Topic: sub.raws[0].Topic}
			task, err := streams.NewBenchTask(topo, streams.TaskID{Subtopology: sub.id}, tp)
			must(b, err)
			defer task.Close(false)
			b.ReportAllocs()
			b.ResetTimer()
			since := 0
			for i := 0; i < b.N; i += len(sub.raws) * sub.per {
				n := min(len(sub.raws), (b.N-i+sub.per-1)/sub.per)
				must(b, task.AddRecords(tp, sub.raws[:n]))
				processBuffered(b, task)
				if since += n * sub.per; since >= 1<<16 {
					must(b, task.Flush())
					since = 0
				}
			}
		})
	}
}

// processBuffered processes every record task holds, at wall-clock time 0.
func processBuffered(b *testing.B, task *streams.BenchTask) {
	for {
		ok, err := task.Process(0)
		if err != nil {
			b.Fatal(err)
		}
		if !ok {
			return
		}
	}
}
