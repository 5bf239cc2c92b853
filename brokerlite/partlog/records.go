package partlog

import (
	"encoding/binary"
	"fmt"
)

// This file is the small record-batch codec the broker's coordinators use
// for their internal topics: they build uncompressed batches of key/value
// records and read stored batches back, with the same checks and the same
// decompression cap as the log itself.

// KV is one record of an internal topic. A nil Value is a tombstone.
type KV struct {
	Key, Value []byte
}

// BatchInfo is what a coordinator needs from a stored batch's header.
type BatchInfo struct {
	BaseOffset    int64
	ProducerID    int64
	ProducerEpoch int16
	Transactional bool
	Control       bool
}

// BatchOptions say whose batch EncodeBatch builds. The zero value is a
// batch with no producer (producer id -1).
type BatchOptions struct {
	// ProducerID and ProducerEpoch of a transactional batch written on a
	// producer's behalf (a transactional offset commit); ProducerID 0 with
	// Transactional false means no producer.
	ProducerID    int64
	ProducerEpoch int16
	Transactional bool
}

// EncodeBatch returns one uncompressed magic-2 batch holding recs, every
// record stamped nowMs, with base offset 0 (the log assigns offsets).
func EncodeBatch(recs []KV, nowMs int64, o BatchOptions) []byte {
	b := make([]byte, batchHeaderSize, batchHeaderSize+len(recs)*64)
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], 0xffffffff)
	b[offMagic] = 2
	var attrs uint16
	pid, epoch, seq := int64(-1), int16(-1), int32(-1)
	if o.Transactional {
		attrs |= attrTransactional
		pid, epoch, seq = o.ProducerID, o.ProducerEpoch, 0
	}
	binary.BigEndian.PutUint16(b[offAttributes:], attrs)
	binary.BigEndian.PutUint32(b[offLastOffsetDelta:], uint32(len(recs)-1))
	binary.BigEndian.PutUint64(b[offBaseTimestamp:], uint64(nowMs))
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(nowMs))
	binary.BigEndian.PutUint64(b[offProducerID:], uint64(pid))
	binary.BigEndian.PutUint16(b[offProducerEpoch:], uint16(epoch))
	binary.BigEndian.PutUint32(b[offBaseSequence:], uint32(seq))
	binary.BigEndian.PutUint32(b[offRecordCount:], uint32(len(recs)))
	var body []byte
	for i, r := range recs {
		body = body[:0]
		body = append(body, 0)                     // attributes
		body = binary.AppendVarint(body, 0)        // timestampDelta
		body = binary.AppendVarint(body, int64(i)) // offsetDelta
		body = binary.AppendVarint(body, int64(len(r.Key)))
		body = append(body, r.Key...)
		if r.Value == nil {
			body = binary.AppendVarint(body, -1)
		} else {
			body = binary.AppendVarint(body, int64(len(r.Value)))
			body = append(body, r.Value...)
		}
		body = binary.AppendVarint(body, 0) // headers
		b = binary.AppendVarint(b, int64(len(body)))
		b = append(b, body...)
	}
	binary.BigEndian.PutUint32(b[offBatchLength:], uint32(len(b)-logOverhead))
	binary.BigEndian.PutUint32(b[offCRC:], crc32c(b[offAttributes:]))
	return b
}

// EachRecord calls fn for every record of every batch in batches (stored
// batches back to back, as a read returns them), in order, control batches
// included (their one record is the control record). Key and Value alias
// batches or a decompression buffer: fn copies what it keeps. Malformed
// input returns an error wrapping ErrCorruptMessage, never a panic.
func EachRecord(batches []byte, fn func(info BatchInfo, kv KV) error) error {
	for len(batches) > 0 {
		h, size, err := checkStoredBatch(batches)
		if err != nil {
			return err
		}
		batch := batches[:size]
		batches = batches[size:]
		info := BatchInfo{BaseOffset: h.BaseOffset, ProducerID: h.ProducerID, ProducerEpoch: h.ProducerEpoch, Transactional: h.isTxn(), Control: h.isControl()}
		err = eachRecordOf(&h, batch, func(r *record) error {
			return fn(info, KV{Key: r.Key, Value: r.Value})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ParseControlKey returns the type of a control record from its key
// (ControlTypeAbort or ControlTypeCommit for transaction markers).
func ParseControlKey(key []byte) (int16, error) {
	if len(key) < 4 {
		return 0, fmt.Errorf("%w: control record key of %d bytes", ErrCorruptMessage, len(key))
	}
	return int16(binary.BigEndian.Uint16(key[2:])), nil
}
