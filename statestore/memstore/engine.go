package memstore

import (
	"sync"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/internal/core"
)

// engine is the in-memory core.Engine: a copy-on-write B-tree under a RWMutex. Iterators
// walk an O(1) snapshot of the tree, so writes never disturb them.
type engine struct {
	name string
	mu   sync.RWMutex
	t    *core.Tree
}

func newEngine(name string) *engine { return &engine{name: name, t: core.NewTree()} }

func (e *engine) Name() string     { return e.name }
func (e *engine) Persistent() bool { return false }

func (e *engine) Get(key []byte) ([]byte, error) {
	e.mu.RLock()
	v, _ := e.t.Get(key)
	e.mu.RUnlock()
	return v, nil
}

func (e *engine) Apply(entries []statestore.KeyValue) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, kv := range entries {
		if kv.Value == nil {
			e.t.Delete(kv.Key)
			continue
		}
		// One allocation holds both; values are never modified in place, so readers may
		// keep what Get returned.
		buf := make([]byte, len(kv.Key)+len(kv.Value))
		n := copy(buf, kv.Key)
		copy(buf[n:], kv.Value)
		e.t.Set(buf[:n:n], buf[n:])
	}
	return nil
}

func (e *engine) Restore(entries []statestore.KeyValue) error { return e.Apply(entries) }

func (e *engine) Snapshot() (core.Snapshot, error) {
	e.mu.Lock() // Snapshot updates the tree's copy-on-write generation
	snap := e.t.Snapshot()
	e.mu.Unlock()
	return treeSnapshot{snap}, nil
}

type treeSnapshot struct{ t *core.Tree }

func (s treeSnapshot) Iter(lo, hi []byte, reverse bool) (statestore.KeyValueIterator, error) {
	return s.t.Iter(lo, hi, reverse), nil
}

func (s treeSnapshot) Release() {}

func (e *engine) DropPrefixes(prefixes [][]byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range prefixes {
		e.t.DeleteRange(p, core.Successor(p))
	}
	return nil
}

func (e *engine) Count() (int64, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return int64(e.t.Len()), nil
}

func (e *engine) Flush() error { return nil }

func (e *engine) Close() error {
	e.mu.Lock()
	e.t = core.NewTree()
	e.mu.Unlock()
	return nil
}
