package testutil

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPollReturnsOnceConditionHolds(t *testing.T) {
	calls := 0
	if !Poll(10*time.Second, func() bool { calls++; return calls == 3 }) {
		t.Fatal("Poll reported false for a condition that became true on the third call")
	}
	if calls != 3 {
		t.Fatalf("cond called %d times, want 3 (Poll must stop at the first true)", calls)
	}
}

func TestPollGivesUpAfterTimeout(t *testing.T) {
	calls := 0
	start := time.Now()
	if Poll(30*time.Millisecond, func() bool { calls++; return false }) {
		t.Fatal("Poll reported true for a condition that never held")
	}
	if elapsed := time.Since(start); elapsed < 30*time.Millisecond {
		t.Fatalf("Poll gave up after %v, before its 30ms timeout", elapsed)
	}
	if calls < 2 {
		t.Fatalf("cond called %d times, want a first call and one at the deadline", calls)
	}
}

func TestPollZeroTimeoutCallsOnce(t *testing.T) {
	calls := 0
	if !Poll(0, func() bool { calls++; return true }) || calls != 1 {
		t.Fatalf("Poll(0) with a true condition: calls=%d, want one call returning true", calls)
	}
}

// recorder is a testing.TB that records Fatalf instead of stopping the test.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = fmt.Sprintf(format, args...)
}

func TestEventually(t *testing.T) {
	r := &recorder{TB: t}
	n := 0
	Eventually(r, 10*time.Second, "counter at 2", func() bool { n++; return n >= 2 })
	if r.failed != "" {
		t.Fatalf("Eventually failed a condition that held: %s", r.failed)
	}

	Eventually(r, 20*time.Millisecond, "never true", func() bool { return false })
	if !strings.Contains(r.failed, "never true") || !strings.Contains(r.failed, "20ms") {
		t.Fatalf("failure %q does not name what was awaited and the timeout", r.failed)
	}
}

func TestEventuallyNoErrorReportsLastError(t *testing.T) {
	r := &recorder{TB: t}
	n := 0
	EventuallyNoError(r, 10*time.Second, "third try", func() error {
		n++
		if n < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if r.failed != "" {
		t.Fatalf("EventuallyNoError failed a function that returned nil: %s", r.failed)
	}

	n = 0
	EventuallyNoError(r, 20*time.Millisecond, "offsets committed", func() error {
		n++
		return fmt.Errorf("attempt %d refused", n)
	})
	want := fmt.Sprintf("attempt %d refused", n)
	if !strings.Contains(r.failed, "offsets committed") || !strings.Contains(r.failed, "20ms") || !strings.Contains(r.failed, want) {
		t.Fatalf("failure %q does not name what was awaited, the timeout and the last error %q", r.failed, want)
	}
}
