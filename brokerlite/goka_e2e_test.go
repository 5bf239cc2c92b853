package brokerlite

import (
	"context"
	"fmt"
	"hash"
	"io"
	"log"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

// gokaSetup is what every goka component of the test shares: goka's default sarama
// configuration (sarama speaking Kafka 2.0.0 protocol versions) reading streams from the
// start, and a topic manager that fails on any mismatch of partitions, replication or
// cleanup.policy (so its DescribeConfigs check of the table topic is real).
//
// goka's builders write the client id into the *sarama.Config they were given each time
// they build, so sharing one config between components races; every builder here gets a
// config of its own.
type gokaSetup struct {
	brokers []string
	tmc     *goka.TopicManagerConfig
	logger  goka.Logger
}

func newGokaSetup(b *Broker) *gokaSetup {
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	tmc.MismatchBehavior = goka.TMConfigMismatchBehaviorFail
	return &gokaSetup{brokers: []string{b.Addr()}, tmc: tmc, logger: log.New(io.Discard, "", 0)}
}

func (gs *gokaSetup) config() *sarama.Config {
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	return cfg
}

func (gs *gokaSetup) topicManagers() goka.TopicManagerBuilder {
	return func(brokers []string) (goka.TopicManager, error) {
		return goka.TopicManagerBuilderWithConfig(gs.config(), gs.tmc)(brokers)
	}
}

func (gs *gokaSetup) producers() goka.ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		return goka.ProducerBuilderWithConfig(gs.config())(brokers, clientID, hasher)
	}
}

func (gs *gokaSetup) consumers() goka.SaramaConsumerBuilder {
	return func(brokers []string, clientID string) (sarama.Consumer, error) {
		return goka.SaramaConsumerBuilderWithConfig(gs.config())(brokers, clientID)
	}
}

func (gs *gokaSetup) consumerGroups() goka.ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		return goka.ConsumerGroupBuilderWithConfig(gs.config())(brokers, group, clientID)
	}
}

// runGokaProcessor starts a counting processor: for every message of input it adds one to
// the key's count in the group table. It returns a stop function that waits for Run.
func runGokaProcessor(t *testing.T, gs *gokaSetup, group goka.Group, input goka.Stream) func() {
	t.Helper()
	count := func(ctx goka.Context, _ any) {
		var n int64
		if v := ctx.Value(); v != nil {
			n = v.(int64)
		}
		ctx.SetValue(n + 1)
	}
	g := goka.DefineGroup(group, goka.Input(input, new(codec.String), count), goka.Persist(new(codec.Int64)))
	p, err := goka.NewProcessor(gs.brokers, g,
		goka.WithTopicManagerBuilder(gs.topicManagers()),
		goka.WithConsumerGroupBuilder(gs.consumerGroups()),
		goka.WithConsumerSaramaBuilder(gs.consumers()),
		goka.WithProducerBuilder(gs.producers()),
		goka.WithStorageBuilder(storage.MemoryBuilder()),
		goka.WithLogger(gs.logger),
	)
	if err != nil {
		t.Fatalf("goka.NewProcessor: %v", err)
	}
	return runInBackground(t, "processor", p.Run)
}

// runInBackground runs run (a goka processor's or view's Run) until the returned stop, which
// the test's cleanup also calls: stop cancels run's context and reports an error run
// returns, naming it by what.
func runInBackground(t *testing.T, what string, run func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s Run: %v", what, err)
		}
	})
	t.Cleanup(stop)
	return stop
}

func emitCounts(t *testing.T, gs *gokaSetup, topic goka.Stream, keys, perKey int) {
	t.Helper()
	em, err := goka.NewEmitter(gs.brokers, topic, new(codec.String),
		goka.WithEmitterTopicManagerBuilder(gs.topicManagers()),
		goka.WithEmitterProducerBuilder(gs.producers()),
		goka.WithEmitterLogger(gs.logger),
	)
	if err != nil {
		t.Fatalf("goka.NewEmitter: %v", err)
	}
	for i := 0; i < perKey; i++ {
		for k := 0; k < keys; k++ {
			if _, err := em.Emit(fmt.Sprintf("key-%d", k), fmt.Sprintf("msg-%d", i)); err != nil {
				t.Fatalf("Emit: %v", err)
			}
		}
	}
	if err := em.Finish(); err != nil {
		t.Fatalf("emitter Finish: %v", err)
	}
}

// waitViewCounts polls the view until every key has count want.
func waitViewCounts(t *testing.T, v *goka.View, keys int, want int64) {
	t.Helper()
	var last string
	if !testutil.Poll(60*time.Second, func() bool {
		for k := 0; k < keys; k++ {
			val, err := v.Get(fmt.Sprintf("key-%d", k))
			var n int64
			if val != nil {
				n = val.(int64)
			}
			if err != nil || n != want {
				last = fmt.Sprintf("key-%d = %d (err %v)", k, n, err)
				return false
			}
		}
		return true
	}) {
		t.Fatalf("view never reached %d per key: %s", want, last)
	}
}

// TestGokaEmitterProcessorView runs goka v1.1.14 (sarama) end to end against brokerlite:
// an emitter writes a stream, a processor in a consumer group counts messages per key into
// its group table (the compacted topic goka's topic manager creates, and checks with
// DescribeConfigs when it exists), and a view serves the table. The processor then
// restarts: it rejoins the group, recovers the table from its topic and resumes from its
// committed offsets, so the counts go on without counting anything twice.
func TestGokaEmitterProcessorView(t *testing.T) {
	b := startBroker(t, "")
	gs := newGokaSetup(b)
	const (
		input = goka.Stream("goka-input")
		group = goka.Group("goka-counter")
		keys  = 5
	)
	tm, err := gs.topicManagers()(gs.brokers)
	if err != nil {
		t.Fatalf("topic manager: %v", err)
	}
	if err := tm.EnsureStreamExists(string(input), 4); err != nil {
		t.Fatalf("EnsureStreamExists: %v", err)
	}
	tm.Close()

	emitCounts(t, gs, input, keys, 20)
	stopProcessor := runGokaProcessor(t, gs, group, input)

	view, err := goka.NewView(gs.brokers, goka.GroupTable(group), new(codec.Int64),
		goka.WithViewTopicManagerBuilder(gs.topicManagers()),
		goka.WithViewConsumerSaramaBuilder(gs.consumers()),
		goka.WithViewStorageBuilder(storage.MemoryBuilder()),
		goka.WithViewLogger(gs.logger),
	)
	if err != nil {
		t.Fatalf("goka.NewView: %v", err)
	}
	runInBackground(t, "view", view.Run)
	waitViewCounts(t, view, keys, 20)

	// The group table is compacted, and the group's commits reach the end of the input.
	adm := kadm.NewClient(newClient(t, b))
	cfgs, err := adm.DescribeTopicConfigs(testCtx(t), string(goka.GroupTable(group)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := cfgs.On(string(goka.GroupTable(group)), nil)
	if err != nil {
		t.Fatal(err)
	}
	policy := ""
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.Value != nil {
			policy = *c.Value
		}
	}
	if policy != "compact" {
		t.Fatalf("cleanup.policy of %s = %q, want compact", goka.GroupTable(group), policy)
	}
	checkCommittedAtEnd(t, adm, string(group), string(input))
	groups, err := adm.DescribeGroups(testCtx(t), string(group))
	if err != nil {
		t.Fatal(err)
	}
	if d := groups[string(group)]; d.State != "Stable" || d.Protocol != "copartition" || len(d.Members) != 1 {
		t.Fatalf("goka's group: state %s protocol %s members %d", d.State, d.Protocol, len(d.Members))
	}

	// Restart the processor: it leaves the group, rejoins, recovers its table and resumes
	// after its committed offsets.
	stopProcessor()
	runGokaProcessor(t, gs, group, input)
	emitCounts(t, gs, input, keys, 10)
	waitViewCounts(t, view, keys, 30)
	checkCommittedAtEnd(t, adm, string(group), string(input))
}
