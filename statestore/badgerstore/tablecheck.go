package badgerstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/fb"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"
	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/proto"
)

// checkTables reads the footer of every table file in a Badger directory and verifies
// its index checksum, as Badger does when it opens a table. Badger opens tables on
// goroutines of its own, where a damaged footer (a length pointing outside the file)
// panics beyond any recover of ours; checking first turns that into an error, and the
// store is wiped instead of the process dying.
//
// It also checks the layout of every data block (not its checksum): Badger reads a
// block's entry count and checksum length before it verifies the block's checksum, and a
// damaged one panics on a slice out of range (in a read, or in a compaction on Badger's
// own goroutines). With the layout sound, Badger's checksum check on every block read
// catches the rest. That reads each table's blocks' last bytes: a few ms per 100 MB. A
// compressed block holds its layout inside the compressed bytes, so the blocks of a
// compressed table (the compression of each table is in the MANIFEST) are read whole
// and decompressed. Tables the MANIFEST does not list
// are not checked: Badger deletes them at open.
func checkTables(opts badger.Options) error {
	tables, err := filepath.Glob(filepath.Join(opts.Dir, "*.sst"))
	if err != nil || len(tables) == 0 {
		return err
	}
	listed, err := tableCompressions(opts)
	if err != nil {
		return err
	}
	for _, path := range tables {
		id, ok := table.ParseFileID(filepath.Base(path))
		if !ok {
			continue
		}
		c, ok := listed[id]
		if listed != nil && !ok {
			continue
		}
		if err := checkTable(path, c); err != nil {
			return fmt.Errorf("table %s: %w", filepath.Base(path), err)
		}
	}
	return nil
}

// tableCompressions reads the compression of each table the MANIFEST lists; nil (every
// table uncompressed) when there is no MANIFEST.
func tableCompressions(opts badger.Options) (map[uint64]options.CompressionType, error) {
	f, err := os.Open(filepath.Join(opts.Dir, badger.ManifestFilename))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, _, err := safeReplayManifest(f, opts)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	out := make(map[uint64]options.CompressionType, len(m.Tables))
	for id, t := range m.Tables {
		out[id] = t.Compression
	}
	return out, nil
}

// safeReplayManifest replays a MANIFEST, turning a panic on damaged bytes into an error.
func safeReplayManifest(f *os.File, opts badger.Options) (m badger.Manifest, end int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("replay panicked: %v", r)
		}
	}()
	return badger.ReplayManifestFile(f, opts.ExternalMagicVersion, opts)
}

func checkTable(path string, c options.CompressionType) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	read := func(off, n int64) ([]byte, error) {
		if off < 0 || n < 0 || off+n > size {
			return nil, fmt.Errorf("footer points outside the file (%d+%d of %d bytes)", off, n, size)
		}
		b := make([]byte, n)
		_, err := f.ReadAt(b, off)
		return b, err
	}
	// Layout of the end of a table: index, index length (4), checksum, checksum length (4).
	pos := size - 4
	b, err := read(pos, 4)
	if err != nil {
		return err
	}
	chkLen := int64(binary.BigEndian.Uint32(b))
	pos -= chkLen
	if b, err = read(pos, chkLen); err != nil {
		return err
	}
	var chk pb.Checksum
	if err := proto.Unmarshal(b, &chk); err != nil {
		return fmt.Errorf("checksum: %w", err)
	}
	pos -= 4
	if b, err = read(pos, 4); err != nil {
		return err
	}
	idxLen := int64(binary.BigEndian.Uint32(b))
	pos -= idxLen
	idx, err := read(pos, idxLen)
	if err != nil {
		return err
	}
	if err := y.VerifyChecksum(idx, &chk); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return checkBlocks(read, idx, pos, c)
}

// checkBlocks checks the layout of each block the (verified) index lists: within the
// data part of the file (which ends at dataEnd), and its trailer, read from its end as
// Badger reads it (checksum length (4), checksum, entry count (4), entry offsets (4
// each)), fits in it.
func checkBlocks(read func(off, n int64) ([]byte, error), idx []byte, dataEnd int64, c options.CompressionType) (err error) {
	defer func() {
		// A flatbuffer with a valid checksum is what Badger wrote; still, never panic.
		if r := recover(); r != nil {
			err = fmt.Errorf("index: %v", r)
		}
	}()
	ti := fb.GetRootAsTableIndex(idx, 0)
	var bo fb.BlockOffset
	for i := range ti.OffsetsLength() {
		if !ti.Offsets(&bo, i) {
			return fmt.Errorf("index: block %d missing", i)
		}
		off, n := int64(bo.Offset()), int64(bo.Len())
		if n < 8 || off+n > dataEnd {
			return fmt.Errorf("block %d: %d bytes at %d, outside the data (%d bytes)", i, n, off, dataEnd)
		}
		if c != options.None {
			if err := checkCompressedBlock(read, off, n, c); err != nil {
				return fmt.Errorf("block %d: %w", i, err)
			}
			continue
		}
		b, err := read(off+n-4, 4)
		if err != nil {
			return err
		}
		chkLen := int64(binary.BigEndian.Uint32(b))
		pos := n - 4 - chkLen - 4 // where the entry count is
		if chkLen > n || pos < 0 {
			return fmt.Errorf("block %d: checksum length %d in %d bytes", i, chkLen, n)
		}
		if b, err = read(off+pos, 4); err != nil {
			return err
		}
		if entries := int64(binary.BigEndian.Uint32(b)); entries*4 > pos {
			return fmt.Errorf("block %d: %d entries in %d bytes", i, entries, n)
		}
	}
	return nil
}

// checkCompressedBlock decompresses the block of n bytes at off and checks the layout of
// its trailer as checkBlocks does for an uncompressed one.
func checkCompressedBlock(read func(off, n int64) ([]byte, error), off, n int64, c options.CompressionType) error {
	raw, err := read(off, n)
	if err != nil {
		return err
	}
	var b []byte
	switch c {
	case options.Snappy:
		b, err = snappy.Decode(nil, raw)
	case options.ZSTD:
		b, err = y.ZSTDDecompress(nil, raw)
	default:
		return fmt.Errorf("unknown compression %d", c)
	}
	if err != nil {
		return fmt.Errorf("decompress: %w", err)
	}
	size := int64(len(b))
	if size < 8 {
		return fmt.Errorf("%d bytes decompressed", size)
	}
	chkLen := int64(binary.BigEndian.Uint32(b[size-4:]))
	pos := size - 4 - chkLen - 4
	if chkLen > size || pos < 0 {
		return fmt.Errorf("checksum length %d in %d bytes", chkLen, size)
	}
	if entries := int64(binary.BigEndian.Uint32(b[pos:])); entries*4 > pos {
		return fmt.Errorf("%d entries in %d bytes", entries, size)
	}
	return nil
}
