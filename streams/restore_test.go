package streams_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// metricValue reads one of the app's metrics (summed over its series).
func metricValue(t testing.TB, app *streams.App, name string) float64 {
	t.Helper()
	vs, ok := metricValues(t, app, name)
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	v := 0.0
	for _, x := range vs {
		v += x
	}
	return v
}

// TestRestoreDoesNotStopOtherTasks fills the changelog of task 0_0's store
// with many records before the application starts, and gives task 0_1 input
// to process. With one thread, 0_1 processes its input while 0_0 is still
// restoring (the restore goes in slices between processing), the progress
// shows in App.Restores, the metrics and log lines, and the restore ends
// with every record applied.
func TestRestoreDoesNotStopOtherTasks(t *testing.T) {
	br := startBrokerlite(t)
	const restoreRecords = 200_000
	in, out := "rs-in", "rs-out"
	createTopic(t, br.addrs, 2, in, out, "rs-counts-changelog")
	// The changelog of 0_0, as a previous run would have left it.
	cl, err := kgo.NewClient(kgo.SeedBrokers(br.addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(1<<20))
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	val := streams.Int64Serde()
	for i := 0; i < restoreRecords; i++ {
		v, _ := val.Serialize(int64(i))
		cl.Produce(ctx, &kgo.Record{Topic: "rs-counts-changelog", Partition: 0, Key: []byte(fmt.Sprintf("r%07d", i)), Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	must(t, cl.Flush(ctx))
	cancel()
	cl.Close()
	// Input for 0_1 only.
	var recs []*kgo.Record
	for i := 0; i < 100; i++ {
		recs = append(recs, &kgo.Record{Topic: in, Partition: 1, Key: []byte(fmt.Sprintf("k%d", i%10)), Value: []byte("v")})
	}
	pcl, err := kgo.NewClient(kgo.SeedBrokers(br.addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	must(t, err)
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	must(t, pcl.ProduceSync(ctx, recs...).FirstErr())
	cancel()
	pcl.Close()

	b := streams.NewBuilder()
	src := streams.NewStream(b, in, streams.ConsumedWith(streams.StringSerde(), streams.StringSerde()))
	src.GroupByKey().Count(streams.MaterializedAs[string, int64]("counts").WithStoreType(streams.InMemoryStore)).
		ToStream().To(out, streams.ProducedWith(streams.StringSerde(), streams.Int64Serde()))
	topo, err := b.Build()
	must(t, err)
	logs := new(testutil.Buffer)
	app := startApp(t, topo, streams.Properties{
		"application.id": "rs", "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
		"commit.interval.ms": "100",
	}, streams.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))

	// 0_1 processes its 100 records while 0_0 restores.
	deadline := time.Now().Add(60 * time.Second)
	for metricValue(t, app, "rivulet_streams_process_total") < 100 {
		if time.Now().After(deadline) {
			t.Fatalf("task 0_1 never processed its input; logs:\n%s", logs)
		}
		time.Sleep(time.Millisecond)
	}
	rs := streams.Restores(app)
	remaining := metricValue(t, app, "rivulet_streams_restore_remaining_records")
	if len(rs) != 1 || rs[0].Task.String() != "0_0" || rs[0].Store != "counts" || rs[0].Remaining <= 0 {
		t.Fatalf("0_1 processed its input, but 0_0 is not restoring: %+v", rs)
	}
	if rs[0].EndOffset != restoreRecords || rs[0].StartOffset != 0 || rs[0].Restored+rs[0].Remaining != restoreRecords {
		t.Errorf("restore progress %+v: want start 0, end %d, restored+remaining = end", rs[0], restoreRecords)
	}
	if remaining <= 0 || remaining > restoreRecords {
		t.Errorf("restore_remaining_records = %v during the restore", remaining)
	}
	t.Logf("0_1 processed its input with 0_0 at %d of %d records restored", rs[0].Restored, restoreRecords)

	waitState(t, app, streams.StateRunning, 90*time.Second)
	if rs := streams.Restores(app); len(rs) != 0 {
		t.Fatalf("restores left after RUNNING: %+v", rs)
	}
	if n := metricValue(t, app, "rivulet_streams_restore_records_total"); n != restoreRecords {
		t.Errorf("restore_records_total = %v, want %d", n, restoreRecords)
	}
	if n := metricValue(t, app, "rivulet_streams_restore_remaining_records"); n != 0 {
		t.Errorf("restore_remaining_records = %v after the restore", n)
	}
	l := logs.String()
	for _, want := range []string{
		`msg="streams: restoring store"`,
		`msg="streams: restore progress"`,
		fmt.Sprintf(`msg="streams: restored store" thread=rs-StreamThread-1 task=0_0 store=counts records=%d to=%d`, restoreRecords, restoreRecords),
	} {
		if !strings.Contains(l, want) {
			t.Errorf("no log line %s; logs:\n%s", want, l)
		}
	}
}

// TestRestoreOfEmptiedChangelogEnds: a store restored from the beginning
// of a changelog whose records were all deleted (retention of a changelog
// with the delete policy, or DeleteRecords, as here) has nothing to read
// below the log start offset: its restore ends at once and the task
// processes, counting from zero.
func TestRestoreOfEmptiedChangelogEnds(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	must(t, err)
	t.Cleanup(c.Close)
	addrs := c.ListenAddrs()
	const app = "emptied"
	in, out, changelog := app+"-in", app+"-out", app+"-sums-changelog"
	createTopic(t, addrs, 1, in, out, changelog)
	var old []*kgo.Record
	for range 5 {
		old = append(old, &kgo.Record{Topic: changelog, Key: []byte("a"), Value: []byte("deleted")})
	}
	produce(t, addrs, old...)
	adm := adminFor(t, addrs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, changelog)
	must(t, err)
	dr, err := adm.DeleteRecords(ctx, ends.Offsets())
	must(t, err)
	must(t, dr.Error())

	startApp(t, sumTopology(t, in, out), streams.Properties{
		"application.id":    app,
		"bootstrap.servers": strings.Join(addrs, ","),
		"state.dir":         t.TempDir(),
	})
	produce(t, addrs, &kgo.Record{Topic: in, Key: []byte("a"), Value: []byte("x")})
	recs := consumeWith(t, addrs, out, 60*time.Second, func(rs []*kgo.Record) bool { return len(rs) > 0 })
	if len(recs) != 1 || i64(recs[0].Value) != 1 {
		t.Fatalf("output %d records, want one count of 1 (the restore of the emptied changelog never ended?)", len(recs))
	}
}
