package streams_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/streams"
)

// The price of exactly_once_v2, side by side with at_least_once on the same
// broker in one run: the word count (through a repartition topic) over
// eosBenchLines lines, commit.interval.ms=100 for both (the exactly-once
// default), output read read_committed. Run with:
//
//	go test ./streams -run '^$' -bench BenchmarkExactlyOnceWordCount -benchtime 2x

const (
	eosBenchLines = 200_000
	eosBenchWords = 4 // words per line
)

func BenchmarkExactlyOnceWordCount(b *testing.B) {
	br := startBrokerlite(b)
	requireTransactions(b, br)
	in := uniq("eosbench-in")
	createTopic(b, br.addrs, 4, in)
	var recs []*kgo.Record
	for i := 0; i < eosBenchLines; i++ {
		var ws []string
		for j := 0; j < eosBenchWords; j++ {
			ws = append(ws, fmt.Sprintf("w%03d", (i*7+j*13)%1000))
		}
		recs = append(recs, &kgo.Record{Topic: in, Value: []byte(strings.Join(ws, " "))})
	}
	produce(b, br.addrs, recs...)
	for _, g := range []string{streams.AtLeastOnce, streams.ExactlyOnce} {
		b.Run(g, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				total += runWordCountBench(b, br, in, g)
			}
			b.ReportMetric(float64(eosBenchLines*b.N)/total.Seconds(), "lines/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// runWordCountBench runs the word count over the whole input with the
// given guarantee and returns how long it took until a read_committed
// reader saw every word at its final count.
func runWordCountBench(b *testing.B, br broker, in, guarantee string) time.Duration {
	b.Helper()
	id := uniq("eosbench")
	out := id + "-out"
	createTopic(b, br.addrs, 4, out)
	cl, err := kgo.NewClient(kgo.SeedBrokers(br.addrs...), kgo.ConsumeTopics(out),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	must(b, err)
	defer cl.Close()
	bld := streams.NewBuilder()
	wordCountTopology(bld, in, out, "counts")
	topo, err := bld.Build()
	must(b, err)
	start := time.Now()
	app, err := streams.New(topo, streams.Properties{
		"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": b.TempDir(),
		"commit.interval.ms": "100", "processing.guarantee": guarantee,
	}, streams.WithLogger(slog.New(slog.DiscardHandler)))
	must(b, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	must(b, app.Start(ctx))
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		app.Close(c)
	}()
	counts := map[string]int64{}
	var sum int64
	for sum < eosBenchLines*eosBenchWords {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			b.Fatalf("%s: %d of %d words counted in time", guarantee, sum, eosBenchLines*eosBenchWords)
		}
		fs.EachRecord(func(r *kgo.Record) {
			v := i64(r.Value)
			sum += v - counts[string(r.Key)]
			counts[string(r.Key)] = v
		})
	}
	return time.Since(start)
}

// What a kill -9 costs under each guarantee, with each one's default
// commit interval (30 s, 100 ms): the test application counts eosBenchKeys
// distinct keys into a persistent store, is killed one second after its
// output is complete, and is started again. Reported: the changelog
// records it restored, the time from its start to RUNNING, and the input
// records it processed again once running (what at-least-once repeats in
// its output). Run with:
//
//	go test ./streams -run '^$' -bench BenchmarkRestoreAfterKill -benchtime 1x
func BenchmarkRestoreAfterKill(b *testing.B) {
	const eosBenchKeys = 20_000
	bin, err := buildTestApp()
	must(b, err)
	br := startBrokerlite(b)
	requireTransactions(b, br)
	for _, g := range []struct{ guarantee, commitMs string }{{streams.AtLeastOnce, "30000"}, {streams.ExactlyOnce, "100"}} {
		b.Run(g.guarantee, func(b *testing.B) {
			var restored, reprocessed int64
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				id := uniq("restorebench")
				in, ids, counts := id+"-in", id+"-ids", id+"-counts"
				createTopic(b, br.addrs, 2, in, ids, counts)
				var recs []*kgo.Record
				for k := 0; k < eosBenchKeys; k++ {
					recs = append(recs, &kgo.Record{Topic: in, Key: []byte(fmt.Sprintf("k%06d", k)), Value: []byte("v")})
				}
				produce(b, br.addrs, recs...)
				args := []string{"--bootstrap-server", br.addrs[0], "--application-id", id, "--state-dir", b.TempDir(),
					"--input", in, "--ids-output", ids, "--counts-output", counts, "--threads", "1",
					"--processing-guarantee", g.guarantee, "--commit-interval-ms", g.commitMs, "--instance-id", id}
				c := startChild(b, bin, args...)
				c.waitOutput(b, "started")
				consumeCommitted(b, br.addrs, ids, 2*time.Minute, func(rs []*kgo.Record) bool { return len(rs) >= eosBenchKeys })
				time.Sleep(time.Second) // the scenario: killed one second after catching up
				c.kill(b)
				start := time.Now()
				c = startChild(b, bin, args...)
				c.waitOutput(b, "to=RUNNING")
				elapsed += time.Since(start)
				restored += restoredRecords(b, c)
				// Processing again what was not committed: poll until the
				// count stops moving.
				last := int64(-1)
				for n := childMetric(b, c, "process_total"); n != last; n = childMetric(b, c, "process_total") {
					last = n
					time.Sleep(500 * time.Millisecond)
				}
				reprocessed += last
				c.stop(b)
			}
			b.ReportMetric(float64(restored)/float64(b.N), "restored-records")
			b.ReportMetric(float64(reprocessed)/float64(b.N), "reprocessed-records")
			b.ReportMetric(elapsed.Seconds()/float64(b.N), "s-to-running")
			b.ReportMetric(0, "ns/op")
		})
	}
}
