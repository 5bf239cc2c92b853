package brokerlite

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

// saramaConsumer consumes partitions of a topic with sarama, as goka v1.1.14 configures it
// (Kafka 2.0.0 protocol: Fetch v8), and collects what arrives and every error sarama
// reports. A Fetch answer sarama cannot decode ("kafka: error decoding packet: ...") makes
// it drop the connection and report the error on every partition of that broker.
type saramaConsumer struct {
	t    *testing.T
	mu   sync.Mutex
	got  map[int32][]string
	errs []string
}

func consumeSarama(t *testing.T, b *Broker, topic string, partitions int32, tune func(*sarama.Config)) *saramaConsumer {
	t.Helper()
	cfg := goka.DefaultConfig()
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	if tune != nil {
		tune(cfg)
	}
	c, err := sarama.NewConsumer([]string{b.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sc := &saramaConsumer{t: t, got: map[int32][]string{}}
	var wg sync.WaitGroup
	var pcs []sarama.PartitionConsumer
	t.Cleanup(func() {
		for _, pc := range pcs {
			pc.AsyncClose() // ends its Messages and Errors channels
		}
		wg.Wait()
		if err := c.Close(); err != nil {
			t.Errorf("sarama consumer Close: %v", err)
		}
	})
	for p := int32(0); p < partitions; p++ {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		pcs = append(pcs, pc)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for e := range pc.Errors() {
				sc.mu.Lock()
				sc.errs = append(sc.errs, e.Error())
				sc.mu.Unlock()
			}
		}()
		go func() {
			defer wg.Done()
			for m := range pc.Messages() {
				sc.mu.Lock()
				sc.got[m.Partition] = append(sc.got[m.Partition], string(m.Value))
				sc.mu.Unlock()
			}
		}()
	}
	return sc
}

// wait polls until every partition in want has received its values, in order, and fails
// the test on any sarama error.
func (sc *saramaConsumer) wait(want map[int32][]string) {
	sc.t.Helper()
	if !testutil.Poll(30*time.Second, func() bool {
		sc.mu.Lock()
		errs := append([]string(nil), sc.errs...)
		done := true
		for p, vs := range want {
			if len(sc.got[p]) < len(vs) {
				done = false
			}
		}
		var bad string
		if done {
			for p, vs := range want {
				if got := sc.got[p]; strings.Join(got, ",") != strings.Join(vs, ",") {
					bad = fmt.Sprintf("partition %d: got %d values %.60q..., want %d", p, len(got), strings.Join(got, ","), len(vs))
				}
			}
		}
		sc.mu.Unlock()
		if len(errs) > 0 {
			sc.t.Fatalf("sarama reported %d error(s), first: %s", len(errs), errs[0])
		}
		if bad != "" {
			sc.t.Fatal(bad)
		}
		return done
	}) {
		sc.t.Fatalf("sarama did not receive everything within 30s")
	}
}

// produceValues writes n values (each size bytes, tagged with its index) to partition p.
func produceTagged(t *testing.T, c *kgo.Client, topic string, p int32, prefix string, n, size int) []string {
	t.Helper()
	var out []string
	var recs []*kgo.Record
	for i := 0; i < n; i++ {
		v := fmt.Sprintf("%s-%d-", prefix, i)
		if len(v) < size {
			v += strings.Repeat("x", size-len(v))
		}
		out = append(out, v)
		recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(v)})
	}
	if err := c.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSaramaFetchEmptyAndRecycledBuffers drives sarama (goka's client) through the Fetch
// answers that broke it: a partition with no data must carry an empty records field,
// never a null one (sarama reads the size -1 as "invalid byteslice length", drops the
// connection and backs off 2s). brokerlite built null ones for every partition before the
// first one with data whenever the connection had no recycled records buffer: on a
// connection's first Fetch (a consumer that starts on an empty or caught-up topic), and
// after any answer above the 4 MiB buffer-pool limit (a consumer reading a backlog, then
// catching up: goka's word count at the end of its input).
func TestSaramaFetchEmptyAndRecycledBuffers(t *testing.T) {
	b := startBroker(t, "")
	prod := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerBatchMaxBytes(1<<20))
	createTopic(t, prod, "sarama-fetch", 3)

	// 1. The first Fetch of the connection finds every partition empty (a long poll that
	// times out), and later ones find data in one partition only.
	sc := consumeSarama(t, b, "sarama-fetch", 3, func(cfg *sarama.Config) {
		cfg.Consumer.Fetch.Default = 8 << 20 // let one answer exceed the 4 MiB pool limit
	})
	time.Sleep(300 * time.Millisecond) // letting a few empty long polls (100ms each) happen, not waiting for a condition
	want := map[int32][]string{0: nil, 1: nil, 2: nil}
	want[1] = produceTagged(t, prod, "sarama-fetch", 1, "a", 5, 100)
	sc.wait(want)

	// 2. A backlog larger than 4 MiB in partition 2 comes back in answers above the pool
	// limit (their buffers are not recycled); then partition 1 alone gets data again.
	want[2] = produceTagged(t, prod, "sarama-fetch", 2, "big", 60, 100<<10)
	sc.wait(want)
	for i := 0; i < 5; i++ {
		want[1] = append(want[1], produceTagged(t, prod, "sarama-fetch", 1, fmt.Sprintf("b%d", i), 3, 100)...)
		sc.wait(want)
	}
}

// TestSaramaFetchLimits: sarama through answers cut by its per-partition limit (batches
// larger than Fetch.Default come whole, KIP-74, and the partitions after them carry no
// records), with compressed batches and records arriving on every partition while it
// fetches.
func TestSaramaFetchLimits(t *testing.T) {
	b := startBroker(t, "")
	prod := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(time.Millisecond))
	createTopic(t, prod, "sarama-limits", 4)
	sc := consumeSarama(t, b, "sarama-limits", 4, func(cfg *sarama.Config) {
		cfg.Consumer.Fetch.Default = 1024 // smaller than most batches below
	})
	want := map[int32][]string{}
	for round := 0; round < 20; round++ {
		for p := int32(0); p < 4; p++ {
			if (round+int(p))%3 == 0 {
				continue // some partitions stay empty in each round
			}
			want[p] = append(want[p], produceTagged(t, prod, "sarama-limits", p, fmt.Sprintf("r%d", round), 1+round%7, 200+round*50)...)
		}
	}
	sc.wait(want)
}

// saramaGroupHandler collects the values a sarama consumer group receives and marks each
// message, so the offset manager commits while the session fetches.
type saramaGroupHandler struct {
	mu  sync.Mutex
	got map[int32][]string
}

func (h *saramaGroupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *saramaGroupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *saramaGroupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.mu.Lock()
		h.got[m.Partition] = append(h.got[m.Partition], string(m.Value))
		h.mu.Unlock()
		s.MarkMessage(m, "")
	}
	return nil
}

// TestSaramaGroupPipelined: a sarama consumer group (goka's configuration, with commits
// every 20ms and heartbeats every 100ms) shares one connection between its long-polling
// Fetch requests and its OffsetCommit and Heartbeat requests; every answer must decode and
// come back in order while records arrive, and the commits must land.
func TestSaramaGroupPipelined(t *testing.T) {
	b := startBroker(t, "")
	prod := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	createTopic(t, prod, "sarama-group", 3)
	cfg := goka.DefaultConfig()
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	cfg.Consumer.Offsets.AutoCommit.Interval = 20 * time.Millisecond
	cfg.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	g, err := sarama.NewConsumerGroup([]string{b.Addr()}, "sarama-group-g", cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &saramaGroupHandler{got: map[int32][]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if err := g.Consume(ctx, []string{"sarama-group"}, h); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var errs []string
	var errMu sync.Mutex
	errsDone := make(chan struct{})
	go func() {
		defer close(errsDone)
		for e := range g.Errors() {
			errMu.Lock()
			errs = append(errs, e.Error())
			errMu.Unlock()
		}
	}()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Consume: %v", err)
		}
		if err := g.Close(); err != nil {
			t.Errorf("consumer group Close: %v", err)
		}
		<-errsDone
	})
	t.Cleanup(stop)

	want := map[int32][]string{}
	for round := 0; round < 30; round++ {
		p := int32(round % 3)
		want[p] = append(want[p], produceTagged(t, prod, "sarama-group", p, fmt.Sprintf("g%d", round), 3, 300)...)
		time.Sleep(10 * time.Millisecond) // pacing the input so fetches, commits and heartbeats interleave
	}
	n := 0
	if !testutil.Poll(30*time.Second, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		n = 0
		for _, vs := range h.got {
			n += len(vs)
		}
		return n >= 90
	}) {
		t.Fatalf("the group received %d of 90 records within 30s", n)
	}
	stop()
	errMu.Lock()
	defer errMu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("sarama reported %d error(s), first: %s", len(errs), errs[0])
	}
	for p, vs := range want {
		if got := h.got[p]; strings.Join(got, ",") != strings.Join(vs, ",") {
			t.Fatalf("partition %d: got %d values, want %d in order", p, len(got), len(vs))
		}
	}
	checkCommittedAtEnd(t, kadm.NewClient(newClient(t, b)), "sarama-group-g", "sarama-group")
}
