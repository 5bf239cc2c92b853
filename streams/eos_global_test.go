package streams_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/streams"
)

// produceInTxn writes recs in one transaction of a transactional producer
// and commits it, or aborts it when commit is false.
func produceInTxn(t *testing.T, addrs []string, txnID string, commit bool, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.TransactionalID(txnID), kgo.ProducerLinger(0))
	must(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	must(t, cl.BeginTransaction())
	must(t, cl.ProduceSync(ctx, recs...).FirstErr())
	must(t, cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)))
}

// TestGlobalStoreLoadsTransactionalTopic: a global topic written by a
// transactional producer ends with a transaction marker, an offset no
// record is read at. The global stores still catch up (the marker counts
// as read) and the application starts, under either guarantee; under
// exactly_once_v2 the aborted transaction's records stay out.
func TestGlobalStoreLoadsTransactionalTopic(t *testing.T) {
	for _, br := range []broker{startBrokerlite(t), kfakeCluster3(t)} {
		for _, guarantee := range []string{"at_least_once", "exactly_once_v2"} {
			t.Run(br.name+"/"+guarantee, func(t *testing.T) {
				requireTransactions(t, br)
				id := uniq("gtxn")
				global, in, out := id+"-global", id+"-in", id+"-out"
				createTopic(t, br.addrs, 2, global, in, out)
				var recs []*kgo.Record
				for i := 0; i < 10; i++ {
					recs = append(recs, &kgo.Record{Topic: global, Partition: int32(i % 2), Key: []byte(fmt.Sprintf("g%d", i)), Value: []byte(fmt.Sprint(i))})
				}
				produceInTxn(t, br.addrs, id+"-txn", true, recs...)
				produceInTxn(t, br.addrs, id+"-txn", false,
					&kgo.Record{Topic: global, Partition: 0, Key: []byte("aborted"), Value: []byte("x")},
					&kgo.Record{Topic: global, Partition: 1, Key: []byte("aborted"), Value: []byte("x")})
				b := streams.NewBuilder()
				g := streams.NewGlobalTable(b, global, streams.ConsumedWith(ss, ss), streams.MaterializedAs[string, string]("gstore"))
				lookups := streams.NewStream(b, in, streams.ConsumedWith(ss, ss))
				streams.LeftJoinWithGlobalTable(lookups, g, func(k, _ string) string { return k }, func(_, _ string, v *string) string {
					if v == nil {
						return "?"
					}
					return *v
				}).To(out)
				startApp(t, build(t, b), streams.Properties{
					"application.id": id, "bootstrap.servers": strings.Join(br.addrs, ","), "state.dir": t.TempDir(),
					"processing.guarantee": guarantee,
				})
				// The application started: the global stores caught up.
				want := map[string]string{"aborted": "?"}
				var asks []*kgo.Record
				for i := 0; i < 10; i++ {
					want[fmt.Sprintf("g%d", i)] = fmt.Sprint(i)
				}
				for k := range want {
					asks = append(asks, &kgo.Record{Topic: in, Key: []byte(k), Value: []byte("?")})
				}
				produce(t, br.addrs, asks...)
				got := map[string]string{}
				consumeCommitted(t, br.addrs, out, 30*time.Second, func(rs []*kgo.Record) bool {
					for _, r := range rs {
						got[string(r.Key)] = string(r.Value)
					}
					return len(got) >= len(want)
				})
				if guarantee == "at_least_once" {
					// read_uncommitted: the aborted records are read too.
					delete(want, "aborted")
					delete(got, "aborted")
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("lookups in the global store: %v, want %v", got, want)
				}
			})
		}
	}
}
