package badgerstore

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// A point read of a key the store has never held walks Badger's memtables (skiplist
// searches) and the bloom filters of its tables: in a count where almost every key is new
// (user ids), that miss is the largest cost of a record. A store that was empty when it
// opened has seen every key it holds go through Apply or Restore, so it keeps its own
// filter of those keys and answers "absent" for a key the filter has never seen, without
// searching its write buffer or asking Badger. The filter only ever says "maybe" for a key
// that was written (deletes leave their bits), so a read never misses a value.
//
// The filter grows in parts, each twice the keys of the one before (a scalable bloom
// filter); a new part is added when the newest one holds its keys. It stays within
// Options.FilterBound: past that it switches off, and reads go to Badger as they do in a
// store opened with data.

// filterBitsPerKey is the size of the filter per key: with blocked bits, about 1%
// false positives per part.
const filterBitsPerKey = 12

// filterFirstKeys is the capacity of the first part.
const filterFirstKeys = 1 << 14

// filterProbes is the number of bits a key sets in its block.
const filterProbes = 7

// keyFilter is a store's filter of the keys it may hold. Safe for concurrent use: writers
// add under the store's writer discipline, readers test at any time.
type keyFilter struct {
	seed     maphash.Seed
	maxBytes int64

	mu    sync.Mutex // guards growth
	parts atomic.Pointer[[]*filterPart]
	off   atomic.Bool
}

// filterPart is one bloom filter of blocks of 512 bits (a cache line), one block per key.
type filterPart struct {
	bits     []uint64
	capacity int64
	keys     atomic.Int64 // keys that set at least one new bit
}

func newKeyFilter(maxBytes int64) *keyFilter {
	f := &keyFilter{seed: maphash.MakeSeed(), maxBytes: maxBytes}
	parts := []*filterPart{newFilterPart(filterFirstKeys)}
	f.parts.Store(&parts)
	return f
}

func newFilterPart(capacity int64) *filterPart {
	blocks := (capacity*filterBitsPerKey + 511) / 512
	return &filterPart{bits: make([]uint64, blocks*8), capacity: capacity}
}

func (p *filterPart) bytes() int64 { return int64(len(p.bits)) * 8 }

// probe calls fn with each word index and mask of key's bits in p (hash h).
func (p *filterPart) probe(h uint64, fn func(i int, mask uint64) bool) bool {
	block := int((h>>32)*uint64(len(p.bits)/8)>>32) * 8
	x := h
	for range filterProbes {
		bit := x & 511
		if !fn(block+int(bit>>6), 1<<(bit&63)) {
			return false
		}
		x = x>>9 | x<<55
	}
	return true
}

func (p *filterPart) add(h uint64) {
	changed := false
	p.probe(h, func(i int, mask uint64) bool {
		if atomic.OrUint64(&p.bits[i], mask)&mask == 0 {
			changed = true
		}
		return true
	})
	if changed {
		p.keys.Add(1)
	}
}

func (p *filterPart) has(h uint64) bool {
	return p.probe(h, func(i int, mask uint64) bool { return atomic.LoadUint64(&p.bits[i])&mask != 0 })
}

// add records key (as stored, prefix included). It is called before the write it
// belongs to becomes visible to readers.
func (f *keyFilter) add(key []byte) {
	if f == nil || f.off.Load() {
		return
	}
	h := maphash.Bytes(f.seed, key)
	parts := *f.parts.Load()
	if len(parts) == 0 {
		return // switched off meanwhile
	}
	for _, p := range parts[:len(parts)-1] {
		if p.has(h) {
			return // already recorded in an older part
		}
	}
	last := parts[len(parts)-1]
	last.add(h)
	if last.keys.Load() >= last.capacity {
		f.grow(last)
	}
}

// grow adds a part after full (the newest), or switches the filter off when that part
// would take it over its bound.
func (f *keyFilter) grow(full *filterPart) {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := *f.parts.Load()
	if parts[len(parts)-1] != full || f.off.Load() {
		return
	}
	next := newFilterPart(full.capacity * 2)
	var total int64
	for _, p := range parts {
		total += p.bytes()
	}
	if total+next.bytes() > f.maxBytes {
		f.switchOffLocked()
		return
	}
	grown := append(parts[:len(parts):len(parts)], next)
	f.parts.Store(&grown)
}

// switchOff stops the filter for good and frees its bits: every read goes to Badger. A
// store that is never read by key (a window store keeping duplicates: its reads are
// ranges) switches its filter off at open, so its writes do not pay for it.
func (f *keyFilter) switchOff() {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.switchOffLocked()
}

func (f *keyFilter) switchOffLocked() {
	f.off.Store(true)
	empty := []*filterPart{}
	f.parts.Store(&empty) // free the bits (after off: see mayContain)
}

// mayContain reports whether key may be in the store: false only for a key never added
// while the filter is on.
func (f *keyFilter) mayContain(key []byte) bool {
	if f == nil || f.off.Load() {
		return true
	}
	h := maphash.Bytes(f.seed, key)
	for _, p := range *f.parts.Load() {
		if p.has(h) {
			return true
		}
	}
	// Switching off empties the parts after setting off: a reader that found no part
	// with the key may have seen them emptied.
	return f.off.Load()
}

// active reports whether the filter answers reads.
func (f *keyFilter) active() bool { return f != nil && !f.off.Load() }
