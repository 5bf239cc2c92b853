package harness

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestRunLatencySmall runs the latency benchmark briefly: every measured
// record must come out of both pipelines, with ordered, positive
// percentiles.
func TestRunLatencySmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := RunLatency(ctx, LatencyConfig{Rate: 500, Duration: time.Second, Partitions: 2, Threads: 1, Dir: t.TempDir()}, NewProgress(&out, false))
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, out.String())
	}
	if len(res.Runs) != 2 || len(res.Rows) != 3 {
		t.Fatalf("runs %+v rows %+v", res.Runs, res.Rows)
	}
	for _, r := range res.Runs {
		if r.Records != 500 || r.P50 <= 0 || r.P50 > r.P99 || r.P99 > r.P999 || r.P999 > r.Max {
			t.Errorf("run %+v", r)
		}
		t.Logf("%+v", r)
	}
}
