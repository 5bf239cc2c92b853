package badgerstore

import (
	"sync"
	"sync/atomic"
	"unsafe"

	badger "github.com/dgraph-io/badger/v4"
)

// tailBuffer holds the newest buffered writes in arrival order, found by key through a
// hash index: a write costs a hash insert instead of a B-tree insert. Key order is only
// needed by snapshots (iterators), which move the tail into the engine's ordered buffer
// first; a store that is only written and read by key never pays for ordering, and a
// flush writes the tail to Badger in arrival order (Badger does not need them sorted).
//
// Keys carry the data prefix, as Badger stores them. Keys and values alias the engine's
// slabs and are never modified.
type tailBuffer struct {
	ents  []tailEntry
	idx   map[string]int32 // nil while the tail is small enough to scan
	bytes int64            // the live keys and values, plus tailEntryCost per entry
	hint  int              // the length the tail had when last reset, to size the index
}

type tailEntry struct {
	k, v []byte // v nil: a pending delete
}

// tailEntryCost is the memory an entry of the tail takes beyond its key and value, counted
// against Options.WriteBufferSize: its tailEntry (48 bytes) and its slot in the index
// (about 28 bytes), each with the spare capacity of a slice or map that grows by doubling.
// Without it a buffer of small entries (a count's keys and 16-byte values) would take
// three to four times its bound.
const tailEntryCost = 112

// tailScan is the size up to which a tail is searched by scanning rather than through
// the index: a store read right after each write (a windowed aggregation fetching its
// windows) keeps a tail of one entry, for which building and clearing a map costs more
// than it saves.
const tailScan = 8

func (t *tailBuffer) len() int { return len(t.ents) }

// find returns the position of pk in the tail, or -1.
func (t *tailBuffer) find(pk []byte) int {
	if t.idx != nil {
		if i, ok := t.idx[string(pk)]; ok {
			return int(i)
		}
		return -1
	}
	for i := range t.ents {
		if string(t.ents[i].k) == string(pk) {
			return i
		}
	}
	return -1
}

// set adds or replaces pk's entry.
func (t *tailBuffer) set(pk, v []byte) {
	if i := t.find(pk); i >= 0 {
		e := &t.ents[i]
		t.bytes += int64(len(v) - len(e.v))
		e.v = v
		return
	}
	t.ents = append(t.ents, tailEntry{k: pk, v: v})
	t.bytes += int64(len(pk)+len(v)) + tailEntryCost
	switch n := len(t.ents); {
	case t.idx != nil:
		t.idx[unsafe.String(unsafe.SliceData(pk), len(pk))] = int32(n - 1)
	case n > tailScan:
		t.idx = make(map[string]int32, max(2*n, t.hint))
		for i, e := range t.ents {
			t.idx[unsafe.String(unsafe.SliceData(e.k), len(e.k))] = int32(i)
		}
	}
}

// reset empties the tail for reuse. A large index is dropped rather than cleared
// (clearing costs its capacity, every time).
func (t *tailBuffer) reset() {
	t.hint = len(t.ents)
	clear(t.ents)
	t.ents = t.ents[:0]
	if cap(t.ents) > 64<<10 {
		t.ents = nil
	}
	t.idx = nil
	t.bytes = 0
}

// readTxn is a Badger read transaction shared by point reads until Badger's contents
// change: a new transaction per Get takes Badger's oracle lock and two watermark updates,
// as much as a memtable lookup. Badger's read-only Txn.Get does not modify the
// transaction, so concurrent readers may share it; the last one to let go of an
// invalidated transaction discards it.
type readTxn struct {
	txn  *badger.Txn
	refs atomic.Int32 // readers using it, plus one while it is the engine's current one
}

func (r *readTxn) release() {
	if r.refs.Add(-1) == 0 {
		r.txn.Discard()
	}
}

// readTxns hands out the current shared read transaction.
type readTxns struct {
	mu  sync.Mutex
	cur *readTxn
}

// acquire returns the current transaction (creating it from db if needed) with a
// reference the caller releases.
func (rs *readTxns) acquire(db *badger.DB) *readTxn {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.cur == nil {
		rs.cur = &readTxn{txn: db.NewTransaction(false)}
		rs.cur.refs.Store(1)
	}
	rs.cur.refs.Add(1)
	return rs.cur
}

// invalidate makes the next acquire start a new transaction. Call it after every change
// to Badger's contents, before the data leaves the write buffer.
func (rs *readTxns) invalidate() {
	rs.mu.Lock()
	r := rs.cur
	rs.cur = nil
	rs.mu.Unlock()
	if r != nil {
		r.release()
	}
}
