package core

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/rivulet-io/rivulet/statestore"
)

var errorsIs = errors.Is

// KeyValueStore is statestore.KeyValueStore over an Engine.
type KeyValueStore struct {
	eng  Engine
	opts statestore.KeyValueOptions
	g    guard
	wmu  sync.Mutex // serializes writes: read-modify-write calls and logger order
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
	if err := s.g.rlock("flush"); err != nil {
		return err
	}
	defer s.g.runlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.eng.Flush(); err != nil {
		return s.errf("flush", err)
	}
	return nil
}

// Close implements statestore.Store.
func (s *KeyValueStore) Close() error {
	return s.g.close(func() error {
		s.wmu.Lock()
		defer s.wmu.Unlock()
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
	if err := s.g.rlock("put"); err != nil {
		return err
	}
	defer s.g.runlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.one[0] = statestore.KeyValue{Key: key, Value: value}
	err := s.write("put", s.one[:])
	s.one[0] = statestore.KeyValue{}
	return err
}

// PutIfAbsent implements statestore.KeyValueStore.
func (s *KeyValueStore) PutIfAbsent(key, value []byte) ([]byte, error) {
	if key == nil {
		return nil, s.errf("put if absent", statestore.ErrNilKey)
	}
	if err := s.g.rlock("put if absent"); err != nil {
		return nil, err
	}
	defer s.g.runlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	old, err := s.eng.Get(key)
	if err != nil {
		return nil, s.errf("put if absent", err)
	}
	if old != nil || value == nil {
		return old, nil
	}
	s.one[0] = statestore.KeyValue{Key: key, Value: value}
	err = s.write("put if absent", s.one[:])
	s.one[0] = statestore.KeyValue{}
	return nil, err
}

// PutAll implements statestore.KeyValueStore.
func (s *KeyValueStore) PutAll(entries []statestore.KeyValue) error {
	for _, e := range entries {
		if e.Key == nil {
			return s.errf("put all", statestore.ErrNilKey)
		}
	}
	if err := s.g.rlock("put all"); err != nil {
		return err
	}
	defer s.g.runlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.write("put all", entries)
}

// Delete implements statestore.KeyValueStore.
func (s *KeyValueStore) Delete(key []byte) ([]byte, error) {
	if key == nil {
		return nil, s.errf("delete", statestore.ErrNilKey)
	}
	if err := s.g.rlock("delete"); err != nil {
		return nil, err
	}
	defer s.g.runlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	old, err := s.eng.Get(key)
	if err != nil {
		return nil, s.errf("delete", err)
	}
	s.one[0] = statestore.KeyValue{Key: key}
	err = s.write("delete", s.one[:])
	s.one[0] = statestore.KeyValue{}
	return old, err
}

// RestoreBatch implements statestore.Restorable.
func (s *KeyValueStore) RestoreBatch(records []statestore.KeyValue) error {
	for _, e := range records {
		if e.Key == nil {
			return s.errf("restore", statestore.ErrNilKey)
		}
	}
	if err := s.g.rlock("restore"); err != nil {
		return err
	}
	defer s.g.runlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.eng.Restore(records); err != nil {
		return s.errf("restore", err)
	}
	return nil
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
