package streams_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// distinctWords returns n lines of one distinct word each.
func distinctWords(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		// letters only: the word-count topology splits on anything else
		out[i] = prefix + strings.Map(func(r rune) rune { return 'a' + (r - '0') }, fmt.Sprintf("%05d", i))
	}
	return out
}

func activeTasks(app *streams.App) map[streams.TaskID]bool {
	out := map[streams.TaskID]bool{}
	for _, ti := range app.Tasks() {
		if ti.State == streams.TaskRunning {
			out[ti.ID] = true
		}
	}
	return out
}

func statefulCount(tasks map[streams.TaskID]bool) int {
	n := 0
	for id := range tasks {
		if id.Subtopology == 1 { // the word count's counting sub-topology
			n++
		}
	}
	return n
}

// TestStandbyReplicasAndHostMetadata runs a word count on two instances
// with num.standby.replicas=1 and application.server set: each instance
// keeps caught-up standby copies of the other's stores, every instance
// sees the same host metadata (active and standby tasks, partitions and
// stores by host:port), keys map to the instance running their task, and
// when one instance leaves the other takes its tasks over from its
// standbys without restoring the changelogs.
func TestStandbyReplicasAndHostMetadata(t *testing.T) {
	br := startBrokerlite(t)
	id, in, out := uniqTopics(t, br.addrs, "standby", 4)
	topo := buildWordCount(t, in, out)
	mk := func(server string) *streams.App {
		return startApp(t, topo, streams.Properties{
			"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
			"commit.interval.ms": "100", "num.standby.replicas": "1", "application.server": server,
		})
	}
	a1, a2 := mk("127.0.0.1:7001"), mk("127.0.0.1:7002")
	ls := distinctWords("w", 400)
	want := map[string]int64{}
	produceWords(t, br.addrs, in, out, want, ls...)

	// Both see the same metadata: two hosts, every task active once, every
	// counting task standby on the other host.
	metaOK := func() bool {
		m1, m2 := a1.Metadata(), a2.Metadata()
		if len(m1) != 2 || !reflect.DeepEqual(m1, m2) {
			return false
		}
		active := map[streams.TaskID]string{}
		for _, m := range m1 {
			for _, tk := range m.ActiveTasks {
				if _, dup := active[tk]; dup {
					return false
				}
				active[tk] = m.Endpoint()
			}
		}
		if len(active) != 8 {
			return false
		}
		for _, m := range m1 {
			if len(m.ActiveTasks) != 4 || len(m.StandbyTasks) != 2 {
				return false
			}
			for _, tk := range m.StandbyTasks {
				if tk.Subtopology != 1 || active[tk] == m.Endpoint() {
					return false
				}
			}
		}
		return true
	}
	byEndpoint := map[string]*streams.App{"127.0.0.1:7001": a1, "127.0.0.1:7002": a2}
	// ... and each instance runs what the metadata says (a cooperative
	// move takes two rebalances).
	runsIt := func() bool {
		for _, m := range a1.Metadata() {
			got := activeTasks(byEndpoint[m.Endpoint()])
			if len(got) != len(m.ActiveTasks) {
				return false
			}
			for _, tk := range m.ActiveTasks {
				if !got[tk] {
					return false
				}
			}
		}
		return true
	}
	if !testutil.Poll(30*time.Second, func() bool { return metaOK() && runsIt() }) {
		t.Fatalf("timed out: metadata %+v / %+v; tasks %v / %v", a1.Metadata(), a2.Metadata(), a1.Tasks(), a2.Tasks())
	}
	for _, m := range a1.Metadata() {
		if !reflect.DeepEqual(m.StateStores, []string{"counts"}) || !reflect.DeepEqual(m.StandbyStateStores, []string{"counts"}) || len(m.ActivePartitions) != 4 || len(m.StandbyPartitions) != 2 {
			t.Errorf("metadata of %s: %+v", m.Endpoint(), m)
		}
	}
	if got := a1.MetadataForStore("counts"); len(got) != 2 {
		t.Errorf("MetadataForStore: %d instances", len(got))
	}
	if got := a1.MetadataForStore("nope"); len(got) != 0 {
		t.Errorf("MetadataForStore of an unknown store: %+v", got)
	}
	if _, ok := a1.MetadataForKey("nope", []byte("x"), nil); ok {
		t.Errorf("MetadataForKey of an unknown store succeeded")
	}
	// A key maps to the instance that runs its counting task, and its
	// standby is on the other one.
	for _, w := range ls[:20] {
		q, ok := a2.QueryMetadataForKey("counts", []byte(w), nil)
		if !ok || q.Partition != streams.DefaultKeyPartitioner([]byte(w), 4) || len(q.Standbys) != 1 || q.Standbys[0].Endpoint() == q.Active.Endpoint() {
			t.Fatalf("key %s: %+v %v", w, q, ok)
		}
		owner := byEndpoint[q.Active.Endpoint()]
		if owner == nil || !activeTasks(owner)[streams.TaskID{Subtopology: 1, Partition: q.Partition}] {
			t.Fatalf("key %s: metadata says %s, which does not run task 1_%d", w, q.Active.Endpoint(), q.Partition)
		}
		if m, ok := a1.MetadataForKey("counts", []byte(w), nil); !ok || m.Endpoint() != q.Active.Endpoint() {
			t.Fatalf("MetadataForKey(%s) = %+v, %v", w, m, ok)
		}
	}

	// Standbys catch up with the changelogs.
	caughtUp := func(app *streams.App) bool {
		sts := streams.StandbyTasks(app)
		if len(sts) != 2 {
			return false
		}
		for _, st := range sts {
			if len(st.Changelogs) != 1 || st.Changelogs[0].Lag != 0 {
				return false
			}
		}
		return true
	}
	if !testutil.Poll(30*time.Second, func() bool { return caughtUp(a1) && caughtUp(a2) }) {
		t.Fatalf("timed out: standbys %+v / %+v", streams.StandbyTasks(a1), streams.StandbyTasks(a2))
	}

	// a1 leaves: a2 promotes its standbys, restoring (almost) nothing.
	restoredBefore := metric(t, a2, "rivulet_streams_restore_records_total")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, a1.Close(ctx))
	more := []string{"w" + "aaaaa", "fresh words"}
	produceWords(t, br.addrs, in, out, want, more...)
	if !testutil.Poll(30*time.Second, func() bool { return len(activeTasks(a2)) == 8 }) {
		t.Fatalf("timed out: %v", a2.Tasks())
	}
	restored := metric(t, a2, "rivulet_streams_restore_records_total") - restoredBefore
	if restored > 40 { // 400 words in the changelogs; a full restore of the two tasks reads ~200
		t.Errorf("failover restored %v changelog records; the standbys should have had them", restored)
	}
	if sts := streams.StandbyTasks(a2); len(sts) != 0 {
		t.Errorf("standbys left on the only instance: %+v", sts)
	}
	if !testutil.Poll(30*time.Second, func() bool { m := a2.Metadata(); return len(m) == 1 && len(m[0].ActiveTasks) == 8 }) {
		t.Fatalf("timed out: metadata %+v", a2.Metadata())
	}
}

// TestWarmupReplicasBeforeMove follows KIP-441: a second instance joins an
// instance holding all the state; the counting tasks stay where their
// state is while warm-up replicas on the new instance catch up, and move
// only then (probing rebalances), so the new instance restores nothing
// itself; in the end the state and the tasks are spread evenly.
func TestWarmupReplicasBeforeMove(t *testing.T) {
	br := startBrokerlite(t)
	id, in, out := uniqTopics(t, br.addrs, "warmup", 4)
	topo := buildWordCount(t, in, out)
	props := func() streams.Properties {
		return streams.Properties{
			"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
			"commit.interval.ms": "100", "acceptable.recovery.lag": "5", "max.warmup.replicas": "1",
			"probing.rebalance.interval.ms": "300",
		}
	}
	a1 := startApp(t, topo, props())
	ls := distinctWords("v", 400)
	want := map[string]int64{}
	produceWords(t, br.addrs, in, out, want, ls...)
	if !testutil.Poll(30*time.Second, func() bool { return len(activeTasks(a1)) == 8 }) {
		t.Fatalf("timed out: %v", a1.Tasks())
	}

	a2 := startApp(t, topo, props())
	sawWarmup, sawCountingOnlyOnA1 := false, false
	if !testutil.Poll(60*time.Second, func() bool {
		if len(streams.StandbyTasks(a2)) > 0 {
			sawWarmup = true
		}
		t1, t2 := activeTasks(a1), activeTasks(a2)
		if len(t2) > 0 && statefulCount(t2) == 0 {
			sawCountingOnlyOnA1 = true
		}
		return len(t1) == 4 && len(t2) == 4 && statefulCount(t1) == 2 && statefulCount(t2) == 2
	}) {
		t.Fatalf("timed out: tasks %v / %v", a1.Tasks(), a2.Tasks())
	}
	if !sawWarmup {
		t.Errorf("the new instance never held a warm-up replica")
	}
	if !sawCountingOnlyOnA1 {
		t.Errorf("the counting tasks moved before their new owner caught up")
	}
	if n := metric(t, a2, "rivulet_streams_restore_records_total"); n > 20 {
		t.Errorf("the new instance restored %v records itself; its warm-ups should have", n)
	}
	more := []string{"vaaaaa vaaaab", "after move"}
	produceWords(t, br.addrs, in, out, want, more...)
}

// TestStandbyInMemoryHandover: a standby of a task with an in-memory store
// hands the store itself over when it is promoted (as Kafka Streams does),
// so the failover restores nothing and the counts go on from where they
// were.
func TestStandbyInMemoryHandover(t *testing.T) {
	br := startBrokerlite(t)
	id, in, out := uniqTopics(t, br.addrs, "memstandby", 1)
	b := streams.NewBuilder()
	streams.NewStream(b, in, streams.ConsumedWith(ss, ss)).GroupByKey().
		Count(streams.MaterializedAs[string, int64]("counts").WithStoreType(streams.InMemoryStore)).
		ToStream().To(out, streams.ProducedWith(ss, streams.Int64Serde()))
	topo := build(t, b)
	mk := func() *streams.App {
		return startApp(t, topo, streams.Properties{
			"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
			"commit.interval.ms": "100", "num.standby.replicas": "1",
		})
	}
	keyed := func(keys ...string) []*kgo.Record {
		var recs []*kgo.Record
		for _, k := range keys {
			recs = append(recs, &kgo.Record{Topic: in, Key: []byte(k), Value: []byte("x")})
		}
		return recs
	}
	want := map[string]int64{}
	var keys []string
	for i := 0; i < 300; i++ {
		k := fmt.Sprintf("k%03d", i)
		keys = append(keys, k)
		want[k]++
	}
	a1 := mk()
	produce(t, br.addrs, keyed(keys...)...)
	waitCounts(t, br.addrs, out, want)
	a2 := mk()
	task := streams.TaskID{}
	if !testutil.Poll(30*time.Second, func() bool {
		sts := streams.StandbyTasks(a2)
		return activeTasks(a1)[task] && len(sts) == 1 && len(sts[0].Changelogs) == 1 && sts[0].Changelogs[0].Lag == 0
	}) {
		t.Fatalf("timed out: a1 %v, a2 standbys %v", a1.Tasks(), streams.StandbyTasks(a2))
	}
	restoredBefore := metric(t, a2, "rivulet_streams_restore_records_total")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, a1.Close(ctx))
	if !testutil.Poll(30*time.Second, func() bool { return activeTasks(a2)[task] }) {
		t.Fatalf("timed out: %v", a2.Tasks())
	}
	if n := metric(t, a2, "rivulet_streams_restore_records_total") - restoredBefore; n > 0 {
		t.Errorf("the promoted task restored %v records; its standby's in-memory store should have been handed over", n)
	}
	// The counts go on: the handed-over store has every key.
	produce(t, br.addrs, keyed(keys[:50]...)...)
	for _, k := range keys[:50] {
		want[k]++
	}
	waitCounts(t, br.addrs, out, want)
}
