package brokerlite

// DescribeGroups (key 15), versions 0-6.
//
// Describes each group: state, protocol type, and members (with client id and host, and
// v4+ group.instance.id). As in Kafka, the selected protocol and each member's metadata and
// assignment are filled in only for a Stable group, and a group the coordinator does not
// know is described as Dead with no error before v6, and with GROUP_ID_NOT_FOUND from v6
// (KIP-1043). Authorized operations (v3+) are computed when asked (authz_ops.go);
// otherwise Kafka's "not requested" value is returned.

import (
	"context"
	"math"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.DescribeGroups, 0, 6, handleDescribeGroups) }

func handleDescribeGroups(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	c := b.coordinator()
	if c == nil {
		return nil, errNoCoordinator
	}
	for _, d := range c.DescribeGroups(req.Groups) {
		rg := kmsg.NewDescribeGroupsResponseGroup()
		rg.Group, rg.ErrorCode = d.Group, d.ErrorCode
		rg.State = d.State.String()
		rg.ProtocolType, rg.Protocol = d.ProtocolType, d.Protocol
		rg.AuthorizedOperations = math.MinInt32
		if !d.Exists && d.ErrorCode == 0 && req.Version >= 6 {
			rg.ErrorCode = kerr.GroupIDNotFound.Code
			rg.ErrorMessage = kmsg.StringPtr("group " + d.Group + " does not exist")
		}
		for _, m := range d.Members {
			rm := kmsg.NewDescribeGroupsResponseGroupMember()
			rm.MemberID, rm.ClientID, rm.ClientHost = m.MemberID, m.ClientID, m.ClientHost
			if m.InstanceID != "" {
				rm.InstanceID = kmsg.StringPtr(m.InstanceID)
			}
			rm.ProtocolMetadata, rm.MemberAssignment = m.Metadata, m.Assignment
			if rm.ProtocolMetadata == nil {
				rm.ProtocolMetadata = []byte{}
			}
			if rm.MemberAssignment == nil {
				rm.MemberAssignment = []byte{}
			}
			rg.Members = append(rg.Members, rm)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}
