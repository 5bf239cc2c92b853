package testutil

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps what Fatalf was given.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestEventuallyStateReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	r := &recorder{TB: t}
	EventuallyState(r, time.Minute, "third call", func() (bool, string) {
		calls++
		return calls == 3, fmt.Sprintf("call %d", calls)
	})
	if r.failed != "" || calls != 3 {
		t.Fatalf("calls %d, failure %q", calls, r.failed)
	}
}

func TestEventuallyStateFailsWithTheLastState(t *testing.T) {
	calls := 0
	r := &recorder{TB: t}
	EventuallyState(r, 3*PollInterval, "never", func() (bool, string) {
		calls++
		return false, fmt.Sprintf("call %d", calls)
	})
	if !strings.Contains(r.failed, "never: not reached within") || !strings.Contains(r.failed, fmt.Sprintf("call %d", calls)) || calls < 2 {
		t.Fatalf("calls %d, failure %q", calls, r.failed)
	}
}
