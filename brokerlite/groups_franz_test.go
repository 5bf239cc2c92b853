package brokerlite

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

// consumedLog records which consumer saw each record value.
type consumedLog struct {
	mu      sync.Mutex
	byValue map[string][]string
	byPart  map[int32]map[string]bool // partition -> consumers that read it
	errs    []string
}

func newConsumedLog() *consumedLog {
	return &consumedLog{byValue: map[string][]string{}, byPart: map[int32]map[string]bool{}}
}

func (l *consumedLog) add(r *kgo.Record, who string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byValue[string(r.Value)] = append(l.byValue[string(r.Value)], who)
	if l.byPart[r.Partition] == nil {
		l.byPart[r.Partition] = map[string]bool{}
	}
	l.byPart[r.Partition][who] = true
}

func (l *consumedLog) distinct() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.byValue)
}

func (l *consumedLog) errorf(format string, args ...any) {
	l.mu.Lock()
	l.errs = append(l.errs, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

// check fails t if a record in values was lost or consumed more than once.
func (l *consumedLog) check(t *testing.T, values []string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.errs {
		t.Error(e)
	}
	for _, v := range values {
		switch who := l.byValue[v]; len(who) {
		case 0:
			t.Errorf("record %s was never consumed", v)
		case 1:
		default:
			t.Errorf("record %s was consumed %d times, by %v", v, len(who), who)
		}
	}
}

// groupConsumer is one franz-go group member consuming in the background. It blocks
// rebalances while it processes a poll and commits before allowing them, the pattern
// franz-go documents for processing every record once.
type groupConsumer struct {
	name   string
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}
}

func startGroupConsumer(t *testing.T, b *Broker, group, topic, name string, seen *consumedLog, opts ...kgo.Opt) *groupConsumer {
	t.Helper()
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(b.Addr()),
		kgo.ClientID(name),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.BlockRebalanceOnPoll(),
		kgo.DisableAutoCommit(),
		kgo.HeartbeatInterval(100 * time.Millisecond),
		kgo.SessionTimeout(6 * time.Second),
		kgo.RebalanceTimeout(10 * time.Second),
		kgo.FetchMaxWait(100 * time.Millisecond),
		kgo.RetryTimeout(10 * time.Second),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gc := &groupConsumer{name: name, cl: cl, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(gc.done)
		for {
			fs := cl.PollFetches(ctx)
			fs.EachError(func(tp string, p int32, err error) {
				if !errors.Is(err, context.Canceled) {
					seen.errorf("%s: fetch %s-%d: %v", name, tp, p, err)
				}
			})
			fs.EachRecord(func(r *kgo.Record) { seen.add(r, name) })
			// Commit what was seen even when stopping, so that a member that leaves
			// hands over exactly where it stopped.
			cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := cl.CommitUncommittedOffsets(cctx); err != nil {
				seen.errorf("%s: commit: %v", name, err)
			}
			ccancel()
			cl.AllowRebalance()
			if ctx.Err() != nil {
				return
			}
		}
	}()
	t.Cleanup(gc.stop)
	return gc
}

// stop ends the consume loop and closes the client, which leaves the group.
func (gc *groupConsumer) stop() {
	gc.cancel()
	<-gc.done
	gc.cl.Close()
}

// waitAssigned polls DescribeGroups until the group is Stable with exactly members and
// every partition of topic assigned to exactly one member.
func waitAssigned(t *testing.T, adm *kadm.Client, group, topic string, partitions int32, members []string) {
	t.Helper()
	var last string
	if !testutil.Poll(30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		groups, err := adm.DescribeGroups(ctx, group)
		cancel()
		if err != nil {
			last = err.Error()
			return false
		}
		d := groups[group]
		owners := map[int32]int{}
		var clients []string
		for _, m := range d.Members {
			clients = append(clients, m.ClientID)
			if c, ok := m.Assigned.AsConsumer(); ok {
				for _, tp := range c.Topics {
					for _, p := range tp.Partitions {
						owners[p]++
					}
				}
			}
		}
		sort.Strings(clients)
		want := append([]string(nil), members...)
		sort.Strings(want)
		ok := d.State == "Stable" && strings.Join(clients, ",") == strings.Join(want, ",") && len(owners) == int(partitions)
		for _, n := range owners {
			ok = ok && n == 1
		}
		if !ok {
			last = fmt.Sprintf("state %s, members %v, partition owners %v", d.State, clients, owners)
		}
		return ok
	}) {
		t.Fatalf("group %s never settled with members %v over %d partitions: %s", group, members, partitions, last)
	}
}

// produceValues produces values round-robin over the topic's six partitions (c must use
// the manual partitioner) and returns them.
func produceValues(t *testing.T, c *kgo.Client, topic, prefix string, n int) []string {
	t.Helper()
	var recs []*kgo.Record
	var values []string
	for i := 0; i < n; i++ {
		v := fmt.Sprintf("%s-%d", prefix, i)
		values = append(values, v)
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 6), Value: []byte(v)})
	}
	if err := c.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	return values
}

func waitConsumed(t *testing.T, seen *consumedLog, n int) {
	t.Helper()
	if !testutil.Poll(30*time.Second, func() bool { return seen.distinct() >= n }) {
		t.Fatalf("consumed %d distinct records, want %d", seen.distinct(), n)
	}
}

// checkCommittedAtEnd checks that the group's committed offsets equal the end offsets.
func checkCommittedAtEnd(t *testing.T, adm *kadm.Client, group, topic string) {
	t.Helper()
	var diff []string
	if !testutil.Poll(10*time.Second, func() bool {
		ends, err := adm.ListEndOffsets(testCtx(t), topic)
		if err != nil {
			t.Fatal(err)
		}
		committed, err := adm.FetchOffsets(testCtx(t), group)
		if err != nil {
			t.Fatal(err)
		}
		diff = nil
		ends.Each(func(o kadm.ListedOffset) {
			c, _ := committed.Lookup(topic, o.Partition)
			if c.At != o.Offset {
				diff = append(diff, fmt.Sprintf("p%d committed %d end %d", o.Partition, c.At, o.Offset))
			}
		})
		return len(diff) == 0
	}) {
		t.Fatalf("committed offsets behind: %v", diff)
	}
}

// TestGroupThreeConsumersSixPartitions: three franz-go consumers share six partitions;
// each partition goes to one of them, every record is consumed once across the group, and
// the committed offsets reach the end of every partition.
func TestGroupThreeConsumersSixPartitions(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := kadm.NewClient(c)
	createTopic(t, c, "orders", 6)
	seen := newConsumedLog()
	names := []string{"c1", "c2", "c3"}
	for _, n := range names {
		startGroupConsumer(t, b, "g3", "orders", n, seen)
	}
	waitAssigned(t, adm, "g3", "orders", 6, names)
	values := produceValues(t, c, "orders", "r", 1200)
	waitConsumed(t, seen, len(values))
	seen.check(t, values)
	for p, who := range seen.byPart {
		if len(who) != 1 {
			t.Errorf("partition %d read by %v, want one member", p, who)
		}
	}
	if len(seen.byPart) != 6 {
		t.Errorf("records came from %d partitions, want 6", len(seen.byPart))
	}
	checkCommittedAtEnd(t, adm, "g3", "orders")
}

// TestGroupRebalanceJoinLeave: members join and leave a consuming group, with the eager
// range assignor and with cooperative-sticky (two-phase rebalances, KIP-429). After each
// change the partitions are spread over the current members, and no record is lost or
// consumed twice.
func TestGroupRebalanceJoinLeave(t *testing.T) {
	for _, tc := range []struct {
		name     string
		balancer kgo.GroupBalancer
	}{
		{"range", kgo.RangeBalancer()},
		{"cooperative-sticky", kgo.CooperativeStickyBalancer()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t, "")
			c := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()))
			adm := kadm.NewClient(c)
			topic := "events-" + tc.name
			group := "grp-" + tc.name
			createTopic(t, c, topic, 6)
			seen := newConsumedLog()
			opt := kgo.Balancers(tc.balancer)
			var all []string

			startGroupConsumer(t, b, group, topic, "m1", seen, opt)
			m2 := startGroupConsumer(t, b, group, topic, "m2", seen, opt)
			waitAssigned(t, adm, group, topic, 6, []string{"m1", "m2"})
			all = append(all, produceValues(t, c, topic, "a", 300)...)
			waitConsumed(t, seen, len(all))

			// A member joins while records flow.
			all = append(all, produceValues(t, c, topic, "b", 300)...)
			startGroupConsumer(t, b, group, topic, "m3", seen, opt)
			waitAssigned(t, adm, group, topic, 6, []string{"m1", "m2", "m3"})
			all = append(all, produceValues(t, c, topic, "c", 300)...)
			waitConsumed(t, seen, len(all))

			// A member leaves (LeaveGroup on close) while records flow.
			all = append(all, produceValues(t, c, topic, "d", 300)...)
			m2.stop()
			waitAssigned(t, adm, group, topic, 6, []string{"m1", "m3"})
			all = append(all, produceValues(t, c, topic, "e", 300)...)
			waitConsumed(t, seen, len(all))

			seen.check(t, all)
			checkCommittedAtEnd(t, adm, group, topic)
		})
	}
}

// TestGroupOffsetsSurviveRestart: records are produced, half consumed and committed by a
// group, the broker restarts, and a new member of the group resumes exactly where the
// commits left off; the group itself (now empty) and its offsets are loaded from
// __consumer_offsets.
func TestGroupOffsetsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	c := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	createTopic(t, c, "durable", 6)
	values := produceValues(t, c, "durable", "v", 600)

	// Consume and commit exactly the first 50 records of each partition.
	cons := newClient(t, b, kgo.ConsumerGroup("restart-g"), kgo.ConsumeTopics("durable"), kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(100*time.Millisecond))
	committed := map[int32]int64{}
	ctx := testCtx(t)
	for len(committed) < 6 {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal(ctx.Err())
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", tp, p, err) })
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, r := range p.Records {
				if r.Offset == 49 {
					committed[r.Partition] = 50
				}
			}
		})
	}
	offs := make(map[string]map[int32]kgo.EpochOffset)
	offs["durable"] = map[int32]kgo.EpochOffset{}
	for p, o := range committed {
		offs["durable"][p] = kgo.EpochOffset{Epoch: -1, Offset: o}
	}
	var commitErr error
	done := make(chan struct{})
	cons.CommitOffsetsSync(ctx, offs, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		commitErr = err
		if err == nil {
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if p.ErrorCode != 0 {
						commitErr = kerr.ErrorForCode(p.ErrorCode)
					}
				}
			}
		}
		close(done)
	})
	<-done
	if commitErr != nil {
		t.Fatal(commitErr)
	}
	cons.Close() // leaves the group
	c.Close()
	closeBroker(t, b)

	b2 := startBroker(t, dir)
	c2 := newClient(t, b2)
	adm := kadm.NewClient(c2)
	fetched, err := adm.FetchOffsets(testCtx(t), "restart-g")
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 6; p++ {
		if o, ok := fetched.Lookup("durable", p); !ok || o.At != 50 {
			t.Fatalf("partition %d: committed offset after restart %+v, want 50", p, o)
		}
	}
	groups, err := adm.DescribeGroups(testCtx(t), "restart-g")
	if err != nil || groups["restart-g"].State != "Empty" || groups["restart-g"].ProtocolType != "consumer" {
		t.Fatalf("group after restart: %+v, %v", groups["restart-g"], err)
	}
	seen := newConsumedLog()
	startGroupConsumer(t, b2, "restart-g", "durable", "after", seen)
	var rest []string
	for _, v := range values {
		var i int
		fmt.Sscanf(v, "v-%d", &i)
		if i/6 >= 50 { // record i went to partition i%6 at offset i/6
			rest = append(rest, v)
		}
	}
	waitConsumed(t, seen, len(rest))
	seen.check(t, rest)
	if seen.distinct() != len(rest) {
		t.Fatalf("consumed %d records after restart, want exactly the %d uncommitted ones", seen.distinct(), len(rest))
	}
}
