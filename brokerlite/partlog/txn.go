package partlog

// Transactions on the log side (KIP-98): the last stable offset, the
// aborted-transaction index (.txnindex, one file per segment) and reads
// bounded for read_committed consumers.
//
// The producer table tracks, per producer, the first offset of its ongoing
// transaction in this partition; the last stable offset is the smallest of
// them (the high watermark when none is ongoing). A control batch (a
// transaction marker, written by the transaction coordinator with
// OriginCoordinator) ends the producer's transaction; an abort marker adds
// an entry to the aborted-transaction index of the segment the marker is
// in, in Kafka's layout, so that a read_committed Fetch can tell consumers
// which producers' records to drop.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
)

// txnIndexSuffix names a segment's aborted-transaction index, as Kafka does.
const txnIndexSuffix = ".txnindex"

// txnEntrySize is the size of one .txnindex entry: version int16,
// producerId int64, firstOffset int64, lastOffset int64, lastStableOffset
// int64, all big endian (Kafka's AbortedTxn).
const txnEntrySize = 34

// Control record types (the key of a control record is version int16 and
// type int16; the value of a transaction marker is version int16 and
// coordinatorEpoch int32).
const (
	ControlTypeAbort  int16 = 0
	ControlTypeCommit int16 = 1
)

// AbortedTxn is one entry of the aborted-transaction index: producer
// ProducerID aborted a transaction whose records in this partition span
// [FirstOffset, LastOffset] (LastOffset is the abort marker's offset);
// LastStableOffset is the partition's last stable offset right after the
// marker.
type AbortedTxn struct {
	ProducerID       int64
	FirstOffset      int64
	LastOffset       int64
	LastStableOffset int64
}

func encodeTxnEntry(dst []byte, e AbortedTxn) []byte {
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.ProducerID))
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.FirstOffset))
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.LastOffset))
	return binary.BigEndian.AppendUint64(dst, uint64(e.LastStableOffset))
}

// errTornTxnIndex says a .txnindex file cannot be trusted and must be
// rebuilt from its segment.
var errTornTxnIndex = errors.New("partlog: damaged transaction index")

// DecodeTxnIndex decodes the contents of a .txnindex file of the segment
// with base offset base. A file whose size is not a multiple of the entry
// size, an entry of an unknown version, or offsets that are out of order
// or below the segment are reported as damaged (the caller rebuilds the
// file from the segment).
func DecodeTxnIndex(b []byte, base int64) ([]AbortedTxn, error) {
	if len(b)%txnEntrySize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte entries", errTornTxnIndex, len(b), txnEntrySize)
	}
	out := make([]AbortedTxn, 0, len(b)/txnEntrySize)
	prev := int64(-1)
	for p := 0; p < len(b); p += txnEntrySize {
		if v := int16(binary.BigEndian.Uint16(b[p:])); v != 0 {
			return nil, fmt.Errorf("%w: entry version %d", errTornTxnIndex, v)
		}
		e := AbortedTxn{
			ProducerID:       int64(binary.BigEndian.Uint64(b[p+2:])),
			FirstOffset:      int64(binary.BigEndian.Uint64(b[p+10:])),
			LastOffset:       int64(binary.BigEndian.Uint64(b[p+18:])),
			LastStableOffset: int64(binary.BigEndian.Uint64(b[p+26:])),
		}
		if e.ProducerID < 0 || e.FirstOffset < 0 || e.FirstOffset > e.LastOffset || e.LastOffset < base || e.LastOffset <= prev || e.LastStableOffset < 0 {
			return nil, fmt.Errorf("%w: entry %d (producer %d, offsets %d-%d) is not plausible", errTornTxnIndex, p/txnEntrySize, e.ProducerID, e.FirstOffset, e.LastOffset)
		}
		prev = e.LastOffset
		out = append(out, e)
	}
	return out, nil
}

// abortIndex is a log's aborted transactions, every segment's, sorted by
// LastOffset. It is replaced, never changed in place, so readers take the
// slice under the lock and scan it without.
type abortIndex struct {
	mu      sync.RWMutex
	entries []AbortedTxn
	dirty   map[int64]bool // segment bases whose .txnindex was appended since the last fsync
}

func (a *abortIndex) snapshot() []AbortedTxn {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.entries
}

func (a *abortIndex) set(entries []AbortedTxn) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].LastOffset < entries[j].LastOffset })
	a.mu.Lock()
	a.entries = entries
	a.mu.Unlock()
}

// add appends an entry (markers come in offset order).
func (a *abortIndex) add(e AbortedTxn, segBase int64) {
	a.mu.Lock()
	n := make([]AbortedTxn, len(a.entries), len(a.entries)+1)
	copy(n, a.entries)
	a.entries = append(n, e)
	if a.dirty == nil {
		a.dirty = map[int64]bool{}
	}
	a.dirty[segBase] = true
	a.mu.Unlock()
}

// dropBelow forgets the entries of transactions wholly below offset (their
// segments were deleted), so the index does not grow with the log's history.
func (a *abortIndex) dropBelow(offset int64) {
	a.mu.Lock()
	i := sort.Search(len(a.entries), func(i int) bool { return a.entries[i].LastOffset >= offset })
	if i > 0 {
		a.entries = append([]AbortedTxn(nil), a.entries[i:]...)
	}
	a.mu.Unlock()
}

// takeDirty returns the segment bases with unsynced .txnindex appends.
func (a *abortIndex) takeDirty() []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]int64, 0, len(a.dirty))
	for b := range a.dirty {
		out = append(out, b)
	}
	a.dirty = nil
	return out
}

// controlType returns the type of the control record in a control batch
// (ControlTypeAbort or ControlTypeCommit); other types are an error. The
// batch must be uncompressed, as markers always are.
func controlType(h *batchHeader, batch []byte) (int16, error) {
	if h.compression() != 0 {
		return 0, fmt.Errorf("%w: compressed control batch", ErrInvalidRecord)
	}
	var typ int16 = -1
	err := eachRecordKey(h, batch, func(r *record) error {
		if len(r.Key) < 4 {
			return fmt.Errorf("%w: control record key of %d bytes", ErrInvalidRecord, len(r.Key))
		}
		typ = int16(binary.BigEndian.Uint16(r.Key[2:]))
		return errStopScan
	})
	if err != nil && !errors.Is(err, errStopScan) {
		return 0, err
	}
	if typ != ControlTypeAbort && typ != ControlTypeCommit {
		return 0, fmt.Errorf("%w: control record type %d is not a transaction marker", ErrInvalidRecord, typ)
	}
	return typ, nil
}

// EncodeMarker returns a control batch holding one transaction marker of
// producer pid at epoch: a commit marker when commit is set, an abort marker
// otherwise, with the coordinator's epoch in its value. Append it with
// OriginCoordinator.
func EncodeMarker(pid int64, epoch int16, commit bool, coordinatorEpoch int32, nowMs int64) []byte {
	typ := ControlTypeAbort
	if commit {
		typ = ControlTypeCommit
	}
	key := binary.BigEndian.AppendUint16(nil, 0)
	key = binary.BigEndian.AppendUint16(key, uint16(typ))
	val := binary.BigEndian.AppendUint16(nil, 0)
	val = binary.BigEndian.AppendUint32(val, uint32(coordinatorEpoch))
	var rec []byte
	rec = append(rec, 0)              // attributes
	rec = binary.AppendVarint(rec, 0) // timestampDelta
	rec = binary.AppendVarint(rec, 0) // offsetDelta
	rec = binary.AppendVarint(rec, int64(len(key)))
	rec = append(rec, key...)
	rec = binary.AppendVarint(rec, int64(len(val)))
	rec = append(rec, val...)
	rec = binary.AppendVarint(rec, 0) // headers
	b := make([]byte, batchHeaderSize, batchHeaderSize+len(rec)+2)
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], 0xffffffff)
	b[offMagic] = 2
	binary.BigEndian.PutUint16(b[offAttributes:], attrTransactional|attrControl)
	binary.BigEndian.PutUint32(b[offLastOffsetDelta:], 0)
	binary.BigEndian.PutUint64(b[offBaseTimestamp:], uint64(nowMs))
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(nowMs))
	binary.BigEndian.PutUint64(b[offProducerID:], uint64(pid))
	binary.BigEndian.PutUint16(b[offProducerEpoch:], uint16(epoch))
	binary.BigEndian.PutUint32(b[offBaseSequence:], 0xffffffff)
	binary.BigEndian.PutUint32(b[offRecordCount:], 1)
	b = binary.AppendVarint(b, int64(len(rec)))
	b = append(b, rec...)
	binary.BigEndian.PutUint32(b[offBatchLength:], uint32(len(b)-logOverhead))
	binary.BigEndian.PutUint32(b[offCRC:], crc32c(b[offAttributes:]))
	return b
}

// abortEntryFor returns the index entry an abort marker of producer e adds,
// or false when the producer has no ongoing transaction here (nothing to
// skip). It is called before the marker is applied to the producer table.
func abortEntryFor(e *producerEntry, h *batchHeader) (AbortedTxn, bool) {
	if e == nil || e.CurrentTxnFirstOffset < 0 {
		return AbortedTxn{}, false
	}
	return AbortedTxn{ProducerID: h.ProducerID, FirstOffset: e.CurrentTxnFirstOffset, LastOffset: h.BaseOffset}, true
}

// appendTxnIndex appends one entry to the .txnindex file of the segment
// with base segBase. The file is fsynced with the log (Sync, Close); a
// crash before that is repaired by recovery, which rebuilds the index.
func (l *Log) appendTxnIndex(segBase int64, e AbortedTxn) error {
	f, err := os.OpenFile(l.segPath(segBase, txnIndexSuffix), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return storageErr("open transaction index", err)
	}
	_, werr := f.Write(encodeTxnEntry(nil, e))
	cerr := f.Close()
	if werr != nil {
		return storageErr("write transaction index", werr)
	}
	if cerr != nil {
		return storageErr("close transaction index", cerr)
	}
	return nil
}

func (l *Log) segPath(base int64, suffix string) string {
	return l.dir + string(os.PathSeparator) + segmentName(base, suffix)
}

// syncTxnIndexes fsyncs the .txnindex files appended to since the last call.
func (l *Log) syncTxnIndexes() error {
	for _, base := range l.aborted.takeDirty() {
		f, err := os.OpenFile(l.segPath(base, txnIndexSuffix), os.O_RDWR, 0)
		if errors.Is(err, os.ErrNotExist) {
			continue // the segment was deleted meanwhile
		}
		if err != nil {
			return storageErr("open transaction index", err)
		}
		err = l.fsync(f)
		f.Close()
		if err != nil {
			return storageErr("fsync transaction index", err)
		}
	}
	return nil
}

// noteControlLocked handles a control batch about to be applied to the
// producer table (l.mu held): an abort marker adds an index entry in the
// segment segBase. lsoAfter is filled in by the caller once the marker has
// been applied.
func (l *Log) noteControlLocked(h *batchHeader, batch []byte) (AbortedTxn, bool, error) {
	typ, err := controlType(h, batch)
	if err != nil {
		return AbortedTxn{}, false, err
	}
	if typ != ControlTypeAbort {
		return AbortedTxn{}, false, nil
	}
	e, ok := abortEntryFor(l.producers.m[h.ProducerID], h)
	return e, ok, nil
}

// loadTxnIndexes reads every segment's .txnindex after a clean shutdown. A
// damaged file is rebuilt from its segment.
func (l *Log) loadTxnIndexes(segs []*segment) error {
	var all []AbortedTxn
	for _, s := range segs {
		b, err := os.ReadFile(s.path(txnIndexSuffix))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return storageErr("read transaction index", err)
		}
		es, derr := DecodeTxnIndex(b, s.base)
		if derr != nil {
			l.log.Warn("partlog: rebuilding a damaged transaction index", "segment", s.base, "err", derr)
			if es, err = l.rebuildTxnIndex(s); err != nil {
				return err
			}
		}
		all = append(all, es...)
	}
	l.aborted.set(all)
	return nil
}

// rebuildTxnIndex rebuilds one segment's .txnindex by replaying the
// producer table from the log start up to the segment's end. It is the slow
// path (a torn file after a clean shutdown), so it simply replays the whole
// log up to that point.
func (l *Log) rebuildTxnIndex(target *segment) ([]AbortedTxn, error) {
	ps := newProducerState()
	var out []AbortedTxn
	for _, s := range *l.segs.Load() {
		if s.base > target.base {
			break
		}
		var scanErr error
		_, bad, ioErr := scanBatches(s.f, 0, s.size.Load(), true, 1<<20, func(h *batchHeader, _ int64, _ int, data []byte) error {
			e, ok, err := txnEntryOnReplay(ps, h, data)
			if err != nil {
				scanErr = err
				return errStopScan
			}
			ps.replay(h)
			if ok && s == target {
				e.LastStableOffset = lsoAfter(ps, h.lastOffset()+1)
				out = append(out, e)
			}
			return nil
		})
		if ioErr != nil {
			return nil, storageErr("rebuild transaction index", ioErr)
		}
		if bad != nil || scanErr != nil {
			return nil, fmt.Errorf("partlog: rebuilding transaction index of segment %d: %w", target.base, errors.Join(bad, scanErr))
		}
	}
	if err := writeTxnIndexFile(target, out); err != nil {
		return nil, err
	}
	return out, nil
}

// txnEntryOnReplay returns the index entry a stored batch adds, if it is an
// abort marker, given the producer table before the batch.
func txnEntryOnReplay(ps *producerState, h *batchHeader, data []byte) (AbortedTxn, bool, error) {
	if !h.isControl() || h.ProducerID < 0 || h.NumRecords == 0 {
		// A control batch without records is a marker the cleaner removed.
		return AbortedTxn{}, false, nil
	}
	typ, err := controlType(h, data)
	if err != nil {
		return AbortedTxn{}, false, err
	}
	if typ != ControlTypeAbort {
		return AbortedTxn{}, false, nil
	}
	e, ok := abortEntryFor(ps.m[h.ProducerID], h)
	return e, ok, nil
}

// lsoAfter is the last stable offset given the producer table and the next
// offset.
func lsoAfter(ps *producerState, next int64) int64 {
	if s := ps.firstUnstableOffset(); s >= 0 {
		return s
	}
	return next
}

// writeTxnIndexFile replaces a segment's .txnindex with entries (removing
// it when there are none).
func writeTxnIndexFile(s *segment, entries []AbortedTxn) error {
	if len(entries) == 0 {
		if err := os.Remove(s.path(txnIndexSuffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return storageErr("remove transaction index", err)
		}
		return nil
	}
	var b []byte
	for _, e := range entries {
		b = encodeTxnEntry(b, e)
	}
	if err := writeFileSync(s.path(txnIndexSuffix), b, true); err != nil {
		return storageErr("write transaction index", err)
	}
	return nil
}

// AbortedTransactions returns the aborted transactions that overlap
// [from, to): those whose abort marker is at or after from and whose first
// offset is below to, oldest first. A read_committed consumer drops the
// records of these producers from FirstOffset until the marker.
func (l *Log) AbortedTransactions(from, to int64) []AbortedTxn {
	return abortedIn(l.aborted.snapshot(), from, to)
}

func abortedIn(es []AbortedTxn, from, to int64) []AbortedTxn {
	i := sort.Search(len(es), func(i int) bool { return es[i].LastOffset >= from })
	var out []AbortedTxn
	for ; i < len(es); i++ {
		if es[i].FirstOffset < to {
			out = append(out, es[i])
		}
	}
	return out
}

// ReadCommitted is ReadAppend for a read_committed consumer: it returns
// batches below the last stable offset only, and the aborted transactions
// that overlap the returned range in ReadResult.AbortedTransactions. Reading
// at or past the last stable offset (but within the log) returns no records.
func (l *Log) ReadCommitted(dst []byte, offset int64, maxBytes int32) (ReadResult, error) {
	start := len(dst)
	// readAppend takes the index once the read is bounded and before it
	// loads the segments, so every aborted record it returns has its entry.
	var index []AbortedTxn
	res, err := l.readAppend(dst, offset, maxBytes, &index)
	if err != nil || len(res.Records) == start {
		return res, err
	}
	end, ok := endOfBatches(res.Records[start:])
	if !ok {
		return res, nil
	}
	for _, e := range abortedIn(index, offset, end) {
		res.AbortedTransactions = append(res.AbortedTransactions, AbortedTransaction{ProducerID: e.ProducerID, FirstOffset: e.FirstOffset})
	}
	return res, nil
}

// endOfBatches returns the offset after the last of a run of whole batches.
func endOfBatches(b []byte) (int64, bool) {
	next := int64(-1)
	for len(b) >= batchHeaderSize {
		h, _ := parseHeader(b)
		if h.size() > len(b) || h.Length < batchHeaderSize-logOverhead {
			break
		}
		next = h.lastOffset() + 1
		b = b[h.size():]
	}
	return next, next >= 0
}

// OngoingTransactions returns the producers with an ongoing transaction in
// this partition and the first offset of each, sorted by that offset.
func (l *Log) OngoingTransactions() []ProducerInfo {
	var out []ProducerInfo
	for _, p := range l.Producers() {
		if p.CurrentTxnStartOffset >= 0 {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CurrentTxnStartOffset < out[j].CurrentTxnStartOffset })
	return out
}

// abortedBatches returns a test for whether a transactional batch of producer pid at
// offset belongs to an aborted transaction, from the aborted-transaction index. The
// cleaner uses it: records of aborted transactions are dropped by compaction and never
// shadow older records of the same key (Kafka's rules).
func (l *Log) abortedBatches() func(pid, offset int64) bool {
	byPid := map[int64][]AbortedTxn{}
	for _, e := range l.aborted.snapshot() {
		byPid[e.ProducerID] = append(byPid[e.ProducerID], e)
	}
	return func(pid, offset int64) bool {
		for _, e := range byPid[pid] {
			if offset >= e.FirstOffset && offset <= e.LastOffset {
				return true
			}
		}
		return false
	}
}

// noteMarkerEpoch records the coordinator epoch of a transaction marker (the control
// record's value: version int16, coordinatorEpoch int32) in its producer's entry, as
// DescribeProducers reports it. It is called after the marker was applied.
func noteMarkerEpoch(ps *producerState, h *batchHeader, batch []byte) {
	e := ps.m[h.ProducerID]
	if e == nil || h.compression() != 0 {
		return
	}
	_ = eachRecordOf(h, batch, func(r *record) error {
		if len(r.Value) >= 6 {
			e.CoordinatorEpoch = int32(binary.BigEndian.Uint32(r.Value[2:]))
		}
		return errStopScan
	})
}
