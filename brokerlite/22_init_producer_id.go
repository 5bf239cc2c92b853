package brokerlite

// InitProducerId (key 22), versions 0-5.
//
// Idempotent producers (no transactional id) get a fresh producer id with epoch 0, also
// when they pass the producer id and epoch they had (v3+, KIP-360: a producer resetting its
// sequence numbers after an OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID), as Kafka
// answers them. Ids come from blocks reserved on disk before use (meta.go), so they never
// repeat across restarts. A producer id without an epoch, or an epoch without a producer
// id, is INVALID_REQUEST.
//
// With a transactional id the transaction coordinator answers (txncoord): an id it does not
// know gets a fresh producer id at epoch 0 (whatever producer the request names: one whose
// id expired recovers), a known one its epoch bumped, which fences older producers of the
// id (an ongoing transaction of the id is aborted first). transaction.timeout.ms
// must be between 1 and transaction.max.timeout.ms (INVALID_TRANSACTION_TIMEOUT); an empty
// transactional id is INVALID_REQUEST; KIP-360 applies as above, and a producer id or
// epoch that is not the id's current one gets PRODUCER_FENCED (INVALID_PRODUCER_EPOCH
// before v4, KIP-588), as does a producer naming its epoch after its transaction was
// aborted for its timeout or by this very request (the abort's epoch fences it);
// CONCURRENT_TRANSACTIONS while the id's previous transaction is still being completed.
// Kafka answers CONCURRENT_TRANSACTIONS to a request that aborts an ongoing transaction
// and bumps the epoch on the client's retry; brokerlite aborts and bumps in one request.

import (
	"context"

	"github.com/rivulet-io/rivulet/brokerlite/txncoord"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.InitProducerID, 0, 5, handleInitProducerID) }

func handleInitProducerID(_ context.Context, b *Broker, conn *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.Version >= 3 && (req.ProducerID == -1) != (req.ProducerEpoch == -1) {
		// As Kafka: a producer id and epoch come together or not at all.
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp, nil
	}
	if req.TransactionalID != nil {
		c := b.txnCoordinator()
		if c == nil {
			resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
			return resp, nil
		}
		pid, epoch := int64(-1), int16(-1)
		if req.Version >= 3 {
			pid, epoch = req.ProducerID, req.ProducerEpoch
		}
		r := c.InitProducerID(txncoord.InitRequest{TransactionalID: *req.TransactionalID, TimeoutMs: req.TransactionTimeoutMillis, ProducerID: pid, ProducerEpoch: epoch})
		if r.ErrorCode != 0 {
			b.logger.Debug("transactional InitProducerId refused", append(logAttrs(conn), "transactional.id", *req.TransactionalID, "error", r.Message)...)
		}
		resp.ErrorCode = fencedCode(r.ErrorCode, req.Version, 4)
		resp.ProducerID, resp.ProducerEpoch = r.ProducerID, r.ProducerEpoch
		return resp, nil
	}
	// An idempotent producer gets a new producer id at epoch 0, also when it names the one
	// it had (KIP-360: it recovers from UNKNOWN_PRODUCER_ID or an exhausted epoch), as
	// Kafka answers it: a producer id this broker never issued (a wiped data directory)
	// is not an error.
	id, err := b.pids.allocate()
	if err != nil {
		// The reservation file could not be written (a full or failing disk).
		b.logger.Error("allocating a producer id failed", "err", err)
		resp.ErrorCode = kerr.KafkaStorageError.Code
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp, nil
}
