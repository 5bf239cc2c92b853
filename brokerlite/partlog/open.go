package partlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Open opens the partition log in dir, creating the directory and an empty
// log if needed, and recovers it:
//
//   - a compaction swap interrupted by a crash is finished (a committed
//     .swap file) or rolled back (a .cleaned file);
//   - after a clean Close, the segments and indexes are trusted, indexes are
//     checked when first used and rebuilt if damaged, and the producer
//     state comes from the snapshot written at Close;
//   - after a crash, the segments wholly below the recovery point (all
//     fsynced before it was recorded) are trusted as after a clean
//     shutdown; from the recovery point on every batch's CRC is checked, the
//     log is cut at the first torn or corrupt batch (later segments are
//     deleted), the indexes and the producer state are rebuilt, and the
//     result is fsynced. Damage below the recovery point is reported at
//     ERROR and answered CORRUPT_MESSAGE when read, never cut.
//
// Nothing fsynced before the crash is lost unless the disk itself damaged
// it. See docs/partlog.md for the rules.
func Open(dir string, cfg Config, opts Options) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts.fillDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, storageErr("create log dir", err)
	}
	l := &Log{dir: dir, opts: opts, log: opts.Logger.With("log", filepath.Base(dir))}
	l.cfg.Store(&cfg)
	l.syncCond = sync.NewCond(&l.syncMu)
	l.stable.Store(-1)
	empty := []*segment{}
	l.segs.Store(&empty)
	if err := l.load(); err != nil {
		for _, s := range *l.segs.Load() {
			s.release()
		}
		return nil, err
	}
	return l, nil
}

var errNeedRecovery = errors.New("partlog: log needs recovery")

// offsetOK checks a batch's base offset against the one expected after the
// previous batch: equal where offsets have no gaps (at or above gapBelow),
// not lower where compaction may have left gaps. The base offset is outside
// the batch CRC, so this is what catches its damage.
func (l *Log) offsetOK(base, expect int64) bool {
	if expect < 0 {
		return false
	}
	if base >= l.gapBelow || expect >= l.gapBelow {
		return base == expect
	}
	return base >= expect
}

func (l *Log) load() error {
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return storageErr("list log dir", err)
	}
	var bases, swaps []int64
	for _, e := range ents {
		name := e.Name()
		full := filepath.Join(l.dir, name)
		switch {
		case e.IsDir():
		case strings.HasSuffix(name, tmpSuffix), strings.HasSuffix(name, deletedSuffix), strings.HasSuffix(name, cleanedSuffix):
			// Unfinished writes, segments waiting for deletion, and
			// cleaner output that was never committed.
			_ = os.Remove(full)
		case strings.HasSuffix(name, logSuffix+swapSuffix):
			if b, ok := parseSegmentName(strings.TrimSuffix(name, swapSuffix), logSuffix); ok {
				swaps = append(swaps, b)
			}
		case strings.HasSuffix(name, swapSuffix):
			_ = os.Remove(full) // index swap files: indexes are rebuilt
		default:
			if b, ok := parseSegmentName(name, logSuffix); ok {
				bases = append(bases, b)
			}
		}
	}
	sort.Slice(swaps, func(i, j int) bool { return swaps[i] < swaps[j] })
	for _, b := range swaps {
		var err error
		if bases, err = l.completeSwap(b, bases); err != nil {
			return err
		}
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	// Index files without a log file are leftovers.
	have := map[int64]bool{}
	for _, b := range bases {
		have[b] = true
	}
	for _, e := range ents {
		for _, suf := range []string{indexSuffix, timeIndexSuffix, txnIndexSuffix} {
			if b, ok := parseSegmentName(e.Name(), suf); ok && !have[b] {
				_ = os.Remove(filepath.Join(l.dir, e.Name()))
			}
		}
	}

	if gap, ok, err := readOffsetCheckpoint(l.dir, gapCheckpointFile); ok {
		l.gapBelow = gap
	} else if err != nil {
		// Without the bound, allow gaps everywhere: weaker checks, no
		// false cuts.
		l.log.Warn("partlog: ignoring damaged gap checkpoint", "err", err)
		l.gapBelow = 1<<63 - 1
	}
	_, statErr := os.Stat(filepath.Join(l.dir, cleanShutdownFile))
	clean := statErr == nil
	ckptLSO, ok, err := readOffsetCheckpoint(l.dir, logStartCheckpointFile)
	if err != nil {
		l.log.Warn("partlog: ignoring log start offset checkpoint", "err", err)
	}
	if !ok {
		ckptLSO = 0
	}

	var segs []*segment
	var sizes []int64
	for _, b := range bases {
		s, size, err := openSegmentFile(l.dir, b)
		if err != nil {
			for _, s := range segs {
				s.release()
			}
			return err
		}
		s.logger = l.log
		segs = append(segs, s)
		sizes = append(sizes, size)
	}
	l.segs.Store(&segs)
	l.producers = newProducerState()
	if len(segs) > 0 {
		if clean {
			err = l.loadClean(segs, sizes)
			if errors.Is(err, errNeedRecovery) {
				l.log.Warn("partlog: clean shutdown marker but damaged tail; recovering", "err", err)
				clean = false
			} else if err != nil {
				return err
			}
		}
		if !clean {
			l.producers = newProducerState()
			k := l.trustedPrefix(segs)
			if err := l.loadTrusted(segs[:k], sizes[:k]); err != nil {
				return err
			}
			// The trusted segments' transaction indexes are as a clean
			// start finds them; recover adds those of the rescanned ones.
			if err := l.loadTxnIndexes(segs[:k]); err != nil {
				return err
			}
			rest, err := l.recover(segs[k:], sizes[k:])
			if err != nil {
				return err
			}
			segs = append(segs[:k:k], rest...)
			l.segs.Store(&segs)
		}
	}
	if len(segs) == 0 {
		s, err := createSegment(l.dir, ckptLSO, l.nowMs())
		if err != nil {
			return err
		}
		segs = []*segment{s}
		l.segs.Store(&segs)
		if err := syncDir(l.dir); err != nil {
			return storageErr("fsync dir", err)
		}
	}
	l.active = segs[len(segs)-1]
	l.active.mu.RLock()
	leo := l.active.nextOffset
	l.active.mu.RUnlock()
	if leo < l.active.base {
		leo = l.active.base
	}
	l.leo.Store(leo)
	lso := max(ckptLSO, segs[0].base)
	if lso > leo {
		// DeleteRecords moved the start past what survived the crash:
		// start an empty log at the log start offset, as Kafka does.
		l.log.Warn("partlog: log start offset beyond recovered end; starting empty", "logStartOffset", lso, "logEndOffset", leo)
		if err := l.truncateFullyLocked(lso); err != nil {
			return err
		}
		leo = lso
	}
	l.lso.Store(lso)
	l.flushed = leo
	l.durable.Store(leo)
	l.stable.Store(l.producers.firstUnstableOffset())
	l.active.mu.Lock()
	if l.active.createdMs == 0 {
		l.active.createdMs = l.nowMs()
	}
	l.active.mu.Unlock()
	if statErr == nil {
		// From here on the files change: the next Open must check them
		// unless Close marks them clean again. The removal must be durable
		// before the first append.
		if err := os.Remove(filepath.Join(l.dir, cleanShutdownFile)); err != nil {
			return storageErr("remove clean shutdown marker", err)
		}
		if err := syncDir(l.dir); err != nil {
			return storageErr("fsync dir", err)
		}
	}
	removeSnapshots(l.dir)
	return nil
}

// truncateFullyLocked deletes every segment and starts an empty one at
// offset.
func (l *Log) truncateFullyLocked(offset int64) error {
	for _, s := range *l.segs.Load() {
		for _, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix} {
			_ = os.Remove(s.path(suf))
		}
		s.release()
	}
	s, err := createSegment(l.dir, offset, l.nowMs())
	if err != nil {
		return err
	}
	segs := []*segment{s}
	l.segs.Store(&segs)
	l.active = s
	l.leo.Store(offset)
	l.producers = newProducerState()
	l.aborted.set(nil)
	if err := syncDir(l.dir); err != nil {
		return storageErr("fsync dir", err)
	}
	return nil
}

// completeSwap finishes a compaction swap that was committed (the cleaned
// segment was renamed to <base>.log.swap) but not finished: it deletes the
// old segments the swap replaces, those with base offsets in [base,
// nextOffset of the swap file), and renames the swap file to <base>.log. It
// returns the remaining segment bases.
func (l *Log) completeSwap(base int64, bases []int64) ([]int64, error) {
	swapPath := filepath.Join(l.dir, segmentName(base, logSuffix+swapSuffix))
	f, err := os.Open(swapPath)
	if err != nil {
		return bases, storageErr("open swap", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return bases, storageErr("stat swap", err)
	}
	next := int64(-1)
	stop, bad, ioErr := scanBatches(f, 0, st.Size(), true, scanLargeBuf, func(h *batchHeader, _ int64, _ int, _ []byte) error {
		next = h.lastOffset() + 1
		return nil
	})
	f.Close()
	if ioErr != nil {
		return bases, storageErr("read swap", ioErr)
	}
	if bad != nil || stop != st.Size() || next < 0 {
		// A committed swap file is fsynced before its rename, so this is
		// disk damage; keep the old segments, which are still complete
		// unless the swap had begun deleting them.
		l.log.Error("partlog: damaged compaction swap file; discarding it", "file", swapPath, "err", bad)
		_ = os.Remove(swapPath)
		return bases, nil
	}
	var keep []int64
	for _, b := range bases {
		if b >= base && b < next {
			for _, suf := range []string{indexSuffix, timeIndexSuffix} {
				_ = os.Remove(filepath.Join(l.dir, segmentName(b, suf)))
			}
			if b != base {
				// The cleaner wrote the swapped segment's aborted-transaction
				// index under base before the swap.
				_ = os.Remove(filepath.Join(l.dir, segmentName(b, txnIndexSuffix)))
				if err := os.Remove(filepath.Join(l.dir, segmentName(b, logSuffix))); err != nil && !os.IsNotExist(err) {
					return bases, storageErr("remove replaced segment", err)
				}
			}
			continue
		}
		keep = append(keep, b)
	}
	if err := os.Rename(swapPath, filepath.Join(l.dir, segmentName(base, logSuffix))); err != nil {
		return bases, storageErr("rename swap", err)
	}
	if err := syncDir(l.dir); err != nil {
		return bases, storageErr("fsync dir", err)
	}
	l.log.Info("partlog: finished an interrupted compaction swap", "base", base, "next", next)
	return append(keep, base), nil
}

// loadClean loads a log that was closed cleanly: closed segments keep their
// index files (checked when first used); the active segment's tail after its
// last index entry is checked batch by batch.
func (l *Log) loadClean(segs []*segment, sizes []int64) error {
	cfg := l.cfg.Load()
	for i, s := range segs {
		s.size.Store(sizes[i])
		if i < len(segs)-1 {
			if err := l.loadClosedTimestamps(s, sizes[i], cfg.IndexIntervalBytes); err != nil {
				return err
			}
			continue
		}
		if err := s.loadIndexes(cfg.IndexIntervalBytes); err != nil {
			return err
		}
		s.mu.Lock()
		// The tail after the last offset index entry holds no entries;
		// walk it to learn the end offset and the append state.
		var start int64
		s.nextOffset = s.base
		if n := len(s.oidx); n > 0 {
			start = int64(s.oidx[n-1].pos)
			s.nextOffset = s.base + int64(s.oidx[n-1].rel)
		}
		if sizes[i] > 0 {
			var hb [batchHeaderSize]byte
			if _, err := s.f.ReadAt(hb[:], 0); err == nil {
				h, _ := parseHeader(hb[:])
				s.firstTs = h.MaxTimestamp
			}
		}
		// Kafka counts the bytes since the last indexed batch, that batch
		// included: exactly the bytes walked here.
		s.bytesSinceIndex = 0
		_, bad, ioErr := scanBatches(s.f, start, sizes[i], true, scanLargeBuf, func(h *batchHeader, pos int64, n int, _ []byte) error {
			if !l.offsetOK(h.BaseOffset, s.nextOffset) || !s.relOK(h.lastOffset()) {
				return fmt.Errorf("%w: offset %d out of order", ErrCorruptMessage, h.BaseOffset)
			}
			if h.MaxTimestamp > s.maxTs {
				s.maxTs, s.maxTsOffset = h.MaxTimestamp, h.BaseOffset
			}
			s.bytesSinceIndex += int64(n)
			s.nextOffset = h.lastOffset() + 1
			return nil
		})
		if n := len(s.tidx); n > 0 && s.tidx[n-1].ts > s.maxTs {
			s.maxTs, s.maxTsOffset = s.tidx[n-1].ts, s.base+int64(s.tidx[n-1].rel)
		}
		s.mu.Unlock()
		if ioErr != nil {
			return storageErr("read active segment", ioErr)
		}
		if bad != nil {
			return fmt.Errorf("%w: %w", errNeedRecovery, bad)
		}
	}
	if err := l.loadTxnIndexes(segs); err != nil {
		return err
	}
	leo := segs[len(segs)-1].nextOffset
	// Producer state: the snapshot written at Close, if it matches.
	if b, err := os.ReadFile(filepath.Join(l.dir, segmentName(leo, snapshotSuffix))); err == nil {
		if ps, off, err := decodeSnapshot(b); err == nil && off == leo {
			l.producers = ps
			return nil
		} else if err != nil {
			l.log.Warn("partlog: ignoring damaged producer snapshot; rebuilding from the log", "err", err)
		}
	}
	return l.rebuildProducers(segs)
}

// loadClosedTimestamps reads a closed segment's largest timestamp from the
// last entry of its time index, rebuilding the indexes when that is missing
// or implausible.
func (l *Log) loadClosedTimestamps(s *segment, size int64, interval int32) error {
	f, err := os.Open(s.path(timeIndexSuffix))
	if err == nil {
		defer f.Close()
		st, serr := f.Stat()
		if serr == nil && st.Size() >= timeEntrySize && st.Size()%timeEntrySize == 0 {
			var e [timeEntrySize]byte
			if _, rerr := f.ReadAt(e[:], st.Size()-timeEntrySize); rerr == nil {
				ts := int64(binary.BigEndian.Uint64(e[:]))
				rel := binary.BigEndian.Uint32(e[8:])
				if rel <= 1<<31-1 {
					s.mu.Lock()
					s.maxTs, s.maxTsOffset = ts, s.base+int64(rel)
					s.mu.Unlock()
					return nil
				}
			}
		}
	}
	if size == 0 {
		s.mu.Lock()
		s.loaded = true
		s.mu.Unlock()
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.rebuildIndexesLocked(size, interval); err != nil {
		return err
	}
	s.writeIndexesLocked()
	return nil
}

// rebuildProducers rebuilds the producer table from the batch headers of
// every segment.
func (l *Log) rebuildProducers(segs []*segment) error {
	ps := newProducerState()
	for _, s := range segs {
		_, bad, ioErr := scanBatches(s.f, 0, s.size.Load(), false, 256<<10, func(h *batchHeader, _ int64, _ int, _ []byte) error {
			ps.replay(h)
			return nil
		})
		if ioErr != nil {
			return storageErr("rebuild producer state", ioErr)
		}
		if bad != nil {
			return fmt.Errorf("%w: %w", errNeedRecovery, bad)
		}
	}
	l.producers = ps
	return nil
}

// recover checks every batch of every segment after a crash, cuts the log
// at the first bad one, and rebuilds indexes and producer state.
func (l *Log) recover(segs []*segment, sizes []int64) ([]*segment, error) {
	cfg := l.cfg.Load()
	prevNext := int64(-1)
	segAborts := make([][]AbortedTxn, len(segs))
	var replayErr error
	for i, s := range segs {
		// Above the compaction gap bound, segments follow each other with
		// no gap and each starts with a batch at its base offset.
		expect := s.base
		if prevNext >= 0 && s.base >= l.gapBelow && s.base != prevNext {
			expect = -1 // the first batch check below fails: cut here
		}
		s.mu.Lock()
		s.oidx, s.tidx = nil, nil
		s.maxTs, s.maxTsOffset, s.firstTs = -1, -1, -1
		s.bytesSinceIndex = 0
		s.nextOffset = s.base
		s.loaded, s.dirtyIdx = true, true
		stop, bad, ioErr := scanBatches(s.f, 0, sizes[i], true, scanLargeBuf, func(h *batchHeader, pos int64, n int, data []byte) error {
			if h.BaseOffset < s.base || h.BaseOffset < prevNext || !s.relOK(h.lastOffset()) || !l.offsetOK(h.BaseOffset, expect) {
				return fmt.Errorf("%w: offset %d out of order at position %d", ErrCorruptMessage, h.BaseOffset, pos)
			}
			abort, aborted, err := txnEntryOnReplay(l.producers, h, data)
			if err != nil {
				replayErr = fmt.Errorf("partlog: control batch at offset %d: %w", h.BaseOffset, err)
				return errStopScan
			}
			expect = h.lastOffset() + 1
			s.addBatchLocked(h, pos, n, cfg.IndexIntervalBytes)
			l.producers.replay(h)
			if h.isControl() {
				noteMarkerEpoch(l.producers, h, data)
			}
			if aborted {
				abort.LastStableOffset = lsoAfter(l.producers, h.lastOffset()+1)
				segAborts[i] = append(segAborts[i], abort)
			}
			prevNext = h.lastOffset() + 1
			return nil
		})
		s.maybeAddTimeLocked()
		s.mu.Unlock()
		if ioErr != nil {
			return segs, storageErr("recover segment", ioErr)
		}
		if replayErr != nil && bad == nil {
			bad = replayErr // a malformed marker: cut there, as for a corrupt batch
		}
		s.size.Store(stop)
		if bad != nil {
			l.log.Warn("partlog: cutting the log at a torn or corrupt batch",
				"segment", s.base, "position", stop, "droppedBytes", sizes[i]-stop, "droppedSegments", len(segs)-1-i, "err", bad)
			if err := s.f.Truncate(stop); err != nil {
				return segs, storageErr("truncate segment", err)
			}
			keep := i + 1
			if stop == 0 && i > 0 {
				// Nothing of this segment survives: drop it too, so the
				// previous segment (which ends where the log now ends)
				// becomes the active one again.
				keep = i
			}
			for _, later := range segs[keep:] {
				for _, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix} {
					_ = os.Remove(later.path(suf))
				}
				later.release()
			}
			segs = segs[:keep]
			break
		}
	}
	// The aborted transactions of the trusted segments below (loaded from
	// their files before recover ran) come first.
	all := append([]AbortedTxn(nil), l.aborted.snapshot()...)
	for i, s := range segs {
		if err := writeTxnIndexFile(s, segAborts[i]); err != nil {
			return segs, err
		}
		all = append(all, segAborts[i]...)
		if err := l.fsync(s.f); err != nil {
			return segs, storageErr("fsync recovered segment", err)
		}
		if i < len(segs)-1 {
			if err := s.writeIndexes(false); err != nil {
				l.log.Warn("partlog: writing rebuilt index failed", "err", err)
			}
		}
	}
	l.aborted.set(all)
	if err := syncDir(l.dir); err != nil {
		return segs, storageErr("fsync dir", err)
	}
	return segs, nil
}
