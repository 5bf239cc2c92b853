package streams

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
)

// Interactive queries: read a store of a running application
// from any goroutine, as Kafka Streams' KafkaStreams.store(...) with a
// QueryableStoreTypes.keyValueStore(). The view covers the store's
// instances in this instance's active, running tasks; a key held by another
// instance is found through App.MetadataForKey (key -> partition -> task ->
// application.server), and asked there (the word-count example's HTTP
// endpoint forwards to the owner).
//
// Each read takes the lock of the stream thread that owns the task, so it
// never runs while that thread processes, commits or closes the task: a
// read waits at most for one iteration of the thread's loop. Reads go
// through the record cache without warming it (tsStore.Get), so queries
// never change what a task does.

// ErrStoreNotAvailable is returned by queries when no task of this
// instance holds the store now: the tasks are elsewhere, restoring, or
// moving in a rebalance (Kafka Streams' InvalidStateStoreException). Retry,
// or ask the instance that App.MetadataForKey names.
var ErrStoreNotAvailable = errors.New("streams: store not available on this instance now")

// KeyValueQuery is a read-only view of a key-value store over this
// instance's running tasks. Safe for concurrent use.
type KeyValueQuery[K, V any] struct {
	app  *App
	name string
}

// QueryKeyValueStore returns a read-only view of the key-value store name
// of a running application. For the stores of DSL tables and aggregations,
// V is the value type (KeyValueQuery[K, V]) or ValueAndTimestamp[V].
func QueryKeyValueStore[K, V any](app *App, name string) (*KeyValueQuery[K, V], error) {
	if app == nil {
		return nil, errors.New("streams: query: nil app")
	}
	if err := checkQueryable(app, name); err != nil {
		return nil, err
	}
	return &KeyValueQuery[K, V]{app: app, name: name}, nil
}

// checkQueryable checks that the topology has store name in its tasks.
func checkQueryable(app *App, name string) error {
	if app == nil {
		return errors.New("streams: query: nil app")
	}
	for _, s := range app.topo.subs {
		if s.Global {
			continue
		}
		for _, st := range s.Stores {
			if st == name {
				return nil
			}
		}
	}
	return fmt.Errorf("streams: query: the topology has no store %q in its tasks", name)
}

// Name returns the store's name.
func (q *KeyValueQuery[K, V]) Name() string { return q.name }

// each calls fn with the typed store of every running local task that has
// it, holding the task's thread lock. It returns ErrStoreNotAvailable when
// there is none.
func (q *KeyValueQuery[K, V]) each(fn func(TaskID, ReadOnlyKeyValueStore[K, V]) (stop bool, err error)) error {
	return eachTypedStore(q.app, q.name, GetKeyValueStore[K, V], func(id TaskID, _ StateStore, kv KeyValueStore[K, V]) (bool, error) {
		return fn(id, kv)
	})
}

// eachTypedStore is eachLocalStore with each store typed by get (one of
// GetKeyValueStore, GetWindowStore, ...).
func eachTypedStore[S any](a *App, name string, get func(StoreProvider, string) (S, error), fn func(TaskID, StateStore, S) (stop bool, err error)) error {
	return eachLocalStore(a, name, func(id TaskID, st StateStore) (bool, error) {
		s, err := get(storeOf{st}, name)
		if err != nil {
			return true, fmt.Errorf("streams: query: %w", err)
		}
		return fn(id, st, s)
	})
}

// findLocal returns what find finds in the first running local task's
// store that has it (a point lookup: Get, FetchOne, GetAsOf).
func findLocal[S, R any](a *App, name string, get func(StoreProvider, string) (S, error), find func(S) (R, bool, error)) (r R, ok bool, err error) {
	err = eachTypedStore(a, name, get, func(_ TaskID, _ StateStore, s S) (bool, error) {
		v, found, err := find(s)
		if err != nil {
			return true, fmt.Errorf("streams: query store %q: %w", name, err)
		}
		if found {
			r, ok = v, true
		}
		return found, nil
	})
	return r, ok, err
}

// eachLocalStore calls fn with the store name of every running local task
// that has it, holding the task's thread lock, in thread and task order. It
// returns ErrStoreNotAvailable when there is none.
func eachLocalStore(a *App, name string, fn func(TaskID, StateStore) (stop bool, err error)) error {
	switch a.State() {
	case StateRunning, StateRebalancing:
	default:
		return fmt.Errorf("streams: query store %q: %w (state %s)", name, ErrNotRunning, a.State())
	}
	a.mu.Lock()
	threads := slices.SortedFunc(maps.Values(a.threads), func(x, y *streamThread) int { return cmp.Compare(x.id, y.id) })
	a.mu.Unlock()
	held := false
	for _, t := range threads {
		stop, err := func() (bool, error) {
			t.mu.Lock()
			defer t.mu.Unlock()
			ids := make([]TaskID, 0, len(t.tasks))
			for id, task := range t.tasks {
				if task.State() == TaskRunning {
					ids = append(ids, id)
				}
			}
			sort.Slice(ids, func(i, j int) bool { return ids[i].Less(ids[j]) })
			for _, id := range ids {
				st, ok := t.tasks[id].Store(name)
				if !ok {
					continue
				}
				held = true
				if stop, err := fn(id, st); stop || err != nil {
					return true, err
				}
			}
			return false, nil
		}()
		if err != nil || stop {
			return err
		}
	}
	if !held {
		return fmt.Errorf("streams: query store %q: %w", name, ErrStoreNotAvailable)
	}
	return nil
}

// Get returns key's value from the local task that holds it. ok is false
// when no local task has the key; the error wraps ErrStoreNotAvailable
// when no local task holds the store at all.
func (q *KeyValueQuery[K, V]) Get(key K) (value V, ok bool, err error) {
	return findLocal(q.app, q.name, GetKeyValueStore[K, V], func(kv KeyValueStore[K, V]) (V, bool, error) { return kv.Get(key) })
}

// queryEntry is one result with its serialized key, for merging.
type queryEntry[K, V any] struct {
	kb []byte
	kv KeyValue[K, V]
}

// Range returns the local entries with from <= key <= to (inclusive, in
// the byte order of the serialized keys, as ReadOnlyKeyValueStore.Range),
// merged over the local tasks and sorted, at most limit of them when limit
// > 0. more is set when entries were left out.
func (q *KeyValueQuery[K, V]) Range(from, to K, limit int) (entries []KeyValue[K, V], more bool, err error) {
	return q.collect(limit, func(kv ReadOnlyKeyValueStore[K, V]) (KeyValueIterator[K, V], error) { return kv.Range(from, to) })
}

// All returns every local entry, sorted, at most limit of them when limit
// > 0. more is set when entries were left out.
func (q *KeyValueQuery[K, V]) All(limit int) (entries []KeyValue[K, V], more bool, err error) {
	return q.collect(limit, func(kv ReadOnlyKeyValueStore[K, V]) (KeyValueIterator[K, V], error) { return kv.All() })
}

// ApproximateNumEntries sums the estimates of the local stores.
func (q *KeyValueQuery[K, V]) ApproximateNumEntries() (int64, error) {
	var n int64
	err := q.each(func(_ TaskID, kv ReadOnlyKeyValueStore[K, V]) (bool, error) {
		c, err := kv.ApproximateNumEntries()
		n += c
		return false, err
	})
	return n, err
}

// keySerializer is what the typed stores use to serialize keys (kvStore and
// the stores embedding it).
type keySerializer[K any] interface {
	serKey(K) ([]byte, error)
}

func (q *KeyValueQuery[K, V]) collect(limit int, open func(ReadOnlyKeyValueStore[K, V]) (KeyValueIterator[K, V], error)) ([]KeyValue[K, V], bool, error) {
	var all []queryEntry[K, V]
	err := q.each(func(id TaskID, kv ReadOnlyKeyValueStore[K, V]) (bool, error) {
		ser, ok := q.serializer(kv)
		if !ok {
			return true, fmt.Errorf("streams: query store %q: cannot order its keys (%T)", q.name, kv)
		}
		it, err := open(kv)
		if err != nil {
			return true, fmt.Errorf("streams: query store %q (task %s): %w", q.name, id, err)
		}
		// Each store returns its entries in order; one store needs at most
		// limit+1 of them for the merged answer.
		n := 0
		for it.Next() && (limit <= 0 || n <= limit) {
			k := it.Key()
			kb, err := ser.serKey(k)
			if err != nil {
				it.Close()
				return true, err
			}
			all = append(all, queryEntry[K, V]{kb: bytes.Clone(kb), kv: KeyValue[K, V]{Key: k, Value: it.Value()}})
			n++
		}
		if err := it.Close(); err != nil {
			return true, fmt.Errorf("streams: query store %q (task %s): %w", q.name, id, err)
		}
		return false, nil
	})
	if err != nil {
		return nil, false, err
	}
	sort.SliceStable(all, func(i, j int) bool { return bytes.Compare(all[i].kb, all[j].kb) < 0 })
	out, more := firstOf(all, limit, func(e queryEntry[K, V]) KeyValue[K, V] { return e.kv })
	return out, more, nil
}

// firstOf returns the results of sorted entries, at most limit of them
// when limit > 0; more is set when entries were left out.
func firstOf[E, R any](all []E, limit int, result func(E) R) (out []R, more bool) {
	if limit > 0 && len(all) > limit {
		all, more = all[:limit], true
	}
	out = make([]R, len(all))
	for i := range all {
		out[i] = result(all[i])
	}
	return out, more
}

// serializer finds the key serializer behind a typed store (possibly a
// plain view of a table store).
func (q *KeyValueQuery[K, V]) serializer(kv ReadOnlyKeyValueStore[K, V]) (keySerializer[K], bool) {
	if s, ok := kv.(keySerializer[K]); ok {
		return s, true
	}
	if p, ok := kv.(*plainTSView[K, V]); ok {
		return p.s, true
	}
	return nil, false
}

// storeOf is a StoreProvider of one store.
type storeOf struct{ s StateStore }

func (p storeOf) StateStore(string) (StateStore, error) { return p.s, nil }
