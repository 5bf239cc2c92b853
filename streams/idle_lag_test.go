package streams

import (
	"fmt"
	"testing"
	"time"
)

// lagTask is mergeTask with fetch lag tracked (as a stream thread runs it).
func lagTask(t *testing.T, idle time.Duration) (*streamTask, *[]string, *taskStats) {
	t.Helper()
	stats := new(taskStats)
	task, seen := mergeTaskWith(t, taskConfig{MaxTaskIdle: idle, TrackFetchLag: true, Stats: stats})
	return task, seen, stats
}

var (
	tpA = TopicPartition{Topic: "a"}
	tpC = TopicPartition{Topic: "c"}
)

// TestIdleWaitsForUnknownAndPositiveLag: with max.task.idle.ms=0 (the
// default) a task does not process while an empty partition's fetch lag is
// unknown or above zero, however long that takes; once the records arrive
// they are processed in timestamp order across both partitions; an empty
// partition known to be caught up holds nothing back.
func TestIdleWaitsForUnknownAndPositiveLag(t *testing.T) {
	task, seen, stats := lagTask(t, 0)
	task.AddRecords(tpA, []RawRecord{raw("a", 0, 10, "a10"), raw("a", 1, 30, "a30")})
	task.SetFetchPosition(tpA, 2, 2)
	if n := drain(t, task, 1000); n != 0 {
		t.Fatalf("processed %d while c's lag is unknown", n)
	}
	if !task.Waiting() || fmt.Sprint(task.LagPending()) != fmt.Sprint([]TopicPartition{tpC}) {
		t.Fatalf("waiting %v, lag pending %v; want true, [c]", task.Waiting(), task.LagPending())
	}
	// Much later, still unknown: still waiting (no timeout at 0).
	if n := drain(t, task, 1_000_000); n != 0 {
		t.Fatalf("processed %d while c's lag is unknown", n)
	}
	// The end offset says c has 2 records not fetched yet.
	task.SetFetchPosition(tpC, 0, 2)
	if n := drain(t, task, 1_000_001); n != 0 {
		t.Fatalf("processed %d while c's lag is 2", n)
	}
	// The fetch brings them: everything in timestamp order; c40 comes
	// last with a empty, but a is caught up (lag 0): no wait at 0.
	task.AddRecords(tpC, []RawRecord{raw("c", 0, 20, "c20"), raw("c", 1, 40, "c40")})
	task.SetFetchPosition(tpC, 2, 2)
	if n := drain(t, task, 1_000_002); n != 4 {
		t.Fatalf("processed %d, want 4", n)
	}
	if fmt.Sprint(*seen) != "[a10 c20 a30 c40]" {
		t.Errorf("order %v", *seen)
	}
	if task.Waiting() || task.LagPending() != nil {
		t.Errorf("waiting %v, lag pending %v after draining", task.Waiting(), task.LagPending())
	}
	if n := stats.EnforcedProcessingTotal.Load(); n != 0 {
		t.Errorf("enforced processing %d at max.task.idle.ms=0", n)
	}
}

// TestIdleWaitsMaxTaskIdleAfterZeroLag: with max.task.idle.ms>0 the wait
// starts once the empty partition's lag is known to be zero, and processing
// after it counts as enforced.
func TestIdleWaitsMaxTaskIdleAfterZeroLag(t *testing.T) {
	task, seen, stats := lagTask(t, 200*time.Millisecond)
	task.AddRecords(tpA, []RawRecord{raw("a", 0, 10, "a10")})
	task.SetFetchPosition(tpA, 1, 1)
	if n := drain(t, task, 1000); n != 0 {
		t.Fatalf("processed %d while c's lag is unknown", n)
	}
	// Unknown for 500 ms: the idle time has not started.
	task.SetFetchPosition(tpC, 7, 7) // at 1500: caught up
	if n := drain(t, task, 1500); n != 0 {
		t.Fatalf("processed %d right when c's lag became zero", n)
	}
	if n := drain(t, task, 1699); n != 0 {
		t.Fatalf("processed %d before max.task.idle.ms after zero lag", n)
	}
	if n := drain(t, task, 1700); n != 1 || fmt.Sprint(*seen) != "[a10]" {
		t.Fatalf("processed %d (seen %v) after max.task.idle.ms, want a10", n, *seen)
	}
	if n := stats.EnforcedProcessingTotal.Load(); n != 1 {
		t.Errorf("enforced processing %d, want 1", n)
	}
}

// TestIdleNegativeNeverWaits: max.task.idle.ms=-1 processes whatever is
// buffered, lag unknown or not.
func TestIdleNegativeNeverWaits(t *testing.T) {
	task, seen, _ := lagTask(t, -time.Millisecond)
	task.AddRecords(tpA, []RawRecord{raw("a", 0, 10, "a10"), raw("a", 1, 30, "a30")})
	if n := drain(t, task, 0); n != 2 || fmt.Sprint(*seen) != "[a10 a30]" {
		t.Fatalf("processed %d (%v), want both at once", n, *seen)
	}
	if task.Waiting() || task.LagPending() != nil {
		t.Errorf("waiting %v, lag pending %v", task.Waiting(), task.LagPending())
	}
}

// TestIdleFetchPositionOnlyMovesForward: a late report of an older position
// (an end-offset check racing a fetch) does not move the position back.
func TestIdleFetchPositionOnlyMovesForward(t *testing.T) {
	task, _, _ := lagTask(t, 0)
	task.SetFetchPosition(tpC, 10, 12)
	task.SetFetchPosition(tpC, 4, 10)
	if pos, ok := task.FetchPosition(tpC); !ok || pos != 10 {
		t.Fatalf("position %d %v, want 10", pos, ok)
	}
	if _, ok := task.FetchPosition(tpA); ok {
		t.Fatalf("a position before any fetch")
	}
	task.AddRecords(tpA, []RawRecord{raw("a", 0, 10, "a10")})
	task.SetFetchPosition(tpA, 1, 1)
	if n := drain(t, task, 0); n != 1 {
		t.Fatalf("processed %d with c caught up (10 of 10), want 1", n)
	}
}

// TestIdleDeadlineStartsWhenPartitionSeenCaughtUp: a stream thread asks its
// tasks to process whether or not they have records; an input partition
// known to be caught up is waited for max.task.idle.ms from when it was
// first seen empty, as Kafka Streams' PartitionGroup does. A record that
// arrives on the other partition after that is processed at once.
func TestIdleDeadlineStartsWhenPartitionSeenCaughtUp(t *testing.T) {
	task, seen, stats := lagTask(t, 200*time.Millisecond)
	task.SetFetchPosition(tpA, 0, 0)
	task.SetFetchPosition(tpC, 0, 0)
	if n := drain(t, task, 1000); n != 0 {
		t.Fatalf("processed %d with nothing buffered", n)
	}
	task.AddRecords(tpA, []RawRecord{raw("a", 0, 10, "a10")})
	task.SetFetchPosition(tpA, 1, 1)
	if n := drain(t, task, 1200); n != 1 || fmt.Sprint(*seen) != "[a10]" {
		t.Fatalf("processed %d (seen %v) with c caught up and empty since 1000, want a10", n, *seen)
	}
	if n := stats.EnforcedProcessingTotal.Load(); n != 1 {
		t.Errorf("enforced processing %d, want 1", n)
	}
}
