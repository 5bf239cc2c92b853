package streams_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

func renderWindowed(kvs []streams.KeyValue[streams.Windowed[string], int64]) string {
	var parts []string
	for _, kv := range kvs {
		parts = append(parts, fmt.Sprintf("%s@%d-%d=%d", kv.Key.Key, kv.Key.Window.Start, kv.Key.Window.End, kv.Value))
	}
	return strings.Join(parts, " ")
}

// TestQueryWindowAndSessionStores reads the stores of a tumbling-window
// count and a session count of a running application (two threads, two
// tasks) by key, by time range and in full.
func TestQueryWindowAndSessionStores(t *testing.T) {
	br := startBrokerlite(t)
	id := uniq("iqw")
	in := id + "-in"
	createTopic(t, br.addrs, 2, in)
	b := streams.NewBuilder()
	grouped := streams.NewStream(b, in, streams.ConsumedWith(ss, ss)).GroupByKey()
	streams.WindowedBy(grouped, streams.TimeWindowsOfSizeWithNoGrace(time.Minute)).
		Count(streams.MaterializedAs[string, int64]("per-minute").WithRetention(time.Hour))
	streams.WindowedBySession(grouped, streams.SessionWindowsOfInactivityGapWithNoGrace(5*time.Minute)).
		Count(streams.MaterializedAs[string, int64]("sessions").WithRetention(time.Hour))
	topo := build(t, b)
	app := startApp(t, topo, streams.Properties{
		"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
		"commit.interval.ms": "100", "num.stream.threads": "2",
	})
	if _, err := streams.QueryWindowStore[string, int64](app, "nope"); err == nil {
		t.Fatal("query of an unknown store: no error")
	}
	wq, err := streams.QueryWindowStore[string, int64](app, "per-minute")
	must(t, err)
	sq, err := streams.QuerySessionStore[string, int64](app, "sessions")
	must(t, err)

	at := func(key string, ms int64) *kgo.Record {
		return &kgo.Record{Topic: in, Key: []byte(key), Value: []byte("x"), Timestamp: time.UnixMilli(ms)}
	}
	produce(t, br.addrs,
		at("alice", 1_000), at("alice", 30_000), at("bob", 45_000),
		at("alice", 70_000), at("bob", 400_000), at("alice", 1_000_000))

	want := "alice@0-60000=2 bob@0-60000=1 alice@60000-120000=1 bob@360000-420000=1 alice@960000-1020000=1"
	var windows []streams.KeyValue[streams.Windowed[string], int64]
	if !testutil.Poll(30*time.Second, func() bool {
		windows, _, err = wq.All(0)
		if err != nil && !errors.Is(err, streams.ErrStoreNotAvailable) {
			t.Fatal(err)
		}
		return err == nil && renderWindowed(windows) == want
	}) {
		t.Fatalf("window store All = %q (err %v), want %q", renderWindowed(windows), err, want)
	}
	got, err := wq.Fetch("alice", 0, 60_000)
	must(t, err)
	if r := renderWindowed(got); r != "alice@0-60000=2 alice@60000-120000=1" {
		t.Errorf("Fetch(alice, 0, 60000) = %s", r)
	}
	if v, ok, err := wq.FetchOne("bob", 360_000); err != nil || !ok || v != 1 {
		t.Errorf("FetchOne(bob, 360000) = %d, %v, %v", v, ok, err)
	}
	if _, ok, err := wq.FetchOne("bob", 60_000); err != nil || ok {
		t.Errorf("FetchOne of a missing window: %v, %v", ok, err)
	}
	some, more, err := wq.FetchAll(0, 100_000, 2)
	must(t, err)
	if r := renderWindowed(some); r != "alice@0-60000=2 bob@0-60000=1" || !more {
		t.Errorf("FetchAll(0, 100000, limit 2) = %s, more %v", r, more)
	}

	sessions, err := sq.Fetch("alice")
	must(t, err)
	if r := renderWindowed(sessions); r != "alice@1000-70000=3 alice@1000000-1000000=1" {
		t.Errorf("sessions of alice = %s", r)
	}
	found, err := sq.FindSessions("bob", 0, 100_000)
	must(t, err)
	if r := renderWindowed(found); r != "bob@45000-45000=1" {
		t.Errorf("FindSessions(bob, 0, 100000) = %s", r)
	}
	all, more, err := sq.All(0)
	must(t, err)
	if len(all) != 4 || more {
		t.Errorf("all sessions = %s", renderWindowed(all))
	}
}
