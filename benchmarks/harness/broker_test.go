package harness

import (
	"strings"
	"testing"
	"time"
)

// TestRunBrokerSmall runs the broker comparison on a small load and checks
// that every case measured both brokers and drew curves.
func TestRunBrokerSmall(t *testing.T) {
	res, out := runSuite(t, 2*time.Minute, RunBroker, BrokerConfig{Records: 4000, Partitions: 2, Rounds: 2, Dir: t.TempDir()})
	if len(res.Rows) != 3 {
		t.Fatalf("%d rows, want 3", len(res.Rows))
	}
	for _, r := range res.Rows {
		if r.Ours != "brokerlite" || r.Peer != "kfake" || !(r.OursValue > 0) || !(r.PeerValue > 0) {
			t.Errorf("row %+v", r)
		}
	}
	if len(res.Series) != 6 {
		t.Errorf("%d series, want 6", len(res.Series))
	}
	for _, s := range res.Series {
		if len(s.Points) == 0 {
			t.Errorf("series %s/%s has no points", s.Bench, s.System)
		}
	}
	if !strings.Contains(out.String(), "broker: consume") {
		t.Errorf("no progress line for consume in %q", out.String())
	}
}
