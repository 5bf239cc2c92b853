package groupcoord

import "context"

// Log is the coordinator's view of the __consumer_offsets topic: appends
// whose durability can be awaited apart from the append, and a replay from
// the start, per partition. The broker implements it over its partition logs
// (sharing fsyncs between partitions); tests use an in-memory one.
//
// Contract:
//   - Append stores batch, one Kafka record batch (magic 2, base offset 0,
//     uncompressed, CRC set), as the next batch of partition, assigning it
//     offsets, and returns once it is stored, WITHOUT waiting for it to be
//     durable. Batches of one partition are stored in the order of the
//     Append calls that returned. Append may retain batch. An error means
//     the batch is not stored.
//   - wait, returned by a successful Append, blocks until the batch is
//     durable (fsynced) and returns nil; the coordinator answers a request
//     and shows its effect only after that. It returns an error when ctx
//     ends or storage failed: the batch may or may not become durable, and
//     the coordinator reports a retriable error and leaves its in-memory
//     state as it was. wait may be called from any goroutine, once.
//   - Replay calls fn with the stored batches of partition in offset order,
//     from the log start (compaction may have removed records), one or
//     more whole batches per call, and stops at the first error fn
//     returns, returning it. The slice passed to fn is valid only during
//     the call. Replay is called only from Start, before any Append.
//   - Append and wait are called concurrently for different partitions and
//     for the same partition; ctx bounds each call.
type Log interface {
	Append(ctx context.Context, partition int32, batch []byte) (wait func(ctx context.Context) error, err error)
	Replay(ctx context.Context, partition int32, fn func(batch []byte) error) error
}
