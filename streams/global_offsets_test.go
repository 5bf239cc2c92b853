package streams_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// customerRecords returns records of the topic customers giving customer
// c<i> the name value, for each i.
func customerRecords(customers, value string, is ...int) []*kgo.Record {
	var out []*kgo.Record
	for _, i := range is {
		out = append(out, &kgo.Record{Topic: customers, Key: []byte(fmt.Sprintf("c%d", i)), Value: []byte(value)})
	}
	return out
}

// recreateTopic deletes topic and creates it again, empty, with partitions
// partitions.
func recreateTopic(t *testing.T, addrs []string, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := adminFor(t, addrs)
	dr, err := adm.DeleteTopics(ctx, topic)
	must(t, err)
	for _, r := range dr {
		must(t, r.Err)
	}
	// The deletion may take a moment to be seen everywhere.
	var cerr error
	testutil.Poll(10*time.Second, func() bool {
		resp, err := adm.CreateTopics(ctx, partitions, 1, nil, topic)
		if cerr = err; err == nil {
			cerr = resp[topic].Err
		}
		return cerr == nil
	})
	must(t, cerr)
}

// lookupCustomers asks, through the orders topic, for customers c0..c<n-1>
// and returns the answers by order key (o<i>) once all n arrived after
// the output's offset from. The global-table join answers "o<i>+<name>" or
// "o<i>+null".
func lookupCustomers(t *testing.T, addrs []string, orders, out string, n int, from int) ([]string, int) {
	t.Helper()
	var asks []*kgo.Record
	for i := 0; i < n; i++ {
		asks = append(asks, &kgo.Record{Topic: orders, Key: []byte(fmt.Sprintf("o%d", i)), Value: []byte(fmt.Sprintf("c%d", i))})
	}
	produce(t, addrs, asks...)
	recs := consumeUntil(t, addrs, out, 30*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= from+n })
	if len(recs) < from+n {
		t.Fatalf("%d answers, want %d", len(recs)-from, n)
	}
	got := make([]string, n)
	for _, r := range recs[from:] {
		var i int
		if _, err := fmt.Sscanf(string(r.Key), "o%d", &i); err == nil && i < n {
			got[i] = string(r.Value)
		}
	}
	return got, len(recs)
}

// Records of a global topic deleted (DeleteRecords) while the application
// was stopped, past the global store's checkpoint: the records between the
// checkpoint and the new log start are gone, a delete among them, so the
// store is wiped and rebuilt from what the topic still holds.
func TestGlobalStoreRebuiltWhenCheckpointBelowLogStart(t *testing.T) {
	br := startBrokerlite(t)
	id := uniq("glogstart")
	customers, orders, out := id+"-customers", id+"-orders", id+"-out"
	createTopic(t, br.addrs, 1, customers, orders, out)
	produce(t, br.addrs, customerRecords(customers, "old", 0, 1, 2, 3, 4)...) // offsets 0-4
	props := streams.Properties{"application.id": id, "bootstrap.servers": strings.Join(br.addrs, ","), "state.dir": t.TempDir()}
	topo := globalLookupTopology(t, customers, orders, out)

	app := newStartedApp(t, topo, props, fastGroup, streams.WithLogger(testLogger(t)))
	got, seen := lookupCustomers(t, br.addrs, orders, out, 5, 0)
	if want := "[o0+old o1+old o2+old o3+old o4+old]"; fmt.Sprint(got) != want {
		t.Fatalf("first run: %v, want %v", got, want)
	}
	mustClose(t, app, 30*time.Second)

	produce(t, br.addrs, &kgo.Record{Topic: customers, Key: []byte("c0")}) // offset 5, a delete
	produce(t, br.addrs, customerRecords(customers, "new", 1, 2)...)       // offsets 6, 7
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var before kadm.Offsets
	before.Add(kadm.Offset{Topic: customers, Partition: 0, At: 7})
	dr, err := adminFor(t, br.addrs).DeleteRecords(ctx, before)
	must(t, err)
	must(t, dr.Error())

	startApp(t, topo, props)
	got, _ = lookupCustomers(t, br.addrs, orders, out, 5, seen)
	if want := "[o0+null o1+null o2+new o3+null o4+null]"; fmt.Sprint(got) != want {
		t.Fatalf("after the records before offset 7 were deleted: %v, want %v", got, want)
	}
}

// A global topic deleted and recreated with fewer records while the
// application runs: the global thread finds its position out of range,
// wipes the global store and rebuilds it from the topic.
func TestGlobalStoreRebuiltAfterTopicRecreatedWhileRunning(t *testing.T) {
	br := startBrokerlite(t)
	id := uniq("grecreaterun")
	customers, orders, out := id+"-customers", id+"-orders", id+"-out"
	createTopic(t, br.addrs, 1, customers, orders, out)
	produce(t, br.addrs, customerRecords(customers, "old", 0, 1, 2, 3, 4)...)
	startApp(t, globalLookupTopology(t, customers, orders, out), streams.Properties{
		"application.id": id, "bootstrap.servers": strings.Join(br.addrs, ","), "state.dir": t.TempDir(),
	})
	got, seen := lookupCustomers(t, br.addrs, orders, out, 5, 0)
	if want := "[o0+old o1+old o2+old o3+old o4+old]"; fmt.Sprint(got) != want {
		t.Fatalf("before: %v, want %v", got, want)
	}

	recreateTopic(t, br.addrs, customers, 1)
	produce(t, br.addrs, customerRecords(customers, "new", 1)...)
	want := "[o0+null o1+new o2+null o3+null o4+null]"
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, seen = lookupCustomers(t, br.addrs, orders, out, 5, seen)
		if fmt.Sprint(got) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the topic was recreated: %v, want %v", got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
