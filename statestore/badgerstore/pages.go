package badgerstore

import (
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Badger writes and reads its tables through shared memory maps, so every page of a
// table it has written, and every page a read has touched, stays in the process's RSS
// until the table is deleted: a store's tables would count in the RSS in full, whatever
// the state memory budget says. The pages belong to the kernel's page cache; the RSS
// counts them only while the process maps them.
//
// The page dropper takes them out of the RSS (on Linux; see Options.KeepTablePages):
// every tablePagesInterval it drops the pages of the open stores' tables from the
// process's page tables, with madvise(MADV_DONTNEED) on their shared file mappings.
// Nothing is lost: the data stays in the page cache (a dirty page stays dirty there and
// is written back as usual), and the next read of a page maps it again with a minor
// fault. The RSS then counts of a store's tables what reads and compactions touched
// lately and the tables its compactions are writing, not the whole state on disk, as a
// RocksDB store's RSS does not count the files it reads with pread. The kernel keeps or
// reclaims the page cache as it does for any file. A read maps more than its page (the
// kernel maps the cached pages around a faulting address too: 64 KiB, or a whole large
// folio), so a store read at random has much of its tables mapped again within a
// fraction of a second; Compression is what makes that smaller.
//
// Dropping the pages of a mapping that is gone would be unsafe: its address range may
// hold another mapping by then (the Go heap, whose pages MADV_DONTNEED would zero). So
// the dropper only touches tables a Badger iterator holds open. Badger does not unmap a
// table while an iterator references it, and an iterator references every table that
// was in the store's levels when it was made; a table listed in the levels both before
// and after the iterator was made was in them while it was made. The process's mappings
// are read after every iterator of a pass is open, and only those of such tables are
// dropped. Tables a compaction is still writing are not in the levels yet and stay
// mapped until the first pass after the compaction.

// tablePagesInterval is how often the dropper runs. A count over 10M new keys (4 stores,
// 225 MiB of Snappy tables) peaked at 541-553 MiB of RSS with its tables' pages kept.
// Dropped every 500 ms, it peaked at 472 MiB at the same rate and CPU; every 300 ms, at
// 427 MiB for about 10% more CPU (compactions and reads mapped the pages again, the
// pages of the tables' indexes and bloom filters, which every read uses, each time);
// every second, at 523 MiB. Dropping each new table as soon as it entered the levels
// (compactions read most of them again soon after) also cost about 10% more CPU.
const tablePagesInterval = 500 * time.Millisecond

// pageDropper drops the pages of the registered stores' tables (see above). Its
// goroutine runs while at least one store is registered.
type pageDropper struct {
	mu      sync.Mutex // held for a whole pass: unregister waits for a pass in progress
	engines map[*engine]struct{}
	stop    chan struct{}
	done    chan struct{}
	warned  bool // a failure was logged (see warnOnce)

	// readMappings and dropMapping are the system's (replaced in tests).
	readMappings func() ([]mapping, error)
	dropMapping  func(start, end uintptr) error
}

// tablePages is the process's page dropper.
var tablePages = newPageDropper(readMappings, dropMapping)

func newPageDropper(read func() ([]mapping, error), drop func(start, end uintptr) error) *pageDropper {
	return &pageDropper{engines: map[*engine]struct{}{}, readMappings: read, dropMapping: drop}
}

// register adds e; the dropper's goroutine starts with its first store.
func (d *pageDropper) register(e *engine) {
	if !pageDropSupported || e.opts.KeepTablePages || e.dataDir == "" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.engines[e] = struct{}{}
	if d.stop == nil {
		d.stop, d.done = make(chan struct{}), make(chan struct{})
		go d.run(d.stop, d.done)
	}
}

// unregister removes e, waiting for a pass in progress, and stops the goroutine with the
// last store.
func (d *pageDropper) unregister(e *engine) {
	d.mu.Lock()
	if _, ok := d.engines[e]; !ok {
		d.mu.Unlock()
		return
	}
	delete(d.engines, e)
	var stop, done chan struct{}
	if len(d.engines) == 0 {
		stop, done = d.stop, d.done
		d.stop, d.done = nil, nil
	}
	d.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

func (d *pageDropper) run(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(tablePagesInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			d.pass()
		}
	}
}

// heldTables is one store's tables held open by an iterator during a pass.
type heldTables struct {
	e   *engine
	ids map[uint64]bool // the tables surely held
	txn *badger.Txn
	it  *badger.Iterator
}

func (h *heldTables) release() {
	h.it.Close()
	h.txn.Discard()
	h.e.dbMu.RUnlock()
}

// pass drops the pages of the registered stores' tables once, and returns the bytes of
// the mappings it dropped.
func (d *pageDropper) pass() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	held := map[string]*heldTables{} // by the store's data directory
	defer func() {
		for _, h := range held {
			h.release()
		}
	}()
	for e := range d.engines {
		if h := e.holdTables(); h != nil {
			held[e.dataDir] = h
		}
	}
	if len(held) == 0 {
		return 0
	}
	maps, err := d.readMappings()
	if err != nil {
		d.warnOnce(held, "badgerstore: cannot list the process's mappings; the tables' pages stay in the RSS", err)
		return 0
	}
	var total int64
	for _, m := range maps {
		dir, base := filepath.Split(m.path)
		h := held[filepath.Clean(dir)]
		if h == nil {
			continue
		}
		if id, ok := tableFileID(base); !ok || !h.ids[id] {
			continue
		}
		if err := d.dropMapping(m.start, m.end); err != nil {
			d.warnOnce(held, "badgerstore: cannot drop a table's pages from the RSS", err, "table", m.path)
			continue
		}
		total += int64(m.end - m.start)
	}
	return total
}

// warnOnce logs the dropper's first failure through a held store's logger; the dropper
// goes on trying every pass, and a failure only leaves pages in the RSS, so later ones
// are not logged. Call with d.mu held.
func (d *pageDropper) warnOnce(held map[string]*heldTables, msg string, err error, args ...any) {
	if d.warned {
		return
	}
	d.warned = true
	for _, h := range held {
		h.e.opts.Logger.Warn(msg, append(args, "err", err)...)
		return
	}
}

// holdTables opens an iterator on e's Badger, with e.dbMu held shared (a restore from
// scratch cannot replace Badger meanwhile), and returns it with the tables it surely
// holds. It returns nil, holding nothing, when Badger has no tables or is not usable.
func (e *engine) holdTables() *heldTables {
	e.dbMu.RLock()
	// dbErr is set with both mu and dbMu held, so dbMu is enough to read it (and mu
	// must not be taken after dbMu: a restore takes them in the other order).
	if e.dbErr != nil || e.db == nil || e.db.IsClosed() {
		e.dbMu.RUnlock()
		return nil
	}
	before := e.db.Tables()
	if len(before) == 0 {
		e.dbMu.RUnlock()
		return nil
	}
	txn := e.db.NewTransaction(false)
	it := txn.NewIterator(badger.IteratorOptions{})
	after := make(map[uint64]bool, len(before))
	for _, t := range e.db.Tables() {
		after[t.ID] = true
	}
	ids := make(map[uint64]bool, len(before))
	for _, t := range before {
		if after[t.ID] {
			ids[t.ID] = true
		}
	}
	return &heldTables{e: e, ids: ids, txn: txn, it: it}
}

// tableFileID parses Badger's table file name, "000042.sst".
func tableFileID(base string) (uint64, bool) {
	name, ok := strings.CutSuffix(base, ".sst")
	if !ok || name == "" {
		return 0, false
	}
	id, err := strconv.ParseUint(name, 10, 64)
	return id, err == nil
}

// mapping is one shared file mapping of the process.
type mapping struct {
	start, end uintptr
	path       string
}
