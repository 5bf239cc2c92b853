package brokerlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Costs that grow with partitions: 10 topics of 1,000 partitions created one after the
// other on one broker (each create should take about as long as the first), then a clean
// shutdown and a start of the broker holding the 10,000 partitions.
//
//	go test ./brokerlite -run '^$' -bench BenchmarkPartitionScale -benchtime 1x
//
// Reported: the first and the last create (s), last/first, and shutdown and start-up time per
// partition (µs).
func BenchmarkPartitionScale(b *testing.B) {
	const batches, perBatch = 10, 1000
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		props := map[string]string{"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": dir,
			"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "1"}
		br, err := Start(ctx, Config{Properties: props, Logger: testLogger(b)})
		if err != nil {
			b.Fatal(err)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(br.Addr()), kgo.RequestTimeoutOverhead(5*time.Minute))
		if err != nil {
			b.Fatal(err)
		}
		adm := kadm.NewClient(cl)
		adm.SetTimeoutMillis(300000)
		var times []time.Duration
		for t := 0; t < batches; t++ {
			start := time.Now()
			resp, err := adm.CreateTopic(ctx, perBatch, 1, nil, fmt.Sprintf("scale-%02d", t))
			if err != nil || resp.Err != nil {
				b.Fatalf("create %d: %v %v", t, err, resp.Err)
			}
			times = append(times, time.Since(start))
		}
		cl.Close()
		start := time.Now()
		if err := br.Close(ctx); err != nil {
			b.Fatal(err)
		}
		shutdown := time.Since(start)
		start = time.Now()
		br, err = Start(ctx, Config{Properties: props, Logger: testLogger(b)})
		if err != nil {
			b.Fatal(err)
		}
		startup := time.Since(start)
		if err := br.Close(ctx); err != nil {
			b.Fatal(err)
		}
		cancel()
		parts := float64(batches * perBatch)
		for t, d := range times {
			b.Logf("create %d (partitions %d-%d): %v", t+1, t*perBatch, (t+1)*perBatch-1, d)
		}
		b.Logf("shutdown %v, start-up %v with %d partitions", shutdown, startup, batches*perBatch)
		b.ReportMetric(times[0].Seconds(), "first-create-s")
		b.ReportMetric(times[len(times)-1].Seconds(), "last-create-s")
		b.ReportMetric(times[len(times)-1].Seconds()/times[0].Seconds(), "last/first")
		b.ReportMetric(float64(shutdown.Microseconds())/parts, "shutdown-µs/partition")
		b.ReportMetric(float64(startup.Microseconds())/parts, "startup-µs/partition")
	}
}
