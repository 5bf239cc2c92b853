package brokerlite

// AddOffsetsToTxn (key 25), versions 0-3.
//
// Adds the group's __consumer_offsets partition to the producer's transaction, so that the
// offsets it then commits with TxnOffsetCommit are committed or dropped with the
// transaction. Errors as AddPartitionsToTxn (PRODUCER_FENCED is INVALID_PRODUCER_EPOCH
// before v2). v4 (KIP-890) is not served.

import (
	"context"

	"github.com/rivulet-io/rivulet/brokerlite/txncoord"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.AddOffsetsToTxn, 0, 3, handleAddOffsetsToTxn) }

func handleAddOffsetsToTxn(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.AddOffsetsToTxnRequest)
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	resp.ErrorCode = txnResultCode(b, req.Version, func(c *txncoord.Coordinator) txncoord.Result {
		return c.AddOffsets(req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group)
	})
	return resp, nil
}
