package streams

import (
	"bytes"

	"github.com/rivulet-io/rivulet/statestore"
)

// mergedIterator merges a store iterator with a sorted cache snapshot: a
// cached entry replaces the store's entry for its key, and a cached delete
// hides it.
type mergedIterator struct {
	store   statestore.KeyValueIterator
	cache   []statestore.KeyValue
	reverse bool
	sOK     bool
	sDone   bool
	k, v    []byte
}

func newMergedIterator(store statestore.KeyValueIterator, cache []statestore.KeyValue, reverse bool) *mergedIterator {
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
		case !m.sOK || len(m.cache) > 0 && m.cmp(m.cache[0].Key, m.store.Key()) <= 0:
			ce := m.cache[0]
			m.cache = m.cache[1:]
			if m.sOK && bytes.Equal(ce.Key, m.store.Key()) {
				m.sOK = false // the cache overrides the store's entry
			}
			if ce.Value == nil {
				continue
			}
			m.k, m.v = ce.Key, ce.Value
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
