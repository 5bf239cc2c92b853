package brokerlite

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Broker vs kfake: franz-go producing 100-byte records to brokerlite (on disk)
// and to franz-go's in-memory kfake in the same run, then consuming them back.
//
//	go test ./brokerlite -run '^$' -bench 'BenchmarkBrokerVsKfake' -benchtime 400000x -count 3
//
// Each case reports records/s and MB/s of both targets and "brokerlite/kfake", the ratio of
// their throughputs in the same run (the work alternates between them in rounds). The goal
// is >= 1.0 for produce and consume, >= 0.8 for produce with acks=all (which brokerlite
// answers only after fsync; kfake never syncs).

const (
	benchTopic      = "bench"
	benchPartitions = 4
	benchValueSize  = 100
)

// benchTarget is a broker to measure: its address and a way to stop it.
type benchTarget struct {
	name  string
	start func(b *testing.B) (addr string, stop func())
}

func benchTargets() []benchTarget {
	return []benchTarget{
		{"kfake", func(b *testing.B) (string, func()) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(benchPartitions, benchTopic))
			if err != nil {
				b.Fatal(err)
			}
			return c.ListenAddrs()[0], c.Close
		}},
		{"brokerlite", func(b *testing.B) (string, func()) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			br, err := Start(ctx, Config{Logger: testLogger(b), Properties: map[string]string{
				"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": b.TempDir(),
				"offsets.topic.num.partitions": "1",
			}})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := br.topics.create(createTopicOpts{name: benchTopic, partitions: benchPartitions, replication: 1}); err != nil {
				b.Fatal(err)
			}
			return br.Addr(), func() { _ = br.Close(context.Background()) }
		}},
	}
}

// benchRounds splits the work in rounds that alternate between the targets, so both see the
// same machine conditions (the machine is shared; a burst of load hits both alike).
const benchRounds = 4

// runVersus measures work(target, n) on each target, alternating in rounds, and reports
// records/s of each and the ratio brokerlite/kfake.
func runVersus(b *testing.B, setup func(b *testing.B, addr string) (work func(n int), done func())) {
	targets := benchTargets()
	works := make([]func(int), len(targets))
	for i, tg := range targets {
		addr, stop := tg.start(b)
		defer stop()
		w, done := setup(b, addr)
		defer done()
		works[i] = w
	}
	b.SetBytes(benchValueSize)
	b.ReportAllocs()
	b.ResetTimer()
	elapsed := make([]time.Duration, len(targets))
	for r := 0; r < benchRounds; r++ {
		n := b.N / benchRounds
		if r == benchRounds-1 {
			n = b.N - n*(benchRounds-1)
		}
		for i := range targets {
			start := time.Now()
			works[i](n)
			elapsed[i] += time.Since(start)
		}
	}
	b.StopTimer()
	for i, tg := range targets {
		b.ReportMetric(float64(b.N)/elapsed[i].Seconds(), tg.name+"_rec/s")
		b.ReportMetric(float64(b.N)*benchValueSize/1e6/elapsed[i].Seconds(), tg.name+"_MB/s")
	}
	b.ReportMetric(elapsed[0].Seconds()/elapsed[1].Seconds(), "brokerlite/kfake")

}

// BenchmarkBrokerVsKfake: franz-go producing 100-byte records (acks=all idempotent, and
// acks=1), then consuming them, against kfake and brokerlite in the same run. ns/op covers
// both targets; read the per-target records/s and the ratio.
func BenchmarkBrokerVsKfake(b *testing.B) {
	for _, kase := range []struct {
		name string
		opts []kgo.Opt
	}{
		{"produce-acks=all-idempotent", []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks())}},
		{"produce-acks=1", []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()}},
	} {
		b.Run(kase.name, func(b *testing.B) {
			runVersus(b, func(b *testing.B, addr string) (func(int), func()) {
				cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.ProducerLinger(0)}, kase.opts...)...)
				if err != nil {
					b.Fatal(err)
				}
				produceBatch(b, cl, benchTopic, 1000) // warm up: metadata, connections, producer id
				return func(n int) { produceBatch(b, cl, benchTopic, n) }, cl.Close
			})
		})
	}
	b.Run("consume", func(b *testing.B) {
		runVersus(b, func(b *testing.B, addr string) (func(int), func()) {
			pcl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
			if err != nil {
				b.Fatal(err)
			}
			produceBatch(b, pcl, benchTopic, b.N)
			pcl.Close()
			// Each round uses a new consumer from where the last one stopped: a consumer left
			// running would prefetch in the background during the other target's round.
			next := map[int32]kgo.Offset{}
			for p := int32(0); p < benchPartitions; p++ {
				next[p] = kgo.NewOffset().At(0)
			}
			return func(n int) {
				cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{benchTopic: next}),
					kgo.FetchMaxWait(100*time.Millisecond))
				if err != nil {
					b.Fatal(err)
				}
				defer cl.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				for got := 0; got < n; {
					fs := cl.PollRecords(ctx, n-got)
					if ctx.Err() != nil {
						b.Fatalf("consumed %d of %d: %v", got, n, ctx.Err())
					}
					fs.EachError(func(t string, p int32, err error) { b.Fatalf("fetch %s-%d: %v", t, p, err) })
					fs.EachRecord(func(r *kgo.Record) { next[r.Partition] = kgo.NewOffset().At(r.Offset + 1) })
					got += fs.NumRecords()
				}
			}, func() {}
		})
	})
}
