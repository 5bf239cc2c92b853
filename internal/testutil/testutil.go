// Package testutil holds the polling helpers the module's tests use to wait for a condition:
// Eventually and EventuallyNoError fail the test when the condition does not hold within a
// timeout, Poll reports whether it did. They poll with a short interval (starting at 5 ms,
// doubling up to 50 ms), never sleep for a fixed time to let something happen.
// It is for tests only (it takes a testing.TB) and is not importable by users.
package testutil

import (
	"testing"
	"time"
)

const (
	firstInterval = 5 * time.Millisecond
	maxInterval   = 50 * time.Millisecond
)

// Poll calls cond until it returns true or timeout has passed, and reports whether it
// returned true. cond is called at least once, and once more after the timeout has passed
// if the last call came before it. Use it where the caller reports the failure itself.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	interval := firstInterval
	for {
		if cond() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		// A poll interval, not a wait for the condition; the last one ends at the deadline.
		time.Sleep(min(interval, left))
		interval = min(2*interval, maxInterval)
	}
}

// Eventually polls cond until it returns true; if it does not within timeout, it fails the
// test with t.Fatalf naming what was awaited and the timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("%s: not reached within %v", what, timeout)
	}
}

// EventuallyNoError polls f until it returns nil; if it does not within timeout, it fails the
// test with t.Fatalf naming what was awaited, the timeout and the last error f returned.
func EventuallyNoError(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	var last error
	if !Poll(timeout, func() bool { last = f(); return last == nil }) {
		t.Fatalf("%s: not reached within %v: %v", what, timeout, last)
	}
}
