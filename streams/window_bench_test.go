package streams_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// benchKeys are the keys records are spread over.
var benchKeys = func() []string {
	out := make([]string, 1000)
	for i := range out {
		out[i] = "key-" + strconv.Itoa(i)
	}
	return out
}()

// runPipes pipes b.N records into topic in through d, one key after the
// other, 1ms apart, and reports records/s.
func runPipes(b *testing.B, d *streamstest.Driver, topics ...string) {
	b.Helper()
	ins := make([]*streamstest.InputTopic[string, string], len(topics))
	for i, tp := range topics {
		ins[i] = streamstest.CreateInputTopic(d, tp, ss, ss)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len("key-000") + len("value")))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		// With two inputs, records i and i+1 share a key (they can join).
		in := ins[i%len(ins)]
		if err := in.PipeInputAt(benchKeys[(i/len(ins))%len(benchKeys)], "value", int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkWindowedCount measures windowed counts through streamstest
// (in-memory stores, a commit after every record), with the plain count
// of the same stream as the baseline in the same run.
func BenchmarkWindowedCount(b *testing.B) {
	cases := []struct {
		name string
		add  func(g *streams.GroupedStream[string, string])
	}{
		{"baseline-count", func(g *streams.GroupedStream[string, string]) { g.Count().ToStream().To("out") }},
		{"tumbling", func(g *streams.GroupedStream[string, string]) {
			streams.WindowedBy(g, streams.TimeWindowsOfSizeWithNoGrace(time.Second)).Count().ToStream().To("out")
		}},
		{"hopping-5", func(g *streams.GroupedStream[string, string]) {
			streams.WindowedBy(g, streams.TimeWindowsOfSizeWithNoGrace(5*time.Second).AdvanceBy(time.Second)).Count().ToStream().To("out")
		}},
		{"sliding", func(g *streams.GroupedStream[string, string]) {
			streams.WindowedBy(g, streams.SlidingWindowsOfTimeDifferenceWithNoGrace(time.Second)).Count().ToStream().To("out")
		}},
		{"session", func(g *streams.GroupedStream[string, string]) {
			streams.WindowedBySession(g, streams.SessionWindowsOfInactivityGapWithNoGrace(time.Second)).Count().ToStream().To("out")
		}},
		{"tumbling-suppressed", func(g *streams.GroupedStream[string, string]) {
			streams.WindowedBy(g, streams.TimeWindowsOfSizeWithNoGrace(time.Second)).Count().
				Suppress(streams.UntilWindowCloses(streams.Unbounded())).ToStream().To("out")
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			bld := streams.NewBuilder()
			c.add(streams.NewStream(bld, "in", streams.ConsumedWith(ss, ss)).GroupByKey())
			d := driver(b, build(b, bld))
			runPipes(b, d, "in")
		})
	}
}

// BenchmarkStreamStreamJoin measures stream-stream joins through
// streamstest, records alternating between the two sides, with a
// stream-table join of the same inputs as the baseline in the same run.
func BenchmarkStreamStreamJoin(b *testing.B) {
	w := streams.JoinWindowsOfTimeDifferenceAndGrace(100*time.Millisecond, 50*time.Millisecond)
	joiner := func(_, l, r string) string { return l + r }
	cases := []struct {
		name string
		add  func(bld *streams.Builder)
	}{
		{"baseline-stream-table", func(bld *streams.Builder) {
			l := streams.NewStream(bld, "left", streams.ConsumedWith(ss, ss))
			r := streams.NewTable(bld, "right", streams.ConsumedWith(ss, ss))
			streams.LeftJoinWithTable(l, r, func(_, a string, b *string) string { return a }).To("out")
		}},
		{"inner", func(bld *streams.Builder) {
			l := streams.NewStream(bld, "left", streams.ConsumedWith(ss, ss))
			r := streams.NewStream(bld, "right", streams.ConsumedWith(ss, ss))
			streams.Join(l, r, joiner, w).To("out")
		}},
		{"left", func(bld *streams.Builder) {
			l := streams.NewStream(bld, "left", streams.ConsumedWith(ss, ss))
			r := streams.NewStream(bld, "right", streams.ConsumedWith(ss, ss))
			streams.LeftJoin(l, r, func(_, a string, b *string) string { return a }, w).To("out")
		}},
		{"outer", func(bld *streams.Builder) {
			l := streams.NewStream(bld, "left", streams.ConsumedWith(ss, ss))
			r := streams.NewStream(bld, "right", streams.ConsumedWith(ss, ss))
			streams.OuterJoin(l, r, func(_ string, a, b *string) string { return "" }, w).To("out")
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			bld := streams.NewBuilder()
			c.add(bld)
			d := driver(b, build(b, bld))
			runPipes(b, d, "left", "right")
		})
	}
}

// BenchmarkEndToEndWindowsAndJoins runs a windowed count and a
// stream-stream join on brokerlite (2 stream threads, 4 partitions, Badger
// stores, commit.interval.ms=100, max.task.idle.ms=1000), each on records written before the app starts, timed from the
// start to the moment every expected result has been read back; the
// baselines are the plain count and a stream-table join of the same
// inputs, in the same run. Run with -benchtime 1x.
func BenchmarkEndToEndWindowsAndJoins(b *testing.B) {
	addrs := startWindowBroker(b)
	const parts = 4
	const n = 100_000
	run := 0
	cases := []struct {
		name string
		// topology, the inputs to write, and a check that the output is
		// complete given the latest value per output key and the number
		// of output records.
		add    func(bld *streams.Builder, in, in2, out string)
		inputs func(in, in2 string) []*kgo.Record
		done   func(latest map[string][]byte, total int) bool
	}{
		{"count-baseline", func(bld *streams.Builder, in, _, out string) {
			streams.NewStream(bld, in, streams.ConsumedWith(ss, ss)).GroupByKey().Count().ToStream().To(out)
		}, func(in, _ string) []*kgo.Record { return benchRecords(in, n, 0) }, func(latest map[string][]byte, _ int) bool {
			return countsReached(latest, len(benchKeys), int64(n/len(benchKeys)))
		}},
		{"windowed-count", func(bld *streams.Builder, in, _, out string) {
			streams.WindowedBy(streams.NewStream(bld, in, streams.ConsumedWith(ss, ss)).GroupByKey(), streams.TimeWindowsOfSizeWithNoGrace(10*time.Second)).
				Count().ToStream().To(out)
		}, func(in, _ string) []*kgo.Record { return benchRecords(in, n, 0) }, func(latest map[string][]byte, _ int) bool {
			// 1ms apart: 10 windows of 10000 records, 10 per key each.
			return countsReached(latest, len(benchKeys)*n/10_000, 10)
		}},
		{"stream-table-baseline", func(bld *streams.Builder, in, in2, out string) {
			l := streams.NewStream(bld, in, streams.ConsumedWith(ss, ss))
			r := streams.NewTable(bld, in2, streams.ConsumedWith(ss, ss))
			streams.LeftJoinWithTable(l, r, func(_, a string, b *string) string { return a }).To(out)
		}, func(in, in2 string) []*kgo.Record {
			return append(benchRecords(in, n/2, 0), benchRecords(in2, n/2, 0)...)
		}, func(_ map[string][]byte, total int) bool {
			return total >= n/2 // each left record has exactly one result
		}},
		{"stream-stream-join", func(bld *streams.Builder, in, in2, out string) {
			l := streams.NewStream(bld, in, streams.ConsumedWith(ss, ss))
			r := streams.NewStream(bld, in2, streams.ConsumedWith(ss, ss))
			streams.Join(l, r, func(_, a, b string) string { return a + b }, streams.JoinWindowsOfTimeDifferenceWithNoGrace(5*time.Millisecond)).To(out)
		}, func(in, in2 string) []*kgo.Record {
			return append(benchRecords(in, n/2, 0), benchRecords(in2, n/2, 0)...)
		}, func(_ map[string][]byte, total int) bool {
			return total >= n/2 // each left record has exactly one result
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				run++
				in, in2, out := fmt.Sprintf("bw-in-%d", run), fmt.Sprintf("bw-in2-%d", run), fmt.Sprintf("bw-out-%d", run)
				createTopic(b, addrs, parts, in, in2, out)
				recs := c.inputs(in, in2)
				produce(b, addrs, recs...)
				bld := streams.NewBuilder()
				c.add(bld, in, in2, out)
				topo := build(b, bld)
				b.StartTimer()
				start := time.Now()
				app := startAppNoCleanup(b, topo, streams.Properties{
					"application.id":     fmt.Sprintf("bw-app-%d", run),
					"bootstrap.servers":  strings.Join(addrs, ","),
					"num.stream.threads": "2",
					"commit.interval.ms": "100",
					// Wait for both sides of a join to be fetched before
					// processing, so records are processed in timestamp
					// order across the two topics.
					"max.task.idle.ms": "1000",
					"state.dir":        b.TempDir(),
				})
				readUntil(b, addrs, out, 120*time.Second, c.done)
				elapsed := time.Since(start)
				b.StopTimer()
				closeApp(b, app)
				b.ReportMetric(float64(len(recs))/elapsed.Seconds(), "records/s")
			}
		})
	}
}

// benchRecords returns n records to topic over benchKeys, 1ms apart.
func benchRecords(topic string, n int, from int64) []*kgo.Record {
	base := time.UnixMilli(1_700_000_000_000)
	out := make([]*kgo.Record, n)
	for i := range out {
		out[i] = &kgo.Record{Topic: topic, Key: []byte(benchKeys[i%len(benchKeys)]), Value: []byte("value"), Timestamp: base.Add(time.Duration(from+int64(i)) * time.Millisecond)}
	}
	return out
}

// countsReached reports whether keys output keys have reached count.
func countsReached(latest map[string][]byte, keys int, count int64) bool {
	if len(latest) < keys {
		return false
	}
	for _, v := range latest {
		if n, _ := streams.Int64Serde().Deserialize(v); n < count {
			return false
		}
	}
	return true
}

// readUntil reads topic from the start, keeping the latest value per key
// and counting records, until done says so.
func readUntil(t testing.TB, addrs []string, topic string, timeout time.Duration, done func(map[string][]byte, int) bool) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	must(t, err)
	defer cl.Close()
	latest := map[string][]byte{}
	total := 0
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { latest[string(r.Key)] = r.Value; total++ })
		if done(latest, total) {
			return
		}
	}
	t.Fatalf("%s: results incomplete after %v (%d keys, %d records)", topic, timeout, len(latest), total)
}
