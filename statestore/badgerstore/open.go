package badgerstore

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/internal/core"
)

// Files in a store directory, besides statestore.CheckpointFileName.
const (
	// DataDirName is the subdirectory holding the Badger files.
	DataDirName = "badger"
	// DirtyFileName is the marker present while the store is open: found at open, it
	// means the last process to open the store did not close it.
	DirtyFileName = ".dirty"
)

// Status says how a store directory was found when the store opened.
type Status struct {
	// Unclean is set when the store was not closed cleanly last time (a crash or a
	// kill): Badger replayed its write-ahead log, and the store may hold writes made
	// after its checkpoint (harmless under at-least-once; see Options.WipeUnclean).
	Unclean bool
	// Wiped is set when the store's data was deleted at open, with its checkpoint: the
	// store is empty and must be restored from the beginning of its changelog.
	// ReadCheckpoint returns nil for it, so the runtime's usual path does that.
	Wiped bool
	// Reason says why the store was wiped: Badger's error, or the unclean shutdown.
	Reason error
}

// ErrLocked is returned when another process (or another store in this process) has the
// store directory open. Nothing is wiped in that case.
var ErrLocked = errors.New("badgerstore: store directory is in use")

// openDB opens (creating if needed) the Badger instance of the store in dir, wiping it
// when it cannot be opened or (with WipeUnclean) was not closed cleanly.
func openDB(dir, name string, opts Options) (db *badger.DB, st Status, err error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, st, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, st, fmt.Errorf("badgerstore: %s: %w", name, err)
	}
	// Sorted runs of a restore that did not finish: the restore starts over.
	if err := os.RemoveAll(filepath.Join(dir, RestoreTmpDirName)); err != nil {
		return nil, st, fmt.Errorf("badgerstore: %s: %w", name, err)
	}
	dirty := filepath.Join(dir, DirtyFileName)
	if _, err := os.Stat(dirty); err == nil {
		st.Unclean = true
	}
	log := opts.Logger.With("store", name, "dir", dir)
	if st.Unclean && opts.WipeUnclean {
		st.Wiped, st.Reason = true, errors.New("badgerstore: store was not closed cleanly")
		log.Warn("badgerstore: wiping a store that was not closed cleanly; it will be restored from its changelog")
		if err := wipe(dir); err != nil {
			return nil, st, fmt.Errorf("badgerstore: %s: wipe: %w", name, err)
		}
	}
	bopts := badgerOptions(filepath.Join(dir, DataDirName), opts, log)
	db, err = checkedOpen(bopts)
	if err != nil {
		if isLockErr(err) {
			return nil, st, fmt.Errorf("%w: %s: %v", ErrLocked, dir, err)
		}
		// Anything else means the files cannot be trusted: the changelog is the truth,
		// so start over from it.
		log.Warn("badgerstore: store cannot be opened; wiping it, it will be restored from its changelog", "err", err)
		st.Wiped, st.Reason = true, err
		if err := wipe(dir); err != nil {
			return nil, st, fmt.Errorf("badgerstore: %s: wipe: %w", name, err)
		}
		db, err = safeOpen(bopts)
		if err != nil {
			return nil, st, fmt.Errorf("badgerstore: %s: open after wipe: %w", name, err)
		}
	}
	if err := statestore.WriteFileAtomic(dirty, []byte("open\n")); err != nil {
		db.Close()
		return nil, st, fmt.Errorf("badgerstore: %s: dirty marker: %w", name, err)
	}
	if st.Unclean && !st.Wiped {
		log.Info("badgerstore: store was not closed cleanly; Badger recovered it")
	}
	return db, st, nil
}

// checkedOpen checks the table files, then opens Badger.
func checkedOpen(opts badger.Options) (*badger.DB, error) {
	if err := checkTables(opts); err != nil {
		return nil, err
	}
	return safeOpen(opts)
}

// safeOpen turns a panic inside badger.Open (some corruptions of its files cause one)
// into an error, so a damaged directory is wiped instead of taking the process down.
func safeOpen(opts badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("badger panicked while opening: %v", r)
		}
	}()
	return badger.Open(opts)
}

func isLockErr(err error) bool {
	return strings.Contains(err.Error(), "Cannot acquire directory lock")
}

// wipe deletes the store's data and checkpoint, keeping the directory.
func wipe(dir string) error {
	if err := os.RemoveAll(filepath.Join(dir, DataDirName)); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, statestore.CheckpointFileName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return statestore.SyncDir(dir)
}

// markClean removes the dirty marker after a clean close.
func markClean(dir string) error {
	if err := os.Remove(filepath.Join(dir, DirtyFileName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return statestore.SyncDir(dir)
}

func badgerOptions(path string, o Options, log *slog.Logger) badger.Options {
	bo := badger.DefaultOptions(path)
	// Every table the same size (Badger grows them 2x per level by default, to 64 MiB at
	// the last level, and a table builder holds a whole table in memory): keeps compaction
	// and restore within the memory bound.
	bo.TableSizeMultiplier = 1
	return bo.
		WithLogger(badgerLogger{log}).
		WithMetricsEnabled(false).
		WithDetectConflicts(false).
		WithNumVersionsToKeep(1).
		WithSyncWrites(false). // durability comes from Flush's fsync; the changelog is the truth
		WithCompression(o.Compression.badger()).
		WithChecksumVerificationMode(options.OnBlockRead).
		WithMemTableSize(o.MemTableSize).
		WithNumMemtables(o.NumMemtables).
		WithNumLevelZeroTables(levelZeroTables(o)).
		WithNumLevelZeroTablesStall(levelZeroTables(o) * 3).
		WithBlockCacheSize(o.BlockCacheSize).
		WithBaseTableSize(o.BaseTableSize).
		WithValueThreshold(o.ValueThreshold).
		WithValueLogFileSize(o.ValueLogFileSize).
		WithNumCompactors(o.NumCompactors).
		WithNumGoroutines(2)
}

// levelZeroBytes is the memtable data level 0 holds before Badger compacts it (and, three
// times that, before it stalls writes): 64 MiB, eight tables of the default 8 MiB
// memtables. It is what RocksDB holds as Kafka Streams configures it (compaction at 4
// level-0 files of 16 MiB write buffers), and less than Badger's own default (5 tables of
// 64 MiB memtables). Level 0 is on disk, so its size costs no heap; what it saves is
// compaction: each compaction of level 0 merges it into the base level, and with keys
// spread over the whole key space (user ids) it rewrites that level's overlapping tables
// every time. A count over 5M new keys with 16 MiB of level 0 used about 1.5 times the
// CPU and ran at about two thirds of the rate, at the same RSS (benchmarks/RESULTS.md,
// "Many keys: level 0 compacted after 64 MiB").
const levelZeroBytes = 8 * DefaultMemTableSize

// levelZeroTables is how many level-0 tables start a compaction: enough for at least
// levelZeroBytes of memtables (at least NumMemtables and 2), so that small memtables do not
// stall writes on a level 0 that fills after a few MiB (a count over many keys with 3 MiB
// memtables ran at half the rate with the 2 and 6 tables that suit 8 MiB ones).
func levelZeroTables(o Options) int {
	return max(o.NumMemtables, 2, int((levelZeroBytes+o.MemTableSize-1)/o.MemTableSize))
}

// badgerLogger sends Badger's warnings and errors to slog; its info and debug lines,
// which are many, are dropped. Badger's advice that a cache "might be too small" (and
// the cache's life expectancy after it), repeated every minute while its hit ratio is
// low, goes to the debug level: the caches are sized by the options (a state memory
// budget on purpose), and a count over keys that are almost all new misses whatever
// the size.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
}

func (b badgerLogger) Warningf(f string, a ...any) {
	msg := "badger: " + strings.TrimSpace(fmt.Sprintf(f, a...))
	if cacheAdvice(f) {
		b.l.Debug(msg)
		return
	}
	b.l.Warn(msg)
}

// cacheAdvice reports whether a Badger warning's format is its cache-size advice.
func cacheAdvice(format string) bool {
	return strings.Contains(format, "might be too small") || strings.HasPrefix(format, "Cache life expectancy")
}
func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}

// storeDir is what the stores share: their directory and how it was found at open.
type storeDir struct {
	dir    string
	status Status
}

// openEngine opens Badger in dir (opts with defaults) and the engine over it.
func openEngine(dir, name string, opts Options) (*engine, storeDir, error) {
	opts.EnsureDefaults()
	db, st, err := openDB(dir, name, opts)
	if err != nil {
		return nil, storeDir{}, err
	}
	eng, err := newEngine(name, db, opts, dir)
	if err != nil {
		db.Close()
		return nil, storeDir{}, fmt.Errorf("badgerstore: %s: %w", name, err)
	}
	return eng, storeDir{dir: dir, status: st}, nil
}

// openSegmented opens a window or session store: validate checks its options before
// anything is opened, newStore builds it over the engine (and closes the engine when it
// fails).
func openSegmented[S any](dir, name string, opts Options, validate func() error, newStore func(eng core.Engine) (S, error)) (S, storeDir, error) {
	var zero S
	if err := validate(); err != nil {
		return zero, storeDir{}, err
	}
	eng, sd, err := openEngine(dir, name, opts)
	if err != nil {
		return zero, storeDir{}, err
	}
	s, err := newStore(eng)
	if err != nil {
		return zero, storeDir{}, err
	}
	return s, sd, nil
}

// closed is what the stores run on Close after the core store closed the engine: it
// removes the dirty marker.
func (d *storeDir) closed(err error) error {
	if err != nil {
		return err
	}
	if err := markClean(d.dir); err != nil {
		return fmt.Errorf("badgerstore: mark clean: %w", err)
	}
	return nil
}

// Status says how the store directory was found at open.
func (d *storeDir) Status() Status { return d.status }

// Dir is the store directory.
func (d *storeDir) Dir() string { return d.dir }

// KeyValueStore is a statestore.KeyValueStore kept in Badger. It also implements
// statestore.Restorable.
type KeyValueStore struct {
	*core.KeyValueStore
	storeDir
}

// OpenKeyValueStore opens the key-value store kept in dir (the runtime uses
// state.dir/<application.id>/<task>/<store>), creating it if needed. See Status for
// what a crash leaves and how it is handled; ErrLocked if dir is in use.
func OpenKeyValueStore(dir, name string, opts Options, kvOpts statestore.KeyValueOptions) (*KeyValueStore, error) {
	eng, sd, err := openEngine(dir, name, opts)
	if err != nil {
		return nil, err
	}
	return &KeyValueStore{KeyValueStore: core.NewKeyValueStore(eng, kvOpts), storeDir: sd}, nil
}

// Close implements statestore.Store: it flushes, closes Badger and removes the dirty marker.
func (s *KeyValueStore) Close() error { return s.closed(s.KeyValueStore.Close()) }

// WindowStore is a statestore.WindowStore kept in Badger. It also implements
// statestore.Restorable.
type WindowStore struct {
	*core.WindowStore
	storeDir
	eng *engine
}

// OpenWindowStore opens the window store kept in dir, creating it if needed.
func OpenWindowStore(dir, name string, opts Options, wOpts statestore.WindowOptions) (*WindowStore, error) {
	wOpts.EnsureDefaults()
	var e *engine
	ws, sd, err := openSegmented(dir, name, opts, wOpts.Validate, func(eng core.Engine) (*core.WindowStore, error) {
		e = eng.(*engine)
		ws, err := core.NewWindowStore(eng, wOpts)
		if err == nil && wOpts.RetainDuplicates {
			// Every entry has a key of its own (a sequence number) and reads are ranges:
			// the filter of keys would only cost writes, and memory.
			e.filter.switchOff()
		}
		return ws, err
	})
	if err != nil {
		return nil, err
	}
	return &WindowStore{WindowStore: ws, storeDir: sd, eng: e}, nil
}

// Close implements statestore.Store: it flushes, closes Badger and removes the dirty marker.
func (s *WindowStore) Close() error { return s.closed(s.WindowStore.Close()) }

// SessionStore is a statestore.SessionStore kept in Badger. It also implements
// statestore.Restorable.
type SessionStore struct {
	*core.SessionStore
	storeDir
}

// OpenSessionStore opens the session store kept in dir, creating it if needed.
func OpenSessionStore(dir, name string, opts Options, sOpts statestore.SessionOptions) (*SessionStore, error) {
	sOpts.EnsureDefaults()
	ss, sd, err := openSegmented(dir, name, opts, sOpts.Validate, func(eng core.Engine) (*core.SessionStore, error) {
		return core.NewSessionStore(eng, sOpts)
	})
	if err != nil {
		return nil, err
	}
	return &SessionStore{SessionStore: ss, storeDir: sd}, nil
}

// Close implements statestore.Store: it flushes, closes Badger and removes the dirty marker.
func (s *SessionStore) Close() error { return s.closed(s.SessionStore.Close()) }
