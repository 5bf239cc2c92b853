package streams

import (
	"fmt"
	"log/slog"
	"testing"
	"time"
)

// mergeTask builds a task reading two topics into one processor that logs
// what it sees.
func mergeTask(t *testing.T, idle time.Duration) (*streamTask, *[]string) {
	t.Helper()
	return mergeTaskWith(t, taskConfig{MaxTaskIdle: idle})
}

// mergeTaskWith is mergeTask with cfg's other settings (application id,
// collector and logger are set here).
func mergeTaskWith(t *testing.T, cfg taskConfig) (*streamTask, *[]string) {
	t.Helper()
	ss := StringSerde()
	b := NewBuilder()
	a := NewStream(b, "a", ConsumedWith(ss, ss))
	c := NewStream(b, "c", ConsumedWith(ss, ss))
	var seen []string
	a.Merge([]*Stream[string, string]{c}).Foreach(func(_, v string) { seen = append(seen, v) })
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	// a and c are two sub-topologies' sources only if unconnected; merged,
	// they are one sub-topology, so one task reads both.
	cfg.ApplicationID, cfg.Collector, cfg.Logger = "app", &recordingCollector{}, slog.New(slog.DiscardHandler)
	task, err := newStreamTask(topo, TaskID{}, []TopicPartition{{Topic: "a"}, {Topic: "c"}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Close(false) })
	if err := task.Initialize(0); err != nil {
		t.Fatal(err)
	}
	return task, &seen
}

func raw(topic string, off, ts int64, v string) RawRecord {
	return RawRecord{Topic: topic, Offset: off, Timestamp: ts, Key: []byte("k"), Value: []byte(v)}
}

// drain processes task's buffered records at wall-clock time wall until
// none is ready, failing tb on an error; it returns how many it processed.
func drain(tb testing.TB, task *streamTask, wall int64) int {
	tb.Helper()
	n := 0
	for {
		ok, err := task.Process(wall)
		if err != nil {
			tb.Fatal(err)
		}
		if !ok {
			return n
		}
		n++
	}
}

// TestTaskPicksSmallestTimestampAcrossPartitions: records of a task are
// processed in timestamp order across its partitions (Kafka Streams'
// PartitionGroup), each partition in offset order, and stream time is the
// largest timestamp processed.
func TestTaskPicksSmallestTimestampAcrossPartitions(t *testing.T) {
	task, seen := mergeTask(t, 0)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(task.AddRecords(TopicPartition{Topic: "a"}, []RawRecord{raw("a", 0, 10, "a10"), raw("a", 1, 30, "a30"), raw("a", 2, 5, "a5-late")}))
	must(task.AddRecords(TopicPartition{Topic: "c"}, []RawRecord{raw("c", 0, 20, "c20"), raw("c", 1, 40, "c40")}))
	drain(t, task, 0)
	// a5-late is behind a30 in its partition: offset order wins within a
	// partition, timestamps across partitions.
	if fmt.Sprint(*seen) != "[a10 c20 a30 a5-late c40]" {
		t.Errorf("order %v", *seen)
	}
	if task.StreamTime() != 40 {
		t.Errorf("stream time %d", task.StreamTime())
	}
	offs := task.CommitOffsets()
	if offs[TopicPartition{Topic: "a"}] != 3 || offs[TopicPartition{Topic: "c"}] != 2 {
		t.Errorf("commit offsets %v", offs)
	}
	if !task.NeedsCommit() {
		t.Errorf("needs a commit after processing")
	}
	task.MarkCommitted()
	if task.NeedsCommit() {
		t.Errorf("still needs a commit")
	}
}

// TestTaskWaitsForEmptyPartitionUpToMaxTaskIdle: with max.task.idle.ms, a
// task with an empty partition waits (so it does not process out of
// timestamp order), then processes anyway once the idle time passed.
func TestTaskWaitsForEmptyPartitionUpToMaxTaskIdle(t *testing.T) {
	task, seen := mergeTask(t, 100*time.Millisecond)
	if err := task.AddRecords(TopicPartition{Topic: "a"}, []RawRecord{raw("a", 0, 10, "a10")}); err != nil {
		t.Fatal(err)
	}
	if n := drain(t, task, 1000); n != 0 {
		t.Fatalf("processed %d with c empty and no idle time passed", n)
	}
	if n := drain(t, task, 1050); n != 0 {
		t.Fatalf("processed %d before max.task.idle.ms", n)
	}
	if n := drain(t, task, 1100); n != 1 {
		t.Fatalf("processed %d after max.task.idle.ms, want 1", n)
	}
	if fmt.Sprint(*seen) != "[a10]" {
		t.Errorf("seen %v", *seen)
	}
	// With data on both, no waiting.
	task.AddRecords(TopicPartition{Topic: "a"}, []RawRecord{raw("a", 1, 50, "a50")})
	task.AddRecords(TopicPartition{Topic: "c"}, []RawRecord{raw("c", 0, 20, "c20")})
	if n := drain(t, task, 1101); n != 1 || (*seen)[1] != "c20" {
		t.Errorf("processed %d, seen %v", n, *seen)
	}
}

func TestTaskBufferAccounting(t *testing.T) {
	task, _ := mergeTask(t, 0)
	if err := task.AddRecords(TopicPartition{Topic: "nope"}, nil); err == nil {
		t.Errorf("records for a partition the task does not own were accepted")
	}
	recs := make([]RawRecord, 3000)
	for i := range recs {
		recs[i] = raw("a", int64(i), int64(i), "v")
	}
	task.AddRecords(TopicPartition{Topic: "a"}, recs)
	if task.Buffered(TopicPartition{Topic: "a"}) != 3000 || task.BufferedTotal() != 3000 {
		t.Fatalf("buffered %d", task.BufferedTotal())
	}
	for i := 0; i < 2500; i++ {
		if ok, err := task.Process(0); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if task.Buffered(TopicPartition{Topic: "a"}) != 500 {
		t.Fatalf("buffered %d after 2500", task.Buffered(TopicPartition{Topic: "a"}))
	}
	if got := task.CommitOffsets()[TopicPartition{Topic: "a"}]; got != 2500 {
		t.Fatalf("offset %d", got)
	}
}

// TestTaskWaitsAgainForPartitionThatEmptiesAgain: max.task.idle.ms is
// waited for each time a partition runs empty (Kafka Streams keeps a
// deadline per partition and drops it once the partition has records), not
// counted from the first wait.
func TestTaskWaitsAgainForPartitionThatEmptiesAgain(t *testing.T) {
	task, seen := mergeTask(t, 100*time.Millisecond)
	tpa, tpc := TopicPartition{Topic: "a"}, TopicPartition{Topic: "c"}
	task.AddRecords(tpa, []RawRecord{raw("a", 0, 10, "a10"), raw("a", 1, 50, "a50")})
	if n := drain(t, task, 1000); n != 0 {
		t.Fatalf("processed %d with c empty and no idle time passed", n)
	}
	if ok, err := task.Process(1100); err != nil || !ok {
		t.Fatalf("processed %v (%v) after max.task.idle.ms, want a10", ok, err)
	}
	// c gets a record: processed first (20 < 50); then c is empty again
	// and a50 waits max.task.idle.ms from now.
	task.AddRecords(tpc, []RawRecord{raw("c", 0, 20, "c20")})
	if n := drain(t, task, 2000); n != 1 {
		t.Fatalf("processed %d at 2000, want 1 (c20)", n)
	}
	if n := drain(t, task, 2099); n != 0 {
		t.Fatalf("processed %d before max.task.idle.ms since c emptied again", n)
	}
	if n := drain(t, task, 2100); n != 1 {
		t.Fatalf("processed %d after max.task.idle.ms, want 1 (a50)", n)
	}
	if fmt.Sprint(*seen) != "[a10 c20 a50]" {
		t.Errorf("seen %v", *seen)
	}
}

// TestTaskIdleDeadlinePerPartition: each empty partition is waited for
// max.task.idle.ms from when it ran empty, so a partition that empties
// later holds records back until its own deadline.
func TestTaskIdleDeadlinePerPartition(t *testing.T) {
	ss := StringSerde()
	b := NewBuilder()
	var seen []string
	NewStream(b, "a", ConsumedWith(ss, ss)).
		Merge([]*Stream[string, string]{NewStream(b, "c", ConsumedWith(ss, ss)), NewStream(b, "e", ConsumedWith(ss, ss))}).
		Foreach(func(_, v string) { seen = append(seen, v) })
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	task, err := newStreamTask(topo, TaskID{}, []TopicPartition{{Topic: "a"}, {Topic: "c"}, {Topic: "e"}},
		taskConfig{ApplicationID: "app", Collector: &recordingCollector{}, Logger: slog.New(slog.DiscardHandler), MaxTaskIdle: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Close(false) })
	if err := task.Initialize(0); err != nil {
		t.Fatal(err)
	}
	// c is empty from 1000 on; e has a record then, and is empty from 1050.
	task.AddRecords(TopicPartition{Topic: "a"}, []RawRecord{raw("a", 0, 30, "a30")})
	task.AddRecords(TopicPartition{Topic: "e"}, []RawRecord{raw("e", 0, 10, "e10")})
	if n := drain(t, task, 1000); n != 0 {
		t.Fatalf("processed %d with c empty at 1000", n)
	}
	if n := drain(t, task, 1050); n != 0 {
		t.Fatalf("processed %d with c empty at 1050", n)
	}
	// At 1100 c's wait is over: e10 goes (smallest), then e is empty since 1100.
	if n := drain(t, task, 1100); n != 1 {
		t.Fatalf("processed %d at 1100, want 1 (e10)", n)
	}
	if n := drain(t, task, 1199); n != 0 {
		t.Fatalf("processed %d at 1199, before e's own max.task.idle.ms", n)
	}
	if n := drain(t, task, 1200); n != 1 {
		t.Fatalf("processed %d at 1200, want 1 (a30)", n)
	}
	if fmt.Sprint(seen) != "[e10 a30]" {
		t.Errorf("seen %v", seen)
	}
}
