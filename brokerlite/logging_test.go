package brokerlite

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// dupHandler records every log line whose keys repeat (its own and those
// of the loggers it was derived from).
type dupHandler struct {
	mu    *sync.Mutex
	dups  *[]string
	lines *int
	keys  []string
}

func (h dupHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h dupHandler) WithGroup(string) slog.Handler            { return h }
func (h dupHandler) WithAttrs(as []slog.Attr) slog.Handler {
	keys := append([]string(nil), h.keys...)
	for _, a := range as {
		keys = append(keys, a.Key)
	}
	h.keys = keys
	return h
}
func (h dupHandler) Handle(_ context.Context, r slog.Record) error {
	seen := map[string]bool{}
	var dup []string
	check := func(k string) {
		if seen[k] {
			dup = append(dup, k)
		}
		seen[k] = true
	}
	for _, k := range h.keys {
		check(k)
	}
	r.Attrs(func(a slog.Attr) bool { check(a.Key); return true })
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.lines++
	if len(dup) > 0 {
		*h.dups = append(*h.dups, fmt.Sprintf("%q repeats %v", r.Message, dup))
	}
	return nil
}

// TestLogLinesHaveNoDuplicateKeys runs a broker through start, topics,
// produce, a consumer group and close, and checks that no log line
// carries a key twice (component=brokerlite and component=partlog, say).
func TestLogLinesHaveNoDuplicateKeys(t *testing.T) {
	var mu sync.Mutex
	var dups []string
	lines := 0
	h := dupHandler{mu: &mu, dups: &dups, lines: &lines}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Start(ctx, Config{Logger: slog.New(h), Properties: map[string]string{
		"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": t.TempDir(), "group.initial.rebalance.delay.ms": "0",
		"offsets.topic.num.partitions": "1", "no.such.key": "x",
	}})
	if err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, b, kgo.DefaultProduceTopic("logged"), kgo.ConsumeTopics("logged"), kgo.ConsumerGroup("logged-group"))
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "logged"); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for len(cl.PollFetches(ctx).Records()) == 0 && ctx.Err() == nil {
	}
	cl.Close()
	closeBroker(t, b)
	mu.Lock()
	defer mu.Unlock()
	if lines == 0 {
		t.Fatal("nothing logged")
	}
	if len(dups) > 0 {
		t.Errorf("log lines with repeated keys:\n%s", strings.Join(dups, "\n"))
	}
}
