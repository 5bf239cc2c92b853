package badgerstore

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/y"
	"google.golang.org/protobuf/proto"
)

// checkTables reads the footer of every table file in a Badger directory and verifies
// its index checksum, as Badger does when it opens a table. Badger opens tables on
// goroutines of its own, where a damaged footer (a length pointing outside the file)
// panics beyond any recover of ours; checking first turns that into an error, and the
// store is wiped instead of the process dying. Only footers and indexes are read, not
// the data blocks (those are checked by Badger on every block read).
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
	return nil
}
