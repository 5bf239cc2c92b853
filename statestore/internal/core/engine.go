// Package core holds the store logic shared by memstore and badgerstore: key-value,
// window and session stores written once over Engine, a byte-ordered map that each
// implementation provides. Keeping one copy of the window and session semantics means the
// two implementations can only differ in how they keep bytes, which the conformance and
// differential tests in storetest check.
package core

import (
	"github.com/rivulet-io/rivulet/statestore"
)

// Engine is a byte-ordered map, the part an implementation provides.
//
// It is safe for concurrent use. Get results stay valid after later writes and are not
// modified by the engine. Apply copies what it keeps.
type Engine interface {
	Name() string
	Persistent() bool
	Get(key []byte) ([]byte, error)
	// Apply writes entries in order; a nil value deletes.
	Apply(entries []statestore.KeyValue) error
	// Restore is Apply through the engine's bulk path.
	Restore(entries []statestore.KeyValue) error
	// Snapshot returns a consistent read view; the caller releases it.
	Snapshot() (Snapshot, error)
	// DropPrefixes removes every key that starts with one of prefixes, now or by the
	// next Flush. Until then reads may still see them (callers filter them out).
	DropPrefixes(prefixes [][]byte) error
	Count() (int64, error)
	Flush() error
	Close() error
}

// BufferReader is an Engine with a write buffer in front of a persistent part (Badger)
// whose reads can leave the persistent part out: a window or session store that knows
// every entry written out has an older time than a read asks for (segmented.readSnapshot)
// reads only the buffer, which costs no seek through the persistent part's tables.
type BufferReader interface {
	// WriteOuts counts the writes into the persistent part so far, each counted as it
	// starts.
	WriteOuts() uint64
	// BufferSnapshot is a Snapshot of the write buffer alone, if WriteOuts still returns
	// writeOuts (ok false otherwise: take a Snapshot).
	BufferSnapshot(writeOuts uint64) (snap Snapshot, ok bool, err error)
}

// Snapshot is a consistent, read-only view of an engine. Iterators over one snapshot see
// the same data whatever is written meanwhile. It is not safe for concurrent use.
type Snapshot interface {
	// Iter returns the entries lo <= key < hi (nil bounds: unbounded), skipping deleted
	// ones. Key and Value are valid until the next Next or Close.
	Iter(lo, hi []byte, reverse bool) (statestore.KeyValueIterator, error)
	// Release frees the snapshot once its iterators are closed.
	Release()
}

// snapIter is an iterator that owns its snapshot and releases it on Close.
type snapIter struct {
	statestore.KeyValueIterator
	snap Snapshot
}

func (it *snapIter) Close() error {
	err := it.KeyValueIterator.Close()
	if it.snap != nil {
		it.snap.Release()
		it.snap = nil
	}
	return err
}

// iterOnce opens one iterator over a fresh snapshot of eng.
func iterOnce(eng Engine, lo, hi []byte, reverse bool) (statestore.KeyValueIterator, error) {
	snap, err := eng.Snapshot()
	if err != nil {
		return nil, err
	}
	it, err := snap.Iter(lo, hi, reverse)
	if err != nil {
		snap.Release()
		return nil, err
	}
	return &snapIter{KeyValueIterator: it, snap: snap}, nil
}

// chainIter walks a list of key ranges of one snapshot, one after the other, and releases
// the snapshot on Close.
type chainIter struct {
	snap    Snapshot
	ranges  [][2][]byte
	reverse bool
	cur     statestore.KeyValueIterator
	err     error
	done    bool
}

func newChainIter(snap Snapshot, ranges [][2][]byte, reverse bool) *chainIter {
	return &chainIter{snap: snap, ranges: ranges, reverse: reverse}
}

func (c *chainIter) Next() bool {
	for !c.done {
		if c.cur == nil {
			if len(c.ranges) == 0 {
				c.done = true
				break
			}
			r := c.ranges[0]
			c.ranges = c.ranges[1:]
			it, err := c.snap.Iter(r[0], r[1], c.reverse)
			if err != nil {
				c.err = err
				c.done = true
				break
			}
			c.cur = it
		}
		if c.cur.Next() {
			return true
		}
		err := c.cur.Err()
		if cerr := c.cur.Close(); err == nil {
			err = cerr
		}
		c.cur = nil
		if err != nil {
			c.err = err
			c.done = true
		}
	}
	return false
}

func (c *chainIter) Key() []byte   { return c.cur.Key() }
func (c *chainIter) Value() []byte { return c.cur.Value() }
func (c *chainIter) Err() error    { return c.err }

func (c *chainIter) Close() error {
	if c.cur != nil {
		if err := c.cur.Close(); err != nil && c.err == nil {
			c.err = err
		}
		c.cur = nil
	}
	c.done = true
	if c.snap != nil {
		c.snap.Release()
		c.snap = nil
	}
	return c.err
}
