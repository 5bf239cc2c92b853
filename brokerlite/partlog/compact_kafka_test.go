package partlog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
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

// tombstones returns the offsets of the tombstones the log holds.
func tombstones(t *testing.T, l *Log) []int64 {
	t.Helper()
	var out []int64
	for _, r := range readAll(t, l, l.LogStartOffset()) {
		if r.Value == nil {
			out = append(out, r.Offset)
		}
	}
	return out
}

// A tombstone stays for delete.retention.ms from the first cleaning that
// keeps it, whatever the age of its segment: that cleaning writes the delete
// horizon into its batch (attribute bit 0x40, base timestamp = horizon,
// record timestamps unchanged) and a cleaning past the horizon removes it.
func TestCompactionTombstoneDeleteHorizon(t *testing.T) {
	clk := newClock()
	cfg := compactConfig()
	cfg.DeleteRetentionMs = 24 * 3600 * 1000
	l := tempLog(t, cfg, clk)
	written := clk.Ms()
	for _, v := range [][]byte{[]byte("v1"), nil} {
		if _, err := l.Append(mkBatch(t, batchOpt{codec: codecZstd}, rec{key: []byte("k"), value: v, ts: written})); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(48 * time.Hour) // the partition stays idle past delete.retention.ms
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte("other"), value: []byte("x"), ts: clk.Ms()})); err != nil {
		t.Fatal(err)
	}
	first := clk.Ms()
	st, err := l.Compact(context.Background(), CleanerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Cleaned || st.TombstonesDropped != 0 {
		t.Fatalf("first cleaning: %+v, want the tombstone kept", st)
	}
	if got := tombstones(t, l); len(got) != 1 || got[0] != 1 {
		t.Fatalf("tombstones after the first cleaning %v, want [1]", got)
	}
	rr, err := l.Read(1, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	h := batchHeaders(t, rr.Records)[0]
	if h.BaseOffset != 1 || h.Attributes&attrDeleteHorizon == 0 || h.BaseTimestamp != first+cfg.DeleteRetentionMs || h.compression() != codecZstd {
		t.Fatalf("tombstone batch after the first cleaning: %+v, want delete horizon %d, zstd", h, first+cfg.DeleteRetentionMs)
	}
	if r := decodeAll(t, rr.Records)[0]; r.Timestamp != written || r.Value != nil {
		t.Fatalf("tombstone record after the first cleaning: %+v, want timestamp %d", r, written)
	}

	// Before the horizon the tombstone stays, even when forced.
	clk.Add(23 * time.Hour)
	if st, err := l.Compact(context.Background(), CleanerOptions{Force: true}); err != nil || st.TombstonesDropped != 0 {
		t.Fatalf("cleaning before the horizon: %+v %v", st, err)
	}
	if got := tombstones(t, l); len(got) != 1 {
		t.Fatalf("tombstones before the horizon %v, want one", got)
	}
	// Once it has passed, the cleaner runs on its own (nothing is dirty)
	// and removes the tombstone.
	clk.Add(time.Hour)
	st, err = l.Compact(context.Background(), CleanerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Cleaned || st.TombstonesDropped != 1 {
		t.Fatalf("cleaning at the horizon: %+v, want the tombstone dropped", st)
	}
	if got := tombstones(t, l); len(got) != 0 {
		t.Fatalf("tombstones after the horizon %v, want none", got)
	}
}

// A tombstone with an old CreateTime (a replayed or migrated record) is kept
// by the cleaning right after it is written.
func TestCompactionTombstoneWithOldTimestampKept(t *testing.T) {
	clk := newClock()
	l := tempLog(t, compactConfig(), clk)
	old := clk.Ms() - 3*24*3600*1000
	for _, v := range [][]byte{[]byte("v1"), nil} {
		if _, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte("k"), value: v, ts: old})); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	st, err := l.Compact(context.Background(), CleanerOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.TombstonesDropped != 0 {
		t.Fatalf("tombstone written just now was dropped: %+v", st)
	}
	if got := tombstones(t, l); len(got) != 1 || got[0] != 1 {
		t.Fatalf("tombstones %v, want [1]", got)
	}
}

// noTsBatch is a batch of one record without a timestamp (-1).
func noTsBatch(t *testing.T, key, value string) []byte {
	return mkBatch(t, batchOpt{}, rec{key: []byte(key), value: []byte(value), ts: -1})
}

// A segment whose records carry no timestamp expires by retention.ms from
// when it was last written (the file's modification time once reopened),
// as in Kafka.
func TestRetentionOfSegmentsWithoutTimestamps(t *testing.T) {
	clk := newClock()
	cfg := smallConfig()
	cfg.RetentionMs = 1000
	dir := t.TempDir()
	l := openLog(t, dir, cfg, clk)
	for _, v := range []string{"v1", "v2"} {
		if _, err := l.Append(noTsBatch(t, "k", v)); err != nil {
			t.Fatal(err)
		}
		if err := l.Roll(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := l.DeleteOldSegments(); err != nil || n != 0 {
		t.Fatalf("deleted %d segments (%v) written just now", n, err)
	}
	clk.Add(time.Hour)
	if n, err := l.DeleteOldSegments(); err != nil || n != 2 || l.LogStartOffset() != 2 {
		t.Fatalf("deleted %d segments (%v), log start %d; want both segments gone", n, err, l.LogStartOffset())
	}

	// Reopened, a segment's last write time is its file's.
	if _, err := l.Append(noTsBatch(t, "k", "v3")); err != nil {
		t.Fatal(err)
	}
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(noTsBatch(t, "k", "v4")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	old := clk.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, segmentName(2, logSuffix)), old, old); err != nil {
		t.Fatal(err)
	}
	fresh := clk.Now()
	if err := os.Chtimes(filepath.Join(dir, segmentName(3, logSuffix)), fresh, fresh); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, cfg, clk)
	defer l.Close()
	if n, err := l.DeleteOldSegments(); err != nil || n != 1 || l.LogStartOffset() != 3 {
		t.Fatalf("after reopening: deleted %d segments (%v), log start %d; want the old file's segment gone", n, err, l.LogStartOffset())
	}
}

// min.compaction.lag.ms holds back a segment without timestamps until it
// was last written that long ago.
func TestMinCompactionLagOfSegmentsWithoutTimestamps(t *testing.T) {
	clk := newClock()
	cfg := compactConfig()
	cfg.MinCompactionLagMs = int64(time.Hour / time.Millisecond)
	l := tempLog(t, cfg, clk)
	for _, v := range []string{"v1", "v2"} {
		if _, err := l.Append(noTsBatch(t, "k", v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(noTsBatch(t, "x", "v")); err != nil {
		t.Fatal(err)
	}
	if st, err := l.Compact(context.Background(), CleanerOptions{Force: true}); err != nil || st.Cleaned {
		t.Fatalf("cleaned a segment written just now: %+v %v", st, err)
	}
	clk.Add(2 * time.Hour)
	st, err := l.Compact(context.Background(), CleanerOptions{Force: true})
	if err != nil || !st.Cleaned || st.RecordsRetained != 1 {
		t.Fatalf("after the lag: %+v %v, want one record kept", st, err)
	}
}

// emptyBatches returns the base offsets of the batches without records the
// log holds.
func emptyBatches(t *testing.T, l *Log) []int64 {
	t.Helper()
	var out []int64
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		rr, err := l.Read(off, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		hs := batchHeaders(t, rr.Records)
		for _, h := range hs {
			if h.NumRecords == 0 && h.BaseOffset >= off {
				out = append(out, h.BaseOffset)
			}
		}
		off = hs[len(hs)-1].lastOffset() + 1
	}
	return out
}

// A batch the cleaner left empty to end a cleaned segment goes once a later
// cleaning no longer needs it there: empty batches do not pile up.
func TestCompactionDropsEmptyBatchesNoLongerNeeded(t *testing.T) {
	clk := newClock()
	l := tempLog(t, compactConfig(), clk)
	put := func(k string) int64 {
		t.Helper()
		res, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte(k), value: bytes.Repeat([]byte("v"), 40), ts: clk.Ms()}))
		if err != nil {
			t.Fatal(err)
		}
		return res.BaseOffset
	}
	roll := func() {
		t.Helper()
		if err := l.Roll(); err != nil {
			t.Fatal(err)
		}
	}
	// Two segments too large to be cleaned as one group; the first ends
	// with "k", overwritten in the second.
	for i := range 14 {
		put(fmt.Sprintf("a%d", i))
	}
	endOfFirst := put("k")
	roll()
	put("k")
	for i := range 14 {
		put(fmt.Sprintf("b%d", i))
	}
	roll()
	put("z")
	if _, err := l.Compact(context.Background(), CleanerOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if got := emptyBatches(t, l); len(got) != 1 || got[0] != endOfFirst {
		t.Fatalf("empty batches after the first cleaning %v, want [%d] (the end of the first group)", got, endOfFirst)
	}
	// Overwrite the first segment's keys: it shrinks to its empty batch and
	// is cleaned in one group with the next, where that batch ends nothing.
	for i := range 14 {
		put(fmt.Sprintf("a%d", i))
	}
	roll()
	put("z")
	for range 3 {
		if _, err := l.Compact(context.Background(), CleanerOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	for _, off := range emptyBatches(t, l) {
		if off == endOfFirst {
			t.Fatalf("the empty batch at %d is still copied from cleaning to cleaning (segments %+v)", off, l.Segments())
		}
	}
}

// The cleaner runs when the dirty ratio is strictly greater than
// min.cleanable.dirty.ratio, as Kafka's: a fully dirty log (ratio 1) is not
// cleaned with the ratio set to 1.
func TestCompactionDirtyRatioMustBeExceeded(t *testing.T) {
	for _, tc := range []struct {
		ratio float64
		clean bool
	}{{1, false}, {0.99, true}} {
		clk := newClock()
		cfg := compactConfig()
		cfg.MinCleanableDirtyRatio = tc.ratio
		l := tempLog(t, cfg, clk)
		for _, v := range []string{"v1", "v2"} {
			if _, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte("k"), value: []byte(v), ts: clk.Ms()})); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Roll(); err != nil {
			t.Fatal(err)
		}
		if r := l.DirtyRatio(); r != 1 {
			t.Fatalf("dirty ratio %v, want 1", r)
		}
		st, err := l.Compact(context.Background(), CleanerOptions{})
		if err != nil || st.Cleaned != tc.clean {
			t.Fatalf("min.cleanable.dirty.ratio %v: %+v %v, want cleaned=%v", tc.ratio, st, err, tc.clean)
		}
	}
}

// A cleaner checkpoint past the log end (the log lost its tail in a crash
// after a cleaning) is not trusted: the log is dirty from its start, as
// Kafka resets the offset.
func TestCompactionCheckpointPastLogEndCleansFromStart(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	l := openLog(t, dir, compactConfig(), clk)
	for i := range 10 {
		if _, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte("k"), value: []byte(fmt.Sprint(i)), ts: clk.Ms()})); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte("x"), value: []byte("v"), ts: clk.Ms()})); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := writeOffsetCheckpoint(dir, cleanerCheckpointFile, 1000); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, compactConfig(), clk)
	defer l.Close()
	if r := l.DirtyRatio(); r != 1 {
		t.Fatalf("dirty ratio %v, want 1", r)
	}
	st, err := l.Compact(context.Background(), CleanerOptions{})
	if err != nil || !st.Cleaned || st.FirstDirtyOffset != 0 || st.RecordsRetained != 1 {
		t.Fatalf("cleaning: %+v %v, want a cleaning from offset 0 keeping one record", st, err)
	}
	if got := readAll(t, l, 0); len(got) != 2 || string(got[0].Value) != "9" {
		t.Fatalf("log after cleaning holds %d records, want k=9 and x", len(got))
	}
}

// min.compaction.lag.ms is checked against the dirty segments only, as in
// Kafka: a young segment that was cleaned already does not hold back an old
// dirty one after it.
func TestMinCompactionLagIgnoresCleanSegments(t *testing.T) {
	clk := newClock()
	cfg := compactConfig()
	l := tempLog(t, cfg, clk)
	put := func(k, v string, ts int64) {
		t.Helper()
		if _, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte(k), value: []byte(v), ts: ts})); err != nil {
			t.Fatal(err)
		}
	}
	// Records produced two hours ago, behind a young segment.
	old := clk.Ms() - 2*3600*1000
	put("a", "1", clk.Ms())
	put("a", "2", clk.Ms())
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	put("b", "1", old)
	st, err := l.Compact(context.Background(), CleanerOptions{Force: true})
	if err != nil || !st.Cleaned || st.EndOffset != 2 {
		t.Fatalf("first cleaning: %+v %v", st, err)
	}
	cfg.MinCompactionLagMs = int64(time.Hour / time.Millisecond)
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	put("b", "2", old)
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	put("y", "v", clk.Ms())
	st, err = l.Compact(context.Background(), CleanerOptions{Force: true})
	if err != nil || !st.Cleaned || st.EndOffset != 4 {
		t.Fatalf("second cleaning: %+v %v, want the old dirty segment cleaned up to 4", st, err)
	}
	for _, r := range readAll(t, l, 0) {
		if string(r.Key) == "b" && string(r.Value) != "2" {
			t.Fatalf("b=%s survived the cleaning", r.Value)
		}
	}
}

// Config ranges are Kafka's: segment.index.bytes from 4 (each append then
// gets a segment of its own, as both indexes are full after one append) and
// any negative retention.bytes meaning no limit.
func TestTinyIndexAndNegativeRetentionBytes(t *testing.T) {
	for _, kv := range []map[string]string{
		{"segment.index.bytes": "4"}, {"segment.index.bytes": "11"}, {"retention.bytes": "-2"},
		{"retention.bytes": "-9223372036854775808"},
	} {
		if _, err := ParseTopicConfig(kv); err != nil {
			t.Errorf("%v refused: %v", kv, err)
		}
	}
	if _, err := ParseTopicConfig(map[string]string{"segment.index.bytes": "3"}); err == nil {
		t.Error("segment.index.bytes=3 accepted")
	}
	for _, idx := range []int32{4, 8, 11} {
		clk := newClock()
		cfg := smallConfig()
		cfg.SegmentIndexBytes = idx
		cfg.RetentionBytes = -2
		cfg.RetentionMs = -1
		dir := t.TempDir()
		l := openLog(t, dir, cfg, clk)
		for i := range 5 {
			if _, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(3, clk.Ms(), fmt.Sprint(i))...)); err != nil {
				t.Fatal(err)
			}
		}
		if n := l.NumSegments(); n != 5 {
			t.Fatalf("segment.index.bytes=%d: %d segments, want one per append", idx, n)
		}
		if n, err := l.DeleteOldSegments(); err != nil || n != 0 {
			t.Fatalf("retention.bytes=-2 deleted %d segments (%v)", n, err)
		}
		for _, clean := range []bool{true, false} {
			stopLog(t, l, clean)
			l = openLog(t, dir, cfg, clk)
			if got := readAll(t, l, 0); len(got) != 15 || string(got[14].Value) != "42" {
				t.Fatalf("segment.index.bytes=%d, clean close %v: read %d records", idx, clean, len(got))
			}
			if off, _, ok, err := l.OffsetForTimestamp(clk.Ms()); err != nil || !ok || off != 0 {
				t.Fatalf("offset for timestamp: %d %v %v", off, ok, err)
			}
		}
		l.Close()
	}
}
