package streams_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// TestDroppedRecordLogs: a record an aggregation drops (null key) is
// logged with its topic, partition, offset and readable times.
func TestDroppedRecordLogs(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	s.GroupByKey().Count().ToStream().To("out", streams.ProducedWith(ss, streams.Int64Serde()))
	var logs testutil.Buffer
	d, err := streamstest.New(build(t, b), streamstest.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	must(t, err)
	defer d.Close()
	in := streamstest.CreateInputTopic(d, "in", ss, ss)
	must(t, in.PipeInputAt("k", "v", 1_700_000_000_000))
	must(t, in.PipeValue("no key"))
	line := logs.String()
	for _, want := range []string{"dropping record: null key or value", "topic=in", "partition=0", "offset=1", "stream_time=2023-11-14T22:13:20.000Z"} {
		if !strings.Contains(line, want) {
			t.Errorf("no %q in the log:\n%s", want, line)
		}
	}
	if d.Stats().DroppedRecords.Load() != 1 {
		t.Errorf("dropped %d", d.Stats().DroppedRecords.Load())
	}
}

// TestStartLogsConfigAndEveryStateChange: Start logs the effective
// configuration and the CREATED to REBALANCING change, which the state
// listener also gets, as every later change.
func TestStartLogsConfigAndEveryStateChange(t *testing.T) {
	br := startBrokerlite(t)
	createTopic(t, br.addrs, 1, "logs-in", "logs-out")
	b := streams.NewBuilder()
	wordCountTopology(b, "logs-in", "logs-out", "")
	var logs testutil.Buffer
	app, err := streams.New(build(t, b), streams.Properties{
		"application.id": "logs-app", "bootstrap.servers": strings.Join(br.addrs, ","), "state.dir": t.TempDir(),
		"producer.sasl.password": "s3cret",
	}, fastGroup, streams.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	must(t, err)
	var mu sync.Mutex
	var changes []string
	app.SetStateListener(func(old, s streams.State) {
		mu.Lock()
		changes = append(changes, old.String()+"->"+s.String())
		mu.Unlock()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, app.Start(ctx))
	waitState(t, app, streams.StateRunning, 30*time.Second)
	must(t, app.Close(ctx))
	mu.Lock()
	got := strings.Join(changes, " ")
	mu.Unlock()
	if !strings.HasPrefix(got, "CREATED->REBALANCING ") || !strings.Contains(got, "REBALANCING->RUNNING") || !strings.HasSuffix(got, "PENDING_SHUTDOWN->NOT_RUNNING") {
		t.Errorf("state changes %q", got)
	}
	out := logs.String()
	for _, want := range []string{"streams: effective configuration", "num.stream.threads=1", "commit.interval.ms=30000", "producer.sasl.password=[hidden]", "from=CREATED to=REBALANCING"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the log", want)
		}
	}
	if strings.Contains(out, "s3cret") {
		t.Error("a secret reached the log")
	}
}
