package partlog

import (
	"errors"
	"testing"
)

func TestIdempotentProducer(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	l := openLog(t, dir, smallConfig(), clk)
	app := func(o batchOpt, n int) (AppendResult, error) {
		return l.Append(mkBatch(t, o, valueRecs(n, clk.Ms(), "v")...))
	}
	r0, err := app(batchOpt{pid: 7, epoch: 0, seq: 0}, 3) // seq 0-2
	if err != nil {
		t.Fatal(err)
	}
	r1, err := app(batchOpt{pid: 7, epoch: 0, seq: 3}, 2) // seq 3-4
	if err != nil {
		t.Fatal(err)
	}
	// Duplicate of the first batch: original result, nothing appended.
	leo := l.LogEndOffset()
	dup, err := app(batchOpt{pid: 7, epoch: 0, seq: 0}, 3)
	if !errors.Is(err, ErrDuplicateSequence) || dup.BaseOffset != r0.BaseOffset || dup.LastOffset != r0.LastOffset {
		t.Fatalf("duplicate: %+v %v (want %+v)", dup, err, r0)
	}
	if KafkaErrorCode(err) != 0 {
		t.Fatalf("duplicate should map to success, got %d", KafkaErrorCode(err))
	}
	if l.LogEndOffset() != leo {
		t.Fatal("duplicate was appended")
	}
	// Gap.
	if _, err := app(batchOpt{pid: 7, epoch: 0, seq: 9}, 1); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("gap: %v", err)
	}
	// New epoch must start at 0.
	if _, err := app(batchOpt{pid: 7, epoch: 1, seq: 5}, 1); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("new epoch not at 0: %v", err)
	}
	if _, err := app(batchOpt{pid: 7, epoch: 1, seq: 0}, 1); err != nil {
		t.Fatalf("new epoch at 0: %v", err)
	}
	// Old epoch is fenced.
	if _, err := app(batchOpt{pid: 7, epoch: 0, seq: 5}, 1); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("old epoch: %v", err)
	}
	_ = r1
	// Only the last five batches are remembered.
	for i := int32(1); i <= 6; i++ {
		if _, err := app(batchOpt{pid: 7, epoch: 1, seq: i}, 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := app(batchOpt{pid: 7, epoch: 1, seq: 1}, 1); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("sixth-oldest batch is not a known duplicate: %v", err)
	}
	if _, err := app(batchOpt{pid: 7, epoch: 1, seq: 2}, 1); !errors.Is(err, ErrDuplicateSequence) {
		t.Fatalf("fifth-newest batch is a duplicate: %v", err)
	}

	// State survives a clean reopen (snapshot) and a crash (log scan).
	for _, clean := range []bool{true, false} {
		stopLog(t, l, clean)
		l = openLog(t, dir, smallConfig(), clk)
		if _, err := app(batchOpt{pid: 7, epoch: 1, seq: 6}, 1); !errors.Is(err, ErrDuplicateSequence) {
			t.Fatalf("clean=%v: duplicate after reopen: %v", clean, err)
		}
		if _, err := app(batchOpt{pid: 7, epoch: 0, seq: 7}, 1); !errors.Is(err, ErrInvalidProducerEpoch) {
			t.Fatalf("clean=%v: fenced after reopen: %v", clean, err)
		}
	}
	if _, err := app(batchOpt{pid: 7, epoch: 1, seq: 7}, 1); err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func TestSequenceWrap(t *testing.T) {
	l := tempLog(t, smallConfig(), nil)
	max := int32(1<<31 - 1)
	// Unknown producer: any first sequence is accepted (Kafka).
	if _, err := l.Append(mkBatch(t, batchOpt{pid: 1, seq: max - 1}, valueRecs(2, 1, "v")...)); err != nil {
		t.Fatal(err)
	}
	// Last sequence was MaxInt32, so the next starts at 0.
	if _, err := l.Append(mkBatch(t, batchOpt{pid: 1, seq: 0}, valueRecs(1, 1, "v")...)); err != nil {
		t.Fatalf("wrap: %v", err)
	}
	// A batch that wraps in the middle.
	if _, err := l.Append(mkBatch(t, batchOpt{pid: 2, seq: max}, valueRecs(3, 1, "v")...)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(mkBatch(t, batchOpt{pid: 2, seq: 2}, valueRecs(1, 1, "v")...)); err != nil {
		t.Fatalf("after mid-batch wrap: %v", err)
	}
	if _, err := l.Append(mkBatch(t, batchOpt{pid: 2, seq: max}, valueRecs(3, 1, "v")...)); !errors.Is(err, ErrDuplicateSequence) {
		t.Fatalf("wrapped duplicate: %v", err)
	}
}

// crash abandons l as a process crash would: no Close, no final fsync, no
// clean-shutdown marker. The files stay as they are.
func crash(t testing.TB, l *Log) {
	t.Helper()
	if err := l.close(false); err != nil {
		t.Fatal(err)
	}
}
