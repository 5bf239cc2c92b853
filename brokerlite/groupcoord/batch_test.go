package groupcoord

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func sampleRecords() []record {
	return []record{
		offsetRecord("g", "t", 3, &offsetEntry{offset: 42, leaderEpoch: 7, metadata: "m", commitMs: 1000, expireMs: -1}),
		offsetRecord("g", "t", 4, nil),
		groupRecord("g", nil),
		{key: []byte{0, 9, 1, 2}, value: []byte("future record kinds are skipped")},
	}
}

func collect(t *testing.T, b []byte) []record {
	t.Helper()
	var out []record
	if err := decodeBatches(b, func(r record) error {
		out = append(out, record{key: bytes.Clone(r.key), value: bytesCloneKeepNil(r.value)})
		return nil
	}); err != nil {
		t.Fatalf("decodeBatches: %v", err)
	}
	return out
}

func bytesCloneKeepNil(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func TestBatchRoundTrip(t *testing.T) {
	recs := sampleRecords()
	b := encodeBatch(recs, 1234)
	// kmsg agrees on the header.
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(b); err != nil {
		t.Fatalf("kmsg cannot read our batch: %v", err)
	}
	if rb.Magic != 2 || rb.NumRecords != int32(len(recs)) || rb.LastOffsetDelta != int32(len(recs)-1) || rb.ProducerID != -1 || rb.FirstTimestamp != 1234 {
		t.Fatalf("unexpected header %+v", rb)
	}
	if got := crc32.Checksum(b[21:], castagnoli); uint32(rb.CRC) != got {
		t.Fatalf("crc %x, computed %x", rb.CRC, got)
	}
	// Two batches back to back decode in order.
	got := collect(t, append(append([]byte(nil), b...), b...))
	if len(got) != 2*len(recs) {
		t.Fatalf("got %d records, want %d", len(got), 2*len(recs))
	}
	for i, r := range got {
		want := recs[i%len(recs)]
		if !bytes.Equal(r.key, want.key) || !bytes.Equal(r.value, want.value) || (r.value == nil) != (want.value == nil) {
			t.Fatalf("record %d: got %q/%q want %q/%q", i, r.key, r.value, want.key, want.value)
		}
	}
}

// compressedBatch rebuilds b with its records compressed by codec.
func compressedBatch(t testing.TB, b []byte, codec int8) []byte {
	t.Helper()
	body := b[batchHeaderLen:]
	var comp []byte
	switch codec {
	case 1:
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(body)
		w.Close()
		comp = buf.Bytes()
	case 2:
		comp = s2.EncodeSnappy(nil, body)
	case 3:
		var buf bytes.Buffer
		w := lz4.NewWriter(&buf)
		w.Write(body)
		w.Close()
		comp = buf.Bytes()
	case 4:
		enc, _ := zstd.NewWriter(nil)
		comp = enc.EncodeAll(body, nil)
		enc.Close()
	case 5: // snappy in the xerial framing of the Java client
		block := s2.EncodeSnappy(nil, body)
		comp = append(comp, 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0) // the xerial magic
		comp = binary.BigEndian.AppendUint32(comp, 1)
		comp = binary.BigEndian.AppendUint32(comp, 1)
		comp = binary.BigEndian.AppendUint32(comp, uint32(len(block)))
		comp = append(comp, block...)
		codec = 2
	}
	out := append(append([]byte(nil), b[:batchHeaderLen]...), comp...)
	binary.BigEndian.PutUint16(out[21:], uint16(codec))
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-batchLengthStart))
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[crcStart:], castagnoli))
	return out
}

func TestBatchCompressedCodecs(t *testing.T) {
	recs := sampleRecords()
	plain := encodeBatch(recs, 0)
	for _, codec := range []int8{1, 2, 3, 4, 5} {
		got := collect(t, compressedBatch(t, plain, codec))
		if len(got) != len(recs) {
			t.Fatalf("codec %d: %d records, want %d", codec, len(got), len(recs))
		}
		for i := range got {
			if !bytes.Equal(got[i].key, recs[i].key) || !bytes.Equal(got[i].value, recs[i].value) {
				t.Fatalf("codec %d: record %d differs", codec, i)
			}
		}
	}
}

func TestBatchRejectsDamage(t *testing.T) {
	good := encodeBatch(sampleRecords(), 0)
	control := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(control[21:], attrControl)
	binary.BigEndian.PutUint32(control[17:], crc32.Checksum(control[crcStart:], castagnoli))
	if n := len(collect(t, control)); n != 0 {
		t.Fatalf("control batch yielded %d records", n)
	}
	for name, b := range map[string][]byte{
		"short":     good[:30],
		"truncated": good[:len(good)-1],
		"crc":       append(append([]byte(nil), good[:len(good)-1]...), good[len(good)-1]^1),
		"magic1": func() []byte {
			b := append([]byte(nil), good...)
			b[magicOffset] = 1
			return b
		}(),
		"codec7": func() []byte {
			b := append([]byte(nil), good...)
			binary.BigEndian.PutUint16(b[21:], 7)
			binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[crcStart:], castagnoli))
			return b
		}(),
	} {
		err := decodeBatches(b, func(record) error { return nil })
		if !errors.Is(err, errBadBatch) {
			t.Errorf("%s: err = %v, want errBadBatch", name, err)
		}
	}
}
