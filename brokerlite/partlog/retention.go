package partlog

import (
	"fmt"
	"os"
)

// DeleteRecordsBefore moves the log start offset to offset (Kafka's
// DeleteRecords) and then deletes the segments that lie wholly below it. The
// new start is persisted crash-safely before the call returns. offset must
// not exceed the high watermark; an offset at or below the current start
// changes nothing. It returns the log start offset after the call.
func (l *Log) DeleteRecordsBefore(offset int64) (int64, error) {
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	hw := l.leo.Load()
	if offset > hw || offset < 0 {
		l.mu.Unlock()
		return l.lso.Load(), fmt.Errorf("%w: delete records before %d, high watermark is %d", ErrOffsetOutOfRange, offset, hw)
	}
	if offset <= l.lso.Load() {
		l.mu.Unlock()
		return l.lso.Load(), nil
	}
	if err := writeOffsetCheckpoint(l.dir, logStartCheckpointFile, offset); err != nil {
		l.mu.Unlock()
		return l.lso.Load(), storageErr("write log start offset", err)
	}
	l.lso.Store(offset)
	// If the whole log is below the new start, roll so the old active
	// segment can go too (Kafka does the same).
	if offset == hw && l.active.size.Load() > 0 && l.failed == nil {
		if err := l.rollLocked(); err != nil {
			l.mu.Unlock()
			return offset, err
		}
	}
	l.mu.Unlock()
	// Drop the segments below the new start now, unless the cleaner holds
	// them: then the next retention pass does (reads below the start are
	// refused either way).
	if l.maintMu.TryLock() {
		l.deleteSegments(func(s *segment, next *segment) bool {
			return next != nil && next.base <= offset
		}, "log start offset")
		l.maintMu.Unlock()
	}
	return offset, nil
}

// deleteSegments removes closed segments from the oldest while pred holds
// (next is the following segment, never nil for a closed one). It renames
// their files to .deleted and schedules their removal after
// file.delete.delay.ms. The caller holds maintMu.
func (l *Log) deleteSegments(pred func(s, next *segment) bool, reason string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	segs := *l.segs.Load()
	n := 0
	for n < len(segs)-1 && pred(segs[n], segs[n+1]) {
		n++
	}
	if n == 0 {
		return 0
	}
	doomed := segs[:n]
	rest := append([]*segment(nil), segs[n:]...)
	l.segs.Store(&rest)
	if b := rest[0].base; b > l.lso.Load() {
		l.lso.Store(b)
	}
	l.aborted.dropBelow(rest[0].base)
	// Deleted segments need no fsync.
	gone := map[*segment]bool{}
	for _, s := range doomed {
		gone[s] = true
	}
	keep := l.unflushed[:0]
	for _, s := range l.unflushed {
		if gone[s] {
			s.release()
		} else {
			keep = append(keep, s)
		}
	}
	l.unflushed = keep
	cfg := l.cfg.Load()
	due := l.nowMs() + cfg.FileDeleteDelayMs
	for _, s := range doomed {
		l.log.Info("partlog: deleting segment", "base", s.base, "size", s.size.Load(), "reason", reason)
		paths := s.renameDeleted()
		if cfg.FileDeleteDelayMs == 0 {
			for _, p := range paths {
				_ = os.Remove(p)
			}
		} else {
			l.pending = append(l.pending, pendingDelete{paths: paths, due: due})
		}
		s.release()
	}
	return n
}

// DeleteOldSegments applies retention (cleanup.policy includes delete):
// closed segments whose largest timestamp is older than retention.ms, then
// the oldest closed segments while the log is larger than retention.bytes,
// oldest first; and, under any policy, segments wholly below the log start
// offset. When every record of the active segment is past retention.ms it
// is rolled first, as Kafka does, so an idle partition's data still expires;
// the segment being written to is never deleted. It returns how many
// segments were deleted.
func (l *Log) DeleteOldSegments() (int, error) {
	l.maintMu.Lock()
	defer l.maintMu.Unlock()
	return l.deleteOldSegmentsLocked()
}

func (l *Log) deleteOldSegmentsLocked() (int, error) {
	if l.closed.Load() {
		return 0, ErrClosed
	}
	cfg := l.cfg.Load()
	now := l.nowMs()
	deleted := l.deleteSegments(func(s, next *segment) bool {
		return next.base <= l.lso.Load()
	}, "log start offset")
	if !cfg.CleanupPolicy.Delete() {
		return deleted, nil
	}
	expired := func(s *segment) bool {
		if cfg.RetentionMs < 0 {
			return false
		}
		s.mu.RLock()
		ts, mod := s.maxTs, s.modMs
		s.mu.RUnlock()
		if ts < 0 {
			// No timestamps: when the segment was last written, as Kafka.
			return now-mod > cfg.RetentionMs
		}
		if now-ts <= cfg.RetentionMs {
			return false
		}
		// The largest timestamp of a closed segment may come from its
		// time index; check it against the batch it names before deleting
		// data for it.
		return s.verifyMaxTs(cfg.IndexIntervalBytes) && func() bool {
			s.mu.RLock()
			defer s.mu.RUnlock()
			return s.maxTs >= 0 && now-s.maxTs > cfg.RetentionMs
		}()
	}
	if cfg.RetentionMs >= 0 {
		l.mu.Lock()
		segs := *l.segs.Load()
		all := true
		for _, s := range segs {
			if !expired(s) {
				all = false
				break
			}
		}
		if all && l.active.size.Load() > 0 && l.failed == nil && !l.closed.Load() {
			if err := l.rollLocked(); err != nil {
				l.mu.Unlock()
				return deleted, err
			}
		}
		l.mu.Unlock()
		deleted += l.deleteSegments(func(s, _ *segment) bool { return expired(s) }, "retention.ms")
	}
	if cfg.RetentionBytes >= 0 {
		over := l.Size() - cfg.RetentionBytes
		deleted += l.deleteSegments(func(s, _ *segment) bool {
			if over-s.size.Load() < 0 {
				return false
			}
			over -= s.size.Load()
			return true
		}, "retention.bytes")
	}
	return deleted, nil
}

// Maintain runs the log's periodic duties once: flush.ms, retention,
// producer-id expiration, and removal of deleted segment files whose
// file.delete.delay.ms has passed. The Manager calls it on its schedule;
// a Log used alone may call it from its owner's loop.
func (l *Log) Maintain() error {
	if l.closed.Load() {
		return ErrClosed
	}
	if err := l.flushIfDue(); err != nil {
		return err
	}
	// Retention waits for no cleaner: if one is running on this log, the
	// next pass deletes what is due.
	if l.maintMu.TryLock() {
		_, err := l.deleteOldSegmentsLocked()
		l.maintMu.Unlock()
		if err != nil {
			return err
		}
	}
	now := l.nowMs()
	l.mu.Lock()
	l.producers.expire(now - l.opts.ProducerIDExpirationMs)
	var keep []pendingDelete
	var due []pendingDelete
	for _, p := range l.pending {
		if p.due <= now {
			due = append(due, p)
		} else {
			keep = append(keep, p)
		}
	}
	l.pending = keep
	l.mu.Unlock()
	for _, p := range due {
		for _, path := range p.paths {
			_ = os.Remove(path)
		}
	}
	return nil
}
