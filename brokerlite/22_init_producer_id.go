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
// Transactions are a later issue. A request with a transactional id is answered with
// INVALID_REQUEST and a broker log line saying so. The transaction coordinator will take
// this request over for transactional ids (it needs __transaction_state); the idempotent
// path here stays as it is.

import (
	"context"
	"math"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.InitProducerID, 0, 5, handleInitProducerID) }

func handleInitProducerID(_ context.Context, b *Broker, conn *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		b.logger.Warn("transactional producer refused: brokerlite does not support transactions yet",
			append(logAttrs(conn), "transactional.id", *req.TransactionalID)...)
		resp.ErrorCode = kerr.InvalidRequest.Code
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
		// The reservation file could not be written (a full or failing disk).
		b.logger.Error("allocating a producer id failed", "err", err)
		resp.ErrorCode = kerr.KafkaStorageError.Code
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp, nil
}
