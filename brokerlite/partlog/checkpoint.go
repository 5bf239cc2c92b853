package partlog

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
)

// Per-partition state files. Each is written crash-safely: to <name>.tmp,
// fsynced, renamed over <name>, then the directory fsynced.
const (
	logStartCheckpointFile = "log-start-offset.checkpoint"
	cleanerCheckpointFile  = "cleaner-offset.checkpoint"
	gapCheckpointFile      = "gap-offset.checkpoint"
	cleanShutdownFile      = "clean-shutdown"
	tmpSuffix              = ".tmp"
	snapshotSuffix         = ".snapshot"
)

// writeFileAtomic replaces dir/name with b crash-safely.
func writeFileAtomic(dir, name string, b []byte) error {
	tmp := filepath.Join(dir, name+tmpSuffix)
	if err := writeFileSync(tmp, b, true); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// skipFsync turns every fsync of the package into a no-op. Only fuzz
// targets set it, where thousands of short-lived logs would otherwise wait on
// the disk; the crash and durability tests keep real fsyncs.
var skipFsync atomic.Bool

func fsyncFile(f *os.File) error {
	if skipFsync.Load() {
		return nil
	}
	return f.Sync()
}

func syncDir(dir string) error {
	if skipFsync.Load() {
		return nil
	}
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

// errDamagedCheckpoint: a checkpoint file was read but its contents are not
// a valid checkpoint. Other errors of readOffsetCheckpoint are the file
// system's (out of file descriptors, I/O errors), not damage.
var errDamagedCheckpoint = errors.New("partlog: damaged checkpoint")

// writeOffsetCheckpoint stores one offset as "v1 <offset> <crc32c>\n".
func writeOffsetCheckpoint(dir, name string, offset int64) error {
	body := "v1 " + strconv.FormatInt(offset, 10)
	crc := crc32.Checksum([]byte(body), castagnoli)
	return writeFileAtomic(dir, name, []byte(fmt.Sprintf("%s %08x\n", body, crc)))
}

// readOffsetCheckpoint returns the stored offset; ok is false when the file
// is missing or damaged (damage is reported in err).
func readOffsetCheckpoint(dir, name string) (offset int64, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if os.IsNotExist(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	fields := strings.Fields(string(b))
	if len(fields) != 3 || fields[0] != "v1" {
		return 0, false, fmt.Errorf("%w %s", errDamagedCheckpoint, name)
	}
	body := fields[0] + " " + fields[1]
	crc, err1 := strconv.ParseUint(fields[2], 16, 32)
	n, err2 := strconv.ParseInt(fields[1], 10, 64)
	if err1 != nil || err2 != nil || uint32(crc) != crc32.Checksum([]byte(body), castagnoli) || n < 0 {
		return 0, false, fmt.Errorf("%w %s", errDamagedCheckpoint, name)
	}
	return n, true, nil
}
