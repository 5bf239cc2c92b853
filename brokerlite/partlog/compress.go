package partlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/rivulet-io/rivulet/internal/recordbatch"
)

// Compression codecs of the batch attributes.
const (
	codecNone   = 0
	codecGzip   = 1
	codecSnappy = 2
	codecLZ4    = 3
	codecZstd   = 4
)

// This file encodes records with a batch's codec (the cleaner rewrites a
// compacted batch with the codec it had). Decoding is internal/recordbatch's,
// shared with the group coordinator, with its decompression cap. The codec
// libraries are klauspost/compress (gzip, snappy, zstd) and pierrec/lz4. Only
// the xerial framing of snappy is written here: no library in the module
// graph writes it in the way Kafka's Java client does.

var (
	zstdEnc     *zstd.Encoder
	zstdOnce    sync.Once
	zstdInitErr error
	gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
	lz4Writers  = sync.Pool{New: func() any { return lz4.NewWriter(nil) }}
)

func zstdEncoder() (*zstd.Encoder, error) {
	zstdOnce.Do(func() {
		zstdEnc, zstdInitErr = zstd.NewWriter(nil, zstd.WithWindowSize(64<<10), zstd.WithZeroFrames(true))
	})
	return zstdEnc, zstdInitErr
}

// xerial framing, as the Java snappy stream writes it: an 8-byte magic, a
// version and a compatible version (int32 each), then blocks, each an int32
// length and a raw snappy block.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialBlockSize = 32 << 10

// resettableWriter is a pooled compressing writer (gzip, lz4).
type resettableWriter interface {
	io.WriteCloser
	Reset(io.Writer)
}

// compressPooled compresses src through a writer of type W from pool, reset onto a new
// buffer.
func compressPooled[W resettableWriter](pool *sync.Pool, src []byte) ([]byte, error) {
	w := pool.Get().(W)
	defer pool.Put(w)
	var buf bytes.Buffer
	w.Reset(&buf)
	if _, err := w.Write(src); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// compress encodes records with codec, as a Kafka producer would: gzip,
// snappy in xerial framing (what the Java client writes and every client
// reads), the lz4 frame format, and zstd.
func compress(codec int8, src []byte) ([]byte, error) {
	switch codec {
	case codecNone:
		return src, nil
	case codecGzip:
		return compressPooled[*gzip.Writer](&gzipWriters, src)
	case codecSnappy:
		out := append([]byte(nil), xerialMagic...)
		out = binary.BigEndian.AppendUint32(out, 1)
		out = binary.BigEndian.AppendUint32(out, 1)
		for len(src) > 0 {
			n := min(len(src), xerialBlockSize)
			blk := snappy.Encode(nil, src[:n])
			out = binary.BigEndian.AppendUint32(out, uint32(len(blk)))
			out = append(out, blk...)
			src = src[n:]
		}
		return out, nil
	case codecLZ4:
		return compressPooled[*lz4.Writer](&lz4Writers, src)
	case codecZstd:
		enc, err := zstdEncoder()
		if err != nil {
			return nil, err
		}
		return enc.EncodeAll(src, nil), nil
	}
	return nil, fmt.Errorf("%w: unknown compression codec %d", ErrCorruptMessage, codec)
}

// eachRecordOf decodes every record of the whole batch b (header h),
// decompressing as needed (internal/recordbatch: streaming, capped). Record
// slices are valid only during fn.
func eachRecordOf(h *batchHeader, b []byte, fn func(r *record) error) error {
	return eachRecordMode(h, b, recordbatch.Full, fn)
}

// eachRecordKey is eachRecordOf that decodes records up to their keys only:
// values are skipped without being held, so a check of keys or timestamps
// costs little memory whatever the records hold.
func eachRecordKey(h *batchHeader, b []byte, fn func(r *record) error) error {
	return eachRecordMode(h, b, recordbatch.KeysOnly, fn)
}

func eachRecordMode(h *batchHeader, b []byte, mode recordbatch.Mode, fn func(r *record) error) error {
	err := recordbatch.Each(h.compression(), b[batchHeaderSize:h.size()], h.NumRecords, mode, func(rr *recordbatch.Record) error {
		if rr.OffsetDelta < 0 || rr.OffsetDelta > int64(h.LastOffsetDelta) {
			return fmt.Errorf("%w: record offset delta %d out of the batch", ErrCorruptMessage, rr.OffsetDelta)
		}
		r := record{Attrs: rr.Attrs, Key: rr.Key, Value: rr.Value, Headers: rr.Headers, raw: rr.Raw,
			Offset: h.BaseOffset + rr.OffsetDelta, Timestamp: h.BaseTimestamp + rr.TimestampDelta}
		if h.logAppendTime() {
			r.Timestamp = h.MaxTimestamp
		}
		return fn(&r)
	})
	if errors.Is(err, recordbatch.ErrCorrupt) && !errors.Is(err, ErrCorruptMessage) {
		err = fmt.Errorf("%w: %w", ErrCorruptMessage, err)
	}
	return err
}

// checkKeys enforces Kafka's rule for compacted topics: every record has a
// key.
func checkKeys(h *batchHeader, b []byte) error {
	return eachRecordKey(h, b, func(r *record) error {
		if r.Key == nil {
			return fmt.Errorf("%w: compacted topic cannot accept a record without a key (offset delta %d)", ErrInvalidRecord, r.Offset-h.BaseOffset)
		}
		return nil
	})
}
