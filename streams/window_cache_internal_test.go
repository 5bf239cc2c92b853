package streams

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
)

// TestWindowCacheDroppedOnUncleanClose: a task closed uncleanly (an
// aborted transaction, a failed task) sends nothing more: the windows (or
// sessions) its record cache holds are dropped, not written to the
// changelog or the output. A clean close writes them first.
func TestWindowCacheDroppedOnUncleanClose(t *testing.T) {
	for _, tc := range []struct {
		kind    string
		windows int // what the records at 0s, 1s and 2s make
	}{{"time windows", 2}, {"sessions", 3}} {
		for _, clean := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/clean=%v", tc.kind, clean), func(t *testing.T) { cacheDroppedOnUncleanClose(t, tc.kind, tc.windows, clean) })
		}
	}
}

func cacheDroppedOnUncleanClose(t *testing.T, kind string, windows int, clean bool) {
	b := NewBuilder()
	s := StringSerde()
	in := NewStream(b, "in", ConsumedWith(s, s))
	if kind == "sessions" {
		WindowedBySession(in.GroupByKey(), SessionWindowsOfInactivityGapWithNoGrace(time.Second)).Count(MaterializedAs[string, int64]("wcounts")).
			ToStream().To("out", ProducedWith(SessionWindowedSerde(s), Int64Serde()))
	} else {
		WindowedBy(in.GroupByKey(), TimeWindowsOfSizeWithNoGrace(time.Minute)).Count(MaterializedAs[string, int64]("wcounts")).
			ToStream().To("out", ProducedWith(TimeWindowedSerde(s, time.Minute), Int64Serde()))
	}
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
	// A changelog and an output record per window on a clean close.
	want := 0
	if clean {
		want = 2 * windows
	}
	if n := len(sends.recs); n != want {
		t.Errorf("clean %v: %d records sent at close, want %d", clean, n, want)
	}
}
