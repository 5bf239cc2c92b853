package harness

import (
	"testing"
	"time"
)

// TestRunWordCountSmall runs both word counts on a small text: each must
// reach the true count of every word (the watcher checks each word against
// the corpus's own count) and report a throughput.
func TestRunWordCountSmall(t *testing.T) {
	res, _ := runSuite(t, 3*time.Minute, RunWordCount, WordCountConfig{
		Corpus:     CorpusConfig{Words: 20000, Vocabulary: 500},
		Partitions: 2, Threads: 1, CommitInterval: 200 * time.Millisecond,
		Timeout: 2 * time.Minute, Dir: t.TempDir(),
	})
	if len(res.Runs) != 2 || len(res.Rows) != 1 {
		t.Fatalf("runs %+v rows %+v", res.Runs, res.Rows)
	}
	for _, r := range res.Runs {
		if r.Words != 20000 || r.Elapsed <= 0 || r.OutputRecords == 0 || r.OverCounts != 0 {
			t.Errorf("run %+v", r)
		}
		t.Logf("%s: %v, %.0f words/s, first output after %v, %d output records", r.System, r.Elapsed, r.WordsPerSecond(), r.FirstOutput, r.OutputRecords)
	}
}
