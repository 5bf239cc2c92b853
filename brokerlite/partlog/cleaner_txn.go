package partlog

// Transaction markers under compaction (KIP-98, Kafka's LogCleaner, with the
// delete horizon of KIP-534).
//
// A marker (COMMIT or ABORT control batch) is kept while any batch of its
// transaction is left in the partition: a consumer, and the producer table
// rebuilt from the log, need it to end the transaction. Once a cleaning pass
// leaves no batch of the transaction, the marker gets a delete horizon
// (now + delete.retention.ms, written into the batch header as KIP-534
// does: attribute bit 0x40, baseTimestamp holds the horizon) and, for an
// aborted transaction, its entry leaves the aborted-transaction index (no
// record is left for it to hide). A later pass at or after the horizon
// removes the marker: the batch is dropped, or kept without records when it
// has to end a cleaned group.
//
// A transaction's batch that is its producer's last data batch is kept
// (emptied) for the producer's sequence state, so its marker stays until
// that producer writes again or expires, as in Kafka.

import (
	"encoding/binary"
	"fmt"
)

// markerCleaner follows the transactions of one cleaning pass, which reads
// the cleanable segments in offset order from the log start.
type markerCleaner struct {
	now         int64
	retentionMs int64
	// live[pid]: a batch of producer pid's current transaction is kept by
	// this pass (a marker ends the transaction).
	live map[int64]bool
	// goneAborts: marker offsets of aborted transactions with nothing left;
	// their aborted-transaction index entries are dropped at the swap.
	goneAborts map[int64]bool
	// due is the earliest horizon of a marker left waiting (0: none).
	due int64
}

func (m *markerCleaner) wait(horizon int64) {
	if m.due == 0 || horizon < m.due {
		m.due = horizon
	}
}

func newMarkerCleaner(now, retentionMs int64) *markerCleaner {
	return &markerCleaner{now: now, retentionMs: retentionMs, live: map[int64]bool{}, goneAborts: map[int64]bool{}}
}

// keptData notes that a data batch was kept (with or without records) under
// its producer id.
func (m *markerCleaner) keptData(h *batchHeader) {
	if h.isTxn() && h.ProducerID >= 0 {
		m.live[h.ProducerID] = true
	}
}

// markerAction is what becomes of a marker.
type markerAction int

const (
	markerKeep       markerAction = iota // copied as it is
	markerSetHorizon                     // rewritten with a delete horizon
	markerRemove                         // its record goes (the batch is dropped or emptied)
)

// marker decides the fate of a control batch and ends its producer's
// transaction for the rest of the pass.
func (m *markerCleaner) marker(h *batchHeader, data []byte) markerAction {
	pid := h.ProducerID
	live := m.live[pid]
	delete(m.live, pid)
	if live || h.NumRecords == 0 {
		// Records of the transaction remain, or the marker was already
		// removed (an empty batch kept for the producer or a group's end).
		return markerKeep
	}
	typ, err := controlType(h, data)
	if err != nil {
		return markerKeep // not a transaction marker: leave it alone
	}
	if typ == ControlTypeAbort {
		m.goneAborts[h.BaseOffset] = true
	}
	if h.Attributes&attrDeleteHorizon == 0 {
		m.wait(m.now + m.retentionMs)
		return markerSetHorizon
	}
	if m.now >= h.BaseTimestamp {
		return markerRemove
	}
	m.wait(h.BaseTimestamp)
	return markerKeep
}

// withDeleteHorizon appends to dst the batch h (records in data) with its
// delete horizon set: attribute bit 0x40, baseTimestamp = horizon, and each
// record's timestamp delta recomputed so record timestamps are unchanged
// (KIP-534). The batch is encoded anew, its CRC included.
func withDeleteHorizon(dst []byte, h *batchHeader, data []byte, horizon int64) ([]byte, error) {
	raw, err := rebaseRecords(h, data, horizon)
	if err != nil {
		return dst, err
	}
	nh := *h
	nh.Attributes |= attrDeleteHorizon
	nh.BaseTimestamp = horizon
	return encodeBatch(dst, nh, raw)
}

// keptWithDeleteHorizon is withDeleteHorizon for the batch h cut down to
// the records in raw (encoded against h's base offset and base timestamp,
// uncompressed; h.NumRecords counts them).
func keptWithDeleteHorizon(dst []byte, h batchHeader, raw []byte, horizon int64) ([]byte, error) {
	plain := h
	plain.Attributes &^= attrCompressionMask
	tmp, err := encodeBatch(nil, plain, raw)
	if err != nil {
		return dst, err
	}
	if plain, _, err = checkStoredBatch(tmp); err != nil {
		return dst, err
	}
	if raw, err = rebaseRecords(&plain, tmp, horizon); err != nil {
		return dst, err
	}
	h.Attributes |= attrDeleteHorizon
	h.BaseTimestamp = horizon
	return encodeBatch(dst, h, raw)
}

// rebaseRecords returns the records of the batch h (bytes in data),
// uncompressed, with their timestamp deltas taken against base.
func rebaseRecords(h *batchHeader, data []byte, base int64) ([]byte, error) {
	var raw, body []byte
	err := eachRecordOf(h, data, func(r *record) error {
		body = append(body[:0], byte(r.Attrs))
		body = binary.AppendVarint(body, r.Timestamp-base)
		body = binary.AppendVarint(body, r.Offset-h.BaseOffset)
		body = appendVarBytes(body, r.Key)
		body = appendVarBytes(body, r.Value)
		body = append(body, r.Headers...)
		raw = binary.AppendVarint(raw, int64(len(body)))
		raw = append(raw, body...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("partlog: setting the delete horizon of the batch at offset %d: %w", h.BaseOffset, err)
	}
	return raw, nil
}

// emptyBatch appends h without records. forProducer keeps the producer
// fields (the producer's sequence state, KIP-98); otherwise the batch only
// holds the offset range (the end of a cleaned group) and carries no
// producer, transaction or control flag, so it neither opens nor ends a
// transaction when the producer table is rebuilt from the log.
func emptyBatch(dst []byte, h *batchHeader, forProducer bool) ([]byte, error) {
	eh := *h
	eh.NumRecords = 0
	eh.Attributes &^= attrCompressionMask
	if !forProducer && (h.isTxn() || h.isControl()) {
		eh.Attributes &^= attrTransactional | attrControl | attrDeleteHorizon
		eh.ProducerID, eh.ProducerEpoch, eh.BaseSequence = -1, -1, -1
	}
	return encodeBatch(dst, eh, nil)
}

// removeAndList drops the entries whose marker offset is in drop and in
// [from, to), and returns the entries whose marker is in [from, to) that remain.
func (a *abortIndex) removeAndList(drop map[int64]bool, from, to int64) []AbortedTxn {
	a.mu.Lock()
	defer a.mu.Unlock()
	var kept, in []AbortedTxn
	removed := false
	for _, e := range a.entries {
		if drop[e.LastOffset] && e.LastOffset >= from && e.LastOffset < to {
			removed = true
			continue
		}
		kept = append(kept, e)
		if e.LastOffset >= from && e.LastOffset < to {
			in = append(in, e)
		}
	}
	if removed {
		a.entries = kept
	}
	return in
}

// rewriteGroupTxnIndex is called at a swap (l.mu held) once the cleaned
// segment ns replaced its group: the group's aborted transactions whose
// records are all gone leave the index, and <base>.txnindex is rewritten
// with the group's remaining entries (the other segments' files went with
// them).
func (l *Log) rewriteGroupTxnIndex(ns *segment, gone map[int64]bool) error {
	ns.mu.RLock()
	end := ns.nextOffset
	ns.mu.RUnlock()
	entries := l.aborted.removeAndList(gone, ns.base, end)
	return writeTxnIndexFile(ns, entries)
}
