package partlog

import (
	"context"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFranzGoDecodesLog hands what the log serves (producer batches of every
// codec, LogAppendTime batches, and the cleaner's rewritten, recompressed and
// empty batches) to franz-go's own fetch parser, and checks it returns
// exactly the records the log holds.
func TestFranzGoDecodesLog(t *testing.T) {
	clk := newClock()
	cfg := compactConfig()
	l := tempLog(t, cfg, clk)
	rng := rand.New(rand.NewSource(7))
	seq := int32(0)
	for i := 0; i < 400; i++ {
		var recs []rec
		for j := 0; j < 1+rng.Intn(5); j++ {
			r := rec{key: []byte(fmt.Sprintf("k%d", rng.Intn(30))), value: []byte(fmt.Sprintf("v%d-%d", i, j)), ts: clk.Ms() + int64(j)}
			if rng.Intn(8) == 0 {
				r.value = nil
			}
			recs = append(recs, r)
		}
		o := batchOpt{codec: int8(i % 5)}
		if i%3 == 0 {
			o.pid, o.epoch, o.seq = 42, 0, seq
			seq += int32(len(recs))
		}
		if i == 200 {
			cfg.MessageTimestampType = LogAppendTime
			if err := l.SetConfig(cfg); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := l.Append(mkBatch(t, o, recs...)); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Millisecond)
	}
	check := func(stage string) {
		t.Helper()
		want := readAll(t, l, 0)
		var got []*kgo.Record
		for off := int64(0); off < l.LogEndOffset(); {
			rr, err := l.Read(off, 4096)
			if err != nil {
				t.Fatal(err)
			}
			fp := &kmsg.FetchResponseTopicPartition{
				Partition: 0, HighWatermark: rr.HighWatermark, LastStableOffset: rr.LastStableOffset,
				LogStartOffset: rr.LogStartOffset, RecordBatches: rr.Records,
			}
			p, next := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{Offset: off, Topic: "t"}, fp, kgo.DefaultDecompressor(), nil)
			if p.Err != nil {
				t.Fatalf("%s: franz-go rejects what the log serves at %d: %v", stage, off, p.Err)
			}
			got = append(got, p.Records...)
			if next <= off {
				t.Fatalf("%s: franz-go made no progress at %d", stage, off)
			}
			off = next
		}
		if len(got) != len(want) {
			t.Fatalf("%s: franz-go decoded %d records, the log holds %d", stage, len(got), len(want))
		}
		for i, r := range got {
			w := want[i]
			if r.Offset != w.Offset || string(r.Key) != string(w.Key) || string(r.Value) != string(w.Value) || (r.Value == nil) != (w.Value == nil) ||
				r.Timestamp.UnixMilli() != w.Timestamp {
				t.Fatalf("%s: record %d: franz-go %d %q=%q @%d, log %d %q=%q @%d", stage, i,
					r.Offset, r.Key, r.Value, r.Timestamp.UnixMilli(), w.Offset, w.Key, w.Value, w.Timestamp)
			}
		}
	}
	check("as appended")
	st, err := l.Compact(context.Background(), CleanerOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.SegmentsSwapped == 0 || st.RecordsRetained >= st.RecordsRead {
		t.Fatalf("compaction rewrote nothing: %+v", st)
	}
	check("after compaction")
	// The kept tombstones' batches now carry a delete horizon (attribute
	// bit 0x40, base timestamp = horizon), which franz-go read above.
	horizons := 0
	for off := int64(0); off < l.LogEndOffset(); {
		rr, err := l.Read(off, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		hs := batchHeaders(t, rr.Records)
		for _, h := range hs {
			if h.Attributes&attrDeleteHorizon != 0 {
				horizons++
			}
		}
		off = hs[len(hs)-1].lastOffset() + 1
	}
	if horizons == 0 {
		t.Fatal("no batch got a delete horizon")
	}
	clk.Add(48 * time.Hour) // tombstones expire
	if _, err := l.Compact(context.Background(), CleanerOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	check("after tombstone removal")
}

// TestFranzGoReadCommittedAfterMarkerRemoval hands what ReadCommitted serves
// (with its aborted transactions) to franz-go's read_committed fetch parser
// before compaction, after the pass that gives markers a delete horizon and
// after the pass that removes them: franz-go must parse every batch and
// return the same committed records as the consumer model of the marker
// tests.
func TestFranzGoReadCommittedAfterMarkerRemoval(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	w := writeRandomTxns(t, rng)
	franz := func(stage string) []committedRec {
		t.Helper()
		var out []committedRec
		lso := w.l.LastStableOffset()
		opts := kgo.ProcessFetchPartitionOpts{Topic: "t", IsolationLevel: kgo.ReadCommitted(), Offset: w.l.LogStartOffset()}
		for opts.Offset < lso {
			rr, err := w.l.ReadCommitted(nil, opts.Offset, 512)
			if err != nil {
				t.Fatal(err)
			}
			fp := &kmsg.FetchResponseTopicPartition{
				HighWatermark: rr.HighWatermark, LastStableOffset: rr.LastStableOffset,
				LogStartOffset: rr.LogStartOffset, RecordBatches: rr.Records,
			}
			for _, a := range rr.AbortedTransactions {
				fp.AbortedTransactions = append(fp.AbortedTransactions, kmsg.FetchResponseTopicPartitionAbortedTransaction{ProducerID: a.ProducerID, FirstOffset: a.FirstOffset})
			}
			p, next := kgo.ProcessFetchPartition(opts, fp, kgo.DefaultDecompressor(), nil)
			if p.Err != nil {
				t.Fatalf("%s: franz-go rejects what the log serves at %d: %v", stage, opts.Offset, p.Err)
			}
			if next <= opts.Offset {
				t.Fatalf("%s: franz-go made no progress at %d", stage, opts.Offset)
			}
			for _, r := range p.Records {
				out = append(out, committedRec{Offset: r.Offset, Key: string(r.Key), Value: string(r.Value), Tombstone: r.Value == nil})
			}
			opts.Offset = next
		}
		return out
	}
	compare := func(stage string) []committedRec {
		t.Helper()
		got, want := franz(stage), committedView(t, w.l)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: franz-go read_committed returns\n%+v\nthe consumer model\n%+v", stage, got, want)
		}
		return got
	}
	before := compare("as appended")
	if len(before) == 0 {
		t.Fatal("the random log has no committed record")
	}
	w.compact(true)
	checkCompactedView(t, 11, before, compare("after the first cleaning"))
	w.clk.Add(2 * time.Second)
	if st := w.compact(true); st.MarkersRemoved == 0 {
		t.Fatalf("no marker was removed: %+v", st)
	}
	checkCompactedView(t, 11, before, compare("after markers were removed"))
}
