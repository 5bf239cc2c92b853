package partlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// The index files use Kafka's layouts. An offset index entry is 8 bytes:
// the offset relative to the segment's base offset (int32) and the file
// position of the batch that starts at that offset (int32). A time index
// entry is 12 bytes: a timestamp (int64) and the relative offset (int32) of
// the batch where the segment's largest timestamp so far first appeared.
//
// Unlike Kafka, which indexes a batch by its last offset, an offset index
// entry here names the batch's BASE offset. That lets a lookup check an
// entry exactly (the batch at that position must start at that offset), so a
// damaged index is caught on use, not trusted.
const (
	offsetEntrySize = 8
	timeEntrySize   = 12
)

type offsetEntry struct {
	rel uint32 // base offset of the batch - segment base offset
	pos uint32 // file position of the batch
}

type timeEntry struct {
	ts  int64  // largest timestamp in the segment up to this batch
	rel uint32 // relative base offset of the batch that holds ts
}

// floorOffset returns the index of the last entry with rel <= target, or -1.
func floorOffset(idx []offsetEntry, target uint32) int {
	i := sort.Search(len(idx), func(i int) bool { return idx[i].rel > target })
	return i - 1
}

// floorTime returns the index of the last entry with ts <= target, or -1.
func floorTime(idx []timeEntry, target int64) int {
	i := sort.Search(len(idx), func(i int) bool { return idx[i].ts > target })
	return i - 1
}

func encodeOffsetIndex(idx []offsetEntry) []byte {
	b := make([]byte, len(idx)*offsetEntrySize)
	for i, e := range idx {
		binary.BigEndian.PutUint32(b[i*8:], e.rel)
		binary.BigEndian.PutUint32(b[i*8+4:], e.pos)
	}
	return b
}

func encodeTimeIndex(idx []timeEntry) []byte {
	b := make([]byte, len(idx)*timeEntrySize)
	for i, e := range idx {
		binary.BigEndian.PutUint64(b[i*12:], uint64(e.ts))
		binary.BigEndian.PutUint32(b[i*12+8:], e.rel)
	}
	return b
}

var errBadIndex = errors.New("partlog: damaged index")

// decodeOffsetIndex parses an offset index file and checks it as Kafka's
// sanityCheck does, and more: whole entries, relative offsets and positions
// strictly increasing, positions inside the log file. A trailing run of zero
// entries (a preallocated file) is trimmed.
func decodeOffsetIndex(b []byte, logSize int64) ([]offsetEntry, error) {
	if len(b)%offsetEntrySize != 0 {
		return nil, fmt.Errorf("%w: offset index of %d bytes is not whole entries", errBadIndex, len(b))
	}
	n := len(b) / offsetEntrySize
	idx := make([]offsetEntry, 0, n)
	for i := 0; i < n; i++ {
		e := offsetEntry{rel: binary.BigEndian.Uint32(b[i*8:]), pos: binary.BigEndian.Uint32(b[i*8+4:])}
		if i > 0 && e.rel == 0 && e.pos == 0 {
			break // preallocated tail
		}
		if int64(e.pos) >= logSize || e.rel > 1<<31-1 {
			return nil, fmt.Errorf("%w: entry %d points past the log", errBadIndex, i)
		}
		if len(idx) > 0 {
			last := idx[len(idx)-1]
			if e.rel <= last.rel || e.pos <= last.pos {
				return nil, fmt.Errorf("%w: entry %d is not increasing", errBadIndex, i)
			}
		}
		idx = append(idx, e)
	}
	return idx, nil
}

// decodeTimeIndex parses a time index file: whole entries, timestamps
// strictly increasing, relative offsets not decreasing and below maxRel.
func decodeTimeIndex(b []byte, maxRel int64) ([]timeEntry, error) {
	if len(b)%timeEntrySize != 0 {
		return nil, fmt.Errorf("%w: time index of %d bytes is not whole entries", errBadIndex, len(b))
	}
	n := len(b) / timeEntrySize
	idx := make([]timeEntry, 0, n)
	for i := 0; i < n; i++ {
		e := timeEntry{ts: int64(binary.BigEndian.Uint64(b[i*12:])), rel: binary.BigEndian.Uint32(b[i*12+8:])}
		if i > 0 && e.ts == 0 && e.rel == 0 {
			break
		}
		if int64(e.rel) > maxRel {
			return nil, fmt.Errorf("%w: time entry %d points past the segment", errBadIndex, i)
		}
		if len(idx) > 0 {
			last := idx[len(idx)-1]
			if e.ts <= last.ts || e.rel < last.rel {
				return nil, fmt.Errorf("%w: time entry %d is not increasing", errBadIndex, i)
			}
		}
		idx = append(idx, e)
	}
	return idx, nil
}

// writeFileSync writes b to path (truncating it) and optionally fsyncs it.
func writeFileSync(path string, b []byte, sync bool) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil && sync {
		err = fsyncFile(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readFileLimit reads a whole file of at most limit bytes.
func readFileLimit(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, over %d", errBadIndex, path, st.Size(), limit)
	}
	b := make([]byte, st.Size())
	_, err = io.ReadFull(f, b)
	return b, err
}
