package groupcoord

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rivulet-io/rivulet/brokerlite/partlog"
)

// txnEnv is a coordinator over a memLog with the transaction markers a broker writes.
type txnEnv struct {
	t     *testing.T
	log   *memLog
	clock *fakeClock
	c     *Coordinator
}

func newTxnEnv(t *testing.T) *txnEnv {
	e := &txnEnv{t: t, log: newMemLog(), clock: newFakeClock()}
	e.start()
	return e
}

func (e *txnEnv) start() {
	e.t.Helper()
	if e.c != nil {
		e.c.Close()
	}
	c, err := Start(context.Background(), Config{Log: e.log, Partitions: 1, Clock: e.clock, Logger: quietLogger(),
		OffsetsRetention: time.Hour, OffsetsRetentionCheckInterval: 1000 * time.Hour})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(c.Close)
	e.c = c
}

func offsetTopics(partition int32, offset int64) []CommitTopic {
	return []CommitTopic{{Topic: "t", Partitions: []CommitPartition{{Partition: partition, Offset: offset, LeaderEpoch: -1}}}}
}

func (e *txnEnv) txnCommit(pid int64, partition int32, offset int64) {
	e.t.Helper()
	res := e.c.TxnCommitOffsets(context.Background(), TxnCommitRequest{Group: "g", ProducerID: pid, Generation: -1, Topics: offsetTopics(partition, offset)})
	if code := res[0].Partitions[0].ErrorCode; code != 0 {
		e.t.Fatalf("TxnOffsetCommit: %v", kerr.ErrorForCode(code))
	}
}

func (e *txnEnv) commit(partition int32, offset int64) {
	e.t.Helper()
	res := e.c.CommitOffsets(context.Background(), CommitRequest{Group: "g", Generation: -1, Topics: offsetTopics(partition, offset)})
	if code := res[0].Partitions[0].ErrorCode; code != 0 {
		e.t.Fatalf("OffsetCommit: %v", kerr.ErrorForCode(code))
	}
}

// marker writes the transaction's marker to the log and reports it, as the broker does.
func (e *txnEnv) marker(pid int64, commit bool) {
	e.t.Helper()
	wait, err := e.log.Append(context.Background(), 0, partlog.EncodeMarker(pid, 0, commit, 0, 0))
	if err == nil {
		err = wait(context.Background())
	}
	if err != nil {
		e.t.Fatal(err)
	}
	e.c.CompleteTxn(0, pid, commit)
}

// want checks the committed offset of partition of "t", live and after a restart.
func (e *txnEnv) want(partition int32, offset int64, what string) {
	e.t.Helper()
	if got := committed(e.c, "g", partition); got != offset {
		e.t.Fatalf("%s: committed %d, want %d", what, got, offset)
	}
	e.start()
	if got := committed(e.c, "g", partition); got != offset {
		e.t.Fatalf("%s, after a restart: committed %d, want %d", what, got, offset)
	}
}

// TestTxnCommitKeepsNewerPlainCommit: at a transaction's commit marker, a plain commit
// appended after the transactional one stays committed, and one appended before it is
// replaced, as Kafka decides by the records' log order; a restart, before or after the
// marker, gives the same.
func TestTxnCommitKeepsNewerPlainCommit(t *testing.T) {
	t.Run("plain commit after", func(t *testing.T) {
		e := newTxnEnv(t)
		e.txnCommit(7, 0, 10)
		e.commit(0, 20)
		e.marker(7, true)
		e.want(0, 20, "transactional 10, plain 20, commit marker")
	})
	t.Run("plain commit before", func(t *testing.T) {
		e := newTxnEnv(t)
		e.commit(0, 20)
		e.txnCommit(7, 0, 10)
		e.marker(7, true)
		e.want(0, 10, "plain 20, transactional 10, commit marker")
	})
	t.Run("restart while open", func(t *testing.T) {
		e := newTxnEnv(t)
		e.commit(0, 5)
		e.txnCommit(7, 0, 10)
		e.start()
		e.commit(0, 20)
		e.marker(7, true)
		e.want(0, 20, "transactional 10, restart, plain 20, commit marker")
	})
}

// TestTombstoneDropsPendingTxnOffsets: OffsetDelete, DeleteGroups and a deleted topic
// write a tombstone for a partition with a pending transactional offset, even when
// nothing is committed there, and the tombstone removes the pending offset, so the
// transaction's commit marker does not bring it back, as in Kafka; a restart agrees.
func TestTombstoneDropsPendingTxnOffsets(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		del  func(c *Coordinator) int16
	}{
		{"OffsetDelete", func(c *Coordinator) int16 {
			code, res := c.DeleteOffsets(ctx, "g", []FetchTopic{{Topic: "t", Partitions: []int32{0, 1}}})
			if code == 0 {
				code = res[0].Partitions[0].ErrorCode
			}
			return code
		}},
		{"DeleteGroups", func(c *Coordinator) int16 { return c.DeleteGroups(ctx, []string{"g"})[0] }},
		{"TopicDeleted", func(c *Coordinator) int16 { c.TopicDeleted(ctx, "t"); return 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTxnEnv(t)
			e.commit(0, 5)
			e.txnCommit(7, 0, 10)
			e.txnCommit(7, 1, 11) // nothing committed on partition 1
			if code := tc.del(e.c); code != 0 {
				t.Fatalf("delete: %v", kerr.ErrorForCode(code))
			}
			if e.c.HasPendingTxnOffset("g", "t", 0) || e.c.HasPendingTxnOffset("g", "t", 1) {
				t.Fatal("pending transactional offsets left after their tombstones")
			}
			e.start() // the tombstones drop the pending offsets on replay too
			if e.c.HasPendingTxnOffset("g", "t", 0) || e.c.HasPendingTxnOffset("g", "t", 1) {
				t.Fatal("pending transactional offsets back after a restart")
			}
			e.marker(7, true)
			e.want(0, -1, "partition 0 after the commit marker")
			e.want(1, -1, "partition 1 after the commit marker")
		})
	}
}

// TestTombstoneWhileTxnCommitInFlight: an OffsetDelete that comes after a transactional
// commit was appended but before it is durable also covers it: the offset does not
// become pending, and the commit marker applies nothing; a restart agrees.
func TestTombstoneWhileTxnCommitInFlight(t *testing.T) {
	e := newTxnEnv(t)
	e.log.hold = true
	done := make(chan int16, 1)
	go func() {
		res := e.c.TxnCommitOffsets(context.Background(), TxnCommitRequest{Group: "g", ProducerID: 7, Generation: -1, Topics: offsetTopics(0, 10)})
		done <- res[0].Partitions[0].ErrorCode
	}()
	waitAppends(t, e.log, 1)
	e.log.release(2) // the tombstone's append
	code, res := e.c.DeleteOffsets(context.Background(), "g", []FetchTopic{{Topic: "t", Partitions: []int32{0}}})
	if code != 0 || res[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("OffsetDelete: %v %v", kerr.ErrorForCode(code), res)
	}
	e.log.release(1)
	if code := recvCode(t, done, "transactional commit"); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	e.log.mu.Lock()
	e.log.hold = false
	e.log.mu.Unlock()
	if e.c.HasPendingTxnOffset("g", "t", 0) {
		t.Fatal("the transactional offset is pending after its tombstone")
	}
	e.marker(7, true)
	e.want(0, -1, "after the commit marker")
}

// TestExpiryKeepsOpenTxn: offset expiry leaves a partition with a pending transactional
// offset alone and does not remove a group with an open transaction, as Kafka; once the
// transaction commits, its offset is the committed one.
func TestExpiryKeepsOpenTxn(t *testing.T) {
	e := newTxnEnv(t)
	e.commit(0, 5)
	e.commit(1, 6)
	e.txnCommit(7, 0, 10)
	e.clock.Advance(2 * time.Hour)
	e.c.ExpireOffsets()
	if got := committed(e.c, "g", 0); got != 5 {
		t.Fatalf("partition 0 with a pending transactional offset: committed %d, want 5 (not expired)", got)
	}
	if got := committed(e.c, "g", 1); got != -1 {
		t.Fatalf("partition 1: committed %d, want it expired", got)
	}
	if len(e.c.ListGroups()) != 1 {
		t.Fatal("the group was removed while a transaction holds its offsets")
	}
	e.marker(7, true)
	e.want(0, 10, "after the commit marker")
}

// TestExpiryKeepsGroupWithOnlyOpenTxn: a group whose only offsets are pending in an open
// transaction survives expiry, before and after a restart.
func TestExpiryKeepsGroupWithOnlyOpenTxn(t *testing.T) {
	e := newTxnEnv(t)
	e.txnCommit(7, 0, 10)
	e.start()
	e.clock.Advance(2 * time.Hour)
	e.c.ExpireOffsets()
	if len(e.c.ListGroups()) != 1 {
		t.Fatal("the group was removed while a transaction holds its offsets")
	}
	e.marker(7, true)
	e.want(0, 10, "after the commit marker")
}
