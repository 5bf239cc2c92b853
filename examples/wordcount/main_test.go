package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"log/slog"
	"maps"
	"os"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/brokerlite"
	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// startBroker starts an embedded brokerlite for one test: a plaintext listener on a free
// port, quick first rebalances and one offsets partition, with props added or replacing
// those. It is closed when the test ends.
func startBroker(t *testing.T, ctx context.Context, props map[string]string) *brokerlite.Broker {
	t.Helper()
	all := map[string]string{
		"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": t.TempDir(),
		"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "1",
	}
	maps.Copy(all, props)
	b, err := brokerlite.Start(ctx, brokerlite.Config{Logger: slog.New(slog.DiscardHandler), Properties: all})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	return b
}

// produceLines sends each line as one record's value, through cl, to its default topic.
func produceLines(t *testing.T, ctx context.Context, cl *kgo.Client, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(l)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// awaitLog waits until the program's logs contain marker; it fails the test when the
// program stops (done) or ctx ends first, saying never and showing the logs.
func awaitLog(t *testing.T, ctx context.Context, done <-chan error, logs *testutil.Buffer, marker, never string) {
	t.Helper()
	end, _ := ctx.Deadline()
	if !testutil.Poll(time.Until(end), func() bool {
		select {
		case err := <-done:
			t.Fatalf("the program stopped: %v\nlogs:\n%s", err, logs.String())
		default:
		}
		return strings.Contains(logs.String(), marker)
	}) {
		t.Fatalf("%s:\n%s", never, logs.String())
	}
}

// awaitCounts reads the program's output topic through cl until the latest count of every
// word is want; it fails the test when the program stops (done) or ctx ends first.
func awaitCounts(t *testing.T, ctx context.Context, cl *kgo.Client, done <-chan error, logs *testutil.Buffer, want map[string]int64) {
	t.Helper()
	got := map[string]int64{}
	for !reflect.DeepEqual(got, want) {
		select {
		case err := <-done:
			t.Fatalf("the program stopped: %v\nlogs:\n%s", err, logs.String())
		default:
		}
		pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		fs := cl.PollFetches(pctx)
		pcancel()
		if ctx.Err() != nil {
			t.Fatalf("counts %v, want %v\nlogs:\n%s", got, want, logs.String())
		}
		fs.EachRecord(func(r *kgo.Record) { got[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value)) })
	}
}

// TestProgramCountsWords runs the program as its main would, against an
// embedded brokerlite: it creates its topics, counts what is produced, and
// stops cleanly when its context ends.
func TestProgramCountsWords(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := startBroker(t, ctx, nil)

	runCtx, stop := context.WithCancel(ctx)
	var logs testutil.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(runCtx, []string{"--bootstrap-server", b.Addr(), "--state-dir", t.TempDir(), "--partitions", "2",
			"--threads", "2", "--application-id", "wc-test", "--property", "commit.interval.ms=100"}, &logs)
	}()

	lines := []string{"all streams lead to Kafka", "hello kafka streams", "join kafka summit", "Ünïcode and émigré, émigré!"}
	want := map[string]int64{}
	for _, l := range lines {
		for _, w := range strings.FieldsFunc(strings.ToLower(l), func(r rune) bool { return !unicode.IsLetter(r) }) {
			want[w]++
		}
	}
	// Wait for the program to create its topics (with 2 partitions) before
	// touching them.
	awaitLog(t, ctx, done, &logs, "wordcount: running", "the program never ran")
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic("wordcount-input"),
		kgo.ConsumeTopics("wordcount-output"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produceLines(t, ctx, cl, lines...)
	awaitCounts(t, ctx, cl, done, &logs, want)
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\nlogs:\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "created topic") {
		t.Errorf("no topic creation logged:\n%s", logs.String())
	}
}

func TestProgramUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--threads", "0"},
		{"--no-such-flag"},
		{"stray"},
		{"--property", "novalue"},
		{"--log-level", "loud"},
		{"--input-topic", "same", "--output-topic", "same"},
		{"--processing-guarantee", "exactly_once"},
		{"--exactly-once", "--processing-guarantee", "at_least_once_maybe"},
	} {
		var logs bytes.Buffer
		err := run(context.Background(), args, &logs)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
	var logs bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &logs); !errors.Is(err, flag.ErrHelp) || !strings.Contains(logs.String(), "Example:") {
		t.Errorf("--help: %v\n%s", err, logs.String())
	}
}

// TestSetMemoryLimitFromBudget: the program sets Go's soft memory limit to
// the recommended one of its state memory budget (the default one when not
// set); with the budget switched off it leaves the limit alone.
func TestSetMemoryLimitFromBudget(t *testing.T) {
	if os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOMEMLIMIT is set: the program leaves the limit to it")
	}
	prev := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(prev)
	logger := slog.New(slog.DiscardHandler)
	p := streams.Properties{streams.PropApplicationID: "wc", streams.PropBootstrapServers: "127.0.0.1:1", streams.PropStateMemoryMaxBytes: "0"}
	if err := setMemoryLimit(p, logger); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != prev {
		t.Fatalf("limit without a budget = %d, want it unchanged (%d)", got, prev)
	}
	delete(p, streams.PropStateMemoryMaxBytes)
	if err := setMemoryLimit(p, logger); err != nil {
		t.Fatal(err)
	}
	if got, want := debug.SetMemoryLimit(-1), int64(streams.DefaultStateMemoryMaxBytes+10<<20+192<<20); got != want {
		t.Errorf("limit with the default budget = %d, want %d", got, want)
	}
	p[streams.PropStateMemoryMaxBytes] = "201326592"
	if err := setMemoryLimit(p, logger); err != nil {
		t.Fatal(err)
	}
	want, err := streams.RecommendedMemoryLimit(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Errorf("limit = %d, want %d", got, want)
	}
}
