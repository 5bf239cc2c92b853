package streams_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/brokerlite"
	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// broker is a running Kafka-compatible broker for end-to-end tests.
type broker struct {
	name  string
	addrs []string
}

// brokers returns the brokers the end-to-end tests run against.
func brokers(t testing.TB) []broker {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	must(t, err)
	t.Cleanup(c.Close)
	return []broker{{name: "kfake", addrs: c.ListenAddrs()}, startBrokerlite(t)}
}

// startBrokerlite runs Rivulet's own broker in this process.
func startBrokerlite(t testing.TB) broker { return startBrokerliteWith(t, nil) }

func startBrokerliteWith(t testing.TB, extra map[string]string) broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	props := map[string]string{
		"listeners":                        "PLAINTEXT://127.0.0.1:0",
		"log.dirs":                         t.TempDir(),
		"group.initial.rebalance.delay.ms": "0",
		"offsets.topic.num.partitions":     "4",
	}
	for k, v := range extra {
		props[k] = v
	}
	b, err := brokerlite.Start(ctx, brokerlite.Config{Properties: props, Logger: slog.New(slog.DiscardHandler)})
	must(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b.Close(ctx)
	})
	return broker{name: "brokerlite", addrs: []string{b.Addr()}}
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("STREAMS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// fastGroup makes rebalances quick in tests.
var fastGroup = streams.WithKgoOpts(kgo.HeartbeatInterval(100*time.Millisecond), kgo.SessionTimeout(6*time.Second))

func adminFor(t testing.TB, addrs []string) *kadm.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	must(t, err)
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func createTopic(t testing.TB, addrs []string, partitions int32, topics ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := adminFor(t, addrs).CreateTopics(ctx, partitions, 1, nil, topics...)
	must(t, err)
	for _, r := range resp {
		must(t, r.Err)
	}
}

func produce(t testing.TB, addrs []string, recs ...*kgo.Record) {
	t.Helper()
	produceWith(t, addrs, nil, recs...)
}

// produceWith is produce with more options for the producer.
func produceWith(t testing.TB, addrs []string, opts []kgo.Opt, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.ProducerLinger(0)}, opts...)...)
	must(t, err)
	defer cl.Close()
	must(t, produceSync(cl, 20*time.Second, recs...))
}

// produceSync writes recs with cl, giving it timeout, and returns the
// first error.
func produceSync(cl *kgo.Client, timeout time.Duration, recs ...*kgo.Record) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return cl.ProduceSync(ctx, recs...).FirstErr()
}

// consumeUntil reads topic from the start until done says so or the
// deadline passes; it returns the records read.
func consumeUntil(t testing.TB, addrs []string, topic string, timeout time.Duration, done func([]*kgo.Record) bool) []*kgo.Record {
	t.Helper()
	return consumeWith(t, addrs, topic, timeout, done)
}

// consumeWith is consumeUntil with more options for the consumer.
func consumeWith(t testing.TB, addrs []string, topic string, timeout time.Duration, done func([]*kgo.Record) bool, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)
	cl, err := kgo.NewClient(opts...)
	must(t, err)
	defer cl.Close()
	var out []*kgo.Record
	// The caller checks what was read; a timeout is not a failure here.
	testutil.Poll(timeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		out = append(out, fs.Records()...)
		return done(out)
	})
	return out
}

// waitState polls until the app reaches s.
func waitState(t testing.TB, app *streams.App, s streams.State, timeout time.Duration) {
	t.Helper()
	if !testutil.Poll(timeout, func() bool { return app.State() == s }) {
		t.Fatalf("app state %s, want %s (err %v)", app.State(), s, app.Err())
	}
}

func startApp(t testing.TB, topo *streams.Topology, props streams.Properties, opts ...streams.Option) *streams.App {
	t.Helper()
	opts = append([]streams.Option{fastGroup, streams.WithLogger(testLogger(t))}, opts...)
	app := newStartedApp(t, topo, props, opts...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := app.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return app
}

// newStartedApp makes an app of topo with props and opts and starts it
// (within 30 s); the caller closes it.
func newStartedApp(t testing.TB, topo *streams.Topology, props streams.Properties, opts ...streams.Option) *streams.App {
	t.Helper()
	app, err := streams.New(topo, props, opts...)
	must(t, err)
	must(t, startWithin(app, 30*time.Second))
	return app
}

// startWithin starts app, giving it timeout, and returns Start's error.
func startWithin(app *streams.App, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return app.Start(ctx)
}

// mustClose closes app within timeout, failing t now on an error.
func mustClose(t testing.TB, app *streams.App, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	must(t, app.Close(ctx))
}

func lastValues(recs []*kgo.Record, decode func([]byte) int64) map[string]int64 {
	out := map[string]int64{}
	for _, r := range recs {
		out[string(r.Key)] = decode(r.Value)
	}
	return out
}

func i64(b []byte) int64 {
	v, _ := streams.Int64Serde().Deserialize(b)
	return v
}

func TestEndToEndWordCount(t *testing.T) {
	for _, br := range brokers(t) {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", br.name, threads), func(t *testing.T) {
				in, out := fmt.Sprintf("wc-in-%d", threads), fmt.Sprintf("wc-out-%d", threads)
				createTopic(t, br.addrs, 3, in, out)
				topo := buildWordCount(t, in, out)
				app := startApp(t, topo, streams.Properties{
					"application.id":     fmt.Sprintf("wc-%d", threads),
					"bootstrap.servers":  strings.Join(br.addrs, ","),
					"num.stream.threads": fmt.Sprint(threads),
					"commit.interval.ms": "100",
					"state.dir":          t.TempDir(),
				})
				lines := []string{"the quick brown fox", "jumps over the lazy dog", "the dog barks", "a fox runs"}
				want := map[string]int64{}
				var recs []*kgo.Record
				for i := 0; i < 50; i++ {
					line := lines[i%len(lines)]
					for _, w := range strings.Fields(line) {
						want[w]++
					}
					recs = append(recs, &kgo.Record{Topic: in, Key: []byte(fmt.Sprint(i)), Value: []byte(line)})
				}
				produce(t, br.addrs, recs...)
				got := map[string]int64{}
				consumeUntil(t, br.addrs, out, 30*time.Second, func(rs []*kgo.Record) bool {
					got = lastValues(rs, i64)
					return fmt.Sprint(sortedMap(got)) == fmt.Sprint(sortedMap(want))
				})
				if fmt.Sprint(sortedMap(got)) != fmt.Sprint(sortedMap(want)) {
					t.Fatalf("counts\n got %v\nwant %v\nstate %s err %v", sortedMap(got), sortedMap(want), app.State(), app.Err())
				}
				// Every task runs once the group settles (a cooperative move
				// may be half done for a moment).
				testutil.Poll(20*time.Second, func() bool { return len(app.Tasks()) == 6 })
				if tasks := app.Tasks(); len(tasks) != 6 {
					t.Errorf("tasks %+v, want 6 (2 sub-topologies x 3 partitions)", tasks)
				}
			})
		}
	}
}

func sortedMap(m map[string]int64) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}
