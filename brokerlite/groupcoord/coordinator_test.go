package groupcoord

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// member runs one eager-protocol group member against c, the way a
// consumer client does: join (with the KIP-394 round trip), sync (the
// leader assigns), commit, heartbeat; rejoin whenever told to. It stops
// after rounds completed generations and leaves the group.
func runMember(ctx context.Context, c *Coordinator, group, client string, rounds int) error {
	memberID := ""
	for done := 0; done < rounds; {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := c.Join(ctx, JoinRequest{
			Group: group, MemberID: memberID, ClientID: client, ProtocolType: "consumer",
			Protocols:      []Protocol{{Name: "range", Metadata: []byte(client)}},
			SessionTimeout: 5 * time.Second, RebalanceTimeout: 5 * time.Second, RequireKnownMemberID: true,
		})
		if err != nil {
			return err
		}
		switch res.ErrorCode {
		case 0:
		case kerr.MemberIDRequired.Code:
			memberID = res.MemberID
			continue
		case kerr.UnknownMemberID.Code:
			memberID = ""
			continue
		case kerr.RebalanceInProgress.Code:
			continue
		default:
			return fmt.Errorf("%s: join: %v", client, kerr.ErrorForCode(res.ErrorCode))
		}
		var assign []MemberAssignment
		if res.LeaderID == memberID {
			for i, m := range res.Members {
				assign = append(assign, MemberAssignment{MemberID: m.MemberID, Assignment: fmt.Appendf(nil, "%d/%d", i, len(res.Members))})
			}
		}
		sres, err := c.Sync(ctx, SyncRequest{Group: group, MemberID: memberID, Generation: res.Generation, Assignments: assign})
		if err != nil {
			return err
		}
		if sres.ErrorCode != 0 {
			continue
		}
		errs := c.CommitOffsets(ctx, CommitRequest{Group: group, MemberID: memberID, Generation: res.Generation,
			Topics: []CommitTopic{{Topic: "t", Partitions: []CommitPartition{{Partition: 0, Offset: int64(done), LeaderEpoch: -1}}}}})
		if code := errs[0].Partitions[0].ErrorCode; code != 0 && code != kerr.RebalanceInProgress.Code && code != kerr.IllegalGeneration.Code {
			return fmt.Errorf("%s: commit: %v", client, kerr.ErrorForCode(code))
		}
		done++
		c.Heartbeat(HeartbeatRequest{Group: group, MemberID: memberID, Generation: res.Generation})
	}
	c.LeaveGroup(group, []LeaveMember{{MemberID: memberID}})
	return nil
}

// TestConcurrentGroups runs several groups of members churning through
// rebalances on the system clock, concurrently, under the race detector:
// no deadlock, no lost answer, every goroutine and timer gone after Close.
func TestConcurrentGroups(t *testing.T) {
	before := runtime.NumGoroutine()
	log := newMemLog()
	c, err := Start(context.Background(), Config{
		Log: log, Partitions: 3, MinSessionTimeout: time.Millisecond, NoInitialRebalanceDelay: true, Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for g := 0; g < 4; g++ {
		for m := 0; m < 4; m++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := runMember(ctx, c, fmt.Sprintf("group-%d", g), fmt.Sprintf("client-%d-%d", g, m), 3+m); err != nil {
					errc <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for _, d := range c.DescribeGroups([]string{"group-0", "group-1", "group-2", "group-3"}) {
		if d.State != StateEmpty || len(d.Members) != 0 {
			t.Errorf("%s: state %v with %d members after every member left", d.Group, d.State, len(d.Members))
		}
		if res := c.FetchOffsets(d.Group, nil); len(res.Topics) != 1 {
			t.Errorf("%s: offsets %+v", d.Group, res)
		}
	}
	c.Close()
	// Restarting from the same log finds the same groups.
	c2, err := Start(context.Background(), Config{Log: log, Partitions: 3, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c2.ListGroups()); n != 4 {
		t.Errorf("reloaded %d groups, want 4", n)
	}
	c2.Close()
	// The check below reports what is left after the wait.
	testutil.Poll(5*time.Second, func() bool {
		runtime.Gosched()
		return runtime.NumGoroutine() <= before
	})
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestCloseAnswersWaiters: members waiting in JoinGroup or SyncGroup get
// NOT_COORDINATOR when the coordinator closes, so no handler stays stuck.
func TestCloseAnswersWaiters(t *testing.T) {
	clock := newFakeClock()
	c, err := Start(context.Background(), Config{Log: newMemLog(), Clock: clock, MinSessionTimeout: time.Second, NoInitialRebalanceDelay: true, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	join := func(id string) JoinRequest {
		return JoinRequest{Group: "g", MemberID: id, ClientID: "c", ProtocolType: "consumer", Protocols: []Protocol{{Name: "range"}}, SessionTimeout: 10 * time.Second}
	}
	first, err := c.Join(context.Background(), join(""))
	if err != nil || first.ErrorCode != 0 {
		t.Fatalf("join: %v %v", err, first.ErrorCode)
	}
	// A second member waits in JoinGroup for the first to rejoin.
	var got []int16
	var mu sync.Mutex
	c.JoinGroup(join(""), func(r JoinResult) { mu.Lock(); got = append(got, r.ErrorCode); mu.Unlock() })
	// Join with a context that has ended returns the context's error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Join(ctx, join("")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Join with a cancelled context: %v", err)
	}
	c.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != kerr.NotCoordinator.Code {
		t.Fatalf("waiting join answered %v, want [NOT_COORDINATOR]", got)
	}
	if n := clock.pending(); n != 0 {
		t.Fatalf("%d timers left after Close", n)
	}
	// After Close, everything answers NOT_COORDINATOR.
	if code := c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: first.MemberID, Generation: first.Generation}); code != kerr.NotCoordinator.Code {
		t.Fatalf("heartbeat after Close: %v", code)
	}
	res := c.CommitOffsets(context.Background(), CommitRequest{Group: "g", Generation: -1, Topics: []CommitTopic{{Topic: "t", Partitions: []CommitPartition{{Offset: 1}}}}})
	if code := res[0].Partitions[0].ErrorCode; code != kerr.NotCoordinator.Code {
		t.Fatalf("commit after Close: %v", code)
	}
}

type failingLog struct{ memLog }

func (*failingLog) Replay(context.Context, int32, func([]byte) error) error {
	return errors.New("disk on fire")
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(context.Background(), Config{}); err == nil || !strings.HasPrefix(err.Error(), "groupcoord: ") {
		t.Fatalf("Start without a Log: %v", err)
	}
	if _, err := Start(context.Background(), Config{Log: newMemLog(), MinSessionTimeout: time.Hour, MaxSessionTimeout: time.Minute}); err == nil {
		t.Fatal("Start with min > max session timeout succeeded")
	}
	_, err := Start(context.Background(), Config{Log: &failingLog{}, Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), "__consumer_offsets-0") {
		t.Fatalf("Start over a failing log: %v", err)
	}
}

func TestParseGroupState(t *testing.T) {
	for s := StateEmpty; s <= StateDead; s++ {
		got, ok := ParseGroupState(strings.ToLower(s.String()))
		if !ok || got != s {
			t.Errorf("ParseGroupState(%q) = %v, %v", strings.ToLower(s.String()), got, ok)
		}
	}
	if _, ok := ParseGroupState("Rebalancing"); ok {
		t.Error("ParseGroupState accepted an unknown state")
	}
	// Kafka trims the ListGroups state filter.
	for _, in := range []string{" Stable", "stable ", "\tSTABLE\n"} {
		if got, ok := ParseGroupState(in); !ok || got != StateStable {
			t.Errorf("ParseGroupState(%q) = %v, %v; want Stable", in, got, ok)
		}
	}
}
