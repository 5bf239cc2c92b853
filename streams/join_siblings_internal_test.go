package streams

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

// siblingApp is an App with n threads, enough for the leader's wait.
func siblingApp(t *testing.T, n int) (*App, []*streamThread) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a := &App{cfg: &config{}, threads: map[int]*streamThread{}, runCtx: ctx}
	var ts []*streamThread
	for i := range n {
		th := &streamThread{app: a, id: i}
		a.threads[i] = th
		ts = append(ts, th)
	}
	return a, ts
}

func sendJoin(th *streamThread) {
	joinHook{th}.OnBrokerWrite(kgo.BrokerMetadata{}, joinGroupKey, 100, 0, 0, nil)
}

// TestLeaderWaitsForSiblingMembershipJoin: a leader balancing a join that
// has fewer of its instance's threads than the instance runs waits until
// the missing thread has sent its membership JoinGroup (its second: the
// first only gets a member id); other requests and failed writes do not
// count.
func TestLeaderWaitsForSiblingMembershipJoin(t *testing.T) {
	a, ts := siblingApp(t, 2)
	sendJoin(ts[0])
	sendJoin(ts[0])
	done := make(chan struct{})
	go func() {
		a.awaitSiblingJoins(ts[0], 1)
		close(done)
	}()
	sendJoin(ts[1])
	joinHook{ts[1]}.OnBrokerWrite(kgo.BrokerMetadata{}, joinGroupKey+1, 100, 0, 0, nil)
	joinHook{ts[1]}.OnBrokerWrite(kgo.BrokerMetadata{}, joinGroupKey, 0, 0, 0, context.Canceled)
	if !a.siblingsMissing(ts[0], 1) {
		t.Fatalf("sibling with one JoinGroup sent is not missing")
	}
	select {
	case <-done:
		t.Fatalf("leader stopped waiting before the sibling's membership join")
	default:
	}
	sendJoin(ts[1])
	if !testutil.Poll(5*time.Second, func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}) {
		t.Fatalf("leader still waits after the sibling's membership join")
	}
}

// TestLeaderDoesNotWaitWhenAllThreadsJoined: with every thread of the
// instance in the join, or the only missing one being removed, the leader
// does not wait; a sibling that never joins holds it for siblingJoinWait
// at most.
func TestLeaderDoesNotWaitWhenAllThreadsJoined(t *testing.T) {
	a, ts := siblingApp(t, 3)
	if a.siblingsMissing(ts[0], 3) {
		t.Errorf("missing siblings with all three threads in the join")
	}
	ts[2].removing.Store(true)
	sendJoin(ts[1])
	sendJoin(ts[1])
	if a.siblingsMissing(ts[0], 2) {
		t.Errorf("missing siblings when the only absent thread is being removed")
	}
	ts[2].removing.Store(false)
	start := time.Now()
	a.awaitSiblingJoins(ts[0], 2)
	if waited := time.Since(start); waited > 10*siblingJoinWait {
		t.Errorf("leader waited %v for a sibling that never joins", waited)
	}
}

// TestStaticSiblingJoinsOnce: a thread with a group.instance.id becomes a
// member with one JoinGroup (no member id round), so one is enough.
func TestStaticSiblingJoinsOnce(t *testing.T) {
	a, ts := siblingApp(t, 2)
	a.cfg.ClientProperties = map[string]Properties{"consumer": {"group.instance.id": "static"}}
	if !a.siblingsMissing(ts[0], 1) {
		t.Fatalf("static sibling with no JoinGroup sent is not missing")
	}
	sendJoin(ts[1])
	if a.siblingsMissing(ts[0], 1) {
		t.Errorf("static sibling still missing after its JoinGroup")
	}
}
