package brokerlite

// EndTxn (key 26), versions 0-3.
//
// Commits or aborts the producer's ongoing transaction. The answer comes once the
// PrepareCommit/PrepareAbort state, the markers in every partition of the transaction
// (and in the group's __consumer_offsets partition, which makes transactional offset
// commits visible or drops them) and the CompleteCommit/CompleteAbort state are all
// durable: when a commit is answered, read_committed consumers can read its records.
// Kafka answers after the prepare state and writes markers afterwards; brokerlite's
// stricter order is allowed by the protocol. A retry of an EndTxn that already completed
// the same way succeeds. Errors: INVALID_PRODUCER_ID_MAPPING (unknown id or another
// producer id), PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v2), INVALID_TXN_STATE (no
// transaction, or ending one the other way), CONCURRENT_TRANSACTIONS (markers not all
// written yet; the coordinator keeps retrying, and so may the client),
// COORDINATOR_NOT_AVAILABLE. v4-v5 (KIP-890) are not served.

import (
	"context"

	"github.com/rivulet-io/rivulet/brokerlite/txncoord"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.EndTxn, 0, 3, handleEndTxn) }

func handleEndTxn(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.EndTxnRequest)
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	resp.ErrorCode = txnResultCode(b, req.Version, func(c *txncoord.Coordinator) txncoord.Result {
		return c.EndTxn(req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit)
	})
	return resp, nil
}
