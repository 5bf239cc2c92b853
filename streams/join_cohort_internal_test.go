package streams

import "testing"

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// A stage opens once every member arrived at it or left; a member that
// left, or passed the last stage, never waits again.
func TestJoinCohortStages(t *testing.T) {
	c := newJoinCohort(3)
	a, b, d := &streamThread{}, &streamThread{}, &streamThread{}

	first := c.arrive(a)
	if first == nil || isClosed(first) {
		t.Fatal("stage 0 open with one of three members arrived")
	}
	if ch := c.arrive(b); ch != first {
		t.Fatal("members of one stage wait on different channels")
	}
	if isClosed(first) {
		t.Fatal("stage 0 open with two of three members arrived")
	}
	// d leaves before arriving anywhere (it stopped, or got an assignment).
	c.leave(d)
	if !isClosed(first) {
		t.Fatal("stage 0 still closed after the last member left")
	}
	second := c.arrive(a)
	if second == nil || second == first || isClosed(second) {
		t.Fatal("stage 1 must be a new, closed channel while b has not arrived")
	}
	c.arrive(b)
	if !isClosed(second) {
		t.Fatal("stage 1 still closed with a and b arrived and d gone")
	}
	for _, m := range []*streamThread{a, b, d} {
		if ch := c.arrive(m); ch != nil {
			t.Fatal("a member waits past the last stage")
		}
	}
	// Not a member: the cohort is full.
	if ch := c.arrive(&streamThread{}); ch != nil {
		t.Fatal("a thread outside the cohort waits")
	}
	c.leave(a) // leaving again changes nothing
}

// A member leaving between stages counts for the stages it has not
// reached, and only those.
func TestJoinCohortLeaveBetweenStages(t *testing.T) {
	c := newJoinCohort(2)
	a, b := &streamThread{}, &streamThread{}
	first := c.arrive(a)
	c.arrive(b)
	if !isClosed(first) {
		t.Fatal("stage 0 closed with both members arrived")
	}
	second := c.arrive(a)
	c.leave(a) // a timed out at stage 1: already counted there
	if isClosed(second) {
		t.Fatal("stage 1 opened by a's leave although b has not arrived")
	}
	c.leave(b)
	if !isClosed(second) {
		t.Fatal("stage 1 still closed after b left")
	}
}
