package partlog

import (
	"bytes"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

// rec is a test record.
type rec struct {
	key, value []byte
	ts         int64
}

// batchOpt tunes a test batch.
type batchOpt struct {
	codec    int8
	pid      int64
	epoch    int16
	seq      int32
	txn      bool
	control  bool
	baseOff  int64
	noFixPID bool
}

// mkBatch builds a valid record batch v2 holding recs.
func mkBatch(t testing.TB, o batchOpt, recs ...rec) []byte {
	t.Helper()
	b, err := mkBatchErr(o, recs...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mkBatchErr(o batchOpt, recs ...rec) ([]byte, error) {
	if len(recs) == 0 {
		return nil, fmt.Errorf("no records")
	}
	baseTs := recs[0].ts
	maxTs := baseTs
	for _, r := range recs {
		if r.ts > maxTs {
			maxTs = r.ts
		}
	}
	var raw []byte
	for i, r := range recs {
		raw = appendRecord(raw, int64(i), r.ts-baseTs, r.key, r.value, nil)
	}
	pid := o.pid
	if pid == 0 && !o.noFixPID {
		pid = -1
	}
	epoch, seq := o.epoch, o.seq
	if pid < 0 {
		epoch, seq = -1, -1
	}
	attrs := int16(o.codec)
	if o.txn {
		attrs |= attrTransactional
	}
	if o.control {
		attrs |= attrControl
	}
	h := batchHeader{
		BaseOffset: o.baseOff, LeaderEpoch: -1, Attributes: attrs,
		LastOffsetDelta: int32(len(recs) - 1), BaseTimestamp: baseTs, MaxTimestamp: maxTs,
		ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, NumRecords: int32(len(recs)),
	}
	return encodeBatch(nil, h, raw)
}

// valueRecs makes n records with values "v<i>" and timestamp ts.
func valueRecs(n int, ts int64, prefix string) []rec {
	out := make([]rec, n)
	for i := range out {
		out[i] = rec{key: []byte(fmt.Sprintf("k%d", i)), value: []byte(fmt.Sprintf("%s%d", prefix, i)), ts: ts}
	}
	return out
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.UnixMilli(1_700_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Ms() int64 { return c.Now().UnixMilli() }

// testOpts returns Options with a quiet logger and the clock.
func testOpts(c *fakeClock) Options {
	o := Options{Logger: quietLogger()}
	if c != nil {
		o.Now = c.Now
	}
	return o
}

// smallConfig is DefaultConfig with small segments and index interval so
// tests exercise rolling and indexes.
func smallConfig() Config {
	c := DefaultConfig()
	c.SegmentBytes = 4096
	c.IndexIntervalBytes = 256
	c.FileDeleteDelayMs = 0
	return c
}

// eachBatch calls fn with the header and the bytes of each stored batch in b.
func eachBatch(t testing.TB, b []byte, fn func(h *batchHeader, batch []byte)) {
	t.Helper()
	for len(b) > 0 {
		h, size, err := checkStoredBatch(b)
		if err != nil {
			t.Fatalf("decode batches: %v", err)
		}
		fn(&h, b[:size])
		b = b[size:]
	}
}

// decodeAll decodes every record in the batches of b.
func decodeAll(t testing.TB, b []byte) []record {
	t.Helper()
	var out []record
	eachBatch(t, b, func(h *batchHeader, batch []byte) {
		err := eachRecordOf(h, batch, func(r *record) error {
			c := *r
			c.Key = bytes.Clone(r.Key)
			c.Value = bytes.Clone(r.Value)
			out = append(out, c)
			return nil
		})
		if err != nil {
			t.Fatalf("decode records: %v", err)
		}
	})
	return out
}

// batchHeaders returns the headers of the batches in b.
func batchHeaders(t testing.TB, b []byte) []batchHeader {
	t.Helper()
	var out []batchHeader
	eachBatch(t, b, func(h *batchHeader, _ []byte) { out = append(out, *h) })
	return out
}

// readAll reads every record from offset from to the log end.
func readAll(t testing.TB, l *Log, from int64) []record {
	t.Helper()
	var out []record
	off := from
	for off < l.LogEndOffset() {
		rr, err := l.Read(off, 1<<20)
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		if len(rr.Records) == 0 {
			t.Fatalf("read at %d (end %d) returned nothing", off, l.LogEndOffset())
		}
		hs := batchHeaders(t, rr.Records)
		for _, r := range decodeAll(t, rr.Records) {
			if r.Offset >= off {
				out = append(out, r)
			}
		}
		off = hs[len(hs)-1].lastOffset() + 1
	}
	return out
}

// openLog opens the log in dir with cfg and the test options of clk (nil: the real
// clock), failing the test on error.
func openLog(t testing.TB, dir string, cfg Config, clk *fakeClock) *Log {
	t.Helper()
	l, err := Open(dir, cfg, testOpts(clk))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// openLogLogged is openLog with the log's own log lines kept in the returned buffer.
func openLogLogged(t testing.TB, dir string, cfg Config, clk *fakeClock) (*Log, *testutil.Buffer) {
	t.Helper()
	var logs testutil.Buffer
	opts := testOpts(clk)
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	l, err := Open(dir, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l, &logs
}

// appendValues appends n batches of perBatch records with value, timestamped by clk.
func appendValues(t testing.TB, l *Log, clk *fakeClock, n, perBatch int, value string) {
	t.Helper()
	for range n {
		if _, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(perBatch, clk.Ms(), value)...)); err != nil {
			t.Fatal(err)
		}
	}
}

// stopLog closes l cleanly, or crashes it.
func stopLog(t testing.TB, l *Log, clean bool) {
	t.Helper()
	if clean {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		crash(t, l)
	}
}

// tempLog opens a log in a directory of its own, closed when the test ends.
func tempLog(t testing.TB, cfg Config, clk *fakeClock) *Log {
	t.Helper()
	l := openLog(t, t.TempDir(), cfg, clk)
	t.Cleanup(func() { l.Close() })
	return l
}
