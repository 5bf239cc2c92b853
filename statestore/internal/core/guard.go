package core

import (
	"fmt"
	"sync"

	"github.com/rivulet-io/rivulet/statestore"
)

// guard tracks a store's lifetime and its open iterators, so that Close can end them
// before the engine releases what they read (Badger's tables and memtables).
type guard struct {
	name   string
	mu     sync.RWMutex // held shared by every read and iterator step, exclusively by Close
	closed bool
	wmu    sync.Mutex // serializes writers: read-modify-write calls, segment changes and logger order
	openMu sync.Mutex
	open   map[*guardedIter]struct{}
}

func (g *guard) init(name string) {
	g.name = name
	g.open = make(map[*guardedIter]struct{})
}

// rlock takes the shared lock; it fails with ErrClosed on a closed store.
func (g *guard) rlock(op string) error {
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return fmt.Errorf("statestore: %s: %s: %w", g.name, op, statestore.ErrClosed)
	}
	return nil
}

func (g *guard) runlock() { g.mu.RUnlock() }

// wlock takes the shared lock and then the writers' lock; it fails with ErrClosed on a
// closed store.
func (g *guard) wlock(op string) error {
	if err := g.rlock(op); err != nil {
		return err
	}
	g.wmu.Lock()
	return nil
}

func (g *guard) wunlock() {
	g.wmu.Unlock()
	g.mu.RUnlock()
}

// close marks the store closed, ends every open iterator and then runs release.
func (g *guard) close(release func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return fmt.Errorf("statestore: %s: close: %w", g.name, statestore.ErrClosed)
	}
	g.closed = true
	g.openMu.Lock()
	its := g.open
	g.open = nil
	g.openMu.Unlock()
	for it := range its {
		it.in.Close()
		it.err = fmt.Errorf("statestore: %s: iterator: %w", g.name, statestore.ErrClosed)
		it.done = true
	}
	return release()
}

// wrap registers an engine iterator with the guard. Call with the shared lock held.
func (g *guard) wrap(in statestore.KeyValueIterator) *guardedIter {
	it := &guardedIter{g: g, in: in}
	g.openMu.Lock()
	g.open[it] = struct{}{}
	g.openMu.Unlock()
	return it
}

type guardedIter struct {
	g    *guard
	in   statestore.KeyValueIterator
	err  error
	done bool
}

func (it *guardedIter) Next() bool {
	it.g.mu.RLock()
	defer it.g.mu.RUnlock()
	if it.done {
		return false
	}
	if it.in.Next() {
		return true
	}
	it.err = it.in.Err()
	it.done = true
	return false
}

func (it *guardedIter) Key() []byte   { return it.in.Key() }
func (it *guardedIter) Value() []byte { return it.in.Value() }

func (it *guardedIter) Err() error {
	it.g.mu.RLock()
	defer it.g.mu.RUnlock()
	if it.err != nil {
		return it.err
	}
	if it.done {
		return nil
	}
	return it.in.Err()
}

func (it *guardedIter) Close() error {
	it.g.mu.RLock()
	defer it.g.mu.RUnlock()
	it.g.openMu.Lock()
	_, open := it.g.open[it]
	delete(it.g.open, it)
	it.g.openMu.Unlock()
	if open {
		if err := it.in.Close(); err != nil && it.err == nil {
			it.err = err
		}
	}
	it.done = true
	if it.err != nil && !isClosedErr(it.err) {
		return it.err
	}
	return nil
}

func isClosedErr(err error) bool {
	return err != nil && errorsIs(err, statestore.ErrClosed)
}

// emptyIter is an iterator over nothing.
type emptyIter struct{}

func (emptyIter) Next() bool    { return false }
func (emptyIter) Key() []byte   { return nil }
func (emptyIter) Value() []byte { return nil }
func (emptyIter) Err() error    { return nil }
func (emptyIter) Close() error  { return nil }
