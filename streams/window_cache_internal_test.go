package streams

import (
	"log/slog"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
)

// TestWindowCacheDroppedOnUncleanClose: a task closed uncleanly (an
// aborted transaction, a failed task) sends nothing more: the windows its
// record cache holds are dropped, not written to the changelog or the
// output. A clean close writes them first.
func TestWindowCacheDroppedOnUncleanClose(t *testing.T) {
	for _, clean := range []bool{false, true} {
		b := NewBuilder()
		s := StringSerde()
		in := NewStream(b, "in", ConsumedWith(s, s))
		WindowedBy(in.GroupByKey(), TimeWindowsOfSizeWithNoGrace(time.Minute)).Count(MaterializedAs[string, int64]("wcounts")).
			ToStream().To("out", ProducedWith(TimeWindowedSerde(s, time.Minute), Int64Serde()))
		topo, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		sends := &capCollector{}
		task, err := newStreamTask(topo, TaskID{}, []TopicPartition{{Topic: "in"}}, taskConfig{
			ApplicationID: "wcache", Collector: sends, Stores: inMemoryStores(), Logger: slog.New(slog.DiscardHandler),
			Cache: statestore.NewRecordCache(1 << 20), Stats: &taskStats{},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Initialize(0); err != nil {
			t.Fatal(err)
		}
		var raws []RawRecord
		for i, k := range []string{"a", "b", "a"} {
			raws = append(raws, RawRecord{Topic: "in", Offset: int64(i), Key: []byte(k), Value: []byte("v"), Timestamp: int64(i) * 1000})
		}
		if err := task.AddRecords(TopicPartition{Topic: "in"}, raws); err != nil {
			t.Fatal(err)
		}
		drain(t, task, 100)
		if n := len(sends.recs); n != 0 {
			t.Fatalf("%d records sent before any flush, want 0 (the windows are cached)", n)
		}
		if err := task.Close(clean); err != nil {
			t.Fatal(err)
		}
		// Two windows: a changelog and an output record each on a clean close.
		want := 0
		if clean {
			want = 4
		}
		if n := len(sends.recs); n != want {
			t.Errorf("clean %v: %d records sent at close, want %d", clean, n, want)
		}
	}
}
