package groupcoord

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"github.com/rivulet-io/rivulet/internal/recordbatch"
)

// This file encodes and decodes Kafka record batches (magic 2) for the
// __consumer_offsets topic. The coordinator writes uncompressed batches; it
// reads every codec Kafka defines so that a batch rewritten by a cleaner or
// copied from elsewhere still loads. The records are decoded by
// internal/recordbatch, the decoder (and decompression cap) the partition
// log uses too; the batch framing and CRC are checked here.

// record is one key/value pair of the internal topic. A nil value is a
// tombstone.
type record struct {
	key, value []byte
}

const (
	batchHeaderLen   = 61 // baseOffset through recordCount
	batchLengthStart = 12 // bytes before the part batchLength counts
	crcStart         = 21 // attributes onwards is covered by the CRC
	magicOffset      = 16

	attrCompressionMask = 0x07
	attrControl         = 0x20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errBadBatch is wrapped by every decoding error of this file.
var errBadBatch = errors.New("groupcoord: malformed record batch")

// encodeBatch returns one uncompressed magic-2 record batch holding recs,
// with base offset 0 (the log assigns offsets), no producer id, and every
// record stamped nowMs (partlog's encoder, the one the transaction
// coordinator uses too).
func encodeBatch(recs []record, nowMs int64) []byte {
	kvs := make([]partlog.KV, len(recs))
	for i, r := range recs {
		kvs[i] = partlog.KV{Key: r.key, Value: r.value}
	}
	return partlog.EncodeBatch(kvs, nowMs, partlog.BatchOptions{})
}

// decodeBatches calls fn for every record of every batch in b (one or more
// magic-2 batches back to back), in order. Control batches (transaction
// markers) are skipped. Key and value alias b or a decompression buffer;
// fn must copy what it keeps. Malformed input returns an error wrapping
// errBadBatch, never a panic; records before the bad spot have been passed
// to fn.
func decodeBatches(b []byte, fn func(rec record) error) error {
	for len(b) > 0 {
		if len(b) < batchHeaderLen {
			return fmt.Errorf("%w: %d bytes, shorter than a batch header", errBadBatch, len(b))
		}
		length := int64(int32(binary.BigEndian.Uint32(b[8:])))
		if length < batchHeaderLen-batchLengthStart || length > int64(len(b)-batchLengthStart) {
			return fmt.Errorf("%w: batch length %d with %d bytes left", errBadBatch, length, len(b)-batchLengthStart)
		}
		batch := b[:batchLengthStart+int(length)]
		b = b[len(batch):]
		if magic := int8(batch[magicOffset]); magic != 2 {
			return fmt.Errorf("%w: magic %d, want 2", errBadBatch, magic)
		}
		if want, got := binary.BigEndian.Uint32(batch[17:]), crc32.Checksum(batch[crcStart:], castagnoli); want != got {
			return fmt.Errorf("%w: crc32c %08x, computed %08x", errBadBatch, want, got)
		}
		attrs := binary.BigEndian.Uint16(batch[21:])
		if attrs&attrControl != 0 {
			continue
		}
		n := int32(binary.BigEndian.Uint32(batch[57:]))
		err := recordbatch.Each(int8(attrs&attrCompressionMask), batch[batchHeaderLen:], n, recordbatch.Full, func(r *recordbatch.Record) error {
			return fn(record{key: r.Key, value: r.Value})
		})
		if errors.Is(err, recordbatch.ErrCorrupt) {
			return fmt.Errorf("%w: %w", errBadBatch, err)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
