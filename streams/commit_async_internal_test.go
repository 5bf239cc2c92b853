package streams

import "testing"

// TestRefusedCommitsAreRetriedPerTask: the partitions of a periodic commit a
// rebalance refused stay marked until a commit of the task holding each one
// takes them, so a commit of some tasks (onRevoked) leaves the others' marks.
func TestRefusedCommitsAreRetriedPerTask(t *testing.T) {
	a := &asyncCommits{refused: map[TopicPartition]bool{
		{Topic: "in", Partition: 0}: true,
		{Topic: "in", Partition: 1}: true,
	}}
	revoked := map[TopicPartition]int64{{Topic: "in", Partition: 0}: 10}
	kept := map[TopicPartition]int64{{Topic: "in", Partition: 1}: 20}
	other := map[TopicPartition]int64{{Topic: "in", Partition: 2}: 30}
	if !a.takeRefused(revoked) {
		t.Fatal("the revoked task's refused partition was not found")
	}
	if a.takeRefused(revoked) {
		t.Fatal("a partition was found twice")
	}
	if a.takeRefused(other) {
		t.Fatal("a task with no refused partition was found")
	}
	if !a.takeRefused(kept) {
		t.Fatal("the kept task's refused partition was used up by another task's commit")
	}
	if len(a.refused) != 0 {
		t.Fatalf("marks left: %v", a.refused)
	}
}
