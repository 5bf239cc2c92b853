package streams_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// restoreBenchKeys is the size of the store the restore benchmark rebuilds.
const restoreBenchKeys = 1_000_000

// BenchmarkRestore1MKeys measures how long a task with a 1M-key store takes
// to run again on an instance that has none of its state: full-restore
// rebuilds the store from its changelog (the baseline); standby-failover
// is the same task moving to an instance that kept a standby replica of it
// (num.standby.replicas=1), from the moment the old owner has left the
// group until the task runs on the new one. Both report the time to
// running and the effective records/s (store size / time).
//
//	go test ./streams/ -run '^$' -bench BenchmarkRestore1MKeys -benchtime 1x
func BenchmarkRestore1MKeys(b *testing.B) {
	br := startBrokerlite(b)
	id := uniq("restore1m")
	in, changelog := id+"-in", id+"-counts-changelog"
	createTopic(b, br.addrs, 1, in, changelog)
	fillChangelog(b, br.addrs, changelog, restoreBenchKeys)
	bld := streams.NewBuilder()
	streams.NewStream(bld, in, streams.ConsumedWith(ss, ss)).GroupByKey().
		Count(streams.MaterializedAs[string, int64]("counts")).ToStream().To(id+"-out", streams.ProducedWith(ss, streams.Int64Serde()))
	topo := build(b, bld)
	createTopic(b, br.addrs, 1, id+"-out")
	task := streams.TaskID{Subtopology: 0, Partition: 0}
	newApp := func(stateDir string, standbys int) *streams.App {
		return newStartedApp(b, topo, streams.Properties{
			"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": stateDir,
			"commit.interval.ms": "1000", "num.standby.replicas": fmt.Sprint(standbys),
		}, fastGroup, streams.WithLogger(slog.New(slog.DiscardHandler)))
	}
	closeApp := func(app *streams.App) { mustClose(b, app, 60*time.Second) }
	waitRunning := func(app *streams.App) {
		deadline := time.Now().Add(5 * time.Minute)
		for !activeTasks(app)[task] {
			if time.Now().After(deadline) {
				b.Fatalf("task never ran: %v", app.Tasks())
			}
			time.Sleep(time.Millisecond)
		}
	}
	report := func(b *testing.B, total time.Duration) {
		b.ReportMetric(total.Seconds()/float64(b.N), "s/running")
		b.ReportMetric(float64(restoreBenchKeys*b.N)/total.Seconds(), "records/s")
		b.ReportMetric(0, "ns/op")
	}
	b.Run("full-restore", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			app := newApp(b.TempDir(), 0)
			waitRunning(app)
			total += time.Since(start)
			closeApp(app)
		}
		report(b, total)
	})
	b.Run("standby-failover", func(b *testing.B) {
		var total time.Duration
		var restored float64
		for i := 0; i < b.N; i++ {
			active := newApp(b.TempDir(), 1)
			waitRunning(active)
			standby := newApp(b.TempDir(), 1)
			var sts []streams.StandbyTaskInfo
			if !testutil.Poll(5*time.Minute, func() bool {
				sts = streams.StandbyTasks(standby)
				return len(sts) == 1 && len(sts[0].Changelogs) == 1 && sts[0].Changelogs[0].Lag == 0
			}) {
				b.Fatalf("standby never caught up: %v", sts)
			}
			closeApp(active)
			before := metric(b, standby, "rivulet_streams_restore_records_total")
			start := time.Now()
			waitRunning(standby)
			total += time.Since(start)
			restored += metric(b, standby, "rivulet_streams_restore_records_total") - before
			closeApp(standby)
		}
		report(b, total)
		// What the promoted task still read from the changelog (the tail
		// its standby had not checkpointed): near 0, against 1M.
		b.ReportMetric(restored/float64(b.N), "restored-records/op")
	})
}

// fillChangelog writes n distinct keys to a count store's changelog.
func fillChangelog(b *testing.B, addrs []string, topic string, n int) {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(100_000))
	must(b, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	val, err := streams.Int64Serde().Serialize(1)
	must(b, err)
	errs := make(chan error, 1)
	for i := 0; i < n; i++ {
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("key-%07d", i)), Value: val}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	must(b, cl.Flush(ctx))
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}
