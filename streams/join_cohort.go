package streams

import (
	"sync"
	"time"
)

// joinCohort makes the stream threads an application starts together join
// the consumer group in one generation.
//
// Each thread is its own group member. Joined one after the other, the
// first thread forms generation 1 alone and gets every task, the next one's
// join starts generation 2 (which the first learns of at its next
// heartbeat), and under the cooperative protocol the moved tasks are
// revoked first and assigned in generation 3: a start that pays up to
// three rebalances and opens and closes stores for nothing. Kafka Streams
// leaves this to the broker's group.initial.rebalance.delay.ms (3 s by
// default), which delays every first join by that much.
//
// Instead, each thread of the cohort waits, right before it sends a
// JoinGroup (taskBalancer.JoinGroupMetadata), until every thread of the
// cohort got as far, at most cohortWait. Two stages: the first JoinGroup
// (without a member id), and the second (with the member id the
// coordinator asked for, KIP-394). When the second ones leave, every
// thread is known to the coordinator as a pending member, and the
// coordinator completes the join only once all of them joined, so the
// first generation holds the whole cohort and each thread gets its final
// tasks at once. A thread leaves the cohort at its first assignment and
// when it stops, so a thread never waits for one that is gone; threads
// added later (AddStreamThread, a replaced thread) are in no cohort.
type joinCohort struct {
	mu      sync.Mutex
	size    int
	arrived [cohortStages]int
	ready   [cohortStages]chan struct{}
	// reached is how many stages each member passed; left members are
	// counted as having reached them all.
	reached map[*streamThread]int
}

// cohortStages are the JoinGroups a thread waits at: the first, and the
// retry with the member id the coordinator assigned (KIP-394).
const cohortStages = 2

// cohortWait bounds each wait, so a thread that never gets to its join
// (a broker it cannot reach) delays the others by at most this much, as
// Kafka's default group.initial.rebalance.delay.ms would.
const cohortWait = 3 * time.Second

func newJoinCohort(size int) *joinCohort {
	c := &joinCohort{size: size, reached: make(map[*streamThread]int, size)}
	for i := range c.ready {
		c.ready[i] = make(chan struct{})
	}
	return c
}

// arrive records that t is about to send a JoinGroup and returns the
// channel closed once every member got as far, or nil when t does not
// wait (past the last stage, or no longer in the cohort).
func (c *joinCohort) arrive(t *streamThread) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	stage, ok := c.reached[t]
	if !ok && len(c.reached) >= c.size {
		return nil // not a member (the cohort is full)
	}
	if stage >= cohortStages {
		return nil
	}
	c.reached[t] = stage + 1
	c.arriveLocked(stage)
	return c.ready[stage]
}

// leave takes t out of the cohort: the others stop waiting for it.
func (c *joinCohort) leave(t *streamThread) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stage, ok := c.reached[t]
	if !ok {
		if len(c.reached) >= c.size {
			return
		}
		stage = 0
	}
	c.reached[t] = cohortStages
	for s := stage; s < cohortStages; s++ {
		c.arriveLocked(s)
	}
}

func (c *joinCohort) arriveLocked(stage int) {
	c.arrived[stage]++
	if c.arrived[stage] == c.size {
		close(c.ready[stage])
	}
}

// waitCohort is called right before t sends a JoinGroup: it waits for the
// rest of t's start cohort, at most cohortWait, or until t stops.
func (t *streamThread) waitCohort() {
	if t.cohort == nil {
		return
	}
	ready := t.cohort.arrive(t)
	if ready == nil {
		return
	}
	timer := time.NewTimer(cohortWait)
	defer timer.Stop()
	select {
	case <-ready:
	case <-t.ctx.Done():
		t.cohort.leave(t)
	case <-timer.C:
		t.app.cfg.Logger.Info("streams: joining the group without waiting longer for the other stream threads", "thread", t.name, "waited", cohortWait)
		t.cohort.leave(t)
	}
}

// leaveCohort takes t out of its start cohort (at its first assignment, and
// when it stops).
func (t *streamThread) leaveCohort() {
	if t.cohort != nil {
		t.cohort.leave(t)
	}
}
