package brokerlite

// JoinGroup (key 11), versions 0-9.
//
// The classic rebalance protocol, run by groupcoord. The handler blocks until the member's
// rebalance completes (or the broker closes, answered NOT_COORDINATOR). v0 has no rebalance
// timeout: the session timeout is used, as Kafka does. v4+ new dynamic members get
// MEMBER_ID_REQUIRED with their id first (KIP-394); v5+ carry group.instance.id (KIP-345);
// v7+ echo the protocol type and name; v9 sets skip_assignment for a static leader that
// rejoined a stable group (KIP-814). An empty group instance id is treated as none.

import (
	"context"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite/groupcoord"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.JoinGroup, 0, 9, handleJoinGroup) }

func handleJoinGroup(ctx context.Context, b *Broker, conn *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.JoinGroupRequest)
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	c := b.coordinator()
	if c == nil {
		return nil, errNoCoordinator
	}
	jr := groupcoord.JoinRequest{
		Group:                  req.Group,
		MemberID:               req.MemberID,
		InstanceID:             strOrEmpty(req.InstanceID),
		ClientID:               conn.ClientID,
		ClientHost:             clientHost(conn),
		ProtocolType:           req.ProtocolType,
		SessionTimeout:         time.Duration(req.SessionTimeoutMillis) * time.Millisecond,
		RebalanceTimeout:       time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond,
		RequireKnownMemberID:   req.Version >= 4,
		SupportsSkipAssignment: req.Version >= 9,
		Reason:                 strOrEmpty(req.Reason),
	}
	if req.Version == 0 {
		jr.RebalanceTimeout = jr.SessionTimeout
	}
	for _, p := range req.Protocols {
		jr.Protocols = append(jr.Protocols, groupcoord.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	res, err := c.Join(ctx, jr)
	if err != nil {
		// The connection or the broker is closing; the answer would go nowhere.
		resp.ErrorCode = kerr.NotCoordinator.Code
		resp.Generation = -1
		return resp, nil
	}
	resp.ErrorCode = res.ErrorCode
	resp.Generation = res.Generation
	resp.MemberID = res.MemberID
	if res.ErrorCode != 0 {
		return resp, nil
	}
	resp.LeaderID = res.LeaderID
	resp.ProtocolType = kmsg.StringPtr(res.ProtocolType)
	resp.Protocol = kmsg.StringPtr(res.Protocol)
	resp.SkipAssignment = res.SkipAssignment
	for _, m := range res.Members {
		rm := kmsg.NewJoinGroupResponseMember()
		rm.MemberID = m.MemberID
		if m.InstanceID != "" {
			rm.InstanceID = kmsg.StringPtr(m.InstanceID)
		}
		rm.ProtocolMetadata = m.Metadata
		resp.Members = append(resp.Members, rm)
	}
	return resp, nil
}
