package streams

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/rivulet-io/rivulet/statestore"
)

// Under exactly_once_v2 a store must not make durable what its transaction
// may still abort: a crash would leave writes in the store that the
// changelog (read committed) never got, and restoring the changelog's tail
// cannot take them out. Kafka Streams answers by wiping the state after a
// crash (a full restore); Rivulet stages a key-value store's writes in
// memory between commits (stagedKV) and applies them to the store, as one
// batch, only once the transaction committed, before the checkpoint. The
// store on disk therefore always holds committed state, and after kill -9 a
// task restores only the changelog records written after its checkpoint.
//
// Window and session stores stage their writes the same way
// (eos_window_store.go). A window or session store that cannot stage (a
// storeOpener's own store that is not Restorable) is written in place:
// its checkpoint is removed once a task processes and written again only
// after the last commit before a clean close (as Kafka Streams does), so a
// crash restores it in full.

// eosOpener is the storeOpener of an exactly_once_v2 application: inner's
// stores, those of stream tasks wrapped in a stagedKV, stagedWindow or
// stagedSession.
type eosOpener struct {
	inner storeOpener
	mu    sync.Mutex
	// unstaged names the window and session stores that cannot stage
	// (checkpoints removed once written; see above).
	unstaged map[string]bool
	// final marks the tasks writing their checkpoints after their last
	// commit before a clean close: their window and session stores get a
	// real checkpoint, so a clean restart restores nothing.
	final map[TaskID]bool
}

func newEOSOpener(inner storeOpener) *eosOpener {
	return &eosOpener{inner: inner, unstaged: map[string]bool{}, final: map[TaskID]bool{}}
}

// finalCheckpoint runs fn (the task's Checkpoint after its last commit,
// before a clean close) with the task's window and session stores allowed
// to keep a checkpoint.
func (o *eosOpener) finalCheckpoint(task TaskID, fn func() error) error {
	o.mu.Lock()
	o.final[task] = true
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		delete(o.final, task)
		o.mu.Unlock()
	}()
	return fn()
}

func (o *eosOpener) OpenKeyValue(task TaskID, name string, persistent, logged bool) (statestore.KeyValueStore, statestore.Checkpoint, error) {
	s, cp, err := o.inner.OpenKeyValue(task, name, persistent, logged)
	if err != nil || task == globalTaskID {
		// Global stores are fed from their topics (read committed), not
		// written inside a transaction.
		return s, cp, err
	}
	return &stagedKV{base: s, pending: map[string][]byte{}}, cp, nil
}

func (o *eosOpener) WriteCheckpoint(task TaskID, name string, cp statestore.Checkpoint) error {
	o.mu.Lock()
	unstaged := o.unstaged[name] && !o.final[task]
	o.mu.Unlock()
	if unstaged && task != globalTaskID {
		// The store will hold writes no transaction committed yet: a
		// checkpoint would claim they are in the changelog.
		if r, ok := o.inner.(interface {
			RemoveCheckpoint(TaskID, string) error
		}); ok {
			return r.RemoveCheckpoint(task, name)
		}
		return nil
	}
	return o.inner.WriteCheckpoint(task, name, cp)
}

func (o *eosOpener) OpenWindow(task TaskID, name string, persistent, logged bool, opts statestore.WindowOptions) (statestore.WindowStore, statestore.Checkpoint, error) {
	bare := opts
	bare.ChangeLogger, bare.OnExpired = nil, nil
	return openStaging(o, task, name, opts, bare, func(opts statestore.WindowOptions) (statestore.WindowStore, statestore.Checkpoint, error) {
		return openWindow(o.inner, task, name, persistent, logged, opts)
	}, func(s statestore.WindowStore) (statestore.WindowStore, bool) { return newStagedWindow(s, opts) })
}

func (o *eosOpener) OpenSession(task TaskID, name string, persistent, logged bool, opts statestore.SessionOptions) (statestore.SessionStore, statestore.Checkpoint, error) {
	bare := opts
	bare.ChangeLogger, bare.OnExpired = nil, nil
	return openStaging(o, task, name, opts, bare, func(opts statestore.SessionOptions) (statestore.SessionStore, statestore.Checkpoint, error) {
		return openSession(o.inner, task, name, persistent, logged, opts)
	}, func(s statestore.SessionStore) (statestore.SessionStore, bool) { return newStagedSession(s, opts) })
}

// openStaging opens a window or session store of task: for a stream task
// with the bare options (no change logger, no expiry hook) and staged
// (stage); for the global task, or when the store cannot stage, with opts,
// written in place and marked unstaged.
func openStaging[S statestore.Store, O any](o *eosOpener, task TaskID, name string, opts, bare O, open func(O) (S, statestore.Checkpoint, error), stage func(S) (S, bool)) (S, statestore.Checkpoint, error) {
	var none S
	if task != globalTaskID {
		s, cp, err := open(bare)
		if err != nil {
			return none, nil, err
		}
		if st, ok := stage(s); ok {
			return st, cp, nil
		}
		if err := s.Close(); err != nil {
			return none, nil, fmt.Errorf("streams: store %q: %w", name, err)
		}
	}
	o.mu.Lock()
	o.unstaged[name] = true
	o.mu.Unlock()
	return open(opts)
}

// RemoveCheckpoint deletes the checkpoint of task's store name, so that a
// crash wipes and restores the store.
func (o *dirOpener) RemoveCheckpoint(task TaskID, name string) error {
	return statestore.RemoveCheckpoint(o.dir(task, name))
}

// stagedKV is a key-value store whose writes stay in memory (pending) until
// apply writes them to base as one batch. Reads see base with the pending
// writes over it. Safe for one writer and concurrent readers, as every
// KeyValueStore.
type stagedKV struct {
	base statestore.KeyValueStore
	mu   sync.RWMutex
	// pending maps a key to its new value; a nil value is a delete.
	pending map[string][]byte
}

var errStagedRestore = errors.New("streams: restore into a store with uncommitted writes")

func (s *stagedKV) Name() string     { return s.base.Name() }
func (s *stagedKV) Persistent() bool { return s.base.Persistent() }

// Flush flushes base: what it holds is committed (pending writes wait for
// apply).
func (s *stagedKV) Flush() error { return s.base.Flush() }

// Close drops the pending writes (never committed) and closes base.
func (s *stagedKV) Close() error {
	s.mu.Lock()
	s.pending = map[string][]byte{}
	s.mu.Unlock()
	return s.base.Close()
}

// apply writes the pending writes to base as one batch and flushes it.
// Called once the transaction holding their changelog records committed.
func (s *stagedKV) apply() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) > 0 {
		if err := s.base.PutAll(sortedBatch(s.pending, func(v []byte) []byte { return v })); err != nil {
			return fmt.Errorf("streams: store %q: apply committed writes: %w", s.base.Name(), err)
		}
		s.pending = map[string][]byte{}
	}
	return s.base.Flush()
}

// pendingCount is the number of keys written since the last apply.
func (s *stagedKV) pendingCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.pending)
}

// RestoreBatch writes changelog records (committed) straight to base.
func (s *stagedKV) RestoreBatch(records []statestore.KeyValue) error {
	r, ok := s.base.(statestore.Restorable)
	if !ok {
		return fmt.Errorf("streams: store %q (%T) cannot restore in bulk", s.base.Name(), s.base)
	}
	if s.pendingCount() > 0 {
		return errStagedRestore
	}
	return r.RestoreBatch(records)
}

func (s *stagedKV) Get(key []byte) ([]byte, error) {
	if key == nil {
		return nil, statestore.ErrNilKey
	}
	s.mu.RLock()
	v, ok := s.pending[string(key)]
	s.mu.RUnlock()
	if ok {
		return v, nil
	}
	return s.base.Get(key)
}

func (s *stagedKV) Put(key, value []byte) error {
	if key == nil {
		return statestore.ErrNilKey
	}
	if value != nil {
		value = bytes.Clone(value)
	}
	s.mu.Lock()
	s.pending[string(key)] = value
	s.mu.Unlock()
	return nil
}

func (s *stagedKV) PutIfAbsent(key, value []byte) ([]byte, error) {
	old, err := s.Get(key)
	if err != nil || old != nil {
		return old, err
	}
	return nil, s.Put(key, value)
}

func (s *stagedKV) PutAll(entries []statestore.KeyValue) error {
	for _, e := range entries {
		if e.Key == nil {
			return statestore.ErrNilKey
		}
	}
	for _, e := range entries {
		if err := s.Put(e.Key, e.Value); err != nil {
			return err
		}
	}
	return nil
}

func (s *stagedKV) Delete(key []byte) ([]byte, error) {
	old, err := s.Get(key)
	if err != nil {
		return nil, err
	}
	return old, s.Put(key, nil)
}

// ApproximateNumEntries counts base's entries plus the pending writes of
// keys base does not hold, minus pending deletes of keys it holds.
func (s *stagedKV) ApproximateNumEntries() (int64, error) {
	n, err := s.base.ApproximateNumEntries()
	if err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for k, v := range s.pending {
		old, err := s.base.Get([]byte(k))
		if err != nil {
			return 0, err
		}
		switch {
		case old == nil && v != nil:
			n++
		case old != nil && v == nil:
			n--
		}
	}
	return n, nil
}

func (s *stagedKV) Range(from, to []byte) (statestore.KeyValueIterator, error) {
	return s.merged(false, func(k []byte) bool {
		return (from == nil || bytes.Compare(k, from) >= 0) && (to == nil || bytes.Compare(k, to) <= 0)
	}, func() (statestore.KeyValueIterator, error) { return s.base.Range(from, to) })
}

func (s *stagedKV) ReverseRange(from, to []byte) (statestore.KeyValueIterator, error) {
	return s.merged(true, func(k []byte) bool {
		return (from == nil || bytes.Compare(k, from) >= 0) && (to == nil || bytes.Compare(k, to) <= 0)
	}, func() (statestore.KeyValueIterator, error) { return s.base.ReverseRange(from, to) })
}

func (s *stagedKV) PrefixScan(prefix []byte) (statestore.KeyValueIterator, error) {
	return s.merged(false, func(k []byte) bool { return bytes.HasPrefix(k, prefix) },
		func() (statestore.KeyValueIterator, error) { return s.base.PrefixScan(prefix) })
}

func (s *stagedKV) All() (statestore.KeyValueIterator, error) {
	return s.merged(false, func([]byte) bool { return true }, s.base.All)
}

func (s *stagedKV) ReverseAll() (statestore.KeyValueIterator, error) {
	return s.merged(true, func([]byte) bool { return true }, s.base.ReverseAll)
}

// merged returns an iterator over base's entries with the pending writes
// (those in) over them. Both sides are snapshots taken now, as the
// KeyValueIterator contract asks.
func (s *stagedKV) merged(reverse bool, in func([]byte) bool, open func() (statestore.KeyValueIterator, error)) (statestore.KeyValueIterator, error) {
	s.mu.RLock()
	var ov []stagedEntry
	for k, v := range s.pending {
		if in([]byte(k)) {
			ov = append(ov, stagedEntry{key: []byte(k), value: v})
		}
	}
	it, err := open()
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if len(ov) == 0 {
		return it, nil
	}
	order := keyOrder
	if reverse {
		order = reversedOrder(order)
	}
	slices.SortFunc(ov, func(a, b stagedEntry) int { return order(&a, &b) })
	return &mergedWindowed{base: unwindowed{it}, ov: ov, order: order, at: func(*stagedEntry) int64 { return 0 }}, nil
}

// keyOrder orders entries by key alone (key-value stores).
func keyOrder(a, b *stagedEntry) int { return bytes.Compare(a.key, b.key) }

// unwindowed is a key-value iterator seen as a windowed one (entries
// without windows), to merge it with staged writes in mergedWindowed.
type unwindowed struct{ statestore.KeyValueIterator }

func (unwindowed) Start() int64 { return 0 }
func (unwindowed) End() int64   { return 0 }

// applyStaged applies the staged writes of the task's stores
// after their transaction committed (before Checkpoint).
func (t *streamTask) applyStaged() error {
	for _, name := range t.storeOrder {
		rs, ok := t.stores[name].(rawStorer)
		if !ok {
			continue
		}
		if sk, ok := rs.rawStore().(stager); ok {
			if err := sk.apply(); err != nil {
				return fmt.Errorf("streams: task %s: %w", t.id, err)
			}
		}
	}
	return nil
}

// stager is a store with staged writes: a stagedKV, stagedWindow or
// stagedSession, or a store handed over by a standby that wraps one.
type stager interface{ apply() error }

// apply applies the staged writes of the store a promoted standby handed
// over (an in-memory store under exactly_once_v2 is a stagedKV inside).
func (s *standbyKV) apply() error {
	if sk, ok := s.KeyValueStore.(stager); ok {
		return sk.apply()
	}
	return nil
}
