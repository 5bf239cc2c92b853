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
)

// Compression codecs of the batch attributes.
const (
	codecNone   = 0
	codecGzip   = 1
	codecSnappy = 2
	codecLZ4    = 3
	codecZstd   = 4
)

// maxDecompressed bounds what one batch may decompress to, so a small
// hostile batch cannot make the cleaner or a timestamp lookup allocate
// without limit.
const maxDecompressed = 256 << 20

var errTooBig = fmt.Errorf("%w: batch decompresses to more than %d bytes", ErrCorruptMessage, maxDecompressed)

// The codec libraries are klauspost/compress (gzip, snappy, zstd) and
// pierrec/lz4, as the project's charter asks. Only the xerial framing of
// snappy is written here: no library in the module graph both reads and
// writes it in the way Kafka's Java client does.

var (
	zstdDec     *zstd.Decoder
	zstdEnc     *zstd.Encoder
	zstdOnce    sync.Once
	zstdInitErr error
	gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
	lz4Writers  = sync.Pool{New: func() any { return lz4.NewWriter(nil) }}
)

func zstdCodecs() (*zstd.Decoder, *zstd.Encoder, error) {
	zstdOnce.Do(func() {
		zstdDec, zstdInitErr = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxDecompressed), zstd.WithDecoderLowmem(true))
		if zstdInitErr != nil {
			return
		}
		zstdEnc, zstdInitErr = zstd.NewWriter(nil, zstd.WithWindowSize(64<<10), zstd.WithZeroFrames(true))
	})
	return zstdDec, zstdEnc, zstdInitErr
}

// xerial framing, as the Java snappy stream writes it: an 8-byte magic, a
// version and a compatible version (int32 each), then blocks, each an int32
// length and a raw snappy block.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialBlockSize = 32 << 10

// readAllLimit reads r to the end, failing past maxDecompressed.
func readAllLimit(r io.Reader, sizeHint int) ([]byte, error) {
	var buf bytes.Buffer
	if sizeHint > 0 && sizeHint < maxDecompressed {
		buf.Grow(sizeHint)
	}
	n, err := buf.ReadFrom(io.LimitReader(r, maxDecompressed+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptMessage, err)
	}
	if n > maxDecompressed {
		return nil, errTooBig
	}
	return buf.Bytes(), nil
}

// decompress returns the decoded records of a batch compressed with codec.
func decompress(codec int8, src []byte) ([]byte, error) {
	switch codec {
	case codecNone:
		return src, nil
	case codecGzip:
		zr, err := gzip.NewReader(bytes.NewReader(src))
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %w", ErrCorruptMessage, err)
		}
		return readAllLimit(zr, 4*len(src))
	case codecSnappy:
		if len(src) >= 16 && bytes.Equal(src[:8], xerialMagic) {
			return xerialDecode(src[16:])
		}
		return snappyDecode(src)
	case codecLZ4:
		return readAllLimit(lz4.NewReader(bytes.NewReader(src)), 4*len(src))
	case codecZstd:
		dec, _, err := zstdCodecs()
		if err != nil {
			return nil, err
		}
		out, err := dec.DecodeAll(src, nil)
		if err != nil {
			if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
				return nil, errTooBig
			}
			return nil, fmt.Errorf("%w: zstd: %w", ErrCorruptMessage, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: unknown compression codec %d", ErrCorruptMessage, codec)
}

func snappyDecode(src []byte) ([]byte, error) {
	n, err := snappy.DecodedLen(src)
	if err != nil {
		return nil, fmt.Errorf("%w: snappy: %w", ErrCorruptMessage, err)
	}
	if n > maxDecompressed {
		return nil, errTooBig
	}
	out, err := snappy.Decode(nil, src)
	if err != nil {
		return nil, fmt.Errorf("%w: snappy: %w", ErrCorruptMessage, err)
	}
	return out, nil
}

func xerialDecode(src []byte) ([]byte, error) {
	var out []byte
	for len(src) > 0 {
		if len(src) < 4 {
			return nil, fmt.Errorf("%w: snappy: truncated xerial block length", ErrCorruptMessage)
		}
		n := int(int32(binary.BigEndian.Uint32(src)))
		src = src[4:]
		if n < 0 || n > len(src) {
			return nil, fmt.Errorf("%w: snappy: xerial block of %d bytes exceeds the batch", ErrCorruptMessage, n)
		}
		dn, err := snappy.DecodedLen(src[:n])
		if err != nil {
			return nil, fmt.Errorf("%w: snappy: %w", ErrCorruptMessage, err)
		}
		if len(out)+dn > maxDecompressed {
			return nil, errTooBig
		}
		out, err = snappyAppend(out, src[:n], dn)
		if err != nil {
			return nil, err
		}
		src = src[n:]
	}
	return out, nil
}

func snappyAppend(dst, src []byte, dn int) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, dn)...)
	if _, err := snappy.Decode(dst[start:], src); err != nil {
		return nil, fmt.Errorf("%w: snappy: %w", ErrCorruptMessage, err)
	}
	return dst, nil
}

// compress encodes records with codec, as a Kafka producer would: gzip,
// snappy in xerial framing (what the Java client writes and every client
// reads), the lz4 frame format, and zstd.
func compress(codec int8, src []byte) ([]byte, error) {
	switch codec {
	case codecNone:
		return src, nil
	case codecGzip:
		var buf bytes.Buffer
		w := gzipWriters.Get().(*gzip.Writer)
		defer gzipWriters.Put(w)
		w.Reset(&buf)
		if _, err := w.Write(src); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
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
		var buf bytes.Buffer
		w := lz4Writers.Get().(*lz4.Writer)
		defer lz4Writers.Put(w)
		w.Reset(&buf)
		if _, err := w.Write(src); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case codecZstd:
		_, enc, err := zstdCodecs()
		if err != nil {
			return nil, err
		}
		return enc.EncodeAll(src, nil), nil
	}
	return nil, fmt.Errorf("%w: unknown compression codec %d", ErrCorruptMessage, codec)
}

// eachRecordOf decodes every record of the whole batch b (header h),
// decompressing as needed.
func eachRecordOf(h *batchHeader, b []byte, fn func(r *record) error) error {
	recs, err := decompress(h.compression(), b[batchHeaderSize:h.size()])
	if err != nil {
		return err
	}
	return forEachRecord(h, recs, fn)
}

// checkKeys enforces Kafka's rule for compacted topics: every record has a
// key.
func checkKeys(h *batchHeader, b []byte) error {
	return eachRecordOf(h, b, func(r *record) error {
		if r.Key == nil {
			return fmt.Errorf("%w: compacted topic cannot accept a record without a key (offset delta %d)", ErrInvalidRecord, r.Offset-h.BaseOffset)
		}
		return nil
	})
}
