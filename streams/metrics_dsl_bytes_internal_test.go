package streams

import (
	"log/slog"
	"math"
	"testing"
	"time"
)

// captureSends keeps what tasks send, to pass it on to the tasks that
// read the topics.
type captureSends struct{ recs []ProducerRecord }

func (c *captureSends) Send(r ProducerRecord) error          { c.recs = append(c.recs, r); return nil }
func (c *captureSends) PartitionCount(string) (int32, error) { return 1, nil }

// debugTasks runs every sub-topology of a topology as a task of partition
// 0 at DEBUG and passes what they send to internal topics on to the task
// that reads them, as an app with one partition per topic does.
type debugTasks struct {
	t       *testing.T
	tasks   []*streamTask
	readers map[string]*streamTask
	offsets map[string]int64
	out     *captureSends
	ops     *opsMetrics
}

func newDebugTasks(t *testing.T, b *Builder) *debugTasks {
	t.Helper()
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	const app = "dsl-bytes-metrics"
	d := &debugTasks{t: t, readers: map[string]*streamTask{}, offsets: map[string]int64{}, out: &captureSends{}, ops: newNodeMeters(topo, levelDebug)}
	for _, sub := range topo.t.Subtopologies() {
		if sub.Global {
			continue
		}
		topics := topo.t.SourceTopics(app, sub, nil)
		var parts []TopicPartition
		for _, tp := range topics {
			parts = append(parts, TopicPartition{Topic: tp})
		}
		task, err := newStreamTask(topo, TaskID{Subtopology: sub.ID}, parts, taskConfig{
			ApplicationID: app, Collector: d.out, Stores: inMemoryStores(), Logger: slog.New(slog.DiscardHandler), Stats: &taskStats{ops: d.ops},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { task.Close(false) })
		if err := task.Initialize(0); err != nil {
			t.Fatal(err)
		}
		d.tasks = append(d.tasks, task)
		for _, tp := range topics {
			d.readers[tp] = task
		}
	}
	return d
}

// send adds a record to topic (a nil value is a tombstone) and runs the
// tasks until no record is left to pass on.
func (d *debugTasks) send(topic, key string, value []byte, ts int64) {
	d.t.Helper()
	d.out.recs = append(d.out.recs, ProducerRecord{Topic: topic, Key: []byte(key), Value: value, Timestamp: ts})
	for len(d.out.recs) > 0 {
		recs := d.out.recs
		d.out.recs = nil
		for _, r := range recs {
			task := d.readers[r.Topic]
			if task == nil {
				continue // a changelog or an output topic
			}
			off := d.offsets[r.Topic]
			d.offsets[r.Topic]++
			if err := task.AddRecords(TopicPartition{Topic: r.Topic}, []RawRecord{{Topic: r.Topic, Offset: off, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp, Headers: r.Headers}}); err != nil {
				d.t.Fatal(err)
			}
		}
		for _, task := range d.tasks {
			drain(d.t, task, 100)
		}
	}
}

// counts returns the number of each operation recorded on store.
func (d *debugTasks) counts(store string) map[string]int64 {
	out := map[string]int64{}
	for _, task := range d.tasks {
		for _, v := range task.storeStats(&d.ops.storeMeters) {
			if v.store != store {
				continue
			}
			for op, s := range v.ops {
				if s[0] != 0 {
					out[storeOpNames[op]] = s[0]
				}
				if s[1] < s[2] || s[2] < 0 {
					d.t.Errorf("%s %s: latency sum %d below max %d", store, storeOpNames[op], s[1], s[2])
				}
			}
		}
	}
	return out
}

func (d *debugTasks) want(store string, want map[string]int64) {
	d.t.Helper()
	got := d.counts(store)
	if len(got) != len(want) {
		d.t.Errorf("%s: operations %v, want %v", store, got, want)
		return
	}
	for op, n := range want {
		if got[op] != n {
			d.t.Errorf("%s: operations %v, want %v", store, got, want)
			return
		}
	}
}

// storeNamed returns the store of one of the tasks.
func (d *debugTasks) storeNamed(name string) StateStore {
	for _, task := range d.tasks {
		if s, ok := task.stores[name]; ok {
			return s
		}
	}
	d.t.Fatalf("no store %q", name)
	return nil
}

// TestVersionedStoreCountsOwnOperations: a versioned table's store counts
// a get (the latest version) and a put for each update, tombstones and
// out-of-order updates included, and a get for each Get or GetAsOf of a
// handle, once; the scans and writes a put is made of are not counted.
func TestVersionedStoreCountsOwnOperations(t *testing.T) {
	b := NewBuilder()
	s := StringSerde()
	NewTable(b, "vt", ConsumedWith(s, s), MaterializedAs[string, string]("vstore").WithVersioning(time.Hour))
	d := newDebugTasks(t, b)
	d.send("vt", "k1", []byte("a"), 1000)
	d.send("vt", "k1", []byte("b"), 2000)
	d.send("vt", "k1", []byte("old"), 500)
	d.send("vt", "k2", nil, 3000)
	d.want("vstore", map[string]int64{"get": 4, "put": 4})
	vs, err := GetVersionedKeyValueStore[string, string](storeOf{d.storeNamed("vstore")}, "vstore")
	if err != nil {
		t.Fatal(err)
	}
	if r, ok, err := vs.Get("k1"); err != nil || !ok || r.Value != "b" {
		t.Fatalf("Get k1: %v %v %v", r, ok, err)
	}
	if r, ok, err := vs.GetAsOf("k1", 1500); err != nil || !ok || r.Value != "a" {
		t.Fatalf("GetAsOf k1 1500: %v %v %v", r, ok, err)
	}
	if _, ok, err := vs.GetAsOf("k1", math.MaxInt64); err != nil || !ok {
		t.Fatalf("GetAsOf k1 max: %v %v", ok, err)
	}
	d.want("vstore", map[string]int64{"get": 7, "put": 4})
}

// TestJoinGraceBufferCountsOwnOperations: the buffer of a stream-table
// join with a grace period counts a put for each held record, a range for
// each eviction that had something to look at, a delete for each record
// it let go and an all for the scan at start; the versioned table behind
// counts a get for each record joined.
func TestJoinGraceBufferCountsOwnOperations(t *testing.T) {
	b := NewBuilder()
	s := StringSerde()
	table := NewTable(b, "vt", ConsumedWith(s, s), MaterializedAs[string, string]("vstore").WithVersioning(time.Hour))
	JoinWithTable(NewStream(b, "in", ConsumedWith(s, s)), table, func(_, v, tv string) string { return v + tv },
		JoinedWith(s, s, s).WithName("gj").WithGracePeriod(10*time.Second)).To("out")
	d := newDebugTasks(t, b)
	d.want("gj-buffer-store", map[string]int64{"all": 1})
	d.send("vt", "k", []byte("t"), 0)
	d.send("in", "k", []byte("a"), 1000)
	d.send("in", "k", []byte("b"), 2000)
	d.want("gj-buffer-store", map[string]int64{"all": 1, "put": 2})
	// Stream time 20 s lets go of what is at or before 10 s.
	d.send("in", "k", []byte("c"), 20000)
	d.want("gj-buffer-store", map[string]int64{"all": 1, "put": 3, "range": 1, "delete": 2})
	d.want("vstore", map[string]int64{"get": 3, "put": 1})
}

// TestSuppressBufferCountsOwnOperations: a suppression buffer's store
// counts a put for each update it holds, a delete for each it emits, and
// an all for the scan at start.
func TestSuppressBufferCountsOwnOperations(t *testing.T) {
	b := NewBuilder()
	s := StringSerde()
	WindowedBy(NewStream(b, "in", ConsumedWith(s, s)).GroupByKey(), TimeWindowsOfSizeWithNoGrace(10*time.Second)).
		Count(MaterializedAs[string, int64]("wc")).
		Suppress(UntilWindowCloses(Unbounded()).WithName("sup")).ToStream().To("out")
	d := newDebugTasks(t, b)
	d.send("in", "a", []byte("v"), 0)
	d.send("in", "a", []byte("v"), 1000)
	d.want("sup-store", map[string]int64{"all": 1, "put": 2})
	// The window [0 s, 10 s) closes at 25 s.
	d.send("in", "b", []byte("v"), 25000)
	d.want("sup-store", map[string]int64{"all": 1, "put": 3, "delete": 1})
}

// TestOuterJoinStoreCountsOwnOperations: the shared store of a
// stream-stream outer join counts a get and a put for each record held
// unmatched, a get and a delete when a record of the other side matches a
// held one, an all for each scan for closed windows (and at start), and a
// delete for each held record emitted alone.
func TestOuterJoinStoreCountsOwnOperations(t *testing.T) {
	b := NewBuilder()
	s := StringSerde()
	OuterJoin(NewStream(b, "l", ConsumedWith(s, s)), NewStream(b, "r", ConsumedWith(s, s)),
		func(_ string, a, b *string) string { return "" }, JoinWindowsOfTimeDifferenceWithNoGrace(time.Second),
		StreamJoinedWith(s, s, s).WithStoreName("oj")).To("out")
	d := newDebugTasks(t, b)
	const store = "oj-outer-shared-join-store"
	d.want(store, map[string]int64{"all": 1})
	d.send("l", "k1", []byte("l"), 0)
	d.want(store, map[string]int64{"all": 1, "get": 1, "put": 1})
	d.send("r", "k1", []byte("r"), 500) // matches l@0
	d.want(store, map[string]int64{"all": 1, "get": 2, "put": 1, "delete": 1})
	d.send("l", "k2", []byte("l"), 5000) // scans (nothing held), holds k2
	d.want(store, map[string]int64{"all": 2, "get": 3, "put": 2, "delete": 1})
	d.send("r", "k3", []byte("r"), 10000) // emits k2 alone, holds k3
	d.want(store, map[string]int64{"all": 3, "get": 4, "put": 3, "delete": 2})
}

// TestForeignKeyStoreCountsOwnOperations: a foreign-key join's
// subscription store counts a put for each subscription, a delete for each
// subscription withdrawn, and a prefix-scan for each change of a right
// row.
func TestForeignKeyStoreCountsOwnOperations(t *testing.T) {
	b := NewBuilder()
	s := StringSerde()
	left := NewTable(b, "lt", ConsumedWith(s, s), MaterializedAs[string, string]("left"))
	right := NewTable(b, "rt", ConsumedWith(s, s), MaterializedAs[string, string]("right"))
	JoinForeignKey(left, right, func(_, v string) (string, bool) { return v, true },
		func(_, l, r string) string { return l + r }, Named("fk")).ToStream().To("out")
	d := newDebugTasks(t, b)
	const store = "fk-subscription-store"
	d.send("rt", "x", []byte("X"), 0)
	d.want(store, map[string]int64{"prefix_scan": 1})
	d.send("lt", "p1", []byte("x"), 1000)
	d.want(store, map[string]int64{"prefix_scan": 1, "put": 1})
	d.send("lt", "p1", []byte("y"), 2000) // withdraws x, subscribes to y
	d.want(store, map[string]int64{"prefix_scan": 1, "put": 2, "delete": 1})
	d.send("rt", "y", []byte("Y"), 3000)
	d.want(store, map[string]int64{"prefix_scan": 2, "put": 2, "delete": 1})
}
