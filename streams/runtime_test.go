package streams_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// metric returns the value of a counter or gauge of the app's private
// registry.
func metric(t testing.TB, app *streams.App, name string) float64 {
	t.Helper()
	if vs, _ := metricValues(t, app, name); len(vs) > 0 {
		return vs[0]
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// metricValues returns the value of each counter or gauge series of the
// metric name in the app's private registry, and whether the registry has
// that metric.
func metricValues(t testing.TB, app *streams.App, name string) ([]float64, bool) {
	t.Helper()
	mfs, err := app.Metrics().Gather()
	must(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var vs []float64
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				vs = append(vs, m.GetCounter().GetValue())
			case m.GetGauge() != nil:
				vs = append(vs, m.GetGauge().GetValue())
			}
		}
		return vs, true
	}
	return nil, false
}

func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

func waitCounts(t *testing.T, addrs []string, topic string, want map[string]int64) {
	t.Helper()
	var got map[string]int64
	consumeUntil(t, addrs, topic, 30*time.Second, func(rs []*kgo.Record) bool {
		got = lastValues(rs, i64)
		return fmt.Sprint(sortedMap(got)) == fmt.Sprint(sortedMap(want))
	})
	if fmt.Sprint(sortedMap(got)) != fmt.Sprint(sortedMap(want)) {
		t.Fatalf("counts\n got %v\nwant %v", sortedMap(got), sortedMap(want))
	}
}

func lines(topic string, ls ...string) []*kgo.Record {
	var out []*kgo.Record
	for i, l := range ls {
		out = append(out, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint(i)), Value: []byte(l)})
	}
	return out
}

func addWords(want map[string]int64, ls ...string) {
	for _, l := range ls {
		for _, w := range strings.Fields(l) {
			want[w]++
		}
	}
}

// wordCountTopics creates the input and output topics of a word count,
// with partitions each, named after prefix made unique; it returns that
// name (the application id) and the two topics.
func uniqTopics(t testing.TB, addrs []string, prefix string, partitions int32) (id, in, out string) {
	t.Helper()
	id = uniq(prefix)
	in, out = id+"-in", id+"-out"
	createTopic(t, addrs, partitions, in, out)
	return id, in, out
}

// produceWords writes the lines ls to in, adds their words to want and
// waits until the counts in out are want.
func produceWords(t *testing.T, addrs []string, in, out string, want map[string]int64, ls ...string) {
	t.Helper()
	produce(t, addrs, lines(in, ls...)...)
	addWords(want, ls...)
	waitCounts(t, addrs, out, want)
}

// runWordCount starts an app of topo, writes ls and waits for the counts
// as produceWords does, then closes the app and returns it.
func runWordCount(t *testing.T, topo *streams.Topology, props streams.Properties, addrs []string, in, out string, want map[string]int64, ls []string, opts ...streams.Option) *streams.App {
	t.Helper()
	app := newStartedApp(t, topo, props, opts...)
	produceWords(t, addrs, in, out, want, ls...)
	mustClose(t, app, 30*time.Second)
	return app
}

// TestEndToEndRestartRestoresState stops and restarts a word count: on the
// same state directory nothing is restored (the checkpoints are valid), on
// an empty one the store is rebuilt from its changelog; counts continue
// either way.
func TestEndToEndRestartRestoresState(t *testing.T) {
	br := startBrokerlite(t)
	id, in, out := uniqTopics(t, br.addrs, "restart", 2)
	topo := buildWordCount(t, in, out)
	dir := t.TempDir()
	props := func(stateDir string) streams.Properties {
		return streams.Properties{
			"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": stateDir,
			"commit.interval.ms": "100", "num.stream.threads": "2",
		}
	}
	want := map[string]int64{}
	run := func(stateDir string, ls ...string) *streams.App {
		return runWordCount(t, topo, props(stateDir), br.addrs, in, out, want, ls, fastGroup, streams.WithLogger(testLogger(t)))
	}
	run(dir, "a b c", "a b", "a")
	ckpts, _ := filepath.Glob(filepath.Join(dir, id, "*", "counts", ".checkpoint"))
	if len(ckpts) == 0 {
		t.Fatalf("no checkpoint files under %s", dir)
	}
	app := run(dir, "c d", "a")
	if n := metric(t, app, "rivulet_streams_restore_records_total"); n != 0 {
		t.Errorf("restart on the same state dir restored %v records, want 0 (valid checkpoints)", n)
	}
	app = run(t.TempDir(), "d e", "b")
	if n := metric(t, app, "rivulet_streams_restore_records_total"); n == 0 {
		t.Errorf("restart on an empty state dir restored nothing")
	}
	// A damaged checkpoint wipes the store and restores it.
	for _, c := range ckpts {
		must(t, os.WriteFile(c, []byte("garbage"), 0o644))
	}
	app = run(dir, "e f")
	if n := metric(t, app, "rivulet_streams_restore_records_total"); n == 0 {
		t.Errorf("restart with corrupt checkpoints restored nothing")
	}
}

// TestEndToEndDeadLetterTopic sends undecodable records to the dead-letter
// topic and goes on.
func TestEndToEndDeadLetterTopic(t *testing.T) {
	for _, br := range brokers(t) {
		t.Run(br.name, func(t *testing.T) {
			id := uniq("dlq")
			in, out, dlq := id+"-in", id+"-out", id+"-dlq"
			createTopic(t, br.addrs, 1, in, out, dlq)
			b := streams.NewBuilder()
			streams.NewStream(b, in, streams.ConsumedWith(ss, streams.Int64Serde())).To(out, streams.ProducedWith(ss, streams.Int64Serde()))
			app := startApp(t, build(t, b), streams.Properties{
				"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(), "commit.interval.ms": "100",
				"default.deserialization.exception.handler": "org.apache.kafka.streams.errors.LogAndContinueExceptionHandler",
				"errors.dead.letter.queue.topic.name":       dlq,
			})
			good, _ := streams.Int64Serde().Serialize(7)
			produce(t, br.addrs,
				&kgo.Record{Topic: in, Key: []byte("k"), Value: []byte("not eight bytes!!")},
				&kgo.Record{Topic: in, Key: []byte("k"), Value: good})
			rs := consumeUntil(t, br.addrs, out, 30*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= 1 })
			if len(rs) != 1 || i64(rs[0].Value) != 7 {
				t.Fatalf("output %v", rs)
			}
			d := consumeUntil(t, br.addrs, dlq, 30*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= 1 })
			if len(d) != 1 || string(d[0].Value) != "not eight bytes!!" {
				t.Fatalf("dead-letter topic %v", d)
			}
			hdr := map[string]string{}
			for _, h := range d[0].Headers {
				hdr[h.Key] = string(h.Value)
			}
			if hdr[streams.HeaderErrorTopic] != in || hdr[streams.HeaderErrorPartition] != "0" || hdr[streams.HeaderErrorOffset] != "0" {
				t.Errorf("headers %v", hdr)
			}
			if n := metric(t, app, "rivulet_streams_deserialization_errors_total"); n != 1 {
				t.Errorf("deserialization errors metric %v", n)
			}
		})
	}
}

// failOnce fails the first time it sees "boom" (or always, when always is
// set), for the uncaught-error handler tests.
func failingTopology(t *testing.T, in, out string, always bool, failed *atomic.Int64) *streams.Topology {
	b := streams.NewBuilder()
	s := streams.NewStream(b, in, streams.ConsumedWith(ss, ss))
	streams.Process(s, streams.ProcessorFunc(func(ctx streams.ProcessorContext[string, string], r streams.Record[string, string]) error {
		if r.Value == "boom" && (always || failed.Load() == 0) {
			failed.Add(1)
			return errors.New("boom: processor failure")
		}
		return ctx.Forward(r)
	})).To(out)
	return build(t, b)
}

func TestEndToEndUncaughtErrorHandlers(t *testing.T) {
	br := startBrokerlite(t)
	t.Run("replace thread", func(t *testing.T) {
		id, in, out := uniqTopics(t, br.addrs, "replace", 1)
		var failed atomic.Int64
		var seen atomic.Value
		app := startApp(t, failingTopology(t, in, out, false, &failed), streams.Properties{
			"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(), "commit.interval.ms": "100",
		}, streams.WithUncaughtErrorHandler(func(err error) streams.UncaughtResponse {
			seen.Store(err.Error())
			return streams.ReplaceThread
		}))
		produce(t, br.addrs, lines(in, "one", "boom", "two")...)
		rs := consumeUntil(t, br.addrs, out, 30*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= 3 })
		var vals []string
		for _, r := range rs {
			vals = append(vals, string(r.Value))
		}
		// "one" may show twice: the failed thread did not commit it.
		if !strings.Contains(strings.Join(vals, ","), "boom,two") {
			t.Fatalf("output %v", vals)
		}
		if s, _ := seen.Load().(string); !strings.Contains(s, "boom: processor failure") {
			t.Errorf("handler saw %q", s)
		}
		if n := metric(t, app, "rivulet_streams_thread_replacements_total"); n != 1 {
			t.Errorf("replacements %v", n)
		}
		waitState(t, app, streams.StateRunning, 20*time.Second)
	})
	t.Run("shutdown client", func(t *testing.T) {
		id, in, out := uniqTopics(t, br.addrs, "shutdown", 1)
		var failed atomic.Int64
		var states []string
		app, err := streams.New(failingTopology(t, in, out, true, &failed), streams.Properties{
			"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(), "commit.interval.ms": "100",
		}, fastGroup, streams.WithLogger(testLogger(t)))
		must(t, err)
		app.SetStateListener(func(_, s streams.State) { states = append(states, s.String()) })
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		must(t, app.Start(ctx))
		produce(t, br.addrs, lines(in, "boom")...)
		select {
		case <-app.Done():
		case <-ctx.Done():
			t.Fatalf("app did not stop; state %s", app.State())
		}
		if app.State() != streams.StateError || app.Err() == nil || !strings.Contains(app.Err().Error(), "boom") {
			t.Fatalf("state %s err %v", app.State(), app.Err())
		}
		if !strings.Contains(strings.Join(states, ","), "PENDING_ERROR,ERROR") {
			t.Errorf("states %v", states)
		}
		must(t, app.Close(ctx)) // closing a stopped app is fine
	})
	t.Run("shutdown application", func(t *testing.T) {
		id, in, out := uniqTopics(t, br.addrs, "shutdown-app", 2)
		var failed atomic.Int64
		topo := failingTopology(t, in, out, true, &failed)
		props := streams.Properties{"application.id": id, "bootstrap.servers": br.addrs[0], "commit.interval.ms": "100"}
		handler := streams.WithUncaughtErrorHandler(func(error) streams.UncaughtResponse { return streams.ShutdownApplication })
		var apps []*streams.App
		for i := 0; i < 2; i++ {
			p := streams.Properties{}
			for k, v := range props {
				p[k] = v
			}
			p["state.dir"] = t.TempDir()
			app, err := streams.New(topo, p, fastGroup, handler, streams.WithLogger(testLogger(t)))
			must(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			must(t, app.Start(ctx))
			cancel()
			apps = append(apps, app)
		}
		waitState(t, apps[0], streams.StateRunning, 20*time.Second)
		waitState(t, apps[1], streams.StateRunning, 20*time.Second)
		// One poison record: the instance that reads it fails and asks the
		// whole application to stop.
		produce(t, br.addrs, &kgo.Record{Topic: in, Partition: 0, Value: []byte("boom")})
		for i, app := range apps {
			select {
			case <-app.Done():
			case <-time.After(60 * time.Second):
				t.Fatalf("instance %d did not stop; state %s", i, app.State())
			}
			if app.State() != streams.StateError {
				t.Errorf("instance %d: state %s", i, app.State())
			}
		}
	})
}

// refusingBrokerMaxBytes is the broker's message.max.bytes for the
// production-error tests: growTopology's big value is over it.
const refusingBrokerMaxBytes = "2000"

// growTopology creates a one-partition input and output topic on br and a
// pipeline copying values from one to the other, except "grow", which
// becomes an incompressible 5 KiB value (so the producer's compression
// cannot shrink it under refusingBrokerMaxBytes): the broker refuses it.
func growTopology(t *testing.T, br broker, prefix string) (id, in, out string, topo *streams.Topology) {
	raw := make([]byte, 4000)
	rand.Read(raw)
	big := base64.StdEncoding.EncodeToString(raw)
	id, in, out = uniqTopics(t, br.addrs, prefix, 1)
	b := streams.NewBuilder()
	streams.MapValues(streams.NewStream(b, in, streams.ConsumedWith(ss, ss)), func(_, v string) string {
		if v == "grow" {
			return big
		}
		return v
	}).To(out)
	return id, in, out, build(t, b)
}

// refusingBrokerSubtests starts a broker that refuses growTopology's big
// record and runs fn against it as a subtest "continue=<cont>" for each of
// conts; ctx ends timeout after the start.
func refusingBrokerSubtests(t *testing.T, timeout time.Duration, conts []bool, fn func(t *testing.T, ctx context.Context, br broker, cont bool)) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	br := startBrokerliteWith(t, map[string]string{"message.max.bytes": refusingBrokerMaxBytes})
	for _, cont := range conts {
		t.Run(fmt.Sprintf("continue=%v", cont), func(t *testing.T) { fn(t, ctx, br, cont) })
	}
}

// startGrowApp starts an app of growTopology's topo with the application
// id id and props (more properties), writes "small" to in and waits for it
// in out, then writes "grow", which the broker refuses once grown; the app
// is closed when the test ends.
func startGrowApp(t *testing.T, ctx context.Context, br broker, id, in, out string, topo *streams.Topology, props streams.Properties, opts ...streams.Option) *streams.App {
	t.Helper()
	all := streams.Properties{"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(), "producer.max.request.size": "1048576"}
	maps.Copy(all, props)
	app, err := streams.New(topo, all, opts...)
	must(t, err)
	must(t, app.Start(ctx))
	t.Cleanup(func() { app.Close(ctx) })
	// One at a time: the broker refuses a whole batch, so records
	// batched with the big one would be refused with it.
	produce(t, br.addrs, lines(in, "small")...)
	consumeUntil(t, br.addrs, out, 30*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= 1 })
	produce(t, br.addrs, lines(in, "grow")...)
	return app
}

// wantSmallThenAfter checks that out holds "small" and "after" only: the
// refused record was dropped and the next one went through.
func wantSmallThenAfter(t *testing.T, addrs []string, out string) {
	t.Helper()
	rs := consumeUntil(t, addrs, out, 30*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= 2 })
	if len(rs) != 2 || string(rs[0].Value) != "small" || string(rs[1].Value) != "after" {
		t.Fatalf("output %v", rs)
	}
}

// waitProductionFailure waits until app stops (failing t when ctx ends
// first) and checks that it failed with ErrProduction.
func waitProductionFailure(t *testing.T, ctx context.Context, app *streams.App) {
	t.Helper()
	select {
	case <-app.Done():
	case <-ctx.Done():
		t.Fatalf("app did not fail at its next send; state %s", app.State())
	}
	if !errors.Is(app.Err(), streams.ErrProduction) {
		t.Fatalf("err %v, want ErrProduction", app.Err())
	}
}

// TestEndToEndProductionErrors makes the broker refuse records (too large)
// and checks both production handlers.
func TestEndToEndProductionErrors(t *testing.T) {
	refusingBrokerSubtests(t, 30*time.Second, []bool{false, true}, func(t *testing.T, ctx context.Context, br broker, cont bool) {
		id, in, out, topo := growTopology(t, br, "prod")
		opts := []streams.Option{fastGroup, streams.WithLogger(testLogger(t))}
		if cont {
			opts = append(opts, streams.WithProductionHandler(streams.ProductionContinueAlways))
		}
		app := startGrowApp(t, ctx, br, id, in, out, topo, streams.Properties{"commit.interval.ms": "100"}, opts...)
		if cont {
			// The checks below tell whether the error was counted in time.
			testutil.Poll(30*time.Second, func() bool { return metric(t, app, "rivulet_streams_production_errors_total") != 0 })
		}
		produce(t, br.addrs, lines(in, "after")...)
		if !cont {
			waitProductionFailure(t, ctx, app)
			return
		}
		wantSmallThenAfter(t, br.addrs, out)
		if n := metric(t, app, "rivulet_streams_production_errors_total"); n != 1 {
			t.Errorf("production errors %v", n)
		}
	})
}

// TestEndToEndTwoInstances runs two instances of one application: tasks are
// spread over both, and when one closes the other takes them all.
func TestEndToEndTwoInstances(t *testing.T) {
	br := startBrokerlite(t)
	id, in, out := uniqTopics(t, br.addrs, "two", 4)
	topo := buildWordCount(t, in, out)
	mk := func() *streams.App {
		return startApp(t, topo, streams.Properties{
			"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(), "commit.interval.ms": "100",
			// Tiny buffers: fetching pauses and resumes all the time.
			"buffered.records.per.partition": "2", "max.poll.records": "3",
		})
	}
	a1, a2 := mk(), mk()
	want := map[string]int64{}
	ls := []string{"x y", "y z", "z x", "w"}
	produceWords(t, br.addrs, in, out, want, ls...)
	if !testutil.Poll(20*time.Second, func() bool {
		return len(a1.Tasks()) != 0 && len(a2.Tasks()) != 0 && len(a1.Tasks())+len(a2.Tasks()) == 8
	}) {
		t.Fatalf("tasks not spread: %d and %d", len(a1.Tasks()), len(a2.Tasks()))
	}
	if len(a1.Tasks()) != 4 || len(a2.Tasks()) != 4 {
		t.Errorf("uneven spread: %d and %d", len(a1.Tasks()), len(a2.Tasks()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, a1.Close(ctx))
	ls = []string{"x", "v w"}
	produceWords(t, br.addrs, in, out, want, ls...)
	if !testutil.Poll(20*time.Second, func() bool { return len(a2.Tasks()) == 8 }) {
		t.Fatalf("survivor has %d tasks", len(a2.Tasks()))
	}
}

// TestEndToEndWallClockPunctuationAndPattern runs a processor with a
// wall-clock punctuation reading topics by pattern.
func TestEndToEndWallClockPunctuationAndPattern(t *testing.T) {
	for _, br := range brokers(t) {
		t.Run(br.name, func(t *testing.T) {
			id := uniq("punct")
			out := id + "-out"
			createTopic(t, br.addrs, 1, id+"-pat-a", id+"-pat-b", out)
			b := streams.NewBuilder()
			src := streams.NewStreamPattern(b, regexp.MustCompile(regexp.QuoteMeta(id)+`-pat-.*`), streams.ConsumedWith(ss, ss))
			streams.Process(src, func() streams.Processor[string, string, string, string] {
				return &tickProcessor{}
			}).To(out)
			startApp(t, build(t, b), streams.Properties{
				"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(), "commit.interval.ms": "100",
			})
			produce(t, br.addrs, &kgo.Record{Topic: id + "-pat-a", Key: []byte("k"), Value: []byte("from-a")},
				&kgo.Record{Topic: id + "-pat-b", Key: []byte("k"), Value: []byte("from-b")})
			got := map[string]bool{}
			consumeUntil(t, br.addrs, out, 30*time.Second, func(rs []*kgo.Record) bool {
				for _, r := range rs {
					got[string(r.Value)] = true
				}
				return got["from-a"] && got["from-b"] && got["tick"]
			})
			if !got["from-a"] || !got["from-b"] || !got["tick"] {
				t.Fatalf("output %v", got)
			}
		})
	}
}

type tickProcessor struct {
	ctx streams.ProcessorContext[string, string]
}

func (p *tickProcessor) Init(ctx streams.ProcessorContext[string, string]) error {
	p.ctx = ctx
	_, err := ctx.Schedule(50*time.Millisecond, streams.WallClockTime, func(ts int64) error {
		return ctx.Forward(streams.NewRecord("tick", "tick", ts))
	})
	return err
}
func (p *tickProcessor) Process(r streams.Record[string, string]) error { return p.ctx.Forward(r) }
func (p *tickProcessor) Close() error                                   { return nil }

func TestNewRejectsBadProperties(t *testing.T) {
	topo := func() *streams.Topology {
		b := streams.NewBuilder()
		streams.NewStream(b, "in", streams.ConsumedWith(ss, ss)).To("out")
		return build(t, b)
	}()
	for _, tc := range []struct {
		props streams.Properties
		want  string
	}{
		{streams.Properties{"bootstrap.servers": "x:1"}, "application.id is required"},
		{streams.Properties{"application.id": "a"}, "bootstrap.servers is required"},
		{streams.Properties{"application.id": "a b", "bootstrap.servers": "x:1"}, "use only letters"},
		{streams.Properties{"application.id": "a", "bootstrap.servers": "x:1", "num.stream.threads": "0"}, "num.stream.threads"},
		{streams.Properties{"application.id": "a", "bootstrap.servers": "x:1", "processing.guarantee": "exactly_once"}, "use exactly_once_v2"},
		{streams.Properties{"application.id": "a", "bootstrap.servers": "x:1", "processing.guarantee": "exactly_once_beta"}, "use exactly_once_v2"},
		{streams.Properties{"application.id": "a", "bootstrap.servers": "x:1", "processing.guarantee": "exactly-once"}, "want at_least_once or exactly_once_v2"},
		{streams.Properties{"application.id": "a", "bootstrap.servers": "x:1", "commit.interval.ms": "soon"}, "commit.interval.ms"},
		{streams.Properties{"application.id": "a", "bootstrap.servers": "x:1", "default.deserialization.exception.handler": "Nope"}, "LogAndContinueExceptionHandler"},
		{streams.Properties{"application.id": "a", "bootstrap.servers": "x:1", "lingerr.ms": "5"}, "lingerr.ms"},
	} {
		_, err := streams.New(topo, tc.props)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.props, err, tc.want)
		}
	}
	config := func(props streams.Properties) streams.Properties {
		t.Helper()
		app, err := streams.New(topo, props, streams.WithLogger(testLogger(t)))
		must(t, err)
		return app.Config()
	}
	cfg := config(streams.Properties{"application.id": "a", "bootstrap.servers": "x:1,y:2"})
	if cfg["commit.interval.ms"] != "30000" || cfg["num.stream.threads"] != "1" || cfg["statestore.cache.max.bytes"] != "10485760" || cfg["bootstrap.servers"] != "x:1,y:2" {
		t.Errorf("defaults %+v", cfg)
	}
	eos := config(streams.Properties{"application.id": "a", "bootstrap.servers": "x:1", "processing.guarantee": "exactly_once_v2"})
	if eos["processing.guarantee"] != streams.ExactlyOnce || eos["commit.interval.ms"] != "100" {
		t.Errorf("exactly_once_v2 defaults: guarantee %q, commit interval %v; want exactly_once_v2, 100ms", eos["processing.guarantee"], eos["commit.interval.ms"])
	}
	eos = config(streams.Properties{"application.id": "a", "bootstrap.servers": "x:1", "processing.guarantee": "exactly_once_v2", "commit.interval.ms": "250"})
	if eos["commit.interval.ms"] != "250" {
		t.Errorf("exactly_once_v2 with commit.interval.ms=250: %v", eos["commit.interval.ms"])
	}
}

func TestStartFailsOnMissingSourceTopics(t *testing.T) {
	br := startBrokerlite(t)
	b := streams.NewBuilder()
	streams.NewStream(b, uniq("missing"), streams.ConsumedWith(ss, ss)).To("out")
	app, err := streams.New(build(t, b), streams.Properties{"application.id": uniq("m"), "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir()},
		streams.WithLogger(testLogger(t)))
	must(t, err)
	err = startWithin(app, 30*time.Second)
	if err == nil || !strings.Contains(err.Error(), "source topics do not exist") {
		t.Fatalf("err %v", err)
	}
	if app.State() != streams.StateError {
		t.Errorf("state %s", app.State())
	}
}
