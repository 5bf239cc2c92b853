package partlog

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"
)

var txnCleanSeed = flag.Int64("txnclean.seed", 0, "seed of TestCompactionTransactionsDifferential (0: random)")

// cleanSeed is -txnclean.seed, or a fresh seed when it is 0; it logs how to replay.
func cleanSeed(t *testing.T) int64 {
	seed := *txnCleanSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (replay with -txnclean.seed=%d)", seed, seed)
	return seed
}

// dumpBatch is one stored batch as the tests look at it.
type dumpBatch struct {
	base, last int64
	pid        int64
	txn        bool
	control    bool
	ctype      int16 // ControlTypeAbort/ControlTypeCommit; -1 for data or an emptied marker
	horizon    int64 // delete horizon, -1 when none
	records    []record
}

// dumpLog returns every stored batch of l from its log start.
func dumpLog(t *testing.T, l *Log) []dumpBatch {
	t.Helper()
	var out []dumpBatch
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		rr, err := l.Read(off, 1<<20)
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		if len(rr.Records) == 0 {
			t.Fatalf("read at %d (end %d) returned nothing", off, l.LogEndOffset())
		}
		b := rr.Records
		for len(b) > 0 {
			h, size, err := checkStoredBatch(b)
			if err != nil {
				t.Fatal(err)
			}
			d := dumpBatch{base: h.BaseOffset, last: h.lastOffset(), pid: h.ProducerID, txn: h.isTxn(), control: h.isControl(), ctype: -1, horizon: -1}
			if h.Attributes&attrDeleteHorizon != 0 {
				d.horizon = h.BaseTimestamp
			}
			if h.isControl() && h.NumRecords > 0 {
				if d.ctype, err = controlType(&h, b[:size]); err != nil {
					t.Fatal(err)
				}
			}
			d.records = decodeAll(t, b[:size])
			if h.BaseOffset >= off {
				out = append(out, d)
			}
			off = h.lastOffset() + 1
			b = b[size:]
		}
	}
	return out
}

// markers returns the offsets of the transaction markers (with their
// record) of producer pid.
func markers(dump []dumpBatch, pid int64) []int64 {
	var out []int64
	for _, d := range dump {
		if d.control && d.pid == pid && d.ctype >= 0 {
			out = append(out, d.base)
		}
	}
	return out
}

// committedRec is a record a read_committed consumer delivers.
type committedRec struct {
	Offset     int64
	Key, Value string
	Tombstone  bool
}

// committedView reads l as a read_committed consumer does (Kafka's
// consumer, KIP-98): up to the last stable offset; before each batch with a
// producer id, the aborted transactions starting at or before the batch's
// last offset mark their producers aborted; an abort marker clears its
// producer; a transactional batch of an aborted producer is skipped.
func committedView(t *testing.T, l *Log) []committedRec {
	t.Helper()
	type abortedKey struct{ pid, first int64 }
	var pending []abortedKey // sorted by first offset
	seen := map[abortedKey]bool{}
	abortedPids := map[int64]bool{}
	var out []committedRec
	lso := l.LastStableOffset()
	for off := l.LogStartOffset(); off < lso; {
		rr, err := l.ReadCommitted(nil, off, 1<<20)
		if err != nil {
			t.Fatalf("read_committed at %d: %v", off, err)
		}
		if len(rr.Records) == 0 {
			t.Fatalf("read_committed at %d (LSO %d) returned nothing", off, lso)
		}
		for _, a := range rr.AbortedTransactions {
			k := abortedKey{a.ProducerID, a.FirstOffset}
			if !seen[k] {
				seen[k] = true
				pending = append(pending, k)
			}
		}
		sort.Slice(pending, func(i, j int) bool { return pending[i].first < pending[j].first })
		b := rr.Records
		for len(b) > 0 {
			h, size, err := checkStoredBatch(b)
			if err != nil {
				t.Fatal(err)
			}
			batch := b[:size]
			b = b[size:]
			if h.lastOffset() < off {
				continue
			}
			off = h.lastOffset() + 1
			pid := h.ProducerID
			if pid >= 0 {
				for len(pending) > 0 && pending[0].first <= h.lastOffset() {
					abortedPids[pending[0].pid] = true
					pending = pending[1:]
				}
			}
			if h.isControl() {
				if h.NumRecords > 0 {
					if typ, err := controlType(&h, batch); err == nil && typ == ControlTypeAbort {
						delete(abortedPids, pid)
					}
				}
				continue
			}
			if h.isTxn() && abortedPids[pid] {
				continue
			}
			for _, r := range decodeAll(t, batch) {
				out = append(out, committedRec{Offset: r.Offset, Key: string(r.Key), Value: string(r.Value), Tombstone: r.Value == nil})
			}
		}
	}
	return out
}

// latestByKey returns the last record of every key in a committed view.
func latestByKey(view []committedRec) map[string]committedRec {
	out := map[string]committedRec{}
	for _, r := range view {
		out[r.Key] = r
	}
	return out
}

// checkCompactedView checks a committed view after compaction against the
// one before: nothing new or changed appears, and every key's latest record
// is still there (a tombstone may have gone).
func checkCompactedView(t *testing.T, seed int64, before, after []committedRec) {
	t.Helper()
	all := map[int64]committedRec{}
	for _, r := range before {
		all[r.Offset] = r
	}
	for _, r := range after {
		if b, ok := all[r.Offset]; !ok || b != r {
			t.Fatalf("seed %d: after compaction read_committed returns %+v, which it did not return before", seed, r)
		}
	}
	la := latestByKey(after)
	for k, r := range latestByKey(before) {
		got, ok := la[k]
		if !ok && r.Tombstone {
			continue
		}
		if !ok || got != r {
			t.Fatalf("seed %d: key %q: latest committed record after compaction is %+v (present %v), want %+v", seed, k, got, ok, r)
		}
	}
	for k, r := range la {
		if _, ok := latestByKey(before)[k]; !ok {
			t.Fatalf("seed %d: key %q appears only after compaction: %+v", seed, k, r)
		}
	}
}

// txnWriter appends transactional and plain batches to a log for tests.
type txnWriter struct {
	t   *testing.T
	l   *Log
	clk *fakeClock
	seq map[int64]int32
}

func (w *txnWriter) kv(k, v string) rec {
	r := rec{key: []byte(k), ts: w.clk.Ms()}
	if v != "" {
		r.value = []byte(v)
	}
	return r
}

func (w *txnWriter) append(b []byte, o Origin) {
	w.t.Helper()
	if _, err := w.l.AppendWith(b, AppendOptions{Origin: o}); err != nil {
		w.t.Fatal(err)
	}
}

// data appends a batch of producer pid (transactional when txn), or a
// plain batch for pid < 0.
func (w *txnWriter) data(pid int64, txn bool, recs ...rec) {
	w.t.Helper()
	if pid < 0 {
		w.append(mkBatch(w.t, batchOpt{}, recs...), OriginClient)
		return
	}
	w.append(mkBatch(w.t, batchOpt{pid: pid, seq: w.seq[pid], txn: txn}, recs...), OriginClient)
	w.seq[pid] += int32(len(recs))
}

func (w *txnWriter) end(pid int64, commit bool) {
	w.t.Helper()
	w.append(EncodeMarker(pid, 0, commit, 0, w.clk.Ms()), OriginCoordinator)
}

func (w *txnWriter) roll() {
	w.t.Helper()
	if err := w.l.Roll(); err != nil {
		w.t.Fatal(err)
	}
}

func (w *txnWriter) compact(force bool) CleanStats {
	w.t.Helper()
	st, err := w.l.Compact(context.Background(), CleanerOptions{Force: force})
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

func txnCleanConfig() Config {
	c := compactConfig()
	c.DeleteRetentionMs = 1000
	return c
}

func newTxnWriter(t *testing.T, dir string, cfg Config) *txnWriter {
	clk := newClock()
	l := openLog(t, dir, cfg, clk)
	t.Cleanup(func() { _ = l.Close() })
	return &txnWriter{t: t, l: l, clk: clk, seq: map[int64]int32{}}
}

// reopen closes the log and opens it again, after a clean shutdown or, with
// crash set, as after a crash (segments below the recovery point trusted,
// the rest replayed and their indexes rebuilt).
func (w *txnWriter) reopen(crash bool) {
	w.t.Helper()
	dir := w.l.dir
	cfg := *w.l.cfg.Load()
	if err := w.l.Close(); err != nil {
		w.t.Fatal(err)
	}
	if crash {
		if err := os.Remove(filepath.Join(dir, cleanShutdownFile)); err != nil {
			w.t.Fatal(err)
		}
	}
	l, err := Open(dir, cfg, testOpts(w.clk))
	if err != nil {
		w.t.Fatal(err)
	}
	w.l = l
	w.t.Cleanup(func() { _ = l.Close() })
}

func TestCompactionRemovesAbortMarkerAfterHorizon(t *testing.T) {
	dir := t.TempDir()
	w := newTxnWriter(t, dir, txnCleanConfig())
	w.data(-1, false, w.kv("a", "a-plain"))
	w.data(6, true, w.kv("a", "a-aborted"), w.kv("c", "c-aborted"))
	w.end(6, false) // offset 3
	w.data(6, true, w.kv("z", "z-committed"))
	w.end(6, true)
	w.roll()
	w.data(-1, false, w.kv("filler", "x"))
	before := committedView(t, w.l)
	if got := markers(dumpLog(t, w.l), 6); !reflect.DeepEqual(got, []int64{3, 5}) {
		t.Fatalf("markers of producer 6 before compaction = %v, want [3 5]", got)
	}

	// First pass: the aborted records go, the marker stays with a horizon,
	// and the aborted transaction leaves the index.
	if st := w.compact(true); st.MarkersRemoved != 0 {
		t.Fatalf("first pass removed %d markers, want 0", st.MarkersRemoved)
	}
	dump := dumpLog(t, w.l)
	for _, d := range dump {
		for _, r := range d.records {
			if v := string(r.Value); v == "a-aborted" || v == "c-aborted" {
				t.Fatalf("aborted record %q survived compaction", v)
			}
		}
		if d.control && d.base == 3 && d.horizon != w.clk.Ms()+1000 {
			t.Fatalf("abort marker's delete horizon = %d, want %d", d.horizon, w.clk.Ms()+1000)
		}
		if d.control && d.base == 5 && d.horizon != -1 {
			t.Fatalf("commit marker of a transaction with live records got a horizon")
		}
	}
	if got := markers(dump, 6); !reflect.DeepEqual(got, []int64{3, 5}) {
		t.Fatalf("markers after the first pass = %v, want [3 5] (kept until the horizon)", got)
	}
	if got := w.l.AbortedTransactions(0, w.l.LogEndOffset()); len(got) != 0 {
		t.Fatalf("aborted transactions with no record left are still indexed: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, segmentName(0, txnIndexSuffix))); !os.IsNotExist(err) {
		t.Fatalf("the cleaned segment's .txnindex still exists: %v", err)
	}
	checkCompactedView(t, 0, before, committedView(t, w.l))

	// Before the horizon nothing more goes, forced or not.
	w.clk.Add(999 * time.Millisecond)
	if st := w.compact(true); st.MarkersRemoved != 0 {
		t.Fatalf("pass before the horizon removed %d markers", st.MarkersRemoved)
	}
	if st := w.compact(false); st.Cleaned {
		t.Fatalf("the cleaner ran with nothing dirty and no marker due: %+v", st)
	}
	// At the horizon the cleaner runs on its own (nothing is dirty) and
	// removes the abort marker; the commit marker stays.
	w.clk.Add(time.Millisecond)
	st := w.compact(false)
	if !st.Cleaned || st.MarkersRemoved != 1 {
		t.Fatalf("pass at the horizon: %+v, want cleaned with 1 marker removed", st)
	}
	if got := markers(dumpLog(t, w.l), 6); !reflect.DeepEqual(got, []int64{5}) {
		t.Fatalf("markers after the horizon = %v, want [5]", got)
	}
	after := committedView(t, w.l)
	checkCompactedView(t, 0, before, after)
	lso := w.l.LastStableOffset()
	for _, crash := range []bool{false, true} {
		w.reopen(crash)
		if got := committedView(t, w.l); !reflect.DeepEqual(got, after) {
			t.Fatalf("reopen (crash %v): committed view %+v, want %+v", crash, got, after)
		}
		if got := w.l.LastStableOffset(); got != lso {
			t.Fatalf("reopen (crash %v): LSO %d, want %d", crash, got, lso)
		}
		if got := w.l.AbortedTransactions(0, w.l.LogEndOffset()); len(got) != 0 {
			t.Fatalf("reopen (crash %v): aborted transactions %+v, want none", crash, got)
		}
	}
}

func TestCompactionRemovesCommitMarkerOfOverwrittenTransaction(t *testing.T) {
	w := newTxnWriter(t, t.TempDir(), txnCleanConfig())
	w.data(5, true, w.kv("b", "b-committed"), w.kv("c", "c-committed"))
	w.end(5, true) // offset 2
	// Producer 8's transaction keeps a live record: its marker stays.
	w.data(8, true, w.kv("d", "d-committed"))
	w.end(8, true) // offset 4
	w.data(8, false, w.kv("e", "e-idempotent"))
	w.data(5, true, w.kv("y", "y-committed"))
	w.end(5, true) // offset 7
	w.data(-1, false, w.kv("b", "b-new"), w.kv("c", "c-new"))
	w.roll()
	w.data(-1, false, w.kv("filler", "x"))
	before := committedView(t, w.l)

	w.compact(true)
	dump := dumpLog(t, w.l)
	if got := markers(dump, 5); !reflect.DeepEqual(got, []int64{2, 7}) {
		t.Fatalf("producer 5's markers after the first pass = %v, want [2 7]", got)
	}
	w.clk.Add(1001 * time.Millisecond)
	if st := w.compact(false); st.MarkersRemoved != 1 {
		t.Fatalf("pass after the horizon removed %d markers, want 1", st.MarkersRemoved)
	}
	dump = dumpLog(t, w.l)
	if got := markers(dump, 5); !reflect.DeepEqual(got, []int64{7}) {
		t.Fatalf("producer 5's markers after the horizon = %v, want [7] (its last transaction keeps records)", got)
	}
	if got := markers(dump, 8); !reflect.DeepEqual(got, []int64{4}) {
		t.Fatalf("producer 8's markers = %v, want [4] (its record d is live)", got)
	}
	for i := 0; i < 3; i++ {
		w.clk.Add(time.Hour)
		w.compact(true)
	}
	dump = dumpLog(t, w.l)
	if got := markers(dump, 8); !reflect.DeepEqual(got, []int64{4}) {
		t.Fatalf("producer 8's markers after more passes = %v, want [4]", got)
	}
	after := committedView(t, w.l)
	checkCompactedView(t, 0, before, after)
	w.reopen(true)
	if got := committedView(t, w.l); !reflect.DeepEqual(got, after) {
		t.Fatalf("after a crash: committed view %+v, want %+v", got, after)
	}
	if got := w.l.OngoingTransactions(); len(got) != 0 {
		t.Fatalf("after a crash: ongoing transactions %+v, want none", got)
	}
}

// A transaction whose last batch is also its producer's last data batch
// keeps that batch (emptied) for the producer's sequence state, so its
// marker stays too, as in Kafka; an open transaction is not touched.
func TestCompactionKeepsMarkersOfProducersLastBatchAndOpenTransactions(t *testing.T) {
	w := newTxnWriter(t, t.TempDir(), txnCleanConfig())
	w.data(5, true, w.kv("b", "b-committed"))
	w.end(5, true) // offset 1
	w.data(9, true, w.kv("q", "q-aborted"))
	w.end(9, false) // offset 3
	w.data(-1, false, w.kv("b", "b-new"))
	w.roll()
	w.data(7, true, w.kv("o", "o-open"))
	w.roll()
	w.data(-1, false, w.kv("filler", "x"))
	lso := w.l.LastStableOffset()
	if lso != 5 {
		t.Fatalf("LSO = %d, want 5", lso)
	}
	for i := 0; i < 3; i++ {
		w.compact(true)
		w.clk.Add(time.Hour)
	}
	dump := dumpLog(t, w.l)
	if got := markers(dump, 5); !reflect.DeepEqual(got, []int64{1}) {
		t.Fatalf("producer 5's markers = %v, want [1]", got)
	}
	if got := markers(dump, 9); !reflect.DeepEqual(got, []int64{3}) {
		t.Fatalf("producer 9's markers = %v, want [3]", got)
	}
	open := false
	for _, d := range dump {
		for _, r := range d.records {
			if string(r.Value) == "o-open" && d.pid == 7 && d.txn {
				open = true
			}
		}
	}
	if !open || w.l.LastStableOffset() != lso {
		t.Fatalf("open transaction: record kept %v, LSO %d; want true, %d", open, w.l.LastStableOffset(), lso)
	}
	if got := w.l.OngoingTransactions(); len(got) != 1 || got[0].ProducerID != 7 || got[0].CurrentTxnStartOffset != 5 {
		t.Fatalf("ongoing transactions = %+v, want producer 7 from 5", got)
	}
}

// TestCompactionTransactionsDifferential writes a random sequence of
// transactional (committed, aborted, left open) and plain writes, then
// compacts repeatedly while the clock passes delete.retention.ms, checking
// each time that read_committed returns the committed view the log had
// before compaction (nothing aborted appears, every key's latest committed
// record stays), that the last stable offset and open transactions are
// untouched, and, at the end, that no marker is left whose transaction has
// no batch left, and that a reopened log (clean and after a crash) reads
// the same. Replay a failure with -txnclean.seed=N.
func TestCompactionTransactionsDifferential(t *testing.T) {
	seed := cleanSeed(t)
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	var removed int64
	for round := 0; round < rounds; round++ {
		// Each round prints its own seed on failure; -txnclean.seed=N with
		// that seed replays it as the first round.
		removed += runTxnCleanDifferential(t, seed+int64(round))
	}
	t.Logf("%d markers removed in %d rounds", removed, rounds)
}

// writeRandomTxns opens a log with random small segments and writes a
// random sequence of plain batches and transactions of four producers
// (committed, aborted, some left open), rolling now and then.
func writeRandomTxns(t *testing.T, rng *rand.Rand) *txnWriter {
	cfg := txnCleanConfig()
	cfg.SegmentBytes = int32(600 + rng.Intn(1500))
	w := newTxnWriter(t, t.TempDir(), cfg)
	const producers = 4
	open := map[int64]bool{}
	key := func() string { return fmt.Sprintf("k%d", rng.Intn(12)) }
	n := 0
	val := func() string {
		n++
		if rng.Intn(10) == 0 {
			return "" // tombstone
		}
		return fmt.Sprintf("v%d", n)
	}
	ops := 60 + rng.Intn(120)
	for i := 0; i < ops; i++ {
		pid := int64(100 + rng.Intn(producers))
		switch r := rng.Intn(10); {
		case r < 2:
			w.data(-1, false, w.kv(key(), val()))
		case r < 7:
			recs := make([]rec, 1+rng.Intn(3))
			for j := range recs {
				recs[j] = w.kv(key(), val())
			}
			w.data(pid, true, recs...)
			open[pid] = true
		case r < 9:
			if open[pid] {
				w.end(pid, rng.Intn(3) > 0)
				open[pid] = false
			}
		default:
			w.roll()
		}
		if rng.Intn(8) == 0 {
			w.clk.Add(time.Duration(rng.Intn(400)) * time.Millisecond)
		}
	}
	w.roll()
	w.data(-1, false, w.kv("filler", "x"))
	return w
}

// runTxnCleanDifferential runs one random sequence and returns the number
// of markers compaction removed.
func runTxnCleanDifferential(t *testing.T, seed int64) int64 {
	rng := rand.New(rand.NewSource(seed))
	w := writeRandomTxns(t, rng)
	before := committedView(t, w.l)
	lso := w.l.LastStableOffset()
	ongoing := w.l.OngoingTransactions()
	var removed int64
	compact := func(force bool) { removed += w.compact(force).MarkersRemoved }
	for pass := 0; pass < 5; pass++ {
		compact(rng.Intn(2) == 0 || pass == 0)
		checkCompactedView(t, seed, before, committedView(t, w.l))
		if got := w.l.LastStableOffset(); got != lso {
			t.Fatalf("seed %d: LSO after compaction %d, want %d", seed, got, lso)
		}
		if got := w.l.OngoingTransactions(); !reflect.DeepEqual(got, ongoing) {
			t.Fatalf("seed %d: ongoing transactions after compaction %+v, want %+v", seed, got, ongoing)
		}
		w.clk.Add(time.Duration(300+rng.Intn(900)) * time.Millisecond)
	}
	w.clk.Add(2 * time.Second)
	compact(true)
	w.clk.Add(2 * time.Second)
	compact(true)
	// Below the first uncleanable offset, every marker left has a batch of
	// its transaction before it (or is what ends a kept empty batch).
	dump := dumpLog(t, w.l)
	cp, err := w.l.cleanPlan(w.l.cfg.Load(), w.clk.Ms())
	if err != nil {
		t.Fatal(err)
	}
	stable := cp.firstUncleanable
	live := map[int64]bool{}
	for _, d := range dump {
		if d.base >= stable {
			break
		}
		switch {
		case d.control && d.ctype >= 0:
			if !live[d.pid] {
				t.Fatalf("seed %d: marker at %d of producer %d has no batch of its transaction left", seed, d.base, d.pid)
			}
			live[d.pid] = false
		case d.control:
			live[d.pid] = false
		case d.txn:
			live[d.pid] = true
		}
	}
	after := committedView(t, w.l)
	checkCompactedView(t, seed, before, after)
	aborted := w.l.AbortedTransactions(0, w.l.LogEndOffset())
	for _, crash := range []bool{false, true} {
		w.reopen(crash)
		if got := committedView(t, w.l); !reflect.DeepEqual(got, after) {
			t.Fatalf("seed %d: reopen (crash %v): committed view differs:\n got %+v\nwant %+v", seed, crash, got, after)
		}
		if got := w.l.LastStableOffset(); got != lso {
			t.Fatalf("seed %d: reopen (crash %v): LSO %d, want %d", seed, crash, got, lso)
		}
		if !crash {
			if got := w.l.AbortedTransactions(0, w.l.LogEndOffset()); !reflect.DeepEqual(got, aborted) {
				t.Fatalf("seed %d: clean reopen: aborted transactions %+v, want %+v", seed, got, aborted)
			}
		}
	}
	return removed
}

// Recovery after a crash replays a marker with a delete horizon and a
// removed marker (a control batch without records) without cutting the log.
func TestRecoveryOfCleanedMarkers(t *testing.T) {
	dir := t.TempDir()
	var seg []byte
	add := func(b []byte, next int64) {
		putBase(b, next)
		seg = append(seg, b...)
	}
	add(mkBatch(t, batchOpt{pid: 3, seq: 0, txn: true}, rec{key: []byte("k"), value: []byte("v"), ts: 1}), 0)
	marker := EncodeMarker(3, 0, false, 0, 2)
	mh, _ := parseHeader(marker)
	withHorizon, err := withDeleteHorizon(nil, &mh, marker, 5000)
	if err != nil {
		t.Fatal(err)
	}
	add(withHorizon, 1)
	add(mkBatch(t, batchOpt{pid: 3, seq: 1, txn: true}, rec{key: []byte("k"), value: []byte("w"), ts: 3}), 2)
	removed, err := emptyBatch(nil, &mh, true)
	if err != nil {
		t.Fatal(err)
	}
	add(removed, 3)
	if err := os.WriteFile(filepath.Join(dir, segmentName(0, logSuffix)), seg, 0o644); err != nil {
		t.Fatal(err)
	}
	l := openLog(t, dir, smallConfig(), newClock())
	defer l.Close()
	if l.LogEndOffset() != 4 || l.LastStableOffset() != 4 {
		t.Fatalf("after recovery LEO %d, LSO %d; want 4, 4", l.LogEndOffset(), l.LastStableOffset())
	}
	want := []AbortedTxn{{ProducerID: 3, FirstOffset: 0, LastOffset: 1, LastStableOffset: 2}}
	if got := l.AbortedTransactions(0, 4); !reflect.DeepEqual(got, want) {
		t.Fatalf("aborted transactions = %+v, want %+v", got, want)
	}
	d := dumpLog(t, l)
	if len(d) != 4 || d[1].horizon != 5000 || d[1].ctype != ControlTypeAbort || len(d[1].records) != 1 || d[1].records[0].Timestamp != 2 {
		t.Fatalf("recovered batches = %+v", d)
	}
}

// TestReadCommittedDuringCompaction reads the committed view again and
// again while compactions (with markers passing their horizon) run: no read
// may return a record the committed view did not have, such as an aborted
// record whose index entry a concurrent cleaning dropped.
func TestReadCommittedDuringCompaction(t *testing.T) {
	seed := cleanSeed(t)
	rng := rand.New(rand.NewSource(seed))
	w := writeRandomTxns(t, rng)
	before := committedView(t, w.l)
	allowed := map[int64]committedRec{}
	for _, r := range before {
		allowed[r.Offset] = r
	}
	done := make(chan error, 1)
	go func() {
		for pass := 0; pass < 8; pass++ {
			if _, err := w.l.Compact(context.Background(), CleanerOptions{Force: true}); err != nil {
				done <- err
				return
			}
			w.clk.Add(700 * time.Millisecond)
		}
		done <- nil
	}()
	reads := 0
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			checkCompactedView(t, seed, before, committedView(t, w.l))
			t.Logf("%d concurrent read_committed passes", reads)
			return
		default:
		}
		for _, r := range committedView(t, w.l) {
			if a, ok := allowed[r.Offset]; !ok || a != r {
				t.Fatalf("seed %d: read_committed during compaction returned %+v, not in the committed view", seed, r)
			}
		}
		reads++
	}
}
