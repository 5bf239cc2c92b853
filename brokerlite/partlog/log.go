package partlog

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Options are the parts of a log that are not topic configs: logging, the
// clock, and broker-level settings.
type Options struct {
	// Logger receives recovery and maintenance messages. The default value
	// is slog.Default().
	Logger *slog.Logger
	// Now is the clock (LogAppendTime, segment.ms, retention, compaction
	// lags). The default value is time.Now; tests inject their own.
	Now func() time.Time
	// LeaderEpoch is written into each appended batch's
	// partitionLeaderEpoch field, as a Kafka leader does. The default
	// value is 0 (brokerlite is one node and leads every partition).
	LeaderEpoch int32
	// ProducerIDExpirationMs is Kafka's producer.id.expiration.ms: producer
	// state whose last batch is older than this is dropped. The default
	// value (0 here) means 86400000 (1 day).
	ProducerIDExpirationMs int64
	// ObserveFsync, when set, is told how long each fsync of a segment
	// file took (for metrics). The default value is nil.
	ObserveFsync func(time.Duration)

	// hooks inject faults in this package's tests.
	hooks *testHooks
}

// testHooks let in-package tests stop an operation at a named point, as a
// crash would.
type testHooks struct {
	// cleanerStep is called at each step of the compaction swap; an error
	// aborts the swap there, leaving the files as a crash would.
	cleanerStep func(step string) error
	// fsync replaces (*os.File).Sync for the log's data files.
	fsync func(f *os.File) error
}

func (o *Options) fillDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ProducerIDExpirationMs <= 0 {
		o.ProducerIDExpirationMs = 24 * 3600 * 1000
	}
}

// AppendResult is what Append assigned.
type AppendResult struct {
	// BaseOffset and LastOffset are the first and last offsets given to the
	// appended batches.
	BaseOffset int64
	LastOffset int64
	// LogAppendTime is the timestamp the log stamped on the batches when
	// the topic uses LogAppendTime, and -1 for CreateTime (as Kafka's
	// produce response says).
	LogAppendTime int64
	// LogStartOffset is the log start offset after the append.
	LogStartOffset int64
}

// Log is one partition's log. Create or recover it with Open; a broker
// usually gets its logs from a Manager instead. All methods are safe for
// concurrent use.
type Log struct {
	dir  string
	opts Options
	log  *slog.Logger
	cfg  atomic.Pointer[Config]

	// mu is the append lock: appends, rolls, segment list changes and the
	// producer table. Reads never take it.
	mu        sync.Mutex
	active    *segment
	producers *producerState
	unflushed []*segment // rolled segments not yet fsynced (each holds a ref)
	dirDirty  bool       // a segment file was created since the last fsync
	// unflushedMsgs and firstUnflushedMs drive flush.messages and flush.ms.
	unflushedMsgs    int64
	firstUnflushedMs int64
	failed           error // a write or fsync failed: the log is read-only
	pending          []pendingDelete

	// aborted is the aborted-transaction index of every segment (txn.go).
	aborted abortIndex

	segs   atomic.Pointer[[]*segment] // copy-on-write, sorted by base offset
	leo    atomic.Int64
	lso    atomic.Int64
	stable atomic.Int64 // first unstable offset, -1 when none
	closed atomic.Bool
	// closing tells a running cleaner to stop early.
	closing atomic.Bool

	// gapBelow: batches below this offset may have offset gaps left by
	// compaction; above it offsets are contiguous, which recovery checks.
	// Persisted in gap-offset.checkpoint before a cleaned segment is
	// swapped in.
	gapBelow int64
	// horizonDue is the earliest delete horizon of a tombstone or
	// transaction marker the last cleaning left waiting (0: none); when it
	// passes the cleaner runs even if the dirty ratio is low
	// (cleaner_txn.go).
	horizonDue atomic.Int64

	// maintMu serializes the cleaner, retention and DeleteRecords, which
	// remove segments.
	maintMu sync.Mutex

	// Group commit: one fsync at a time; callers that arrive while one runs
	// wait for it and share the next.
	syncMu   sync.Mutex
	syncCond *sync.Cond
	syncing  bool
	flushed  int64        // every offset below this is durable
	durable  atomic.Int64 // flushed, readable without syncMu

	// recoveryPoint: every segment wholly below it is durable and closed
	// (recoverypoint.go).
	recoveryPoint atomic.Int64
}

type pendingDelete struct {
	paths []string
	due   int64 // unix ms
}

// Dir returns the partition directory.
func (l *Log) Dir() string { return l.dir }

// Config returns the log's current config.
func (l *Log) Config() Config { return *l.cfg.Load() }

// SetConfig changes the log's topic config (AlterConfigs). New values apply
// to the next append, roll, retention check and cleaning; existing segments
// are not rewritten.
func (l *Log) SetConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	l.cfg.Store(&cfg)
	return nil
}

// LogStartOffset returns the first offset a consumer may read.
func (l *Log) LogStartOffset() int64 { return l.lso.Load() }

// LogEndOffset returns the offset the next appended record will get.
func (l *Log) LogEndOffset() int64 { return l.leo.Load() }

// HighWatermark returns the high watermark: the log end offset, since a
// brokerlite partition has no followers.
func (l *Log) HighWatermark() int64 { return l.leo.Load() }

// LastStableOffset returns the first offset of the oldest ongoing
// transaction, or the high watermark when none is ongoing.
func (l *Log) LastStableOffset() int64 {
	if s := l.stable.Load(); s >= 0 {
		// As Kafka: never below the log start offset (retention or DeleteRecords may
		// have removed the start of an open transaction).
		return max(s, l.lso.Load())
	}
	return l.leo.Load()
}

// FlushedOffset returns the offset below which everything is fsynced.
func (l *Log) FlushedOffset() int64 { return l.durable.Load() }

// Size returns the total size of the log's segment files in bytes.
func (l *Log) Size() int64 {
	var n int64
	for _, s := range *l.segs.Load() {
		n += s.size.Load()
	}
	return n
}

// NumSegments returns how many segments the log has.
func (l *Log) NumSegments() int { return len(*l.segs.Load()) }

func (l *Log) nowMs() int64 { return l.opts.Now().UnixMilli() }

// Append validates the batches (the records field of a Produce request for
// this partition: one or more record batches v2), assigns them offsets and
// appends them to the active segment. It returns once the bytes are in the
// page cache; call Sync for durability (acks=-1).
//
// Append rewrites each batch's header in place (baseOffset,
// partitionLeaderEpoch and, for LogAppendTime topics, the timestamp type bit,
// maxTimestamp and CRC) and otherwise stores the bytes unchanged: compressed
// batches stay compressed. It does not keep batches after it returns.
//
// Nothing is appended unless every batch is valid. Errors wrap
// ErrCorruptMessage, ErrMessageTooLarge, ErrRecordListTooLarge,
// ErrInvalidRecord, ErrUnsupportedMagic, ErrOutOfOrderSequence,
// ErrInvalidProducerEpoch, ErrStorage or ErrClosed. For a duplicate batch of
// an idempotent producer it returns the ORIGINAL AppendResult with
// ErrDuplicateSequence and appends nothing (KIP-98).
//
// Client batches may not be control batches; use AppendWith with
// OriginCoordinator for transaction markers.
func (l *Log) Append(batches []byte) (AppendResult, error) {
	return l.AppendWith(batches, AppendOptions{})
}

// Origin says who writes a batch, as Kafka's AppendOrigin.
type Origin uint8

const (
	// OriginClient is a producer's Produce request.
	OriginClient Origin = iota
	// OriginCoordinator is a transaction or group coordinator writing
	// control batches (transaction markers).
	OriginCoordinator
)

// AppendOptions tune one append.
type AppendOptions struct {
	// Origin of the batches; the default is OriginClient.
	Origin Origin
}

// batchRef is one validated batch of an append.
type batchRef struct {
	h    batchHeader
	pos  int // position in the batches slice
	size int
}

// AppendWith is Append with options: OriginCoordinator may write control
// batches (transaction markers). On compacted topics every record must have
// a key, which costs a pass over the records (and decompression); other
// topics never look at records on append.
func (l *Log) AppendWith(batches []byte, ao AppendOptions) (AppendResult, error) {
	cfg := l.cfg.Load()
	if len(batches) == 0 {
		return AppendResult{}, fmt.Errorf("%w: no record batches", ErrInvalidRecord)
	}
	var stack [4]batchRef
	refs := stack[:0]
	var records int64
	for p := 0; p < len(batches); {
		h, size, err := validateBatch(batches[p:], cfg.MaxMessageBytes, ao.Origin == OriginCoordinator)
		if err != nil {
			if len(refs) > 0 {
				err = fmt.Errorf("batch %d: %w", len(refs), err)
			}
			return AppendResult{}, err
		}
		if h.isControl() {
			if _, err := controlType(&h, batches[p:p+size]); err != nil {
				return AppendResult{}, err
			}
		}
		refs = append(refs, batchRef{h: h, pos: p, size: size})
		records += int64(h.NumRecords)
		p += size
	}
	if len(batches) > int(cfg.SegmentBytes) {
		return AppendResult{}, fmt.Errorf("%w: %d bytes, segment.bytes is %d", ErrRecordListTooLarge, len(batches), cfg.SegmentBytes)
	}
	if cfg.CleanupPolicy.Compact() {
		// Kafka: "Compacted topic cannot accept message without key".
		for i := range refs {
			r := &refs[i]
			if r.h.isControl() {
				continue
			}
			if err := checkKeys(&r.h, batches[r.pos:r.pos+r.size]); err != nil {
				return AppendResult{}, err
			}
		}
	}
	logAppendTime := int64(-1)
	if cfg.MessageTimestampType == LogAppendTime {
		logAppendTime = l.nowMs()
		for i := range refs {
			r := &refs[i]
			setLogAppendTime(batches[r.pos:r.pos+r.size], logAppendTime)
			r.h.MaxTimestamp = logAppendTime
			r.h.Attributes |= attrTimestampType
		}
	}

	l.mu.Lock()
	res, flush, err := l.appendLocked(batches, refs, records, logAppendTime, cfg, ao.Origin)
	l.mu.Unlock()
	if err != nil {
		return res, err
	}
	if flush {
		if err := l.Sync(); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (l *Log) appendLocked(batches []byte, refs []batchRef, records int64, logAppendTime int64, cfg *Config, origin Origin) (AppendResult, bool, error) {
	if l.closed.Load() {
		return AppendResult{}, false, ErrClosed
	}
	if l.failed != nil {
		return AppendResult{}, false, l.failed
	}
	// KIP-98 checks, against the state as it will be after the earlier
	// batches of this same append.
	var overlay map[int64]*producerEntry
	for i := range refs {
		h := &refs[i].h
		if h.ProducerID < 0 {
			continue
		}
		e := l.producers.m[h.ProducerID]
		if o, ok := overlay[h.ProducerID]; ok {
			e = o
		}
		var dup *batchMeta
		var err error
		if h.isControl() || origin == OriginCoordinator {
			// KIP-98: coordinator writes (markers, transactional offset
			// commits) carry the producer's epoch but no client sequence.
			if e != nil && h.ProducerEpoch < e.Epoch {
				err = fmt.Errorf("%w: epoch %d older than %d", ErrInvalidProducerEpoch, h.ProducerEpoch, e.Epoch)
			}
		} else {
			dup, err = checkSequence(e, h)
		}
		if err != nil {
			return AppendResult{}, false, err
		}
		if dup != nil {
			// KIP-98: a duplicate batch is acknowledged with its original
			// offset and nothing is appended.
			lat := int64(-1)
			if cfg.MessageTimestampType == LogAppendTime {
				lat = dup.MaxTs
			}
			return AppendResult{BaseOffset: dup.BaseOffset, LastOffset: dup.LastOffset, LogAppendTime: lat, LogStartOffset: l.lso.Load()},
				false, fmt.Errorf("%w: producer %d sequence %d-%d is at offset %d", ErrDuplicateSequence, h.ProducerID, dup.FirstSeq, dup.LastSeq, dup.BaseOffset)
		}
		if len(refs) > 1 {
			if overlay == nil {
				overlay = map[int64]*producerEntry{}
			}
			if e != nil {
				e = e.clone()
			}
			hh := *h
			hh.BaseOffset = 0 // offsets are not known yet; only sequences matter here
			overlay[h.ProducerID] = applyBatch(e, &hh)
		}
	}

	leo := l.leo.Load()
	var lastDelta int64
	var maxTs int64 = -1
	for i := range refs {
		lastDelta += int64(refs[i].h.LastOffsetDelta) + 1
		if refs[i].h.MaxTimestamp > maxTs {
			maxTs = refs[i].h.MaxTimestamp
		}
	}
	lastOffset := leo + lastDelta - 1
	if err := l.maybeRollLocked(int64(len(batches)), len(refs), maxTs, lastOffset, cfg); err != nil {
		return AppendResult{}, false, err
	}
	seg := l.active
	// Assign offsets. baseOffset and partitionLeaderEpoch are outside the
	// CRC, so the producer's checksum stays valid.
	next := leo
	for i := range refs {
		r := &refs[i]
		b := batches[r.pos:]
		binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(next))
		binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(l.opts.LeaderEpoch))
		r.h.BaseOffset = next
		r.h.LeaderEpoch = l.opts.LeaderEpoch
		next += int64(r.h.LastOffsetDelta) + 1
	}
	pos := seg.size.Load()
	if n, err := seg.f.WriteAt(batches, pos); err != nil {
		// Cut whatever part reached the file; if even that fails, stop
		// accepting writes, as Kafka takes the log dir offline.
		if n > 0 {
			if terr := seg.f.Truncate(pos); terr != nil {
				l.failed = storageErr("append", err)
			}
		}
		return AppendResult{}, false, storageErr("append", err)
	}
	written := l.nowMs()
	seg.mu.Lock()
	for i := range refs {
		r := &refs[i]
		seg.addBatchLocked(&r.h, pos+int64(r.pos), r.size, cfg.IndexIntervalBytes)
	}
	seg.modMs = written
	seg.mu.Unlock()
	seg.size.Store(pos + int64(len(batches)))
	changedTxn := false
	for i := range refs {
		h := &refs[i].h
		if h.ProducerID >= 0 {
			var abort AbortedTxn
			var aborted bool
			if h.isControl() {
				// controlType was checked before the write.
				abort, aborted, _ = l.noteControlLocked(h, batches[refs[i].pos:refs[i].pos+refs[i].size])
			}
			l.producers.replay(h)
			if h.isControl() {
				noteMarkerEpoch(l.producers, h, batches[refs[i].pos:refs[i].pos+refs[i].size])
			}
			changedTxn = changedTxn || h.isTxn() || h.isControl()
			if aborted {
				abort.LastStableOffset = lsoAfter(l.producers, h.lastOffset()+1)
				if err := l.appendTxnIndex(seg.base, abort); err != nil {
					l.log.Warn("partlog: writing the transaction index failed; recovery rebuilds it", "err", err)
				}
				l.aborted.add(abort, seg.base)
			}
		}
	}
	if changedTxn {
		l.stable.Store(l.producers.firstUnstableOffset())
	}
	l.leo.Store(next)
	if l.unflushedMsgs == 0 {
		l.firstUnflushedMs = l.nowMs()
	}
	l.unflushedMsgs += records
	flush := l.unflushedMsgs >= cfg.FlushMessages
	return AppendResult{BaseOffset: leo, LastOffset: next - 1, LogAppendTime: logAppendTime, LogStartOffset: l.lso.Load()}, flush, nil
}

// maybeRollLocked rolls the active segment when the incoming bytes would
// not fit (segment.bytes), when segment.ms has passed (for a compacted log,
// max.compaction.lag.ms if that is shorter, so the active segment's records
// become cleanable in time, as Kafka's maxSegmentMs), when an index is full,
// or when the last offset would not fit a relative offset, as Kafka's
// shouldRoll.
func (l *Log) maybeRollLocked(size int64, nbatches int, maxTs int64, lastOffset int64, cfg *Config) error {
	s := l.active
	cur := s.size.Load()
	if cur == 0 && s.relOK(lastOffset) {
		return nil // never roll an empty segment
	}
	s.mu.RLock()
	var waited int64
	if s.firstTs >= 0 && maxTs >= 0 {
		waited = maxTs - s.firstTs
	} else {
		waited = l.nowMs() - s.createdMs
	}
	idxFull := len(s.oidx)+nbatches > int(cfg.SegmentIndexBytes/offsetEntrySize) ||
		len(s.tidx)+nbatches > int(cfg.SegmentIndexBytes/timeEntrySize)
	s.mu.RUnlock()
	if cur+size <= int64(cfg.SegmentBytes) && waited <= cfg.maxSegmentMs() && !idxFull && s.relOK(lastOffset) {
		return nil
	}
	return l.rollLocked()
}

// rollLocked closes the active segment and starts a new one at the log end
// offset.
func (l *Log) rollLocked() error {
	old := l.active
	old.mu.Lock()
	old.maybeAddTimeLocked()
	old.mu.Unlock()
	if err := old.writeIndexes(false); err != nil {
		l.log.Warn("partlog: writing index at roll failed; recovery rebuilds it", "dir", l.dir, "err", err)
	}
	ns, err := createSegment(l.dir, l.leo.Load(), l.nowMs())
	if err != nil {
		return err
	}
	ns.logger = l.log
	segs := append(append([]*segment(nil), *l.segs.Load()...), ns)
	l.segs.Store(&segs)
	l.active = ns
	old.acquire()
	l.unflushed = append(l.unflushed, old)
	l.dirDirty = true
	return nil
}

// Roll closes the active segment and starts a new one, if the active one is
// not empty.
func (l *Log) Roll() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	if l.failed != nil {
		return l.failed
	}
	if l.active.size.Load() == 0 {
		return nil
	}
	return l.rollLocked()
}

func (l *Log) fsync(f *os.File) error {
	if l.opts.hooks != nil && l.opts.hooks.fsync != nil {
		return l.opts.hooks.fsync(f)
	}
	if obs := l.opts.ObserveFsync; obs != nil {
		start := time.Now()
		err := fsyncFile(f)
		obs(time.Since(start))
		return err
	}
	return fsyncFile(f)
}

// Sync makes everything appended before the call durable. It is a group
// commit: callers that arrive while an fsync runs wait for it to end and
// then share ONE fsync of everything appended so far, so N concurrent
// appenders with acks=-1 cost about one fsync per round, not N.
func (l *Log) Sync() error { return l.SyncTo(l.leo.Load()) }

// SyncTo makes every offset below offset durable (an offset past the log end
// offset means the log end offset). It returns at once, for the cost of one
// atomic load, when an fsync already covered offset, which can be one that
// started after the caller's append; otherwise it joins the log's group
// commit, as Sync does. AppendResult.LastOffset+1 is the offset an acks=-1
// answer waits for.
func (l *Log) SyncTo(offset int64) error {
	if l.durable.Load() >= offset {
		return nil
	}
	target := min(offset, l.leo.Load())
	l.syncMu.Lock()
	for {
		if l.flushed >= target {
			l.syncMu.Unlock()
			return nil
		}
		if !l.syncing {
			break
		}
		l.syncCond.Wait()
	}
	l.syncing = true
	l.syncMu.Unlock()

	upto, err := l.syncOnce()

	l.syncMu.Lock()
	l.syncing = false
	if err == nil && upto > l.flushed {
		l.flushed = upto
		l.durable.Store(upto)
	}
	l.syncCond.Broadcast()
	l.syncMu.Unlock()
	return err
}

// syncOnce fsyncs every segment holding unflushed data and, after a roll,
// the directory. It returns the offset everything below which is durable.
func (l *Log) syncOnce() (int64, error) {
	l.mu.Lock()
	if l.failed != nil {
		l.mu.Unlock()
		return 0, l.failed
	}
	if l.closed.Load() {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	upto := l.leo.Load()
	toSync := l.unflushed
	l.unflushed = nil
	activeBase := l.active.base // below it, every segment is in toSync or already durable
	if act := l.active; act.acquire() {
		toSync = append(toSync, act)
	}
	dirty := l.dirDirty
	l.dirDirty = false
	l.unflushedMsgs = 0
	l.mu.Unlock()

	var err error
	for _, s := range toSync {
		if err == nil {
			if e := l.fsync(s.f); e != nil {
				err = storageErr("fsync segment", e)
			}
		}
		s.release()
	}
	if err == nil && dirty {
		if e := syncDir(l.dir); e != nil {
			err = storageErr("fsync dir", e)
		}
	}
	if err != nil {
		// After a failed fsync the page cache may have dropped dirty pages
		// (Linux marks them clean), so what was appended can no longer be
		// promised: refuse further appends, as Kafka halts.
		l.mu.Lock()
		if l.failed == nil {
			l.failed = err
		}
		l.mu.Unlock()
	} else {
		l.advanceRecoveryPoint(activeBase)
	}
	return upto, err
}

// flushIfDue applies flush.ms: it fsyncs when the oldest unflushed append is
// at least flush.ms old.
func (l *Log) flushIfDue() error {
	cfg := l.cfg.Load()
	l.mu.Lock()
	due := l.unflushedMsgs > 0 && cfg.FlushMs != 1<<63-1 && l.nowMs()-l.firstUnflushedMs >= cfg.FlushMs
	l.mu.Unlock()
	if !due {
		return nil
	}
	return l.Sync()
}

// SegmentInfo describes one segment, for tools and tests.
type SegmentInfo struct {
	BaseOffset   int64
	Size         int64
	MaxTimestamp int64
}

// Segments lists the log's segments, oldest first.
func (l *Log) Segments() []SegmentInfo {
	segs := *l.segs.Load()
	out := make([]SegmentInfo, 0, len(segs))
	for _, s := range segs {
		s.mu.RLock()
		out = append(out, SegmentInfo{BaseOffset: s.base, Size: s.size.Load(), MaxTimestamp: s.maxTs})
		s.mu.RUnlock()
	}
	return out
}

// Close fsyncs the log, writes its indexes and producer snapshot, marks the
// shutdown clean (so the next Open skips recovery) and closes the files.
// Reads still in flight finish on their open files.
func (l *Log) Close() error {
	return l.close(true)
}

func (l *Log) close(clean bool) error {
	l.closing.Store(true)
	l.maintMu.Lock()
	defer l.maintMu.Unlock()
	if l.closed.Load() {
		return nil
	}
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if clean {
		keep(l.Sync())
		keep(l.syncTxnIndexes())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed.Store(true)
	segs := *l.segs.Load()
	if clean && l.failed == nil && firstErr == nil {
		for _, s := range segs {
			s.mu.Lock()
			s.maybeAddTimeLocked()
			s.mu.Unlock()
			keep(s.writeIndexes(true))
		}
		// A producer snapshot that cannot be written (a full disk) does not
		// cost the clean shutdown: without one, the next start rebuilds the
		// producer state from the batch headers, which is still cheaper than
		// a recovery.
		snapErr := writeFileAtomic(l.dir, segmentName(l.leo.Load(), snapshotSuffix), encodeSnapshot(l.producers, l.leo.Load()))
		if snapErr != nil {
			l.log.Warn("partlog: writing the producer snapshot at close failed; the next start rebuilds it from the log", "err", snapErr)
		}
		for _, off := range listSnapshots(l.dir) {
			if off != l.leo.Load() || snapErr != nil {
				_ = os.Remove(filepath.Join(l.dir, segmentName(off, snapshotSuffix)))
			}
		}
		if firstErr == nil {
			keep(writeFileAtomic(l.dir, cleanShutdownFile, []byte("clean\n")))
		}
		keep(snapErr)
	}
	for _, s := range l.unflushed {
		s.release()
	}
	l.unflushed = nil
	for _, s := range segs {
		s.release()
	}
	return firstErr
}

// Delete closes the log and removes its directory and files.
func (l *Log) Delete() error {
	if err := l.close(false); err != nil {
		return err
	}
	if err := os.RemoveAll(l.dir); err != nil {
		return storageErr("delete log", err)
	}
	return nil
}
