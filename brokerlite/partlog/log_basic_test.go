package partlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestAppendReadReopen(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	l := openLog(t, dir, smallConfig(), clk)
	var want []string
	for i := 0; i < 200; i++ {
		recs := valueRecs(3, clk.Ms()+int64(i), fmt.Sprintf("b%d-", i))
		for _, r := range recs {
			want = append(want, string(r.value))
		}
		res, err := l.Append(mkBatch(t, batchOpt{}, recs...))
		if err != nil {
			t.Fatal(err)
		}
		if res.BaseOffset != int64(3*i) || res.LastOffset != int64(3*i+2) || res.LogAppendTime != -1 {
			t.Fatalf("append %d: %+v", i, res)
		}
	}
	if l.NumSegments() < 3 {
		t.Fatalf("expected rolls, have %d segments", l.NumSegments())
	}
	check := func(l *Log) {
		t.Helper()
		got := readAll(t, l, 0)
		if len(got) != len(want) {
			t.Fatalf("read %d records, want %d", len(got), len(want))
		}
		for i, r := range got {
			if r.Offset != int64(i) || string(r.Value) != want[i] {
				t.Fatalf("record %d: offset %d value %q, want %q", i, r.Offset, r.Value, want[i])
			}
		}
		// Every offset reads back starting with the batch that holds it.
		for off := int64(0); off < l.LogEndOffset(); off += 7 {
			rr, err := l.Read(off, 1)
			if err != nil {
				t.Fatal(err)
			}
			hs := batchHeaders(t, rr.Records)
			if len(hs) != 1 || hs[0].BaseOffset > off || hs[0].lastOffset() < off {
				t.Fatalf("read %d: got batches %+v", off, hs)
			}
		}
	}
	check(l)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, smallConfig(), clk)
	if l.LogEndOffset() != 600 {
		t.Fatalf("reopened LEO %d", l.LogEndOffset())
	}
	check(l)
	res, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(1, clk.Ms(), "x")...))
	if err != nil || res.BaseOffset != 600 {
		t.Fatalf("append after reopen: %+v %v", res, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReadBounds(t *testing.T) {
	l := tempLog(t, smallConfig(), nil)
	rr, err := l.Read(0, 100)
	if err != nil || len(rr.Records) != 0 {
		t.Fatalf("empty log read: %v %d", err, len(rr.Records))
	}
	if _, err := l.Read(1, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read past end: %v", err)
	}
	if _, err := l.Read(-1, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below start: %v", err)
	}
	big := mkBatch(t, batchOpt{}, rec{key: []byte("k"), value: bytes.Repeat([]byte("x"), 1000), ts: 1})
	if _, err := l.Append(big); err != nil {
		t.Fatal(err)
	}
	// maxBytes smaller than the first batch: the whole batch still comes.
	rr, err = l.Read(0, 10)
	if err != nil || len(rr.Records) != len(big) {
		t.Fatalf("first batch rule: %v, %d bytes, want %d", err, len(rr.Records), len(big))
	}
	if rr.HighWatermark != 1 || rr.LogStartOffset != 0 || rr.LastStableOffset != 1 {
		t.Fatalf("offsets in result: %+v", rr)
	}
	rr, err = l.Read(1, 10)
	if err != nil || len(rr.Records) != 0 {
		t.Fatalf("read at end: %v %d", err, len(rr.Records))
	}
}
