package streams_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/topology"
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

// TestPartitionsAddedToOneSideOfAJoinStopTheApp: partitions added to one
// input of a join while the application runs break co-partitioning; the
// next rebalance stops every instance with the topics named, as Kafka
// Streams does, instead of running a task that sees only one side (the
// table's store has no changelog, so nothing else stops it).
func TestPartitionsAddedToOneSideOfAJoinStopTheApp(t *testing.T) {
	br := startBrokerlite(t)
	createTopic(t, br.addrs, 2, "cp-left", "cp-right", "cp-out")
	ss := streams.StringSerde()
	b := streams.NewBuilder()
	left := streams.NewStream(b, "cp-left", streams.ConsumedWith(ss, ss))
	right := streams.NewTable(b, "cp-right", streams.ConsumedWith(ss, ss), streams.MaterializedAs[string, string]("cp-store").WithLoggingDisabled())
	streams.JoinWithTable(left, right, func(_ string, l, r string) string { return l + r }).To("cp-out", streams.ProducedWith(ss, ss))
	app := startApp(t, build(t, b), streams.Properties{
		"application.id":    "cp-app",
		"bootstrap.servers": br.addrs[0],
		"state.dir":         t.TempDir(),
	}, streams.WithKgoOpts(kgo.MetadataMinAge(100*time.Millisecond), kgo.MetadataMaxAge(500*time.Millisecond)))
	waitState(t, app, streams.StateRunning, 60*time.Second)

	addPartitions(t, br.addrs, "cp-right", 1)
	// Stopped, or running a task of the new partition.
	testutil.Poll(60*time.Second, func() bool {
		select {
		case <-app.Done():
			return true
		default:
		}
		for _, ti := range app.Tasks() {
			if ti.ID.Partition == 2 {
				return true
			}
		}
		return false
	})
	select {
	case <-app.Done():
	default:
		t.Fatalf("the application still runs (state %s, tasks %v) with cp-left in 2 partitions and cp-right in 3", app.State(), app.Tasks())
	}
	var cop *topology.CopartitionError
	if !errors.As(app.Err(), &cop) || cop.Partitions["cp-left"] != 2 || cop.Partitions["cp-right"] != 3 {
		t.Fatalf("error %v, want cp-left and cp-right not co-partitioned", app.Err())
	}
}

// TestPartitionsAddedToAnAggregationInputStopTheApp: partitions added to
// the input of an aggregation while the application runs make more tasks
// than its changelog has partitions; the next rebalance stops every
// instance naming the changelog, as Kafka Streams does.
func TestPartitionsAddedToAnAggregationInputStopTheApp(t *testing.T) {
	br := startBrokerlite(t)
	createTopic(t, br.addrs, 2, "ag-in", "ag-out")
	ss := streams.StringSerde()
	b := streams.NewBuilder()
	streams.NewStream(b, "ag-in", streams.ConsumedWith(ss, ss)).GroupByKey().
		Count(streams.MaterializedAs[string, int64]("ag-counts")).ToStream().To("ag-out", streams.ProducedWith(ss, streams.Int64Serde()))
	app := startApp(t, build(t, b), streams.Properties{
		"application.id":    "ag-app",
		"bootstrap.servers": br.addrs[0],
		"state.dir":         t.TempDir(),
	}, streams.WithKgoOpts(kgo.MetadataMinAge(100*time.Millisecond), kgo.MetadataMaxAge(500*time.Millisecond)))
	waitState(t, app, streams.StateRunning, 60*time.Second)

	addPartitions(t, br.addrs, "ag-in", 1)
	select {
	case <-app.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("the application still runs (state %s, tasks %v) with ag-in in 3 partitions", app.State(), app.Tasks())
	}
	var ite *streams.InternalTopicPartitionsError
	if !errors.As(app.Err(), &ite) || ite.Topic != "ag-app-ag-counts-changelog" || ite.Partitions != 2 || ite.Want != 3 {
		t.Fatalf("error %v, want the changelog's 2 partitions for 3 tasks", app.Err())
	}
}

// addPartitions adds n partitions to topic.
func addPartitions(t *testing.T, addrs []string, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := adminFor(t, addrs).CreatePartitions(ctx, n, topic)
	must(t, err)
	for _, r := range resp {
		must(t, r.Err)
	}
}
