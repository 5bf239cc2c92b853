package brokerlite

// Heartbeat (key 12), versions 0-4.
//
// Keeps a member's session alive. REBALANCE_IN_PROGRESS tells the member to rejoin;
// ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID that it is out of the group; v3+ carry
// group.instance.id (FENCED_INSTANCE_ID for an older incarnation of a static member).

import (
	"context"

	"github.com/rivulet-io/rivulet/brokerlite/groupcoord"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.Heartbeat, 0, 4, handleHeartbeat) }

func handleHeartbeat(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.HeartbeatRequest)
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	c := b.coordinator()
	if c == nil {
		return nil, errNoCoordinator
	}
	resp.ErrorCode = c.Heartbeat(groupcoord.HeartbeatRequest{
		Group:      req.Group,
		MemberID:   req.MemberID,
		InstanceID: strOrEmpty(req.InstanceID),
		Generation: req.Generation,
	})
	return resp, nil
}
