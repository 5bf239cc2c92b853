// Package txncoord is brokerlite's transaction coordinator (Kafka's
// exactly-once protocol, KIP-98 with KIP-360 epoch recovery): it gives
// transactional producers their producer id and epoch (InitProducerId with
// a transactional.id), fences older producers of the same id, records which
// partitions and consumer groups a transaction touches (AddPartitionsToTxn,
// AddOffsetsToTxn), and ends transactions (EndTxn) by writing commit or
// abort markers to every partition through the broker. Its state lives in
// the compacted internal topic __transaction_state, in Kafka's record format
// (kmsg.TxnMetadataKey / TxnMetadataValue), and is rebuilt from it on
// start; a transaction that a crash left in PrepareCommit or PrepareAbort is
// completed then. A background loop aborts transactions that outlive their
// transaction.timeout.ms (fencing their producer with an epoch bump) and
// removes transactional ids idle for transactional.id.expiration.ms.
//
// It is not the log side of transactions (the last stable offset, the
// aborted-transaction index and read_committed reads live in partlog), nor
// the transactional offset commits themselves (the group coordinator holds
// them pending until the marker).
//
// Read Coordinator first; the state machine is in ops.go, persistence in
// record.go and load.go, the background loop in expire.go.
//
// # Usage
//
//	c, err := txncoord.Start(ctx, txncoord.Config{Log: stateLog, Markers: broker, Partitions: 50, PartitionFor: hash})
//	if err != nil { ... }
//	defer c.Close()
//	res := c.InitProducerID(ctx, txncoord.InitRequest{TransactionalID: "t", TimeoutMs: 60000, ProducerID: -1, ProducerEpoch: -1})
//	code := c.AddPartitions(ctx, "t", res.ProducerID, res.ProducerEpoch, parts)
//	code = c.EndTxn(ctx, "t", res.ProducerID, res.ProducerEpoch, true)
package txncoord
