package badgerstore_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/badgerstore"
)

// The life of a persistent store across a restart: open, write, flush and checkpoint on
// commit, close; reopen, read the checkpoint, resume.
func ExampleOpenKeyValueStore() {
	stateDir, _ := os.MkdirTemp("", "rivulet-example-")
	defer os.RemoveAll(stateDir)
	dir := filepath.Join(stateDir, "wordcount", "0_0", "counts") // state.dir/<application.id>/<task>/<store>
	changelog := statestore.TopicPartition{Topic: "wordcount-counts-changelog", Partition: 0}

	s, err := badgerstore.OpenKeyValueStore(dir, "counts", badgerstore.Options{}, statestore.KeyValueOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = s.Put([]byte("kafka"), []byte{3})
	// On commit: flush the store, then record the changelog offset it reflects.
	_ = s.Flush()
	_ = statestore.WriteCheckpoint(dir, statestore.Checkpoint{changelog: 42})
	_ = s.Close()

	s, _ = badgerstore.OpenKeyValueStore(dir, "counts", badgerstore.Options{}, statestore.KeyValueOptions{})
	defer s.Close()
	cp, _ := statestore.ReadCheckpoint(dir)
	v, _ := s.Get([]byte("kafka"))
	fmt.Printf("status %+v, restore from offset %d, kafka=%d\n", s.Status(), cp[changelog], v[0])
	// Output:
	// status {Unclean:false Wiped:false Reason:<nil>}, restore from offset 42, kafka=3
}
