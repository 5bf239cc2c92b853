package partlog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
)

// maxProducerBatches is how many recent batches per producer the log keeps
// for duplicate detection: a KIP-98 producer has at most 5 requests in flight
// per partition.
const maxProducerBatches = 5

// batchMeta describes one appended batch of an idempotent producer.
type batchMeta struct {
	FirstSeq   int32
	LastSeq    int32
	BaseOffset int64
	LastOffset int64
	MaxTs      int64 // the batch's maxTimestamp as stored (LogAppendTime if stamped)
}

// producerEntry is the log's state for one producer id.
type producerEntry struct {
	Epoch   int16
	Batches []batchMeta // oldest first, at most maxProducerBatches, current epoch only
	LastTs  int64       // maxTimestamp of the producer's last batch, for expiration
	// CoordinatorEpoch and CurrentTxnFirstOffset are for transactions:
	// the first offset of the producer's ongoing transaction in this
	// partition (-1 when none) bounds the last stable offset.
	CoordinatorEpoch      int32
	CurrentTxnFirstOffset int64
}

func (e *producerEntry) clone() *producerEntry {
	c := *e
	c.Batches = append([]batchMeta(nil), e.Batches...)
	return &c
}

// producerState is the per-partition producer table (Kafka's
// ProducerStateManager). The Log guards it with its append lock.
type producerState struct {
	m map[int64]*producerEntry
}

func newProducerState() *producerState {
	return &producerState{m: make(map[int64]*producerEntry)}
}

func inSequence(lastSeq, nextSeq int32) bool {
	return nextSeq == lastSeq+1 || (lastSeq == 1<<31-1 && nextSeq == 0)
}

// check applies KIP-98's rules to a client batch of producer h.ProducerID,
// given the entry as it stands (e, nil when unknown). It returns the
// original batch when h is a duplicate.
func checkSequence(e *producerEntry, h *batchHeader) (*batchMeta, error) {
	if e == nil {
		// An unknown producer (new, or expired) may start at any sequence,
		// as in Kafka: its earlier state may have been removed.
		return nil, nil
	}
	if h.ProducerEpoch < e.Epoch {
		return nil, fmt.Errorf("%w: producer %d epoch %d is older than %d", ErrInvalidProducerEpoch, h.ProducerID, h.ProducerEpoch, e.Epoch)
	}
	if h.ProducerEpoch > e.Epoch {
		if h.BaseSequence != 0 {
			return nil, fmt.Errorf("%w: producer %d new epoch %d must start at sequence 0, not %d", ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, h.BaseSequence)
		}
		return nil, openTxnCheck(e, h)
	}
	last := h.lastSequence()
	for i := range e.Batches {
		// KIP-98: a batch with the same first and last sequence as one of
		// the last five is a retry of it; it is acknowledged with its
		// original offsets and not appended again.
		if b := &e.Batches[i]; b.FirstSeq == h.BaseSequence && b.LastSeq == last {
			return b, nil
		}
	}
	if len(e.Batches) == 0 {
		if h.BaseSequence != 0 {
			return nil, fmt.Errorf("%w: producer %d epoch %d has no batches yet, sequence %d is not 0", ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, h.BaseSequence)
		}
		return nil, openTxnCheck(e, h)
	}
	if prev := e.Batches[len(e.Batches)-1].LastSeq; !inSequence(prev, h.BaseSequence) {
		return nil, fmt.Errorf("%w: producer %d expected sequence %d, got %d", ErrOutOfOrderSequence, h.ProducerID, incSequence(prev, 1), h.BaseSequence)
	}
	return nil, openTxnCheck(e, h)
}

// openTxnCheck refuses a batch outside a transaction from a producer whose transaction
// is open on the partition, as Kafka does: it would land inside the transaction's offsets
// and stay there whether the transaction commits or aborts.
func openTxnCheck(e *producerEntry, h *batchHeader) error {
	if e.CurrentTxnFirstOffset >= 0 && !h.isTxn() {
		return fmt.Errorf("%w: producer %d has a transaction open since offset %d and wrote a batch outside it", ErrInvalidTxnState, h.ProducerID, e.CurrentTxnFirstOffset)
	}
	return nil
}

// apply records an appended (or recovered) batch with its assigned base
// offset into e, creating e when nil, and returns it.
func applyBatch(e *producerEntry, h *batchHeader) *producerEntry {
	if e == nil {
		e = &producerEntry{Epoch: h.ProducerEpoch, CoordinatorEpoch: -1, CurrentTxnFirstOffset: -1}
	}
	if h.ProducerEpoch != e.Epoch {
		e.Epoch = h.ProducerEpoch
		e.Batches = e.Batches[:0]
	}
	e.LastTs = h.MaxTimestamp
	if h.isControl() {
		// A transaction marker ends the producer's ongoing transaction.
		e.CurrentTxnFirstOffset = -1
		return e
	}
	if h.isTxn() && e.CurrentTxnFirstOffset < 0 {
		e.CurrentTxnFirstOffset = h.BaseOffset
	}
	if len(e.Batches) == maxProducerBatches {
		copy(e.Batches, e.Batches[1:])
		e.Batches = e.Batches[:maxProducerBatches-1]
	}
	e.Batches = append(e.Batches, batchMeta{
		FirstSeq:   h.BaseSequence,
		LastSeq:    h.lastSequence(),
		BaseOffset: h.BaseOffset,
		LastOffset: h.lastOffset(),
		MaxTs:      h.MaxTimestamp,
	})
	return e
}

// replay folds a stored batch into the state (recovery, no checks).
func (ps *producerState) replay(h *batchHeader) {
	if h.ProducerID < 0 {
		return
	}
	ps.m[h.ProducerID] = applyBatch(ps.m[h.ProducerID], h)
}

// expire removes producers whose last batch is older than cutoffMs and who
// have no ongoing transaction (Kafka's producer.id.expiration.ms).
func (ps *producerState) expire(cutoffMs int64) int {
	n := 0
	for id, e := range ps.m {
		if e.LastTs < cutoffMs && e.CurrentTxnFirstOffset < 0 {
			delete(ps.m, id)
			n++
		}
	}
	return n
}

// firstUnstableOffset returns the smallest first offset of an ongoing
// transaction, or -1 when none is ongoing.
func (ps *producerState) firstUnstableOffset() int64 {
	min := int64(-1)
	for _, e := range ps.m {
		if o := e.CurrentTxnFirstOffset; o >= 0 && (min < 0 || o < min) {
			min = o
		}
	}
	return min
}

// lastOffsetByProducer returns each producer's last batch's last offset: the
// cleaner keeps that batch (at least as an empty batch) so sequence state
// survives compaction, as Kafka does.
func (ps *producerState) lastOffsetByProducer() map[int64]int64 {
	out := make(map[int64]int64, len(ps.m))
	for id, e := range ps.m {
		if n := len(e.Batches); n > 0 {
			out[id] = e.Batches[n-1].LastOffset
		}
	}
	return out
}

// Snapshot file: "<offset>.snapshot", Kafka's name, with our own layout:
//
//	magic "PLPS" | version uint16 (1) | crc32c uint32 of the rest |
//	offset int64 | count int32 | count entries
//	entry: producerID int64 | epoch int16 | lastTs int64 | coordinatorEpoch int32 |
//	       currentTxnFirstOffset int64 | nbatches uint8 |
//	       nbatches x (firstSeq int32 | lastSeq int32 | base int64 | last int64 | maxTs int64)
//
// A snapshot is written at clean shutdown only; it is used when it matches the
// log end offset, and ignored (and the state rebuilt from the log) otherwise.
const snapshotMagic = "PLPS"

func encodeSnapshot(ps *producerState, offset int64) []byte {
	ids := make([]int64, 0, len(ps.m))
	for id := range ps.m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	b := []byte(snapshotMagic)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = append(b, 0, 0, 0, 0) // crc placeholder
	b = binary.BigEndian.AppendUint64(b, uint64(offset))
	b = binary.BigEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		e := ps.m[id]
		b = binary.BigEndian.AppendUint64(b, uint64(id))
		b = binary.BigEndian.AppendUint16(b, uint16(e.Epoch))
		b = binary.BigEndian.AppendUint64(b, uint64(e.LastTs))
		b = binary.BigEndian.AppendUint32(b, uint32(e.CoordinatorEpoch))
		b = binary.BigEndian.AppendUint64(b, uint64(e.CurrentTxnFirstOffset))
		b = append(b, byte(len(e.Batches)))
		for _, m := range e.Batches {
			b = binary.BigEndian.AppendUint32(b, uint32(m.FirstSeq))
			b = binary.BigEndian.AppendUint32(b, uint32(m.LastSeq))
			b = binary.BigEndian.AppendUint64(b, uint64(m.BaseOffset))
			b = binary.BigEndian.AppendUint64(b, uint64(m.LastOffset))
			b = binary.BigEndian.AppendUint64(b, uint64(m.MaxTs))
		}
	}
	binary.BigEndian.PutUint32(b[6:], crc32.Checksum(b[10:], castagnoli))
	return b
}

func decodeSnapshot(b []byte) (*producerState, int64, error) {
	bad := func(what string) error { return fmt.Errorf("partlog: damaged producer snapshot: %s", what) }
	if len(b) < 22 || string(b[:4]) != snapshotMagic || binary.BigEndian.Uint16(b[4:]) != 1 {
		return nil, 0, bad("header")
	}
	if binary.BigEndian.Uint32(b[6:]) != crc32.Checksum(b[10:], castagnoli) {
		return nil, 0, bad("crc")
	}
	offset := int64(binary.BigEndian.Uint64(b[10:]))
	n := int(binary.BigEndian.Uint32(b[18:]))
	p := b[22:]
	ps := newProducerState()
	for i := 0; i < n; i++ {
		if len(p) < 31 {
			return nil, 0, bad("entry")
		}
		id := int64(binary.BigEndian.Uint64(p))
		e := &producerEntry{
			Epoch:                 int16(binary.BigEndian.Uint16(p[8:])),
			LastTs:                int64(binary.BigEndian.Uint64(p[10:])),
			CoordinatorEpoch:      int32(binary.BigEndian.Uint32(p[18:])),
			CurrentTxnFirstOffset: int64(binary.BigEndian.Uint64(p[22:])),
		}
		nb := int(p[30])
		p = p[31:]
		if nb > maxProducerBatches || len(p) < nb*32 {
			return nil, 0, bad("batches")
		}
		for j := 0; j < nb; j++ {
			e.Batches = append(e.Batches, batchMeta{
				FirstSeq:   int32(binary.BigEndian.Uint32(p)),
				LastSeq:    int32(binary.BigEndian.Uint32(p[4:])),
				BaseOffset: int64(binary.BigEndian.Uint64(p[8:])),
				LastOffset: int64(binary.BigEndian.Uint64(p[16:])),
				MaxTs:      int64(binary.BigEndian.Uint64(p[24:])),
			})
			p = p[32:]
		}
		ps.m[id] = e
	}
	if len(p) != 0 {
		return nil, 0, bad("trailing bytes")
	}
	return ps, offset, nil
}

// listSnapshots returns the offsets of the snapshot files in dir.
func listSnapshots(dir string) []int64 {
	ents, _ := os.ReadDir(dir)
	var out []int64
	for _, e := range ents {
		if off, ok := parseSegmentName(e.Name(), snapshotSuffix); ok {
			out = append(out, off)
		}
	}
	return out
}

func removeSnapshots(dir string) {
	for _, off := range listSnapshots(dir) {
		_ = os.Remove(filepath.Join(dir, segmentName(off, snapshotSuffix)))
	}
}

// ProducerInfo is what the log knows about one producer of the partition,
// as Kafka's DescribeProducers reports it.
type ProducerInfo struct {
	ProducerID    int64
	ProducerEpoch int16
	// LastSequence is the last sequence number of the producer's last
	// batch, or -1 when none is kept.
	LastSequence int32
	// LastTimestamp is the max timestamp of the producer's last batch.
	LastTimestamp    int64
	CoordinatorEpoch int32
	// CurrentTxnStartOffset is the first offset of the producer's ongoing
	// transaction in this partition, or -1.
	CurrentTxnStartOffset int64
}

// Producers returns the producers the log keeps state for (idempotent and
// transactional ones whose state has not expired), sorted by producer id.
func (l *Log) Producers() []ProducerInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]ProducerInfo, 0, len(l.producers.m))
	for id, e := range l.producers.m {
		pi := ProducerInfo{ProducerID: id, ProducerEpoch: e.Epoch, LastSequence: -1, LastTimestamp: e.LastTs,
			CoordinatorEpoch: e.CoordinatorEpoch, CurrentTxnStartOffset: e.CurrentTxnFirstOffset}
		if n := len(e.Batches); n > 0 {
			pi.LastSequence = e.Batches[n-1].LastSeq
		}
		out = append(out, pi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProducerID < out[j].ProducerID })
	return out
}
