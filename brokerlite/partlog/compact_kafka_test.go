package partlog

import (
	"context"
	"testing"
	"time"
)

// A compacted log rolls its active segment after max.compaction.lag.ms when
// that is shorter than segment.ms, so the overwritten values become
// cleanable and the lag forces a cleaning.
func TestCompactionMaxLagRollsActiveSegment(t *testing.T) {
	clk := newClock()
	cfg := DefaultConfig()
	cfg.CleanupPolicy = CleanupCompact
	cfg.MaxCompactionLagMs = 1000
	l := tempLog(t, cfg, clk)
	for _, v := range []string{"v1", "v2", "v3"} {
		if _, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte("k"), value: []byte(v), ts: clk.Ms()})); err != nil {
			t.Fatal(err)
		}
		clk.Add(5 * time.Second)
	}
	if n := l.NumSegments(); n != 3 {
		t.Fatalf("%d segments, want 3: each append came after max.compaction.lag.ms", n)
	}
	st, err := l.Compact(context.Background(), CleanerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Cleaned {
		t.Fatalf("max.compaction.lag.ms did not lead to a cleaning: %+v", st)
	}
	var vals []string
	for _, r := range readAll(t, l, l.LogStartOffset()) {
		vals = append(vals, string(r.Value))
	}
	if len(vals) != 2 || vals[0] != "v2" || vals[1] != "v3" {
		t.Fatalf("values after cleaning %q, want [v2 v3]", vals)
	}

	// segment.ms alone governs a log that is not compacted.
	cfg.CleanupPolicy = CleanupDelete
	d := tempLog(t, cfg, clk)
	for range 3 {
		if _, err := d.Append(mkBatch(t, batchOpt{}, rec{key: []byte("k"), value: []byte("v"), ts: clk.Ms()})); err != nil {
			t.Fatal(err)
		}
		clk.Add(5 * time.Second)
	}
	if n := d.NumSegments(); n != 1 {
		t.Fatalf("delete-policy log has %d segments, want 1", n)
	}
}
