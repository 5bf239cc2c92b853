package partlog

// The recovery point, as Kafka's recovery-point-offset-checkpoint: every
// segment that lies wholly below it was fsynced and closed, so recovery after
// an unclean shutdown trusts those segments (their indexes and headers, as
// after a clean shutdown) and rescans and cuts only what lies at or past it.
// Damage found later in the trusted part is disk damage, not a torn write: it
// is logged at ERROR and served as CORRUPT_MESSAGE to the read that reaches
// it, and the data around it stays.

import (
	"fmt"
)

// recoveryPointFile holds the partition's recovery point. Kafka keeps one
// such file per log dir for all its partitions; here each partition has its
// own, next to its other checkpoints.
const recoveryPointFile = "recovery-point-offset.checkpoint"

// advanceRecoveryPoint records that every segment below base (the active
// segment's base when an fsync of all rolled segments began) is durable. The
// caller is the one running fsync (syncOnce), so calls do not overlap. A
// failed write leaves the old point, which only means more to rescan.
func (l *Log) advanceRecoveryPoint(base int64) {
	if base <= l.recoveryPoint.Load() {
		return
	}
	if err := writeOffsetCheckpoint(l.dir, recoveryPointFile, base); err != nil {
		l.log.Warn("partlog: writing the recovery point failed; a crash would rescan more", "recoveryPoint", base, "err", err)
		return
	}
	l.recoveryPoint.Store(base)
}

// trustedPrefix returns how many leading segments lie wholly below the
// recovery point stored in the partition directory. The last segment is never
// trusted: it is where appends went.
func (l *Log) trustedPrefix(segs []*segment) int {
	rp, ok, err := readOffsetCheckpoint(l.dir, recoveryPointFile)
	if err != nil {
		l.log.Warn("partlog: ignoring damaged recovery point; rescanning the whole log", "err", err)
	}
	if !ok {
		return 0
	}
	l.recoveryPoint.Store(rp)
	k := 0
	for k+1 < len(segs) && segs[k+1].base <= rp {
		k++
	}
	return k
}

// loadTrusted loads the segments below the recovery point after an unclean
// shutdown as a clean start would (indexes from their files, rebuilt if
// damaged), and replays their batch headers into the producer state. A
// damaged header is logged at ERROR; the segment and those after it stay.
func (l *Log) loadTrusted(segs []*segment, sizes []int64) error {
	cfg := l.cfg.Load()
	for i, s := range segs {
		s.size.Store(sizes[i])
		if err := l.loadClosedTimestamps(s, sizes[i], cfg.IndexIntervalBytes); err != nil {
			return err
		}
		_, bad, ioErr := scanBatches(s.f, 0, sizes[i], false, scanSmallBuf, func(h *batchHeader, _ int64, _ int, _ []byte) error {
			l.producers.replay(h)
			return nil
		})
		if ioErr != nil {
			return storageErr("read segment below the recovery point", ioErr)
		}
		if bad != nil {
			l.log.Error("partlog: damaged batch below the recovery point; keeping the segment, reads reaching it get CORRUPT_MESSAGE",
				"segment", s.base, "err", bad)
		}
	}
	if len(segs) > 0 {
		l.log.Info("partlog: recovering after an unclean shutdown from the recovery point",
			"recoveryPoint", l.recoveryPoint.Load(), "trustedSegments", len(segs))
	}
	return nil
}

// corruptRead reports damage found by a read: logged at ERROR, returned as
// ErrCorruptMessage (CORRUPT_MESSAGE to a fetch).
func (l *Log) corruptRead(s *segment, pos int64, what string) error {
	l.log.Error("partlog: corrupt batch in a segment; reads reaching it get CORRUPT_MESSAGE",
		"segment", s.base, "position", pos, "problem", what)
	return fmt.Errorf("%w: segment %d position %d: %s", ErrCorruptMessage, s.base, pos, what)
}
