package streams

import (
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestGlobalCatchUpShowsAsRestores: while the global thread catches up, a
// restore per global store and partition with records to read shows in
// App.Restores, moving with the fetched records; once caught up the
// stores' restore latency is recorded (DEBUG) and the restores are gone.
func TestGlobalCatchUpShowsAsRestores(t *testing.T) {
	b := NewBuilder()
	s := StringSerde()
	NewGlobalTable(b, "gt", ConsumedWith(s, s), MaterializedAs[string, string]("fx"))
	NewStream(b, "in", ConsumedWith(s, s)).To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app := &App{cfg: &config{ClientID: "c", Logger: slog.New(slog.DiscardHandler)}, topo: topo}
	ops := newNodeMeters(topo, levelDebug)
	p0, p1, p2 := TopicPartition{Topic: "gt", Partition: 0}, TopicPartition{Topic: "gt", Partition: 1}, TopicPartition{Topic: "gt", Partition: 2}
	task, err := newGlobalTask(topo, []TopicPartition{p0, p1, p2}, taskConfig{
		ApplicationID: "x", Collector: noSendCollector{}, Stores: inMemoryStores(), Logger: app.cfg.Logger, Stats: &taskStats{ops: ops},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close(false)
	task.Checkpoints()
	if err := task.Initialize(0); err != nil {
		t.Fatal(err)
	}
	g := &globalThread{app: app, task: task}
	// Partition 2 is empty: nothing to restore there.
	c := g.beginCatchUp(map[TopicPartition]int64{p0: 3, p1: 2})
	g.mu.Lock()
	g.observeFetch(kgo.FetchTopicPartition{Topic: "gt", FetchPartition: kgo.FetchPartition{Partition: 0, HighWatermark: 3,
		Records: []*kgo.Record{{Key: []byte("a"), Offset: 0}, {Key: []byte("b"), Offset: 1}}}})
	g.mu.Unlock()
	rs := app.restoreStatuses()
	if len(rs) != 2 {
		t.Fatalf("restores %+v, want one per partition with records", rs)
	}
	for _, r := range rs {
		want := [3]int64{2, 1, 3} // restored, remaining, end
		if r.Changelog == p1 {
			want = [3]int64{0, 2, 2}
		}
		if got := [3]int64{r.Restored, r.Remaining, r.EndOffset}; got != want || r.Task != globalTaskID || r.Store != "fx" || r.Thread != "c-GlobalStreamThread" {
			t.Errorf("restore %+v: restored, remaining, end %v, want %v", r, got, want)
		}
	}
	c.caughtUp()
	c.end()
	if rs := app.restoreStatuses(); len(rs) != 0 {
		t.Errorf("restores after the catch-up: %+v", rs)
	}
	m := ops.storeMeters.lookup(meterKey{task: globalTaskID, store: "fx"})
	if m == nil || m.ops[opRestore].n.Load() != 1 {
		t.Fatalf("no restore recorded for the global store: %+v", m)
	}
	if g.meters.ends[p0] != 3 {
		t.Errorf("end of %s: %d", p0, g.meters.ends[p0])
	}
}
