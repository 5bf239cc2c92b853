package statestore

import "fmt"

// CacheRef names the entry a CacheNamespace.Lookup found (or the absence of one), so
// the write of a read-modify-write (an aggregation's update of its key) need not look the
// key up again. A ref is only a hint: if the entry was removed or replaced in between,
// PutAt looks the key up as Put does.
type CacheRef struct {
	slot  int32
	gen   uint32
	valid bool
}

// Lookup is Get that also returns a ref to the entry for PutAt.
func (ns *CacheNamespace) Lookup(key []byte) (CacheLookup, CacheRef) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	i, ok := ns.index[string(key)]
	if !ok || ns.closed {
		ns.misses++
		return CacheLookup{}, CacheRef{}
	}
	ns.hits++
	ns.touch(i)
	s := ns.slot(i)
	return CacheLookup{Found: true, Deleted: s.tombstone, Value: s.value}, CacheRef{slot: i, gen: s.gen, valid: true}
}

// PutAt is Put of a key that Lookup returned ref for, taking ownership of value: the
// cache keeps value as it is (no copy), so the caller must not modify it afterwards.
// key is copied when the entry is new.
func (ns *CacheNamespace) PutAt(ref CacheRef, key, value []byte, ctx RecordContext) error {
	ns.mu.Lock()
	if ns.closed {
		ns.mu.Unlock()
		return fmt.Errorf("statestore: cache namespace %q: %w", ns.name, ErrClosed)
	}
	i, ok := ref.slot, false
	if ref.valid && ref.slot < ns.nslots {
		if s := ns.slot(ref.slot); s.gen == ref.gen && s.key != nil && string(s.key) == string(key) {
			ok = true
		}
	}
	if !ok {
		i, ok = ns.index[string(key)]
	}
	return ns.putLocked(i, ok, key, value, true, true, ctx)
}
