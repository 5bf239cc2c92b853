package streams

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/rivulet-io/rivulet/statestore"
)

// RecordCache folds updates of table and aggregation stores between
// commits, bounded in bytes, as Kafka Streams' ThreadCache: one per stream
// thread (cache.max.bytes is split evenly over the threads), shared by the
// thread's tasks, each store a namespace in it. When a put goes over the
// budget, the least recently used entry is evicted; if it is dirty, its
// whole namespace is flushed first, so a store's downstream sees its
// updates in order. A commit flushes every namespace.
//
// Flushing writes dirty entries to the store (and its changelog) and
// forwards them downstream: repeated updates of a key between two flushes
// reach downstream once. A budget of 0 disables folding.
//
// This is the streams-side cache: it works in serialized bytes, as the
// statestore contracts do, so it fits in front of any statestore store.
//
// Its methods are safe for concurrent use (interactive queries read through
// it); flush listeners run without its lock held.
type RecordCache struct {
	mu       sync.Mutex
	maxBytes int64
	size     int64
	head     centry // sentinel of the LRU list: head.next is the eldest
	spaces   map[string]*cacheNamespace
	// stats
	hits, misses, evictions, flushes int64
}

// NewRecordCache returns a cache holding at most maxBytes of keys and values
// (plus a small per-entry overhead).
func NewRecordCache(maxBytes int64) *RecordCache {
	if maxBytes < 0 {
		maxBytes = 0
	}
	c := &RecordCache{maxBytes: maxBytes, spaces: make(map[string]*cacheNamespace)}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

// CacheStats are counters of a RecordCache.
type CacheStats struct {
	Hits, Misses, Evictions, Flushes int64
	// Bytes is the current size; MaxBytes the budget.
	Bytes, MaxBytes int64
}

// Stats returns the cache's counters.
func (c *RecordCache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Hits: c.hits, Misses: c.misses, Evictions: c.evictions, Flushes: c.flushes, Bytes: c.size, MaxBytes: c.maxBytes}
}

// entryOverhead approximates the memory an entry costs beyond its bytes.
const entryOverhead = 96

type centry struct {
	prev, next *centry
	ns         *cacheNamespace
	key        string
	value      []byte
	ts         int64
	dirty      bool
}

func (e *centry) size() int64 { return int64(len(e.key)+len(e.value)) + entryOverhead }

type cacheEntry struct {
	key       []byte
	value     []byte
	timestamp int64
}

type cacheNamespace struct {
	c       *RecordCache
	name    string
	entries map[string]*centry
	dirty   []*centry // in the order they became dirty
	flushFn func([]cacheEntry) error
	closed  bool
	// flushing guards against a flush listener re-entering its own
	// namespace's flush through an eviction.
	flushing bool
}

func (c *RecordCache) namespace(name string, flush func([]cacheEntry) error) (*cacheNamespace, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.spaces[name]; ok {
		return nil, fmt.Errorf("streams: record cache: namespace %q already registered", name)
	}
	ns := &cacheNamespace{c: c, name: name, entries: make(map[string]*centry), flushFn: flush}
	c.spaces[name] = ns
	return ns, nil
}

func (c *RecordCache) unlink(e *centry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (c *RecordCache) pushBack(e *centry) {
	e.prev = c.head.prev
	e.next = &c.head
	c.head.prev.next = e
	c.head.prev = e
}

// get returns the cached value of key (nil for a cached delete) and whether
// the cache holds key.
func (ns *cacheNamespace) get(key []byte) ([]byte, bool) {
	c := ns.c
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := ns.entries[string(key)]
	if !ok {
		c.misses++
		return nil, false
	}
	c.hits++
	c.unlink(e)
	c.pushBack(e)
	return e.value, true
}

// put caches a dirty value (nil deletes) and evicts what goes over budget.
func (ns *cacheNamespace) put(key, value []byte, ts int64) error {
	c := ns.c
	c.mu.Lock()
	if ns.closed {
		c.mu.Unlock()
		return errors.New("streams: record cache: namespace closed")
	}
	e, ok := ns.entries[string(key)]
	if ok {
		c.size -= e.size()
		c.unlink(e)
	} else {
		e = &centry{ns: ns, key: string(key)}
		ns.entries[e.key] = e
	}
	e.value = value
	e.ts = ts
	if !e.dirty {
		e.dirty = true
		ns.dirty = append(ns.dirty, e)
	}
	c.size += e.size()
	c.pushBack(e)
	c.mu.Unlock()
	return c.evict()
}

// evict removes eldest entries until the cache fits its budget, flushing
// the namespace of a dirty one first.
func (c *RecordCache) evict() error {
	for {
		c.mu.Lock()
		if c.size <= c.maxBytes || c.head.next == &c.head {
			c.mu.Unlock()
			return nil
		}
		e := c.head.next
		ns := e.ns
		if e.dirty {
			if ns.flushing {
				// The namespace is flushing already (a listener wrote back
				// into it); let that flush finish, then evict.
				c.mu.Unlock()
				return nil
			}
			c.mu.Unlock()
			if err := ns.flush(); err != nil {
				return err
			}
			continue
		}
		c.unlink(e)
		delete(ns.entries, e.key)
		c.size -= e.size()
		c.evictions++
		c.mu.Unlock()
	}
}

// flush hands every dirty entry, in order, to the namespace's listener and
// marks them clean.
func (ns *cacheNamespace) flush() error {
	c := ns.c
	for {
		c.mu.Lock()
		if len(ns.dirty) == 0 || ns.flushing {
			c.mu.Unlock()
			return nil
		}
		ns.flushing = true
		batch := make([]cacheEntry, 0, len(ns.dirty))
		for _, e := range ns.dirty {
			e.dirty = false
			batch = append(batch, cacheEntry{key: []byte(e.key), value: e.value, timestamp: e.ts})
			if e.value == nil && e.prev != nil {
				// A flushed delete need not stay cached.
				c.unlink(e)
				delete(ns.entries, e.key)
				c.size -= e.size()
			}
		}
		ns.dirty = ns.dirty[:0]
		c.flushes++
		c.mu.Unlock()
		err := ns.flushFn(batch)
		c.mu.Lock()
		ns.flushing = false
		c.mu.Unlock()
		if err != nil {
			return err
		}
		// A listener may have written into this namespace again; loop.
	}
}

func (ns *cacheNamespace) len() int {
	ns.c.mu.Lock()
	defer ns.c.mu.Unlock()
	return len(ns.entries)
}

// close drops the namespace's entries without flushing them.
func (ns *cacheNamespace) close() {
	c := ns.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range ns.entries {
		if e.prev != nil {
			c.unlink(e)
		}
		c.size -= e.size()
	}
	ns.entries = nil
	ns.dirty = nil
	ns.closed = true
	delete(c.spaces, ns.name)
}

// snapshot returns the cached entries with lo <= key <= hi (nil bounds are
// open), sorted by key (descending when reverse).
func (ns *cacheNamespace) snapshot(lo, hi []byte, reverse bool) []cacheEntry {
	ns.c.mu.Lock()
	var out []cacheEntry
	for _, e := range ns.entries {
		k := []byte(e.key)
		if lo != nil && bytes.Compare(k, lo) < 0 || hi != nil && bytes.Compare(k, hi) > 0 {
			continue
		}
		out = append(out, cacheEntry{key: k, value: e.value, timestamp: e.ts})
	}
	ns.c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if reverse {
			return bytes.Compare(out[i].key, out[j].key) > 0
		}
		return bytes.Compare(out[i].key, out[j].key) < 0
	})
	return out
}

// mergedIterator merges a store iterator with a sorted cache snapshot: a
// cached entry replaces the store's entry for its key, and a cached delete
// hides it.
type mergedIterator struct {
	store   statestore.KeyValueIterator
	cache   []cacheEntry
	reverse bool
	sOK     bool
	sDone   bool
	k, v    []byte
}

func newMergedIterator(store statestore.KeyValueIterator, cache []cacheEntry, reverse bool) *mergedIterator {
	return &mergedIterator{store: store, cache: cache, reverse: reverse}
}

func (m *mergedIterator) cmp(a, b []byte) int {
	c := bytes.Compare(a, b)
	if m.reverse {
		return -c
	}
	return c
}

func (m *mergedIterator) Next() bool {
	for {
		if !m.sOK && !m.sDone {
			m.sOK = m.store.Next()
			m.sDone = !m.sOK
		}
		switch {
		case !m.sOK && len(m.cache) == 0:
			return false
		case !m.sOK || len(m.cache) > 0 && m.cmp(m.cache[0].key, m.store.Key()) <= 0:
			ce := m.cache[0]
			m.cache = m.cache[1:]
			if m.sOK && bytes.Equal(ce.key, m.store.Key()) {
				m.sOK = false // the cache overrides the store's entry
			}
			if ce.value == nil {
				continue
			}
			m.k, m.v = ce.key, ce.value
			return true
		default:
			m.k, m.v = m.store.Key(), m.store.Value()
			m.sOK = false
			return true
		}
	}
}

func (m *mergedIterator) Key() []byte   { return m.k }
func (m *mergedIterator) Value() []byte { return m.v }
func (m *mergedIterator) Err() error    { return m.store.Err() }
func (m *mergedIterator) Close() error  { return m.store.Close() }
