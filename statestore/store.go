package statestore

import "bytes"

// KeyValue is one entry of a key-value store, or one changelog record handed to a
// restore. A nil Value means "delete" (a tombstone), as a null value does in Kafka Streams.
type KeyValue struct {
	Key   []byte
	Value []byte
}

// Store is what every state store has, whatever its kind.
type Store interface {
	// Name is the store's name as the topology knows it (it names the changelog topic,
	// "<application.id>-<name>-changelog").
	Name() string

	// Persistent reports whether the store keeps its data on disk across restarts.
	// An in-memory store is always restored from its changelog from the beginning.
	Persistent() bool

	// Flush makes every write made so far durable in the store (for a persistent store:
	// written and fsynced), so that a checkpoint written after Flush returns never
	// claims more than the store holds. The runtime calls it before it writes a
	// checkpoint and when it closes a task.
	Flush() error

	// Close flushes and releases the store. Every call after Close returns ErrClosed;
	// closing twice returns ErrClosed too. Close ends iterators still open: their next
	// Next returns false and their Err returns ErrClosed (their Close returns nil).
	Close() error
}

// WriteFlusher is a store whose Flush does two things a commit can take apart: passing the
// writes made so far through the store's own layers (a record cache writes its dirty
// entries below, and so forwards and logs them) and making them durable (a persistent
// store's fsync). FlushWrites does the first only. The runtime calls it on every commit
// and calls Flush only before it writes a checkpoint, which it does, as Kafka Streams
// does, once the changelog has moved on by enough records (or when a task closes).
type WriteFlusher interface {
	FlushWrites() error
}

// KeyValueIterator walks entries in key order (byte-wise, as bytes.Compare), or in
// reverse order for the Reverse* calls.
//
// Ownership: the slices returned by Key and Value are valid only until the next call to
// Next or Close and must not be modified; copy them to keep them. An iterator reads a
// snapshot of the store taken when it was created: writes made while it is open are not
// seen by it, and never make it skip or repeat an entry.
//
// An iterator must be closed. It is not safe for concurrent use.
type KeyValueIterator interface {
	// Next moves to the next entry and reports whether there is one. It returns false
	// at the end or on an error; check Err after the loop.
	Next() bool
	// Key is the current entry's key.
	Key() []byte
	// Value is the current entry's value (never nil: deleted entries are not returned).
	Value() []byte
	// Err is the first error met, if any.
	Err() error
	// Close releases the iterator. It returns the first error met, like Err.
	Close() error
}

// ReadOnlyKeyValueStore is the read side of a key-value store, the part interactive
// queries may use from other goroutines.
//
// Bounds: Range(from, to) includes both from and to, as Kafka Streams' range(from, to);
// a nil bound is unbounded on that side; from > to yields an empty iterator. Keys must
// not be nil (ErrNilKey); an empty non-nil key is a valid key.
//
// Returned slices (Get) stay valid after later writes and must not be modified.
type ReadOnlyKeyValueStore interface {
	// Get returns the value of key, or (nil, nil) when the key is absent.
	Get(key []byte) ([]byte, error)
	// Range returns the entries with from <= key <= to, in ascending key order.
	Range(from, to []byte) (KeyValueIterator, error)
	// ReverseRange returns the same entries as Range, in descending key order.
	ReverseRange(from, to []byte) (KeyValueIterator, error)
	// PrefixScan returns the entries whose key starts with prefix, in ascending order.
	PrefixScan(prefix []byte) (KeyValueIterator, error)
	// All returns every entry in ascending key order.
	All() (KeyValueIterator, error)
	// ReverseAll returns every entry in descending key order.
	ReverseAll() (KeyValueIterator, error)
	// ApproximateNumEntries is an estimate of the number of entries. Both implementations
	// here return the exact count; the Badger store walks its keys (without reading
	// values) to do so, so it costs O(entries): call it for metrics and queries, not per
	// record. A caching store returns its store's count, without unflushed writes.
	ApproximateNumEntries() (int64, error)
}

// KeyValueStore is a byte-ordered map from keys to values. Bytes in, bytes out: serdes
// live in package streams.
//
// Writes copy key and value: the caller may reuse its buffers as soon as a call returns.
// A KeyValueStore is safe for concurrent use (one writer, the task, and any number of
// readers, such as interactive queries).
type KeyValueStore interface {
	Store
	ReadOnlyKeyValueStore

	// Put sets key to value. A nil value deletes the key, as in Kafka Streams.
	Put(key, value []byte) error
	// PutIfAbsent sets key to value only when key is absent, and returns the value that
	// was there (nil when it was absent, in which case value was written).
	PutIfAbsent(key, value []byte) ([]byte, error)
	// PutAll applies every entry in order, as one batch (a nil value deletes).
	PutAll(entries []KeyValue) error
	// Delete removes key and returns its old value (nil when it was absent).
	Delete(key []byte) ([]byte, error)
}

// WindowedIterator walks windowed entries: a key, a window (or session) and a value.
// The ownership, snapshot and closing rules of KeyValueIterator apply.
type WindowedIterator interface {
	// Next moves to the next entry and reports whether there is one.
	Next() bool
	// Key is the record key, without the window.
	Key() []byte
	// Start is the window start (window store) or session start (session store), in ms.
	Start() int64
	// End is the window end, Start plus the store's window size (WindowOptions.WindowSize;
	// equal to Start when the size is unknown), or the session end, in ms. As in Kafka
	// Streams, a time window is [Start, End) and a session window is [Start, End].
	End() int64
	// Value is the current entry's value (never nil).
	Value() []byte
	// Err is the first error met, if any.
	Err() error
	// Close releases the iterator and returns the first error met.
	Close() error
}

// ReadOnlyWindowStore is the read side of a window store.
//
// Time bounds are inclusive window starts in ms. Entries whose window start is at or
// before ObservedStreamTime()-retention are expired: no read returns them, even before
// their segment is physically dropped.
//
// Order: a single-key fetch is in window-start order (Backward*: descending). Fetches over
// a key range, FetchAll and All are ordered by (segment, key, window start), where a
// segment is the span of window starts [n*SegmentInterval, (n+1)*SegmentInterval): this
// is the order a key-first layout reads fastest, the order of Kafka Streams' segmented
// RocksDB window stores. Backward variants give exactly the reverse order.
type ReadOnlyWindowStore interface {
	// FetchOne returns the value of key's window that starts at windowStart, or
	// (nil, nil). For a store that retains duplicates it returns one of them.
	FetchOne(key []byte, windowStart int64) ([]byte, error)
	// Fetch returns key's windows with timeFrom <= start <= timeTo, in start order.
	Fetch(key []byte, timeFrom, timeTo int64) (WindowedIterator, error)
	// BackwardFetch is Fetch in descending start order.
	BackwardFetch(key []byte, timeFrom, timeTo int64) (WindowedIterator, error)
	// FetchKeyRange returns the windows of keys keyFrom <= key <= keyTo (nil = unbounded)
	// with timeFrom <= start <= timeTo.
	FetchKeyRange(keyFrom, keyTo []byte, timeFrom, timeTo int64) (WindowedIterator, error)
	// BackwardFetchKeyRange is FetchKeyRange in reverse order.
	BackwardFetchKeyRange(keyFrom, keyTo []byte, timeFrom, timeTo int64) (WindowedIterator, error)
	// FetchAll returns the windows of every key with timeFrom <= start <= timeTo.
	FetchAll(timeFrom, timeTo int64) (WindowedIterator, error)
	// BackwardFetchAll is FetchAll in reverse order.
	BackwardFetchAll(timeFrom, timeTo int64) (WindowedIterator, error)
	// All returns every unexpired window.
	All() (WindowedIterator, error)
	// BackwardAll is All in reverse order.
	BackwardAll() (WindowedIterator, error)
}

// WindowStore keeps one value per (key, window start), or several when it retains
// duplicates (stream-stream joins), for a retention period, in time segments that are
// dropped whole once expired (Kafka Streams' segmented window store).
//
// Writes copy their arguments. Safe for one writer and concurrent readers.
type WindowStore interface {
	Store
	ReadOnlyWindowStore

	// Put sets the value of key's window starting at windowStart (ms, >= 0). A nil value
	// deletes it (ignored by a store that retains duplicates, as in Kafka Streams).
	// windowStart advances the observed stream time. A put whose window start is at or
	// before ObservedStreamTime()-retention is dropped: Put returns nil and the store's
	// WindowOptions.OnExpired hook is called so the runtime can count it.
	Put(key, value []byte, windowStart int64) error
	// ObservedStreamTime is the largest window start put or restored so far, or -1.
	ObservedStreamTime() int64
	// Options returns the store's options, with defaults filled in.
	Options() WindowOptions
}

// Windowed is a key and its session window [Start, End] (both inclusive, in ms).
type Windowed struct {
	Key   []byte
	Start int64
	End   int64
}

// ReadOnlySessionStore is the read side of a session store.
//
// Order: sessions of one key are in (end, start) order, as Kafka Streams' session key
// schema (key || end || start) orders them; across keys, (segment, key, end, start), the
// segment being the span of session ends [n*SegmentInterval, (n+1)*SegmentInterval).
// Backward variants give exactly the reverse order. Sessions whose end is at or before
// ObservedStreamTime()-retention are expired and never returned.
type ReadOnlySessionStore interface {
	// FindSessions returns key's sessions that end at or after earliestSessionEnd and
	// start at or before latestSessionStart: the sessions a record at time t can merge
	// with are FindSessions(key, t-gap, t+gap).
	FindSessions(key []byte, earliestSessionEnd, latestSessionStart int64) (WindowedIterator, error)
	// BackwardFindSessions is FindSessions in reverse order.
	BackwardFindSessions(key []byte, earliestSessionEnd, latestSessionStart int64) (WindowedIterator, error)
	// FindSessionsKeyRange is FindSessions over keys keyFrom <= key <= keyTo (nil = unbounded).
	FindSessionsKeyRange(keyFrom, keyTo []byte, earliestSessionEnd, latestSessionStart int64) (WindowedIterator, error)
	// BackwardFindSessionsKeyRange is FindSessionsKeyRange in reverse order.
	BackwardFindSessionsKeyRange(keyFrom, keyTo []byte, earliestSessionEnd, latestSessionStart int64) (WindowedIterator, error)
	// FetchSession returns the value of exactly that session, or (nil, nil).
	FetchSession(key []byte, start, end int64) ([]byte, error)
	// Fetch returns every session of key.
	Fetch(key []byte) (WindowedIterator, error)
	// BackwardFetch is Fetch in reverse order.
	BackwardFetch(key []byte) (WindowedIterator, error)
	// FetchKeyRange returns every session of keys keyFrom <= key <= keyTo.
	FetchKeyRange(keyFrom, keyTo []byte) (WindowedIterator, error)
	// BackwardFetchKeyRange is FetchKeyRange in reverse order.
	BackwardFetchKeyRange(keyFrom, keyTo []byte) (WindowedIterator, error)
}

// SessionStore keeps session windows per key for a retention period, in time segments
// (by session end) dropped whole once expired.
//
// Writes copy their arguments. Safe for one writer and concurrent readers.
type SessionStore interface {
	Store
	ReadOnlySessionStore

	// Put sets the value of the session; a nil value removes it. The session end
	// advances the observed stream time. A session whose end is at or before
	// ObservedStreamTime()-retention is dropped (Put returns nil and
	// SessionOptions.OnExpired is called). 0 <= Start <= End is required.
	Put(session Windowed, value []byte) error
	// Remove deletes the session.
	Remove(session Windowed) error
	// ObservedStreamTime is the largest session end put or restored so far, or -1.
	ObservedStreamTime() int64
	// Options returns the store's options, with defaults filled in.
	Options() SessionOptions
}

// FlushWrites passes s's writes through its own layers without making them durable
// (WriteFlusher), or flushes it when it cannot do the one without the other.
func FlushWrites(s Store) error {
	if w, ok := s.(WriteFlusher); ok {
		return w.FlushWrites()
	}
	return s.Flush()
}

// FirstValue returns a copy of the value of it's first entry (nil when it has none) and
// closes it; an err passed in is returned as is. It is FetchOne of a store that retains
// duplicates: FirstValue(s.Fetch(key, start, start)).
func FirstValue(it WindowedIterator, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	var v []byte
	if it.Next() {
		v = bytes.Clone(it.Value())
	}
	return v, it.Close()
}
