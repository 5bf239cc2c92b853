package recordbatch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

type rec struct {
	key, value []byte
	headers    [][2][]byte
}

func appendBytes(b, v []byte) []byte {
	if v == nil {
		return binary.AppendVarint(b, -1)
	}
	return append(binary.AppendVarint(b, int64(len(v))), v...)
}

// encodeRecords encodes recs in the v2 record format (uncompressed).
func encodeRecords(recs []rec) []byte {
	var out []byte
	for i, r := range recs {
		body := []byte{0}
		body = binary.AppendVarint(body, int64(10*i))
		body = binary.AppendVarint(body, int64(i))
		body = appendBytes(body, r.key)
		body = appendBytes(body, r.value)
		body = binary.AppendVarint(body, int64(len(r.headers)))
		for _, h := range r.headers {
			body = appendBytes(body, h[0])
			body = appendBytes(body, h[1])
		}
		out = binary.AppendVarint(out, int64(len(body)))
		out = append(out, body...)
	}
	return out
}

func compressWith(t testing.TB, codec int8, src []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch codec {
	case CodecNone:
		return src
	case CodecGzip:
		w := gzip.NewWriter(&buf)
		_, _ = w.Write(src)
		_ = w.Close()
	case CodecSnappy:
		return s2.EncodeSnappy(nil, src)
	case CodecLZ4:
		w := lz4.NewWriter(&buf)
		_, _ = w.Write(src)
		_ = w.Close()
	case CodecZstd:
		enc, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer enc.Close()
		return enc.EncodeAll(src, nil)
	}
	return buf.Bytes()
}

// xerial frames src as the Java client's snappy does, in blocks of 32 KiB.
func xerial(src []byte) []byte {
	out := append([]byte{}, xerialMagic...)
	out = binary.BigEndian.AppendUint32(out, 1)
	out = binary.BigEndian.AppendUint32(out, 1)
	for len(src) > 0 {
		n := min(len(src), 32<<10)
		blk := s2.EncodeSnappy(nil, src[:n])
		out = binary.BigEndian.AppendUint32(out, uint32(len(blk)))
		out = append(out, blk...)
		src = src[n:]
	}
	return out
}

func sample() []rec {
	return []rec{
		{key: []byte("k0"), value: []byte("v0")},
		{key: nil, value: bytes.Repeat([]byte("x"), 70<<10), headers: [][2][]byte{{[]byte("h"), []byte("hv")}}},
		{key: []byte("k2"), value: nil},
		{key: []byte{}, value: []byte{}},
	}
}

func TestEachAllCodecsBothModes(t *testing.T) {
	recs := sample()
	plain := encodeRecords(recs)
	inputs := map[string]struct {
		codec int8
		data  []byte
	}{"none": {CodecNone, plain}, "xerial": {CodecSnappy, xerial(plain)}}
	for _, c := range []int8{CodecGzip, CodecSnappy, CodecLZ4, CodecZstd} {
		inputs[fmt.Sprint("codec", c)] = struct {
			codec int8
			data  []byte
		}{c, compressWith(t, c, plain)}
	}
	for name, in := range inputs {
		for _, mode := range []Mode{Full, KeysOnly} {
			var i int
			err := Each(in.codec, in.data, int32(len(recs)), mode, func(r *Record) error {
				want := recs[i]
				if !bytes.Equal(r.Key, want.key) || (r.Key == nil) != (want.key == nil) {
					return fmt.Errorf("record %d: key %q, want %q", i, r.Key, want.key)
				}
				if r.OffsetDelta != int64(i) || r.TimestampDelta != int64(10*i) {
					return fmt.Errorf("record %d: deltas %d/%d", i, r.OffsetDelta, r.TimestampDelta)
				}
				if mode == Full {
					if !bytes.Equal(r.Value, want.value) || (r.Value == nil) != (want.value == nil) {
						return fmt.Errorf("record %d: value of %d bytes, want %d", i, len(r.Value), len(want.value))
					}
					if l, n := binary.Varint(r.Raw); n <= 0 || int(l)+n != len(r.Raw) {
						return fmt.Errorf("record %d: raw of %d bytes, its prefix says %d", i, len(r.Raw), l)
					}
				} else if r.Value != nil || r.Raw != nil {
					return fmt.Errorf("record %d: KeysOnly returned a value", i)
				}
				i++
				return nil
			})
			if err != nil || i != len(recs) {
				t.Fatalf("%s mode %d: %v after %d records", name, mode, err, i)
			}
		}
		if out, err := Decompress(in.codec, in.data); err != nil || !bytes.Equal(out, plain) {
			t.Fatalf("%s: Decompress: %v", name, err)
		}
	}
}

func TestEachRejectsDamage(t *testing.T) {
	plain := encodeRecords(sample())
	gz := compressWith(t, CodecGzip, plain)
	for name, tc := range map[string]struct {
		codec int8
		data  []byte
		n     int32
	}{
		"garbage gzip":     {CodecGzip, []byte("not gzip at all"), 4},
		"garbage zstd":     {CodecZstd, []byte("not zstd at all"), 4},
		"garbage lz4":      {CodecLZ4, []byte("not lz4 at all"), 4},
		"garbage snappy":   {CodecSnappy, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 4},
		"truncated gzip":   {CodecGzip, gz[:len(gz)-6], 4},
		"too few records":  {CodecGzip, gz, 5},
		"too many records": {CodecGzip, gz, 3},
		"plain truncated":  {CodecNone, plain[:len(plain)-1], 4},
		"plain count lie":  {CodecNone, plain, 1 << 30},
		"negative count":   {CodecNone, plain, -1},
		"codec 7":          {7, plain, 4},
		"short xerial":     {CodecSnappy, xerialMagic, 1},
	} {
		for _, mode := range []Mode{Full, KeysOnly} {
			err := Each(tc.codec, tc.data, tc.n, mode, func(*Record) error { return nil })
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s mode %d: err %v, want ErrCorrupt", name, mode, err)
			}
		}
	}
	stop := errors.New("stop")
	if err := Each(CodecGzip, gz, 4, Full, func(*Record) error { return stop }); err != stop {
		t.Fatalf("callback error came back as %v", err)
	}
}

// TestDecompressionBombBounded: one record with a 70 MiB value of zeros compresses to a
// fraction of a MiB; checking its key costs little memory and ends with ErrTooLarge.
func TestDecompressionBombBounded(t *testing.T) {
	value := make([]byte, 70<<20) // above MaxDecompressedBytes
	plain := encodeRecords([]rec{{key: []byte("k"), value: value}})
	for _, codec := range []int8{CodecGzip, CodecLZ4, CodecZstd} {
		bomb := compressWith(t, codec, plain)
		for _, mode := range []Mode{KeysOnly, Full} {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := Each(codec, bomb, 1, mode, func(*Record) error { return nil })
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("codec %d mode %d: err %v, want ErrTooLarge", codec, mode, err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
				t.Errorf("codec %d mode %d: allocated %d MiB checking a %d KiB batch", codec, mode, alloc>>20, len(bomb)>>10)
			}
		}
	}
	if _, err := Decompress(CodecGzip, compressWith(t, CodecGzip, plain)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Decompress: %v, want ErrTooLarge", err)
	}
}

func FuzzEach(f *testing.F) {
	plain := encodeRecords(sample()[:1])
	f.Add(int8(0), plain, int32(1))
	f.Add(CodecGzip, compressWith(f, CodecGzip, plain), int32(1))
	f.Add(CodecSnappy, xerial(plain), int32(1))
	f.Add(CodecZstd, compressWith(f, CodecZstd, plain), int32(1))
	f.Add(CodecLZ4, compressWith(f, CodecLZ4, plain), int32(1))
	f.Fuzz(func(t *testing.T, codec int8, data []byte, n int32) {
		var keys [2][]string
		for i, mode := range []Mode{Full, KeysOnly} {
			err := Each(codec, data, n, mode, func(r *Record) error {
				keys[i] = append(keys[i], string(r.Key))
				return nil
			})
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("mode %d: error %v does not wrap ErrCorrupt", mode, err)
			}
			if err != nil {
				return
			}
		}
		if fmt.Sprint(keys[0]) != fmt.Sprint(keys[1]) {
			t.Fatalf("Full keys %q, KeysOnly keys %q", keys[0], keys[1])
		}
	})
}
