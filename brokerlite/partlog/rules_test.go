package partlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestValidationErrors(t *testing.T) {
	cfg := smallConfig()
	cfg.MaxMessageBytes = 2000
	l := tempLog(t, cfg, nil)
	good := mkBatch(t, batchOpt{}, valueRecs(2, 1, "v")...)
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name string
		b    []byte
		want error
		code int16
	}{
		{"empty", nil, ErrInvalidRecord, 87},
		{"crc", mut(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrCorruptMessage, 2},
		{"torn", good[:len(good)-1], ErrCorruptMessage, 2},
		{"short header", good[:30], ErrCorruptMessage, 2},
		{"trailing bytes", append(append([]byte(nil), good...), 1, 2, 3), ErrCorruptMessage, 2},
		{"magic 1", mut(func(b []byte) []byte { b[offMagic] = 1; return b }), ErrUnsupportedMagic, 43},
		{"magic 0", mut(func(b []byte) []byte { b[offMagic] = 0; return b }), ErrUnsupportedMagic, 43},
		{"magic 3", mut(func(b []byte) []byte { b[offMagic] = 3; return b }), ErrCorruptMessage, 2},
		{"length too small", mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[offBatchLength:], 10); return b }), ErrCorruptMessage, 2},
		{"too large", mkBatch(t, batchOpt{}, rec{key: []byte("k"), value: make([]byte, 3000)}), ErrMessageTooLarge, 10},
		{"count vs delta", mut(func(b []byte) []byte {
			return refix(b, func(h []byte) { binary.BigEndian.PutUint32(h[offRecordCount:], 3) })
		}), ErrInvalidRecord, 87},
		{"count vs bytes", mut(func(b []byte) []byte {
			return refix(b, func(h []byte) {
				binary.BigEndian.PutUint32(h[offRecordCount:], 1000)
				binary.BigEndian.PutUint32(h[offLastOffsetDelta:], 999)
			})
		}), ErrCorruptMessage, 2},
		{"zero records", mut(func(b []byte) []byte {
			return refix(b, func(h []byte) { binary.BigEndian.PutUint32(h[offRecordCount:], 0) })
		}), ErrInvalidRecord, 87},
		{"codec 7", mut(func(b []byte) []byte {
			return refix(b, func(h []byte) { binary.BigEndian.PutUint16(h[offAttributes:], 7) })
		}), ErrCorruptMessage, 2},
		{"control from client", mkBatch(t, batchOpt{control: true, pid: 4, seq: 0}, valueRecs(1, 1, "v")...), ErrInvalidRecord, 87},
		{"txn without pid", mkBatch(t, batchOpt{txn: true}, valueRecs(1, 1, "v")...), ErrInvalidRecord, 87},
	}
	for _, c := range cases {
		_, err := l.Append(c.b)
		if !errors.Is(err, c.want) || KafkaErrorCode(err) != c.code {
			t.Errorf("%s: got %v (code %d), want %v (code %d)", c.name, err, KafkaErrorCode(err), c.want, c.code)
		}
	}
	// A good batch followed by a bad one appends nothing.
	two := append(append([]byte(nil), good...), cases[1].b...)
	if _, err := l.Append(two); !errors.Is(err, ErrCorruptMessage) {
		t.Fatalf("mixed append: %v", err)
	}
	if l.LogEndOffset() != 0 {
		t.Fatal("a rejected append left data")
	}
	// Larger than segment.bytes.
	cfg.MaxMessageBytes = 1 << 20
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte("k"), value: make([]byte, 5000)})); !errors.Is(err, ErrRecordListTooLarge) || KafkaErrorCode(err) != 18 {
		t.Fatalf("over segment.bytes: %v", err)
	}
	// Control batches are accepted from a coordinator and stored.
	ctl := mkBatch(t, batchOpt{control: true, pid: 4, seq: -1}, rec{key: []byte{0, 0, 0, 1}, value: []byte{0, 0, 0, 0, 0, 0}})
	if _, err := l.AppendWith(ctl, AppendOptions{Origin: OriginCoordinator}); err != nil {
		t.Fatalf("coordinator marker: %v", err)
	}
	// Several valid batches in one append get consecutive offsets.
	res, err := l.Append(append(append([]byte(nil), good...), good...))
	if err != nil || res.BaseOffset != 1 || res.LastOffset != 4 {
		t.Fatalf("two batches: %+v %v", res, err)
	}
}

// refix edits a batch header then fixes its CRC.
func refix(b []byte, edit func(h []byte)) []byte {
	edit(b)
	binary.BigEndian.PutUint32(b[offCRC:], crc32c(b[offAttributes:]))
	return b
}

func TestLogAppendTime(t *testing.T) {
	clk := newClock()
	cfg := smallConfig()
	cfg.MessageTimestampType = LogAppendTime
	l := tempLog(t, cfg, clk)
	res, err := l.Append(mkBatch(t, batchOpt{codec: codecZstd}, valueRecs(3, 5, "v")...))
	if err != nil {
		t.Fatal(err)
	}
	if res.LogAppendTime != clk.Ms() {
		t.Fatalf("LogAppendTime %d, want %d", res.LogAppendTime, clk.Ms())
	}
	rr, _ := l.Read(0, 1000)
	h := batchHeaders(t, rr.Records)[0] // checkStoredBatch verified the new CRC
	if !h.logAppendTime() || h.MaxTimestamp != clk.Ms() {
		t.Fatalf("batch not stamped: %+v", h)
	}
	for _, r := range decodeAll(t, rr.Records) {
		if r.Timestamp != clk.Ms() {
			t.Fatalf("record timestamp %d", r.Timestamp)
		}
	}
	if off, ts, ok, err := l.OffsetForTimestamp(clk.Ms()); err != nil || !ok || off != 0 || ts != clk.Ms() {
		t.Fatalf("offset for timestamp: %d %d %v %v", off, ts, ok, err)
	}
}

func TestOffsetForTimestamp(t *testing.T) {
	l := tempLog(t, smallConfig(), nil)
	// Timestamps 100, 110, ... per record, with one out-of-order batch.
	ts := int64(100)
	for i := 0; i < 100; i++ {
		recs := []rec{{key: []byte("a"), value: []byte("1"), ts: ts}, {key: []byte("b"), value: []byte("2"), ts: ts + 5}}
		if i == 50 {
			recs[0].ts, recs[1].ts = 20, 30 // late data
		}
		if _, err := l.Append(mkBatch(t, batchOpt{codec: int8(i % 5)}, recs...)); err != nil {
			t.Fatal(err)
		}
		ts += 10
	}
	for _, c := range []struct {
		ts, off, gotTs int64
		ok             bool
	}{
		{0, 0, 100, true},   // before everything: the first record
		{100, 0, 100, true}, // exact
		{103, 1, 105, true}, // inside a batch: the second record
		{106, 2, 110, true},
		{595, 91, 595, false}, // filled below
		{1095, 199, 1095, true},
		{1096, 0, 0, false}, // after everything
	} {
		if c.ts == 595 {
			c.off, c.gotTs, c.ok = 99, 595, true // batch 49 is 590/595
		}
		off, got, ok, err := l.OffsetForTimestamp(c.ts)
		if err != nil || ok != c.ok || (ok && (off != c.off || got != c.gotTs)) {
			t.Errorf("ts %d: got (%d, %d, %v, %v), want (%d, %d, %v)", c.ts, off, got, ok, err, c.off, c.gotTs, c.ok)
		}
	}
	off, mts, ok, err := l.MaxTimestamp()
	if err != nil || !ok || off != 199 || mts != 1095 {
		t.Fatalf("max timestamp: %d %d %v %v", off, mts, ok, err)
	}
}

func TestRetention(t *testing.T) {
	clk := newClock()
	cfg := smallConfig()
	cfg.RetentionMs = int64(time.Hour / time.Millisecond)
	l := tempLog(t, cfg, clk)
	// Old data, then new data an hour and a half later.
	appendValues(t, l, clk, 100, 2, "old")
	oldEnd := l.LogEndOffset()
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	clk.Add(90 * time.Minute)
	appendValues(t, l, clk, 100, 2, "new")
	n, err := l.DeleteOldSegments()
	if err != nil || n == 0 {
		t.Fatalf("retention.ms deleted %d segments (%v)", n, err)
	}
	if l.LogStartOffset() != oldEnd {
		t.Fatalf("log start %d, want %d", l.LogStartOffset(), oldEnd)
	}
	if _, err := l.Read(0, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below start: %v", err)
	}
	// Size retention keeps the newest segments within retention.bytes.
	cfg.RetentionMs = -1
	cfg.RetentionBytes = 5000
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := l.DeleteOldSegments(); err != nil {
		t.Fatal(err)
	}
	if l.Size() > 5000+int64(cfg.SegmentBytes) || l.NumSegments() < 1 {
		t.Fatalf("size %d after retention.bytes 5000", l.Size())
	}
	segs := l.Segments()
	if total := l.Size(); total-segs[0].Size >= cfg.RetentionBytes {
		t.Fatalf("could have deleted more: size %d, first segment %d", total, segs[0].Size)
	}
	// Everything expired: the active segment is rolled and deleted too,
	// but the log keeps its end offset.
	cfg.RetentionMs = 1000
	cfg.RetentionBytes = -1
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	end := l.LogEndOffset()
	if _, err := l.DeleteOldSegments(); err != nil {
		t.Fatal(err)
	}
	if l.LogStartOffset() != end || l.LogEndOffset() != end || l.Size() != 0 {
		t.Fatalf("after full expiry: start %d end %d size %d, want %d", l.LogStartOffset(), l.LogEndOffset(), l.Size(), end)
	}
	// cleanup.policy=compact alone never deletes by time.
	if _, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(1, clk.Ms(), "x")...)); err != nil {
		t.Fatal(err)
	}
	cfg.CleanupPolicy = CleanupCompact
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	if n, err := l.DeleteOldSegments(); err != nil || n != 0 {
		t.Fatalf("compact-only log lost %d segments (%v)", n, err)
	}
}

func TestDeleteRecordsBefore(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, smallConfig(), nil)
	for i := 0; i < 100; i++ {
		if _, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(2, 1, "v")...)); err != nil {
			t.Fatal(err)
		}
	}
	segsBefore := l.NumSegments()
	lso, err := l.DeleteRecordsBefore(101)
	if err != nil || lso != 101 || l.LogStartOffset() != 101 {
		t.Fatalf("delete records: %d %v", lso, err)
	}
	if l.NumSegments() >= segsBefore {
		t.Fatal("no segment below the new start was deleted")
	}
	if _, err := l.Read(100, 10); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below the new start: %v", err)
	}
	rr, err := l.Read(101, 10) // the batch holding 101 starts at 100
	if err != nil || batchHeaders(t, rr.Records)[0].BaseOffset != 100 || rr.LogStartOffset != 101 {
		t.Fatalf("read at the new start: %v", err)
	}
	if _, err := l.DeleteRecordsBefore(500); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("beyond the high watermark: %v", err)
	}
	if lso, _ := l.DeleteRecordsBefore(50); lso != 101 {
		t.Fatalf("moving back: %d", lso)
	}
	// The start offset survives a crash.
	crash(t, l)
	l = openLog(t, dir, smallConfig(), nil)
	if l.LogStartOffset() != 101 {
		t.Fatalf("log start after reopen: %d", l.LogStartOffset())
	}
	// Deleting everything rolls and leaves an empty log at the end offset.
	if lso, err := l.DeleteRecordsBefore(200); err != nil || lso != 200 {
		t.Fatalf("delete all: %d %v", lso, err)
	}
	if l.Size() != 0 || l.LogEndOffset() != 200 {
		t.Fatalf("after deleting all: size %d end %d", l.Size(), l.LogEndOffset())
	}
	res, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(1, 1, "v")...))
	if err != nil || res.BaseOffset != 200 || res.LogStartOffset != 200 {
		t.Fatalf("append after delete all: %+v %v", res, err)
	}
	l.Close()
}

func TestRolling(t *testing.T) {
	clk := newClock()
	cfg := DefaultConfig()
	cfg.SegmentMs = 1000
	cfg.SegmentIndexBytes = 8 * 3 // three offset index entries
	cfg.IndexIntervalBytes = 0
	l := tempLog(t, cfg, clk)
	app := func(ts int64) {
		if _, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(1, ts, "v")...)); err != nil {
			t.Fatal(err)
		}
	}
	app(clk.Ms())
	app(clk.Ms() + 500)
	if l.NumSegments() != 1 {
		t.Fatalf("rolled early: %d", l.NumSegments())
	}
	app(clk.Ms() + 1500) // segment.ms past the first batch's timestamp
	if l.NumSegments() != 2 {
		t.Fatalf("segment.ms roll: %d segments", l.NumSegments())
	}
	for i := 0; i < 6; i++ {
		app(clk.Ms() + 1500)
	}
	if l.NumSegments() < 3 {
		t.Fatalf("index-full roll: %d segments", l.NumSegments())
	}
	for _, s := range l.Segments() {
		if filepath.Base(segmentName(s.BaseOffset, ".log")) != fmt.Sprintf("%020d.log", s.BaseOffset) {
			t.Fatal("segment name")
		}
	}
}

// TestIndexDamageAfterCleanClose damages index files of a cleanly closed
// log (where segments are trusted and indexes checked on use): reads must
// still find every offset.
func TestIndexDamageAfterCleanClose(t *testing.T) {
	for _, damage := range []string{"delete", "truncate", "garbage", "shift"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, smallConfig(), nil)
			for i := 0; i < 300; i++ {
				if _, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(2, int64(i), "v")...)); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if filepath.Ext(e.Name()) != ".index" && filepath.Ext(e.Name()) != ".timeindex" {
					continue
				}
				p := filepath.Join(dir, e.Name())
				b, _ := os.ReadFile(p)
				switch damage {
				case "delete":
					os.Remove(p)
				case "truncate":
					os.WriteFile(p, b[:len(b)/2+1], 0o644)
				case "garbage":
					for i := range b {
						b[i] = byte(i * 7)
					}
					os.WriteFile(p, b, 0o644)
				case "shift": // plausible but wrong: positions moved by one entry
					if filepath.Ext(p) == ".index" && len(b) >= 16 {
						copy(b[4:], b[12:])
					}
					os.WriteFile(p, b, 0o644)
				}
			}
			l = openLog(t, dir, smallConfig(), nil)
			defer l.Close()
			for off := int64(0); off < l.LogEndOffset(); off++ {
				rr, err := l.Read(off, 1)
				if err != nil {
					t.Fatalf("read %d: %v", off, err)
				}
				h := batchHeaders(t, rr.Records)[0]
				if h.BaseOffset > off || h.lastOffset() < off {
					t.Fatalf("read %d got batch [%d, %d]", off, h.BaseOffset, h.lastOffset())
				}
			}
			if off, _, ok, err := l.OffsetForTimestamp(150); err != nil || !ok || off != 300 {
				t.Fatalf("offset for timestamp after index damage: %d %v %v", off, ok, err)
			}
		})
	}
}

// TestGroupCommit checks that concurrent Sync callers share fsyncs and that
// each returns only once its data is flushed.
func TestGroupCommit(t *testing.T) {
	var fsyncs atomic.Int64
	opts := testOpts(nil)
	gate := make(chan struct{})
	opts.hooks = &testHooks{fsync: func(f *os.File) error {
		fsyncs.Add(1)
		<-gate // hold the fsync until the test lets it go
		return f.Sync()
	}}
	l, err := Open(t.TempDir(), DefaultConfig(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		close(gate) // let any later fsync through
		l.Close()
	}()
	const writers = 16
	var wg sync.WaitGroup
	var done atomic.Int64
	var appended sync.WaitGroup
	appended.Add(writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(1, 1, "v")...))
			appended.Done()
			if err != nil {
				t.Error(err)
				return
			}
			if err := l.Sync(); err != nil {
				t.Error(err)
				return
			}
			if l.FlushedOffset() <= res.LastOffset {
				t.Errorf("Sync returned before offset %d was flushed (%d)", res.LastOffset, l.FlushedOffset())
			}
			done.Add(1)
		}()
	}
	appended.Wait()
	// One fsync is in flight, holding every caller; release fsyncs one by
	// one until all callers return.
	deadline := time.Now().Add(10 * time.Second)
	for done.Load() < writers {
		if time.Now().After(deadline) {
			t.Fatalf("Sync callers stuck: %d of %d done", done.Load(), writers)
		}
		select {
		case gate <- struct{}{}:
		case <-time.After(time.Millisecond):
		}
	}
	wg.Wait()
	// All 16 appends happened before the first fsync completed, so at most
	// two rounds (the first may have started early) were needed.
	if n := fsyncs.Load(); n > 2 {
		t.Fatalf("%d fsyncs for %d concurrent Sync calls, want at most 2", n, writers)
	}
}

func TestFlushMessages(t *testing.T) {
	var fsyncs atomic.Int64
	opts := testOpts(nil)
	opts.hooks = &testHooks{fsync: func(f *os.File) error { fsyncs.Add(1); return f.Sync() }}
	cfg := DefaultConfig()
	cfg.FlushMessages = 10
	l, err := Open(t.TempDir(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 0; i < 9; i++ {
		if _, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(1, 1, "v")...)); err != nil {
			t.Fatal(err)
		}
	}
	if fsyncs.Load() != 0 || l.FlushedOffset() != 0 {
		t.Fatalf("flushed before flush.messages: %d", fsyncs.Load())
	}
	if _, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(1, 1, "v")...)); err != nil {
		t.Fatal(err)
	}
	if fsyncs.Load() != 1 || l.FlushedOffset() != 10 {
		t.Fatalf("flush.messages: %d fsyncs, flushed %d", fsyncs.Load(), l.FlushedOffset())
	}
}

func TestFlushMs(t *testing.T) {
	clk := newClock()
	cfg := DefaultConfig()
	cfg.FlushMs = 1000
	l := tempLog(t, cfg, clk)
	if _, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(3, 1, "v")...)); err != nil {
		t.Fatal(err)
	}
	if err := l.Maintain(); err != nil || l.FlushedOffset() != 0 {
		t.Fatalf("flushed before flush.ms: %d %v", l.FlushedOffset(), err)
	}
	clk.Add(2 * time.Second)
	if err := l.Maintain(); err != nil || l.FlushedOffset() != 3 {
		t.Fatalf("flush.ms: flushed %d %v", l.FlushedOffset(), err)
	}
}

func TestFsyncFailureStopsAppends(t *testing.T) {
	opts := testOpts(nil)
	opts.hooks = &testHooks{fsync: func(*os.File) error { return errors.New("disk on fire") }}
	l, err := Open(t.TempDir(), DefaultConfig(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(1, 1, "v")...)); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); !errors.Is(err, ErrStorage) || KafkaErrorCode(err) != 56 {
		t.Fatalf("sync: %v", err)
	}
	if _, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(1, 1, "v")...)); !errors.Is(err, ErrStorage) {
		t.Fatalf("append after failed fsync: %v", err)
	}
	l.close(false)
}

// TestReadDuringRetention reads from a segment while retention deletes it:
// the read finishes on the open file.
func TestReadDuringRetention(t *testing.T) {
	clk := newClock()
	cfg := smallConfig()
	cfg.RetentionMs = 1000
	l := tempLog(t, cfg, clk)
	appendValues(t, l, clk, 200, 2, "v")
	segs := *l.segs.Load()
	first := segs[0]
	if !first.acquire() { // a reader in flight
		t.Fatal("acquire")
	}
	clk.Add(time.Hour)
	if _, err := l.DeleteOldSegments(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(first.path(logSuffix)); !os.IsNotExist(err) {
		t.Fatalf("segment file still there: %v", err)
	}
	buf := make([]byte, 100)
	if _, err := first.f.ReadAt(buf, 0); err != nil {
		t.Fatalf("in-flight read broke: %v", err)
	}
	if !bytes.Equal(buf[:8], make([]byte, 8)) {
		t.Fatal("first batch should have base offset 0")
	}
	first.release()
	if _, err := first.f.ReadAt(buf, 0); err == nil {
		t.Fatal("file still open after the last reader")
	}
	// Concurrent reads and retention: nothing errors but out of range.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				off := l.LogStartOffset()
				if _, err := l.Read(off, 1000); err != nil && !errors.Is(err, ErrOffsetOutOfRange) {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := 0; i < 50; i++ {
		if _, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(20, clk.Ms(), "v")...)); err != nil {
			t.Fatal(err)
		}
		clk.Add(2 * time.Second)
		if _, err := l.DeleteOldSegments(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestConfigParse(t *testing.T) {
	c, err := ParseTopicConfig(map[string]string{
		"segment.bytes": "1048576", "cleanup.policy": "delete, compact", "message.timestamp.type": "LogAppendTime",
		"min.cleanable.dirty.ratio": "0.25", "retention.ms": "-1", "min.insync.replicas": "2",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.SegmentBytes != 1<<20 || c.CleanupPolicy != CleanupDelete|CleanupCompact || c.MessageTimestampType != LogAppendTime ||
		c.MinCleanableDirtyRatio != 0.25 || c.RetentionMs != -1 {
		t.Fatalf("%+v", c)
	}
	if kv := c.TopicConfig(); kv["cleanup.policy"] != "compact,delete" || kv["segment.bytes"] != "1048576" {
		t.Fatalf("%v", kv)
	}
	for k, v := range map[string]string{
		"segment.bytes": "10", "retention.ms": "-5", "cleanup.policy": "forever", "min.cleanable.dirty.ratio": "1.5",
		"message.timestamp.type": "Now", "max.message.bytes": "x", "flush.messages": "0",
	} {
		_, err := ParseTopicConfig(map[string]string{k: v})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Key != k || KafkaErrorCode(err) != 40 {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
	b, err := ParseBrokerConfig(map[string]string{"log.retention.hours": "1", "log.segment.bytes": "4096", "log.cleanup.policy": "compact"})
	if err != nil || b.RetentionMs != 3600000 || b.SegmentBytes != 4096 || b.CleanupPolicy != CleanupCompact {
		t.Fatalf("broker config: %+v %v", b, err)
	}
	b, err = ParseBrokerConfig(map[string]string{"log.retention.hours": "1", "log.retention.ms": "5"})
	if err != nil || b.RetentionMs != 5 {
		t.Fatalf("log.retention.ms wins: %+v %v", b, err)
	}
	_, err = ParseBrokerConfig(map[string]string{"log.segment.bytes": "1"})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "log.segment.bytes" {
		t.Fatalf("broker key in error: %v", err)
	}
}
