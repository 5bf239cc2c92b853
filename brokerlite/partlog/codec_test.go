package partlog

import (
	"bytes"
	stdgzip "compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	xerial "github.com/eapache/go-xerial-snappy"
	"github.com/klauspost/compress/snappy"
	"github.com/rivulet-io/rivulet/internal/recordbatch"
)

// TestCodecs round-trips every codec through compress/decompress, checks
// our output with decoders we did not write (the standard library's gzip,
// sarama's xerial snappy), and reads raw (unframed) snappy as franz-go
// writes it.
func TestCodecs(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, n := range []int{0, 1, 100, 40 << 10, 200 << 10} { // 200 KiB spans several xerial blocks
		src := make([]byte, n)
		for i := range src {
			src[i] = byte('a' + rng.Intn(4))
		}
		for _, codec := range []int8{codecNone, codecGzip, codecSnappy, codecLZ4, codecZstd} {
			c, err := compress(codec, src)
			if err != nil {
				t.Fatal(err)
			}
			d, err := decompress(codec, c)
			if err != nil || !bytes.Equal(d, src) {
				t.Fatalf("codec %d, %d bytes: round trip failed: %v", codec, n, err)
			}
		}
		gz, _ := compress(codecGzip, src)
		zr, err := stdgzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		if d, err := io.ReadAll(zr); err != nil || !bytes.Equal(d, src) {
			t.Fatalf("stdlib gzip cannot read our gzip: %v", err)
		}
		sn, _ := compress(codecSnappy, src)
		if d, err := xerial.Decode(sn); err != nil || !bytes.Equal(d, src) {
			t.Fatalf("xerial decoder cannot read our snappy: %v", err)
		}
		if d, err := decompress(codecSnappy, snappy.Encode(nil, src)); err != nil || !bytes.Equal(d, src) {
			t.Fatalf("raw snappy: %v", err)
		}
		if d, err := decompress(codecSnappy, xerial.EncodeStream(nil, src)); err != nil || !bytes.Equal(d, src) {
			t.Fatalf("sarama's xerial stream: %v", err)
		}
	}
	for _, codec := range []int8{codecGzip, codecSnappy, codecLZ4, codecZstd} {
		if _, err := decompress(codec, []byte("definitely not compressed data")); !errors.Is(err, ErrCorruptMessage) {
			t.Errorf("codec %d on garbage: %v", codec, err)
		}
	}
}

// decompress is the shared decoder's whole-batch form, errors mapped as the log maps them.
func decompress(codec int8, src []byte) ([]byte, error) {
	out, err := recordbatch.Decompress(codec, src)
	if errors.Is(err, recordbatch.ErrCorrupt) {
		err = fmt.Errorf("%w: %w", ErrCorruptMessage, err)
	}
	return out, err
}

func TestDamagedSnapshotIgnored(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, smallConfig(), nil)
	if _, err := l.Append(mkBatch(t, batchOpt{pid: 9, seq: 0}, valueRecs(2, 1, "v")...)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(dir, segmentName(2, snapshotSuffix))
	b, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(snap, b, 0o644); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, smallConfig(), nil)
	defer l.Close()
	// The state was rebuilt from the log: the batch is still a duplicate.
	if _, err := l.Append(mkBatch(t, batchOpt{pid: 9, seq: 0}, valueRecs(2, 1, "v")...)); !errors.Is(err, ErrDuplicateSequence) {
		t.Fatalf("after a damaged snapshot: %v", err)
	}
}
