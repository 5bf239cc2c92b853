package groupcoord

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// This file encodes and decodes Kafka record batches (magic 2) for the
// __consumer_offsets topic. The coordinator writes uncompressed batches; it
// reads every codec Kafka defines so that a batch rewritten by a cleaner or
// copied from elsewhere still loads. franz-go does not export its batch
// codec (kgo keeps it internal, kmsg only has the struct layouts), hence
// this small one.

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

	// maxDecompressed bounds what a single batch may inflate to, so a
	// hostile or corrupt batch cannot make load allocate without limit.
	maxDecompressed = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errBadBatch is wrapped by every decoding error of this file.
var errBadBatch = errors.New("groupcoord: malformed record batch")

// encodeBatch returns one uncompressed magic-2 record batch holding recs,
// with base offset 0 (the log assigns offsets), no producer id, and every
// record stamped nowMs.
func encodeBatch(recs []record, nowMs int64) []byte {
	b := make([]byte, batchHeaderLen, batchHeaderLen+len(recs)*64)
	binary.BigEndian.PutUint64(b[0:], 0)                    // baseOffset
	binary.BigEndian.PutUint32(b[12:], 0xffffffff)          // partitionLeaderEpoch -1
	b[magicOffset] = 2                                      // magic
	binary.BigEndian.PutUint16(b[21:], 0)                   // attributes
	binary.BigEndian.PutUint32(b[23:], uint32(len(recs)-1)) // lastOffsetDelta
	binary.BigEndian.PutUint64(b[27:], uint64(nowMs))       // firstTimestamp
	binary.BigEndian.PutUint64(b[35:], uint64(nowMs))       // maxTimestamp
	binary.BigEndian.PutUint64(b[43:], 0xffffffffffffffff)  // producerId -1
	binary.BigEndian.PutUint16(b[51:], 0xffff)              // producerEpoch -1
	binary.BigEndian.PutUint32(b[53:], 0xffffffff)          // baseSequence -1
	binary.BigEndian.PutUint32(b[57:], uint32(len(recs)))   // records
	var body []byte
	for i, r := range recs {
		body = body[:0]
		body = append(body, 0)                     // attributes
		body = binary.AppendVarint(body, 0)        // timestampDelta
		body = binary.AppendVarint(body, int64(i)) // offsetDelta
		body = binary.AppendVarint(body, int64(len(r.key)))
		body = append(body, r.key...)
		if r.value == nil {
			body = binary.AppendVarint(body, -1)
		} else {
			body = binary.AppendVarint(body, int64(len(r.value)))
			body = append(body, r.value...)
		}
		body = binary.AppendVarint(body, 0) // headers
		b = binary.AppendVarint(b, int64(len(body)))
		b = append(b, body...)
	}
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-batchLengthStart))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[crcStart:], castagnoli))
	return b
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
		if n < 0 {
			return fmt.Errorf("%w: negative record count %d", errBadBatch, n)
		}
		body, err := decompress(int8(attrs&attrCompressionMask), batch[batchHeaderLen:])
		if err != nil {
			return err
		}
		// Each record takes at least 7 bytes, so a count beyond that is a lie.
		if int64(n) > int64(len(body)) {
			return fmt.Errorf("%w: %d records in %d bytes", errBadBatch, n, len(body))
		}
		for i := int32(0); i < n; i++ {
			var rec record
			rec, body, err = decodeRecord(body)
			if err != nil {
				return fmt.Errorf("%w (record %d of %d)", err, i, n)
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeRecord reads one length-prefixed record from b and returns it with
// the rest of b.
func decodeRecord(b []byte) (record, []byte, error) {
	length, n := binary.Varint(b)
	if n <= 0 || length < 0 || length > int64(len(b)-n) {
		return record{}, nil, fmt.Errorf("%w: bad record length", errBadBatch)
	}
	r := b[n : n+int(length)]
	rest := b[n+int(length):]
	if len(r) < 1 {
		return record{}, nil, fmt.Errorf("%w: empty record", errBadBatch)
	}
	r = r[1:] // attributes
	var ok bool
	if _, r, ok = readVarint(r); !ok { // timestampDelta
		return record{}, nil, fmt.Errorf("%w: bad timestamp delta", errBadBatch)
	}
	if _, r, ok = readVarint(r); !ok { // offsetDelta
		return record{}, nil, fmt.Errorf("%w: bad offset delta", errBadBatch)
	}
	var rec record
	if rec.key, r, ok = readVarBytes(r); !ok {
		return record{}, nil, fmt.Errorf("%w: bad key", errBadBatch)
	}
	if rec.value, r, ok = readVarBytes(r); !ok {
		return record{}, nil, fmt.Errorf("%w: bad value", errBadBatch)
	}
	nh, r, ok := readVarint(r)
	if !ok || nh < 0 || nh > int64(len(r)) {
		return record{}, nil, fmt.Errorf("%w: bad header count", errBadBatch)
	}
	for i := int64(0); i < nh; i++ {
		if _, r, ok = readVarBytes(r); !ok {
			return record{}, nil, fmt.Errorf("%w: bad header key", errBadBatch)
		}
		if _, r, ok = readVarBytes(r); !ok {
			return record{}, nil, fmt.Errorf("%w: bad header value", errBadBatch)
		}
	}
	return rec, rest, nil
}

func readVarint(b []byte) (int64, []byte, bool) {
	v, n := binary.Varint(b)
	if n <= 0 {
		return 0, nil, false
	}
	return v, b[n:], true
}

// readVarBytes reads a varint length and that many bytes; length -1 is a
// null (nil) slice.
func readVarBytes(b []byte) ([]byte, []byte, bool) {
	l, b, ok := readVarint(b)
	if !ok || l < -1 || l > int64(len(b)) {
		return nil, nil, false
	}
	if l == -1 {
		return nil, b, true
	}
	return b[:l:l], b[l:], true
}

var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxDecompressed))
})

// xerialMagic starts snappy data framed the way the Java client's
// snappy-java writes it.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

func decompress(codec int8, in []byte) ([]byte, error) {
	switch codec {
	case 0:
		return in, nil
	case 1:
		zr, err := gzip.NewReader(bytes.NewReader(in))
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", errBadBatch, err)
		}
		return readCapped(zr, "gzip")
	case 2:
		return unsnappy(in)
	case 3:
		return readCapped(lz4.NewReader(bytes.NewReader(in)), "lz4")
	case 4:
		d, err := zstdDecoder()
		if err != nil {
			return nil, fmt.Errorf("groupcoord: zstd decoder: %w", err)
		}
		out, err := d.DecodeAll(in, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: zstd: %v", errBadBatch, err)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%w: unknown compression codec %d", errBadBatch, codec)
	}
}

func readCapped(r io.Reader, codec string) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, maxDecompressed+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errBadBatch, codec, err)
	}
	if len(out) > maxDecompressed {
		return nil, fmt.Errorf("%w: %s: inflates beyond %d bytes", errBadBatch, codec, maxDecompressed)
	}
	return out, nil
}

// unsnappy decodes raw snappy blocks and xerial-framed snappy (magic,
// version, compat, then big-endian length-prefixed blocks).
func unsnappy(in []byte) ([]byte, error) {
	if !bytes.HasPrefix(in, xerialMagic) {
		return snappyBlock(in, nil)
	}
	if len(in) < 16 {
		return nil, fmt.Errorf("%w: snappy: short xerial header", errBadBatch)
	}
	in = in[16:]
	var out []byte
	for len(in) > 0 {
		if len(in) < 4 {
			return nil, fmt.Errorf("%w: snappy: short xerial chunk", errBadBatch)
		}
		n := binary.BigEndian.Uint32(in)
		in = in[4:]
		if uint64(n) > uint64(len(in)) {
			return nil, fmt.Errorf("%w: snappy: xerial chunk of %d bytes with %d left", errBadBatch, n, len(in))
		}
		var err error
		if out, err = snappyBlock(in[:n], out); err != nil {
			return nil, err
		}
		in = in[n:]
	}
	return out, nil
}

// snappyBlock appends the decoding of one snappy block to dst. s2 decodes
// snappy's block format.
func snappyBlock(in, dst []byte) ([]byte, error) {
	n, err := s2.DecodedLen(in)
	if err != nil {
		return nil, fmt.Errorf("%w: snappy: %v", errBadBatch, err)
	}
	if n > maxDecompressed || len(dst)+n > maxDecompressed {
		return nil, fmt.Errorf("%w: snappy: inflates beyond %d bytes", errBadBatch, maxDecompressed)
	}
	buf, err := s2.Decode(make([]byte, n), in)
	if err != nil {
		return nil, fmt.Errorf("%w: snappy: %v", errBadBatch, err)
	}
	return append(dst, buf...), nil
}
