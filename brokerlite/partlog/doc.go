// Package partlog is one Kafka partition's log on disk: the storage engine
// under brokerlite.
//
// A partition lives in one directory, <log.dirs>/<topic>-<partition>/, as in
// Kafka. The directory holds segments named by their base offset padded to 20
// digits: 00000000000000002048.log holds record batches (magic 2) exactly as
// validated, .index maps relative offsets to file positions (one entry per
// index.interval.bytes) and .timeindex maps the largest timestamp seen so far
// to the batch holding it. The log assigns offsets by rewriting each batch's
// base offset and otherwise keeps the producer's bytes, so a fetch copies file
// bytes to the socket with no re-encoding.
//
// What it does: validation of produce batches (length, magic, CRC32C, sizes),
// offset assignment and LogAppendTime, idempotent-producer sequence checks
// (KIP-98) made atomic with the append, reads by offset and by timestamp,
// segment rolling, retention by time and size, DeleteRecords, log compaction
// with a crash-safe segment swap, group-commit fsync (one fsync for every
// appender waiting at that moment; across logs with a [Syncer]),
// flush.messages/flush.ms, and crash
// recovery that cuts a torn or corrupt tail and rebuilds damaged indexes.
//
// What it is not: it does not speak the Kafka protocol (brokerlite does), it
// knows nothing about topics beyond the directory name, it does not replicate
// (brokerlite is one node, so the high watermark is the log end offset), and
// it does not coordinate transactions (txncoord does, and writes the markers
// with OriginCoordinator); it keeps their log side: the ongoing transaction of
// each producer, the last stable offset, the aborted-transaction index
// (.txnindex) and read_committed reads (txn.go).
//
// # Usage
//
// Read [Log] first, then [Manager], which owns the logs of a broker:
//
//	m, err := partlog.OpenManager(partlog.ManagerConfig{LogDirs: []string{dir}})
//	l, err := m.GetOrCreate("orders", 0, partlog.DefaultConfig())
//	res, err := l.Append(recordsFieldOfProduceRequest) // res.BaseOffset
//	err = l.Sync()                                      // acks=-1: durable now
//	rr, err := l.Read(offset, 1<<20)                    // rr.Records: whole batches
//
// A Log is safe for concurrent use: appends are serialized per partition,
// reads run in parallel with appends (pread on the segment files), and no lock
// is shared between partitions. The on-disk format, the recovery rules and the
// compaction swap protocol are written down in docs/partlog.md.
package partlog
