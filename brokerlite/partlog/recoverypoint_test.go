package partlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestRecoveryPointKeepsDataAroundDamage: 4 zeroed bytes in an old, fsynced segment, then a
// crash. Recovery trusts what lies below the recovery point: every segment stays and is
// readable, the damaged batch answers ErrCorruptMessage (CORRUPT_MESSAGE) with an ERROR
// line, and the batches after it are still read.
func TestRecoveryPointKeepsDataAroundDamage(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	cfg := smallConfig()
	l := openLog(t, dir, cfg, clk)
	appendValues(t, l, clk, 150, 3, "value-of-some-length")
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	// A few more appends after the last fsync: the recovery point stays where it was.
	appendValues(t, l, clk, 3, 3, "tail")
	before := l.Segments()
	leo := l.LogEndOffset()
	if len(before) < 4 {
		t.Fatalf("%d segments; the test needs at least 4", len(before))
	}
	if rp := l.recoveryPoint.Load(); rp < before[2].BaseOffset {
		t.Fatalf("recovery point %d, want at least the third segment's base %d", rp, before[2].BaseOffset)
	}
	crash(t, l)

	// Damage the first batch of the second segment, inside its records.
	damaged := before[1].BaseOffset
	f, err := os.OpenFile(filepath.Join(dir, segmentName(damaged, logSuffix)), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0, 0, 0, 0}, batchHeaderSize+10); err != nil {
		t.Fatal(err)
	}
	f.Close()

	l, logs := openLogLogged(t, dir, cfg, clk)
	defer l.Close()
	after := l.Segments()
	if len(after) != len(before) || l.LogEndOffset() != leo {
		t.Fatalf("after recovery: %d segments ending at %d, want %d ending at %d\n%s", len(after), l.LogEndOffset(), len(before), leo, logs.String())
	}
	for i := range before {
		if after[i].BaseOffset != before[i].BaseOffset || after[i].Size != before[i].Size {
			t.Fatalf("segment %d changed: %+v, was %+v", i, after[i], before[i])
		}
	}
	if _, err := l.Read(damaged, 1<<20); !errors.Is(err, ErrCorruptMessage) || KafkaErrorCode(err) != 2 {
		t.Fatalf("read of the damaged batch: %v (code %d), want CORRUPT_MESSAGE", err, KafkaErrorCode(err))
	}
	if out := logs.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "corrupt batch") {
		t.Fatalf("no ERROR line about the damage:\n%s", out)
	}
	// A read ending just before the damage stops there; everything after it reads.
	rr, err := l.Read(0, 1<<20)
	if err != nil || len(rr.Records) == 0 {
		t.Fatalf("read of the first segment: %v", err)
	}
	recs := readAll(t, l, damaged+3) // the damaged batch holds 3 records
	if want := leo - damaged - 3; int64(len(recs)) != want {
		t.Fatalf("read %d records after the damaged batch, want %d", len(recs), want)
	}
}

// TestRecoveryPointBoundsTheRescan: a torn write past the recovery point is still cut, and
// a damaged recovery point file means a full rescan, not a failure.
func TestRecoveryPointBoundsTheRescan(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	l := openLog(t, dir, smallConfig(), clk)
	appendValues(t, l, clk, 40, 3, "value-of-some-length")
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	leo := l.LogEndOffset()
	last := l.Segments()[len(l.Segments())-1]
	crash(t, l)
	// A torn tail: half a batch appended to the active segment.
	half := mkBatch(t, batchOpt{baseOff: leo}, valueRecs(3, clk.Ms(), "torn")...)
	f, err := os.OpenFile(filepath.Join(dir, segmentName(last.BaseOffset, logSuffix)), os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(half[:len(half)/2])
	f.Close()
	l = openLog(t, dir, smallConfig(), clk)
	if l.LogEndOffset() != leo || len(readAll(t, l, 0)) != int(leo) {
		t.Fatalf("after cutting the torn tail: end %d, want %d", l.LogEndOffset(), leo)
	}
	crash(t, l)
	if err := os.WriteFile(filepath.Join(dir, recoveryPointFile), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, smallConfig(), clk)
	defer l.Close()
	if l.LogEndOffset() != leo || len(readAll(t, l, 0)) != int(leo) {
		t.Fatalf("after a damaged recovery point: end %d, want %d", l.LogEndOffset(), leo)
	}
}

// TestCloseWithFailedSnapshotStaysClean: when the producer snapshot cannot be written at
// Close (a full disk), the shutdown is still marked clean, so the next start is no
// recovery, and the producer state is rebuilt from the log.
func TestCloseWithFailedSnapshotStaysClean(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	l := openLog(t, dir, smallConfig(), clk)
	for i := 0; i < 5; i++ {
		if _, err := l.Append(mkBatch(t, batchOpt{pid: 7, seq: int32(3 * i)}, valueRecs(3, clk.Ms(), "v")...)); err != nil {
			t.Fatal(err)
		}
	}
	// A directory where the snapshot goes makes its write fail.
	snap := filepath.Join(dir, segmentName(l.LogEndOffset(), snapshotSuffix))
	if err := os.MkdirAll(filepath.Join(snap, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err == nil {
		t.Fatal("Close reported no error for a snapshot it could not write")
	}
	if _, err := os.Stat(filepath.Join(dir, cleanShutdownFile)); err != nil {
		t.Fatalf("no clean shutdown marker after a failed snapshot: %v", err)
	}
	os.RemoveAll(snap)
	l, logs := openLogLogged(t, dir, smallConfig(), clk)
	defer l.Close()
	if strings.Contains(logs.String(), "cutting the log") || strings.Contains(logs.String(), "unclean") {
		t.Fatalf("the start after a clean close recovered:\n%s", logs.String())
	}
	// The producer state was rebuilt: the next sequence is accepted, a replay is a duplicate.
	if _, err := l.Append(mkBatch(t, batchOpt{pid: 7, seq: 15}, valueRecs(3, clk.Ms(), "v")...)); err != nil {
		t.Fatalf("next sequence after the restart: %v", err)
	}
	if _, err := l.Append(mkBatch(t, batchOpt{pid: 7, seq: 12}, valueRecs(3, clk.Ms(), "v")...)); !errors.Is(err, ErrDuplicateSequence) {
		t.Fatalf("replayed sequence after the restart: %v, want a duplicate", err)
	}
}

// TestCleanerCheckpointUnreadableIsNotDamage: a cleaner checkpoint that cannot be read (here
// a directory in its place; in production, running out of file descriptors) is reported as
// a storage error that stops this cleaning, not as damage that restarts cleaning from the
// start.
func TestCleanerCheckpointUnreadableIsNotDamage(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	l, logs := openLogLogged(t, dir, compactConfig(), clk)
	defer l.Close()
	for i := 0; i < 40; i++ {
		if _, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte(fmt.Sprint(i % 3)), value: []byte("value-value-value"), ts: clk.Ms()})); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, cleanerCheckpointFile, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := l.Compact(context.Background(), CleanerOptions{Force: true})
	if !errors.Is(err, ErrStorage) {
		t.Fatalf("Compact with an unreadable checkpoint: %v, want a storage error", err)
	}
	if strings.Contains(logs.String(), "damaged") {
		t.Fatalf("an unreadable checkpoint was reported as damage:\n%s", logs.String())
	}
}

// TestIndexRebuildLogged: a closed segment whose index files are gone has them rebuilt from
// its log when first used, with a log line saying so.
func TestIndexRebuildLogged(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	l := openLog(t, dir, smallConfig(), clk)
	appendValues(t, l, clk, 60, 3, "value-of-some-length")
	segs := l.Segments()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suf := range []string{indexSuffix, timeIndexSuffix} {
		if err := os.Remove(filepath.Join(dir, segmentName(segs[0].BaseOffset, suf))); err != nil {
			t.Fatal(err)
		}
	}
	l, logs := openLogLogged(t, dir, smallConfig(), clk)
	defer l.Close()
	if got := readAll(t, l, 0); len(got) != 180 {
		t.Fatalf("read %d records, want 180", len(got))
	}
	if !strings.Contains(logs.String(), "rebuilt a segment's indexes") {
		t.Fatalf("no log line about the index rebuild:\n%s", logs.String())
	}
}

// An aborted transaction in a segment below the recovery point stays aborted
// after a crash: its records must not reach read_committed readers, whose
// aborted list comes from the trusted segments' transaction indexes.
func TestCrashKeepsAbortedTransactionsBelowRecoveryPoint(t *testing.T) {
	w := newTxnWriter(t, t.TempDir(), txnCleanConfig())
	w.data(-1, false, w.kv("a", "plain"))
	w.data(7, true, w.kv("a", "aborted-1"), w.kv("b", "aborted-2"))
	w.end(7, false)
	w.data(7, true, w.kv("c", "committed"))
	w.end(7, true)
	w.roll()
	w.data(8, true, w.kv("d", "aborted-later"))
	w.end(8, false)
	w.roll()
	w.data(-1, false, w.kv("e", "tail"))
	if err := w.l.Sync(); err != nil {
		t.Fatal(err)
	}
	want := committedView(t, w.l)
	aborted := w.l.AbortedTransactions(0, w.l.LogEndOffset())
	if len(aborted) != 2 {
		t.Fatalf("aborted transactions before the crash = %+v, want 2", aborted)
	}
	w.reopen(true)
	if rp := w.l.recoveryPoint.Load(); rp <= aborted[1].LastOffset {
		t.Fatalf("recovery point %d does not cover the aborted transactions %+v", rp, aborted)
	}
	if got := committedView(t, w.l); !reflect.DeepEqual(got, want) {
		t.Fatalf("read_committed after a crash:\n got %+v\nwant %+v", got, want)
	}
	if got := w.l.AbortedTransactions(0, w.l.LogEndOffset()); !reflect.DeepEqual(got, aborted) {
		t.Fatalf("aborted transactions after a crash = %+v, want %+v", got, aborted)
	}
}
