package streams_test

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/streams"
)

// On brokerlite: a window whose partition receives no more records is
// emitted once its suppression's stream time has stood still for the
// wall-clock close time, also when the held result was restored from the
// buffer's changelog after a restart.
func TestEndToEndSuppressionClosesOnWallClock(t *testing.T) {
	br := startBrokerlite(t)
	id, in, out := uniqTopics(t, br.addrs, "wallclose", 1)
	b := streams.NewBuilder()
	streams.WindowedBy(streams.NewStream(b, in, streams.ConsumedWith(ss, ss)).GroupByKey(), streams.TimeWindowsOfSizeWithNoGrace(time.Second)).
		Count().
		Suppress(streams.UntilWindowCloses(streams.Unbounded()).WithWallClockClose(3 * time.Second).WithName("final")).
		ToStream().To(out)
	topo := build(t, b)
	props := streams.Properties{"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(), "commit.interval.ms": "100"}

	app := startAppNoCleanup(t, topo, props)
	ts := time.UnixMilli(1_700_000_000_100)
	produce(t, br.addrs,
		&kgo.Record{Topic: in, Key: []byte("k"), Value: []byte("a"), Timestamp: ts},
		&kgo.Record{Topic: in, Key: []byte("k"), Value: []byte("b"), Timestamp: ts.Add(100 * time.Millisecond)})
	// Stop once the buffer holds the window's count of 2, normally well
	// before the wall-clock close.
	consumeUntil(t, br.addrs, id+"-final-store-changelog", 30*time.Second, func(rs []*kgo.Record) bool {
		return len(rs) >= 2
	})
	waitCommitted(t, br.addrs, id, in, 2)
	closeApp(t, app)

	app = startAppNoCleanup(t, topo, props)
	defer closeApp(t, app)
	rs := consumeUntil(t, br.addrs, out, 30*time.Second, func(rs []*kgo.Record) bool { return len(rs) > 0 })
	if len(rs) != 1 || !strings.Contains(string(rs[0].Key), "k") || i64(rs[0].Value) != 2 {
		var got []string
		for _, r := range rs {
			got = append(got, string(r.Key)+"="+string(r.Value))
		}
		t.Fatalf("results %v, want one window of k with count 2", got)
	}
}
