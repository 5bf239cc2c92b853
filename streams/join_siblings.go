package streams

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The stream threads an instance starts together join the group at about
// the same time, each with its own client. On a broker with no initial
// rebalance delay (group.initial.rebalance.delay.ms=0, as Kafka's sample
// server.properties and most test setups have it), the first thread's join
// can complete a generation on its own, a few milliseconds before its
// siblings' joins arrive: it takes every task, the next join starts a
// rebalance that the first thread only learns of at its next heartbeat,
// and the cooperative protocol then moves tasks in two more rebalances,
// about a second at start with tasks opened, closed and reopened.
//
// So the group leader, when it sees fewer of its own instance's threads in
// the group than the instance runs, waits (up to siblingJoinWait) until the
// missing ones have sent their membership join (the JoinGroup that carries
// the member id the coordinator gave them, which makes the coordinator
// start a rebalance) before it returns its assignment: the coordinator
// then answers the leader's SyncGroup with REBALANCE_IN_PROGRESS, every
// thread rejoins at once, and the first assignment covers them all.

// siblingJoinWait bounds the leader's wait for its instance's threads.
const siblingJoinWait = time.Second

// joinGroupKey is the Kafka API key of JoinGroup.
var joinGroupKey = kmsg.NewPtrJoinGroupRequest().Key()

// siblingJoins is an App's record of its threads' JoinGroup requests.
type siblingJoins struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced at each JoinGroup sent
}

// joinHook counts the JoinGroup requests a thread's client writes.
type joinHook struct{ t *streamThread }

var _ kgo.HookBrokerWrite = joinHook{}

func (h joinHook) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key != joinGroupKey || err != nil {
		return
	}
	h.t.joinsSent.Add(1)
	j := &h.t.app.siblingJoins
	j.mu.Lock()
	if j.changed != nil {
		close(j.changed)
	}
	j.changed = make(chan struct{})
	j.mu.Unlock()
}

// awaitSiblingJoins is the leader's wait (see above); members is how many
// of this instance's threads the join being balanced has. Called by the
// leader's balancer, on its client's goroutine.
func (a *App) awaitSiblingJoins(leader *streamThread, members int) {
	deadline := time.NewTimer(siblingJoinWait)
	defer deadline.Stop()
	for {
		j := &a.siblingJoins
		j.mu.Lock()
		if j.changed == nil {
			j.changed = make(chan struct{})
		}
		changed := j.changed
		j.mu.Unlock()
		if !a.siblingsMissing(leader, members) {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			return
		case <-a.runCtx.Done():
			return
		}
	}
}

// siblingsMissing reports whether the instance runs more threads than
// members and one of them other than leader has not yet sent its
// membership join: a dynamic member sends two JoinGroups to become a
// member (KIP-394: the first only gets its member id), a static one
// (group.instance.id) one. (Against a broker older than KIP-394 a dynamic
// member sends one, and the leader waits out siblingJoinWait.)
func (a *App) siblingsMissing(leader *streamThread, members int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.threads) <= members {
		return false
	}
	for _, t := range a.threads {
		joins := int64(2)
		if t.instanceID() != "" {
			joins = 1
		}
		if t != leader && !t.removing.Load() && t.joinsSent.Load() < joins {
			return true
		}
	}
	return false
}
