package partlog

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func compactConfig() Config {
	c := smallConfig()
	c.CleanupPolicy = CleanupCompact
	c.SegmentBytes = 2048
	return c
}

// model tracks what a compacted log must still hold: every record written
// per key (offset order) with its value (nil for a tombstone).
type model struct {
	hist map[string][]int64
	vals map[int64][]byte
}

func newModel() *model {
	return &model{hist: map[string][]int64{}, vals: map[int64][]byte{}}
}

func (m *model) add(key string, off int64, val []byte) {
	m.hist[key] = append(m.hist[key], off)
	m.vals[off] = val
}

// newestBelow returns the key's newest offset below end, or -1.
func (m *model) newestBelow(key string, end int64) int64 {
	h := m.hist[key]
	for i := len(h) - 1; i >= 0; i-- {
		if h[i] < end {
			return h[i]
		}
	}
	return -1
}

// checkCompacted reads the whole log and checks it against a cleaning whose
// key map covered offsets below cleanedEnd: offsets strictly increase; each
// surviving record has its written value; below cleanedEnd a record survives
// only if it was its key's newest below cleanedEnd; every key's newest
// record below cleanedEnd survives (tombstones unless dropTombstones); at or
// after cleanedEnd nothing was removed.
func checkCompacted(t *testing.T, l *Log, m *model, cleanedEnd int64, dropTombstones bool) {
	t.Helper()
	got := readAll(t, l, l.LogStartOffset())
	seen := map[int64]bool{}
	prev := int64(-1)
	for _, r := range got {
		if r.Offset <= prev {
			t.Fatalf("offsets not increasing: %d after %d", r.Offset, prev)
		}
		prev = r.Offset
		want, ok := m.vals[r.Offset]
		if !ok || (want == nil) != (r.Value == nil) || string(want) != string(r.Value) {
			t.Fatalf("record at %d: value %q, want %q (known %v)", r.Offset, r.Value, want, ok)
		}
		k := string(r.Key)
		if r.Offset < cleanedEnd && m.newestBelow(k, cleanedEnd) != r.Offset {
			t.Fatalf("key %s: stale record at %d survived cleaning (newest below %d is %d)", k, r.Offset, cleanedEnd, m.newestBelow(k, cleanedEnd))
		}
		seen[r.Offset] = true
	}
	for k, h := range m.hist {
		for _, off := range h {
			if off < l.LogStartOffset() || seen[off] {
				continue
			}
			if off >= cleanedEnd {
				t.Fatalf("key %s: record at %d above the cleaned range is missing", k, off)
			}
			if off == m.newestBelow(k, cleanedEnd) && !(m.vals[off] == nil && dropTombstones) {
				t.Fatalf("key %s: newest record at %d is missing", k, off)
			}
		}
	}
}

func TestCompactionBasic(t *testing.T) {
	for _, codec := range []int8{codecNone, codecGzip, codecSnappy, codecLZ4, codecZstd} {
		t.Run(fmt.Sprintf("codec%d", codec), func(t *testing.T) {
			clk := newClock()
			l := tempLog(t, compactConfig(), clk)
			m := newModel()
			rng := rand.New(rand.NewSource(int64(codec)))
			for i := 0; i < 300; i++ {
				var recs []rec
				for j := 0; j < 4; j++ {
					k := fmt.Sprintf("key%02d", rng.Intn(20))
					v := fmt.Sprintf("val-%d-%d", i, j)
					r := rec{key: []byte(k), value: []byte(v), ts: clk.Ms()}
					if rng.Intn(10) == 0 {
						r.value = nil
					}
					recs = append(recs, r)
				}
				res, err := l.Append(mkBatch(t, batchOpt{codec: codec}, recs...))
				if err != nil {
					t.Fatal(err)
				}
				for j, r := range recs {
					m.add(string(r.key), res.BaseOffset+int64(j), r.value)
				}
			}
			before := l.Size()
			st, err := l.Compact(context.Background(), CleanerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !st.Cleaned || st.SegmentsSwapped == 0 && st.BytesWritten == 0 {
				t.Fatalf("nothing cleaned: %+v", st)
			}
			if l.Size() >= before {
				t.Fatalf("size %d not below %d", l.Size(), before)
			}
			checkCompacted(t, l, m, st.EndOffset, false)
			// Tombstones survive until delete.retention.ms has passed...
			clk.Add(2 * 24 * time.Hour)
			st2, err := l.Compact(context.Background(), CleanerOptions{Force: true})
			if err != nil {
				t.Fatal(err)
			}
			checkCompacted(t, l, m, st2.EndOffset, true)
			for _, r := range readAll(t, l, l.LogStartOffset()) {
				if r.Value == nil && r.Offset < st.EndOffset {
					t.Fatalf("tombstone at %d survived delete.retention.ms", r.Offset)
				}
			}
			// The log still takes appends and reopens the same.
			if _, err := l.Append(mkBatch(t, batchOpt{codec: codec}, rec{key: []byte("new"), value: []byte("x"), ts: clk.Ms()})); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCompactionKeepsActiveAndRespectsLag(t *testing.T) {
	clk := newClock()
	cfg := compactConfig()
	cfg.MinCompactionLagMs = int64(time.Hour / time.Millisecond)
	l := tempLog(t, cfg, clk)
	for i := 0; i < 200; i++ {
		if _, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte("k"), value: []byte(fmt.Sprint(i)), ts: clk.Ms()})); err != nil {
			t.Fatal(err)
		}
	}
	st, err := l.Compact(context.Background(), CleanerOptions{Force: true})
	if err != nil || st.Cleaned {
		t.Fatalf("cleaned inside min.compaction.lag.ms: %+v %v", st, err)
	}
	clk.Add(2 * time.Hour)
	activeBase := l.Segments()[l.NumSegments()-1].BaseOffset
	st, err = l.Compact(context.Background(), CleanerOptions{})
	if err != nil || !st.Cleaned {
		t.Fatalf("not cleaned after the lag: %+v %v", st, err)
	}
	if st.EndOffset != activeBase {
		t.Fatalf("cleaned up to %d, active segment starts at %d", st.EndOffset, activeBase)
	}
	// The active segment is untouched: every record in it is still there.
	got := readAll(t, l, activeBase)
	if int64(len(got)) != l.LogEndOffset()-activeBase {
		t.Fatalf("active segment lost records: %d of %d", len(got), l.LogEndOffset()-activeBase)
	}
	// Below the active segment only the newest "k" below it remains.
	all := readAll(t, l, 0)
	if all[0].Offset != activeBase-1 || all[1].Offset != activeBase {
		t.Fatalf("after cleaning the log starts %d, %d; want %d, %d", all[0].Offset, all[1].Offset, activeBase-1, activeBase)
	}
	// Dirty ratio: nothing dirty now, so an unforced clean does nothing.
	if st, err := l.Compact(context.Background(), CleanerOptions{}); err != nil || st.Cleaned {
		t.Fatalf("clean with nothing dirty: %+v %v", st, err)
	}
}

func TestCompactionDirtyRatio(t *testing.T) {
	clk := newClock()
	cfg := compactConfig()
	cfg.MinCleanableDirtyRatio = 0.9
	l := tempLog(t, cfg, clk)
	for i := 0; i < 100; i++ {
		if _, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte(fmt.Sprint(i % 10)), value: []byte("v"), ts: clk.Ms()})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Compact(context.Background(), CleanerOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	// Add a little dirty data: ratio well below 0.9.
	for i := 0; i < 30; i++ {
		if _, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte(fmt.Sprint(i % 10)), value: []byte("w"), ts: clk.Ms()})); err != nil {
			t.Fatal(err)
		}
	}
	if r := l.DirtyRatio(); r >= 0.9 {
		t.Fatalf("setup: dirty ratio %v, want < 0.9 for this test", r)
	}
	if st, err := l.Compact(context.Background(), CleanerOptions{}); err != nil || st.Cleaned {
		t.Fatalf("cleaned below min.cleanable.dirty.ratio: %+v %v", st, err)
	}
	// max.compaction.lag.ms forces it.
	cfg.MaxCompactionLagMs = 1000
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	if st, err := l.Compact(context.Background(), CleanerOptions{}); err != nil || !st.Cleaned {
		t.Fatalf("max.compaction.lag.ms did not force cleaning: %+v %v", st, err)
	}
}

func TestCompactedTopicRejectsKeyless(t *testing.T) {
	l := tempLog(t, compactConfig(), nil)
	for _, codec := range []int8{codecNone, codecZstd} {
		b := mkBatch(t, batchOpt{codec: codec}, rec{key: []byte("a"), value: []byte("1")}, rec{value: []byte("2")})
		if _, err := l.Append(b); !errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("codec %d: keyless record on compacted topic: %v", codec, err)
		}
	}
	if l.LogEndOffset() != 0 {
		t.Fatal("rejected batch was appended")
	}
}

func TestCompactionKeepsProducerState(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	l := openLog(t, dir, compactConfig(), clk)
	// Producer 5 writes key "p" once; everything of it is superseded later
	// by a plain producer, so its batch empties during cleaning.
	if _, err := l.Append(mkBatch(t, batchOpt{pid: 5, seq: 0}, rec{key: []byte("p"), value: []byte("old"), ts: clk.Ms()})); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if _, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte("p"), value: []byte(fmt.Sprint(i)), ts: clk.Ms()})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Compact(context.Background(), CleanerOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	rr, err := l.Read(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	hs := batchHeaders(t, rr.Records)
	if hs[0].ProducerID != 5 || hs[0].NumRecords != 0 || hs[0].BaseSequence != 0 {
		t.Fatalf("producer's last batch not kept as an empty batch: %+v", hs[0])
	}
	crash(t, l)
	l = openLog(t, dir, compactConfig(), clk)
	defer l.Close()
	if _, err := l.Append(mkBatch(t, batchOpt{pid: 5, seq: 0}, rec{key: []byte("p"), value: []byte("old"), ts: clk.Ms()})); !errors.Is(err, ErrDuplicateSequence) {
		t.Fatalf("sequence state lost by compaction: %v", err)
	}
	if _, err := l.Append(mkBatch(t, batchOpt{pid: 5, seq: 1}, rec{key: []byte("p"), value: []byte("new"), ts: clk.Ms()})); err != nil {
		t.Fatalf("next sequence after compaction: %v", err)
	}
}

// TestCompactionSwapCrash stops the swap at each step, as a crash would,
// reopens, and checks the log is whole: either the old or the cleaned
// segments, never a mix with missing or duplicated offsets.
func TestCompactionSwapCrash(t *testing.T) {
	for _, step := range []string{"cleaned", "swap", "deleted"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			clk := newClock()
			hooks := &testHooks{}
			opts := testOpts(clk)
			opts.hooks = hooks
			l, err := Open(dir, compactConfig(), opts)
			if err != nil {
				t.Fatal(err)
			}
			m := newModel()
			for i := 0; i < 400; i++ {
				k := fmt.Sprintf("k%d", i%15)
				v := fmt.Sprint(i)
				res, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte(k), value: []byte(v), ts: clk.Ms()}))
				if err != nil {
					t.Fatal(err)
				}
				m.add(k, res.BaseOffset, []byte(v))
			}
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			leo := l.LogEndOffset()
			crashErr := errors.New("crash")
			hooks.cleanerStep = func(s string) error {
				if s == step {
					return crashErr
				}
				return nil
			}
			if _, err := l.Compact(context.Background(), CleanerOptions{Force: true}); !errors.Is(err, crashErr) {
				t.Fatalf("compact: %v", err)
			}
			crash(t, l)
			names := dirNames(t, dir)
			switch step {
			case "cleaned":
				if !strings.Contains(names, ".cleaned") {
					t.Fatalf("no .cleaned file left: %s", names)
				}
			case "swap", "deleted":
				if !strings.Contains(names, ".swap") {
					t.Fatalf("no .swap file left: %s", names)
				}
			}
			l = openLog(t, dir, compactConfig(), clk)
			defer l.Close()
			if l.LogEndOffset() != leo {
				t.Fatalf("end offset %d after recovery, want %d", l.LogEndOffset(), leo)
			}
			names = dirNames(t, dir)
			if strings.Contains(names, ".swap") || strings.Contains(names, ".cleaned") || strings.Contains(names, ".deleted") {
				t.Fatalf("leftover files: %s", names)
			}
			checkWhole(t, l, m)
			// And it cleans fine afterwards.
			st, err := l.Compact(context.Background(), CleanerOptions{Force: true})
			if err != nil {
				t.Fatal(err)
			}
			checkCompacted(t, l, m, st.EndOffset, false)
		})
	}
}

// checkWhole checks a log that may be partly cleaned: offsets increase,
// every record has its written value, and every key's newest record is
// there.
func checkWhole(t *testing.T, l *Log, m *model) {
	t.Helper()
	seen := map[int64]bool{}
	prev := int64(-1)
	for _, r := range readAll(t, l, l.LogStartOffset()) {
		if r.Offset <= prev {
			t.Fatalf("offsets not increasing: %d after %d", r.Offset, prev)
		}
		prev = r.Offset
		if want, ok := m.vals[r.Offset]; !ok || string(want) != string(r.Value) {
			t.Fatalf("record at %d: value %q, want %q", r.Offset, r.Value, want)
		}
		seen[r.Offset] = true
	}
	for k, h := range m.hist {
		if !seen[h[len(h)-1]] {
			t.Fatalf("key %s: newest record at %d is missing", k, h[len(h)-1])
		}
	}
}

func dirNames(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// TestCompactionMillion compacts a million records over a few thousand
// keys. With -short it runs 100k records; CI runs the full version.
func TestCompactionMillion(t *testing.T) {
	total, keys := 1_000_000, 3000
	if testing.Short() {
		total = 100_000
	}
	clk := newClock()
	cfg := DefaultConfig()
	cfg.CleanupPolicy = CleanupCompact
	cfg.SegmentBytes = 8 << 20
	cfg.FileDeleteDelayMs = 0
	dir := t.TempDir()
	l := openLog(t, dir, cfg, clk)
	defer l.Close()
	start := time.Now()
	const perBatch = 500
	lastOff := make([]int64, keys)
	lastVal := make([]int, keys)
	rng := rand.New(rand.NewSource(1))
	recs := make([]rec, perBatch)
	var raw []byte
	for n := 0; n < total; n += perBatch {
		raw = raw[:0]
		for j := range recs {
			k := rng.Intn(keys)
			recs[j] = rec{key: []byte(fmt.Sprintf("key-%05d", k)), value: []byte(fmt.Sprintf("value-%09d", n+j)), ts: clk.Ms()}
		}
		codec := int8(codecNone)
		if (n/perBatch)%4 == 0 {
			codec = codecLZ4
		}
		res, err := l.Append(mkBatch(t, batchOpt{codec: codec}, recs...))
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range recs {
			var k int
			fmt.Sscanf(string(r.key), "key-%05d", &k)
			lastOff[k] = res.BaseOffset + int64(j)
			lastVal[k] = n + j
		}
	}
	if err := l.Roll(); err != nil { // make every record cleanable
		t.Fatal(err)
	}
	wrote := time.Since(start)
	before := l.Size()
	start = time.Now()
	st, err := l.Compact(context.Background(), CleanerOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records, %d keys: wrote in %v, compacted %d -> %d bytes in %v (%+v)", total, keys, wrote, before, l.Size(), time.Since(start), st)
	if st.RecordsRead != int64(total) {
		t.Fatalf("cleaner read %d records, want %d", st.RecordsRead, total)
	}
	got := readAll(t, l, 0)
	seen := 0
	for _, r := range got {
		var k int
		fmt.Sscanf(string(r.Key), "key-%05d", &k)
		if r.Offset != lastOff[k] {
			t.Fatalf("key %d: record at %d survived, newest is %d", k, r.Offset, lastOff[k])
		}
		if want := fmt.Sprintf("value-%09d", lastVal[k]); string(r.Value) != want {
			t.Fatalf("key %d: value %q, want %q", k, r.Value, want)
		}
		seen++
	}
	distinct := 0
	for _, o := range lastOff {
		if o != 0 || lastVal[0] == 0 {
			distinct++
		}
	}
	if seen != distinct {
		t.Fatalf("%d records survived, want one per key (%d)", seen, distinct)
	}
	_ = filepath.Join
}
