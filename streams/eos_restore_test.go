package streams_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rivulet-io/rivulet/streams"
)

// sumTopology counts each key's records in the in-memory Processor API
// store "sums" (Int64Serde values, so its changelog records are plain
// 8-byte counts) and writes every new count to out.
func sumTopology(t *testing.T, in, out string) *streams.Topology {
	t.Helper()
	b := streams.NewBuilder()
	streams.AddStateStore(b, streams.NewKeyValueStoreBuilder("sums", ss, streams.Int64Serde()).WithStoreType(streams.InMemoryStore))
	src := streams.NewStream(b, in, streams.ConsumedWith(ss, ss))
	streams.Process(src, streams.ProcessorFunc(func(ctx streams.ProcessorContext[string, int64], r streams.Record[string, string]) error {
		kv, err := streams.GetKeyValueStore[string, int64](ctx, "sums")
		if err != nil {
			return err
		}
		n, _, err := kv.Get(r.Key)
		if err != nil {
			return err
		}
		n++
		if err := kv.Put(r.Key, n); err != nil {
			return err
		}
		return ctx.Forward(streams.Record[string, int64]{Key: r.Key, Value: n, Timestamp: r.Timestamp})
	}), streams.WithStores{"sums"}).To(out, streams.ProducedWith(ss, streams.Int64Serde()))
	return build(t, b)
}

// TestExactlyOnceRestoreWaitsForPendingTransaction: a task's previous owner
// (here a transactional producer standing in for it) left a transaction
// open that holds both its store's changelog update (count 5 for "a") and
// the input offset after the five records it counted, as a commit on
// revocation, or a zombie's, does until its markers are written. The new
// owner restores while that transaction is open, and it then commits. The
// restore must not end before the transaction does (KIP-447: the committed
// offsets the new owner starts from are those of that transaction), or the
// store misses the update while the input moves past the records it
// counted: the sixth "a" must count 6.
func TestExactlyOnceRestoreWaitsForPendingTransaction(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	must(t, err)
	t.Cleanup(c.Close)
	addrs := c.ListenAddrs()
	const app = "eos-pending"
	in, out, changelog := app+"-in", app+"-out", app+"-sums-changelog"
	createTopic(t, addrs, 1, in, out, changelog)
	var five []*kgo.Record
	for range 5 {
		five = append(five, &kgo.Record{Topic: in, Key: []byte("a"), Value: []byte("x")})
	}
	produce(t, addrs, five...)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	prev, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.TransactionalID("previous-owner"), kgo.ProducerLinger(0))
	must(t, err)
	defer prev.Close()
	must(t, prev.BeginTransaction())
	count, err := streams.Int64Serde().Serialize(5)
	must(t, err)
	must(t, prev.ProduceSync(ctx, &kgo.Record{Topic: changelog, Key: []byte("a"), Value: count}).FirstErr())
	pid, epoch, err := prev.ProducerID(ctx)
	must(t, err)
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = "previous-owner", pid, epoch, app
	addResp, err := add.RequestWith(ctx, prev)
	must(t, err)
	must(t, kerr.ErrorForCode(addResp.ErrorCode))
	td, err := kadm.NewClient(prev).ListTopics(ctx, in)
	must(t, err)
	commit := kmsg.NewPtrTxnOffsetCommitRequest()
	commit.TransactionalID, commit.Group, commit.ProducerID, commit.ProducerEpoch, commit.Generation = "previous-owner", app, pid, epoch, -1
	ct := kmsg.NewTxnOffsetCommitRequestTopic()
	ct.Topic, ct.TopicID = in, td[in].ID
	cp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	cp.Partition, cp.Offset, cp.LeaderEpoch = 0, 5, -1
	ct.Partitions = append(ct.Partitions, cp)
	commit.Topics = append(commit.Topics, ct)
	commitResp, err := commit.RequestWith(ctx, prev)
	must(t, err)
	for _, rt := range commitResp.Topics {
		for _, rp := range rt.Partitions {
			must(t, kerr.ErrorForCode(rp.ErrorCode))
		}
	}

	// franz-go fetches a new assignment's committed offsets once the
	// assignment callback, which starts the restore and lists where the
	// changelog ends, has returned: the application's first OffsetFetch
	// comes after that listing, and the broker (kfake handles requests one
	// at a time) answered it with the transaction still open.
	fetched := make(chan struct{})
	var once sync.Once
	c.ControlKey(int16(kmsg.OffsetFetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.OffsetFetchRequest)
		if r.Group == app {
			once.Do(func() { close(fetched) })
		}
		for _, g := range r.Groups {
			if g.Group == app {
				once.Do(func() { close(fetched) })
			}
		}
		return nil, nil, false
	})
	startApp(t, sumTopology(t, in, out), streams.Properties{
		"application.id":       app,
		"bootstrap.servers":    strings.Join(addrs, ","),
		"processing.guarantee": "exactly_once_v2",
		"state.dir":            t.TempDir(),
	})
	select {
	case <-fetched:
	case <-ctx.Done():
		t.Fatal("the application never fetched its committed offsets")
	}
	must(t, prev.EndTransaction(ctx, kgo.TryCommit))
	produce(t, addrs, &kgo.Record{Topic: in, Key: []byte("a"), Value: []byte("x")})
	recs := consumeCommitted(t, addrs, out, 60*time.Second, func(rs []*kgo.Record) bool { return len(rs) > 0 })
	if len(recs) != 1 || string(recs[0].Key) != "a" || i64(recs[0].Value) != 6 {
		for _, r := range recs {
			t.Logf("output %s=%d", r.Key, i64(r.Value))
		}
		t.Fatalf("got %d output records, want one: a=6 (the five records the previous owner counted, and the sixth)", len(recs))
	}
}

// farewellProc forwards what it processes and, as it closes, one record
// keyed "closed" with the last value it saw.
type farewellProc struct {
	ctx  streams.ProcessorContext[string, string]
	last string
}

func (p *farewellProc) Init(ctx streams.ProcessorContext[string, string]) error {
	p.ctx = ctx
	return nil
}

func (p *farewellProc) Process(r streams.Record[string, string]) error {
	p.last = r.Value
	return p.ctx.Forward(r)
}

func (p *farewellProc) Close() error {
	if p.last == "" {
		return nil
	}
	return p.ctx.Forward(streams.NewRecord("closed", p.last, time.Now().UnixMilli()))
}

// TestExactlyOnceProcessorCloseOutputOnRevocation: a task given up in a
// rebalance is committed, then its processors close; what one forwards as
// it closes goes into the thread's next transaction, as in Kafka Streams,
// rather than being refused outside a transaction (which failed the
// thread through the production handler).
func TestExactlyOnceProcessorCloseOutputOnRevocation(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	must(t, err)
	t.Cleanup(c.Close)
	addrs := c.ListenAddrs()
	const app = "eos-farewell"
	in, out := app+"-in", app+"-out"
	createTopic(t, addrs, 2, in, out)
	b := streams.NewBuilder()
	streams.Process(streams.NewStream(b, in, streams.ConsumedWith(ss, ss)), func() streams.Processor[string, string, string, string] {
		return &farewellProc{}
	}).To(out)
	topo := build(t, b)
	props := func() streams.Properties {
		return streams.Properties{
			"application.id":       app,
			"bootstrap.servers":    strings.Join(addrs, ","),
			"processing.guarantee": "exactly_once_v2",
			"state.dir":            t.TempDir(),
		}
	}
	first := startApp(t, topo, props())
	pcl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	must(t, err)
	defer pcl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, pcl.ProduceSync(ctx,
		&kgo.Record{Topic: in, Partition: 0, Key: []byte("k0"), Value: []byte("v0")},
		&kgo.Record{Topic: in, Partition: 1, Key: []byte("k1"), Value: []byte("v1")}).FirstErr())
	consumeCommitted(t, addrs, out, 60*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= 2 })

	// A second instance takes one of the first one's two tasks.
	startApp(t, topo, props())
	recs := consumeCommitted(t, addrs, out, 60*time.Second, func(rs []*kgo.Record) bool {
		for _, r := range rs {
			if string(r.Key) == "closed" {
				return true
			}
		}
		return false
	})
	found := false
	for _, r := range recs {
		found = found || string(r.Key) == "closed"
	}
	if !found {
		t.Errorf("the output of the revoked task's closing processor was never committed (first instance: %s, err %v)", first.State(), first.Err())
	}
	if err := first.Err(); err != nil {
		t.Errorf("first instance: %v", err)
	}
}

// TestProcessorCloseOutputAtShutdown: what a processor forwards as it
// closes at a clean shutdown (after the last commit) is still delivered:
// under exactly_once_v2 in one last transaction, which read_committed
// readers see.
func TestProcessorCloseOutputAtShutdown(t *testing.T) {
	for _, guarantee := range []string{"at_least_once", "exactly_once_v2"} {
		t.Run(guarantee, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
			must(t, err)
			t.Cleanup(c.Close)
			addrs := c.ListenAddrs()
			const app = "farewell-shutdown"
			in, out := app+"-in", app+"-out"
			createTopic(t, addrs, 1, in, out)
			b := streams.NewBuilder()
			streams.Process(streams.NewStream(b, in, streams.ConsumedWith(ss, ss)), func() streams.Processor[string, string, string, string] {
				return &farewellProc{}
			}).To(out)
			a := startAppNoCleanup(t, build(t, b), streams.Properties{
				"application.id":       app,
				"bootstrap.servers":    strings.Join(addrs, ","),
				"processing.guarantee": guarantee,
				"state.dir":            t.TempDir(),
			})
			produce(t, addrs, &kgo.Record{Topic: in, Key: []byte("k"), Value: []byte("v")})
			consumeCommitted(t, addrs, out, 60*time.Second, func(rs []*kgo.Record) bool { return len(rs) > 0 })
			closeApp(t, a)
			recs := consumeCommitted(t, addrs, out, 30*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= 2 })
			if len(recs) != 2 || string(recs[1].Key) != "closed" || string(recs[1].Value) != "v" {
				for _, r := range recs {
					t.Logf("output %s=%s", r.Key, r.Value)
				}
				t.Fatalf("got %d output records, want the processed one and closed=v", len(recs))
			}
		})
	}
}
