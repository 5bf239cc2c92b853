package brokerlite

// SyncGroup (key 14), versions 0-5.
//
// Followers wait until the group leader's assignment is stored durably in __consumer_offsets,
// then every member gets its own assignment. v3+ carry group.instance.id (FENCED_INSTANCE_ID
// for an older incarnation); v5 checks the protocol type and name against the group's
// (INCONSISTENT_GROUP_PROTOCOL) and echoes them.

import (
	"context"

	"github.com/rivulet-io/rivulet/brokerlite/groupcoord"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.SyncGroup, 0, 5, handleSyncGroup) }

func handleSyncGroup(ctx context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.SyncGroupRequest)
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	c := b.coordinator()
	if c == nil {
		return nil, errNoCoordinator
	}
	sr := groupcoord.SyncRequest{
		Group:        req.Group,
		MemberID:     req.MemberID,
		InstanceID:   strOrEmpty(req.InstanceID),
		Generation:   req.Generation,
		ProtocolType: req.ProtocolType,
		Protocol:     req.Protocol,
	}
	for _, a := range req.GroupAssignment {
		sr.Assignments = append(sr.Assignments, groupcoord.MemberAssignment{MemberID: a.MemberID, Assignment: a.MemberAssignment})
	}
	res, err := c.Sync(ctx, sr)
	if err != nil {
		resp.ErrorCode = kerr.NotCoordinator.Code
		resp.MemberAssignment = []byte{}
		return resp, nil
	}
	resp.ErrorCode = res.ErrorCode
	resp.MemberAssignment = res.Assignment
	if resp.MemberAssignment == nil {
		resp.MemberAssignment = []byte{}
	}
	if res.ErrorCode == 0 {
		resp.ProtocolType = kmsg.StringPtr(res.ProtocolType)
		resp.Protocol = kmsg.StringPtr(res.Protocol)
	}
	return resp, nil
}
