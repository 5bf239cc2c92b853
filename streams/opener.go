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

// dirOpener is the runtime's storeOpener: persistent stores in Badger under
// <state.dir>/<application.id>/<task>/<store> (global stores under
// "global"), in-memory ones in memstore.
type dirOpener struct {
	root   string
	appID  string
	opts   badgerstore.Options
	logger *slog.Logger
	// setter tunes each store's Badger options (WithBadgerConfigSetter).
	setter func(storeName string, opts *badgerstore.Options)
	// memory divides the state memory budget over the stores
	// (state_memory.go); nil opens every store with opts.
	memory *stateMemory
	// lookup asks the broker about changelogs, to check checkpoints against
	// them (checkpoint_verify.go); nil skips those checks.
	lookup changelogLookup
	// checkpoints skips rewriting a checkpoint file with the same bytes
	// (perf_checkpoint.go).
	checkpoints checkpointMemo
}

func newDirOpener(stateDir, appID string, logger *slog.Logger) (*dirOpener, error) {
	root := filepath.Join(stateDir, appID)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("streams: state directory: %w", err)
	}
	opts := badgerstore.Options{Logger: logger}
	return &dirOpener{root: root, appID: appID, opts: opts, logger: logger}, nil
}

// configureOpener gives the opener what the running application knows:
// the Badger config setter and the admin client for checkpoint checks.
func (a *App) configureOpener(o *dirOpener) {
	o.setter = a.cfg.BadgerConfigSetter
	o.memory = a.stateMemory
	if a.admin != nil {
		o.lookup = kadmChangelogLookup(a.admin)
	}
}

// optsFor returns the Badger options of store name: its share of the
// state memory budget when one is set, then the Badger config setter's
// changes.
func (o *dirOpener) optsFor(name string) badgerstore.Options {
	opts := o.opts
	if o.memory != nil {
		opts = o.memory.options(o.opts)
	}
	if o.setter != nil {
		opts.EnsureDefaults()
		o.setter(name, &opts)
	}
	return opts
}

func (o *dirOpener) dir(task TaskID, name string) string {
	td := task.String()
	if task == globalTaskID {
		td = "global"
	}
	return filepath.Join(o.root, td, name)
}

func (o *dirOpener) OpenKeyValue(task TaskID, name string, persistent, logged bool) (statestore.KeyValueStore, statestore.Checkpoint, error) {
	if !persistent {
		return memstore.NewKeyValueStore(name, statestore.KeyValueOptions{}), nil, nil
	}
	dir := o.dir(task, name)
	open := func() (statestore.KeyValueStore, badgerstore.Status, error) {
		s, err := badgerstore.OpenKeyValueStore(dir, name, o.optsFor(name), statestore.KeyValueOptions{})
		if err != nil {
			return nil, badgerstore.Status{}, err
		}
		return s, s.Status(), nil
	}
	return openWithCheckpoint(o, task, name, dir, logged, open, func(s statestore.KeyValueStore) (bool, error) {
		n, err := s.ApproximateNumEntries()
		return n == 0, err
	})
}

func (o *dirOpener) WriteCheckpoint(task TaskID, name string, cp statestore.Checkpoint) error {
	return o.checkpoints.writeCheckpoint(o.dir(task, name), cp)
}

// openWithCheckpoint opens a persistent store and its checkpoint. Data
// without a valid checkpoint is wiped, so a restore from the start of the
// changelog rebuilds the store exactly; a checkpoint that does not describe
// the data on disk or the changelog as it is now (verifyOpened) is
// distrusted the same way, with a warning saying why.
func openWithCheckpoint[S statestore.Store](o *dirOpener, task TaskID, name, dir string, logged bool, open func() (S, badgerstore.Status, error), empty func(S) (bool, error)) (S, statestore.Checkpoint, error) {
	var zero S
	s, st, err := open()
	if err != nil {
		return zero, nil, err
	}
	if !logged {
		return s, nil, nil
	}
	wipe := func() error {
		if err := s.Close(); err != nil {
			return err
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("streams: wipe store %q: %w", name, err)
		}
		s, _, err = open()
		return err
	}
	cp, err := statestore.ReadCheckpoint(dir)
	if err != nil && !errors.Is(err, statestore.ErrCorruptCheckpoint) {
		s.Close()
		return zero, nil, err
	}
	switch {
	case cp != nil:
	case st.Wiped:
	default:
		if e, _ := empty(s); !e {
			// Data with no (valid) checkpoint: nothing says which changelog
			// offset it reflects, so start over from the changelog.
			o.logger.Info("streams: store has no valid checkpoint; wiping it to restore it from its changelog", "task", task.String(), "store", name, "err", err)
			if err := wipe(); err != nil {
				return zero, nil, err
			}
		}
	}
	reason, err := o.verifyOpened(task, name, dir, cp)
	if err != nil {
		s.Close()
		return zero, nil, err
	}
	if reason != "" {
		o.logger.Warn("streams: store checkpoint does not match; wiping the store to restore it from its changelog",
			"task", task.String(), "store", name, "reason", reason)
		if err := wipe(); err != nil {
			return zero, nil, err
		}
		cp = nil
		if _, err := o.verifyOpened(task, name, dir, nil); err != nil {
			s.Close()
			return zero, nil, err
		}
	}
	return s, cp, nil
}
