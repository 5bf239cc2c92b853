package core

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/rivulet-io/rivulet/statestore"
)

var errorsIs = errors.Is

// KeyValueStore is statestore.KeyValueStore over an Engine.
type KeyValueStore struct {
	eng  Engine
	opts statestore.KeyValueOptions
	g    guard
	one  [1]statestore.KeyValue
}

var (
	_ statestore.KeyValueStore = (*KeyValueStore)(nil)
	_ statestore.Restorable    = (*KeyValueStore)(nil)
)

// NewKeyValueStore returns a key-value store over eng; it owns eng and closes it.
func NewKeyValueStore(eng Engine, opts statestore.KeyValueOptions) *KeyValueStore {
	s := &KeyValueStore{eng: eng, opts: opts}
	s.g.init(eng.Name())
	return s
}

// Engine returns the engine under the store.
func (s *KeyValueStore) Engine() Engine { return s.eng }

func (s *KeyValueStore) errf(op string, err error) error {
	return fmt.Errorf("statestore: %s: %s: %w", s.eng.Name(), op, err)
}

// Name implements statestore.Store.
func (s *KeyValueStore) Name() string { return s.eng.Name() }

// Persistent implements statestore.Store.
func (s *KeyValueStore) Persistent() bool { return s.eng.Persistent() }

// Flush implements statestore.Store.
func (s *KeyValueStore) Flush() error {
	if err := s.g.wlock("flush"); err != nil {
		return err
	}
	defer s.g.wunlock()
	if err := s.eng.Flush(); err != nil {
		return s.errf("flush", err)
	}
	return nil
}

// FlushWrites implements statestore.WriteFlusher: every write is in the engine already,
// readable; only Flush makes it durable.
func (s *KeyValueStore) FlushWrites() error {
	if err := s.g.rlock("flush"); err != nil {
		return err
	}
	s.g.runlock()
	return nil
}

// Close implements statestore.Store.
func (s *KeyValueStore) Close() error {
	return s.g.close(func() error {
		s.g.wmu.Lock()
		defer s.g.wmu.Unlock()
		if err := s.eng.Close(); err != nil {
			return s.errf("close", err)
		}
		return nil
	})
}

// Get implements statestore.ReadOnlyKeyValueStore.
func (s *KeyValueStore) Get(key []byte) ([]byte, error) {
	if key == nil {
		return nil, s.errf("get", statestore.ErrNilKey)
	}
	if err := s.g.rlock("get"); err != nil {
		return nil, err
	}
	defer s.g.runlock()
	v, err := s.eng.Get(key)
	if err != nil {
		return nil, s.errf("get", err)
	}
	return v, nil
}

func (s *KeyValueStore) write(op string, entries []statestore.KeyValue) error {
	if err := s.eng.Apply(entries); err != nil {
		return s.errf(op, err)
	}
	if s.opts.ChangeLogger != nil {
		for _, e := range entries {
			if err := s.opts.ChangeLogger(e.Key, e.Value); err != nil {
				return s.errf(op+": change logger", err)
			}
		}
	}
	return nil
}

// Put implements statestore.KeyValueStore.
func (s *KeyValueStore) Put(key, value []byte) error {
	if key == nil {
		return s.errf("put", statestore.ErrNilKey)
	}
	if err := s.g.wlock("put"); err != nil {
		return err
	}
	defer s.g.wunlock()
	return s.writeOne("put", key, value)
}

// writeOne writes one entry (a nil value deletes). Call with the writers' lock held.
func (s *KeyValueStore) writeOne(op string, key, value []byte) error {
	s.one[0] = statestore.KeyValue{Key: key, Value: value}
	err := s.write(op, s.one[:])
	s.one[0] = statestore.KeyValue{}
	return err
}

// PutIfAbsent implements statestore.KeyValueStore.
func (s *KeyValueStore) PutIfAbsent(key, value []byte) ([]byte, error) {
	return s.replace("put if absent", key, value, true)
}

// Delete implements statestore.KeyValueStore.
func (s *KeyValueStore) Delete(key []byte) ([]byte, error) {
	return s.replace("delete", key, nil, false)
}

// replace is a read-modify-write of key: it writes value (nil: deletes) unless onlyIfAbsent
// and key holds a value already (or value is nil), and returns the value key held before.
func (s *KeyValueStore) replace(op string, key, value []byte, onlyIfAbsent bool) ([]byte, error) {
	if key == nil {
		return nil, s.errf(op, statestore.ErrNilKey)
	}
	if err := s.g.wlock(op); err != nil {
		return nil, err
	}
	defer s.g.wunlock()
	old, err := s.eng.Get(key)
	if err != nil {
		return nil, s.errf(op, err)
	}
	if onlyIfAbsent && (old != nil || value == nil) {
		return old, nil
	}
	return old, s.writeOne(op, key, value)
}

// PutAll implements statestore.KeyValueStore.
func (s *KeyValueStore) PutAll(entries []statestore.KeyValue) error {
	return s.writeAll("put all", entries, s.write)
}

// RestoreBatch implements statestore.Restorable.
func (s *KeyValueStore) RestoreBatch(records []statestore.KeyValue) error {
	return s.writeAll("restore", records, func(op string, records []statestore.KeyValue) error {
		if err := s.eng.Restore(records); err != nil {
			return s.errf(op, err)
		}
		return nil
	})
}

// writeAll checks that every entry has a key, then hands them to write under the writers'
// lock.
func (s *KeyValueStore) writeAll(op string, entries []statestore.KeyValue, write func(op string, entries []statestore.KeyValue) error) error {
	for _, e := range entries {
		if e.Key == nil {
			return s.errf(op, statestore.ErrNilKey)
		}
	}
	if err := s.g.wlock(op); err != nil {
		return err
	}
	defer s.g.wunlock()
	return write(op, entries)
}

func (s *KeyValueStore) iter(op string, lo, hi []byte, reverse bool) (statestore.KeyValueIterator, error) {
	if err := s.g.rlock(op); err != nil {
		return nil, err
	}
	defer s.g.runlock()
	if lo != nil && hi != nil && bytes.Compare(lo, hi) >= 0 {
		return emptyIter{}, nil
	}
	it, err := iterOnce(s.eng, lo, hi, reverse)
	if err != nil {
		return nil, s.errf(op, err)
	}
	return s.g.wrap(it), nil
}

func inclusiveBounds(from, to []byte) (lo, hi []byte) {
	if to != nil {
		hi = after(to)
	}
	return from, hi
}

// Range implements statestore.ReadOnlyKeyValueStore.
func (s *KeyValueStore) Range(from, to []byte) (statestore.KeyValueIterator, error) {
	lo, hi := inclusiveBounds(from, to)
	return s.iter("range", lo, hi, false)
}

// ReverseRange implements statestore.ReadOnlyKeyValueStore.
func (s *KeyValueStore) ReverseRange(from, to []byte) (statestore.KeyValueIterator, error) {
	lo, hi := inclusiveBounds(from, to)
	return s.iter("reverse range", lo, hi, true)
}

// PrefixScan implements statestore.ReadOnlyKeyValueStore.
func (s *KeyValueStore) PrefixScan(prefix []byte) (statestore.KeyValueIterator, error) {
	if prefix == nil {
		prefix = []byte{}
	}
	return s.iter("prefix scan", prefix, Successor(prefix), false)
}

// All implements statestore.ReadOnlyKeyValueStore.
func (s *KeyValueStore) All() (statestore.KeyValueIterator, error) {
	return s.iter("all", nil, nil, false)
}

// ReverseAll implements statestore.ReadOnlyKeyValueStore.
func (s *KeyValueStore) ReverseAll() (statestore.KeyValueIterator, error) {
	return s.iter("reverse all", nil, nil, true)
}

// ApproximateNumEntries implements statestore.ReadOnlyKeyValueStore.
func (s *KeyValueStore) ApproximateNumEntries() (int64, error) {
	if err := s.g.rlock("approximate num entries"); err != nil {
		return 0, err
	}
	defer s.g.runlock()
	n, err := s.eng.Count()
	if err != nil {
		return 0, s.errf("approximate num entries", err)
	}
	return n, nil
}
