package streams

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/badgerstore"
	"github.com/rivulet-io/rivulet/statestore/memstore"
)

// dirOpener is the runtime's StoreOpener: persistent stores in Badger under
// <state.dir>/<application.id>/<task>/<store> (global stores under
// "global"), in-memory ones in memstore.
type dirOpener struct {
	root   string
	opts   badgerstore.Options
	logger *slog.Logger
}

func newDirOpener(stateDir, appID string, logger *slog.Logger) (*dirOpener, error) {
	root := filepath.Join(stateDir, appID)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("streams: state directory: %w", err)
	}
	opts := badgerstore.Options{Logger: logger}
	return &dirOpener{root: root, opts: opts, logger: logger}, nil
}

func (o *dirOpener) dir(task TaskID, name string) string {
	td := task.String()
	if task == GlobalTaskID {
		td = "global"
	}
	return filepath.Join(o.root, td, name)
}

func (o *dirOpener) OpenKeyValue(task TaskID, name string, persistent, logged bool) (statestore.KeyValueStore, statestore.Checkpoint, error) {
	if !persistent {
		return memstore.NewKeyValueStore(name, statestore.KeyValueOptions{}), nil, nil
	}
	dir := o.dir(task, name)
	s, err := badgerstore.OpenKeyValueStore(dir, name, o.opts, statestore.KeyValueOptions{})
	if err != nil {
		return nil, nil, err
	}
	if !logged {
		return s, nil, nil
	}
	cp, err := statestore.ReadCheckpoint(dir)
	if err != nil && !errors.Is(err, statestore.ErrCorruptCheckpoint) {
		s.Close()
		return nil, nil, err
	}
	if cp != nil {
		return s, cp, nil
	}
	if s.Status().Wiped {
		return s, nil, nil // already empty
	}
	if n, _ := s.ApproximateNumEntries(); n == 0 {
		return s, nil, nil
	}
	// Data with no (valid) checkpoint: nothing says which changelog offset it
	// reflects, so start over from the changelog.
	o.logger.Info("streams: store has no valid checkpoint; wiping it to restore it from its changelog", "task", task.String(), "store", name, "err", err)
	if err := s.Close(); err != nil {
		return nil, nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, nil, fmt.Errorf("streams: wipe store %q: %w", name, err)
	}
	s, err = badgerstore.OpenKeyValueStore(dir, name, o.opts, statestore.KeyValueOptions{})
	if err != nil {
		return nil, nil, err
	}
	return s, nil, nil
}

func (o *dirOpener) WriteCheckpoint(task TaskID, name string, cp statestore.Checkpoint) error {
	return statestore.WriteCheckpoint(o.dir(task, name), cp)
}
