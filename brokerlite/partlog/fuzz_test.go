package partlog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// seedBatches returns valid batches of every codec and kind, for seeding.
func seedBatches(t testing.TB) [][]byte {
	var out [][]byte
	for _, codec := range []int8{codecNone, codecGzip, codecSnappy, codecLZ4, codecZstd} {
		out = append(out, mkBatch(t, batchOpt{codec: codec}, valueRecs(3, 1000, "v")...))
	}
	out = append(out,
		mkBatch(t, batchOpt{pid: 3, epoch: 1, seq: 0}, rec{key: []byte("k"), value: nil, ts: 5}),
		mkBatch(t, batchOpt{pid: 3, epoch: 1, seq: 1, txn: true}, rec{value: []byte("txn"), ts: 6}),
	)
	return out
}

// FuzzAppend feeds arbitrary bytes to Append as a produce request's records
// field. It must never panic; what it accepts must read back byte for byte
// (after offset assignment) and decode; what it rejects must leave the log
// unchanged.
func FuzzAppend(f *testing.F) {
	for _, b := range seedBatches(f) {
		f.Add(b)
		f.Add(append(append([]byte(nil), b...), b...)) // two batches
		f.Add(b[:len(b)-1])                            // torn
	}
	f.Add([]byte{})
	cfg := DefaultConfig()
	cfg.MaxMessageBytes = 1 << 16
	skipFsync.Store(true)
	l, err := Open(f.TempDir(), cfg, testOpts(nil))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { l.Close(); skipFsync.Store(false) })
	f.Fuzz(func(t *testing.T, b []byte) {
		in := append([]byte(nil), b...)
		leo := l.LogEndOffset()
		res, err := l.Append(in)
		if err != nil {
			if l.LogEndOffset() != leo {
				t.Fatalf("rejected append (%v) moved the log end", err)
			}
			if KafkaErrorCode(err) == -1 {
				t.Fatalf("error without a Kafka code: %v", err)
			}
			return
		}
		if res.BaseOffset != leo || res.LastOffset < res.BaseOffset {
			t.Fatalf("bad result %+v for log end %d", res, leo)
		}
		rr, err := l.Read(res.BaseOffset, int32(len(in)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rr.Records, in) {
			t.Fatalf("read back %d bytes differing from the %d appended", len(rr.Records), len(in))
		}
		// Accepted batches decode (or fail cleanly: records are not
		// checked on append, as in Kafka's fast path).
		for p := rr.Records; len(p) > 0; {
			h, size, err := checkStoredBatch(p)
			if err != nil {
				t.Fatalf("stored batch fails its check: %v", err)
			}
			if err := eachRecordOf(&h, p[:size], func(*record) error { return nil }); err != nil && !errors.Is(err, ErrCorruptMessage) {
				t.Fatalf("record decoding error without ErrCorruptMessage: %v", err)
			}
			p = p[size:]
		}
	})
}

// FuzzValidateBatch checks the batch validator and record decoder alone on
// arbitrary bytes, with compaction's key check.
func FuzzValidateBatch(f *testing.F) {
	for _, b := range seedBatches(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, size, err := validateBatch(b, 1<<20, true)
		if err != nil {
			return
		}
		if size > len(b) || size < batchHeaderSize {
			t.Fatalf("size %d for %d bytes", size, len(b))
		}
		stored := append([]byte(nil), b[:size]...)
		putBase(stored, 0) // the log assigns the base offset
		if _, _, err := checkStoredBatch(stored); err != nil {
			t.Fatalf("valid batch fails the stored check: %v", err)
		}
		_ = checkKeys(&h, b[:size])
		n := int32(0)
		err = eachRecordOf(&h, b[:size], func(r *record) error {
			n++
			if r.Offset < h.BaseOffset || r.Offset > h.lastOffset() {
				t.Fatalf("record offset %d outside the batch", r.Offset)
			}
			return nil
		})
		if err == nil && n != h.NumRecords {
			t.Fatalf("decoded %d records of %d", n, h.NumRecords)
		}
	})
}

// FuzzRecovery opens a partition directory holding arbitrary segment, index
// and time index bytes (two segments), after a crash or after a "clean"
// shutdown. Open must never panic; when it succeeds, the log must serve
// every offset it claims, take an append, and reopen.
func FuzzRecovery(f *testing.F) {
	var good []byte
	for _, b := range seedBatches(f) {
		h, _ := parseHeader(b)
		_ = h
		good = append(good, b...)
	}
	// Give the seed real offsets.
	fix := func(b []byte) []byte {
		b = append([]byte(nil), b...)
		next := int64(0)
		for p := 0; p+batchHeaderSize <= len(b); {
			h, _ := parseHeader(b[p:])
			putBase(b[p:], next)
			next += int64(h.LastOffsetDelta) + 1
			p += h.size()
		}
		return b
	}
	good = fix(good)
	f.Add(good, []byte{}, []byte{}, good[:100], uint32(7), false)
	f.Add(good, []byte{0, 0, 0, 3, 0, 0, 0, 90}, []byte{0, 0, 0, 0, 0, 0, 3, 232, 0, 0, 0, 3}, []byte{}, uint32(7), true)
	f.Add(good[:len(good)-3], []byte{}, []byte{}, []byte{}, uint32(0), false)
	// A cleaned segment with transactions: a marker with a delete horizon
	// (KIP-534) and a removed marker (a control batch without records).
	var cleaned []byte
	cleaned = append(cleaned, mkBatch(f, batchOpt{pid: 3, seq: 0, txn: true}, rec{key: []byte("k"), value: []byte("v"), ts: 1})...)
	marker := EncodeMarker(3, 0, false, 0, 2)
	mh, _ := parseHeader(marker)
	withHorizon, err := withDeleteHorizon(nil, &mh, marker, 5000)
	if err != nil {
		f.Fatal(err)
	}
	cleaned = append(cleaned, withHorizon...)
	cleaned = append(cleaned, mkBatch(f, batchOpt{pid: 3, seq: 1, txn: true}, rec{key: []byte("k"), value: []byte("w"), ts: 3})...)
	removed, err := emptyBatch(nil, &mh, true)
	if err != nil {
		f.Fatal(err)
	}
	cleaned = fix(append(cleaned, removed...))
	f.Add(cleaned, []byte{}, []byte{}, []byte{}, uint32(0), false)
	f.Add(cleaned, []byte{}, []byte{}, []byte{}, uint32(0), true)
	skipFsync.Store(true)
	f.Cleanup(func() { skipFsync.Store(false) })
	f.Fuzz(func(t *testing.T, seg0, idx0, tidx0, seg1 []byte, base1 uint32, clean bool) {
		dir := t.TempDir()
		write := func(name string, b []byte) {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write(segmentName(0, logSuffix), seg0)
		write(segmentName(0, indexSuffix), idx0)
		write(segmentName(0, timeIndexSuffix), tidx0)
		if len(seg1) > 0 && base1 > 0 {
			write(segmentName(int64(base1), logSuffix), seg1)
		}
		if clean {
			write(cleanShutdownFile, []byte("clean\n"))
		}
		cfg := smallConfig()
		l, err := Open(dir, cfg, testOpts(nil))
		if err != nil {
			return
		}
		for off := l.LogStartOffset(); off < l.LogEndOffset(); {
			rr, err := l.Read(off, 1<<16)
			if err != nil {
				if clean {
					break // a "clean" log with damaged closed segments may fail reads, but must not panic
				}
				t.Fatalf("read %d of [%d, %d): %v", off, l.LogStartOffset(), l.LogEndOffset(), err)
			}
			if len(rr.Records) == 0 {
				if clean {
					break
				}
				t.Fatalf("empty read at %d < %d", off, l.LogEndOffset())
			}
			hs := batchHeaders(t, rr.Records)
			off = hs[len(hs)-1].lastOffset() + 1
		}
		_, _, _, _ = l.OffsetForTimestamp(0)
		_, _, _, _ = l.MaxTimestamp()
		leo := l.LogEndOffset()
		res, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(1, 1, "x")...))
		if err != nil {
			t.Fatalf("append after recovery: %v", err)
		}
		if res.BaseOffset != leo {
			t.Fatalf("append at %d, log end was %d", res.BaseOffset, leo)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l, err = Open(dir, cfg, testOpts(nil))
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if l.LogEndOffset() != leo+1 {
			t.Fatalf("reopened end %d, want %d", l.LogEndOffset(), leo+1)
		}
		l.Close()
	})
}

func putBase(b []byte, off int64) {
	for i := 0; i < 8; i++ {
		b[i] = byte(off >> (56 - 8*i))
	}
}

// FuzzProducerSnapshot decodes arbitrary snapshot bytes: never a panic, and
// what decodes re-encodes to the same bytes.
func FuzzProducerSnapshot(f *testing.F) {
	ps := newProducerState()
	ps.replay(&batchHeader{ProducerID: 9, ProducerEpoch: 2, BaseSequence: 4, LastOffsetDelta: 2, BaseOffset: 10, MaxTimestamp: 77})
	f.Add(encodeSnapshot(ps, 13))
	f.Add(encodeSnapshot(newProducerState(), 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, off, err := decodeSnapshot(b)
		if err != nil {
			return
		}
		if re := encodeSnapshot(got, off); !bytes.Equal(re, b) {
			t.Fatalf("snapshot does not round-trip")
		}
	})
}

// FuzzTopicConfig parses arbitrary key/values: never a panic, and a config
// that parses validates and round-trips through TopicConfig.
func FuzzTopicConfig(f *testing.F) {
	f.Add("segment.bytes", "1024")
	f.Add("cleanup.policy", "compact,delete")
	f.Add("min.cleanable.dirty.ratio", "NaN")
	f.Add("retention.ms", "-2")
	f.Fuzz(func(t *testing.T, k, v string) {
		c, err := ParseTopicConfig(map[string]string{k: v})
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error is not a *ConfigError: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		c2, err := ParseTopicConfig(c.TopicConfig())
		if err != nil || c2 != c {
			t.Fatalf("round trip: %+v vs %+v (%v)", c2, c, err)
		}
	})
}
