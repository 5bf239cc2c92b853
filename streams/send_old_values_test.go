package streams

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/memstore"
)

// countingOpener keeps stores in memory and counts the reads that reach
// them (the record cache answers the others).
type countingOpener struct{ gets map[string]*int }

type countingStore struct {
	statestore.KeyValueStore
	gets *int
}

func (s countingStore) Get(k []byte) ([]byte, error) {
	*s.gets++
	return s.KeyValueStore.Get(k)
}

func (o countingOpener) OpenKeyValue(_ TaskID, name string, _, _ bool) (statestore.KeyValueStore, statestore.Checkpoint, error) {
	n := new(int)
	o.gets[name] = n
	return countingStore{KeyValueStore: memstore.NewKeyValueStore(name, statestore.KeyValueOptions{}), gets: n}, nil, nil
}

func (countingOpener) WriteCheckpoint(TaskID, string, statestore.Checkpoint) error { return nil }

func newCachedTask(t *testing.T, b *Builder, topics []string, cacheBytes int64) (*streamTask, *recordingCollector, countingOpener) {
	t.Helper()
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var tps []TopicPartition
	for _, tp := range topics {
		tps = append(tps, TopicPartition{Topic: tp})
	}
	col := &recordingCollector{}
	op := countingOpener{gets: map[string]*int{}}
	task, err := newStreamTask(topo, TaskID{}, tps, taskConfig{
		ApplicationID: "app", Collector: col, Stores: op, Logger: slog.New(slog.DiscardHandler),
		Cache: statestore.NewRecordCache(cacheBytes),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Close(false) })
	if err := task.Initialize(0); err != nil {
		t.Fatal(err)
	}
	return task, col, op
}

func sendOldOf[K, V any](t *testing.T, task *streamTask, store string) bool {
	t.Helper()
	s, ok := task.Store(store)
	if !ok {
		t.Fatalf("no store %q", store)
	}
	ts, ok := s.(*tsStore[K, V])
	if !ok {
		t.Fatalf("store %q is %T", store, s)
	}
	return ts.sendOld
}

// upperTransformer upper-cases values.
func upperTransformer() ValueTransformer[string, string, string] { return upper{} }

type upper struct{}

func (upper) Init(StoreProvider) error              { return nil }
func (upper) Transform(_, v string) (string, error) { return strings.ToUpper(v), nil }
func (upper) Close() error                          { return nil }

// TestOldValuesFlagFollowsDownstream: a cached table store reads old values
// only when a processor downstream of its processor uses them.
func TestOldValuesFlagFollowsDownstream(t *testing.T) {
	ss := StringSerde()
	cases := []struct {
		name  string
		build func(b *Builder)
		want  bool
	}{
		{"count-toStream", func(b *Builder) {
			NewStream(b, "in", ConsumedWith(ss, ss)).GroupByKey().Count(MaterializedAs[string, int64]("s")).ToStream().To("out")
		}, false},
		{"count-mapValues-toStream", func(b *Builder) {
			c := NewStream(b, "in", ConsumedWith(ss, ss)).GroupByKey().Count(MaterializedAs[string, int64]("s"))
			MapValuesTable(c, func(_ string, n int64) string { return fmt.Sprint(n) }).ToStream().To("out")
		}, false},
		{"count-filter-toStream", func(b *Builder) {
			NewStream(b, "in", ConsumedWith(ss, ss)).GroupByKey().Count(MaterializedAs[string, int64]("s")).
				Filter(func(_ string, n int64) bool { return n%2 == 0 }).ToStream().To("out")
		}, true},
		{"table-groupBy-count", func(b *Builder) {
			tbl := NewTable(b, "in", ConsumedWith(ss, ss), MaterializedAs[string, string]("s"))
			GroupByTable(tbl, func(k, v string) (string, string) { return v, k }).Count(MaterializedAs[string, int64]("by-value"))
		}, true},
		{"table-mapValues-groupBy-count", func(b *Builder) {
			tbl := NewTable(b, "in", ConsumedWith(ss, ss), MaterializedAs[string, string]("s"))
			m := MapValuesTable(tbl, func(_, v string) string { return strings.ToUpper(v) })
			GroupByTable(m, func(k, v string) (string, string) { return v, k }).Count(MaterializedAs[string, int64]("by-value"))
		}, true},
		{"table-transformValues-toStream", func(b *Builder) {
			tbl := NewTable(b, "in", ConsumedWith(ss, ss), MaterializedAs[string, string]("s"))
			TransformValuesTable(tbl, upperTransformer).ToStream().To("out")
		}, false},
		{"table-transformValues-groupBy-count", func(b *Builder) {
			tbl := NewTable(b, "in", ConsumedWith(ss, ss), MaterializedAs[string, string]("s"))
			tv := TransformValuesTable(tbl, upperTransformer)
			GroupByTable(tv, func(k, v string) (string, string) { return v, k }).Count(MaterializedAs[string, int64]("by-value"))
		}, true},
		{"table-materialized-transformValues-groupBy-count", func(b *Builder) {
			// The transform's old values come from its own store.
			tbl := NewTable(b, "in", ConsumedWith(ss, ss), MaterializedAs[string, string]("s"))
			tv := TransformValuesTable(tbl, upperTransformer, MaterializedAs[string, string]("upper"))
			GroupByTable(tv, func(k, v string) (string, string) { return v, k }).Count(MaterializedAs[string, int64]("by-value"))
		}, false},
		{"table-only-materialized", func(b *Builder) {
			NewTable(b, "in", ConsumedWith(ss, ss), MaterializedAs[string, string]("s"))
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := NewBuilder()
			c.build(b)
			task, _, _ := newCachedTask(t, b, []string{"in"}, 1<<20)
			var got bool
			if strings.HasPrefix(c.name, "count") {
				got = sendOldOf[string, int64](t, task, "s")
			} else {
				got = sendOldOf[string, string](t, task, "s")
			}
			if got != c.want {
				t.Errorf("sendOld = %v, want %v", got, c.want)
			}
		})
	}
}

func rawKV(topic string, off int64, k, v string) RawRecord {
	r := RawRecord{Topic: topic, Offset: off, Timestamp: off, Key: []byte(k)}
	if v != "" {
		r.Value = []byte(v)
	}
	return r
}

// TestCountFlushReadsNoOldValues: a count whose table only goes to a stream
// reads the store once per new key (the aggregation's own read) and never
// when the cache flushes; the output is the same as ever.
func TestCountFlushReadsNoOldValues(t *testing.T) {
	ss := StringSerde()
	b := NewBuilder()
	NewStream(b, "in", ConsumedWith(ss, ss)).GroupByKey().Count(MaterializedAs[string, int64]("s")).
		ToStream().To("out", ProducedWith(ss, Int64Serde()))
	task, col, op := newCachedTask(t, b, []string{"in"}, 1<<20)
	var recs []RawRecord
	for i := 0; i < 300; i++ {
		recs = append(recs, rawKV("in", int64(i), fmt.Sprintf("k%d", i%30), "x"))
	}
	if err := task.AddRecords(TopicPartition{Topic: "in"}, recs[:150]); err != nil {
		t.Fatal(err)
	}
	drain(t, task, 0)
	if got := *op.gets["s"]; got != 30 {
		t.Errorf("store reads while processing: %d, want 30 (one per new key)", got)
	}
	if err := task.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := *op.gets["s"]; got != 30 {
		t.Errorf("store reads after the flush: %d, want still 30", got)
	}
	task.AddRecords(TopicPartition{Topic: "in"}, recs[150:])
	drain(t, task, 0)
	if err := task.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := *op.gets["s"]; got != 30 {
		t.Errorf("store reads after the second round: %d, want still 30", got)
	}
	last := map[string]int64{}
	for _, r := range col.recs {
		if r.Topic == "out" {
			n, _ := Int64Serde().Deserialize(r.Value)
			last[string(r.Key)] = n
		}
	}
	for i := 0; i < 30; i++ {
		if k := fmt.Sprintf("k%d", i); last[k] != 10 {
			t.Errorf("count of %s = %d, want 10", k, last[k])
		}
	}
}

// TestTableGroupByOldValuesThroughSmallCache: with old values needed (a
// table re-grouped and counted, whose subtractor needs them) and a cache so
// small that entries are evicted and flushed all the time, old values come
// from the cache when it knows them and from the store otherwise, and the
// counts are exactly those of an uncached run.
func TestTableGroupByOldValuesThroughSmallCache(t *testing.T) {
	ss := StringSerde()
	run := func(cacheBytes int64, storeReads bool) map[string]int64 {
		b := NewBuilder()
		tbl := NewTable(b, "in", ConsumedWith(ss, ss), MaterializedAs[string, string]("s"))
		GroupByTable(tbl, func(k, v string) (string, string) { return v, k }).
			Count(MaterializedAs[string, int64]("by-value")).ToStream().To("out", ProducedWith(ss, Int64Serde()))
		topo, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		// The table and its re-grouping are two sub-topologies; run the
		// first and feed its repartition records to the second.
		col := &recordingCollector{}
		op := countingOpener{gets: map[string]*int{}}
		var cache *statestore.RecordCache
		if cacheBytes > 0 {
			cache = statestore.NewRecordCache(cacheBytes)
		}
		cfg := taskConfig{ApplicationID: "app", Collector: col, Stores: op, Logger: slog.New(slog.DiscardHandler), Cache: cache}
		repart := "app-by-value-repartition"
		t0, err := newStreamTask(topo, TaskID{Subtopology: 0}, []TopicPartition{{Topic: "in"}}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer t0.Close(false)
		t1, err := newStreamTask(topo, TaskID{Subtopology: 1}, []TopicPartition{{Topic: repart}}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer t1.Close(false)
		t0.Initialize(0)
		t1.Initialize(0)
		if cacheBytes > 0 && !sendOldOf[string, string](t, t0, "s") {
			t.Fatalf("the re-grouped table's store does not send old values")
		}
		off := int64(0)
		moved := 0
		for round := 0; round < 20; round++ {
			var recs []RawRecord
			for i := 0; i < 40; i++ {
				k := fmt.Sprintf("k%02d", (i*7+round)%40)
				v := fmt.Sprintf("v%d", (i+round*3)%9)
				if (i+round)%11 == 0 {
					v = "" // a delete
				}
				recs = append(recs, rawKV("in", off, k, v))
				off++
			}
			t0.AddRecords(TopicPartition{Topic: "in"}, recs)
			drain(t, t0, 0)
			if round%3 == 2 {
				if err := t0.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			var rp []RawRecord
			for _, r := range col.recs[moved:] {
				if r.Topic == repart {
					rp = append(rp, RawRecord{Topic: repart, Offset: int64(len(rp) + moved), Key: r.Key, Value: r.Value, Timestamp: r.Timestamp})
				}
			}
			moved = len(col.recs)
			t1.AddRecords(TopicPartition{Topic: repart}, rp)
			drain(t, t1, 0)
		}
		if err := t0.Flush(); err != nil {
			t.Fatal(err)
		}
		var rp []RawRecord
		for _, r := range col.recs[moved:] {
			if r.Topic == repart {
				rp = append(rp, RawRecord{Topic: repart, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp})
			}
		}
		t1.AddRecords(TopicPartition{Topic: repart}, rp)
		drain(t, t1, 0)
		if err := t1.Flush(); err != nil {
			t.Fatal(err)
		}
		if storeReads && *op.gets["s"] == 0 {
			t.Errorf("a cache this small never made the flush read the store")
		}
		last := map[string]int64{}
		for _, r := range col.recs {
			if r.Topic == "out" {
				if r.Value == nil {
					delete(last, string(r.Key))
					continue
				}
				n, _ := Int64Serde().Deserialize(r.Value)
				last[string(r.Key)] = n
			}
		}
		return last
	}
	want := run(0, false)
	got := run(600, true)
	if fmt.Sprint(sortedKV(got)) != fmt.Sprint(sortedKV(want)) {
		t.Errorf("counts with a small cache\n got %v\nwant %v", sortedKV(got), sortedKV(want))
	}
	var total int64
	for _, n := range want {
		total += n
	}
	if total == 0 {
		t.Fatalf("nothing counted")
	}
}

func sortedKV(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}
