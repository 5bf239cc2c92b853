package harness

import (
	"context"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// TestRunStreamsEveryCaseCorrect runs every case of the streams suite with
// every system at a tiny size. Each run ends only when its checker has
// seen the output the generated input implies (every count, windowed count,
// store write and join result, computed independently of the systems), and
// fails on any output that is not expected, so a row of the suite is never
// a fast wrong answer.
func TestRunStreamsEveryCaseCorrect(t *testing.T) {
	res, _ := runSuite(t, 3*time.Minute, RunStreams, StreamsConfig{
		Records: 3000, DistinctKeys: 1000, Keys: 200, Partitions: 2, Threads: 1,
		CommitInterval: 100 * time.Millisecond, Timeout: time.Minute, Dir: t.TempDir(),
	})
	for _, f := range res.FailedRuns() {
		t.Errorf("%s on %s failed: %s", f.Case, f.System, f.Failed)
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

// TestRunStreamsExactlyOnceCorrect runs cases of each kind (stateless,
// count, window store, joins) with Rivulet at-least-once and
// exactly_once_v2: both runs' output must be right, and each case gets the
// ratio of the two.
func TestRunStreamsExactlyOnceCorrect(t *testing.T) {
	cases := []string{CaseConsumeProduce, CaseStreamCount, CaseStreamProcessWinStore, CaseStreamStreamJoin, CaseTableTableJoin}
	res, _ := runSuite(t, 3*time.Minute, RunStreams, StreamsConfig{
		Records: 2000, DistinctKeys: 500, Keys: 200, Partitions: 2, Threads: 1,
		CommitInterval: 100 * time.Millisecond, Timeout: time.Minute, Dir: t.TempDir(),
		Cases: cases, Systems: []string{SystemRivulet}, ProcessingGuarantee: streams.ExactlyOnce,
	})
	for _, f := range res.FailedRuns() {
		t.Errorf("%s on %s failed: %s", f.Case, f.System, f.Failed)
	}
	for _, c := range cases {
		for _, sys := range []string{SystemRivulet, SystemRivuletEOS} {
			run, ok := res.Run(c, sys)
			if !ok || run.Records <= 0 || run.Elapsed <= 0 {
				t.Errorf("%s on %s: %+v", c, sys, run)
			}
		}
	}
	if len(res.Rows) != len(cases) {
		t.Errorf("%d rows, want %d (exactly_once_v2 vs at_least_once per case): %+v", len(res.Rows), len(cases), res.Rows)
	}
	for _, r := range res.Rows {
		if r.Ours != SystemRivuletEOS || r.Peer != SystemRivulet || r.Ratio() <= 0 {
			t.Errorf("row %+v", r)
		}
	}
	var table strings.Builder
	PrintStreams(&table, res)
	if !strings.Contains(table.String(), "exactly_once_v2 / at_least_once") {
		t.Errorf("table without the exactly-once columns:\n%s", table.String())
	}
}

// TestRunStreamsFailedRunsReported runs cases whose output cannot be
// complete within the timeout: each run is recorded as failed, with what
// the harness saw of the output topic, the suite goes on with the next
// case, and the table and the results section show the runs as failed
// without figures or ratios.
func TestRunStreamsFailedRunsReported(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cases := []string{CaseConsumeProduce, CaseStreamCount}
	var out testutil.Buffer
	res, err := RunStreams(ctx, StreamsConfig{
		Records: 2000, DistinctKeys: 500, Keys: 200, Partitions: 2, Threads: 1,
		CommitInterval: 100 * time.Millisecond, Timeout: time.Microsecond, Dir: t.TempDir(),
		Cases: cases, Systems: []string{SystemFranz},
	}, NewProgress(&out, false))
	if err != nil {
		t.Fatalf("the suite stopped at a failed run: %v", err)
	}
	failed := res.FailedRuns()
	if len(res.Runs) != len(cases) || len(failed) != len(cases) {
		t.Fatalf("runs %+v, want %d failed runs", res.Runs, len(cases))
	}
	for i, f := range failed {
		t.Log(f.Failed)
		if f.Case != cases[i] || f.System != SystemFranz || f.Elapsed != 0 {
			t.Errorf("failed run %+v", f)
		}
		output := "ssb-" + cases[i] + "-" + SystemFranz + "-output"
		for _, want := range []string{"not done after", "output " + output + ": p0: end offset", "p1: end offset", "group ssb-" + cases[i] + "-" + SystemFranz, "goroutines at the timeout"} {
			if !strings.Contains(f.Failed, want) {
				t.Errorf("%s: diagnostic without %q: %s", f.Case, want, f.Failed)
			}
		}
		if _, ok := res.Run(f.Case, f.System); ok {
			t.Errorf("%s: a failed run counts as completed", f.Case)
		}
		_, path, _ := strings.Cut(f.Failed, "goroutines at the timeout: ")
		path, _, _ = strings.Cut(path, ")")
		dump, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(dump), "goroutine ") {
			t.Errorf("%s: goroutine dump %q: %v", f.Case, path, err)
		}
		os.Remove(path)
	}
	if len(res.Rows) != 0 {
		t.Errorf("rows of failed runs: %+v", res.Rows)
	}
	var table strings.Builder
	PrintStreams(&table, res)
	for _, c := range cases {
		if !strings.Contains(table.String(), "FAILED ("+c+" on "+SystemFranz+"): harness: streams "+c) {
			t.Errorf("table without %s's failure:\n%s", c, table.String())
		}
	}
	rows := res.tableRows()
	if len(rows) != len(cases) || rows[0][2] != "failed" || rows[0][1] != "-" {
		t.Errorf("table rows %q: want franz-go's cell failed, rivulet's not run", rows)
	}
	md := (&Result{Streams: res, StreamsSettings: StreamsConfig{Cases: cases}}).StreamsMarkdown("rivulet bench streams", "")
	if !strings.Contains(md, "| failed |") || !strings.Contains(md, CaseStreamCount+"/"+SystemFranz+" failed") {
		t.Errorf("results section without the failed runs:\n%s", md)
	}
}

// TestStreamsInputHelpers checks the pieces the expectations are built
// from against brute force: the windows a timestamp falls in, the user-id
// key scrambling, key ranks, and the stream-stream join's pairs.
func TestStreamsInputHelpers(t *testing.T) {
	for _, c := range []struct{ size, advance int64 }{{1000, 500}, {1000, 1000}, {10, 3}} {
		for ts := int64(0); ts < 3000; ts += 7 {
			var want []int64
			for s := int64(0); s <= ts; s += c.advance {
				if ts < s+c.size {
					want = append(want, s)
				}
			}
			if got := windowStarts(ts, c.size, c.advance); !slices.Equal(got, want) {
				t.Fatalf("windowStarts(%d, %d, %d) = %v, want %v", ts, c.size, c.advance, got, want)
			}
		}
	}
	for _, n := range []uint32{0, 1, 2, 12345, 1 << 31, 1<<32 - 1} {
		if got, ok := distinctID([]byte(distinctKey(n))); !ok || got != n {
			t.Errorf("distinctID(distinctKey(%d)) = %d, %v", n, got, ok)
		}
	}
	for _, bad := range []string{"", "u123", "x0000000001", "u99999999999"} {
		if _, ok := distinctID([]byte(bad)); ok {
			t.Errorf("distinctID(%q) accepted", bad)
		}
	}
	if r, ok := ssbRank([]byte(ssbKey(42)), 100); !ok || r != 42 {
		t.Errorf("ssbRank = %d, %v", r, ok)
	}
	if _, ok := ssbRank([]byte(ssbKey(42)), 40); ok {
		t.Error("ssbRank accepted a rank out of range")
	}
	d := &ssbData{records: 400, keys: 5, zipfS: 1.5, valueSize: 16, seed: 3}
	type pair struct{ l, r uint64 }
	want := map[pair]int{}
	var left, right []mainRecord
	_ = d.eachMain(func(r mainRecord) error { left = append(left, r); return nil })
	_ = d.eachRight(func(r mainRecord) error { right = append(right, r); return nil })
	for _, l := range left {
		for _, r := range right {
			if l.rank == r.rank && l.ts-r.ts <= 10 && r.ts-l.ts <= 10 {
				want[pair{l.id, r.id}]++
			}
		}
	}
	got := map[pair]int{}
	d.joinPairs(10, func(_ int, l, r uint64) { got[pair{l, r}]++ })
	if len(want) == 0 || !maps.Equal(got, want) {
		t.Fatalf("joinPairs: %d pairs, brute force %d", len(got), len(want))
	}
}
