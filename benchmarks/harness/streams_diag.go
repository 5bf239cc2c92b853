package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// errNotDone is the error of a run whose output was still short at the
// timeout.
var errNotDone = errors.New("not done")

// stallDetail describes what the harness saw of a failed run: the output
// reader's last fetch error, the results not at their final value, and for
// a run that timed out, the output topic's end offsets against the reader's
// position and a dump of every goroutine of the process (broker, system and
// reader share it) written to a file.
func stallDetail(ctx context.Context, addr, name string, reader *outputReader, chk checker, timedOut bool) string {
	detail := ""
	if reader != nil && reader.lastError() != nil {
		detail += fmt.Sprintf(" (last output fetch error: %v)", reader.lastError())
	}
	if fc, ok := chk.(*finalChecker); ok {
		detail += fmt.Sprintf(" (%d of %d results not at their final value)", fc.missing(), fc.slots)
	}
	if !timedOut {
		return detail
	}
	if reader != nil {
		detail += " (" + reader.diagnose(ctx) + ")"
	}
	detail += " (" + groupLag(ctx, addr, name) + ")"
	if path, err := writeGoroutines(name); err != nil {
		detail += fmt.Sprintf(" (goroutine dump: %v)", err)
	} else {
		detail += fmt.Sprintf(" (goroutines at the timeout: %s)", path)
	}
	return detail
}

// groupLag describes how far the system's consumer group (named after the
// run) committed on its inputs: an input not read to its end shows here.
func groupLag(ctx context.Context, addr, group string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return fmt.Sprintf("group %s: %v", group, err)
	}
	defer cl.Close()
	lags, err := kadm.NewClient(cl).Lag(ctx, group)
	if err != nil {
		return fmt.Sprintf("group %s: %v", group, err)
	}
	l, ok := lags[group]
	if !ok {
		return fmt.Sprintf("group %s: not described", group)
	}
	if err := l.Error(); err != nil {
		return fmt.Sprintf("group %s: %v", group, err)
	}
	var parts []string
	for _, m := range l.Lag.Sorted() {
		if m.Err != nil {
			parts = append(parts, fmt.Sprintf("%s-%d: %v", m.Topic, m.Partition, m.Err))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s-%d: committed %d of end %d", m.Topic, m.Partition, m.Commit.At, m.End.Offset))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("group %s (%s): no committed offsets", group, l.State)
	}
	return fmt.Sprintf("group %s (%s): %s", group, l.State, strings.Join(parts, "; "))
}

// writeGoroutines writes the stacks of every goroutine to a new file in the
// temporary directory (outside the suite's directory, which may be removed
// at exit) and returns its path.
func writeGoroutines(name string) (string, error) {
	f, err := os.CreateTemp("", "rivulet-bench-"+name+"-goroutines-*.txt")
	if err != nil {
		return "", err
	}
	if err := pprof.Lookup("goroutine").WriteTo(f, 2); err != nil {
		f.Close()
		return "", err
	}
	return f.Name(), f.Close()
}
