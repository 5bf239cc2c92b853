package memstore

import (
	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/internal/core"
)

// NewKeyValueStore returns an empty in-memory key-value store. The store also implements
// statestore.Restorable.
func NewKeyValueStore(name string, opts statestore.KeyValueOptions) statestore.KeyValueStore {
	return core.NewKeyValueStore(newEngine(name), opts)
}

// NewWindowStore returns an empty in-memory window store. It fails only on invalid
// options (statestore.ErrInvalidOptions). The store also implements statestore.Restorable.
func NewWindowStore(name string, opts statestore.WindowOptions) (statestore.WindowStore, error) {
	s, err := core.NewWindowStore(newEngine(name), opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// NewSessionStore returns an empty in-memory session store. It fails only on invalid
// options (statestore.ErrInvalidOptions). The store also implements statestore.Restorable.
func NewSessionStore(name string, opts statestore.SessionOptions) (statestore.SessionStore, error) {
	s, err := core.NewSessionStore(newEngine(name), opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}
