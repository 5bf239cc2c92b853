package streams_test

import (
	"strconv"
	"testing"
	"time"

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
