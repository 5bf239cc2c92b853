package streams_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/brokerlite"
	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// startWindowBroker runs brokerlite in this process on a temporary
// directory, for the window and join end-to-end test.
func startWindowBroker(t testing.TB) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := brokerlite.Start(ctx, brokerlite.Config{
		Properties: map[string]string{
			"listeners":                        "PLAINTEXT://127.0.0.1:0",
			"log.dirs":                         t.TempDir(),
			"group.initial.rebalance.delay.ms": "0",
			"offsets.topic.num.partitions":     "4",
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	must(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b.Close(ctx)
	})
	return []string{b.Addr()}
}

// produceToEveryPartition sends one record with the given key prefix,
// value and timestamp to each partition of topic: it moves stream time of
// every task forward.
func produceToEveryPartition(t testing.TB, addrs []string, topic string, partitions int32, key, value string, ts time.Time) {
	t.Helper()
	var recs []*kgo.Record
	for p := int32(0); p < partitions; p++ {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Key: []byte(fmt.Sprintf("%s-%d", key, p)), Value: []byte(value), Timestamp: ts})
	}
	produceWith(t, addrs, []kgo.Opt{kgo.RecordPartitioner(kgo.ManualPartitioner())}, recs...)
}

// TestEndToEndWindowsAndJoinsOnBrokerlite runs a suppressed windowed count
// and a stream-stream left join on brokerlite with two stream threads and
// three partitions per topic, and checks that the outputs hold exactly the
// expected final results: one count per key and window, and one join
// result per order (joined with its payment, or with null once its window
// closed).
func TestEndToEndWindowsAndJoinsOnBrokerlite(t *testing.T) {
	addrs := startWindowBroker(t)
	const parts = 3
	createTopic(t, addrs, parts, "wj-events", "wj-orders", "wj-payments", "wj-counts", "wj-joined")

	const window = 1000 * time.Millisecond
	b := streams.NewBuilder()
	events := streams.NewStream(b, "wj-events", streams.ConsumedWith(ss, ss))
	counts := streams.WindowedBy(events.GroupByKey(), streams.TimeWindowsOfSizeAndGrace(window, 500*time.Millisecond)).
		Count(streams.MaterializedAs[string, int64]("wj-counts-store"))
	counts.Suppress(streams.UntilWindowCloses(streams.Unbounded()).WithName("wj-final")).
		ToStream().To("wj-counts")

	orders := streams.NewStream(b, "wj-orders", streams.ConsumedWith(ss, ss))
	payments := streams.NewStream(b, "wj-payments", streams.ConsumedWith(ss, ss))
	streams.LeftJoin(orders, payments, func(_ string, o string, p *string) string {
		if p == nil {
			return o + "+null"
		}
		return o + "+" + *p
	}, streams.JoinWindowsOfTimeDifferenceAndGrace(window, 200*time.Millisecond),
		streams.StreamJoinedWith(ss, ss, ss).WithStoreName("wj-join")).To("wj-joined")
	topo := build(t, b)

	app := startApp(t, topo, streams.Properties{
		"application.id":     "wj-app",
		"bootstrap.servers":  strings.Join(addrs, ","),
		"num.stream.threads": "2",
		"commit.interval.ms": "100",
		"state.dir":          t.TempDir(),
	})

	// Every task runs, spread over both threads, before any input arrives.
	waitTasksOnThreads(t, app, 2*parts, 2)

	base := time.UnixMilli(1_700_000_000_000).Truncate(window)
	at := func(ms int64) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }

	// Events: 8 keys over 4 windows, some out of order within grace.
	wantCounts := map[string]int64{}
	var recs []*kgo.Record
	for i := 0; i < 160; i++ {
		key := fmt.Sprintf("user-%d", i%8)
		ms := int64(i) * 25 // 0 .. 3975: windows 0..3
		if i%10 == 9 && ms >= 300 {
			ms -= 300 // out of order, within the 500ms grace
		}
		w := ms / 1000 * 1000
		wantCounts[fmt.Sprintf("%s@%d", key, base.UnixMilli()+w)]++
		recs = append(recs, &kgo.Record{Topic: "wj-events", Key: []byte(key), Value: []byte("e"), Timestamp: at(ms)})
	}
	produce(t, addrs, recs...)
	// Orders and payments: even orders are paid within the window. They
	// reach the broker one at a time in timestamp order, as a join's inputs
	// must for its results not to depend on arrival: a fetch that saw every
	// order but no payment yet would move stream time past the windows of
	// the early orders, and a left join emits an unpaid order then.
	wantJoined := map[string]string{}
	var joinRecs []*kgo.Record
	for i := 0; i < 30; i++ {
		id := fmt.Sprintf("order-%02d", i)
		joinRecs = append(joinRecs, &kgo.Record{Topic: "wj-orders", Key: []byte(id), Value: []byte("o" + id[6:]), Timestamp: at(int64(i) * 100)})
		if i%2 == 0 {
			joinRecs = append(joinRecs, &kgo.Record{Topic: "wj-payments", Key: []byte(id), Value: []byte("paid"), Timestamp: at(int64(i)*100 + 400)})
			wantJoined[id] = "o" + id[6:] + "+paid"
		} else {
			wantJoined[id] = "o" + id[6:] + "+null"
		}
	}
	sort.SliceStable(joinRecs, func(i, j int) bool { return joinRecs[i].Timestamp.Before(joinRecs[j].Timestamp) })
	joinProducer, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ProducerLinger(0))
	must(t, err)
	defer joinProducer.Close()
	for _, r := range joinRecs {
		must(t, produceSync(joinProducer, 20*time.Second, r))
	}
	// Move every task's stream time far ahead: every window closes.
	produceToEveryPartition(t, addrs, "wj-events", parts, "zz-close", "e", at(60_000))
	produceToEveryPartition(t, addrs, "wj-orders", parts, "zz-close", "close", at(60_000))

	gotCounts, dupCounts := consumeWindowedCounts(t, addrs, "wj-counts", window, len(wantCounts))
	if fmt.Sprint(sortedMap(gotCounts)) != fmt.Sprint(sortedMap(wantCounts)) || dupCounts != 0 {
		t.Fatalf("final counts (%d duplicates)\n got %v\nwant %v\nstate %s err %v", dupCounts, sortedMap(gotCounts), sortedMap(wantCounts), app.State(), app.Err())
	}

	gotJoined := map[string]string{}
	var dupJoined []string
	consumeUntil(t, addrs, "wj-joined", 60*time.Second, func(rs []*kgo.Record) bool {
		gotJoined, dupJoined = map[string]string{}, nil
		for _, r := range rs {
			if strings.HasPrefix(string(r.Key), "zz-close") {
				continue
			}
			if old, ok := gotJoined[string(r.Key)]; ok {
				dupJoined = append(dupJoined, fmt.Sprintf("%s: %s then %s (p%d@%d)", r.Key, old, r.Value, r.Partition, r.Offset))
			}
			gotJoined[string(r.Key)] = string(r.Value)
		}
		return len(gotJoined) >= len(wantJoined)
	})
	if fmt.Sprint(sortedStrings(gotJoined)) != fmt.Sprint(sortedStrings(wantJoined)) || len(dupJoined) != 0 {
		t.Fatalf("join results (duplicates %v)\n got %v\nwant %v\nstate %s err %v\ntasks %+v", dupJoined, sortedStrings(gotJoined), sortedStrings(wantJoined), app.State(), app.Err(), app.Tasks())
	}
}

func sortedStrings(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// TestEndToEndSuppressionSurvivesRestart holds windows in a suppression
// buffer, stops the application and starts it again on an empty state
// directory (as if its tasks moved to another instance): the buffer and
// the window store come back from their changelogs, and each window's
// final result is emitted exactly once after the restart.
func TestEndToEndSuppressionSurvivesRestart(t *testing.T) {
	addrs := startWindowBroker(t)
	const parts = 2
	createTopic(t, addrs, parts, "sr-events", "sr-counts")
	const window = 1000 * time.Millisecond
	b := streams.NewBuilder()
	events := streams.NewStream(b, "sr-events", streams.ConsumedWith(ss, ss))
	streams.WindowedBy(events.GroupByKey(), streams.TimeWindowsOfSizeAndGrace(window, 10*time.Second)).
		Count(streams.MaterializedAs[string, int64]("sr-store")).
		Suppress(streams.UntilWindowCloses(streams.Unbounded()).WithName("sr-final")).
		ToStream().To("sr-counts")
	topo := build(t, b)
	props := func() streams.Properties {
		return streams.Properties{
			"application.id":     "sr-app",
			"bootstrap.servers":  strings.Join(addrs, ","),
			"num.stream.threads": "2",
			"commit.interval.ms": "100",
			"state.dir":          t.TempDir(),
		}
	}
	base := time.UnixMilli(1_700_000_000_000).Truncate(window)
	want := map[string]int64{}
	var recs []*kgo.Record
	for i := 0; i < 40; i++ {
		key := fmt.Sprintf("k%d", i%4)
		ms := int64(i) * 50 // windows 0 and 1
		want[fmt.Sprintf("%s@%d", key, base.UnixMilli()+ms/1000*1000)]++
		recs = append(recs, &kgo.Record{Topic: "sr-events", Key: []byte(key), Value: []byte("e"), Timestamp: base.Add(time.Duration(ms) * time.Millisecond)})
	}

	app := startAppNoCleanup(t, topo, props())
	waitTasksOnThreads(t, app, parts, 2)
	produce(t, addrs, recs...)
	// Wait until the buffer's changelog holds every window (4 keys x 2
	// windows), then stop: with 10s of grace, none has closed yet.
	consumeUntil(t, addrs, "sr-app-sr-final-store-changelog", 30*time.Second, func(rs []*kgo.Record) bool {
		live := map[string]bool{}
		for _, r := range rs {
			live[string(r.Key)] = r.Value != nil
		}
		n := 0
		for _, ok := range live {
			if ok {
				n++
			}
		}
		return n == len(want)
	})
	// Stop once the input is committed, so the close commits nothing more
	// (a commit refused during a rebalance would leave input to process
	// again, which at-least-once allows but this test does not expect).
	waitCommitted(t, addrs, "sr-app", "sr-events", int64(len(recs)))
	closeApp(t, app)
	early := consumeUntil(t, addrs, "sr-counts", time.Second, func([]*kgo.Record) bool { return false })
	if len(early) != 0 {
		t.Fatalf("%d results before any window closed", len(early))
	}

	app = startAppNoCleanup(t, topo, props())
	defer closeApp(t, app)
	waitTasksOnThreads(t, app, parts, 2)
	produceToEveryPartition(t, addrs, "sr-events", parts, "zz-close", "e", base.Add(time.Minute))
	got, dups := consumeWindowedCounts(t, addrs, "sr-counts", window, len(want))
	if fmt.Sprint(sortedMap(got)) != fmt.Sprint(sortedMap(want)) || dups != 0 {
		t.Fatalf("final counts after restart (%d duplicates)\n got %v\nwant %v\nstate %s err %v", dups, sortedMap(got), sortedMap(want), app.State(), app.Err())
	}
}

// consumeWindowedCounts reads the windowed counts in topic (keys of windows
// of size window) until it has n of them, or for 60 s; it returns the last
// count of each "key@windowStart" and how many records repeated one.
func consumeWindowedCounts(t *testing.T, addrs []string, topic string, window time.Duration, n int) (map[string]int64, int) {
	t.Helper()
	windowed := streams.TimeWindowedSerde(ss, window)
	got := map[string]int64{}
	dups := 0
	consumeUntil(t, addrs, topic, 60*time.Second, func(rs []*kgo.Record) bool {
		got, dups = map[string]int64{}, 0
		for _, r := range rs {
			k, err := windowed.Deserialize(r.Key)
			if err != nil {
				t.Fatalf("windowed key %x: %v", r.Key, err)
			}
			id := fmt.Sprintf("%s@%d", k.Key, k.Window.Start)
			if _, ok := got[id]; ok {
				dups++
			}
			got[id] = i64(r.Value)
		}
		return len(got) >= n
	})
	return got, dups
}

func startAppNoCleanup(t testing.TB, topo *streams.Topology, props streams.Properties) *streams.App {
	t.Helper()
	return newStartedApp(t, topo, props, fastGroup, streams.WithLogger(testLogger(t)))
}

func closeApp(t testing.TB, app *streams.App) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

// waitTasksOnThreads polls until the app runs n tasks spread over the
// given number of threads, and the assignment has not changed for two
// seconds: a cooperative rebalance finishes with a follow-up one, and a
// task that moves between a commit and the next may process some input
// again (at-least-once), which these tests, checking for exact results,
// must not see.
func waitTasksOnThreads(t testing.TB, app *streams.App, n, threads int) {
	t.Helper()
	var last string
	var since time.Time
	var tasks []streams.TaskInfo
	if !testutil.Poll(30*time.Second, func() bool {
		tasks = app.Tasks()
		seen := map[string]bool{}
		var sig []string
		for _, ti := range tasks {
			seen[ti.Thread] = true
			sig = append(sig, ti.ID.String()+"@"+ti.Thread)
		}
		cur := strings.Join(sig, ",")
		if cur != last {
			last, since = cur, time.Now()
		}
		return len(tasks) == n && len(seen) == threads && time.Since(since) >= 2*time.Second
	}) {
		t.Fatalf("tasks %+v, want %d on %d threads", tasks, n, threads)
	}
}

// waitCommitted polls until group's committed offsets on topic add up to
// total.
func waitCommitted(t testing.TB, addrs []string, group, topic string, total int64) {
	t.Helper()
	adm := adminFor(t, addrs)
	var sum int64
	var err error
	if !testutil.Poll(30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var offs kadm.OffsetResponses
		offs, err = adm.FetchOffsets(ctx, group)
		cancel()
		sum = 0
		if err == nil {
			offs.Each(func(o kadm.OffsetResponse) {
				if o.Topic == topic && o.Err == nil {
					sum += o.At
				}
			})
		}
		return sum >= total
	}) {
		t.Fatalf("group %s committed %d of %d records of %s (err %v)", group, sum, total, topic, err)
	}
}

// TestEndToEndSuppressionBufferFullStopsTheApp: a suppression buffer
// configured to shut down when full stops the application (with the
// default uncaught-error handler) and App.Err says why.
func TestEndToEndSuppressionBufferFullStopsTheApp(t *testing.T) {
	addrs := startWindowBroker(t)
	createTopic(t, addrs, 1, "bf-events", "bf-out")
	b := streams.NewBuilder()
	events := streams.NewStream(b, "bf-events", streams.ConsumedWith(ss, ss))
	streams.WindowedBy(events.GroupByKey(), streams.TimeWindowsOfSizeAndGrace(time.Second, time.Hour)).Count().
		Suppress(streams.UntilWindowCloses(streams.MaxRecords(2).ShutDownWhenFull()).WithName("bf-final")).
		ToStream().To("bf-out")
	// The counts reach the suppression buffer when the windowed store's
	// cache flushes, at the first commit.
	app := startAppNoCleanup(t, build(t, b), streams.Properties{
		"application.id":     "bf-app",
		"bootstrap.servers":  strings.Join(addrs, ","),
		"state.dir":          t.TempDir(),
		"commit.interval.ms": "100",
	})
	defer closeApp(t, app)
	now := time.UnixMilli(1_700_000_000_000)
	produce(t, addrs,
		&kgo.Record{Topic: "bf-events", Key: []byte("a"), Value: []byte("e"), Timestamp: now},
		&kgo.Record{Topic: "bf-events", Key: []byte("b"), Value: []byte("e"), Timestamp: now},
		&kgo.Record{Topic: "bf-events", Key: []byte("c"), Value: []byte("e"), Timestamp: now})
	waitState(t, app, streams.StateError, 30*time.Second)
	var full *streams.BufferFullError
	if err := app.Err(); !errors.As(err, &full) || full.Records != 3 || full.MaxRecords != 2 {
		t.Fatalf("app error %v, want a BufferFullError for 3 of 2 records", err)
	}
}

// TestEndToEndGlobalTableJoinOnEveryInstance runs two instances of one
// application: each processes part of the stream's partitions, and each
// joins its records with the whole global table, which every instance
// loads in full before processing.
func TestEndToEndGlobalTableJoinOnEveryInstance(t *testing.T) {
	addrs := startWindowBroker(t)
	createTopic(t, addrs, 4, "gt-clicks", "gt-out")
	createTopic(t, addrs, 3, "gt-users")
	var users []*kgo.Record
	for i := 0; i < 20; i++ {
		users = append(users, &kgo.Record{Topic: "gt-users", Key: []byte(fmt.Sprintf("u%d", i)), Value: []byte(fmt.Sprintf("name%d", i))})
	}
	produce(t, addrs, users...)
	b := streams.NewBuilder()
	clicks := streams.NewStream(b, "gt-clicks", streams.ConsumedWith(ss, ss))
	g := streams.NewGlobalTable(b, "gt-users", streams.ConsumedWith(ss, ss))
	streams.LeftJoinWithGlobalTable(clicks, g, func(_, v string) string { return v }, func(_, v string, name *string) string {
		if name == nil {
			return v + "=?"
		}
		return v + "=" + *name
	}).To("gt-out")
	topo := build(t, b)
	var apps []*streams.App
	for i := 0; i < 2; i++ {
		app := startAppNoCleanup(t, topo, streams.Properties{
			"application.id":    "gt-app",
			"bootstrap.servers": strings.Join(addrs, ","),
			"state.dir":         t.TempDir(),
		})
		defer closeApp(t, app)
		apps = append(apps, app)
	}
	// Both instances run tasks before the clicks arrive.
	if !testutil.Poll(30*time.Second, func() bool {
		return len(apps[0].Tasks()) != 0 && len(apps[1].Tasks()) != 0 && len(apps[0].Tasks())+len(apps[1].Tasks()) == 4
	}) {
		t.Fatalf("tasks %v and %v", apps[0].Tasks(), apps[1].Tasks())
	}
	want := map[string]string{}
	var recs []*kgo.Record
	for i := 0; i < 40; i++ {
		k, u := fmt.Sprintf("c%d", i), fmt.Sprintf("u%d", i%20)
		recs = append(recs, &kgo.Record{Topic: "gt-clicks", Key: []byte(k), Value: []byte(u)})
		want[k] = u + "=name" + u[1:]
	}
	produce(t, addrs, recs...)
	got := map[string]string{}
	consumeUntil(t, addrs, "gt-out", 30*time.Second, func(rs []*kgo.Record) bool {
		for _, r := range rs {
			got[string(r.Key)] = string(r.Value)
		}
		return len(got) >= len(want)
	})
	if fmt.Sprint(sortedStrings(got)) != fmt.Sprint(sortedStrings(want)) {
		t.Fatalf("joined\n got %v\nwant %v", sortedStrings(got), sortedStrings(want))
	}
}
