package partlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// The read side of a log: Read and ReadAppend for Fetch (whole batches copied from the
// segment files, bounded by the high watermark or the last stable offset), and the
// timestamp lookups of ListOffsets.

// FileRange says where a part of a read came from: bytes [Position,
// Position+Size) of the segment file whose base offset is SegmentBaseOffset.
type FileRange struct {
	SegmentBaseOffset int64
	Position          int64
	Size              int64
}

// AbortedTransaction is an entry of the aborted-transaction index, as a
// Fetch response carries it: the consumer drops ProducerID's records from
// FirstOffset up to the producer's abort marker.
type AbortedTransaction struct {
	ProducerID  int64
	FirstOffset int64
}

// ReadResult is the answer to a read.
type ReadResult struct {
	// Records holds whole record batches exactly as stored, ready to be the
	// records field of a Fetch response. The first batch is the one that
	// contains the requested offset, so it may start below it (clients skip
	// the records before their fetch offset, as with Kafka). Empty when the
	// offset is the log end offset.
	Records []byte
	// Ranges says which file bytes Records holds.
	Ranges []FileRange
	// HighWatermark is the log end offset (brokerlite is one node).
	HighWatermark int64
	// LastStableOffset is the first offset of the oldest ongoing
	// transaction, or the high watermark when none is ongoing.
	LastStableOffset int64
	// LogStartOffset is the first offset a consumer may read.
	LogStartOffset int64
	// AbortedTransactions are the aborted transactions overlapping Records;
	// only ReadCommitted fills it.
	AbortedTransactions []AbortedTransaction
}

// WriteTo writes Records to w.
func (r *ReadResult) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(r.Records)
	return int64(n), err
}

// AppendTo appends Records to dst.
func (r *ReadResult) AppendTo(dst []byte) []byte { return append(dst, r.Records...) }

// Read returns the batches starting with the one that contains offset, up to
// maxBytes (capped at 64 MiB) but always at least one whole batch when one exists at or after
// offset (Kafka's rule, so a consumer can always make progress). Reads stay
// within one segment, as Kafka's do, and return whole batches only. Reading
// at the log end offset returns no records; outside [LogStartOffset,
// LogEndOffset] it returns ErrOffsetOutOfRange.
func (l *Log) Read(offset int64, maxBytes int32) (ReadResult, error) {
	return l.ReadAppend(nil, offset, maxBytes)
}

// ReadAppend is Read that appends the records to dst (a reused buffer) and
// returns them in ReadResult.Records.
func (l *Log) ReadAppend(dst []byte, offset int64, maxBytes int32) (ReadResult, error) {
	return l.readAppend(dst, offset, maxBytes, nil)
}

// readAppend reads below the high watermark, or, when index is not nil
// (read_committed), below the last stable offset; it then sets *index to the
// aborted-transaction index as it was when the read was bounded. The index is
// taken after the bounds and before the segments: an append adds an abort's
// entry before it moves the last stable offset and the log end past the marker,
// so a read bounded past an aborted batch finds its entry; and the cleaner and
// retention drop entries only after the segments without their records are in
// place, so a read of the segments loaded after the index sees no aborted record
// whose entry is missing. Kafka too bounds a read first and collects the aborted
// transactions of what it returns after.
func (l *Log) readAppend(dst []byte, offset int64, maxBytes int32, index *[]AbortedTxn) (ReadResult, error) {
	committed := index != nil
	cfg := l.cfg.Load()
	for attempt := 0; ; attempt++ {
		if l.closed.Load() {
			return ReadResult{}, ErrClosed
		}
		hw := l.leo.Load()
		lso := l.lso.Load()
		res := ReadResult{HighWatermark: hw, LogStartOffset: lso, LastStableOffset: hw, Records: dst}
		if s := l.stable.Load(); s >= 0 && s < hw {
			res.LastStableOffset = max(s, lso)
		}
		if offset < lso || offset > hw {
			return res, fmt.Errorf("%w: offset %d, log has [%d, %d]", ErrOffsetOutOfRange, offset, lso, hw)
		}
		limit := hw
		if committed {
			limit = res.LastStableOffset
		}
		if offset >= limit {
			return res, nil
		}
		if committed {
			*index = l.aborted.snapshot()
		}
		segs := *l.segs.Load()
		i := sort.Search(len(segs), func(i int) bool { return segs[i].base > offset }) - 1
		if i < 0 {
			if attempt < 3 {
				continue // retention moved the log start under us
			}
			return res, fmt.Errorf("%w: offset %d is below the first segment", ErrOffsetOutOfRange, offset)
		}
		retry := false
		for ; i < len(segs); i++ {
			s := segs[i]
			if !s.acquire() {
				retry = true
				break
			}
			out, rng, done, err := l.readSegment(s, dst, offset, maxBytes, limit, cfg)
			s.release()
			if err != nil {
				return res, err
			}
			if done {
				res.Records = out
				if rng.Size > 0 {
					res.Ranges = []FileRange{rng}
				}
				return res, nil
			}
		}
		if !retry {
			return res, nil
		}
	}
}

// readSegment reads from one segment. done is false when the segment has no
// batch at or after offset (the caller goes on to the next segment).
func (l *Log) readSegment(s *segment, dst []byte, offset int64, maxBytes int32, hw int64, cfg *Config) ([]byte, FileRange, bool, error) {
	size := s.size.Load()
	start := len(dst)
	// A consumer reading on from where its last read ended hits the hint:
	// one pread, no index lookup.
	if h := s.hint.Load(); h != nil && h.offset == offset && h.pos < size {
		out, rng, ok, err := l.readAt(s, dst, h.pos, offset, -1, maxBytes, size, hw)
		if ok || err != nil {
			return out, rng, true, err
		}
		dst = dst[:start] // the hint was stale: look the offset up
	}
	pos, h, found, err := s.locate(offset, size, cfg.IndexIntervalBytes)
	if err != nil {
		return dst, FileRange{}, false, err
	}
	if !found {
		return dst, FileRange{}, false, nil
	}
	if h.BaseOffset >= hw {
		return dst, FileRange{}, true, nil
	}
	out, rng, ok, err := l.readAt(s, dst, pos, h.BaseOffset, h.size(), maxBytes, size, hw)
	if err == nil && !ok {
		// Segment bytes below the end never change under a reader (it holds
		// the file open), so this is damage.
		err = l.corruptRead(s, pos, "the batch header does not match the index")
	}
	return out, rng, true, err
}

// maxReadBytes caps what one read returns (beyond a first batch that is
// larger), so a huge maxBytes cannot make the log allocate a whole segment.
// Kafka's own fetch.max.bytes default is 50 MiB.
const maxReadBytes = 64 << 20

// readHint remembers where the last read of a segment ended.
type readHint struct{ offset, pos int64 }

// readAt reads the batches at pos (whose first batch has base offset
// wantBase, or which contains offset when wantBase is from the hint) into
// dst, up to maxBytes but at least the first batch, keeping whole batches
// below the high watermark. firstSize is the first batch's size when known
// (-1 otherwise). ok is false when the bytes at pos are not the expected
// batch (a stale hint).
func (l *Log) readAt(s *segment, dst []byte, pos, wantBase int64, firstSize int, maxBytes int32, size, hw int64) ([]byte, FileRange, bool, error) {
	want := min(int64(maxBytes), maxReadBytes)
	if want < batchHeaderSize {
		want = batchHeaderSize
	}
	if firstSize > 0 && want < int64(firstSize) {
		want = int64(firstSize)
	}
	if rem := size - pos; want > rem {
		want = rem
	}
	start := len(dst)
	// grow makes room for n bytes after start, keeping the kept bytes
	// already read there. It at least doubles the buffer, as append does: a
	// caller appending many partitions' reads to one buffer then copies the
	// whole answer O(log n) times instead of once per partition (which held
	// partitions times answer size in superseded buffers).
	grow := func(n, kept int64) {
		if int64(cap(dst)-start) < n {
			nb := make([]byte, start, max(start+int(n), 2*cap(dst)))
			copy(nb[:start+int(kept)], dst[:start+int(kept)])
			dst = nb
		}
	}
	grow(want, 0)
	buf := dst[start : start+int(want)]
	if _, err := s.f.ReadAt(buf, pos); err != nil {
		return dst[:start], FileRange{}, false, storageErr("read segment", err)
	}
	h, ok := parseHeader(buf)
	if !ok || h.BaseOffset != wantBase || h.Magic != 2 || h.Length < batchHeaderSize-logOverhead || pos+int64(h.size()) > size {
		return dst[:start], FileRange{}, false, nil
	}
	if int64(h.size()) > want {
		// The first batch is larger than maxBytes: it comes whole anyway.
		first := int64(h.size())
		grow(first, want)
		buf = dst[start : start+int(first)]
		if _, err := s.f.ReadAt(buf[want:], pos+want); err != nil {
			return dst[:start], FileRange{}, false, storageErr("read segment", err)
		}
		want = first
	}
	// Keep whole batches below the high watermark, each checked against its
	// CRC: damage is served as CORRUPT_MESSAGE to the read that reaches it
	// (a read stops before a damaged batch that is not its first).
	var end, next int64
	for end+logOverhead <= want {
		bs := int64(int32(binary.BigEndian.Uint32(buf[end+offBatchLength:]))) + logOverhead
		if bs < batchHeaderSize || end+bs > want {
			if end == 0 && bs < batchHeaderSize {
				return dst[:start], FileRange{}, false, l.corruptRead(s, pos, fmt.Sprintf("batch length %d", bs-logOverhead))
			}
			break
		}
		if int64(binary.BigEndian.Uint64(buf[end:])) >= hw {
			break
		}
		if _, _, err := checkStoredBatch(buf[end : end+bs]); err != nil {
			if end == 0 {
				return dst[:start], FileRange{}, false, l.corruptRead(s, pos, err.Error())
			}
			break
		}
		next = int64(binary.BigEndian.Uint64(buf[end:])) + int64(int32(binary.BigEndian.Uint32(buf[end+offLastOffsetDelta:]))) + 1
		end += bs
	}
	if end > 0 {
		s.hint.Store(&readHint{offset: next, pos: pos + end})
	}
	return dst[:start+int(end)], FileRange{SegmentBaseOffset: s.base, Position: pos, Size: end}, true, nil
}

// OffsetForTimestamp returns the first offset whose record timestamp is at
// least ts, with that record's timestamp (ListOffsets by timestamp). ok is
// false when no record has such a timestamp.
func (l *Log) OffsetForTimestamp(ts int64) (offset int64, timestamp int64, ok bool, err error) {
	cfg := l.cfg.Load()
	lso := l.lso.Load()
	hw := l.leo.Load()
	segs := *l.segs.Load()
	for _, s := range segs {
		if !s.acquire() {
			continue
		}
		off, t, found, err := l.offsetForTimestampIn(s, ts, lso, hw, cfg)
		s.release()
		if err != nil {
			return 0, 0, false, err
		}
		if found {
			return off, t, true, nil
		}
	}
	return 0, 0, false, nil
}

func (l *Log) offsetForTimestampIn(s *segment, ts, lso, hw int64, cfg *Config) (int64, int64, bool, error) {
	s.mu.RLock()
	known := s.maxTs
	s.mu.RUnlock()
	if known < ts {
		return 0, 0, false, nil // the segment's largest timestamp is known without its index
	}
	if err := s.loadIndexes(cfg.IndexIntervalBytes); err != nil {
		return 0, 0, false, err
	}
	s.mu.RLock()
	maxTs := s.maxTs
	start := s.base
	if i := floorTime(s.tidx, ts); i >= 0 {
		start = s.base + int64(s.tidx[i].rel)
	}
	s.mu.RUnlock()
	if maxTs < ts {
		return 0, 0, false, nil
	}
	if start < lso {
		start = lso
	}
	size := s.size.Load()
	pos, _, found, err := s.locate(start, size, cfg.IndexIntervalBytes)
	if err != nil || !found {
		return 0, 0, false, err
	}
	var (
		resOff, resTs int64
		got           bool
		innerErr      error
	)
	_, _, ioErr := scanBatches(s.f, pos, size, true, 64<<10, func(h *batchHeader, _ int64, _ int, data []byte) error {
		if h.BaseOffset >= hw {
			return errStopScan
		}
		if h.MaxTimestamp < ts || h.lastOffset() < lso {
			return nil
		}
		// The batch holds the first record with timestamp >= ts; find it.
		innerErr = eachRecordKey(h, data, func(r *record) error {
			if r.Offset >= lso && r.Timestamp >= ts {
				resOff, resTs, got = r.Offset, r.Timestamp, true
				return errStopScan
			}
			return nil
		})
		if errors.Is(innerErr, errStopScan) {
			innerErr = nil
		}
		if got || innerErr != nil {
			return errStopScan
		}
		return nil
	})
	if ioErr != nil {
		return 0, 0, false, storageErr("read segment", ioErr)
	}
	if innerErr != nil {
		return 0, 0, false, innerErr
	}
	return resOff, resTs, got, nil
}

// MaxTimestamp returns the offset and timestamp of the record with the
// largest timestamp in the log (ListOffsets with timestamp -3, KIP-734). ok
// is false when the log is empty.
func (l *Log) MaxTimestamp() (offset int64, timestamp int64, ok bool, err error) {
	cfg := l.cfg.Load()
	var best *segment
	bestTs := int64(-1)
	segs := *l.segs.Load()
	for _, s := range segs {
		s.mu.RLock()
		if s.maxTs > bestTs {
			best, bestTs = s, s.maxTs
		}
		s.mu.RUnlock()
	}
	if best == nil {
		return 0, 0, false, nil
	}
	// The first record at or after the log start with the largest
	// timestamp.
	if !best.acquire() {
		return l.MaxTimestamp()
	}
	defer best.release()
	off, ts, found, err := l.offsetForTimestampIn(best, bestTs, l.lso.Load(), l.leo.Load(), cfg)
	return off, ts, found, err
}
