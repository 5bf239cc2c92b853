package brokerlite

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// testLogger logs to stderr only when -v is given, so failures stay readable.
func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startBroker starts a broker on a free port in dir (a new temp dir when dir is "") with
// extra properties as key, value pairs, and closes it when the test ends.
func startBroker(t testing.TB, dir string, props ...string) *Broker {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	p := map[string]string{
		"listeners":                        "PLAINTEXT://127.0.0.1:0",
		"log.dirs":                         dir,
		"group.initial.rebalance.delay.ms": "0",
	}
	for i := 0; i+1 < len(props); i += 2 {
		p[props[i]] = props[i+1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Start(ctx, Config{Properties: p, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { closeBroker(t, b) })
	return b
}

func closeBroker(t testing.TB, b *Broker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// newClient returns a franz-go client for b, closed when the test ends.
func newClient(t testing.TB, b *Broker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(b.Addr()), kgo.RetryTimeout(10 * time.Second)}, opts...)
	c, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fetchTopic is the topic of a Fetch request: topic (and its id, unless zero), partitions
// read from offset 0, each up to partitionMaxBytes.
func fetchTopic(topic string, id [16]byte, partitionMaxBytes int32, partitions ...int32) kmsg.FetchRequestTopic {
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	for _, p := range partitions {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.PartitionMaxBytes = p, partitionMaxBytes
		rt.Partitions = append(rt.Partitions, rp)
	}
	return rt
}

// produceTopic is the topic of a Produce request: batch for one partition of topic.
func produceTopic(topic string, partition int32, batch []byte) kmsg.ProduceRequestTopic {
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, batch
	rt.Partitions = append(rt.Partitions, rp)
	return rt
}

// requestAt sends req at the given version on a connection of its own (a client would pick
// the highest version both sides support) and returns the answer.
func requestAt[R kmsg.Response](t *testing.T, b *Broker, req kmsg.Request, version int16) R {
	t.Helper()
	req.SetVersion(version)
	rc := dialRaw(t, b)
	rc.send(req, 1)
	resp := req.ResponseKind().(R)
	rc.response(resp, 1)
	return resp
}
