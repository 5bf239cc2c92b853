package partlog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Record batch v2 (magic 2) layout, as Kafka defines it. All integers are big
// endian. The CRC32C covers attributes through the end of the batch, so the
// log may rewrite baseOffset and partitionLeaderEpoch without touching it.
const (
	offBaseOffset      = 0  // int64
	offBatchLength     = 8  // int32: bytes after this field
	offLeaderEpoch     = 12 // int32 partitionLeaderEpoch
	offMagic           = 16 // int8
	offCRC             = 17 // uint32, CRC32C of [offAttributes, end)
	offAttributes      = 21 // int16
	offLastOffsetDelta = 23 // int32
	offBaseTimestamp   = 27 // int64
	offMaxTimestamp    = 35 // int64
	offProducerID      = 43 // int64
	offProducerEpoch   = 51 // int16
	offBaseSequence    = 53 // int32
	offRecordCount     = 57 // int32
	batchHeaderSize    = 61 // the records start here

	// logOverhead is baseOffset + batchLength: the part of a batch that
	// batchLength does not count.
	logOverhead = 12

	// minRecordSize is the smallest encoded record: length, attributes,
	// timestampDelta, offsetDelta, keyLength, valueLength and header count,
	// one byte each.
	minRecordSize = 7
)

// Batch attribute bits.
const (
	attrCompressionMask = 0x07 // 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd
	attrTimestampType   = 0x08 // 1: LogAppendTime
	attrTransactional   = 0x10
	attrControl         = 0x20
	attrDeleteHorizon   = 0x40 // KIP-534: baseTimestamp holds the delete horizon
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// batchHeader is the decoded fixed part of a record batch.
type batchHeader struct {
	BaseOffset      int64
	Length          int32 // batchLength; the batch is Length+12 bytes
	LeaderEpoch     int32
	Magic           int8
	CRC             uint32
	Attributes      int16
	LastOffsetDelta int32
	BaseTimestamp   int64
	MaxTimestamp    int64
	ProducerID      int64
	ProducerEpoch   int16
	BaseSequence    int32
	NumRecords      int32
}

func (h *batchHeader) size() int           { return int(h.Length) + logOverhead }
func (h *batchHeader) lastOffset() int64   { return h.BaseOffset + int64(h.LastOffsetDelta) }
func (h *batchHeader) compression() int8   { return int8(h.Attributes & attrCompressionMask) }
func (h *batchHeader) isControl() bool     { return h.Attributes&attrControl != 0 }
func (h *batchHeader) isTxn() bool         { return h.Attributes&attrTransactional != 0 }
func (h *batchHeader) logAppendTime() bool { return h.Attributes&attrTimestampType != 0 }

// lastSequence is the sequence of the batch's last record, wrapping at
// math.MaxInt32 to 0 as KIP-98 specifies.
func (h *batchHeader) lastSequence() int32 {
	return incSequence(h.BaseSequence, h.LastOffsetDelta)
}

// incSequence adds n to a producer sequence, wrapping past math.MaxInt32 to 0.
func incSequence(seq, n int32) int32 {
	if seq > (1<<31-1)-n {
		return n - ((1<<31 - 1) - seq) - 1
	}
	return seq + n
}

// parseHeader decodes the fixed header of the batch at the start of b. It
// checks only that b holds the header; the caller checks the rest.
func parseHeader(b []byte) (batchHeader, bool) {
	if len(b) < batchHeaderSize {
		return batchHeader{}, false
	}
	return batchHeader{
		BaseOffset:      int64(binary.BigEndian.Uint64(b[offBaseOffset:])),
		Length:          int32(binary.BigEndian.Uint32(b[offBatchLength:])),
		LeaderEpoch:     int32(binary.BigEndian.Uint32(b[offLeaderEpoch:])),
		Magic:           int8(b[offMagic]),
		CRC:             binary.BigEndian.Uint32(b[offCRC:]),
		Attributes:      int16(binary.BigEndian.Uint16(b[offAttributes:])),
		LastOffsetDelta: int32(binary.BigEndian.Uint32(b[offLastOffsetDelta:])),
		BaseTimestamp:   int64(binary.BigEndian.Uint64(b[offBaseTimestamp:])),
		MaxTimestamp:    int64(binary.BigEndian.Uint64(b[offMaxTimestamp:])),
		ProducerID:      int64(binary.BigEndian.Uint64(b[offProducerID:])),
		ProducerEpoch:   int16(binary.BigEndian.Uint16(b[offProducerEpoch:])),
		BaseSequence:    int32(binary.BigEndian.Uint32(b[offBaseSequence:])),
		NumRecords:      int32(binary.BigEndian.Uint32(b[offRecordCount:])),
	}, true
}

// checkStoredBatch checks the batch at the start of b as recovery does: the
// header is whole, the length fits in b, the magic is 2, the offsets are sane
// and the CRC matches. It returns the header and the batch size. Batches the
// cleaner wrote may hold zero records (KIP-98 keeps the last batch of a
// producer as an empty batch), so unlike validateBatch it accepts them.
func checkStoredBatch(b []byte) (batchHeader, int, error) {
	h, ok := parseHeader(b)
	if !ok {
		return h, 0, fmt.Errorf("%w: truncated batch header (%d bytes)", ErrCorruptMessage, len(b))
	}
	if h.Length < batchHeaderSize-logOverhead {
		return h, 0, fmt.Errorf("%w: batch length %d below the v2 minimum", ErrCorruptMessage, h.Length)
	}
	size := h.size()
	if size > len(b) {
		return h, 0, fmt.Errorf("%w: batch of %d bytes truncated at %d", ErrCorruptMessage, size, len(b))
	}
	if h.Magic != 2 {
		return h, 0, fmt.Errorf("%w: magic %d", ErrCorruptMessage, h.Magic)
	}
	if h.LastOffsetDelta < 0 || h.NumRecords < 0 || h.BaseOffset < 0 {
		return h, 0, fmt.Errorf("%w: negative offset delta, record count or base offset", ErrCorruptMessage)
	}
	if h.NumRecords > 0 && h.NumRecords-1 > h.LastOffsetDelta {
		return h, 0, fmt.Errorf("%w: %d records but last offset delta %d", ErrCorruptMessage, h.NumRecords, h.LastOffsetDelta)
	}
	if crc32.Checksum(b[offAttributes:size], castagnoli) != h.CRC {
		return h, 0, fmt.Errorf("%w: crc mismatch", ErrCorruptMessage)
	}
	return h, size, nil
}

// validateBatch checks one batch of a produce request at the start of b, as
// Kafka's LogValidator does for magic 2, without touching the records: the
// length, magic, CRC32C, record count against lastOffsetDelta and (for
// uncompressed batches) against the bytes that hold them, the compression
// codec, max.message.bytes, and the control and transactional bits. It
// returns the header and the batch size.
func validateBatch(b []byte, maxMessageBytes int32, allowControl bool) (batchHeader, int, error) {
	if len(b) < logOverhead+5 {
		return batchHeader{}, 0, fmt.Errorf("%w: %d trailing bytes are not a batch", ErrCorruptMessage, len(b))
	}
	// Look at the magic first: an old message set (magic 0/1) has a
	// different, shorter header.
	if m := int8(b[offMagic]); m == 0 || m == 1 {
		return batchHeader{}, 0, fmt.Errorf("%w: batch has magic %d", ErrUnsupportedMagic, m)
	} else if m != 2 {
		return batchHeader{}, 0, fmt.Errorf("%w: unknown magic %d", ErrCorruptMessage, m)
	}
	h, ok := parseHeader(b)
	if !ok {
		return h, 0, fmt.Errorf("%w: truncated batch header (%d bytes)", ErrCorruptMessage, len(b))
	}
	if h.Length < batchHeaderSize-logOverhead {
		return h, 0, fmt.Errorf("%w: batch length %d below the v2 minimum %d", ErrCorruptMessage, h.Length, batchHeaderSize-logOverhead)
	}
	size := h.size()
	if size > len(b) {
		return h, 0, fmt.Errorf("%w: batch length %d but only %d bytes follow", ErrCorruptMessage, h.Length, len(b)-logOverhead)
	}
	if size > int(maxMessageBytes) {
		return h, 0, fmt.Errorf("%w: batch of %d bytes exceeds max.message.bytes %d", ErrMessageTooLarge, size, maxMessageBytes)
	}
	if crc32.Checksum(b[offAttributes:size], castagnoli) != h.CRC {
		return h, 0, fmt.Errorf("%w: crc32c mismatch", ErrCorruptMessage)
	}
	if c := h.compression(); c > 4 {
		return h, 0, fmt.Errorf("%w: unknown compression codec %d", ErrCorruptMessage, c)
	}
	if h.NumRecords <= 0 {
		return h, 0, fmt.Errorf("%w: batch has %d records", ErrInvalidRecord, h.NumRecords)
	}
	if h.LastOffsetDelta != h.NumRecords-1 {
		// INVALID_RECORD, as Kafka: the batch is intact but inconsistent, and a producer
		// must not retry it (CORRUPT_MESSAGE is retriable).
		return h, 0, fmt.Errorf("%w: %d records but last offset delta %d", ErrInvalidRecord, h.NumRecords, h.LastOffsetDelta)
	}
	if h.compression() == 0 && int64(h.NumRecords)*minRecordSize > int64(size-batchHeaderSize) {
		return h, 0, fmt.Errorf("%w: %d records cannot fit in %d bytes", ErrCorruptMessage, h.NumRecords, size-batchHeaderSize)
	}
	if h.isControl() && !allowControl {
		return h, 0, fmt.Errorf("%w: clients may not write control batches", ErrInvalidRecord)
	}
	if h.isTxn() && h.ProducerID < 0 {
		return h, 0, fmt.Errorf("%w: transactional batch without a producer id", ErrInvalidRecord)
	}
	if h.ProducerID >= 0 && h.BaseSequence < 0 && !h.isControl() {
		return h, 0, fmt.Errorf("%w: producer id %d without a base sequence", ErrInvalidRecord, h.ProducerID)
	}
	return h, size, nil
}

// setLogAppendTime stamps the batch with LogAppendTime: it sets the
// timestamp-type attribute bit and maxTimestamp, then rewrites the CRC, as
// Kafka does in place.
func setLogAppendTime(b []byte, now int64) {
	attrs := binary.BigEndian.Uint16(b[offAttributes:])
	binary.BigEndian.PutUint16(b[offAttributes:], attrs|attrTimestampType)
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(now))
	size := int(binary.BigEndian.Uint32(b[offBatchLength:])) + logOverhead
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:size], castagnoli))
}

// record is one decoded record of a batch. Key and Value alias the decoded
// records buffer; a nil Value is a tombstone, a nil Key means no key.
type record struct {
	Offset    int64
	Timestamp int64
	Attrs     int8
	Key       []byte
	Value     []byte
	Headers   []byte // the encoded headers, count included
	raw       []byte // the whole encoded record, length prefix included
}

func appendVarint(b []byte, v int64) []byte {
	return binary.AppendUvarint(b, uint64(v<<1)^uint64(v>>63))
}

// appendRecord appends one encoded record (v2 record format) to dst.
func appendRecord(dst []byte, offsetDelta, tsDelta int64, key, value []byte, headers [][2][]byte) []byte {
	var body []byte
	body = append(body, 0) // attributes
	body = appendVarint(body, tsDelta)
	body = appendVarint(body, offsetDelta)
	body = appendVarBytes(body, key)
	body = appendVarBytes(body, value)
	body = appendVarint(body, int64(len(headers)))
	for _, h := range headers {
		body = appendVarBytes(body, h[0])
		body = appendVarBytes(body, h[1])
	}
	dst = appendVarint(dst, int64(len(body)))
	return append(dst, body...)
}

func appendVarBytes(dst, b []byte) []byte {
	if b == nil {
		return appendVarint(dst, -1)
	}
	dst = appendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// encodeBatch appends a record batch with header h and the given encoded
// records (compressed here with h's codec) to dst. It fills in the length
// and CRC; every other header field comes from h.
func encodeBatch(dst []byte, h batchHeader, rawRecords []byte) ([]byte, error) {
	body, err := compress(h.compression(), rawRecords)
	if err != nil {
		return dst, err
	}
	start := len(dst)
	var hdr [batchHeaderSize]byte
	binary.BigEndian.PutUint64(hdr[offBaseOffset:], uint64(h.BaseOffset))
	binary.BigEndian.PutUint32(hdr[offBatchLength:], uint32(batchHeaderSize-logOverhead+len(body)))
	binary.BigEndian.PutUint32(hdr[offLeaderEpoch:], uint32(h.LeaderEpoch))
	hdr[offMagic] = 2
	binary.BigEndian.PutUint16(hdr[offAttributes:], uint16(h.Attributes))
	binary.BigEndian.PutUint32(hdr[offLastOffsetDelta:], uint32(h.LastOffsetDelta))
	binary.BigEndian.PutUint64(hdr[offBaseTimestamp:], uint64(h.BaseTimestamp))
	binary.BigEndian.PutUint64(hdr[offMaxTimestamp:], uint64(h.MaxTimestamp))
	binary.BigEndian.PutUint64(hdr[offProducerID:], uint64(h.ProducerID))
	binary.BigEndian.PutUint16(hdr[offProducerEpoch:], uint16(h.ProducerEpoch))
	binary.BigEndian.PutUint32(hdr[offBaseSequence:], uint32(h.BaseSequence))
	binary.BigEndian.PutUint32(hdr[offRecordCount:], uint32(h.NumRecords))
	dst = append(dst, hdr[:]...)
	dst = append(dst, body...)
	binary.BigEndian.PutUint32(dst[start+offCRC:], crc32.Checksum(dst[start+offAttributes:], castagnoli))
	return dst, nil
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
