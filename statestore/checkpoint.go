package statestore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// CheckpointFileName is the name of a store's checkpoint file inside its directory.
const CheckpointFileName = ".checkpoint"

// maxCheckpointSize bounds what ReadCheckpoint reads: a checkpoint holds a few lines.
const maxCheckpointSize = 1 << 20

const checkpointHeader = "rivulet-checkpoint 1"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// TopicPartition names a changelog partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Checkpoint maps each changelog partition a store is restored from to the next offset to
// read from it: the store reflects every record before that offset. This is the meaning of
// the offsets in Kafka Streams' .checkpoint files and of a consumer's committed offset.
type Checkpoint map[TopicPartition]int64

// EncodeCheckpoint renders a checkpoint as the text stored in a checkpoint file:
//
//	rivulet-checkpoint 1
//	<topic> <partition> <offset>      (one line per partition, sorted)
//	crc32c <8 hex digits>             (Castagnoli CRC of every byte above this line)
//
// Topic names must be non-empty and free of spaces and control characters (Kafka topic
// names are [a-zA-Z0-9._-]); partitions and offsets must be >= 0.
func EncodeCheckpoint(cp Checkpoint) ([]byte, error) {
	tps := make([]TopicPartition, 0, len(cp))
	for tp, off := range cp {
		if !validCheckpointTopic(tp.Topic) {
			return nil, fmt.Errorf("statestore: checkpoint: invalid topic name %q", tp.Topic)
		}
		if tp.Partition < 0 || off < 0 {
			return nil, fmt.Errorf("statestore: checkpoint: invalid partition %d or offset %d for %q", tp.Partition, off, tp.Topic)
		}
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
	var b bytes.Buffer
	b.WriteString(checkpointHeader)
	b.WriteByte('\n')
	for _, tp := range tps {
		fmt.Fprintf(&b, "%s %d %d\n", tp.Topic, tp.Partition, cp[tp])
	}
	fmt.Fprintf(&b, "crc32c %08x\n", crc32.Checksum(b.Bytes(), castagnoli))
	return b.Bytes(), nil
}

func validCheckpointTopic(t string) bool {
	if t == "" || len(t) > 1024 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] == 0x7f {
			return false
		}
	}
	return true
}

// DecodeCheckpoint parses the text of a checkpoint file. Anything malformed, truncated or
// failing the checksum yields an error wrapping ErrCorruptCheckpoint.
func DecodeCheckpoint(data []byte) (Checkpoint, error) {
	corrupt := func(format string, args ...any) (Checkpoint, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrCorruptCheckpoint}, args...)...)
	}
	if len(data) > maxCheckpointSize {
		return corrupt("%d bytes is too large", len(data))
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return corrupt("truncated (no final newline)")
	}
	body := data[:len(data)-1]
	cut := bytes.LastIndexByte(body, '\n')
	if cut < 0 {
		return corrupt("no checksum line")
	}
	covered, crcLine := data[:cut+1], string(body[cut+1:])
	hexSum, ok := strings.CutPrefix(crcLine, "crc32c ")
	if !ok || len(hexSum) != 8 {
		return corrupt("bad checksum line %q", crcLine)
	}
	want, err := strconv.ParseUint(hexSum, 16, 32)
	if err != nil {
		return corrupt("bad checksum %q", hexSum)
	}
	if got := crc32.Checksum(covered, castagnoli); got != uint32(want) {
		return corrupt("checksum %08x, file says %08x", got, want)
	}
	sc := bufio.NewScanner(bytes.NewReader(covered))
	sc.Buffer(make([]byte, 0, 4096), maxCheckpointSize)
	if !sc.Scan() || sc.Text() != checkpointHeader {
		return corrupt("missing header %q", checkpointHeader)
	}
	cp := Checkpoint{}
	for sc.Scan() {
		fields := strings.Split(sc.Text(), " ")
		if len(fields) != 3 || !validCheckpointTopic(fields[0]) {
			return corrupt("bad line %q", sc.Text())
		}
		part, err1 := strconv.ParseInt(fields[1], 10, 32)
		off, err2 := strconv.ParseInt(fields[2], 10, 64)
		if err1 != nil || err2 != nil || part < 0 || off < 0 {
			return corrupt("bad line %q", sc.Text())
		}
		tp := TopicPartition{Topic: fields[0], Partition: int32(part)}
		if _, dup := cp[tp]; dup {
			return corrupt("partition %s-%d listed twice", tp.Topic, tp.Partition)
		}
		cp[tp] = off
	}
	if err := sc.Err(); err != nil {
		return corrupt("%v", err)
	}
	// Only the canonical form is accepted (no "+7", "007", upper-case hex, unsorted
	// lines): what a writer of this format never produces is a sign of damage.
	if again, err := EncodeCheckpoint(cp); err != nil || !bytes.Equal(again, data) {
		return corrupt("not in canonical form")
	}
	return cp, nil
}

// WriteCheckpoint writes cp to dir/.checkpoint atomically: it writes a temporary file,
// fsyncs it, renames it over the old file and fsyncs the directory, so a crash leaves
// either the old checkpoint or the new one, never a torn one. Flush the store first: a
// checkpoint must never claim more than the store holds (see Store.Flush).
func WriteCheckpoint(dir string, cp Checkpoint) error {
	data, err := EncodeCheckpoint(cp)
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(dir, CheckpointFileName), data); err != nil {
		return fmt.Errorf("statestore: write checkpoint: %w", err)
	}
	return nil
}

// ReadCheckpoint reads dir/.checkpoint. It returns (nil, nil) when there is none: the
// store must then be restored from the beginning of its changelog. A damaged file returns
// an error wrapping ErrCorruptCheckpoint: wipe the store and restore it from scratch.
func ReadCheckpoint(dir string) (Checkpoint, error) {
	f, err := os.Open(filepath.Join(dir, CheckpointFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("statestore: read checkpoint: %w", err)
	}
	defer f.Close()
	data, err := readAtMost(f, maxCheckpointSize+1)
	if err != nil {
		return nil, fmt.Errorf("statestore: read checkpoint: %w", err)
	}
	cp, err := DecodeCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("statestore: read checkpoint %s: %w", filepath.Join(dir, CheckpointFileName), err)
	}
	return cp, nil
}

// RemoveCheckpoint deletes dir/.checkpoint if it exists (Kafka Streams does this under
// exactly-once when a task starts processing, so a crash forces a restore from scratch),
// and fsyncs the directory.
func RemoveCheckpoint(dir string) error {
	err := os.Remove(filepath.Join(dir, CheckpointFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("statestore: remove checkpoint: %w", err)
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("statestore: remove checkpoint: %w", err)
	}
	return nil
}

func readAtMost(f *os.File, n int64) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(&limitedReader{f: f, n: n})
	return b.Bytes(), err
}

type limitedReader struct {
	f *os.File
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("file too large")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}

// WriteFileAtomic replaces path with data: temp file in the same directory, fsync,
// rename, directory fsync.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmpName, path); err != nil {
		return err
	}
	ok = true
	return SyncDir(dir)
}

// SyncDir fsyncs a directory, making renames and removals in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
