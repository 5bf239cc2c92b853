package brokerlite

// AddOffsetsToTxn (key 25), versions 0-3.
//
// Adds the group's __consumer_offsets partition to the producer's transaction, so that the
// offsets it then commits with TxnOffsetCommit are committed or dropped with the
// transaction. Errors as AddPartitionsToTxn (PRODUCER_FENCED is INVALID_PRODUCER_EPOCH
// before v2). v4 (KIP-890) is not served.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.AddOffsetsToTxn, 0, 3, handleAddOffsetsToTxn) }

func handleAddOffsetsToTxn(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.AddOffsetsToTxnRequest)
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	c := b.txnCoordinator()
	if c == nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	r := c.AddOffsets(req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group)
	resp.ErrorCode = fencedCode(r.ErrorCode, req.Version, 2)
	return resp, nil
}
