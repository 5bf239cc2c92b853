package groupcoord

import "context"

// Log is the coordinator's view of the __consumer_offsets topic: durable
// appends and a replay from the start, per partition. The broker implements
// it over its partition logs; tests use an in-memory one.
//
// Contract:
//   - Append stores batch, one Kafka record batch (magic 2, base offset 0,
//     uncompressed, CRC set), as the next batch of partition, assigning it
//     offsets. It returns nil only once the batch is durable (fsynced): the
//     coordinator answers a commit only after that. It may retain batch.
//     An error means the batch may or may not be stored; the coordinator
//     reports a retriable error and keeps its in-memory state unchanged.
//   - Replay calls fn with the stored batches of partition in offset order,
//     from the log start (compaction may have removed records), one or
//     more whole batches per call, and stops at the first error fn
//     returns, returning it. The slice passed to fn is valid only during
//     the call. Replay is called only from Start, before any Append.
//   - Both are called concurrently for different partitions and, for
//     Append, for the same partition; ctx bounds each call.
type Log interface {
	Append(ctx context.Context, partition int32, batch []byte) error
	Replay(ctx context.Context, partition int32, fn func(batch []byte) error) error
}
