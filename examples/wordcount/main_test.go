package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/twmb/franz-go/pkg/kgo"
)

// lockedBuffer collects the program's logs from its goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestProgramCountsWords runs the program as its main would, against an
// embedded brokerlite: it creates its topics, counts what is produced, and
// stops cleanly when its context ends.
func TestProgramCountsWords(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := startBroker(t, ctx, nil)

	runCtx, stop := context.WithCancel(ctx)
	var logs lockedBuffer
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
	for !strings.Contains(logs.String(), "wordcount: running") {
		select {
		case err := <-done:
			t.Fatalf("the program stopped: %v\nlogs:\n%s", err, logs.String())
		case <-ctx.Done():
			t.Fatalf("the program never ran:\n%s", logs.String())
		case <-time.After(10 * time.Millisecond): // polling the logs; ctx bounds the wait
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic("wordcount-input"),
		kgo.ConsumeTopics("wordcount-output"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, l := range lines {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(l)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
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
