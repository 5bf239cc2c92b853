package streams

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/memstore"
)

// TestRestoreRemainingCountsTransactionMarkers restores a changelog written
// in transactions (each ends with a marker, the last one at the end): once
// every record up to the last stable offset is read, the restore's
// remaining figure is 0 and only the data records were applied.
func TestRestoreRemainingCountsTransactionMarkers(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "markers-changelog"))
	mustOK(t, err)
	t.Cleanup(c.Close)
	const topic = "markers-changelog"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pcl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.TransactionalID("markers"), kgo.DefaultProduceTopic(topic))
	mustOK(t, err)
	defer pcl.Close()
	const txns, per = 3, 4
	for i := 0; i < txns; i++ {
		mustOK(t, pcl.BeginTransaction())
		for j := 0; j < per; j++ {
			mustOK(t, pcl.ProduceSync(ctx, &kgo.Record{Key: []byte(fmt.Sprintf("k%d", j)), Value: []byte(fmt.Sprint(i))}).FirstErr())
		}
		mustOK(t, pcl.EndTransaction(ctx, kgo.TryCommit))
	}
	ccl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	mustOK(t, err)
	defer ccl.Close()
	const end = txns * (per + 1) // the last stable offset: every record and marker
	var recs []*kgo.Record
	for len(recs) == 0 || recs[len(recs)-1].Offset < end-1 {
		fs := ccl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d changelog records: %v", len(recs), err)
		}
		recs = append(recs, fs.Records()...)
	}
	if !recs[len(recs)-1].Attrs.IsControl() {
		t.Fatalf("the changelog's last record at %d is not a transaction marker", recs[len(recs)-1].Offset)
	}

	store := memstore.NewKeyValueStore("s", statestore.KeyValueOptions{})
	sr := &storeRestore{task: TaskID{}, store: "s", started: time.Now(),
		restorer: statestore.NewRestorer(store.(statestore.Restorable), statestore.RestoreOptions{EndOffset: end})}
	var rt restoreTracker
	rt.add(sr)
	half := len(recs) / 2
	if _, err := sr.apply(recs[:half]); err != nil {
		t.Fatal(err)
	}
	if rs := rt.snapshot(); rs[0].Remaining != end-(recs[half-1].Offset+1) {
		t.Fatalf("remaining %d after reading up to offset %d of %d", rs[0].Remaining, recs[half-1].Offset, end)
	}
	if _, err := sr.apply(recs[half:]); err != nil {
		t.Fatal(err)
	}
	rs := rt.snapshot()
	if rs[0].Remaining != 0 || rs[0].Restored != txns*per {
		t.Fatalf("after reading to the last stable offset: remaining %d, restored %d (want 0 and %d)", rs[0].Remaining, rs[0].Restored, txns*per)
	}
}
