package core

import (
	"bytes"

	"github.com/tidwall/btree"
)

type item struct {
	k, v []byte
}

func itemLess(a, b item) bool { return bytes.Compare(a.k, b.k) < 0 }

// Tree is an ordered byte map with cheap copy-on-write snapshots: the in-memory store's
// data and the Badger store's write buffer. It does no locking; callers do. An entry may
// hold a nil value, which the Badger write buffer uses as a pending delete.
type Tree struct {
	t     *btree.BTreeG[item]
	bytes int64
}

// NewTree returns an empty tree.
func NewTree() *Tree {
	return &Tree{t: btree.NewBTreeGOptions(itemLess, btree.Options{NoLocks: true, Degree: 12})}
}

// Get returns the entry for k.
func (t *Tree) Get(k []byte) (v []byte, ok bool) {
	it, ok := t.t.Get(item{k: k})
	return it.v, ok
}

// Set stores k and v as given (no copy).
func (t *Tree) Set(k, v []byte) {
	prev, replaced := t.t.Set(item{k: k, v: v})
	if replaced {
		t.bytes -= int64(len(prev.k) + len(prev.v))
	}
	t.bytes += int64(len(k) + len(v))
}

// Delete removes k.
func (t *Tree) Delete(k []byte) {
	prev, ok := t.t.Delete(item{k: k})
	if ok {
		t.bytes -= int64(len(prev.k) + len(prev.v))
	}
}

// DeleteRange removes the keys lo <= k < hi (hi nil: unbounded).
func (t *Tree) DeleteRange(lo, hi []byte) {
	var dead []item
	t.t.Ascend(item{k: lo}, func(it item) bool {
		if hi != nil && bytes.Compare(it.k, hi) >= 0 {
			return false
		}
		dead = append(dead, it)
		return true
	})
	for _, it := range dead {
		t.Delete(it.k)
	}
}

// Len is the number of entries.
func (t *Tree) Len() int { return t.t.Len() }

// Bytes is the sum of the lengths of keys and values.
func (t *Tree) Bytes() int64 { return t.bytes }

// Snapshot returns a copy-on-write copy: later writes to either tree do not show in the other.
func (t *Tree) Snapshot() *Tree {
	return &Tree{t: t.t.Copy(), bytes: t.bytes}
}

// Scan calls fn for each entry in order until fn returns false.
func (t *Tree) Scan(fn func(k, v []byte) bool) {
	t.t.Scan(func(it item) bool { return fn(it.k, it.v) })
}

// Iter returns an iterator over lo <= k < hi (nil bounds: unbounded) that includes entries
// with nil values. The tree must not be written while the iterator is in use: iterate a
// Snapshot.
func (t *Tree) Iter(lo, hi []byte, reverse bool) *TreeIter {
	ti := &TreeIter{it: t.t.Iter(), lo: lo, hi: hi, reverse: reverse}
	return ti
}

// TreeIter walks a Tree. Key and Value alias the tree's entries.
type TreeIter struct {
	it      btree.IterG[item]
	lo, hi  []byte
	reverse bool
	started bool
	done    bool
	cur     item
}

// Next moves to the next entry.
func (ti *TreeIter) Next() bool {
	if ti.done {
		return false
	}
	var ok bool
	if !ti.started {
		ti.started = true
		if ti.reverse {
			switch {
			case ti.hi == nil:
				ok = ti.it.Last()
			case ti.it.Seek(item{k: ti.hi}):
				ok = ti.it.Prev()
			default:
				ok = ti.it.Last()
			}
		} else if ti.lo == nil {
			ok = ti.it.First()
		} else {
			ok = ti.it.Seek(item{k: ti.lo})
		}
	} else if ti.reverse {
		ok = ti.it.Prev()
	} else {
		ok = ti.it.Next()
	}
	if ok {
		ti.cur = ti.it.Item()
		if ti.reverse {
			ok = ti.lo == nil || bytes.Compare(ti.cur.k, ti.lo) >= 0
		} else {
			ok = ti.hi == nil || bytes.Compare(ti.cur.k, ti.hi) < 0
		}
	}
	if !ok {
		ti.done = true
		ti.cur = item{}
		ti.it.Release()
	}
	return ok
}

// Key is the current key.
func (ti *TreeIter) Key() []byte { return ti.cur.k }

// Value is the current value (nil for a pending delete in a write buffer).
func (ti *TreeIter) Value() []byte { return ti.cur.v }

// Err is always nil.
func (ti *TreeIter) Err() error { return nil }

// Close releases the iterator.
func (ti *TreeIter) Close() error {
	if !ti.done {
		ti.done = true
		ti.it.Release()
	}
	return nil
}
