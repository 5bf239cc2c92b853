package streams

import (
	"fmt"
	"unsafe"

	"github.com/rivulet-io/rivulet/statestore"
)

// The read-modify-write of an aggregation (count, reduce, aggregate) on a
// cached table store: one cache lookup that also names the entry, then a
// write to that entry with no second lookup and no copy of the new value
// (the cache keeps the freshly serialized bytes). With a string key the
// lookup key is the string's own bytes, not a copy: the cache copies a key
// only when it adds an entry, and the store's Get keeps nothing.

// aggKey returns key's bytes for an aggregation's read-modify-write. For a
// cached store with the string serde it borrows the string's bytes (read
// only: nothing on this path writes to them or keeps them); otherwise it
// serializes the key.
func (s *tsStore[K, V]) aggKey(key K) ([]byte, error) {
	if s.cache != nil {
		if _, ok := any(s.keySerde).(stringSerde); ok {
			if k, ok := any(key).(string); ok {
				if len(k) == 0 {
					return []byte{}, nil
				}
				return unsafe.Slice(unsafe.StringData(k), len(k)), nil
			}
		}
	}
	return s.serKey(key)
}

// lookupKB reads kb's value as getKB does and, when the store is cached,
// returns the ref for putAtKB.
func (s *tsStore[K, V]) lookupKB(kb []byte) (ValueAndTimestamp[V], bool, statestore.CacheRef, error) {
	var zero ValueAndTimestamp[V]
	if s.cache == nil {
		v, ok, err := s.read(kb, true)
		return v, ok, statestore.CacheRef{}, err
	}
	if s.m != nil {
		defer s.m.done(opGet, s.m.start())
	}
	l, ref := s.cache.Lookup(kb)
	if !l.Found {
		v, ok, err := s.readStore(kb, true)
		return v, ok, ref, err
	}
	if l.Deleted {
		return zero, false, ref, nil
	}
	v, err := s.decode(l.Value)
	return v, err == nil, ref, err
}

// putAtKB writes v under kb after lookupKB returned ref. Without a cache it
// is putKB, which may keep kb: aggKey only borrows bytes for cached stores.
func (s *tsStore[K, V]) putAtKB(ref statestore.CacheRef, kb []byte, v ValueAndTimestamp[V]) error {
	if s.cache == nil {
		return s.putKB(kb, v)
	}
	if s.m != nil {
		defer s.m.done(opPut, s.m.start())
	}
	vb, err := s.kvStore.valueSerde.Serialize(v)
	if err != nil {
		return fmt.Errorf("streams: store %q: serialize value: %w", s.name, err)
	}
	if vb == nil {
		vb = []byte{} // a value, never a delete
	}
	return s.cache.PutAt(ref, kb, vb, s.task.recordContext(v.Timestamp))
}
