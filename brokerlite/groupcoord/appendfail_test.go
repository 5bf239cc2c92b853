package groupcoord

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rivulet-io/rivulet/brokerlite/partlog"
)

// appendFailureCase is one way an append to __consumer_offsets fails, with the
// codes Kafka answers for it: for group metadata and tombstones, and for
// offset commits.
type appendFailureCase struct {
	name       string
	arm        func(l *memLog)
	metaCode   int16
	commitCode int16
}

var appendFailureCases = []appendFailureCase{
	{"disk failed", func(l *memLog) { l.appendErr = fmt.Errorf("append: %w", partlog.ErrStorage) },
		kerr.NotCoordinator.Code, kerr.NotCoordinator.Code},
	{"batch too large", func(l *memLog) { l.appendErr = fmt.Errorf("append: %w", partlog.ErrMessageTooLarge) },
		kerr.UnknownServerError.Code, kerr.InvalidCommitOffsetSize.Code},
	{"records too large", func(l *memLog) { l.appendErr = fmt.Errorf("append: %w", partlog.ErrRecordListTooLarge) },
		kerr.UnknownServerError.Code, kerr.InvalidCommitOffsetSize.Code},
	// Appends are held and never become durable: offsets.commit.timeout.ms passes.
	{"timed out", func(l *memLog) { l.hold = true },
		kerr.CoordinatorNotAvailable.Code, kerr.CoordinatorNotAvailable.Code},
}

// failCoordinator starts a coordinator whose appends succeed until arm is
// called, with a short offsets.commit.timeout.ms.
func failCoordinator(t *testing.T) (*Coordinator, func(appendFailureCase)) {
	t.Helper()
	log := newMemLog()
	n := 0
	c, err := Start(context.Background(), Config{Log: log, Clock: newFakeClock(), Partitions: 1,
		NoInitialRebalanceDelay: true, OffsetCommitTimeout: 50 * time.Millisecond, Logger: quietLogger(),
		NewMemberID: func(p string) string { n++; return fmt.Sprintf("%s-%d", p, n) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, func(fc appendFailureCase) {
		log.mu.Lock()
		defer log.mu.Unlock()
		fc.arm(log)
	}
}

func simpleJoin(group, member, instance string) JoinRequest {
	return JoinRequest{Group: group, MemberID: member, InstanceID: instance, ClientID: "c", ProtocolType: "consumer",
		Protocols: []Protocol{{Name: "range", Metadata: []byte{}}}, SessionTimeout: 10 * time.Second, RebalanceTimeout: 60 * time.Second}
}

func standaloneCommit(group string, offset int64) CommitRequest {
	return CommitRequest{Group: group, Generation: -1,
		Topics: []CommitTopic{{Topic: "t", Partitions: []CommitPartition{{Partition: 0, Offset: offset, LeaderEpoch: -1}}}}}
}

// joinAndSync makes a one-member group Stable and returns the member's join answer.
func joinAndSync(t *testing.T, c *Coordinator, instance string) JoinResult {
	t.Helper()
	ctx := context.Background()
	jr, err := c.Join(ctx, simpleJoin("g", "", instance))
	if err != nil || jr.ErrorCode != 0 {
		t.Fatalf("join: %v %v", err, kerr.ErrorForCode(jr.ErrorCode))
	}
	sr, err := c.Sync(ctx, SyncRequest{Group: "g", MemberID: jr.MemberID, Generation: jr.Generation,
		Assignments: []MemberAssignment{{MemberID: jr.MemberID, Assignment: []byte{1}}}})
	if err != nil || sr.ErrorCode != 0 {
		t.Fatalf("sync: %v %v", err, kerr.ErrorForCode(sr.ErrorCode))
	}
	return jr
}

// TestAppendFailureCodes: when writing to __consumer_offsets fails, each API answers what
// Kafka answers: NOT_COORDINATOR for a failed disk, COORDINATOR_NOT_AVAILABLE past
// offsets.commit.timeout.ms, and for a batch too large for the log UNKNOWN_SERVER_ERROR
// (group metadata) or INVALID_COMMIT_OFFSET_SIZE (offset commits). None of them answers
// REQUEST_TIMED_OUT or KAFKA_STORAGE_ERROR, which Java consumers treat as fatal.
func TestAppendFailureCodes(t *testing.T) {
	ctx := context.Background()
	apis := []struct {
		name   string
		commit bool
		run    func(t *testing.T, c *Coordinator, arm func()) int16
	}{
		{"SyncGroup", false, func(t *testing.T, c *Coordinator, arm func()) int16 {
			jr, err := c.Join(ctx, simpleJoin("g", "", ""))
			if err != nil || jr.ErrorCode != 0 {
				t.Fatalf("join: %v %v", err, kerr.ErrorForCode(jr.ErrorCode))
			}
			arm()
			sr, err := c.Sync(ctx, SyncRequest{Group: "g", MemberID: jr.MemberID, Generation: jr.Generation,
				Assignments: []MemberAssignment{{MemberID: jr.MemberID, Assignment: []byte{1}}}})
			if err != nil {
				t.Fatal(err)
			}
			return sr.ErrorCode
		}},
		{"JoinGroup of a restarted static member", false, func(t *testing.T, c *Coordinator, arm func()) int16 {
			joinAndSync(t, c, "i")
			arm()
			jr, err := c.Join(ctx, simpleJoin("g", "", "i"))
			if err != nil {
				t.Fatal(err)
			}
			return jr.ErrorCode
		}},
		{"DeleteGroups", false, func(t *testing.T, c *Coordinator, arm func()) int16 {
			if code := c.CommitOffsets(ctx, standaloneCommit("g", 5))[0].Partitions[0].ErrorCode; code != 0 {
				t.Fatal(kerr.ErrorForCode(code))
			}
			arm()
			return c.DeleteGroups(ctx, []string{"g"})[0]
		}},
		{"OffsetDelete", false, func(t *testing.T, c *Coordinator, arm func()) int16 {
			if code := c.CommitOffsets(ctx, standaloneCommit("g", 5))[0].Partitions[0].ErrorCode; code != 0 {
				t.Fatal(kerr.ErrorForCode(code))
			}
			arm()
			code, _ := c.DeleteOffsets(ctx, "g", []FetchTopic{{Topic: "t", Partitions: []int32{0}}})
			return code
		}},
		{"OffsetCommit", true, func(t *testing.T, c *Coordinator, arm func()) int16 {
			arm()
			return c.CommitOffsets(ctx, standaloneCommit("g", 5))[0].Partitions[0].ErrorCode
		}},
		{"OffsetCommit of a member", true, func(t *testing.T, c *Coordinator, arm func()) int16 {
			jr := joinAndSync(t, c, "")
			arm()
			req := standaloneCommit("g", 5)
			req.MemberID, req.Generation = jr.MemberID, jr.Generation
			return c.CommitOffsets(ctx, req)[0].Partitions[0].ErrorCode
		}},
		{"TxnOffsetCommit", true, func(t *testing.T, c *Coordinator, arm func()) int16 {
			arm()
			return c.TxnCommitOffsets(ctx, TxnCommitRequest{Group: "g", ProducerID: 7, Generation: -1,
				Topics: standaloneCommit("g", 5).Topics})[0].Partitions[0].ErrorCode
		}},
	}
	for _, api := range apis {
		for _, fc := range appendFailureCases {
			t.Run(api.name+"/"+fc.name, func(t *testing.T) {
				c, arm := failCoordinator(t)
				want := fc.metaCode
				if api.commit {
					want = fc.commitCode
				}
				if got := api.run(t, c, func() { arm(fc) }); got != want {
					t.Fatalf("answered %v, want %v", kerr.ErrorForCode(got), kerr.ErrorForCode(want))
				}
			})
		}
	}
}
