package badgerstore

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4/fb"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/y"
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
// catches the rest. That reads each table's blocks' last bytes: a few ms per 100 MB.
func checkTables(dir string) error {
	tables, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil {
		return err
	}
	for _, path := range tables {
		if err := checkTable(path); err != nil {
			return fmt.Errorf("table %s: %w", filepath.Base(path), err)
		}
	}
	return nil
}

func checkTable(path string) error {
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
	return checkBlocks(read, idx, pos)
}

// checkBlocks checks the layout of each block the (verified) index lists: within the
// data part of the file (which ends at dataEnd), and its trailer, read from its end as
// Badger reads it (checksum length (4), checksum, entry count (4), entry offsets (4
// each)), fits in it.
func checkBlocks(read func(off, n int64) ([]byte, error), idx []byte, dataEnd int64) (err error) {
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
