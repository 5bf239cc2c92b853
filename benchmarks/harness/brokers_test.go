package harness

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestBenchBrokerKeepsOldRecords: the benchmarks' broker keeps records whatever
// their timestamps. The streams suite writes fixed timestamps from 2023; under
// the default retention by time, a retention check deleted the inputs in the
// middle of a run. Here checks run every 50 ms, and 2023 records written
// before a second of them must all still be readable from offset 0.
func TestBenchBrokerKeepsOldRecords(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := startBrokerliteWith(ctx, t.TempDir(), slog.New(slog.DiscardHandler), map[string]string{
		"log.retention.check.interval.ms": "50",
		"log.segment.bytes":               "16384", // several segments, the older ones closed
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	const topic, n = "old-records", 2000
	if err := createTopics(ctx, b.Addr(), 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic(topic), kgo.ProducerBatchMaxBytes(8192))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	old := time.UnixMilli(ssbBaseTime)
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Value: make([]byte, 100), Timestamp: old.Add(time.Duration(i) * time.Millisecond)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // about 20 retention checks
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := starts.Lookup(topic, 0)
	e, _ := ends.Lookup(topic, 0)
	if s.Offset != 0 || e.Offset != n {
		t.Fatalf("after retention checks the log holds offsets [%d, %d), want [0, %d)", s.Offset, e.Offset, n)
	}
}
