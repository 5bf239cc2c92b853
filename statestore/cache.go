package statestore

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/tidwall/btree"
)

// DefaultCacheMaxBytes is the default bound of a RecordCache, Kafka Streams' default for
// statestore.cache.max.bytes (10 MiB).
const DefaultCacheMaxBytes = 10 << 20

// cacheEntryOverhead is what each entry costs beyond its key and value bytes (node, list
// links, tree slot), counted against the bound.
const cacheEntryOverhead = 96

// RecordContext is what the cache keeps of the record that last wrote an entry and gives
// back on flush, so the runtime can forward the folded update with the right metadata.
type RecordContext struct {
	// Timestamp is the record's timestamp in ms (the changelog and downstream records
	// carry it).
	Timestamp int64
	// Topic, Partition and Offset locate the record that caused the write.
	Topic     string
	Partition int32
	Offset    int64
	// Headers are the record's headers, in whatever type the runtime uses; the cache
	// does not look at them.
	Headers any
}

// DirtyEntry is one folded update handed to a namespace's flush listener.
type DirtyEntry struct {
	// Key and Value (nil for a delete) of the update. Both stay valid after the listener
	// returns and must not be modified.
	Key   []byte
	Value []byte
	// Context is the context of the last write to the key.
	Context RecordContext
}

// FlushListener receives the dirty entries of one namespace, in the order of their last
// update, when the namespace is flushed or one of its dirty entries is evicted. It runs on
// the goroutine that caused the flush, without the cache's lock held: it may write to
// other namespaces (which may flush them in turn). An error is returned to the caller of
// the write or Flush that caused it; the entries are clean by then.
type FlushListener func(entries []DirtyEntry) error

// RecordCache is the record cache of an application instance: one byte bound over every
// store's namespace (Kafka Streams' statestore.cache.max.bytes), entries evicted in LRU
// order, repeated updates of a key folded until a flush, and dirty entries handed to
// their namespace's FlushListener on Flush and when eviction reaches one. Folding is what
// turns a stream of updates to one key into one changelog record and one downstream
// record per commit interval.
//
// When a write takes the cache over its bound, entries are evicted from the namespace
// being written, least recently used first, as Kafka Streams' ThreadCache does: a write
// never makes another store's listener run. Evicting a dirty entry flushes its whole
// namespace first, so downstream sees updates in order.
//
// A RecordCache is safe for concurrent use; a namespace has one writer (its task).
type RecordCache struct {
	mu       sync.Mutex
	maxBytes int64
	size     int64
	spaces   map[string]*CacheNamespace
	closed   bool
}

// NewRecordCache returns a cache bounded to maxBytes (0 or less: DefaultCacheMaxBytes).
func NewRecordCache(maxBytes int64) *RecordCache {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheMaxBytes
	}
	return &RecordCache{maxBytes: maxBytes, spaces: make(map[string]*CacheNamespace)}
}

// MaxBytes is the cache's bound.
func (c *RecordCache) MaxBytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxBytes
}

// SizeBytes is what the cache holds now, overhead included.
func (c *RecordCache) SizeBytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

// Resize changes the bound (Kafka Streams resizes its caches when threads are added or
// removed). Entries over a smaller bound are evicted by later writes.
func (c *RecordCache) Resize(maxBytes int64) {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheMaxBytes
	}
	c.mu.Lock()
	c.maxBytes = maxBytes
	c.mu.Unlock()
}

// Namespace registers a namespace (one per store of a task, for example
// "<task>-<store>") with its flush listener. ErrDuplicateNamespace if it exists.
func (c *RecordCache) Namespace(name string, onFlush FlushListener) (*CacheNamespace, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("statestore: cache namespace %q: %w", name, ErrClosed)
	}
	if _, ok := c.spaces[name]; ok {
		return nil, fmt.Errorf("%w: %q", ErrDuplicateNamespace, name)
	}
	ns := &CacheNamespace{
		c:       c,
		name:    name,
		onFlush: onFlush,
		tree:    btree.NewBTreeGOptions(nodeLess, btree.Options{NoLocks: true}),
	}
	c.spaces[name] = ns
	return ns, nil
}

// cacheNode is one entry: in the namespace's tree (by key), its LRU list and, when
// dirty, its dirty list.
type cacheNode struct {
	key        []byte
	value      []byte
	tombstone  bool // value is a pending delete
	dirty      bool
	ctx        RecordContext
	prev, next *cacheNode // LRU: head is most recent
	dprev      *cacheNode // dirty list: head is oldest update
	dnext      *cacheNode
}

func nodeLess(a, b *cacheNode) bool { return bytes.Compare(a.key, b.key) < 0 }

func (n *cacheNode) size() int64 { return int64(len(n.key)+len(n.value)) + cacheEntryOverhead }

// CacheNamespace is one store's part of a RecordCache.
type CacheNamespace struct {
	c        *RecordCache
	name     string
	onFlush  FlushListener
	tree     *btree.BTreeG[*cacheNode]
	lruHead  *cacheNode
	lruTail  *cacheNode
	dirtyOld *cacheNode
	dirtyNew *cacheNode
	ndirty   int
	closed   bool

	flushMu sync.Mutex // one flush of this namespace at a time
	hits    int64
	misses  int64
}

// Name is the namespace's name.
func (ns *CacheNamespace) Name() string { return ns.name }

// CacheLookup is the result of CacheNamespace.Get.
type CacheLookup struct {
	// Found is set when the cache has the key, as a value or as a pending delete.
	Found bool
	// Deleted is set when what the cache has is a pending delete.
	Deleted bool
	// Value is the cached value (nil when not Found or Deleted). It must not be modified.
	Value []byte
}

// Get looks key up, making it most recently used.
func (ns *CacheNamespace) Get(key []byte) CacheLookup {
	c := ns.c
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := ns.tree.Get(&cacheNode{key: key})
	if !ok || ns.closed {
		ns.misses++
		return CacheLookup{}
	}
	ns.hits++
	ns.touch(n)
	return CacheLookup{Found: true, Deleted: n.tombstone, Value: n.value}
}

// HitRatio returns the hits and misses of Get so far.
func (ns *CacheNamespace) HitRatio() (hits, misses int64) {
	ns.c.mu.Lock()
	defer ns.c.mu.Unlock()
	return ns.hits, ns.misses
}

// Put writes a dirty entry (value nil: a pending delete), folding it into an earlier one
// for the same key. It copies key and value. If the cache goes over its bound, entries of
// this namespace are evicted, which may flush it (see FlushListener).
func (ns *CacheNamespace) Put(key, value []byte, ctx RecordContext) error {
	return ns.put(key, value, true, ctx)
}

// PutClean caches a value read from the store (not to be flushed). It does nothing if the
// key is already cached: a clean read never replaces a dirty write.
func (ns *CacheNamespace) PutClean(key, value []byte) error {
	if value == nil {
		return nil
	}
	return ns.put(key, value, false, RecordContext{})
}

func (ns *CacheNamespace) put(key, value []byte, dirty bool, ctx RecordContext) error {
	c := ns.c
	c.mu.Lock()
	if ns.closed {
		c.mu.Unlock()
		return fmt.Errorf("statestore: cache namespace %q: %w", ns.name, ErrClosed)
	}
	n, ok := ns.tree.Get(&cacheNode{key: key})
	if ok && !dirty {
		c.mu.Unlock()
		return nil
	}
	buf := make([]byte, len(key)+len(value))
	copy(buf, key)
	copy(buf[len(key):], value)
	k, v := buf[:len(key):len(key)], buf[len(key):]
	if value == nil {
		v = nil
	}
	if ok {
		c.size -= n.size()
		n.value, n.tombstone, n.ctx = v, value == nil, ctx
		c.size += n.size()
		ns.touch(n)
	} else {
		n = &cacheNode{key: k, value: v, tombstone: value == nil, ctx: ctx}
		ns.tree.Set(n)
		ns.pushLRU(n)
		c.size += n.size()
	}
	if dirty {
		ns.markDirty(n)
	}
	return ns.evictLocked() // unlocks
}

// evictLocked evicts from ns while the cache is over its bound, flushing ns when the
// victim is dirty. Called with c.mu held; returns with it released.
func (ns *CacheNamespace) evictLocked() error {
	c := ns.c
	for c.size > c.maxBytes && ns.lruTail != nil {
		victim := ns.lruTail
		if victim.dirty {
			c.mu.Unlock()
			if err := ns.Flush(); err != nil {
				return err
			}
			c.mu.Lock()
			if ns.closed {
				break
			}
			continue // the flush made it clean (unless rewritten meanwhile): look again
		}
		ns.remove(victim)
	}
	c.mu.Unlock()
	return nil
}

// Flush hands the dirty entries to the flush listener, in the order of their last update,
// and marks them clean.
func (ns *CacheNamespace) Flush() error {
	ns.flushMu.Lock()
	defer ns.flushMu.Unlock()
	c := ns.c
	c.mu.Lock()
	if ns.ndirty == 0 {
		c.mu.Unlock()
		return nil
	}
	entries := make([]DirtyEntry, 0, ns.ndirty)
	var deletes []*cacheNode
	for n := ns.dirtyOld; n != nil; {
		next := n.dnext
		entries = append(entries, DirtyEntry{Key: n.key, Value: n.value, Context: n.ctx})
		n.dirty, n.dprev, n.dnext = false, nil, nil
		if n.tombstone {
			deletes = append(deletes, n)
		}
		n = next
	}
	ns.dirtyOld, ns.dirtyNew, ns.ndirty = nil, nil, 0
	c.mu.Unlock()
	var err error
	if ns.onFlush != nil {
		if lerr := ns.onFlush(entries); lerr != nil {
			err = fmt.Errorf("statestore: cache namespace %q: flush listener: %w", ns.name, lerr)
		}
	}
	if len(deletes) > 0 {
		// A delete, once written to the store by the listener, need not stay cached;
		// until then it hides the store's old value from readers.
		c.mu.Lock()
		for _, n := range deletes {
			if cur, ok := ns.tree.Get(n); ok && cur == n && !n.dirty && n.tombstone {
				ns.remove(n)
			}
		}
		c.mu.Unlock()
	}
	return err
}

// Range returns the cached entries with from <= key <= to (nil: unbounded), pending
// deletes included (Value nil), in key order or reverse. It is a copy: later writes do
// not change it.
func (ns *CacheNamespace) Range(from, to []byte, reverse bool) []KeyValue {
	c := ns.c
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []KeyValue
	visit := func(n *cacheNode) bool {
		if to != nil && bytes.Compare(n.key, to) > 0 {
			return false
		}
		out = append(out, KeyValue{Key: n.key, Value: n.value})
		return true
	}
	if from == nil {
		ns.tree.Scan(visit)
	} else {
		ns.tree.Ascend(&cacheNode{key: from}, visit)
	}
	if reverse {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// Len is the number of entries cached in the namespace.
func (ns *CacheNamespace) Len() int {
	ns.c.mu.Lock()
	defer ns.c.mu.Unlock()
	return ns.tree.Len()
}

// Clear drops every entry of the namespace, dirty ones included, without flushing (the
// runtime does this when a task's state is wiped or restored).
func (ns *CacheNamespace) Clear() {
	c := ns.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for ns.lruTail != nil {
		ns.remove(ns.lruTail)
	}
}

// Close flushes the namespace and unregisters it.
func (ns *CacheNamespace) Close() error {
	err := ns.Flush()
	c := ns.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if ns.closed {
		return fmt.Errorf("statestore: cache namespace %q: close: %w", ns.name, ErrClosed)
	}
	for ns.lruTail != nil {
		ns.remove(ns.lruTail)
	}
	ns.closed = true
	delete(c.spaces, ns.name)
	return err
}

// list plumbing, with c.mu held

func (ns *CacheNamespace) pushLRU(n *cacheNode) {
	n.prev, n.next = nil, ns.lruHead
	if ns.lruHead != nil {
		ns.lruHead.prev = n
	}
	ns.lruHead = n
	if ns.lruTail == nil {
		ns.lruTail = n
	}
}

func (ns *CacheNamespace) unlinkLRU(n *cacheNode) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		ns.lruHead = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		ns.lruTail = n.prev
	}
	n.prev, n.next = nil, nil
}

func (ns *CacheNamespace) touch(n *cacheNode) {
	if ns.lruHead == n {
		return
	}
	ns.unlinkLRU(n)
	ns.pushLRU(n)
}

func (ns *CacheNamespace) markDirty(n *cacheNode) {
	if n.dirty {
		ns.unlinkDirty(n)
	}
	n.dirty = true
	n.dprev, n.dnext = ns.dirtyNew, nil
	if ns.dirtyNew != nil {
		ns.dirtyNew.dnext = n
	}
	ns.dirtyNew = n
	if ns.dirtyOld == nil {
		ns.dirtyOld = n
	}
	ns.ndirty++
}

func (ns *CacheNamespace) unlinkDirty(n *cacheNode) {
	if n.dprev != nil {
		n.dprev.dnext = n.dnext
	} else {
		ns.dirtyOld = n.dnext
	}
	if n.dnext != nil {
		n.dnext.dprev = n.dprev
	} else {
		ns.dirtyNew = n.dprev
	}
	n.dprev, n.dnext = nil, nil
	n.dirty = false
	ns.ndirty--
}

func (ns *CacheNamespace) remove(n *cacheNode) {
	if n.dirty {
		ns.unlinkDirty(n)
	}
	ns.unlinkLRU(n)
	ns.tree.Delete(n)
	ns.c.size -= n.size()
}
