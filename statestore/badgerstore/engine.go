package badgerstore

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/internal/core"
)

// dataPrefix starts every key the store writes to Badger: Badger refuses empty keys, and
// the store's keys may be empty.
const dataPrefix = 0x01

// engine is the Badger core.Engine: a write buffer of pending writes (nil values being
// deletes, keyed by the prefixed keys Badger stores) in front of one Badger instance.
//
// The buffer has two parts: the tail, the newest writes in arrival order behind a hash
// index (a write costs a hash insert), and buf, a copy-on-write B-tree. Snapshots need key
// order, so taking one moves the tail into buf first; a store that is only written and
// read by key never builds the tree. When the buffer exceeds WriteBufferSize, and on
// Flush, both parts are written to Badger in one WriteBatch. Reads look in the tail, then
// in buf, then in Badger. A snapshot pairs buf with a Badger read transaction, taken
// under one lock, so it is consistent. It reads buf itself, not a copy: the engine copies
// buf (copy-on-write) only when it must change it while a snapshot reads it. A store read
// between its writes (a join fetching after each put) releases each snapshot before the
// next write, and its writes then never copy the tree's nodes: with a copy per snapshot,
// the copying was half the cost of the window stores' writes.
type engine struct {
	name  string
	db    *badger.DB
	opts  Options
	bopts badger.Options // what db was opened with: a restore from scratch reopens it
	// dbErr, once set, is returned by every call: a failed restore from scratch could
	// not reopen Badger (guarded by mu and dbMu; set with both held).
	dbErr error

	mu       sync.RWMutex // guards buf and tail (the pointers and their contents)
	buf      *core.Tree
	bufGen   uint64 // guarded by mu: counts the trees buf has been
	bufViews int    // guarded by mu: unreleased snapshots reading this buf (generation bufGen)
	tail     *tailBuffer
	flushing bool   // guarded by mu: flushBuffer is writing the buffer to Badger
	slab     []byte // guarded by mu: where buffered entries are carved from
	carve    int64  // guarded by mu: bytes carved since the buffer was last emptied
	// writeOuts counts the writes into Badger (buffer flushes, direct batches, restores),
	// each counted under mu as it starts: a BufferSnapshot taken at the same count sees
	// everything Badger held when the caller read the count (core.BufferReader).
	writeOuts atomic.Uint64
	// drops are the prefixes of expired segments not yet dropped from Badger; dropsAt is
	// when the first of them came and dropsWritten the bytes written since (all guarded
	// by mu). See dropsDue.
	drops        [][]byte
	dropsAt      time.Time
	dropsWritten int64

	// dbMu is held shared by point reads while they use Badger, and exclusively while a
	// restore from scratch replaces Badger's contents (which replaces its transaction
	// oracle): no read transaction may outlive that.
	dbMu  sync.RWMutex
	reads readTxns // the read transaction point reads share until Badger changes

	restoring atomic.Bool        // rwb or bulk holds restored records not yet in Badger
	rwb       *badger.WriteBatch // guarded by mu
	bulk      *bulkLoader        // guarded by mu: a restore from scratch in progress
	fresh     bool               // guarded by mu: Badger holds nothing and nothing was written
	snaps     int                // guarded by mu: snapshots not yet released
	tmpDir    string             // where a restore from scratch keeps its sorted runs

	// filter knows every key written since the store opened empty (nil when it opened
	// with data): a Get of a key it has never seen skips Badger (filter.go).
	filter *keyFilter

	// dataDir is Badger's directory, absolute with symbolic links resolved, as the
	// process's memory maps name its files; empty when it could not be resolved (the
	// page dropper then leaves the store alone, see pages.go).
	dataDir string

	gcStop chan struct{}
	gcDone chan struct{}
	closed bool
}

func newEngine(name string, db *badger.DB, opts Options, storeDir string) (*engine, error) {
	e := &engine{
		name: name, db: db, opts: opts,
		bopts: badgerOptions(filepath.Join(storeDir, DataDirName), opts, opts.Logger.With("store", name, "dir", storeDir)),
		buf:   core.NewTree(), tail: &tailBuffer{}, tmpDir: filepath.Join(storeDir, RestoreTmpDirName),
	}
	empty, err := isEmpty(db)
	if err != nil {
		return nil, err
	}
	e.fresh = empty
	if empty {
		e.filter = newKeyFilter(opts.FilterBound())
	}
	if dir, err := filepath.Abs(filepath.Join(storeDir, DataDirName)); err == nil {
		if dir, err = filepath.EvalSymlinks(dir); err == nil {
			e.dataDir = dir
		}
	}
	tablePages.register(e)
	if opts.ValueLogGCInterval > 0 {
		e.gcStop = make(chan struct{})
		e.gcDone = make(chan struct{})
		go e.runValueLogGC()
	}
	return e, nil
}

func isEmpty(db *badger.DB) (bool, error) {
	txn := db.NewTransaction(false)
	defer txn.Discard()
	it := txn.NewIterator(badger.IteratorOptions{})
	defer it.Close()
	it.Rewind()
	return !it.Valid(), nil
}

// runValueLogGC rewrites value-log files holding mostly stale values, every
// ValueLogGCInterval, until Close stops it.
func (e *engine) runValueLogGC() {
	defer close(e.gcDone)
	t := time.NewTicker(e.opts.ValueLogGCInterval)
	defer t.Stop()
	for {
		select {
		case <-e.gcStop:
			return
		case <-t.C:
			for {
				err := e.runValueLogGCOnce()
				if err != nil {
					if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
						e.opts.Logger.Warn("badgerstore: value log GC", "store", e.name, "err", err)
					}
					break
				}
				select {
				case <-e.gcStop:
					return
				default:
				}
			}
		}
	}
}

// runValueLogGCOnce rewrites at most one value-log file; Badger is not replaced
// meanwhile.
func (e *engine) runValueLogGCOnce() error {
	e.dbMu.RLock()
	defer e.dbMu.RUnlock()
	if e.dbErr != nil {
		return badger.ErrNoRewrite
	}
	return e.db.RunValueLogGC(e.opts.ValueLogGCDiscardRatio)
}

func pkey(dst, key []byte) []byte {
	dst = append(dst, dataPrefix)
	return append(dst, key...)
}

func (e *engine) Name() string     { return e.name }
func (e *engine) Persistent() bool { return true }

func (e *engine) Get(key []byte) ([]byte, error) {
	if e.restoring.Load() {
		if err := e.finishRestore(); err != nil {
			return nil, err
		}
	}
	// The key filter first: it answers most reads of a store of new keys, and it has
	// seen every value in the buffer (Apply adds a key before buffering it). The key
	// given to the filter stays on the stack; the one given to the buffer and to Badger
	// (which keeps it) is allocated only when the filter cannot answer.
	var kb [64]byte
	if !e.filter.mayContain(pkey(kb[:0], key)) {
		return nil, nil // never written since the store opened empty
	}
	pk := pkey(make([]byte, 0, 1+len(key)), key)
	e.mu.RLock()
	if i := e.tail.find(pk); i >= 0 {
		v := e.tail.ents[i].v
		e.mu.RUnlock()
		return v, nil // nil: a pending delete
	}
	v, ok := e.buf.Get(pk)
	e.mu.RUnlock()
	if ok {
		return v, nil
	}
	e.dbMu.RLock()
	defer e.dbMu.RUnlock()
	if e.dbErr != nil {
		return nil, e.dbErr
	}
	r := e.reads.acquire(e.db)
	defer r.release()
	item, err := r.txn.Get(pk)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return valueOf(item, nil)
}

// valueOf copies an item's value into dst, never returning nil for an empty value.
func valueOf(item *badger.Item, dst []byte) ([]byte, error) {
	v, err := item.ValueCopy(dst[:0])
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

const slabSize = 64 << 10

// alloc carves n bytes from a slab: one allocation per 64 KiB of small entries instead of
// one per entry. Carved bytes are never reused, so slices handed out stay valid (a slab
// lives as long as anything points into it). Call with mu held.
func (e *engine) alloc(n int) []byte {
	e.carve += int64(n)
	if n > slabSize/8 {
		return make([]byte, n)
	}
	if len(e.slab)+n > cap(e.slab) {
		e.slab = make([]byte, 0, slabSize)
	}
	s := len(e.slab)
	e.slab = e.slab[:s+n]
	return e.slab[s : s+n : s+n]
}

// directBatch is the batch size from which Apply writes straight to Badger instead of
// through the write buffer: a big PutAll (a cache flush) then costs what a raw WriteBatch
// costs.
const directBatch = 512

// broken returns the error that made the engine unusable, if any.
func (e *engine) broken() error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.dbErr
}

func (e *engine) Apply(entries []statestore.KeyValue) error {
	if e.restoring.Load() {
		if err := e.finishRestore(); err != nil {
			return err
		}
	}
	if err := e.broken(); err != nil {
		return err
	}
	if len(entries) >= directBatch {
		return e.applyDirect(entries)
	}
	e.mu.Lock()
	e.fresh = false
	for _, kv := range entries {
		// One allocation for the prefixed key (as Badger will store it) and the value;
		// never modified later, so Get results stay valid and the flush to Badger copies
		// nothing.
		buf := e.alloc(1 + len(kv.Key) + len(kv.Value))
		buf[0] = dataPrefix
		kl := 1 + copy(buf[1:], kv.Key)
		var v []byte
		if kv.Value != nil {
			v = buf[kl:]
			copy(v, kv.Value)
			e.filter.add(buf[:kl])
		}
		e.tail.set(buf[:kl:kl], v)
		e.dropsWritten += int64(len(buf))
	}
	// Overwrites leave their old bytes in the slabs: count what was carved too.
	full := e.buf.Bytes()+e.tail.bytes > e.opts.WriteBufferSize || e.carve > 2*e.opts.WriteBufferSize
	e.mu.Unlock()
	if full {
		return e.flushBuffer()
	}
	return nil
}

// applyDirect writes a large batch straight to Badger, after the buffer (which may hold
// older values of the same keys, and is read first). The WriteBatch keeps the caller's
// slices only until Flush returns, which waits for its commits.
func (e *engine) applyDirect(entries []statestore.KeyValue) error {
	if err := e.flushBuffer(); err != nil {
		return err
	}
	e.mu.Lock()
	e.fresh = false
	e.writeOuts.Add(1)
	for _, kv := range entries {
		e.dropsWritten += int64(1 + len(kv.Key) + len(kv.Value))
	}
	e.mu.Unlock()
	wb := e.newWriteBatch()
	// One allocation for the prefixed keys of the whole batch.
	n := 0
	for _, kv := range entries {
		n += 1 + len(kv.Key)
	}
	keys := make([]byte, 0, n)
	for _, kv := range entries {
		s := len(keys)
		keys = pkey(keys, kv.Key)
		pk := keys[s:len(keys):len(keys)]
		var err error
		if kv.Value == nil {
			err = wb.Delete(pk)
		} else {
			e.filter.add(pk)
			err = wb.Set(pk, kv.Value)
		}
		if err != nil {
			wb.Cancel()
			return err
		}
	}
	err := wb.Flush()
	e.reads.invalidate()
	return err
}

// flushBuffer writes the buffer to Badger in one WriteBatch, then empties it. Only the
// writer calls it (the store serializes writers), so no write changes the buffer
// meanwhile; a reader's Snapshot may move the tail into buf, which it does into a copy of
// the tree and a new tail while flushing is set, so what is being written stays put.
func (e *engine) flushBuffer() error {
	e.mu.Lock()
	if e.buf.Len() == 0 && e.tail.len() == 0 {
		e.mu.Unlock()
		return nil
	}
	buf, tail := e.buf.Snapshot(), e.tail
	e.flushing = true
	e.writeOuts.Add(1)
	e.mu.Unlock()
	err := e.writeBuffer(buf, tail)
	e.mu.Lock()
	e.flushing = false
	if err == nil {
		// Badger changed: point reads need a new transaction before the data leaves
		// the buffer.
		e.reads.invalidate()
		e.setBuf(core.NewTree())
		if e.tail == tail {
			tail.reset()
		} else {
			e.tail = &tailBuffer{}
		}
		e.slab, e.carve = nil, 0
	}
	e.mu.Unlock()
	return err
}

// writeBuffer writes buf and tail (newer, so it wins) to Badger in one WriteBatch.
func (e *engine) writeBuffer(buf *core.Tree, tail *tailBuffer) error {
	wb := e.newWriteBatch()
	put := func(pk, v []byte) error {
		if v == nil {
			return wb.Delete(pk)
		}
		return wb.Set(pk, v)
	}
	var err error
	buf.Scan(func(pk, v []byte) bool {
		if tail.find(pk) >= 0 {
			return true
		}
		err = put(pk, v)
		return err == nil
	})
	for i := 0; err == nil && i < len(tail.ents); i++ {
		err = put(tail.ents[i].k, tail.ents[i].v)
	}
	if err != nil {
		wb.Cancel()
		return err
	}
	return wb.Flush()
}

// moveTail moves the tail into buf, so that buf holds the whole buffer in key order.
// Call with mu held.
func (e *engine) moveTail() {
	if e.tail.len() == 0 {
		return
	}
	e.ownBuf()
	for _, t := range e.tail.ents {
		e.buf.Set(t.k, t.v)
	}
	if e.flushing {
		// flushBuffer is reading this tail: leave it as it is.
		e.tail = &tailBuffer{hint: e.tail.hint}
	} else {
		e.tail.reset()
	}
}

// ownBuf makes buf a tree no snapshot reads, copying it (copy-on-write, in constant
// time) if one does, before buf is changed. Call with mu held.
func (e *engine) ownBuf() {
	if e.bufViews > 0 {
		e.setBuf(e.buf.Snapshot())
	}
}

// setBuf replaces buf; snapshots of the old one keep reading it. Call with mu held.
func (e *engine) setBuf(t *core.Tree) {
	e.buf = t
	e.bufGen++
	e.bufViews = 0
}

// Restore writes records to Badger: into a store that holds nothing, through a bulkLoader
// (sorted runs, then Badger's StreamWriter); otherwise through a WriteBatch kept open
// across calls (its commits overlap the caller's next fetch). Either is finished by the
// next read, write or Flush.
func (e *engine) Restore(entries []statestore.KeyValue) error {
	if err := e.broken(); err != nil {
		return err
	}
	if err := e.flushBuffer(); err != nil {
		return err
	}
	e.mu.Lock()
	e.writeOuts.Add(1)
	// A restore from scratch replaces Badger's contents, which no open snapshot's
	// transaction may outlive; with one open, restore through a write batch instead.
	if e.bulk == nil && e.fresh && e.rwb == nil && e.snaps == 0 {
		// The run buffer uses the memtables' share of the memory bound: a stream writer
		// does not use memtables.
		b, err := newBulkLoader(e.tmpDir, int64(e.opts.NumMemtables)*e.opts.MemTableSize)
		if err != nil {
			e.mu.Unlock()
			return err
		}
		e.bulk = b
		e.restoring.Store(true)
	}
	if e.bulk != nil {
		if e.filter.active() {
			var kb [64]byte
			for _, kv := range entries {
				if kv.Value != nil {
					e.filter.add(pkey(kb[:0], kv.Key))
				}
			}
		}
		err := e.bulk.add(entries)
		if err != nil {
			e.bulk.cancel()
			e.bulk = nil
			e.restoring.Store(false)
		}
		e.mu.Unlock()
		return err
	}
	e.mu.Unlock()
	// The batch keeps references until it commits, and the caller's slices are only
	// lent for this call: copy them into one arena.
	n := 0
	for _, kv := range entries {
		n += 1 + len(kv.Key) + len(kv.Value)
	}
	arena := make([]byte, 0, n)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rwb == nil {
		e.rwb = e.newWriteBatch()
		e.restoring.Store(true)
	}
	for _, kv := range entries {
		s := len(arena)
		arena = pkey(arena, kv.Key)
		pk := arena[s:len(arena):len(arena)]
		var err error
		if kv.Value == nil {
			err = e.rwb.Delete(pk)
		} else {
			e.filter.add(pk)
			s = len(arena)
			arena = append(arena, kv.Value...)
			err = e.rwb.Set(pk, arena[s:len(arena):len(arena)])
		}
		if err != nil {
			e.rwb.Cancel()
			e.rwb = nil
			e.restoring.Store(false)
			return err
		}
	}
	return nil
}

// newWriteBatch returns a WriteBatch with at most two transactions in flight (Badger's
// default is 16, each up to 15% of a memtable, which would not fit the memory bound).
func (e *engine) newWriteBatch() *badger.WriteBatch {
	wb := e.db.NewWriteBatch()
	wb.SetMaxPendingTxns(2)
	return wb
}

func (e *engine) finishRestore() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.finishRestoreLocked()
}

func (e *engine) finishRestoreLocked() error {
	if e.bulk != nil {
		// Loading closes and reopens Badger: no read transaction may be open meanwhile.
		e.dbMu.Lock()
		e.reads.invalidate()
		err := e.load(e.bulk)
		e.dbMu.Unlock()
		e.bulk = nil
		e.fresh = false
		e.restoring.Store(false)
		return err
	}
	if e.rwb == nil {
		return nil
	}
	err := e.rwb.Flush()
	e.rwb = nil
	e.restoring.Store(false)
	e.reads.invalidate()
	return err
}

func (e *engine) Snapshot() (core.Snapshot, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.finishRestoreLocked(); err != nil {
		return nil, err
	}
	if e.dbErr != nil {
		return nil, e.dbErr
	}
	return e.snapshotLocked(e.db.NewTransaction(false)), nil
}

// snapshotLocked pairs the whole write buffer (the tail moved into buf) with txn, nil for
// the buffer alone. Call with mu held.
func (e *engine) snapshotLocked(txn *badger.Txn) *snapshot {
	e.moveTail()
	e.snaps++
	e.bufViews++
	return &snapshot{e: e, buf: e.buf, gen: e.bufGen, txn: txn}
}

// WriteOuts implements core.BufferReader.
func (e *engine) WriteOuts() uint64 { return e.writeOuts.Load() }

// BufferSnapshot implements core.BufferReader: a snapshot of the write buffer alone, for
// a read the caller knows Badger holds nothing of. It costs neither a Badger transaction
// nor a Badger iterator, whose seek goes through every level-0 table.
func (e *engine) BufferSnapshot(writeOuts uint64) (core.Snapshot, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dbErr != nil {
		return nil, false, e.dbErr
	}
	if e.writeOuts.Load() != writeOuts || e.bulk != nil || e.rwb != nil {
		return nil, false, nil
	}
	return e.snapshotLocked(nil), true, nil
}

func (e *engine) DropPrefixes(prefixes [][]byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.drops) == 0 && len(prefixes) > 0 {
		e.dropsAt, e.dropsWritten = time.Now(), 0
	}
	for _, p := range prefixes {
		e.drops = append(e.drops, pkey(nil, p))
	}
	return nil
}

func (e *engine) Count() (int64, error) {
	snap, err := e.Snapshot()
	if err != nil {
		return 0, err
	}
	defer snap.Release()
	it, err := snap.Iter(nil, nil, false)
	if err != nil {
		return 0, err
	}
	var n int64
	for it.Next() {
		n++
	}
	err = it.Err()
	it.Close()
	return n, err
}

func (e *engine) Flush() error {
	if err := e.finishRestore(); err != nil {
		return err
	}
	if err := e.broken(); err != nil {
		return err
	}
	if err := e.flushBuffer(); err != nil {
		return err
	}
	e.mu.Lock()
	var drops [][]byte
	if e.dropsDue() {
		drops, e.drops = e.drops, nil
	}
	e.mu.Unlock()
	if len(drops) > 0 {
		// Whole expired segments: Badger drops the tables under these prefixes without
		// reading them (and writes its memtables out first).
		err := e.db.DropPrefix(drops...)
		e.reads.invalidate()
		if err != nil {
			return fmt.Errorf("drop expired segments: %w", err)
		}
	}
	if e.opts.NoSyncOnFlush {
		return nil
	}
	return e.db.Sync()
}

// Dropping expired segments from Badger waits until dropsDelay passed or dropsBytes were
// written since the first of them expired: each DropPrefix writes out the memtable and
// pauses the store's writes while Badger drops the tables (milliseconds each), and a store
// whose stream time moves fast (a join over a short window) expires a segment every few
// commits. Until then the segments stay on disk but are never read: the store forgets an
// expired segment at once, and one that outlives a crash is found again when the store
// opens and expired the same way (core.segmented.init). The wait bounds what
// lingers to about dropsBytes, or dropsDelay of writes; Close drops what is pending.
const (
	dropsDelay = 30 * time.Second
	dropsBytes = 64 << 20
)

// dropsDue reports whether the pending drops go to Badger at this Flush. Call with mu held.
func (e *engine) dropsDue() bool {
	if len(e.drops) == 0 {
		return false
	}
	return e.closed || e.dropsWritten >= dropsBytes || time.Since(e.dropsAt) >= dropsDelay
}

func (e *engine) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	err := e.Flush()
	if e.gcStop != nil {
		close(e.gcStop)
		<-e.gcDone
	}
	e.reads.invalidate()
	// The page dropper keeps the pages of the final flush out of the RSS until here, and
	// must be done with Badger before it closes.
	tablePages.unregister(e)
	if e.broken() != nil {
		return err // Badger is not open
	}
	if cerr := e.db.Close(); err == nil {
		err = cerr
	}
	return err
}

// snapshot pairs the write buffer as it was (a tree the engine no longer changes once
// the snapshot reads it, see ownBuf) with a Badger read transaction.
type snapshot struct {
	e   *engine
	buf *core.Tree
	gen uint64      // the engine's bufGen when buf was taken
	txn *badger.Txn // nil: the buffer alone (BufferSnapshot)

	released atomic.Bool
}

func (s *snapshot) Release() {
	if !s.released.CompareAndSwap(false, true) {
		return
	}
	if s.txn != nil {
		s.txn.Discard()
	}
	s.e.mu.Lock()
	s.e.snaps--
	if s.gen == s.e.bufGen {
		s.e.bufViews--
	}
	s.e.mu.Unlock()
}

func (s *snapshot) Iter(lo, hi []byte, reverse bool) (statestore.KeyValueIterator, error) {
	// Both sides hold prefixed keys: bounds get the prefix too.
	plo := pkey(nil, lo)
	phi := []byte{dataPrefix + 1}
	if hi != nil {
		phi = pkey(nil, hi)
	}
	if s.txn == nil {
		m := &mergeIter{buf: s.buf.Iter(plo, phi, reverse), lo: plo, hi: phi, reverse: reverse}
		m.bufOK = m.buf.Next()
		return m, nil
	}
	// Every key in [plo, phi) starts with the bounds' common prefix; handing it to Badger
	// lets the iterator skip the tables that hold no key with it.
	it := s.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Reverse: reverse, Prefix: commonPrefix(plo, phi)})
	m := &mergeIter{buf: s.buf.Iter(plo, phi, reverse), db: it, lo: plo, hi: phi, reverse: reverse}
	// Position the Badger iterator: forward at lo; backward at the last key < hi.
	if !reverse {
		it.Seek(plo)
	} else {
		it.Seek(phi)
		if it.Valid() && bytes.Equal(it.Item().Key(), phi) {
			it.Next()
		}
	}
	m.bufOK = m.buf.Next()
	return m, nil
}

// commonPrefix returns the longest prefix a and b share (a slice of a).
func commonPrefix(a, b []byte) []byte {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	return a[:i:i]
}

// mergeIter merges the write buffer (which wins on equal keys, and whose nil values hide
// keys) with a Badger iterator (nil: the buffer alone). Keys on both sides carry the data
// prefix, bounds too.
type mergeIter struct {
	buf     *core.TreeIter
	bufOK   bool
	db      *badger.Iterator
	lo, hi  []byte
	reverse bool

	key     []byte
	val     []byte
	fromDB  *badger.Item
	valBuf  []byte
	err     error
	done    bool
	started bool
}

// dbKey returns the current Badger key if it is within bounds.
func (m *mergeIter) dbKey() ([]byte, bool) {
	if m.db == nil || !m.db.Valid() {
		return nil, false
	}
	k := m.db.Item().Key()
	if m.reverse {
		if bytes.Compare(k, m.lo) < 0 {
			return nil, false
		}
	} else if bytes.Compare(k, m.hi) >= 0 {
		return nil, false
	}
	return k, true
}

func (m *mergeIter) Next() bool {
	if m.done {
		return false
	}
	if m.started && m.fromDB != nil {
		m.db.Next()
	}
	m.started = true
	for {
		dk, dbOK := m.dbKey()
		if !m.bufOK && !dbOK {
			m.done = true
			m.key, m.val, m.fromDB = nil, nil, nil
			return false
		}
		c := 0
		switch {
		case !m.bufOK:
			c = 1
		case !dbOK:
			c = -1
		default:
			c = bytes.Compare(m.buf.Key(), dk)
			if m.reverse {
				c = -c
			}
		}
		if c > 0 { // Badger's key comes first
			m.key, m.val, m.fromDB = dk[1:], nil, m.db.Item()
			return true
		}
		// The buffer's key comes first, or both have it and the buffer wins.
		k, v := m.buf.Key(), m.buf.Value()
		if c == 0 {
			m.db.Next()
		}
		m.bufOK = m.buf.Next()
		if v == nil {
			continue // a pending delete
		}
		m.key, m.val, m.fromDB = k[1:], v, nil
		return true
	}
}

func (m *mergeIter) Key() []byte { return m.key }

func (m *mergeIter) Value() []byte {
	if m.fromDB == nil {
		return m.val
	}
	if m.val == nil {
		v, err := valueOf(m.fromDB, m.valBuf)
		if err != nil {
			m.err = err
			return []byte{}
		}
		m.valBuf, m.val = v, v
	}
	return m.val
}

func (m *mergeIter) Err() error { return m.err }

func (m *mergeIter) Close() error {
	m.done = true
	m.buf.Close()
	if m.db != nil {
		m.db.Close()
	}
	return m.err
}
