package brokerlite

// InitProducerId (key 22), versions 0-5.
//
// Idempotent producers (no transactional id) get a fresh producer id with epoch 0. Ids come
// from blocks reserved on disk before use (meta.go), so they never repeat across restarts.
// KIP-360: a producer that passes its current producer id and epoch (v3+) gets the same id
// with the epoch bumped, so that it can reset its sequence numbers after an
// OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID without losing its identity; at the
// largest epoch it gets a new id. An id this broker never handed out is
// INVALID_PRODUCER_ID_MAPPING.
//
// With a transactional id the transaction coordinator answers (txncoord): a new id gets a
// fresh producer id at epoch 0, a known one its epoch bumped, which fences older producers
// of the id (an ongoing transaction of the id is aborted first). transaction.timeout.ms
// must be between 1 and transaction.max.timeout.ms (INVALID_TRANSACTION_TIMEOUT); an empty
// transactional id is INVALID_REQUEST; KIP-360 applies as above, and a producer id or
// epoch that is not the id's current one gets PRODUCER_FENCED (INVALID_PRODUCER_EPOCH
// before v4, KIP-588); CONCURRENT_TRANSACTIONS while the id's previous transaction is
// still being completed.

import (
	"context"
	"math"

	"github.com/rivulet-io/rivulet/brokerlite/txncoord"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.InitProducerID, 0, 5, handleInitProducerID) }

func handleInitProducerID(_ context.Context, b *Broker, conn *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
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
	if req.Version >= 3 && req.ProducerID >= 0 {
		if req.ProducerEpoch < 0 || !b.pids.issued(req.ProducerID) {
			resp.ErrorCode = kerr.InvalidProducerIDMapping.Code
			return resp, nil
		}
		if req.ProducerEpoch < math.MaxInt16-1 {
			resp.ProducerID, resp.ProducerEpoch = req.ProducerID, req.ProducerEpoch+1
			return resp, nil
		}
	}
	id, err := b.pids.allocate()
	if err != nil {
		b.logger.Error("allocating a producer id failed", "err", err)
		resp.ErrorCode = kerr.UnknownServerError.Code
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp, nil
}
