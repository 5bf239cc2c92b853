package brokerlite

// LeaveGroup (key 13), versions 0-5.
//
// v0-v2 remove one member by id; the member's error is the top-level error. v3+ remove a
// batch (KIP-345), each member by member id or by group.instance.id (a static member leaving
// with the wrong member id is FENCED_INSTANCE_ID), with one error per member; one rebalance
// follows. v5 carries a reason per member, which the coordinator logs.

import (
	"context"

	"github.com/rivulet-io/rivulet/brokerlite/groupcoord"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.LeaveGroup, 0, 5, handleLeaveGroup) }

func handleLeaveGroup(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.LeaveGroupRequest)
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	c := b.coordinator()
	if c == nil {
		return nil, errNoCoordinator
	}
	var members []groupcoord.LeaveMember
	if req.Version < 3 {
		members = []groupcoord.LeaveMember{{MemberID: req.MemberID}}
	} else {
		for _, m := range req.Members {
			members = append(members, groupcoord.LeaveMember{MemberID: m.MemberID, InstanceID: strOrEmpty(m.InstanceID), Reason: strOrEmpty(m.Reason)})
		}
	}
	res := c.LeaveGroup(req.Group, members)
	resp.ErrorCode = res.ErrorCode
	if req.Version < 3 {
		if resp.ErrorCode == 0 && len(res.Members) == 1 {
			resp.ErrorCode = res.Members[0]
		}
		return resp, nil
	}
	if res.ErrorCode != 0 {
		return resp, nil
	}
	for i, m := range req.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ErrorCode = m.MemberID, m.InstanceID, res.Members[i]
		resp.Members = append(resp.Members, rm)
	}
	return resp, nil
}
