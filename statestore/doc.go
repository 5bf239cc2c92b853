// Package statestore holds the contracts of Rivulet's state stores and what every
// implementation shares: key-value, window and session stores (KeyValueStore,
// WindowStore, SessionStore), the record cache in front of them (RecordCache, and the
// caching stores NewCachingKeyValueStore, NewCachingWindowStore, NewCachingSessionStore),
// change logging (ChangeLogger), checkpoint files (WriteCheckpoint, ReadCheckpoint) and
// bulk restore from changelogs (Restorer).
//
// Read KeyValueStore first, then WindowStore and SessionStore, then RecordCache.
//
// Stores are bytes in, bytes out: serdes live in package streams. Implementations live in
// sibling packages: statestore/badgerstore keeps state on disk in Badger,
// statestore/memstore keeps it in memory; statestore/storetest is the conformance suite
// both pass, exported for any other implementation.
//
// It is not the runtime: it does not fetch changelogs, produce to them or decide when to
// commit. The runtime (package streams) owns those and drives the stores through the hooks
// here: a ChangeLogger to send writes to the changelog, a flush listener on the record
// cache to forward folded updates downstream, Flush then WriteCheckpoint on commit, and a
// Restorer fed with changelog records on start.
//
// # Contracts in short
//
//   - Keys are compared as bytes (bytes.Compare). A nil key is ErrNilKey; a nil value
//     deletes, as a null does in Kafka Streams. Range bounds are inclusive, nil is
//     unbounded.
//   - Writes copy their arguments. Get results stay valid and must not be modified.
//     Iterator Key and Value are valid until the next Next or Close.
//   - Iterators read a snapshot taken when they were created and must be closed.
//   - Every call on a closed store returns ErrClosed; Close ends open iterators.
//   - Window and session stores keep times in ms >= 0, in segments of SegmentInterval,
//     dropped whole once older than the observed stream time minus the retention; writes
//     older than that are dropped and reported to OnExpired.
//
// # Usage
//
//	kv := memstore.NewKeyValueStore("counts", statestore.KeyValueOptions{})
//	_ = kv.Put([]byte("word"), []byte{0, 0, 0, 1})
//	v, _ := kv.Get([]byte("word"))
//	it, _ := kv.Range([]byte("a"), []byte("z"))
//	for it.Next() {
//		use(it.Key(), it.Value())
//	}
//	err := it.Close()
//
// The design notes (key layouts, one Badger instance per store, memory settings,
// checkpoint and crash rules) are in docs/statestore.md.
package statestore
