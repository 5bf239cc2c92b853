// Package recordbatch decodes the records of a Kafka record batch (magic 2), compressed or
// not, for every part of the module that needs them: the partition log (compacted-topic key
// checks, timestamp lookups, the cleaner) and the group coordinator (loading
// __consumer_offsets). It is the one place with a decompression cap and a bound on
// concurrent decompressions, so a small hostile batch costs a bounded amount of memory
// wherever it is read.
//
// Compressed records are decoded by streaming through the decompressor: one record at a
// time is held, never the whole decompressed batch, and in KeysOnly mode not even a
// record's value. A batch that would decompress to more than MaxDecompressedBytes fails
// with ErrTooLarge as soon as the limit is crossed (or as soon as a record announces a
// length beyond it).
//
// The batch header (offsets, CRC, attributes) is the caller's: Each takes the records part
// and the codec from the attributes. Read Each first.
package recordbatch

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// MaxDecompressedBytes bounds what the records of one batch may decompress to.
const MaxDecompressedBytes = 64 << 20

// Compression codecs, as the low three bits of a batch's attributes.
const (
	CodecNone   int8 = 0
	CodecGzip   int8 = 1
	CodecSnappy int8 = 2
	CodecLZ4    int8 = 3
	CodecZstd   int8 = 4
)

var (
	// ErrCorrupt is wrapped by every decoding error: the records are malformed, or their
	// compression is.
	ErrCorrupt = errors.New("recordbatch: corrupt record batch")
	// ErrTooLarge (which also wraps ErrCorrupt) says the records decompress to more than
	// MaxDecompressedBytes.
	ErrTooLarge = fmt.Errorf("%w: records decompress to more than %d bytes", ErrCorrupt, MaxDecompressedBytes)
)

// Record is one decoded record. Its slices alias the batch or a decoding buffer and are
// valid only during the callback that receives it. Key and Value are nil for a null key
// or value.
type Record struct {
	Attrs          int8
	TimestampDelta int64
	OffsetDelta    int64
	Key            []byte
	// Value, Headers and Raw are nil in KeysOnly mode.
	Value []byte
	// Headers is the encoded headers, their count included (validated).
	Headers []byte
	// Raw is the whole encoded record, its length prefix included.
	Raw []byte
}

// Mode says how much of each record Each decodes.
type Mode int

const (
	// Full decodes every field.
	Full Mode = iota
	// KeysOnly decodes the attributes, timestamp and offset deltas and the key, and skips
	// values and headers without holding them.
	KeysOnly
)

// decompressions bounds how many compressed batches are decoded at once.
var decompressions = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// Each calls fn for each of the numRecords records in records (a batch's bytes after its
// 61-byte header), compressed with codec, in order. It stops at the first error fn
// returns and returns it unwrapped; decoding errors wrap ErrCorrupt.
func Each(codec int8, records []byte, numRecords int32, mode Mode, fn func(r *Record) error) error {
	if numRecords < 0 {
		return fmt.Errorf("%w: negative record count %d", ErrCorrupt, numRecords)
	}
	if codec == CodecNone {
		return eachPlain(records, numRecords, mode, fn)
	}
	decompressions <- struct{}{}
	defer func() { <-decompressions }()
	src, closeSrc, err := open(codec, records)
	if err != nil {
		return err
	}
	defer closeSrc()
	lr := &limitReader{r: src, left: MaxDecompressedBytes}
	br := readers.Get().(*bufio.Reader)
	br.Reset(lr)
	defer func() { br.Reset(nil); readers.Put(br) }()
	var buf []byte
	for i := int32(0); i < numRecords; i++ {
		length, err := binary.ReadVarint(br)
		if err != nil {
			return streamErr(fmt.Sprintf("record %d of %d: length", i, numRecords), err)
		}
		if length < 1 {
			return fmt.Errorf("%w: record %d of %d: length %d", ErrCorrupt, i, numRecords, length)
		}
		if length > lr.left+int64(br.Buffered()) {
			return ErrTooLarge
		}
		if mode == KeysOnly {
			if err := streamKey(br, length, &buf, fn); err != nil {
				return err
			}
			continue
		}
		buf = binary.AppendVarint(buf[:0], length)
		prefix := len(buf)
		if cap(buf) < prefix+int(length) {
			nb := make([]byte, prefix, prefix+int(length))
			copy(nb, buf)
			buf = nb
		}
		buf = buf[:prefix+int(length)]
		if _, err := io.ReadFull(br, buf[prefix:]); err != nil {
			return streamErr(fmt.Sprintf("record %d of %d", i, numRecords), err)
		}
		var r Record
		if err := parse(&r, buf[prefix:]); err != nil {
			return fmt.Errorf("%w (record %d of %d)", err, i, numRecords)
		}
		r.Raw = buf
		if err := fn(&r); err != nil {
			return err
		}
	}
	// Reading to the end also makes the codecs check their own checksums.
	if n, err := io.Copy(io.Discard, br); err != nil {
		return streamErr("after the last record", err)
	} else if n > 0 {
		return fmt.Errorf("%w: %d bytes after the last record", ErrCorrupt, n)
	}
	return nil
}

// Decompress returns the whole decompressed records of a batch, under the same cap and
// concurrency bound as Each. Each is what the broker uses; Decompress serves tools and tests
// that need the bytes.
func Decompress(codec int8, records []byte) ([]byte, error) {
	if codec == CodecNone {
		return records, nil
	}
	decompressions <- struct{}{}
	defer func() { <-decompressions }()
	src, closeSrc, err := open(codec, records)
	if err != nil {
		return nil, err
	}
	defer closeSrc()
	out, err := io.ReadAll(&limitReader{r: src, left: MaxDecompressedBytes})
	if err != nil {
		return nil, streamErr("decompressing", err)
	}
	return out, nil
}

// streamKey reads one record of length bytes from br up to its key, calls fn, and skips the
// rest.
func streamKey(br *bufio.Reader, length int64, buf *[]byte, fn func(r *Record) error) error {
	cr := &countReader{r: br}
	var r Record
	attrs, err := cr.ReadByte()
	if err != nil {
		return streamErr("record attributes", err)
	}
	r.Attrs = int8(attrs)
	if r.TimestampDelta, err = binary.ReadVarint(cr); err != nil {
		return streamErr("record timestamp delta", err)
	}
	if r.OffsetDelta, err = binary.ReadVarint(cr); err != nil {
		return streamErr("record offset delta", err)
	}
	kl, err := binary.ReadVarint(cr)
	if err != nil {
		return streamErr("record key length", err)
	}
	if kl < -1 || kl > length-cr.n {
		return fmt.Errorf("%w: key length %d in a record of %d bytes", ErrCorrupt, kl, length)
	}
	if kl >= 0 {
		if int64(cap(*buf)) < kl {
			*buf = make([]byte, kl)
		}
		r.Key = (*buf)[:kl]
		if _, err := io.ReadFull(cr, r.Key); err != nil {
			return streamErr("record key", err)
		}
	}
	if cr.n > length {
		return fmt.Errorf("%w: record fields exceed its length %d", ErrCorrupt, length)
	}
	if err := fn(&r); err != nil {
		return err
	}
	if _, err := br.Discard(int(length - cr.n)); err != nil {
		return streamErr("record value", err)
	}
	return nil
}

// eachPlain decodes uncompressed records in place.
func eachPlain(b []byte, numRecords int32, mode Mode, fn func(r *Record) error) error {
	// Each record takes at least 7 bytes, so a count beyond that is a lie.
	if int64(numRecords) > int64(len(b)) {
		return fmt.Errorf("%w: %d records in %d bytes", ErrCorrupt, numRecords, len(b))
	}
	for i := int32(0); i < numRecords; i++ {
		length, n := binary.Varint(b)
		if n <= 0 || length < 1 || length > int64(len(b)-n) {
			return fmt.Errorf("%w: record %d of %d: bad length", ErrCorrupt, i, numRecords)
		}
		var r Record
		if err := parse(&r, b[n:n+int(length)]); err != nil {
			return fmt.Errorf("%w (record %d of %d)", err, i, numRecords)
		}
		r.Raw = b[:n+int(length)]
		b = b[n+int(length):]
		if mode == KeysOnly {
			r.Value, r.Headers, r.Raw = nil, nil, nil
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d bytes after the last record", ErrCorrupt, len(b))
	}
	return nil
}

// parse decodes one record body (after its length prefix).
func parse(r *Record, b []byte) error {
	r.Attrs = int8(b[0])
	b = b[1:]
	var ok bool
	if r.TimestampDelta, b, ok = varint(b); !ok {
		return fmt.Errorf("%w: bad timestamp delta", ErrCorrupt)
	}
	if r.OffsetDelta, b, ok = varint(b); !ok {
		return fmt.Errorf("%w: bad offset delta", ErrCorrupt)
	}
	if r.Key, b, ok = varBytes(b); !ok {
		return fmt.Errorf("%w: bad key", ErrCorrupt)
	}
	if r.Value, b, ok = varBytes(b); !ok {
		return fmt.Errorf("%w: bad value", ErrCorrupt)
	}
	r.Headers = b
	nh, b, ok := varint(b)
	if !ok || nh < 0 || nh > int64(len(b)) {
		return fmt.Errorf("%w: bad header count", ErrCorrupt)
	}
	for i := int64(0); i < nh; i++ {
		var k []byte
		if k, b, ok = varBytes(b); !ok || k == nil {
			return fmt.Errorf("%w: bad header key", ErrCorrupt)
		}
		if _, b, ok = varBytes(b); !ok {
			return fmt.Errorf("%w: bad header value", ErrCorrupt)
		}
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d bytes after the record's headers", ErrCorrupt, len(b))
	}
	return nil
}

func varint(b []byte) (int64, []byte, bool) {
	v, n := binary.Varint(b)
	if n <= 0 {
		return 0, nil, false
	}
	return v, b[n:], true
}

// varBytes reads a varint length and that many bytes; length -1 is nil.
func varBytes(b []byte) ([]byte, []byte, bool) {
	l, b, ok := varint(b)
	if !ok || l < -1 || l > int64(len(b)) {
		return nil, nil, false
	}
	if l == -1 {
		return nil, b, true
	}
	return b[:l:l], b[l:], true
}

// streamErr turns a read error of the decompressed stream into a decoding error.
func streamErr(what string, err error) error {
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s: records end early", ErrCorrupt, what)
	}
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return ErrTooLarge
	}
	return fmt.Errorf("%w: %s: %w", ErrCorrupt, what, err)
}

// limitReader fails with ErrTooLarge once more than left bytes were read.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a stream that ends exactly at the limit from a longer one.
		var one [1]byte
		if n, err := l.r.Read(one[:]); n > 0 {
			return 0, ErrTooLarge
		} else if err != nil {
			return 0, err
		}
		return 0, nil
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// countReader counts the bytes read through it.
type countReader struct {
	r *bufio.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

var (
	readers     = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}
	gzipReaders sync.Pool
	lz4Readers  = sync.Pool{New: func() any { return lz4.NewReader(nil) }}
	zstdReaders sync.Pool
)

// open returns a reader of the decompressed records and a function that recycles it.
func open(codec int8, src []byte) (io.Reader, func(), error) {
	switch codec {
	case CodecGzip:
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(bytes.NewReader(src))
		} else {
			err = zr.Reset(bytes.NewReader(src))
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: gzip: %w", ErrCorrupt, err)
		}
		zr.Multistream(true)
		return zr, func() { gzipReaders.Put(zr) }, nil
	case CodecSnappy:
		if bytes.HasPrefix(src, xerialMagic) {
			if len(src) < 16 {
				return nil, nil, fmt.Errorf("%w: snappy: short xerial header", ErrCorrupt)
			}
			return &xerialReader{src: src[16:]}, func() {}, nil
		}
		n, err := s2.DecodedLen(src)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: snappy: %w", ErrCorrupt, err)
		}
		if n > MaxDecompressedBytes {
			return nil, nil, ErrTooLarge
		}
		out, err := s2.Decode(make([]byte, n), src)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: snappy: %w", ErrCorrupt, err)
		}
		return bytes.NewReader(out), func() {}, nil
	case CodecLZ4:
		zr := lz4Readers.Get().(*lz4.Reader)
		zr.Reset(bytes.NewReader(src))
		return zr, func() { lz4Readers.Put(zr) }, nil
	case CodecZstd:
		zr, _ := zstdReaders.Get().(*zstd.Decoder)
		var err error
		if zr == nil {
			zr, err = zstd.NewReader(bytes.NewReader(src), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
				zstd.WithDecoderMaxMemory(MaxDecompressedBytes), zstd.WithDecoderMaxWindow(16<<20))
		} else {
			err = zr.Reset(bytes.NewReader(src))
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: zstd: %w", ErrCorrupt, err)
		}
		return zr, func() { _ = zr.Reset(nil); zstdReaders.Put(zr) }, nil
	}
	return nil, nil, fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, codec)
}

// xerialMagic starts snappy data framed as the Java client's snappy-java writes it: the
// magic, a version and a compatible version (int32 each), then blocks, each an int32
// length and a raw snappy block.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// xerialReader decodes xerial-framed snappy one block at a time.
type xerialReader struct {
	src []byte
	out []byte
	pos int
}

func (x *xerialReader) Read(p []byte) (int, error) {
	for x.pos == len(x.out) {
		if len(x.src) == 0 {
			return 0, io.EOF
		}
		if len(x.src) < 4 {
			return 0, fmt.Errorf("%w: snappy: truncated xerial block length", ErrCorrupt)
		}
		n := binary.BigEndian.Uint32(x.src)
		x.src = x.src[4:]
		if uint64(n) > uint64(len(x.src)) {
			return 0, fmt.Errorf("%w: snappy: xerial block of %d bytes with %d left", ErrCorrupt, n, len(x.src))
		}
		dn, err := s2.DecodedLen(x.src[:n])
		if err != nil {
			return 0, fmt.Errorf("%w: snappy: %w", ErrCorrupt, err)
		}
		if dn > MaxDecompressedBytes {
			return 0, ErrTooLarge
		}
		if cap(x.out) < dn {
			x.out = make([]byte, dn)
		}
		if x.out, err = s2.Decode(x.out[:dn], x.src[:n]); err != nil {
			return 0, fmt.Errorf("%w: snappy: %w", ErrCorrupt, err)
		}
		x.src, x.pos = x.src[n:], 0
	}
	n := copy(p, x.out[x.pos:])
	x.pos += n
	return n, nil
}
