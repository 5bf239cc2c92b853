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
	l, err := Open(t.TempDir(), cfg, testOpts(clk))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
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
	clk.Add(48 * time.Hour) // tombstones expire
	if _, err := l.Compact(context.Background(), CleanerOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	check("after tombstone removal")
}
