package streams

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
)

func checkpointInode(t *testing.T, dir string) uint64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, statestore.CheckpointFileName))
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Skip("no inode numbers on this system")
	}
	return st.Ino
}

// TestCheckpointMemoSkipsOnlySameBytesOnDisk: the same checkpoint is not
// written again (the file keeps its inode: an atomic write replaces it), a
// new offset is, and so is the same offset after the file was removed.
func TestCheckpointMemoSkipsOnlySameBytesOnDisk(t *testing.T) {
	dir := t.TempDir()
	var m checkpointMemo
	cp := func(off int64) statestore.Checkpoint {
		return statestore.Checkpoint{{Topic: "app-store-changelog", Partition: 0}: off}
	}
	read := func() int64 {
		t.Helper()
		got, err := statestore.ReadCheckpoint(dir)
		if err != nil || got == nil {
			t.Fatalf("read checkpoint: %v, %v", got, err)
		}
		return got[statestore.TopicPartition{Topic: "app-store-changelog", Partition: 0}]
	}
	if err := m.writeCheckpoint(dir, cp(10)); err != nil {
		t.Fatal(err)
	}
	first := checkpointInode(t, dir)
	if err := m.writeCheckpoint(dir, cp(10)); err != nil {
		t.Fatal(err)
	}
	if checkpointInode(t, dir) != first {
		t.Fatal("an unchanged checkpoint was written again")
	}
	if err := m.writeCheckpoint(dir, cp(11)); err != nil {
		t.Fatal(err)
	}
	if read() != 11 || checkpointInode(t, dir) == first {
		t.Fatal("a new offset was not written")
	}
	if err := statestore.RemoveCheckpoint(dir); err != nil {
		t.Fatal(err)
	}
	if err := m.writeCheckpoint(dir, cp(11)); err != nil {
		t.Fatal(err)
	}
	if read() != 11 {
		t.Fatal("a removed checkpoint was not written again")
	}
}
