package streams

import (
	"log/slog"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/topology"
)

// dslMetricsTask runs a count, a windowed count and a session count of the
// records keyed keys (one per second from 0) at level and flushes once.
func dslMetricsTask(t *testing.T, level int, keys ...string) (*streamTask, *opsMetrics) {
	t.Helper()
	b := NewBuilder()
	s := StringSerde()
	in := NewStream(b, "in", ConsumedWith(s, s))
	in.GroupByKey().Count(MaterializedAs[string, int64]("counts")).ToStream().To("out", ProducedWith(s, Int64Serde()))
	WindowedBy(in.GroupByKey(), TimeWindowsOfSizeWithNoGrace(time.Minute)).Count(MaterializedAs[string, int64]("wcounts"))
	WindowedBySession(in.GroupByKey(), SessionWindowsOfInactivityGapWithNoGrace(time.Minute)).Count(MaterializedAs[string, int64]("scounts"))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ops := newNodeMeters(topo, level)
	task, err := newStreamTask(topo, TaskID{}, []TopicPartition{{Topic: "in"}}, taskConfig{
		ApplicationID: "dsl-metrics", Collector: discardSends{}, Stores: inMemoryStores(), Logger: slog.New(slog.DiscardHandler),
		Cache: statestore.NewRecordCache(1 << 20), Stats: &taskStats{ops: ops},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Close(false) })
	if err := task.Initialize(0); err != nil {
		t.Fatal(err)
	}
	var raws []RawRecord
	for i, k := range keys {
		raws = append(raws, RawRecord{Topic: "in", Offset: int64(i), Key: []byte(k), Value: []byte("v"), Timestamp: int64(i) * 1000})
	}
	if err := task.AddRecords(TopicPartition{Topic: "in"}, raws); err != nil {
		t.Fatal(err)
	}
	drain(t, task, 100_000)
	if err := task.Flush(); err != nil {
		t.Fatal(err)
	}
	return task, ops
}

// TestDSLStoresCountOwnOperations: at DEBUG the stores of a count, a
// windowed count and a session count record each of the operations the
// aggregations make, once (reads the record cache answers included);
// handles to those stores are not wrapped again, so a read through one
// counts once; a put-if-absent counts as its parts.
func TestDSLStoresCountOwnOperations(t *testing.T) {
	task, ops := dslMetricsTask(t, levelDebug, "a", "b", "a", "a")
	type want struct {
		store string
		op    storeOp
		n     int64
	}
	check := func(when string, ws ...want) {
		t.Helper()
		stats := map[string][numStoreOps][3]int64{}
		for _, v := range task.storeStats(&ops.storeMeters) {
			stats[v.store] = v.ops
		}
		for _, w := range ws {
			v := stats[w.store][w.op]
			if v[0] != w.n || v[1] < v[2] || v[2] < 0 {
				t.Errorf("%s: %s %s: n %d sum %d max %d, want n %d", when, w.store, storeOpNames[w.op], v[0], v[1], v[2], w.n)
			}
		}
	}
	// The count: a get and a put per record. The windowed count (one
	// window): a fetch and a put. The session count: a fetch per record,
	// a put per record, and a remove for each session merged into a
	// longer one (the second and third "a").
	check("after processing",
		want{"counts", opGet, 4}, want{"counts", opPut, 4}, want{"counts", opFlush, 1}, want{"counts", opDelete, 0},
		want{"wcounts", opFetch, 4}, want{"wcounts", opPut, 4}, want{"wcounts", opFlush, 1},
		want{"scounts", opFetch, 4}, want{"scounts", opPut, 4}, want{"scounts", opRemove, 2}, want{"scounts", opFlush, 1})
	// The count's gets went through its record cache: "a" and "b" missed,
	// the next two "a" hit.
	if hm := task.cacheHits()["counts"]; hm != [2]int64{2, 2} {
		t.Errorf("record cache of counts: hits and misses %v, want [2 2]", hm)
	}

	kv, err := GetKeyValueStore[string, int64](storeOf{task.stores["counts"]}, "counts")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := kv.(*meteredKV[string, int64]); ok {
		t.Fatal("a handle to a DSL store is metered again")
	}
	if n, ok, err := kv.Get("a"); err != nil || !ok || n != 3 {
		t.Fatalf("Get a: %d %v %v", n, ok, err)
	}
	it, err := kv.All()
	if err != nil {
		t.Fatal(err)
	}
	for it.Next() {
	}
	check("before the iterator is closed", want{"counts", opGet, 5}, want{"counts", opAll, 0})
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := kv.PutIfAbsent("a", 9); err != nil {
		t.Fatal(err)
	}
	check("after a handle's get, all and put-if-absent of a present key",
		want{"counts", opGet, 6}, want{"counts", opAll, 1}, want{"counts", opPut, 4}, want{"counts", opPutIfAbsent, 0})

	ws, err := GetWindowStore[string, int64](storeOf{task.stores["wcounts"]}, "wcounts")
	if err != nil {
		t.Fatal(err)
	}
	if n, ok, err := ws.FetchOne("a", 0); err != nil || !ok || n != 3 {
		t.Fatalf("FetchOne a: %d %v %v", n, ok, err)
	}
	ss, err := GetSessionStore[string, int64](storeOf{task.stores["scounts"]}, "scounts")
	if err != nil {
		t.Fatal(err)
	}
	sit, err := ss.Fetch("a")
	if err != nil {
		t.Fatal(err)
	}
	sit.Close()
	check("after window and session handle reads", want{"wcounts", opFetch, 5}, want{"scounts", opFetch, 5})
}

// TestDSLStoresAtInfo: at INFO the DSL stores have no meter and nothing is
// recorded for them, while the end-to-end latency of the source and the
// sink is: the task's wall clock (100 s) minus the records' timestamps.
func TestDSLStoresAtInfo(t *testing.T) {
	task, ops := dslMetricsTask(t, levelInfo, "a", "b", "a")
	if got := task.storeStats(&ops.storeMeters); len(got) != 0 {
		t.Fatalf("store stats at INFO: %+v", got)
	}
	if ts := task.stores["counts"].(*tsStore[string, int64]); ts.m != nil {
		t.Fatal("a DSL store has a meter at INFO")
	}
	if ops.nodes != nil || task.ops != nil {
		t.Fatal("processor-node or task metrics at INFO")
	}
	var src, sink *e2eStats
	for _, n := range task.topo.t.Nodes() {
		switch n.Kind {
		case topology.SourceNode:
			src = ops.e2e[n.Name]
		case topology.SinkNode:
			sink = ops.e2e[n.Name]
		}
	}
	if src == nil || sink == nil {
		t.Fatalf("no end-to-end stats for the source or the sink: %v", ops.e2e)
	}
	// Source: 100000-0, 100000-1000, 100000-2000 ms.
	if n, lo, hi, sum := src.total(); n != 3 || lo != 98000 || hi != 100000 || sum != 297000 {
		t.Errorf("source e2e: n %d min %d max %d sum %d", n, lo, hi, sum)
	}
	// Sink: the cache folds "a" and emits a=2 (timestamp 2000) and b=1
	// (timestamp 1000) at the flush.
	if n, lo, hi, _ := sink.total(); n != 2 || lo != 98000 || hi != 99000 {
		t.Errorf("sink e2e: n %d min %d max %d", n, lo, hi)
	}
}

// TestJoinStoresCountOwnOperations: a stream-stream join's window stores
// record the join's puts (each side's records) and fetches (each record
// looks up the other side) at DEBUG.
func TestJoinStoresCountOwnOperations(t *testing.T) {
	b := NewBuilder()
	s := StringSerde()
	l := NewStream(b, "l", ConsumedWith(s, s))
	r := NewStream(b, "r", ConsumedWith(s, s))
	Join(l, r, func(_, a, b string) string { return a + b }, JoinWindowsOfTimeDifferenceWithNoGrace(time.Minute),
		StreamJoinedWith(s, s, s).WithStoreName("j")).To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ops := newNodeMeters(topo, levelDebug)
	parts := []TopicPartition{{Topic: "l"}, {Topic: "r"}}
	task, err := newStreamTask(topo, TaskID{}, parts, taskConfig{
		ApplicationID: "join-metrics", Collector: discardSends{}, Stores: inMemoryStores(), Logger: slog.New(slog.DiscardHandler), Stats: &taskStats{ops: ops},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close(false)
	if err := task.Initialize(0); err != nil {
		t.Fatal(err)
	}
	for i, tp := range parts {
		if err := task.AddRecords(tp, []RawRecord{{Topic: tp.Topic, Key: []byte("k"), Value: []byte(tp.Topic), Timestamp: int64(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, task, 10)
	got := map[string][2]int64{}
	for _, v := range task.storeStats(&ops.storeMeters) {
		got[v.store] = [2]int64{v.ops[opPut][0], v.ops[opFetch][0]}
	}
	want := map[string][2]int64{"j-this-join-store": {1, 1}, "j-other-join-store": {1, 1}}
	for store, w := range want {
		if got[store] != w {
			t.Errorf("%s: puts and fetches %v, want %v (all: %v)", store, got[store], w, got)
		}
	}
}
