package groupcoord

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"github.com/rivulet-io/rivulet/internal/testutil"
)

// heldCoordinator starts a coordinator over a memLog whose appends become durable only
// when the test releases them.
func heldCoordinator(t *testing.T, timeout time.Duration) (*Coordinator, *memLog) {
	t.Helper()
	log := newMemLog()
	log.hold = true
	c, err := Start(context.Background(), Config{Log: log, Partitions: 1, OffsetCommitTimeout: timeout, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, log
}

// commitAsync sends a standalone commit of offset at for partition of topic "t" and
// returns the channel its error code arrives on.
func commitAsync(c *Coordinator, group string, partition int32, at int64) <-chan int16 {
	out := make(chan int16, 1)
	go func() {
		res := c.CommitOffsets(context.Background(), CommitRequest{Group: group, MemberID: "", Generation: -1,
			Topics: []CommitTopic{{Topic: "t", Partitions: []CommitPartition{{Partition: partition, Offset: at, LeaderEpoch: -1}}}}})
		out <- res[0].Partitions[0].ErrorCode
	}()
	return out
}

// waitAppends polls until log has n appends.
func waitAppends(t *testing.T, log *memLog, n int) {
	t.Helper()
	got := 0
	if !testutil.Poll(10*time.Second, func() bool {
		log.mu.Lock()
		defer log.mu.Unlock()
		got = log.appends
		return got >= n
	}) {
		t.Fatalf("%d appends, want %d", got, n)
	}
}

func recvCode(t *testing.T, ch <-chan int16, what string) int16 {
	t.Helper()
	select {
	case code := <-ch:
		return code
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no answer", what)
		return 0
	}
}

// committed returns the committed offset of partition of "t" (-1 for none).
func committed(c *Coordinator, group string, partition int32) int64 {
	res := c.FetchOffsets(group, []FetchTopic{{Topic: "t", Partitions: []int32{partition}}})
	return res.Topics[0].Partitions[0].Offset
}

// TestCommitWaitsWithoutGroupLock: a commit waiting for its fsync does not hold its
// group, so other commits of the group append meanwhile (and can share the fsync); a
// commit is visible only once durable.
func TestCommitWaitsWithoutGroupLock(t *testing.T) {
	c, log := heldCoordinator(t, time.Minute)
	a := commitAsync(c, "g", 0, 10)
	waitAppends(t, log, 1)
	b := commitAsync(c, "g", 1, 20)
	waitAppends(t, log, 2) // appended while the first waits
	if got := committed(c, "g", 0); got != -1 {
		t.Fatalf("partition 0 committed %d before its record was durable", got)
	}
	log.release(2)
	if code := recvCode(t, b, "second commit"); code != 0 {
		t.Fatalf("second commit: %v", kerr.ErrorForCode(code))
	}
	if got0, got1 := committed(c, "g", 0), committed(c, "g", 1); got0 != -1 || got1 != 20 {
		t.Fatalf("after the second commit: partition 0 at %d (want -1), partition 1 at %d (want 20)", got0, got1)
	}
	log.release(1)
	if code := recvCode(t, a, "first commit"); code != 0 {
		t.Fatalf("first commit: %v", kerr.ErrorForCode(code))
	}
	if got := committed(c, "g", 0); got != 10 {
		t.Fatalf("partition 0 at %d, want 10", got)
	}
}

// TestCommitsFinishOutOfOrder: two commits of one partition finish in the reverse order of
// their appends; the later append wins in memory, as it does in the log on replay.
func TestCommitsFinishOutOfOrder(t *testing.T) {
	c, log := heldCoordinator(t, time.Minute)
	a := commitAsync(c, "g", 0, 5)
	waitAppends(t, log, 1)
	b := commitAsync(c, "g", 0, 7)
	waitAppends(t, log, 2)
	log.release(2)
	if code := recvCode(t, b, "later commit"); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	log.release(1)
	if code := recvCode(t, a, "earlier commit"); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	if got := committed(c, "g", 0); got != 7 {
		t.Fatalf("committed %d, want 7 (the later append)", got)
	}
	c2 := replayOn(t, c, log)
	if got := committed(c2, "g", 0); got != 7 {
		t.Fatalf("after replay: committed %d, want 7", got)
	}
}

// TestDeleteWhileCommitInFlight: an OffsetDelete, a deleted topic or DeleteGroups that
// comes after a commit was appended but before it is durable writes a tombstone for that
// partition too, and the commit, when it finishes, does not bring the offset back; replay
// agrees.
func TestDeleteWhileCommitInFlight(t *testing.T) {
	for _, tc := range []struct {
		name string
		del  func(c *Coordinator) int16
	}{
		{"OffsetDelete", func(c *Coordinator) int16 {
			code, res := c.DeleteOffsets(context.Background(), "g", []FetchTopic{{Topic: "t", Partitions: []int32{0}}})
			if code == 0 {
				code = res[0].Partitions[0].ErrorCode
			}
			return code
		}},
		{"TopicDeleted", func(c *Coordinator) int16 {
			c.TopicDeleted(context.Background(), "t")
			return 0
		}},
		{"DeleteGroups", func(c *Coordinator) int16 {
			return c.DeleteGroups(context.Background(), []string{"g"})[0]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, log := heldCoordinator(t, time.Minute)
			log.hold = false
			if code := recvCode(t, commitAsync(c, "g", 1, 3), "setup commit"); code != 0 {
				t.Fatal(kerr.ErrorForCode(code))
			}
			log.mu.Lock()
			log.hold = true
			log.mu.Unlock()
			a := commitAsync(c, "g", 0, 10)
			waitAppends(t, log, 2)
			log.release(3) // the deletion's own append
			if code := tc.del(c); code != 0 {
				t.Fatalf("delete: %v", kerr.ErrorForCode(code))
			}
			log.release(2)
			if code := recvCode(t, a, "commit"); code != 0 {
				t.Fatalf("commit: %v", kerr.ErrorForCode(code))
			}
			if got := committed(c, "g", 0); got != -1 {
				t.Fatalf("partition 0 committed at %d after its deletion, want none", got)
			}
			c2 := replayOn(t, c, log)
			if got := committed(c2, "g", 0); got != -1 {
				t.Fatalf("after replay: partition 0 committed at %d, want none", got)
			}
		})
	}
}

// TestCommitNotDurable: a commit whose record never becomes durable answers a retriable
// error, as Kafka: COORDINATOR_NOT_AVAILABLE after an unknown failure or after
// offsets.commit.timeout.ms, NOT_COORDINATOR after a failed fsync; it changes nothing.
func TestCommitNotDurable(t *testing.T) {
	c, log := heldCoordinator(t, 100*time.Millisecond)
	a := commitAsync(c, "g", 0, 10)
	waitAppends(t, log, 1)
	log.failDurable(1, errInjected)
	if code := recvCode(t, a, "failed commit"); code != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("failed append: %v, want COORDINATOR_NOT_AVAILABLE", kerr.ErrorForCode(code))
	}
	b := commitAsync(c, "g", 0, 11)
	waitAppends(t, log, 2)
	log.failDurable(2, fmt.Errorf("fsync: %w", partlog.ErrStorage))
	if code := recvCode(t, b, "commit with a failed fsync"); code != kerr.NotCoordinator.Code {
		t.Fatalf("failed fsync: %v, want NOT_COORDINATOR", kerr.ErrorForCode(code))
	}
	d := commitAsync(c, "g", 0, 12) // never released: times out
	if code := recvCode(t, d, "timed out commit"); code != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("no fsync within the commit timeout: %v, want COORDINATOR_NOT_AVAILABLE", kerr.ErrorForCode(code))
	}
	if got := committed(c, "g", 0); got != -1 {
		t.Fatalf("committed %d, want none", got)
	}
	g, _ := c.lookup("g", false)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inflightCommits != 0 || len(g.inflight) != 0 || len(g.deletedSeq) != 0 {
		t.Fatalf("in-flight bookkeeping left: %d commits, %v, %v", g.inflightCommits, g.inflight, g.deletedSeq)
	}
}

// replayOn closes c and starts a coordinator over its log (appends no longer held), which
// replays what c wrote; it is closed when the test ends.
func replayOn(t *testing.T, c *Coordinator, log *memLog) *Coordinator {
	t.Helper()
	c.Close()
	log.hold = false
	c2, err := Start(context.Background(), Config{Log: log, Partitions: 1, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c2.Close)
	return c2
}
