package streams_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/streams"
)

// BenchmarkMemberJoin measures the time from a second instance starting
// until every task runs again, spread over both instances: rivulet-wordcount
// is the word count (8 input partitions, 16 tasks, a count store of 2000
// words) with one instance running; franz-go-group is the baseline, a plain
// franz-go cooperative-sticky consumer joining a group of one over 16
// partitions, until both members own partitions covering all 16. Each
// iteration then stops the second instance (untimed) and waits until the
// first runs everything again.
//
//	go test ./streams/ -run '^$' -bench BenchmarkMemberJoin -benchtime 5x
func BenchmarkMemberJoin(b *testing.B) {
	br := startBrokerlite(b)
	b.Run("franz-go-group", func(b *testing.B) {
		topic := uniq("join-kgo")
		createTopic(b, br.addrs, 16, topic)
		group := topic + "-g"
		first := newTrackedConsumer(b, br.addrs, topic, group)
		defer first.cl.Close()
		waitOwned(b, func() bool { return first.owned() == 16 })
		var total time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			second := newTrackedConsumer(b, br.addrs, topic, group)
			waitOwned(b, func() bool { return first.owned() > 0 && second.owned() > 0 && first.owned()+second.owned() == 16 })
			total += time.Since(start)
			second.cl.Close()
			waitOwned(b, func() bool { return first.owned() == 16 })
		}
		b.ReportMetric(total.Seconds()/float64(b.N), "s/join")
		b.ReportMetric(0, "ns/op")
	})
	b.Run("rivulet-wordcount", func(b *testing.B) {
		id, in, out := uniqTopics(b, br.addrs, "join", 8)
		topo := buildWordCount(b, in, out)
		props := func() streams.Properties {
			return streams.Properties{"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": b.TempDir(), "commit.interval.ms": "100"}
		}
		start := func() *streams.App {
			return newStartedApp(b, topo, props(), fastGroup, streams.WithLogger(slog.New(slog.DiscardHandler)))
		}
		stop := func(app *streams.App) { mustClose(b, app, 30*time.Second) }
		first := start()
		defer stop(first)
		produce(b, br.addrs, lines(in, distinctWords("j", 2000)...)...)
		waitOwned(b, func() bool { return len(activeTasks(first)) == 16 })
		var total time.Duration
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			second := start()
			waitOwned(b, func() bool {
				n1, n2 := len(activeTasks(first)), len(activeTasks(second))
				return n1 > 0 && n2 > 0 && n1+n2 == 16
			})
			total += time.Since(t0)
			stop(second)
			waitOwned(b, func() bool { return len(activeTasks(first)) == 16 })
		}
		b.ReportMetric(total.Seconds()/float64(b.N), "s/join")
		b.ReportMetric(0, "ns/op")
	})
}

type trackedConsumer struct {
	cl  *kgo.Client
	mu  sync.Mutex
	own map[int32]bool
}

func (c *trackedConsumer) owned() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.own)
}

func newTrackedConsumer(b *testing.B, addrs []string, topic, group string) *trackedConsumer {
	c := &trackedConsumer{own: map[int32]bool{}}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()), kgo.HeartbeatInterval(100*time.Millisecond), kgo.SessionTimeout(6*time.Second),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, p := range m[topic] {
				c.own[p] = true
			}
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, p := range m[topic] {
				delete(c.own, p)
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, p := range m[topic] {
				delete(c.own, p)
			}
		}))
	must(b, err)
	c.cl = cl
	// A group member only takes part while it polls.
	go func() {
		for {
			fs := cl.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
		}
	}()
	return c
}

func waitOwned(b *testing.B, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for the assignment")
		}
		time.Sleep(time.Millisecond)
	}
}
