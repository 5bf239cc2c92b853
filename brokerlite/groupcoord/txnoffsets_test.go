package groupcoord

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"github.com/twmb/franz-go/pkg/kerr"
)

func startTxnCoord(t *testing.T, log *memLog) *Coordinator {
	t.Helper()
	c, err := Start(context.Background(), Config{Log: log, Partitions: 1, Clock: newFakeClock(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func fetchOne(c *Coordinator, group string) FetchedOffset {
	res := c.FetchOffsets(group, []FetchTopic{{Topic: "t", Partitions: []int32{0}}})
	return res.Topics[0].Partitions[0]
}

func txnCommit(t *testing.T, c *Coordinator, pid int64, offset int64) {
	t.Helper()
	res := c.TxnCommitOffsets(context.Background(), TxnCommitRequest{Group: "g", ProducerID: pid, Generation: -1,
		Topics: []CommitTopic{{Topic: "t", Partitions: []CommitPartition{{Partition: 0, Offset: offset, LeaderEpoch: -1}}}}})
	if code := res[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("TxnCommitOffsets: %v", kerr.ErrorForCode(code))
	}
}

// Pending transactional offsets are invisible until CompleteTxn, survive a restart as
// pending, and are applied by a commit marker or dropped by an abort, live and on replay.
func TestTxnOffsetsPendingAcrossRestart(t *testing.T) {
	log := newMemLog()
	c := startTxnCoord(t, log)
	txnCommit(t, c, 7, 10)
	if got := fetchOne(c, "g"); got.Offset != -1 || !c.HasPendingTxnOffset("g", "t", 0) {
		t.Fatalf("pending offset visible: %+v", got)
	}
	res := c.FetchOffsets("g", []FetchTopic{{Topic: "t", Partitions: []int32{0}}})
	c.MarkUnstable("g", &res)
	if code := res.Topics[0].Partitions[0].ErrorCode; code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("require_stable: %v", kerr.ErrorForCode(code))
	}
	// The marker is written by the broker; here it goes to the log as it would.
	marker := func(pid int64, commit bool) {
		wait, err := log.Append(context.Background(), 0, partlog.EncodeMarker(pid, 0, commit, 0, 0))
		if err != nil || wait(context.Background()) != nil {
			t.Fatal(err)
		}
		c.CompleteTxn(0, pid, commit)
	}
	marker(7, true)
	if got := fetchOne(c, "g"); got.Offset != 10 {
		t.Fatalf("after commit: %+v", got)
	}
	txnCommit(t, c, 8, 20)
	marker(8, false)
	txnCommit(t, c, 9, 30) // open at the restart
	c.Close()

	c = startTxnCoord(t, log)
	if got := fetchOne(c, "g"); got.Offset != 10 || !c.HasPendingTxnOffset("g", "t", 0) {
		t.Fatalf("after restart: %+v pending=%v; want 10 with 30 pending", got, c.HasPendingTxnOffset("g", "t", 0))
	}
	marker(9, true)
	if got := fetchOne(c, "g"); got.Offset != 30 {
		t.Fatalf("after the open transaction's commit: %+v", got)
	}
	c.Close()
	c = startTxnCoord(t, log)
	if got := fetchOne(c, "g"); got.Offset != 30 || c.HasPendingTxnOffset("g", "t", 0) {
		t.Fatalf("after the second restart: %+v", got)
	}
}

// A transactional commit for the empty group id is refused, as Kafka refuses it, and
// creates no group.
func TestTxnOffsetCommitEmptyGroupID(t *testing.T) {
	c := startTxnCoord(t, newMemLog())
	res := c.TxnCommitOffsets(context.Background(), TxnCommitRequest{Group: "", ProducerID: 7, Generation: -1,
		Topics: []CommitTopic{{Topic: "t", Partitions: []CommitPartition{{Partition: 0, Offset: 1, LeaderEpoch: -1}}}}})
	if code := res[0].Partitions[0].ErrorCode; code != kerr.InvalidGroupID.Code {
		t.Fatalf("TxnCommitOffsets for the empty group id: %v, want INVALID_GROUP_ID", kerr.ErrorForCode(code))
	}
	if c.HasPendingTxnOffset("", "t", 0) || len(c.ListGroups()) != 0 {
		t.Fatal("a group was created for the empty group id")
	}
}
