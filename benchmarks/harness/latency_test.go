package harness

import (
	"path/filepath"
	"testing"
	"time"
)

// TestRunLatencySmall runs the latency benchmark briefly: every measured
// record must come out of both pipelines, with ordered, positive
// percentiles.
func TestRunLatencySmall(t *testing.T) {
	res, _ := runSuite(t, 3*time.Minute, RunLatency, LatencyConfig{Rate: 500, Duration: time.Second, Partitions: 2, Threads: 1, Dir: t.TempDir()})
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

// TestRunLatencySweepSmall sweeps two input rates: each system gets a curve
// point per rate it sustained, with every measured record arrived, and the
// curves plot with logarithmic axes.
func TestRunLatencySweepSmall(t *testing.T) {
	res, _ := runSuite(t, 3*time.Minute, RunLatency, LatencyConfig{Rate: 400, Sweep: true, SweepRates: []int{200, 400}, SweepStep: 500 * time.Millisecond,
		Partitions: 2, Threads: 1, Dir: t.TempDir()})
	if len(res.Runs) != 2 || len(res.Rows) != 4 {
		t.Fatalf("runs %+v rows %+v", res.Runs, res.Rows)
	}
	for _, r := range res.Runs {
		if len(r.Curve.Points) != 2 {
			t.Fatalf("%s: curve %+v", r.System, r.Curve)
		}
		for i, p := range r.Curve.Points {
			if p.Saturated || p.Records != p.Rate/2 || p.P50 <= 0 || p.P50 > p.P99 || p.P99 > p.P999 {
				t.Errorf("%s point %d: %+v", r.System, i, p)
			}
		}
		if r.Curve.Sustained() != 400 || r.Records != 200 {
			t.Errorf("%s: sustained %d, run %+v", r.System, r.Curve.Sustained(), r)
		}
	}
	series := res.Series()
	if len(series) != 2 || !series[0].LogX || series[0].XUnit != "input records/s" {
		t.Fatalf("series %+v", series)
	}
	if err := Plot(filepath.Join(t.TempDir(), "sweep.svg"), series); err != nil {
		t.Fatal(err)
	}
}
