package streams

import (
	"bytes"
	"fmt"
	"math"
	"sort"
)

// Interactive queries of window and session stores, next to
// QueryKeyValueStore (query.go): read-only views over this instance's
// running tasks, as Kafka Streams' QueryableStoreTypes.windowStore() and
// sessionStore(). Results are slices (an iterator cannot hold the stream
// threads' locks between calls), merged over the local tasks and sorted by
// window start, window end, then serialized key.

// WindowQuery is a read-only view of a window store over this instance's
// running tasks. Safe for concurrent use.
type WindowQuery[K, V any] struct {
	app  *App
	name string
}

// QueryWindowStore returns a read-only view of the window store name of a
// running application (the store of a windowed aggregation, or one added
// with AddStateStore). For DSL stores V is the aggregate type.
func QueryWindowStore[K, V any](app *App, name string) (*WindowQuery[K, V], error) {
	if err := checkQueryable(app, name); err != nil {
		return nil, err
	}
	return &WindowQuery[K, V]{app: app, name: name}, nil
}

// Name returns the store's name.
func (q *WindowQuery[K, V]) Name() string { return q.name }

func (q *WindowQuery[K, V]) collect(limit int, open func(ReadOnlyWindowStore[K, V]) (WindowIterator[K, V], error)) ([]KeyValue[Windowed[K], V], bool, error) {
	return collectWindows(q.app, q.name, limit, GetWindowStore[K, V], open)
}

// FetchOne returns the value of key's window that starts at windowStart.
func (q *WindowQuery[K, V]) FetchOne(key K, windowStart int64) (value V, ok bool, err error) {
	return findLocal(q.app, q.name, GetWindowStore[K, V], func(ws ReadOnlyWindowStore[K, V]) (V, bool, error) {
		return ws.FetchOne(key, windowStart)
	})
}

// Fetch returns key's windows with timeFrom <= start <= timeTo (ms,
// inclusive), in start order.
func (q *WindowQuery[K, V]) Fetch(key K, timeFrom, timeTo int64) ([]KeyValue[Windowed[K], V], error) {
	out, _, err := q.collect(0, func(ws ReadOnlyWindowStore[K, V]) (WindowIterator[K, V], error) {
		return ws.Fetch(key, timeFrom, timeTo)
	})
	return out, err
}

// FetchAll returns every key's windows with timeFrom <= start <= timeTo,
// in start order, at most limit of them when limit > 0; more is set when
// windows were left out.
func (q *WindowQuery[K, V]) FetchAll(timeFrom, timeTo int64, limit int) (windows []KeyValue[Windowed[K], V], more bool, err error) {
	return q.collect(limit, func(ws ReadOnlyWindowStore[K, V]) (WindowIterator[K, V], error) {
		return ws.FetchAll(timeFrom, timeTo)
	})
}

// All returns every window kept, in start order, at most limit of them when
// limit > 0.
func (q *WindowQuery[K, V]) All(limit int) (windows []KeyValue[Windowed[K], V], more bool, err error) {
	return q.collect(limit, func(ws ReadOnlyWindowStore[K, V]) (WindowIterator[K, V], error) { return ws.All() })
}

// SessionQuery is a read-only view of a session store over this instance's
// running tasks. Safe for concurrent use.
type SessionQuery[K, V any] struct {
	app  *App
	name string
}

// QuerySessionStore returns a read-only view of the session store name of
// a running application.
func QuerySessionStore[K, V any](app *App, name string) (*SessionQuery[K, V], error) {
	if err := checkQueryable(app, name); err != nil {
		return nil, err
	}
	return &SessionQuery[K, V]{app: app, name: name}, nil
}

// Name returns the store's name.
func (q *SessionQuery[K, V]) Name() string { return q.name }

func (q *SessionQuery[K, V]) collect(limit int, open func(ReadOnlySessionStore[K, V]) (WindowIterator[K, V], error)) ([]KeyValue[Windowed[K], V], bool, error) {
	return collectWindows(q.app, q.name, limit, GetSessionStore[K, V], open)
}

// collectWindows merges what open returns from the store name (typed by
// get) of every running local task, sorted by sortWindowed.
func collectWindows[K, V, S any](a *App, name string, limit int, get func(StoreProvider, string) (S, error), open func(S) (WindowIterator[K, V], error)) ([]KeyValue[Windowed[K], V], bool, error) {
	var out []windowedEntry[K, V]
	err := eachTypedStore(a, name, get, func(id TaskID, st StateStore, s S) (bool, error) {
		it, err := open(s)
		if err != nil {
			return true, fmt.Errorf("streams: query store %q (task %s): %w", name, id, err)
		}
		return false, drainWindows(name, id, keySerializerOf[K](st), it, &out)
	})
	if err != nil {
		return nil, false, err
	}
	return sortWindowed(out, limit)
}

// Fetch returns every session of key, in start order.
func (q *SessionQuery[K, V]) Fetch(key K) ([]KeyValue[Windowed[K], V], error) {
	out, _, err := q.collect(0, func(ss ReadOnlySessionStore[K, V]) (WindowIterator[K, V], error) { return ss.Fetch(key) })
	return out, err
}

// FindSessions returns key's sessions that end at or after
// earliestSessionEnd and start at or before latestSessionStart.
func (q *SessionQuery[K, V]) FindSessions(key K, earliestSessionEnd, latestSessionStart int64) ([]KeyValue[Windowed[K], V], error) {
	out, _, err := q.collect(0, func(ss ReadOnlySessionStore[K, V]) (WindowIterator[K, V], error) {
		return ss.FindSessions(key, earliestSessionEnd, latestSessionStart)
	})
	return out, err
}

// All returns every session kept, in start order, at most limit of them
// when limit > 0.
func (q *SessionQuery[K, V]) All(limit int) (sessions []KeyValue[Windowed[K], V], more bool, err error) {
	return q.collect(limit, func(ss ReadOnlySessionStore[K, V]) (WindowIterator[K, V], error) { return ss.All() })
}

// windowedEntry is one result with its serialized key, for ordering.
type windowedEntry[K, V any] struct {
	kb []byte
	kv KeyValue[Windowed[K], V]
}

// keySerializerOf returns the key serializer of a typed store, nil when it
// has none (results then keep the stores' order within a window).
func keySerializerOf[K any](st StateStore) keySerializer[K] {
	ks, _ := st.(keySerializer[K])
	return ks
}

// drainWindows appends what it holds to out and closes it.
func drainWindows[K, V any](store string, id TaskID, ser keySerializer[K], it WindowIterator[K, V], out *[]windowedEntry[K, V]) error {
	var err error
	for it.Next() {
		e := windowedEntry[K, V]{kv: KeyValue[Windowed[K], V]{Key: it.Key(), Value: it.Value()}}
		if ser != nil {
			kb, serr := ser.serKey(e.kv.Key.Key)
			if serr != nil {
				err = serr
				break
			}
			e.kb = bytes.Clone(kb)
		}
		*out = append(*out, e)
	}
	if err == nil {
		err = it.Err()
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("streams: query store %q (task %s): %w", store, id, err)
	}
	return nil
}

// sortWindowed orders results by window start, then end, then serialized
// key, and keeps at most limit of them when limit > 0.
func sortWindowed[K, V any](all []windowedEntry[K, V], limit int) ([]KeyValue[Windowed[K], V], bool, error) {
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i].kv.Key.Window, all[j].kv.Key.Window
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		if a.End != b.End {
			return a.End < b.End
		}
		return bytes.Compare(all[i].kb, all[j].kb) < 0
	})
	out, more := firstOf(all, limit, func(e windowedEntry[K, V]) KeyValue[Windowed[K], V] { return e.kv })
	return out, more, nil
}

// VersionedQuery is a read-only view of a versioned key-value store (the
// store of a table materialized WithVersioning) over this instance's
// running tasks. Safe for concurrent use.
type VersionedQuery[K, V any] struct {
	app  *App
	name string
}

// QueryVersionedKeyValueStore returns a read-only view of the versioned
// store name of a running application.
func QueryVersionedKeyValueStore[K, V any](app *App, name string) (*VersionedQuery[K, V], error) {
	if err := checkQueryable(app, name); err != nil {
		return nil, err
	}
	return &VersionedQuery[K, V]{app: app, name: name}, nil
}

// Name returns the store's name.
func (q *VersionedQuery[K, V]) Name() string { return q.name }

// Get returns key's latest value from the local task that holds it.
func (q *VersionedQuery[K, V]) Get(key K) (VersionedRecord[V], bool, error) {
	return q.GetAsOf(key, math.MaxInt64)
}

// GetAsOf returns the value key had at time asOf, from the local task that
// holds it.
func (q *VersionedQuery[K, V]) GetAsOf(key K, asOf int64) (rec VersionedRecord[V], ok bool, err error) {
	return findLocal(q.app, q.name, GetVersionedKeyValueStore[K, V], func(vs VersionedKeyValueStore[K, V]) (VersionedRecord[V], bool, error) {
		return vs.GetAsOf(key, asOf)
	})
}
