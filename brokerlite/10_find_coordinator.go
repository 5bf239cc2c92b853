package brokerlite

// FindCoordinator (key 10), versions 0-4.
//
// brokerlite is one node, so it coordinates every group: the answer is always this broker's
// node id and advertised address. v0 asks for a group; v1+ name the key type: 0 (group) and
// 1 (transaction; the node is also the transaction coordinator). Other key
// types (2, share groups) get INVALID_REQUEST. v4 batches keys (KIP-699), each answered on
// its own. An empty key is answered like any other, as Kafka does (OffsetCommit and
// OffsetFetch accept the empty group id for backwards compatibility).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.FindCoordinator, 0, 4, handleFindCoordinator) }

func handleFindCoordinator(_ context.Context, b *Broker, info *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.FindCoordinatorRequest)
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	host, port := b.advertisedFor(info)
	answer := func() (nodeID int32, h string, p int32, code int16, msg *string) {
		switch {
		case req.CoordinatorType != 0 && req.CoordinatorType != 1:
			return -1, "", -1, kerr.InvalidRequest.Code, kmsg.StringPtr("brokerlite coordinates groups (key type 0) and transactions (1) only")
		case req.CoordinatorType == 0 && b.coordinator() == nil:
			return -1, "", -1, kerr.CoordinatorNotAvailable.Code, kmsg.StringPtr("the group coordinator is not running")
		case req.CoordinatorType == 1 && b.txnCoordinator() == nil:
			return -1, "", -1, kerr.CoordinatorNotAvailable.Code, kmsg.StringPtr("the transaction coordinator is not running")
		}
		return b.nodeID, host, port, 0, nil
	}
	if req.Version >= 4 {
		for _, key := range req.CoordinatorKeys {
			rc := kmsg.NewFindCoordinatorResponseCoordinator()
			rc.Key = key
			rc.NodeID, rc.Host, rc.Port, rc.ErrorCode, rc.ErrorMessage = answer()
			resp.Coordinators = append(resp.Coordinators, rc)
		}
		return resp, nil
	}
	resp.NodeID, resp.Host, resp.Port, resp.ErrorCode, resp.ErrorMessage = answer()
	return resp, nil
}
