package badgerstore

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestBadgerLoggerCacheAdvice: Badger's repeated advice that a cache might be too
// small is logged at the debug level; its other warnings and its errors stay at
// their levels.
func TestBadgerLoggerCacheAdvice(t *testing.T) {
	var out bytes.Buffer
	l := badgerLogger{slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	l.Warningf("%s might be too small. Metrics: %s\n", "Block cache", "hit: 1 miss: 9")
	l.Warningf("Cache life expectancy (in seconds): %+v\n", "histogram")
	l.Warningf("Value log GC failed: %v", "disk full")
	l.Errorf("Failure while flushing memtable to disk: %v", "disk full")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want 4:\n%s", len(lines), out.String())
	}
	for i, want := range []string{"level=DEBUG msg=\"badger: Block cache might be too small", "level=DEBUG msg=\"badger: Cache life expectancy",
		"level=WARN msg=\"badger: Value log GC failed: disk full\"", "level=ERROR msg=\"badger: Failure while flushing memtable to disk: disk full\""} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q, want it to contain %q", i, lines[i], want)
		}
	}
}
