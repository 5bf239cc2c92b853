package partlog

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// File name suffixes, as Kafka names them.
const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	deletedSuffix   = ".deleted" // a segment file waiting for file.delete.delay.ms
	cleanedSuffix   = ".cleaned" // the cleaner's output before the swap
	swapSuffix      = ".swap"    // the cleaner's output, committed, not yet renamed
)

func segmentName(base int64, suffix string) string {
	return fmt.Sprintf("%020d%s", base, suffix)
}

// parseSegmentName returns the base offset of a file named
// <20 digits><suffix>.
func parseSegmentName(name, suffix string) (int64, bool) {
	if !strings.HasSuffix(name, suffix) {
		return 0, false
	}
	digits := strings.TrimSuffix(name, suffix)
	if len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// segment is one .log file and its indexes. The log owns one reference while
// the segment is in its segment list; readers and the syncer take more. The
// file is closed when the last reference goes.
type segment struct {
	base int64
	dir  string
	f    *os.File

	refs atomic.Int32
	// hint is where the last read ended, so a consumer reading on needs no
	// index lookup.
	hint atomic.Pointer[readHint]
	// size is the number of bytes of whole batches in the file: what
	// readers may read. Only the appender (under Log.mu) grows it.
	size atomic.Int64

	mu sync.RWMutex // guards the fields below
	// oidx and tidx are the offset and time indexes. They are always in
	// memory for the active segment; closed segments load them on first use.
	oidx   []offsetEntry
	tidx   []timeEntry
	loaded bool
	// dirtyIdx: the in-memory indexes differ from the index files.
	dirtyIdx bool
	// maxTs is the largest batch maxTimestamp in the segment (-1 when
	// empty), maxTsOffset the base offset of the first batch that has it.
	maxTs       int64
	maxTsOffset int64
	// firstTs is the first batch's maxTimestamp (-1 when empty): segment.ms
	// is measured from it, as in Kafka.
	firstTs int64
	// nextOffset is the offset after the segment's last batch (the base
	// offset when empty). Exact for the active segment and for segments
	// that recovery or the cleaner scanned; for others, -1 until known.
	nextOffset int64
	// bytesSinceIndex counts the bytes appended since the last offset
	// index entry (append state of the active segment).
	bytesSinceIndex int64
	// createdMs is when the segment was created (clock of the log), used
	// for segment.ms while the segment is empty.
	createdMs int64
	// modMs is when the segment was last written: the file's modification
	// time when opened, then the log's clock at each append. It stands in
	// for the largest timestamp of a segment whose batches have none, as
	// Kafka's LogSegment.largestTimestamp falls back to the file's
	// last-modified time.
	modMs int64
	// logger, when set by the log, hears about index rebuilds.
	logger *slog.Logger
}

func (s *segment) path(suffix string) string {
	return filepath.Join(s.dir, segmentName(s.base, suffix))
}

func newSegmentState(dir string, base int64, f *os.File) *segment {
	s := &segment{base: base, dir: dir, f: f, maxTs: -1, maxTsOffset: -1, firstTs: -1, nextOffset: -1}
	s.refs.Store(1)
	return s
}

// createSegment creates an empty segment file (truncating a leftover one).
func createSegment(dir string, base int64, nowMs int64) (*segment, error) {
	f, err := os.OpenFile(filepath.Join(dir, segmentName(base, logSuffix)), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, storageErr("create segment", err)
	}
	s := newSegmentState(dir, base, f)
	s.loaded = true
	s.nextOffset = base
	s.createdMs, s.modMs = nowMs, nowMs
	// A leftover index of an earlier segment with this base would be wrong.
	_ = os.Remove(s.path(indexSuffix))
	_ = os.Remove(s.path(timeIndexSuffix))
	_ = os.Remove(s.path(txnIndexSuffix))
	return s, nil
}

// openSegmentFile opens an existing .log file. The caller fills in the state.
func openSegmentFile(dir string, base int64) (*segment, int64, error) {
	f, err := os.OpenFile(filepath.Join(dir, segmentName(base, logSuffix)), os.O_RDWR, 0)
	if err != nil {
		return nil, 0, storageErr("open segment", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, storageErr("stat segment", err)
	}
	s := newSegmentState(dir, base, f)
	s.modMs = st.ModTime().UnixMilli()
	return s, st.Size(), nil
}

func (s *segment) acquire() bool {
	for {
		n := s.refs.Load()
		if n <= 0 {
			return false
		}
		if s.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (s *segment) release() {
	if s.refs.Add(-1) == 0 {
		_ = s.f.Close()
	}
}

// renameDeleted renames the segment's files to <name>.deleted so a restart
// never takes them for live data; the caller removes them later.
func (s *segment) renameDeleted() []string {
	var out []string
	for _, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix} {
		from := s.path(suf)
		to := from + deletedSuffix
		if err := os.Rename(from, to); err == nil {
			out = append(out, to)
		}
	}
	return out
}

// relOK reports whether offset fits this segment's int32 relative offsets.
func (s *segment) relOK(offset int64) bool {
	return offset >= s.base && offset-s.base <= 1<<31-1
}

// addBatchLocked updates the in-memory indexes and timestamps for a batch
// appended at pos. The caller holds s.mu for writing.
func (s *segment) addBatchLocked(h *batchHeader, pos int64, size int, interval int32) {
	if s.firstTs < 0 && s.nextOffset == s.base {
		s.firstTs = h.MaxTimestamp
	}
	if h.MaxTimestamp > s.maxTs {
		s.maxTs = h.MaxTimestamp
		s.maxTsOffset = h.BaseOffset
	}
	if s.bytesSinceIndex > int64(interval) {
		s.oidx = append(s.oidx, offsetEntry{rel: uint32(h.BaseOffset - s.base), pos: uint32(pos)})
		s.maybeAddTimeLocked()
		s.bytesSinceIndex = 0
		s.dirtyIdx = true
	}
	s.bytesSinceIndex += int64(size)
	s.nextOffset = h.lastOffset() + 1
}

// maybeAddTimeLocked appends a time index entry for the largest timestamp so
// far, if it grew since the last entry (Kafka's timeIndex.maybeAppend).
func (s *segment) maybeAddTimeLocked() {
	if s.maxTs < 0 {
		return
	}
	if n := len(s.tidx); n == 0 || s.maxTs > s.tidx[n-1].ts {
		rel := uint32(s.maxTsOffset - s.base)
		if n > 0 && rel < s.tidx[n-1].rel {
			return
		}
		s.tidx = append(s.tidx, timeEntry{ts: s.maxTs, rel: rel})
		s.dirtyIdx = true
	}
}

// writeIndexes writes the in-memory indexes to the index files if they
// changed. sync fsyncs them (clean shutdown); otherwise recovery rebuilds
// them after a crash.
func (s *segment) writeIndexes(sync bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeIndexesSyncLocked(sync)
}

func (s *segment) writeIndexesLocked() { _ = s.writeIndexesSyncLocked(false) }

func (s *segment) writeIndexesSyncLocked(sync bool) error {
	if !s.loaded || !s.dirtyIdx {
		return nil
	}
	if err := writeFileSync(s.path(indexSuffix), encodeOffsetIndex(s.oidx), sync); err != nil {
		return storageErr("write offset index", err)
	}
	if err := writeFileSync(s.path(timeIndexSuffix), encodeTimeIndex(s.tidx), sync); err != nil {
		return storageErr("write time index", err)
	}
	s.dirtyIdx = false
	return nil
}

// scanSmallBuf is the buffer size of offset lookups: enough for the
// headers of the batches between two index entries in the common case.
// Such buffers are pooled.
const scanSmallBuf = 4 << 10

var smallBufs = sync.Pool{New: func() any { b := make([]byte, scanSmallBuf); return &b }}

// scanLargeBuf is the buffer size of scans that read whole segments
// (recovery, start-up, the cleaner). Pooled too: opening thousands of
// partitions must not allocate one per partition.
const scanLargeBuf = 1 << 20

var largeBufs = sync.Pool{New: func() any { b := make([]byte, scanLargeBuf); return &b }}

// errStopScan ends a scan early without error.
var errStopScan = errors.New("stop scan")

// scanBatches walks the batches of f from pos to end. With verify it reads
// every byte and checks each batch's CRC (recovery); without, it checks the
// headers only. fn sees each good batch; data is the whole batch when verify
// is set and nil otherwise. It returns the position where the walk stopped:
// end, the start of the first bad batch (bad says why), or where fn returned
// errStopScan. ioErr is a read failure.
func scanBatches(f *os.File, pos, end int64, verify bool, bufSize int,
	fn func(h *batchHeader, pos int64, size int, data []byte) error) (stop int64, bad error, ioErr error) {
	var buf []byte
	switch bufSize {
	case scanSmallBuf:
		bp := smallBufs.Get().(*[]byte)
		defer smallBufs.Put(bp)
		buf = (*bp)[:0]
	case scanLargeBuf:
		bp := largeBufs.Get().(*[]byte)
		defer largeBufs.Put(bp)
		buf = (*bp)[:0]
	default:
		buf = make([]byte, 0, bufSize)
	}
	bufPos := pos
	// fill makes buf hold at least need bytes from p (or fewer at the end).
	fill := func(p int64, need int) error {
		if p >= bufPos && p+int64(need) <= bufPos+int64(len(buf)) {
			return nil
		}
		n := int64(cap(buf))
		if int64(need) > n {
			n = int64(need)
		}
		if rem := end - p; n > rem {
			n = rem
		}
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		bufPos = p
		_, err := f.ReadAt(buf, p)
		if err != nil && !(errors.Is(err, io.EOF)) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return nil
	}
	for pos < end {
		if end-pos < batchHeaderSize {
			return pos, fmt.Errorf("%w: %d trailing bytes at position %d", ErrCorruptMessage, end-pos, pos), nil
		}
		if err := fill(pos, batchHeaderSize); err != nil {
			return pos, nil, err
		}
		h, _ := parseHeader(buf[pos-bufPos:])
		if h.Length < batchHeaderSize-logOverhead || int64(h.size()) > end-pos {
			return pos, fmt.Errorf("%w: batch length %d at position %d", ErrCorruptMessage, h.Length, pos), nil
		}
		size := h.size()
		var data []byte
		if verify {
			if err := fill(pos, size); err != nil {
				return pos, nil, err
			}
			data = buf[pos-bufPos : pos-bufPos+int64(size)]
			if _, _, err := checkStoredBatch(data); err != nil {
				return pos, fmt.Errorf("at position %d: %w", pos, err), nil
			}
		} else if h.Magic != 2 || h.LastOffsetDelta < 0 || h.NumRecords < 0 || h.BaseOffset < 0 {
			return pos, fmt.Errorf("%w: bad batch header at position %d", ErrCorruptMessage, pos), nil
		}
		if err := fn(&h, pos, size, data); err != nil {
			if errors.Is(err, errStopScan) {
				return pos, nil, nil
			}
			return pos, err, nil
		}
		pos += int64(size)
	}
	return pos, nil, nil
}

// rebuildIndexesLocked rebuilds the segment's indexes and timestamps from
// its log file up to size, checking headers. It returns the position where
// the walk stopped early on a bad header (size if none). The caller holds
// s.mu for writing.
func (s *segment) rebuildIndexesLocked(size int64, interval int32) (int64, error) {
	s.oidx, s.tidx = nil, nil
	s.maxTs, s.maxTsOffset, s.firstTs = -1, -1, -1
	s.bytesSinceIndex = 0
	s.nextOffset = s.base
	prev := s.base
	stop, bad, ioErr := scanBatches(s.f, 0, size, false, 256<<10, func(h *batchHeader, pos int64, n int, _ []byte) error {
		if h.BaseOffset < prev || !s.relOK(h.lastOffset()) {
			return fmt.Errorf("%w: offset %d out of order at position %d", ErrCorruptMessage, h.BaseOffset, pos)
		}
		s.addBatchLocked(h, pos, n, interval)
		prev = h.lastOffset() + 1
		return nil
	})
	if ioErr != nil {
		return stop, storageErr("rebuild index", ioErr)
	}
	s.maybeAddTimeLocked()
	s.loaded = true
	s.dirtyIdx = true
	if s.logger != nil {
		s.logger.Info("partlog: rebuilt a segment's indexes from its log (index files missing or wrong)",
			"segment", s.base, "entries", len(s.oidx), "stoppedAt", stop, "size", size, "problem", bad)
	}
	return stop, nil
}

// loadIndexes makes sure a closed segment's indexes are in memory: it reads
// the index files and, if they are missing or damaged, rebuilds them from
// the log and rewrites the files.
func (s *segment) loadIndexes(interval int32) error {
	s.mu.RLock()
	loaded := s.loaded
	s.mu.RUnlock()
	if loaded {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded {
		return nil
	}
	size := s.size.Load()
	ob, oerr := readFileLimit(s.path(indexSuffix), 1<<31)
	tb, terr := readFileLimit(s.path(timeIndexSuffix), 1<<31)
	if oerr == nil && terr == nil {
		oidx, oerr := decodeOffsetIndex(ob, size)
		tidx, terr := decodeTimeIndex(tb, 1<<31-1)
		if oerr == nil && terr == nil {
			s.oidx, s.tidx, s.loaded = oidx, tidx, true
			return nil
		}
	}
	if _, err := s.rebuildIndexesLocked(size, interval); err != nil {
		return err
	}
	return nil
}

// invalidateIndexes drops a closed segment's in-memory indexes after a
// lookup found them wrong, so the next use rebuilds them from the log.
func (s *segment) invalidateIndexes(interval int32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.rebuildIndexesLocked(s.size.Load(), interval); err != nil {
		return err
	}
	return nil
}

// locate returns the position of the batch that contains target or, if
// none does, of the first batch after it, and that batch's header. found is
// false when no batch at or after target exists below size. Index entries
// are checked against the batch they name; a wrong one triggers a rebuild.
func (s *segment) locate(target int64, size int64, interval int32) (int64, batchHeader, bool, error) {
	if err := s.loadIndexes(interval); err != nil {
		return 0, batchHeader{}, false, err
	}
	for attempt := 0; ; attempt++ {
		var start int64
		expect := int64(-1)
		if target > s.base {
			rel := target - s.base
			if rel > 1<<31-1 {
				rel = 1<<31 - 1
			}
			s.mu.RLock()
			if i := floorOffset(s.oidx, uint32(rel)); i >= 0 {
				start = int64(s.oidx[i].pos)
				expect = s.base + int64(s.oidx[i].rel)
			}
			s.mu.RUnlock()
		}
		if start >= size {
			start, expect = 0, -1
		}
		var (
			pos   int64
			hdr   batchHeader
			found bool
			first = true
			wrong bool
		)
		_, bad, ioErr := scanBatches(s.f, start, size, false, scanSmallBuf, func(h *batchHeader, p int64, _ int, _ []byte) error {
			if first && expect >= 0 && h.BaseOffset != expect {
				wrong = true
				return errStopScan
			}
			first = false
			if h.lastOffset() >= target {
				pos, hdr, found = p, *h, true
				return errStopScan
			}
			return nil
		})
		if ioErr != nil {
			return 0, batchHeader{}, false, storageErr("read segment", ioErr)
		}
		if (wrong || bad != nil) && attempt == 0 && expect >= 0 {
			// The index pointed at something that is not the batch it
			// names: rebuild it from the log and look again.
			if err := s.invalidateIndexes(interval); err != nil {
				return 0, batchHeader{}, false, err
			}
			continue
		}
		if bad != nil && !found {
			return 0, batchHeader{}, false, fmt.Errorf("%w: segment %d: %w", ErrStorage, s.base, bad)
		}
		return pos, hdr, found, nil
	}
}

// verifyMaxTs checks that the batch at maxTsOffset has maxTs as its largest
// timestamp; if not (a damaged time index), it rebuilds the indexes and the
// timestamps from the log. It returns false if the segment cannot be read.
func (s *segment) verifyMaxTs(interval int32) bool {
	s.mu.RLock()
	ts, off := s.maxTs, s.maxTsOffset
	s.mu.RUnlock()
	size := s.size.Load()
	if off >= s.base {
		_, h, found, err := s.locate(off, size, interval)
		if err != nil {
			return false
		}
		if found && h.BaseOffset == off && h.MaxTimestamp == ts {
			return true
		}
	}
	return s.invalidateIndexes(interval) == nil
}

// largestTsLocked is the segment's largest timestamp, or when its batches
// carry none (all -1), when it was last written (Kafka's
// LogSegment.largestTimestamp). The caller holds s.mu.
func (s *segment) largestTsLocked() int64 {
	if s.maxTs >= 0 {
		return s.maxTs
	}
	return s.modMs
}
