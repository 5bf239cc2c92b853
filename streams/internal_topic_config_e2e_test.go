package streams_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/streams"
)

// TestRepartitionKeepsEventTimeOnLogAppendTimeCluster: on a broker whose
// topics default to LogAppendTime, a record that goes through a
// repartition topic keeps the timestamp it was produced with, because the
// application creates its internal topics with CreateTime, as Kafka
// Streams does.
func TestRepartitionKeepsEventTimeOnLogAppendTimeCluster(t *testing.T) {
	br := startBrokerliteWith(t, map[string]string{"log.message.timestamp.type": "LogAppendTime"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	createTime := map[string]*string{"message.timestamp.type": kadm.StringPtr("CreateTime")}
	resp, err := adminFor(t, br.addrs).CreateTopics(ctx, 2, 1, createTime, "ts-in", "ts-out")
	must(t, err)
	for _, r := range resp {
		must(t, r.Err)
	}

	b := streams.NewBuilder()
	in := streams.NewStream(b, "ts-in", streams.ConsumedWith(streams.StringSerde(), streams.StringSerde()))
	streams.SelectKey(in, func(_, v string) string { return v }).
		Repartition(streams.RepartitionedWith(streams.StringSerde(), streams.StringSerde())).
		To("ts-out", streams.ProducedWith(streams.StringSerde(), streams.StringSerde()))
	topo, err := b.Build()
	must(t, err)
	startApp(t, topo, streams.Properties{
		"application.id":    "ts-app",
		"bootstrap.servers": br.addrs[0],
		"state.dir":         t.TempDir(),
	})

	eventTime := time.UnixMilli(1_000_000)
	produce(t, br.addrs,
		&kgo.Record{Topic: "ts-in", Key: []byte("k1"), Value: []byte("a"), Timestamp: eventTime},
		&kgo.Record{Topic: "ts-in", Key: []byte("k2"), Value: []byte("b"), Timestamp: eventTime.Add(time.Second)})
	got := consumeUntil(t, br.addrs, "ts-out", 60*time.Second, func(recs []*kgo.Record) bool { return len(recs) >= 2 })
	if len(got) != 2 {
		t.Fatalf("read %d records from ts-out, want 2", len(got))
	}
	want := map[string]time.Time{"a": eventTime, "b": eventTime.Add(time.Second)}
	for _, r := range got {
		if !r.Timestamp.Equal(want[string(r.Value)]) {
			t.Errorf("record %q has timestamp %v after the repartition topic, want %v", r.Value, r.Timestamp.UnixMilli(), want[string(r.Value)].UnixMilli())
		}
	}
}
