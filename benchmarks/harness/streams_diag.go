package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// errNotDone is the error of a run whose output was still short at the
// timeout.
var errNotDone = errors.New("not done")

// stallDetail describes what the harness saw of a failed run: the output
// reader's last fetch error, the results not at their final value, and for
// a run that timed out, the output topic's end offsets against the reader's
// position and a dump of every goroutine of the process (broker, system and
// reader share it) written next to the broker's log.
func stallDetail(ctx context.Context, cfg StreamsConfig, name string, reader *outputReader, chk checker, timedOut bool) string {
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
	path := filepath.Join(cfg.Dir, name+"-goroutines.txt")
	if err := writeGoroutines(path); err != nil {
		detail += fmt.Sprintf(" (goroutine dump: %v)", err)
	} else {
		detail += fmt.Sprintf(" (goroutines at the timeout: %s)", path)
	}
	return detail
}

// writeGoroutines writes the stacks of every goroutine to path.
func writeGoroutines(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("goroutine").WriteTo(f, 2); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
