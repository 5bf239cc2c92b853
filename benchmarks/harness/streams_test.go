package harness

import (
	"context"
	"testing"
	"time"
)

// TestRunStreamsEveryCaseCorrect runs every case of the streams suite with
// every system at a tiny size. Each run ends only when its checker has
// seen the output the generated input implies (every count, windowed count,
// store write and join result, computed independently of the systems), and
// fails on any output that is not expected, so a row of the suite is never
// a fast wrong answer.
func TestRunStreamsEveryCaseCorrect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out syncBuffer
	res, err := RunStreams(ctx, StreamsConfig{
		Records: 3000, DistinctKeys: 1000, Keys: 200, Partitions: 2, Threads: 1,
		CommitInterval: 100 * time.Millisecond, Timeout: time.Minute, Dir: t.TempDir(),
	}, NewProgress(&out, false))
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, out.String())
	}
	for _, c := range AllStreamsCases {
		sc, _ := ssbCaseOf(c)
		for _, sys := range []string{SystemRivulet, SystemFranz, SystemGoka} {
			run, ok := res.Run(c, sys)
			if sys == SystemGoka && !sc.goka {
				if ok {
					t.Errorf("%s: goka ran a case it cannot do", c)
				}
				continue
			}
			if !ok || run.Records <= 0 || run.Elapsed <= 0 || run.Bytes <= 0 {
				t.Errorf("%s on %s: %+v", c, sys, run)
				continue
			}
			t.Logf("%-28s %-8s %7d records in %v", c, sys, run.Records, run.Elapsed.Round(time.Millisecond))
		}
	}
	want := 0
	for _, c := range AllStreamsCases {
		want++ // against franz-go
		if sc, _ := ssbCaseOf(c); sc.goka {
			want++
		}
	}
	if len(res.Rows) != want {
		t.Errorf("%d rows, want %d", len(res.Rows), want)
	}
}
