package statestore

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/tidwall/btree"
)

// DefaultCacheMaxBytes is the default bound of a RecordCache, Kafka Streams' default for
// statestore.cache.max.bytes (10 MiB).
const DefaultCacheMaxBytes = 10 << 20

// cacheEntryOverhead is what each entry is counted beyond its key and value bytes. Like
// Kafka Streams' estimate (key, value, record context and list links), it is a fixed
// charge rather than the heap's truth: measured, an entry's slot, its share of the hash
// index and its allocation rounding come to ~215 bytes (BenchmarkCache/footprint). The
// figure stays what it has been, so a given bound holds the number of entries users sized
// it for.
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
	// OldValue is the value the store holds for the key before this update is written
	// (nil: none), valid when OldValueKnown is set. The cache knows it when the key was
	// cached clean at its first update since the last flush: read from the store through
	// PutClean, or written to the store by an earlier flush. A listener that needs old
	// values (Kafka Streams' sendOldValues) reads the store only when it is not known.
	// It stays valid after the listener returns and must not be modified.
	OldValue      []byte
	OldValueKnown bool
}

// FlushListener receives the dirty entries of one namespace, in the order of their last
// update, when the namespace is flushed or one of its dirty entries is evicted. It runs on
// the goroutine that caused the flush, without the cache's lock held: it may write to
// other namespaces (which may flush them in turn). An error is returned to the caller of
// the write or Flush that caused it; the entries are clean by then. The slice is reused
// after the call: a listener keeps no reference to it (the keys and values it holds may
// be kept).
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
// Namespaces share only the byte count, so tasks on different threads do not contend.
type RecordCache struct {
	maxBytes atomic.Int64
	size     atomic.Int64

	mu     sync.Mutex // guards spaces
	spaces map[string]*CacheNamespace
	closed bool
}

// NewRecordCache returns a cache bounded to maxBytes (0 or less: DefaultCacheMaxBytes).
func NewRecordCache(maxBytes int64) *RecordCache {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheMaxBytes
	}
	c := &RecordCache{spaces: make(map[string]*CacheNamespace)}
	c.maxBytes.Store(maxBytes)
	return c
}

// MaxBytes is the cache's bound.
func (c *RecordCache) MaxBytes() int64 { return c.maxBytes.Load() }

// SizeBytes is what the cache holds now, overhead included.
func (c *RecordCache) SizeBytes() int64 { return c.size.Load() }

// Resize changes the bound (Kafka Streams resizes its caches when threads are added or
// removed). Entries over a smaller bound are evicted by later writes.
func (c *RecordCache) Resize(maxBytes int64) {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheMaxBytes
	}
	c.maxBytes.Store(maxBytes)
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
	ns := &CacheNamespace{c: c, name: name, onFlush: onFlush}
	ns.reset()
	c.spaces[name] = ns
	return ns, nil
}

// nilSlot ends the slot lists.
const nilSlot = -1

// cacheSlot is one entry of a namespace. Slots live in pages and link each other by
// index, so an entry costs no allocation of its own (only its bytes do) and the lists
// hold no pointers for the GC to chase; the hash index maps keys to slots.
type cacheSlot struct {
	key   []byte // immutable while the slot holds it; the index's key aliases it
	value []byte // nil: a pending delete (tombstone set) or a free slot
	ctx   RecordContext
	// old is the store's value before the pending update, when oldKnown (see
	// DirtyEntry.OldValue); nil while clean.
	old []byte
	// LRU list (prev is more recent; head is the most recent) and, when dirty, the dirty
	// list (head is the oldest update). Free slots chain through next.
	prev, next   int32
	dprev, dnext int32
	gen          uint32 // bumped each time the slot is freed, so stale references fail
	tombstone    bool
	dirty        bool
	oldKnown     bool
}

func (s *cacheSlot) size() int64 {
	return int64(len(s.key)+len(s.value)+len(s.old)) + cacheEntryOverhead
}

// orderedKey is an entry of a namespace's ordered index: a key and its slot.
type orderedKey struct {
	key  []byte
	slot int32
}

func orderedLess(a, b orderedKey) bool { return bytes.Compare(a.key, b.key) < 0 }

// CacheNamespace is one store's part of a RecordCache.
//
// Point reads and writes go through a hash index (the lookup hashes the key bytes without
// allocating). Key order is only needed by Range, which the windowed caching stores and
// merged iterators use; the ordered index is built the first time Range is called and
// kept up to date from then on, so a namespace that is never scanned (a count, a table)
// never pays for it.
type CacheNamespace struct {
	c       *RecordCache
	name    string
	onFlush FlushListener

	mu       sync.Mutex // guards everything below
	index    map[string]int32
	pages    [][]cacheSlot // slot i is pages[i>>slotPageBits][i&slotPageMask]
	nslots   int32
	free     int32 // head of the free-slot chain
	lruHead  int32
	lruTail  int32
	dirtyOld int32
	dirtyNew int32
	ndirty   int
	bytes    int64                     // this namespace's share of c.size
	ordered  *btree.BTreeG[orderedKey] // nil until the first Range
	closed   bool
	// unsynced is set when a flush listener failed: clean entries may then differ from
	// the store, so no old value is known until Clear.
	unsynced bool
	hits     int64
	misses   int64

	flushMu sync.Mutex // one flush of this namespace at a time
	// flushBuf is the entries slice of the last flush, emptied, for the next one (guarded
	// by flushMu): a count over new keys flushes at every eviction, and new slices were
	// 0.55 GB of the 8.4 GB it allocated over 5M keys.
	flushBuf []DirtyEntry
}

// maxFlushBuf is the most entries a namespace keeps its flush slice for between flushes.
const maxFlushBuf = 1 << 16

// Name is the namespace's name.
func (ns *CacheNamespace) Name() string { return ns.name }

// reset empties the namespace's structures (with mu held, or before it is shared).
func (ns *CacheNamespace) reset() {
	ns.c.size.Add(-ns.bytes)
	ns.bytes = 0
	ns.index = make(map[string]int32)
	ns.pages, ns.nslots = nil, 0
	ns.free, ns.lruHead, ns.lruTail, ns.dirtyOld, ns.dirtyNew = nilSlot, nilSlot, nilSlot, nilSlot, nilSlot
	ns.ndirty = 0
	ns.ordered = nil
	ns.unsynced = false
}

// indexKey is the hash index's key for b: a string sharing b's bytes, which never
// change while the slot holds them.
func indexKey(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

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
	ns.mu.Lock()
	defer ns.mu.Unlock()
	i, ok := ns.index[string(key)]
	if !ok || ns.closed {
		ns.misses++
		return CacheLookup{}
	}
	ns.hits++
	ns.touch(i)
	s := ns.slot(i)
	return CacheLookup{Found: true, Deleted: s.tombstone, Value: s.value}
}

// HitRatio returns the hits and misses of Get so far.
func (ns *CacheNamespace) HitRatio() (hits, misses int64) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
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
	ns.mu.Lock()
	if ns.closed {
		ns.mu.Unlock()
		return fmt.Errorf("statestore: cache namespace %q: %w", ns.name, ErrClosed)
	}
	i, ok := ns.index[string(key)]
	if ok && !dirty {
		ns.mu.Unlock()
		return nil
	}
	return ns.putLocked(i, ok, key, value, false, dirty, ctx)
}

// putLocked writes key's entry, slot i when found. owned: value is the caller's to give
// away (not copied). Called with ns.mu held; returns with it released.
func (ns *CacheNamespace) putLocked(i int32, found bool, key, value []byte, owned, dirty bool, ctx RecordContext) error {
	if found {
		// A new value, never written over the old one: readers may still hold it.
		s := ns.slot(i)
		v := value
		if value != nil && !owned {
			v = make([]byte, len(value))
			copy(v, value)
		}
		delta := int64(len(v) - len(s.value))
		if !s.dirty && !ns.unsynced {
			// The first update since the key was clean: what it held is what the store
			// holds (a clean pending delete was written: the store has nothing).
			if !s.tombstone {
				s.old = s.value
				delta += int64(len(s.old))
			}
			s.oldKnown = true
		}
		s.value, s.tombstone, s.ctx = v, value == nil, ctx
		if delta != 0 {
			// An update of the same size (a count) leaves the size shared by every
			// stream thread's namespaces alone, so the threads do not write one cache
			// line for every record.
			ns.bytes += delta
			ns.c.size.Add(delta)
		}
		ns.touch(i)
	} else {
		// One allocation for a new entry's key and value (the key alone when the value
		// is owned).
		var buf, v []byte
		if owned {
			buf = make([]byte, len(key))
			copy(buf, key)
			v = value
		} else {
			buf = make([]byte, len(key)+len(value))
			copy(buf, key)
			copy(buf[len(key):], value)
			if value != nil {
				v = buf[len(key):]
			}
		}
		i = ns.allocSlot()
		s := ns.slot(i)
		s.key, s.value, s.tombstone, s.ctx = buf[:len(key):len(key)], v, value == nil, ctx
		ns.index[indexKey(s.key)] = i
		ns.pushLRU(i)
		if ns.ordered != nil {
			ns.ordered.Set(orderedKey{key: s.key, slot: i})
		}
		sz := s.size()
		ns.bytes += sz
		ns.c.size.Add(sz)
	}
	if dirty {
		ns.markDirty(i)
	}
	return ns.evictLocked() // unlocks
}

// evictLocked evicts from ns while the cache is over its bound, flushing ns when the
// victim is dirty. Called with ns.mu held; returns with it released.
func (ns *CacheNamespace) evictLocked() error {
	c := ns.c
	for c.size.Load() > c.maxBytes.Load() && ns.lruTail != nilSlot {
		victim := ns.lruTail
		if ns.slot(victim).dirty {
			ns.mu.Unlock()
			if err := ns.Flush(); err != nil {
				return err
			}
			ns.mu.Lock()
			if ns.closed {
				break
			}
			continue // the flush made it clean (unless rewritten meanwhile): look again
		}
		ns.remove(victim)
	}
	ns.mu.Unlock()
	return nil
}

// slotRef names a slot as it was when taken, to find it again after the lock was
// released.
type slotRef struct {
	slot int32
	gen  uint32
}

// Flush hands the dirty entries to the flush listener, in the order of their last update,
// and marks them clean.
func (ns *CacheNamespace) Flush() error {
	ns.flushMu.Lock()
	defer ns.flushMu.Unlock()
	ns.mu.Lock()
	if ns.ndirty == 0 {
		ns.mu.Unlock()
		return nil
	}
	entries := ns.flushBuf[:0]
	if cap(entries) < ns.ndirty {
		entries = make([]DirtyEntry, 0, ns.ndirty)
	}
	var deletes []slotRef
	for i := ns.dirtyOld; i != nilSlot; {
		s := ns.slot(i)
		next := s.dnext
		entries = append(entries, DirtyEntry{Key: s.key, Value: s.value, Context: s.ctx, OldValue: s.old, OldValueKnown: s.oldKnown})
		if s.old != nil {
			ns.bytes -= int64(len(s.old))
			ns.c.size.Add(-int64(len(s.old)))
		}
		s.dirty, s.dprev, s.dnext, s.old, s.oldKnown = false, nilSlot, nilSlot, nil, false
		if s.tombstone {
			deletes = append(deletes, slotRef{i, s.gen})
		}
		i = next
	}
	ns.dirtyOld, ns.dirtyNew, ns.ndirty = nilSlot, nilSlot, 0
	ns.mu.Unlock()
	var err error
	if ns.onFlush != nil {
		if lerr := ns.onFlush(entries); lerr != nil {
			err = fmt.Errorf("statestore: cache namespace %q: flush listener: %w", ns.name, lerr)
			ns.mu.Lock()
			ns.unsynced = true
			ns.mu.Unlock()
		}
	}
	clear(entries) // hold no keys or values until the next flush
	if cap(entries) <= maxFlushBuf {
		ns.flushBuf = entries[:0]
	}
	if len(deletes) > 0 {
		// A delete, once written to the store by the listener, need not stay cached;
		// until then it hides the store's old value from readers.
		ns.mu.Lock()
		for _, r := range deletes {
			if r.slot < ns.nslots {
				if s := ns.slot(r.slot); s.gen == r.gen && s.key != nil && !s.dirty && s.tombstone {
					ns.remove(r.slot)
				}
			}
		}
		ns.mu.Unlock()
	}
	return err
}

// Range returns the cached entries with from <= key <= to (nil: unbounded), pending
// deletes included (Value nil), in key order or reverse. It is a copy: later writes do
// not change it.
func (ns *CacheNamespace) Range(from, to []byte, reverse bool) []KeyValue {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.ordered == nil {
		ns.buildOrdered()
	}
	var out []KeyValue
	visit := func(o orderedKey) bool {
		if to != nil && bytes.Compare(o.key, to) > 0 {
			return false
		}
		out = append(out, KeyValue{Key: o.key, Value: ns.slot(o.slot).value})
		return true
	}
	if from == nil {
		ns.ordered.Scan(visit)
	} else {
		ns.ordered.Ascend(orderedKey{key: from}, visit)
	}
	if reverse {
		slices.Reverse(out)
	}
	return out
}

// buildOrdered builds the ordered index from the live entries: sorted once, then loaded.
func (ns *CacheNamespace) buildOrdered() {
	keys := make([]orderedKey, 0, len(ns.index))
	for _, i := range ns.index {
		keys = append(keys, orderedKey{key: ns.slot(i).key, slot: i})
	}
	slices.SortFunc(keys, func(a, b orderedKey) int { return bytes.Compare(a.key, b.key) })
	ns.ordered = btree.NewBTreeGOptions(orderedLess, btree.Options{NoLocks: true})
	for _, k := range keys {
		ns.ordered.Load(k)
	}
}

// Len is the number of entries cached in the namespace.
func (ns *CacheNamespace) Len() int {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return len(ns.index)
}

// Clear drops every entry of the namespace, dirty ones included, without flushing (the
// runtime does this when a task's state is wiped or restored).
func (ns *CacheNamespace) Clear() {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.reset()
}

// Close flushes the namespace and unregisters it.
func (ns *CacheNamespace) Close() error {
	err := ns.Flush()
	ns.mu.Lock()
	if ns.closed {
		ns.mu.Unlock()
		return fmt.Errorf("statestore: cache namespace %q: close: %w", ns.name, ErrClosed)
	}
	ns.reset()
	ns.closed = true
	ns.mu.Unlock()
	c := ns.c
	c.mu.Lock()
	if c.spaces[ns.name] == ns {
		delete(c.spaces, ns.name)
	}
	c.mu.Unlock()
	return err
}

// slot and list plumbing, with ns.mu held

// Slots come in pages of 256: no slice to regrow and copy as a namespace grows, and no
// slack beyond one page.
const (
	slotPageBits = 8
	slotPageMask = 1<<slotPageBits - 1
)

func (ns *CacheNamespace) slot(i int32) *cacheSlot {
	return &ns.pages[i>>slotPageBits][i&slotPageMask]
}

func (ns *CacheNamespace) allocSlot() int32 {
	if i := ns.free; i != nilSlot {
		ns.free = ns.slot(i).next
		return i
	}
	i := ns.nslots
	if int(i>>slotPageBits) == len(ns.pages) {
		ns.pages = append(ns.pages, make([]cacheSlot, 1<<slotPageBits))
	}
	ns.nslots++
	return i
}

func (ns *CacheNamespace) pushLRU(i int32) {
	s := ns.slot(i)
	s.prev, s.next = nilSlot, ns.lruHead
	if ns.lruHead != nilSlot {
		ns.slot(ns.lruHead).prev = i
	}
	ns.lruHead = i
	if ns.lruTail == nilSlot {
		ns.lruTail = i
	}
}

func (ns *CacheNamespace) unlinkLRU(i int32) {
	s := ns.slot(i)
	if s.prev != nilSlot {
		ns.slot(s.prev).next = s.next
	} else {
		ns.lruHead = s.next
	}
	if s.next != nilSlot {
		ns.slot(s.next).prev = s.prev
	} else {
		ns.lruTail = s.prev
	}
	s.prev, s.next = nilSlot, nilSlot
}

func (ns *CacheNamespace) touch(i int32) {
	if ns.lruHead == i {
		return
	}
	ns.unlinkLRU(i)
	ns.pushLRU(i)
}

func (ns *CacheNamespace) markDirty(i int32) {
	s := ns.slot(i)
	if s.dirty {
		ns.unlinkDirty(i)
	}
	s.dirty = true
	s.dprev, s.dnext = ns.dirtyNew, nilSlot
	if ns.dirtyNew != nilSlot {
		ns.slot(ns.dirtyNew).dnext = i
	}
	ns.dirtyNew = i
	if ns.dirtyOld == nilSlot {
		ns.dirtyOld = i
	}
	ns.ndirty++
}

func (ns *CacheNamespace) unlinkDirty(i int32) {
	s := ns.slot(i)
	if s.dprev != nilSlot {
		ns.slot(s.dprev).dnext = s.dnext
	} else {
		ns.dirtyOld = s.dnext
	}
	if s.dnext != nilSlot {
		ns.slot(s.dnext).dprev = s.dprev
	} else {
		ns.dirtyNew = s.dprev
	}
	s.dprev, s.dnext = nilSlot, nilSlot
	s.dirty = false
	ns.ndirty--
}

// remove drops slot i's entry and puts the slot on the free chain.
func (ns *CacheNamespace) remove(i int32) {
	s := ns.slot(i)
	if s.dirty {
		ns.unlinkDirty(i)
	}
	ns.unlinkLRU(i)
	delete(ns.index, indexKey(s.key))
	if ns.ordered != nil {
		ns.ordered.Delete(orderedKey{key: s.key})
	}
	sz := s.size()
	ns.bytes -= sz
	ns.c.size.Add(-sz)
	*s = cacheSlot{next: ns.free, prev: nilSlot, dprev: nilSlot, dnext: nilSlot, gen: s.gen + 1}
	ns.free = i
}
