package partlog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// CleanStats reports one compaction of a log.
type CleanStats struct {
	// Cleaned is false when the log did not need cleaning (or is not
	// compacted); the other fields are then zero.
	Cleaned bool
	// FirstDirtyOffset and EndOffset bound the dirty range whose keys were
	// mapped; every segment below EndOffset was cleaned against that map.
	// The next cleaning starts its dirty range at EndOffset.
	FirstDirtyOffset int64
	EndOffset        int64
	// SegmentsCleaned counts the source segments read; SegmentsSwapped the
	// cleaned segments that replaced some (a group with nothing to remove is
	// not rewritten).
	SegmentsCleaned int
	SegmentsSwapped int
	// Records and bytes read and kept, and tombstones dropped.
	RecordsRead       int64
	RecordsRetained   int64
	TombstonesDropped int64
	// MarkersRemoved counts transaction markers removed: their
	// transaction had no batch left and their delete horizon had passed.
	MarkersRemoved int64
	BytesRead      int64
	BytesWritten   int64
}

// CleanerOptions tune a compaction.
type CleanerOptions struct {
	// Force cleans even when the dirty ratio is below
	// min.cleanable.dirty.ratio and max.compaction.lag.ms has not passed.
	Force bool
	// MaxMapBytes bounds the memory of the key map built from the dirty
	// range (Kafka's log.cleaner.dedupe.buffer.size). When the map is full
	// the dirty range ends at the last whole segment mapped and the rest is
	// cleaned in the next round. The default value is 128 MiB.
	MaxMapBytes int64
}

// DirtyRatio returns the log's cleanable dirty ratio: the bytes of the dirty
// (never compacted) cleanable segments over the bytes of all cleanable
// segments, as Kafka's cleaner computes it to choose what to clean.
func (l *Log) DirtyRatio() float64 {
	cp, _ := l.cleanPlan(l.cfg.Load(), l.nowMs())
	if cp.cleanBytes+cp.dirtyBytes == 0 {
		return 0
	}
	return float64(cp.dirtyBytes) / float64(cp.cleanBytes+cp.dirtyBytes)
}

type cleanPlan struct {
	firstDirty       int64
	firstUncleanable int64
	cleanBytes       int64
	dirtyBytes       int64
	maxLagPassed     bool
	segs             []*segment // segments below firstUncleanable
}

// cleanPlan works out what a cleaning would cover: the log start to the
// first uncleanable offset, which is the lowest of the active segment's
// base, the first dirty segment younger than min.compaction.lag.ms, and the
// segment holding the first unstable (transactional) offset.
func (l *Log) cleanPlan(cfg *Config, now int64) (cleanPlan, error) {
	var cp cleanPlan
	lso := l.lso.Load()
	ckpt, ok, err := readOffsetCheckpoint(l.dir, cleanerCheckpointFile)
	switch {
	case errors.Is(err, errDamagedCheckpoint):
		l.log.Warn("partlog: ignoring damaged cleaner checkpoint; cleaning from the start", "err", err)
	case err != nil:
		// Out of file descriptors or an I/O error: not damage, and nothing
		// to clean from until the checkpoint can be read.
		l.log.Warn("partlog: cannot read the cleaner checkpoint; not cleaning this log now", "err", err)
		return cp, storageErr("read cleaner checkpoint", err)
	}
	if !ok {
		ckpt = lso
	}
	if leo := l.leo.Load(); ckpt > leo {
		// The log lost its tail (recovery after a crash) past where the
		// last cleaning ended: nothing above the log start is known to be
		// clean, so clean from there, as Kafka resets the offset.
		l.log.Warn("partlog: cleaner checkpoint is past the log end; cleaning from the log start", "checkpoint", ckpt, "logEnd", leo)
		ckpt = lso
	}
	cp.firstDirty = max(ckpt, lso)
	segs := *l.segs.Load()
	if len(segs) < 2 {
		cp.firstUncleanable = cp.firstDirty
		return cp, nil
	}
	stable := l.stable.Load()
	cp.firstUncleanable = segs[len(segs)-1].base
	var closed []*segment
	for i, s := range segs[:len(segs)-1] {
		next := segs[i+1].base
		s.mu.RLock()
		maxTs, firstTs, largest := s.maxTs, s.firstTs, s.largestTsLocked()
		s.mu.RUnlock()
		// min.compaction.lag.ms holds back dirty segments only, as in Kafka:
		// a clean segment's records were compacted already.
		if cfg.MinCompactionLagMs > 0 && next > cp.firstDirty && now-largest < cfg.MinCompactionLagMs {
			cp.firstUncleanable = s.base
			break
		}
		if stable >= 0 && stable < next {
			cp.firstUncleanable = s.base
			break
		}
		closed = append(closed, s)
		if next <= cp.firstDirty {
			cp.cleanBytes += s.size.Load()
		} else {
			cp.dirtyBytes += s.size.Load()
			// max.compaction.lag.ms: the oldest dirty record is too old.
			ts := maxTs
			if firstTs >= 0 && firstTs < ts {
				ts = firstTs
			}
			if ts >= 0 && now-ts > cfg.MaxCompactionLagMs {
				cp.maxLagPassed = true
			}
		}
	}
	if cp.firstDirty > cp.firstUncleanable {
		cp.firstDirty = cp.firstUncleanable
	}
	cp.segs = closed
	return cp, nil
}

// Compact runs the log cleaner on this log once, if cleanup.policy includes
// compact and the log needs it (its dirty ratio is above
// min.cleanable.dirty.ratio, or max.compaction.lag.ms has passed), or when
// Force is set. It keeps the newest record of every key among the closed
// segments old enough for min.compaction.lag.ms, drops tombstones once
// their delete horizon has passed (set to now + delete.retention.ms by the
// first cleaning that keeps them, as Kafka does), keeps offsets (leaving gaps),
// keeps each batch's producer fields, and keeps the last batch of every
// producer, empty if need be, so idempotent producers keep their sequence
// state (KIP-98). Records of aborted transactions are dropped; a transaction
// marker goes once no batch of its transaction is left and a
// delete.retention.ms horizon has passed since (cleaner_txn.go). The active
// segment and open transactions are never touched. Cleaned segments
// replace the originals through a crash-safe swap (docs/partlog.md).
//
// Appends and reads go on while it runs; retention, DeleteRecords and Close
// wait for it (Close asks it to stop early). ctx cancels it.
func (l *Log) Compact(ctx context.Context, opts CleanerOptions) (CleanStats, error) {
	l.maintMu.Lock()
	defer l.maintMu.Unlock()
	if l.closed.Load() {
		return CleanStats{}, ErrClosed
	}
	cfg := l.cfg.Load()
	if !cfg.CleanupPolicy.Compact() {
		return CleanStats{}, nil
	}
	if opts.MaxMapBytes <= 0 {
		opts.MaxMapBytes = 128 << 20
	}
	now := l.nowMs()
	cp, err := l.cleanPlan(cfg, now)
	if err != nil {
		return CleanStats{}, err
	}
	total := cp.cleanBytes + cp.dirtyBytes
	// A tombstone or transaction marker whose delete horizon has passed is
	// a reason to clean on its own.
	due := l.horizonDue.Load()
	horizonPassed := due > 0 && now >= due
	if total == 0 || (cp.dirtyBytes == 0 && !opts.Force && !horizonPassed) {
		return CleanStats{FirstDirtyOffset: cp.firstDirty, EndOffset: cp.firstDirty}, nil
	}
	// Kafka cleans a log whose dirty ratio is strictly greater than
	// min.cleanable.dirty.ratio.
	if !opts.Force && !horizonPassed && float64(cp.dirtyBytes)/float64(total) <= cfg.MinCleanableDirtyRatio && !cp.maxLagPassed {
		return CleanStats{FirstDirtyOffset: cp.firstDirty, EndOffset: cp.firstDirty}, nil
	}
	for _, s := range cp.segs {
		if !s.acquire() {
			return CleanStats{}, fmt.Errorf("partlog: segment %d went away during cleaning", s.base)
		}
		defer s.release()
	}
	st := CleanStats{Cleaned: true, FirstDirtyOffset: cp.firstDirty}
	keys, end, err := l.buildOffsetMap(ctx, cp, opts.MaxMapBytes)
	if err != nil {
		return CleanStats{}, err
	}
	st.EndOffset = end
	l.mu.Lock()
	producerLast := l.producers.lastOffsetByProducer()
	l.mu.Unlock()

	// Offsets below end may get gaps: raise the bound recovery checks
	// contiguity against before any cleaned segment goes in.
	if end > l.gapBelow {
		if err := writeOffsetCheckpoint(l.dir, gapCheckpointFile, end); err != nil {
			return CleanStats{}, storageErr("write gap checkpoint", err)
		}
		l.gapBelow = end
	}
	// Group the segments below end so each group's output fits one segment.
	mc := newMarkerCleaner(now, cfg.DeleteRetentionMs)
	segs := cp.segs
	nextBase := func(i int) int64 {
		if i+1 < len(segs) {
			return segs[i+1].base
		}
		return cp.firstUncleanable
	}
	for i := 0; i < len(segs) && segs[i].base < end; {
		j := i
		size := segs[i].size.Load()
		for j+1 < len(segs) && segs[j+1].base < end &&
			size+segs[j+1].size.Load() <= int64(cfg.SegmentBytes) &&
			nextBase(j+1)-segs[i].base <= 1<<31-1 {
			j++
			size += segs[j].size.Load()
		}
		if err := l.cleanGroup(ctx, segs[i:j+1], keys, producerLast, mc, cfg, &st); err != nil {
			return st, err
		}
		i = j + 1
	}
	if err := writeOffsetCheckpoint(l.dir, cleanerCheckpointFile, end); err != nil {
		return st, storageErr("write cleaner checkpoint", err)
	}
	l.horizonDue.Store(mc.due)
	l.log.Info("partlog: compacted", "firstDirty", st.FirstDirtyOffset, "end", st.EndOffset,
		"segments", st.SegmentsCleaned, "swapped", st.SegmentsSwapped,
		"records", st.RecordsRead, "retained", st.RecordsRetained, "bytesRead", st.BytesRead, "bytesWritten", st.BytesWritten)
	return st, nil
}

// errCleanerStopped ends a cleaning when the log closes or ctx ends.
var errCleanerStopped = errors.New("partlog: cleaner stopped")

func (l *Log) stopCleaning(ctx context.Context) error {
	if l.closing.Load() {
		return errCleanerStopped
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", errCleanerStopped, err)
	}
	return nil
}

// buildOffsetMap maps every key in the dirty range to its newest offset,
// whole segments at a time, until the map would pass maxBytes. It returns
// the map and the offset the mapped range ends at (a segment boundary).
func (l *Log) buildOffsetMap(ctx context.Context, cp cleanPlan, maxBytes int64) (map[string]int64, int64, error) {
	keys := make(map[string]int64)
	aborted := l.abortedBatches()
	var mapBytes int64
	end := cp.firstDirty
	for i, s := range cp.segs {
		next := cp.firstUncleanable
		if i+1 < len(cp.segs) {
			next = cp.segs[i+1].base
		}
		if next <= cp.firstDirty {
			continue
		}
		if err := l.stopCleaning(ctx); err != nil {
			return nil, 0, err
		}
		// A segment is mapped whole or not at all; the first one always.
		segKeys := make(map[string]int64)
		var segBytes int64
		_, bad, ioErr := scanBatches(s.f, 0, s.size.Load(), true, scanLargeBuf, func(h *batchHeader, _ int64, _ int, data []byte) error {
			if h.isControl() || h.lastOffset() < cp.firstDirty || (h.isTxn() && aborted(h.ProducerID, h.BaseOffset)) {
				return nil // markers and aborted records do not shadow older records
			}
			return eachRecordKey(h, data, func(r *record) error {
				if r.Key == nil || r.Offset < cp.firstDirty {
					return nil
				}
				if _, ok := segKeys[string(r.Key)]; !ok {
					segBytes += int64(len(r.Key)) + 48
				}
				segKeys[string(r.Key)] = r.Offset
				return nil
			})
		})
		if ioErr != nil {
			return nil, 0, storageErr("read segment for cleaning", ioErr)
		}
		if bad != nil {
			return nil, 0, fmt.Errorf("%w: segment %d: %w", ErrStorage, s.base, bad)
		}
		if end > cp.firstDirty && mapBytes+segBytes > maxBytes {
			break
		}
		for k, o := range segKeys {
			if _, ok := keys[k]; !ok {
				mapBytes += int64(len(k)) + 48
			}
			keys[k] = o
		}
		end = next
	}
	return keys, end, nil
}

// cleanGroup writes the cleaned form of a group of consecutive segments to
// <base>.log.cleaned and swaps it in.
func (l *Log) cleanGroup(ctx context.Context, group []*segment, keys map[string]int64, producerLast map[int64]int64,
	mc *markerCleaner, cfg *Config, st *CleanStats) error {
	now := mc.now
	base := group[0].base
	cleanedPath := filepath.Join(l.dir, segmentName(base, logSuffix+cleanedSuffix))
	f, err := os.OpenFile(cleanedPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return storageErr("create cleaned segment", err)
	}
	ns := newSegmentState(l.dir, base, f)
	ns.loaded, ns.nextOffset, ns.createdMs = true, base, now
	// The cleaned segment keeps its sources' last write time (Kafka sets
	// the cleaned file's last-modified time so).
	for _, s := range group {
		s.mu.RLock()
		ns.modMs = max(ns.modMs, s.modMs)
		s.mu.RUnlock()
	}
	abort := func(err error) error {
		f.Close()
		_ = os.Remove(cleanedPath)
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	aborted := l.abortedBatches()
	var (
		pos     int64
		changed bool
		out     []byte
		raw     []byte
	)
	for gi, s := range group {
		st.SegmentsCleaned++
		size := s.size.Load()
		st.BytesRead += size
		lastSeg := gi == len(group)-1
		_, bad, ioErr := scanBatches(s.f, 0, size, true, scanLargeBuf, func(h *batchHeader, p int64, n int, data []byte) error {
			if err := l.stopCleaning(ctx); err != nil {
				return err
			}
			isLast := lastSeg && p+int64(n) == size
			out = out[:0]
			forProducer := h.ProducerID >= 0 && producerLast[h.ProducerID] == h.lastOffset()
			if h.isControl() {
				// A marker stays while its transaction has batches left; then it
				// gets a delete horizon, and goes once that has passed
				// (cleaner_txn.go).
				switch mc.marker(h, data) {
				case markerKeep:
					if h.NumRecords == 0 && !isLast && !forProducer {
						changed = true // a removed marker's empty batch is not needed here
						return nil
					}
					out = append(out, data...)
				case markerSetHorizon:
					changed = true
					var err error
					if out, err = withDeleteHorizon(out, h, data, mc.now+cfg.DeleteRetentionMs); err != nil {
						return err
					}
				case markerRemove:
					changed = true
					st.MarkersRemoved++
					if !isLast && !forProducer {
						return nil
					}
					var err error
					if out, err = emptyBatch(out, h, forProducer); err != nil {
						return err
					}
				}
			} else {
				raw = raw[:0]
				var kept int32
				var maxTs int64 = -1
				var keptTombstone bool
				dropAborted := h.isTxn() && aborted(h.ProducerID, h.BaseOffset)
				// A tombstone goes once its batch's delete horizon has
				// passed. The first cleaning that keeps one sets the
				// horizon to now + delete.retention.ms (KIP-534), so a
				// consumer has that long to read the delete whatever the
				// record's timestamp.
				hasHorizon := h.Attributes&attrDeleteHorizon != 0
				horizonPassed := hasHorizon && now >= h.BaseTimestamp
				err := eachRecordOf(h, data, func(r *record) error {
					st.RecordsRead++
					if dropAborted {
						return nil // Kafka: compaction removes aborted transactional records
					}
					if r.Key == nil {
						return nil // keyless records cannot be compacted; Kafka drops them
					}
					if o, ok := keys[string(r.Key)]; ok && r.Offset < o {
						return nil // a newer record has this key
					}
					if r.Value == nil {
						if horizonPassed {
							st.TombstonesDropped++
							return nil
						}
						keptTombstone = true
					}
					kept++
					if r.Timestamp > maxTs {
						maxTs = r.Timestamp
					}
					raw = append(raw, r.raw...)
					return nil
				})
				if err != nil {
					return err
				}
				st.RecordsRetained += int64(kept)
				setHorizon := keptTombstone && !hasHorizon
				switch {
				case setHorizon:
					mc.wait(now + cfg.DeleteRetentionMs)
				case keptTombstone:
					mc.wait(h.BaseTimestamp)
				}
				switch {
				case kept == 0:
					// Keep an empty batch only when it is the last one of a
					// producer (its sequence state, KIP-98) or the last of
					// the group (so the swap's end offset is exact); any
					// other goes, one left empty by an earlier cleaning
					// too, as Kafka's cleaner drops empty batches.
					if !isLast && !forProducer {
						changed = true
						return nil
					}
					if forProducer {
						mc.keptData(h)
					}
					if h.NumRecords == 0 && (forProducer || !(h.isTxn() || h.isControl())) {
						out = append(out, data...) // already as emptyBatch makes it
						break
					}
					changed = true
					out, err = emptyBatch(out, h, forProducer)
					if err != nil {
						return err
					}
				case kept == h.NumRecords && !setHorizon:
					mc.keptData(h)
					out = append(out, data...)
				default:
					mc.keptData(h)
					// Same base offset, base timestamp (unless the delete
					// horizon takes its place) and last offset delta, so
					// the records' deltas stay valid and the producer's
					// sequence range is unchanged.
					changed = true
					nh := *h
					nh.NumRecords = kept
					if !h.logAppendTime() {
						nh.MaxTimestamp = maxTs
					}
					if setHorizon {
						out, err = keptWithDeleteHorizon(out, nh, raw, now+cfg.DeleteRetentionMs)
					} else {
						out, err = encodeBatch(out, nh, raw)
					}
					if err != nil {
						return err
					}
				}
			}
			oh, osize, err := checkStoredBatch(out)
			if err != nil {
				return fmt.Errorf("partlog: cleaner produced a bad batch: %w", err)
			}
			if _, err := w.Write(out); err != nil {
				return err
			}
			ns.addBatchLocked(&oh, pos, osize, cfg.IndexIntervalBytes)
			pos += int64(osize)
			return nil
		})
		if ioErr != nil {
			return abort(storageErr("read segment for cleaning", ioErr))
		}
		if bad != nil {
			if errors.Is(bad, errCleanerStopped) {
				return abort(bad)
			}
			var pe *os.PathError
			if errors.As(bad, &pe) {
				return abort(storageErr("write cleaned segment", bad))
			}
			return abort(fmt.Errorf("partlog: cleaning segment %d: %w", s.base, bad))
		}
	}
	if !changed {
		return abort(nil) // nothing to remove: keep the originals
	}
	if err := w.Flush(); err != nil {
		return abort(storageErr("write cleaned segment", err))
	}
	ns.maybeAddTimeLocked()
	ns.size.Store(pos)
	if mt := time.UnixMilli(ns.modMs); ns.modMs > 0 {
		if err := os.Chtimes(cleanedPath, mt, mt); err != nil {
			l.log.Warn("partlog: cannot set the cleaned segment's modification time", "base", base, "err", err)
		}
	}
	st.BytesWritten += pos
	if err := l.swapIn(group, ns, cleanedPath, mc.goneAborts, abort); err != nil {
		return err
	}
	st.SegmentsSwapped++
	return nil
}

func (l *Log) hook(step string) error {
	if l.opts.hooks != nil && l.opts.hooks.cleanerStep != nil {
		return l.opts.hooks.cleanerStep(step)
	}
	return nil
}

// swapIn replaces the group's segments with the cleaned segment ns:
//
//  1. fsync <base>.log.cleaned;
//  2. rename it to <base>.log.swap and fsync the directory: the commit
//     point. From here a crash is finished by Open (completeSwap);
//  3. rename the replaced segments' files to .deleted and remove the old
//     index files of <base>;
//  4. rename <base>.log.swap to <base>.log (replacing the old file) and
//     fsync the directory; write the new indexes.
//
// Readers holding the old segments keep reading their open files.
func (l *Log) swapIn(group []*segment, ns *segment, cleanedPath string, goneAborts map[int64]bool, abort func(error) error) error {
	base := ns.base
	if err := l.fsync(ns.f); err != nil {
		return abort(storageErr("fsync cleaned segment", err))
	}
	if err := l.hook("cleaned"); err != nil {
		ns.f.Close()
		return err // a crash here leaves a .cleaned file: Open removes it
	}
	swapPath := filepath.Join(l.dir, segmentName(base, logSuffix+swapSuffix))
	if err := os.Rename(cleanedPath, swapPath); err != nil {
		return abort(storageErr("rename cleaned segment", err))
	}
	if err := syncDir(l.dir); err != nil {
		ns.f.Close()
		return storageErr("fsync dir", err)
	}
	if err := l.hook("swap"); err != nil {
		ns.f.Close()
		return err // a crash here leaves a committed .swap: Open finishes it
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := *l.segs.Load()
	var next []*segment
	replaced := map[*segment]bool{}
	for _, s := range group {
		replaced[s] = true
	}
	for _, s := range cur {
		if replaced[s] {
			if s.base == base {
				next = append(next, ns)
			}
			continue
		}
		next = append(next, s)
	}
	cfg := l.cfg.Load()
	due := l.nowMs() + cfg.FileDeleteDelayMs
	var doomed []string
	for _, s := range group {
		if s.base == base {
			for _, suf := range []string{indexSuffix, timeIndexSuffix} {
				_ = os.Remove(s.path(suf))
			}
			continue
		}
		doomed = append(doomed, s.renameDeleted()...)
	}
	if err := l.hook("deleted"); err != nil {
		ns.f.Close()
		return err // crash with the old segments half gone: Open finishes it
	}
	if err := os.Rename(swapPath, filepath.Join(l.dir, segmentName(base, logSuffix))); err != nil {
		ns.f.Close()
		l.failed = storageErr("rename swap segment", err)
		return l.failed
	}
	if err := syncDir(l.dir); err != nil {
		ns.f.Close()
		l.failed = storageErr("fsync dir", err)
		return l.failed
	}
	l.segs.Store(&next)
	// After the new segments are visible, so a read_committed reader that
	// saw an aborted record also sees its entry (ReadCommitted takes the
	// index before it loads the segments).
	if err := l.rewriteGroupTxnIndex(ns, goneAborts); err != nil {
		l.failed = err // a stale .txnindex must not be loaded after a clean shutdown
		return err
	}
	if err := ns.writeIndexes(false); err != nil {
		l.log.Warn("partlog: writing cleaned index failed; it is rebuilt when used", "err", err)
	}
	if cfg.FileDeleteDelayMs == 0 {
		for _, p := range doomed {
			_ = os.Remove(p)
		}
	} else if len(doomed) > 0 {
		l.pending = append(l.pending, pendingDelete{paths: doomed, due: due})
	}
	for _, s := range group {
		s.release() // the log's reference; the cleaner's goes on return
	}
	return nil
}
