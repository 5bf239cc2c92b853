// Package badgerstore keeps key-value, window and session stores on disk in Badger
// (github.com/dgraph-io/badger/v4), with the contracts of package statestore.
//
// Read OpenKeyValueStore first, then Options and Status.
//
// It is for the persistent state of stream tasks: larger than memory, surviving restarts
// so that a clean restart restores nothing. It is not the source of truth: the changelog
// topic is, and a store directory that cannot be trusted is wiped and rebuilt from it.
//
// # One Badger instance per store
//
// Each store (one store of one task) has its own Badger instance in its own directory,
// state.dir/<application.id>/<task>/<store>, as Kafka Streams gives each store of each
// task its own RocksDB. The reasons:
//
//   - Tasks move between threads and processes. A task's state must be closable,
//     wipeable and deletable alone, without touching its neighbours; with one instance
//     per store, wiping a store is deleting a directory, and a corrupt store costs the
//     restore of that store only.
//   - Checkpoints are per store, and so is the "was it closed cleanly" marker.
//   - Window and session stores drop whole expired segments with Badger's DropPrefix
//     (batched: at most once per 30 s or 64 MiB written, and at Close), which pauses
//     writes to the instance while it runs: per-store instances keep that pause local
//     to the store.
//
// The cost is per-instance overhead: each instance has its memtables, caches, a handful of
// goroutines (compactors, the writer, the value-log GC ticker of this package) and
// a few open files (manifest, memtable WAL, value log, tables). The defaults are small to
// match: about 32 MiB of buffers and caches per store (Options.MemoryBound), derived from
// one per-store figure by OptionsForMemory. A store per instance is also what lets a
// budget be enforced by arithmetic: OptionsForBudget(budget / stores), which the streams
// runtime does with rivulet.state.memory.max.bytes.
//
// One instance per task or per application was rejected: moving or wiping one task's
// state would mean a prefix scan and delete across a shared instance, one corrupt file
// would take every task down to a full restore, and a DropPrefix would stall every store
// sharing it.
//
// # Writes, flushes and crashes
//
// Writes go to a small write buffer (Options.WriteBufferSize) that reads see, and reach
// Badger in WriteBatches when it fills and on Flush. The newest writes sit behind a hash
// index in arrival order; iterators, which need key order, move them into a copy-on-write
// B-tree first, so a store only written and read by key never sorts anything. Flush also drops expired
// segments and fsyncs Badger, so a checkpoint written after Flush never claims more than
// the disk holds. Badger runs without synchronous writes: the changelog is the truth.
//
// A marker file (.dirty) exists while a store is open. A store found with it was not
// closed cleanly: Badger replays its write-ahead log and the store opens (Status.Unclean),
// or, with Options.WipeUnclean (exactly-once), it is wiped. A store Badger cannot open
// (corrupt manifest or tables, even one that makes Badger panic while opening) is wiped
// with its checkpoint and reported in Status.Wiped; the runtime then finds no checkpoint
// and restores the store from the beginning of its changelog. A directory in use by
// another process is never wiped (ErrLocked).
package badgerstore
