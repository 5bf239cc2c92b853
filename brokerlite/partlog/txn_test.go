package partlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// txnLog builds a log with, in order: a plain batch (offset 0), a transaction of
// producer 10 (offsets 1-2), a transaction of producer 11 (offset 3), producer 10's abort
// marker (4) and producer 11's commit marker (5), checking the last stable offset and
// read_committed reads on the way.
func txnLog(t *testing.T, dir string) *Log {
	t.Helper()
	clk := newClock()
	l := openLog(t, dir, smallConfig(), clk)
	app := func(b []byte, o Origin) {
		t.Helper()
		if _, err := l.AppendWith(b, AppendOptions{Origin: o}); err != nil {
			t.Fatal(err)
		}
	}
	app(mkBatch(t, batchOpt{}, valueRecs(1, clk.Ms(), "plain")...), OriginClient)
	app(mkBatch(t, batchOpt{pid: 10, epoch: 0, seq: 0, txn: true}, valueRecs(2, clk.Ms(), "aborted")...), OriginClient)
	if got := l.LastStableOffset(); got != 1 {
		t.Fatalf("LSO with producer 10 open = %d, want 1", got)
	}
	app(mkBatch(t, batchOpt{pid: 11, epoch: 0, seq: 0, txn: true}, valueRecs(1, clk.Ms(), "committed")...), OriginClient)
	rr, err := l.ReadCommitted(nil, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if recs := decodeAll(t, rr.Records); len(recs) != 1 || rr.LastStableOffset != 1 || rr.HighWatermark != 4 {
		t.Fatalf("read_committed with open transactions: %d records, LSO %d, HW %d; want 1, 1, 4", len(recs), rr.LastStableOffset, rr.HighWatermark)
	}
	if rr, err := l.ReadCommitted(nil, 1, 1<<20); err != nil || len(rr.Records) != 0 {
		t.Fatalf("read_committed at the LSO: %d bytes, %v; want none", len(rr.Records), err)
	}
	app(EncodeMarker(10, 0, false, 0, clk.Ms()), OriginCoordinator)
	if got := l.LastStableOffset(); got != 3 {
		t.Fatalf("LSO after producer 10 aborted = %d, want 3 (producer 11 still open)", got)
	}
	app(EncodeMarker(11, 0, true, 0, clk.Ms()), OriginCoordinator)
	if got, hw := l.LastStableOffset(), l.HighWatermark(); got != 6 || hw != 6 {
		t.Fatalf("LSO/HW after both ended = %d/%d, want 6/6", got, hw)
	}
	return l
}

func wantAborted(t *testing.T, l *Log) {
	t.Helper()
	want := []AbortedTxn{{ProducerID: 10, FirstOffset: 1, LastOffset: 4, LastStableOffset: 3}}
	if got := l.AbortedTransactions(0, 6); !reflect.DeepEqual(got, want) {
		t.Fatalf("aborted transactions = %+v, want %+v", got, want)
	}
	if got := l.AbortedTransactions(5, 6); len(got) != 0 {
		t.Fatalf("aborted transactions after the marker = %+v, want none", got)
	}
	rr, err := l.ReadCommitted(nil, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	wantRR := []AbortedTransaction{{ProducerID: 10, FirstOffset: 1}}
	if !reflect.DeepEqual(rr.AbortedTransactions, wantRR) {
		t.Fatalf("read_committed aborted list = %+v, want %+v", rr.AbortedTransactions, wantRR)
	}
}

func TestTransactionsLastStableOffsetAndAbortedIndex(t *testing.T) {
	dir := t.TempDir()
	l := txnLog(t, dir)
	wantAborted(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(dir, segmentName(0, txnIndexSuffix))
	if st, err := os.Stat(idx); err != nil || st.Size() != txnEntrySize {
		t.Fatalf(".txnindex after close: %v, %v; want one %d-byte entry", st, err, txnEntrySize)
	}

	// Clean restart: the index comes from the file.
	l = openLog(t, dir, smallConfig(), nil)
	wantAborted(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// A torn index after a clean shutdown is rebuilt from the segment.
	if err := os.Truncate(idx, 20); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, smallConfig(), nil)
	wantAborted(t, l)
	if st, err := os.Stat(idx); err != nil || st.Size() != txnEntrySize {
		t.Fatalf("rebuilt .txnindex: %v, %v", st, err)
	}
	crash(t, l)

	// After a crash, recovery rebuilds the index (here from a deleted file).
	if err := os.Remove(idx); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, smallConfig(), nil)
	defer l.Close()
	wantAborted(t, l)
}

func TestTransactionOpenAcrossRestart(t *testing.T) {
	for _, clean := range []bool{true, false} {
		dir := t.TempDir()
		l := openLog(t, dir, smallConfig(), nil)
		if _, err := l.Append(mkBatch(t, batchOpt{pid: 7, epoch: 2, seq: 0, txn: true}, valueRecs(3, 1, "open")...)); err != nil {
			t.Fatal(err)
		}
		stopLog(t, l, clean)
		l = openLog(t, dir, smallConfig(), nil)
		if got := l.LastStableOffset(); got != 0 {
			t.Fatalf("clean=%v: LSO after restart with an open transaction = %d, want 0", clean, got)
		}
		if got := l.OngoingTransactions(); len(got) != 1 || got[0].ProducerID != 7 || got[0].CurrentTxnStartOffset != 0 {
			t.Fatalf("clean=%v: ongoing transactions = %+v", clean, got)
		}
		// A marker with an older epoch is refused; the current one ends it.
		if _, err := l.AppendWith(EncodeMarker(7, 1, true, 0, 1), AppendOptions{Origin: OriginCoordinator}); err == nil {
			t.Fatalf("clean=%v: a marker with an older epoch was accepted", clean)
		}
		if _, err := l.AppendWith(EncodeMarker(7, 2, true, 5, 1), AppendOptions{Origin: OriginCoordinator}); err != nil {
			t.Fatal(err)
		}
		if ps := l.Producers(); len(ps) != 1 || ps[0].CoordinatorEpoch != 5 || ps[0].CurrentTxnStartOffset != -1 {
			t.Fatalf("clean=%v: producer after the marker: %+v", clean, ps)
		}
		if got := l.LastStableOffset(); got != 4 {
			t.Fatalf("clean=%v: LSO after commit = %d, want 4", clean, got)
		}
		l.Close()
	}
}

func TestControlBatchesRefusedFromClients(t *testing.T) {
	l := tempLog(t, smallConfig(), nil)
	if _, err := l.Append(EncodeMarker(3, 0, true, 0, 1)); err == nil {
		t.Fatal("a client's control batch was accepted")
	}
	bad := mkBatch(t, batchOpt{pid: 3, epoch: 0, txn: true, control: true}, rec{key: []byte{0, 0, 0, 9}, value: []byte{0, 0, 0, 0, 0, 0}})
	if _, err := l.AppendWith(bad, AppendOptions{Origin: OriginCoordinator}); err == nil {
		t.Fatal("a control batch of unknown type 9 was accepted")
	}
}

func FuzzTxnIndex(f *testing.F) {
	f.Add(encodeTxnEntry(nil, AbortedTxn{ProducerID: 1, FirstOffset: 2, LastOffset: 5, LastStableOffset: 6}), int64(0))
	f.Add(encodeTxnEntry(encodeTxnEntry(nil, AbortedTxn{ProducerID: 1, FirstOffset: 2, LastOffset: 5, LastStableOffset: 6}),
		AbortedTxn{ProducerID: 2, FirstOffset: 3, LastOffset: 9, LastStableOffset: 10}), int64(4))
	f.Add([]byte{0, 1, 2}, int64(0))
	f.Fuzz(func(t *testing.T, b []byte, base int64) {
		es, err := DecodeTxnIndex(b, base)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same bytes.
		var out []byte
		for _, e := range es {
			out = encodeTxnEntry(out, e)
		}
		if string(out) != string(b) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// Compaction drops aborted transactional records (and an aborted record never shadows an
// older one of its key), keeps committed ones and markers, and leaves an open transaction
// alone.
func TestCompactionTransactionalRules(t *testing.T) {
	clk := newClock()
	l := tempLog(t, compactConfig(), clk)
	kv := func(k, v string) rec { return rec{key: []byte(k), value: []byte(v), ts: clk.Ms()} }
	app := func(b []byte, o Origin) {
		t.Helper()
		if _, err := l.AppendWith(b, AppendOptions{Origin: o}); err != nil {
			t.Fatal(err)
		}
	}
	app(mkBatch(t, batchOpt{}, kv("a", "a-plain"), kv("b", "b-plain")), OriginClient)
	// Producer 5 commits a new b; producer 6 aborts a new a.
	app(mkBatch(t, batchOpt{pid: 5, seq: 0, txn: true}, kv("b", "b-committed")), OriginClient)
	app(mkBatch(t, batchOpt{pid: 6, seq: 0, txn: true}, kv("a", "a-aborted"), kv("c", "c-aborted")), OriginClient)
	app(EncodeMarker(5, 0, true, 0, clk.Ms()), OriginCoordinator)
	app(EncodeMarker(6, 0, false, 0, clk.Ms()), OriginCoordinator)
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	// Producer 7 leaves a transaction open.
	app(mkBatch(t, batchOpt{pid: 7, seq: 0, txn: true}, kv("a", "a-open")), OriginClient)
	for i := 0; i < 3; i++ {
		if err := l.Roll(); err != nil {
			t.Fatal(err)
		}
		app(mkBatch(t, batchOpt{}, kv(fmt.Sprintf("filler%d", i), "x")), OriginClient)
	}
	if _, err := l.Compact(context.Background(), CleanerOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	var got []string
	controls := 0
	for off := int64(0); off < l.HighWatermark(); {
		rr, err := l.Read(off, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(rr.Records) == 0 {
			break
		}
		for _, h := range batchHeaders(t, rr.Records) {
			off = h.lastOffset() + 1
		}
		if err := EachRecord(rr.Records, func(info BatchInfo, r KV) error {
			if info.Control {
				controls++
				return nil
			}
			got = append(got, string(r.Value))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{"a-plain": true, "b-committed": true, "a-open": true}
	for _, v := range got {
		if v == "a-aborted" || v == "c-aborted" || v == "b-plain" {
			t.Fatalf("after compaction the log holds %q: %v", v, got)
		}
		delete(want, v)
	}
	if len(want) != 0 || controls != 2 {
		t.Fatalf("after compaction: records %v (missing %v), %d markers; want a-plain, b-committed, a-open and 2 markers", got, want, controls)
	}
}

func TestAbortedIndexFollowsRetention(t *testing.T) {
	dir := t.TempDir()
	l := txnLog(t, dir) // producer 10's abort marker is at offset 4, in segment 0
	defer l.Close()
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.DeleteRecordsBefore(6); err != nil {
		t.Fatal(err)
	}
	if got := l.AbortedTransactions(0, 6); len(got) != 0 {
		t.Fatalf("aborted transactions of deleted segments are still listed: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, segmentName(0, txnIndexSuffix))); !os.IsNotExist(err) {
		t.Fatalf("the deleted segment's .txnindex is still there: %v", err)
	}
}

// A read_committed read that races an abort marker never returns the aborted batch
// without its aborted-transaction entry: the read is bounded before the index is
// taken, and an append adds the entry before it moves the last stable offset.
func TestReadCommittedRacingAbortHasEntry(t *testing.T) {
	clk := newClock()
	l := openLog(t, t.TempDir(), DefaultConfig(), clk)
	defer l.Close()
	var start atomic.Int64 // first offset of the transaction being aborted
	var stop atomic.Bool
	var bad atomic.Int64
	var wg sync.WaitGroup
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for !stop.Load() {
				from := start.Load()
				rr, err := l.ReadCommitted(buf[:0], from, 1<<20)
				if err != nil {
					t.Error(err)
					return
				}
				buf = rr.Records
				if len(rr.Records) == 0 {
					runtime.Gosched() // let the writer run on small machines
					continue
				}
				covered := false
				for _, a := range rr.AbortedTransactions {
					covered = covered || (a.ProducerID == 10 && a.FirstOffset <= from)
				}
				if !covered {
					bad.Add(1)
				}
			}
		}()
	}
	// Many short transactions, for a bounded time: the race window is small.
	until := time.Now().Add(2 * time.Second)
	for i := 0; i < 20000 && bad.Load() == 0 && time.Now().Before(until); i++ {
		res, err := l.AppendWith(mkBatch(t, batchOpt{pid: 10, epoch: 0, seq: int32(i), txn: true}, valueRecs(1, clk.Ms(), "aborted")...), AppendOptions{Origin: OriginClient})
		if err != nil {
			t.Fatal(err)
		}
		start.Store(res.BaseOffset)
		runtime.Gosched()
		if _, err := l.AppendWith(EncodeMarker(10, 0, false, 0, clk.Ms()), AppendOptions{Origin: OriginCoordinator}); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d read_committed reads returned an aborted batch without its aborted-transaction entry", n)
	}
}

// A producer with a transaction open on the partition may not write outside it: the batch
// would land among the transaction's offsets and stay whether it commits or aborts. Kafka
// answers INVALID_TXN_STATE; once the marker ends the transaction the producer may.
func TestNonTransactionalBatchInsideOpenTransactionRefused(t *testing.T) {
	l := openLog(t, t.TempDir(), smallConfig(), nil)
	defer l.Close()
	if _, err := l.Append(mkBatch(t, batchOpt{pid: 7, epoch: 2, seq: 0, txn: true}, valueRecs(2, 1, "in")...)); err != nil {
		t.Fatal(err)
	}
	_, err := l.Append(mkBatch(t, batchOpt{pid: 7, epoch: 2, seq: 2}, valueRecs(1, 1, "out")...))
	if !errors.Is(err, ErrInvalidTxnState) || KafkaErrorCode(err) != 48 {
		t.Fatalf("non-transactional batch inside an open transaction: %v", err)
	}
	if _, err := l.AppendWith(EncodeMarker(7, 2, false, 0, 1), AppendOptions{Origin: OriginCoordinator}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(mkBatch(t, batchOpt{pid: 7, epoch: 2, seq: 2}, valueRecs(1, 1, "after")...)); err != nil {
		t.Fatalf("non-transactional batch after the abort: %v", err)
	}
}
