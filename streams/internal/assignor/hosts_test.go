package assignor

import (
	"reflect"
	"testing"
)

// TestTaskLags: lags are the changelog end sums minus the offset sums; a
// running task is caught up, a task without known ends too, a task held
// by nobody or held ahead of its changelog's end is its whole changelog
// behind, the least of several reports wins, stateless tasks have none.
func TestTaskLags(t *testing.T) {
	tk := func(p int32) TaskID { return TaskID{Subtopology: 0, Partition: p} }
	stateful := map[TaskID]bool{tk(0): true, tk(1): true, tk(2): true, tk(3): true, tk(4): true}
	ends := map[TaskID]int64{tk(0): 5000, tk(1): 5000, tk(2): 5000, tk(3): 7}
	got := TaskLags([]TaskOffsetSum{
		{Task: tk(0), Sum: OffsetSumRunning},
		{Task: tk(1), Sum: 4950},
		{Task: tk(1), Sum: 100},                              // another thread's older report
		{Task: tk(4), Sum: 10},                               // end unknown
		{Task: TaskID{Subtopology: 1, Partition: 0}, Sum: 3}, // stateless
		{Task: tk(2), Sum: 9000},                             // ahead of the end (changelog truncated)
	}, ends, stateful)
	want := map[TaskID]int64{tk(0): 0, tk(1): 50, tk(2): 5000, tk(3): 7, tk(4): 0}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lags %v, want %v", got, want)
	}
}

// TestTruncatedStateLosesToUsableCopy: an instance whose copy of a task is
// ahead of the changelog's end (the changelog was recreated) would restore
// it from scratch; the task goes to the instance holding a usable copy.
func TestTruncatedStateLosesToUsableCopy(t *testing.T) {
	tk := TaskID{Subtopology: 0, Partition: 0}
	stateful := map[TaskID]bool{tk: true}
	ends := map[TaskID]int64{tk: 500}
	in := AssignmentInput{Tasks: []TaskID{tk}, Stateful: stateful, AcceptableRecoveryLag: 100}
	for _, c := range []struct {
		process string
		sum     int64
	}{{"a", 9000}, {"b", 450}} {
		in.Clients = append(in.Clients, AssignmentClient{
			ProcessID: c.process,
			Members:   []AssignmentMember{{ID: c.process + "-1"}},
			Lags:      TaskLags([]TaskOffsetSum{{Task: tk, Sum: c.sum}}, ends, stateful),
		})
	}
	got := PlanAssignment(in)
	if a := got.Members["b-1"].Active; !reflect.DeepEqual(a, []TaskID{tk}) {
		t.Fatalf("b-1 runs %v, want [%v]; plan %+v", a, tk, got)
	}
}
