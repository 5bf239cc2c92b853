package statestore_test

import (
	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/memstore"
)

func newMapStore() statestore.KeyValueStore {
	return memstore.NewKeyValueStore("m", statestore.KeyValueOptions{})
}
