package streams

import (
	"os"
	"path/filepath"
	"sync"

	"github.com/rivulet-io/rivulet/statestore"
)

// A task writes its stores' checkpoints after every commit, and a
// checkpoint file costs a temp file, two fsyncs and a rename. A store whose
// changelog did not move since the last commit (an idle task, a store the
// commit's records did not touch) would write the same bytes again, so the
// opener remembers what it last wrote to each store directory and skips a
// write whose bytes are the same while the file is still there. The stat
// catches a checkpoint removed meanwhile (exactly-once's removal, a wipe),
// so the skip never leaves a store without the checkpoint it was given.

// checkpointMemo is what a dirOpener last wrote per store directory.
type checkpointMemo struct {
	mu      sync.Mutex
	written map[string]string // store directory -> encoded checkpoint
}

// unchanged reports whether dir's checkpoint file holds data already.
func (m *checkpointMemo) unchanged(dir string, data []byte) bool {
	m.mu.Lock()
	last, ok := m.written[dir]
	m.mu.Unlock()
	if !ok || last != string(data) {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, statestore.CheckpointFileName))
	return err == nil
}

// wrote records that dir's checkpoint file now holds data.
func (m *checkpointMemo) wrote(dir string, data []byte) {
	m.mu.Lock()
	if m.written == nil {
		m.written = map[string]string{}
	}
	m.written[dir] = string(data)
	m.mu.Unlock()
}

// forget drops what is known of dir (its checkpoint was written by other
// means or failed to write).
func (m *checkpointMemo) forget(dir string) {
	m.mu.Lock()
	delete(m.written, dir)
	m.mu.Unlock()
}

// writeCheckpoint writes cp to dir unless dir's file already holds it.
func (m *checkpointMemo) writeCheckpoint(dir string, cp statestore.Checkpoint) error {
	data, err := statestore.EncodeCheckpoint(cp)
	if err != nil {
		return err
	}
	if m.unchanged(dir, data) {
		return nil
	}
	if err := statestore.WriteCheckpoint(dir, cp); err != nil {
		m.forget(dir)
		return err
	}
	m.wrote(dir, data)
	return nil
}
