package testutil

import (
	"testing"
	"time"
)

// PollInterval is how long Eventually waits between two checks.
const PollInterval = 20 * time.Millisecond

// EventuallyState checks cond every PollInterval until it reports true, or fails
// t once within has passed, naming what was awaited and the state cond last
// reported. cond runs on the test's goroutine; the first check is at once.
func EventuallyState(t testing.TB, within time.Duration, what string, cond func() (ok bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v; last state:\n%s", what, within, state)
			return
		}
		time.Sleep(PollInterval) // the poll interval, not a wait for the condition
	}
}
