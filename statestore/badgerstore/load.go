package badgerstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"
	"github.com/dgraph-io/ristretto/v2/z"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	"github.com/rivulet-io/rivulet/statestore"
)

// A restore from scratch ends by writing the sorted records into Badger, which holds
// nothing. Below directLoadMin records that is one WriteBatch. From there on the store
// builds Badger's tables itself: Badger is closed, the records go through Badger's own
// table builder (package table) into table files at the last level, the tables are added
// to Badger's MANIFEST, and Badger is opened again. That is what Badger's StreamWriter
// does inside Badger, without what its API imposes around it: a protobuf encoding and
// decoding of every record, allocations of each key, value and entry, and a value-log
// pass, which together cost more than building the tables (with the radix sort of runs,
// a restore went from ~2.4 to ~0.9 µs of CPU per record; benchmarks/RESULTS.md). Closing
// and opening Badger costs ~25 ms, as much as a StreamWriter's preparation, hence the
// threshold.
//
// What this relies on from Badger's file formats (v4, MANIFEST version 8), which carry
// over as facts: a table file is named %06d.sst by its id; a key in a table is the user
// key followed by math.MaxUint64 minus its version, 8 bytes big-endian; the MANIFEST is
// a header followed by change sets, each one length (4 bytes, big-endian), CRC-32C (4
// bytes, big-endian) and a protobuf pb.ManifestChangeSet; a table file present but not in
// the MANIFEST is deleted by Badger at open, so a crash before the MANIFEST is written
// leaves an empty store (and no checkpoint: the restore starts over). TestDirectLoad
// checks that Badger opens the result, reads it, and writes over it.
const directLoadMin = 4096

// loadFault, set by tests, makes the table-building path fail at a stage ("tables",
// "manifest", "open") when it returns an error.
var loadFault func(stage string) error

func fault(stage string) error {
	if loadFault == nil {
		return nil
	}
	return loadFault(stage)
}

// restoredVersion is the version of every restored key: Badger opens with its next
// transaction after the largest version in its tables, so later writes win.
const restoredVersion = 1

// load writes what b gathered into Badger. Call with mu held and dbMu held exclusively.
func (e *engine) load(b *bulkLoader) error {
	defer b.done()
	src, err := b.source()
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if m, ok := src.(*mergeSource); ok {
		defer m.close()
	}
	if len(b.runs) == 0 && b.total < directLoadMin {
		return e.loadBatch(src)
	}
	return e.loadTables(src)
}

// loadBatch writes src to Badger in one WriteBatch.
func (e *engine) loadBatch(src recordSource) error {
	wb := e.newWriteBatch()
	for {
		k, v, tomb, ok, err := src.next()
		if err != nil {
			wb.Cancel()
			return fmt.Errorf("restore: %w", err)
		}
		if !ok {
			break
		}
		if tomb {
			continue // the store is empty: a key whose last record deletes it is absent
		}
		// The slices stay valid until the batch is flushed (src is a sliceSource).
		if err := wb.Set(k, v); err != nil {
			wb.Cancel()
			return fmt.Errorf("restore: %w", err)
		}
	}
	return wb.Flush()
}

// loadTables closes Badger, writes src as tables at its last level, registers them in its
// MANIFEST and opens it again. On failure Badger is left empty and open, as the store was
// before the restore.
func (e *engine) loadTables(src recordSource) error {
	if err := e.closeEmptyDB(); err != nil {
		return e.reopenEmpty(fmt.Errorf("restore: %w", err))
	}
	dir := e.bopts.Dir
	first, err := nextTableID(dir)
	if err != nil {
		return e.reopenEmpty(fmt.Errorf("restore: %w", err))
	}
	w := newTableWriter(dir, e.bopts, first)
	defer w.release()
	if err := feed(src, w.add); err != nil {
		w.abort()
		return e.reopenEmpty(fmt.Errorf("restore: read sorted runs: %w", err))
	}
	ids, err := w.finish()
	if err == nil {
		err = fault("tables")
	}
	if err == nil {
		err = fault("manifest")
	}
	if err == nil && len(ids) > 0 {
		err = addTablesToManifest(e.bopts, ids, e.bopts.MaxLevels-1)
	}
	if err != nil {
		w.remove(ids)
		return e.reopenEmpty(fmt.Errorf("restore: write tables: %w", err))
	}
	db, err := safeOpen(e.bopts)
	if err == nil {
		if err = fault("open"); err != nil {
			db.Close()
		}
	}
	if err != nil {
		return e.reopenEmpty(fmt.Errorf("restore: open Badger after writing its tables: %w", err))
	}
	e.db = db
	return nil
}

// closeEmptyDB closes Badger and checks that its MANIFEST lists no table. A store can
// hold no live key and still have tables (of deleted keys); those are dropped first.
func (e *engine) closeEmptyDB() error {
	for attempt := 0; ; attempt++ {
		if err := e.db.Close(); err != nil {
			return err
		}
		e.db = nil
		n, err := manifestTables(e.bopts)
		if err != nil || n == 0 {
			return err
		}
		if attempt > 0 {
			return fmt.Errorf("badger still lists %d tables after DropAll", n)
		}
		db, err := safeOpen(e.bopts)
		if err != nil {
			return err
		}
		e.db = db
		if err := db.DropAll(); err != nil {
			return err
		}
	}
}

// reopenEmpty makes Badger usable again after a failed load: its data directory is
// deleted (the store held nothing before the restore) and Badger opened empty. It
// returns cause, or the reason Badger could not be opened.
func (e *engine) reopenEmpty(cause error) error {
	if e.db != nil {
		e.db.Close()
		e.db = nil
	}
	if err := os.RemoveAll(e.bopts.Dir); err != nil {
		e.dbErr = fmt.Errorf("%w (and removing Badger's files failed: %v)", cause, err)
		return e.dbErr
	}
	db, err := safeOpen(e.bopts)
	if err != nil {
		e.dbErr = fmt.Errorf("%w (and reopening Badger failed: %v)", cause, err)
		return e.dbErr
	}
	e.db = db
	return cause
}

// feed calls add with each live record of src, in order. Merging sorted runs costs about
// what building tables does, so with runs the merge runs on a goroutine of its own,
// handing records over in chunks.
func feed(src recordSource, add func(k, v []byte)) error {
	if _, ok := src.(*mergeSource); !ok {
		for {
			k, v, tomb, ok, err := src.next()
			if err != nil || !ok {
				return err
			}
			if !tomb {
				add(k, v)
			}
		}
	}
	const chunkBytes = 1 << 20
	full := make(chan *recChunk, 2)
	free := make(chan *recChunk, 3)
	for range 3 {
		free <- &recChunk{data: make([]byte, 0, chunkBytes)}
	}
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() { // the merge
		defer close(full)
		c := <-free
		for {
			k, v, tomb, ok, err := src.next()
			if err != nil {
				errc <- err
				return
			}
			if !ok {
				break
			}
			if tomb {
				continue
			}
			if len(c.data)+len(k)+len(v) > cap(c.data) && len(c.lens) > 0 {
				full <- c
				select {
				case c = <-free:
				case <-stop:
					return
				}
				c.data, c.lens = c.data[:0], c.lens[:0]
			}
			c.data = append(append(c.data, k...), v...)
			c.lens = append(c.lens, [2]uint32{uint32(len(k)), uint32(len(v))})
		}
		if len(c.lens) > 0 {
			full <- c
		}
		errc <- nil
	}()
	for c := range full {
		off := uint32(0)
		for _, l := range c.lens {
			k := c.data[off : off+l[0]]
			v := c.data[off+l[0] : off+l[0]+l[1]]
			off += l[0] + l[1]
			add(k, v)
		}
		free <- c
	}
	close(stop)
	return <-errc
}

// recChunk is a batch of records copied out of a merge: keys and values back to back.
type recChunk struct {
	data []byte
	lens [][2]uint32 // key and value lengths
}

// manifestTables returns the number of tables Badger's MANIFEST in opts.Dir lists.
func manifestTables(opts badger.Options) (int, error) {
	f, err := os.Open(filepath.Join(opts.Dir, badger.ManifestFilename))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	m, _, err := badger.ReplayManifestFile(f, opts.ExternalMagicVersion, opts)
	if err != nil {
		return 0, err
	}
	return len(m.Tables), nil
}

// nextTableID is one more than the largest id of any table file in dir (Badger deletes
// files its MANIFEST does not list when it opens, but do not count on it here).
func nextTableID(dir string) (uint64, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil {
		return 0, err
	}
	var id uint64
	for _, f := range files {
		// Not table.ParseFileID: it aborts the process on a name like "-1.sst".
		if n, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(f), ".sst"), 10, 64); err == nil {
			id = max(id, n)
		}
	}
	return id + 1, nil
}

// addTablesToManifest appends one change set creating tables ids at level to the
// MANIFEST of the (closed) Badger in opts.Dir, and syncs it and the directory.
func addTablesToManifest(opts badger.Options, ids []uint64, level int) error {
	path := filepath.Join(opts.Dir, badger.ManifestFilename)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	// Replay it as Badger will, to append right after the last complete change set.
	m, end, err := badger.ReplayManifestFile(f, opts.ExternalMagicVersion, opts)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if len(m.Tables) > 0 {
		return fmt.Errorf("manifest: lists %d tables already", len(m.Tables))
	}
	set := &pb.ManifestChangeSet{Changes: make([]*pb.ManifestChange, len(ids))}
	for i, id := range ids {
		set.Changes[i] = &pb.ManifestChange{
			Id:          id,
			Op:          pb.ManifestChange_CREATE,
			Level:       uint32(level),
			Compression: uint32(opts.Compression),
		}
	}
	data, err := proto.Marshal(set)
	if err != nil {
		return err
	}
	rec := make([]byte, 8, 8+len(data))
	binary.BigEndian.PutUint32(rec[0:4], uint32(len(data)))
	binary.BigEndian.PutUint32(rec[4:8], crc32.Checksum(data, y.CastagnoliCrcTable))
	rec = append(rec, data...)
	if err := f.Truncate(end); err != nil {
		return err
	}
	if _, err := f.WriteAt(rec, end); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return statestore.SyncDir(opts.Dir)
}

// tableWriter cuts a sorted stream of records into Badger tables, building each with
// Badger's table builder and writing it (and fsyncing it) on another goroutine while the
// next one is built.
type tableWriter struct {
	dir  string
	opts table.Options
	next uint64
	b    *table.Builder
	key  []byte
	ids  []uint64
	g    errgroup.Group
	bufs chan []byte // file images, reused
}

// tablesInFlight is how many tables are written at once at most, besides the one being
// built: each holds its builder's memory (about two table sizes) and a file image.
const tablesInFlight = 2

func newTableWriter(dir string, bo badger.Options, first uint64) *tableWriter {
	w := &tableWriter{
		dir:  dir,
		next: first,
		opts: table.Options{
			TableSize:            uint64(bo.BaseTableSize),
			BlockSize:            bo.BlockSize,
			BloomFalsePositive:   bo.BloomFalsePositive,
			ChkMode:              bo.ChecksumVerificationMode,
			Compression:          bo.Compression,
			ZSTDCompressionLevel: bo.ZSTDCompressionLevel,
			// Builders' memory is reused from table to table.
			AllocPool: z.NewAllocatorPool(tablesInFlight + 1),
		},
		bufs: make(chan []byte, tablesInFlight),
	}
	for range tablesInFlight {
		w.bufs <- nil
	}
	w.g.SetLimit(tablesInFlight)
	return w
}

// release frees the builders' memory; call it after finish or abort.
func (w *tableWriter) release() { w.opts.AllocPool.Release() }

func (w *tableWriter) add(k, v []byte) {
	if w.b == nil {
		w.b = table.NewTableBuilder(w.opts)
	}
	// Badger's key layout: the key, then MaxUint64 minus the version (big-endian), so
	// newer versions sort first.
	w.key = binary.BigEndian.AppendUint64(append(w.key[:0], k...), math.MaxUint64-restoredVersion)
	w.b.Add(w.key, y.ValueStruct{Value: v}, 0)
	if w.b.ReachedCapacity() {
		w.cut()
	}
}

// cut hands the current table to a writer goroutine (waiting while two are busy).
func (w *tableWriter) cut() {
	b, id := w.b, w.next
	w.b = nil
	w.next++
	w.ids = append(w.ids, id)
	path := table.NewFilename(id, w.dir)
	w.g.Go(func() error {
		defer b.Close()
		bd := b.Done()
		buf := <-w.bufs
		if cap(buf) < bd.Size {
			buf = make([]byte, bd.Size)
		}
		buf = buf[:bd.Size]
		bd.Copy(buf)
		err := writeFileSync(path, buf)
		w.bufs <- buf
		return err
	})
}

// finish writes the last table and waits for every write; it returns the tables'
// ids.
func (w *tableWriter) finish() ([]uint64, error) {
	if w.b != nil && !w.b.Empty() {
		w.cut()
	} else if w.b != nil {
		w.b.Close()
		w.b = nil
	}
	return w.ids, w.g.Wait()
}

// abort waits for the writes in flight and removes every table written.
func (w *tableWriter) abort() {
	ids, _ := w.finish()
	w.remove(ids)
}

func (w *tableWriter) remove(ids []uint64) {
	for _, id := range ids {
		os.Remove(table.NewFilename(id, w.dir))
	}
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return errors.Join(fmt.Errorf("table %s", filepath.Base(path)), err)
	}
	return nil
}
