package brokerlite

// Authorized operations (KIP-430): Metadata, DescribeGroups and DescribeCluster answer,
// when asked, which operations the principal may perform, as a bit field with bit n set
// for operation code n, over the operations Kafka lists for each resource type. Without an
// authorizer every operation is allowed, so the field lists them all, as in Kafka
// (AuthHelper.authorizedOperations).

import (
	"github.com/rivulet-io/rivulet/brokerlite/auth"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var (
	topicOps   = []auth.Operation{auth.OpRead, auth.OpWrite, auth.OpCreate, auth.OpDelete, auth.OpAlter, auth.OpDescribe, auth.OpDescribeConfigs, auth.OpAlterConfigs}
	groupOps   = []auth.Operation{auth.OpRead, auth.OpDescribe, auth.OpDelete}
	clusterOps = []auth.Operation{auth.OpCreate, auth.OpAlter, auth.OpDescribe, auth.OpClusterAction, auth.OpDescribeConfigs, auth.OpAlterConfigs, auth.OpIdempotentWrite}
)

// authorizedOps is the KIP-430 bit field of the operations the principal may perform on
// one resource.
func (b *Broker) authorizedOps(info *ConnInfo, rt auth.ResourceType, name string, ops []auth.Operation) int32 {
	var bits int32
	for _, op := range ops {
		if b.authorize(info, op, rt, name) {
			bits |= 1 << uint(op)
		}
	}
	return bits
}

// fillAuthorizedOps completes an answer's authorized-operations fields where the request
// asked for them.
func fillAuthorizedOps(b *Broker, info *ConnInfo, req kmsg.Request, resp kmsg.Response) {
	switch r := resp.(type) {
	case *kmsg.MetadataResponse:
		q := req.(*kmsg.MetadataRequest)
		if q.IncludeTopicAuthorizedOperations {
			for i := range r.Topics {
				if t := &r.Topics[i]; t.Topic != nil && t.ErrorCode == 0 {
					t.AuthorizedOperations = b.authorizedOps(info, auth.ResourceTopic, *t.Topic, topicOps)
				}
			}
		}
		if q.IncludeClusterAuthorizedOperations {
			r.AuthorizedOperations = b.clusterOps(info)
		}
	case *kmsg.DescribeGroupsResponse:
		if req.(*kmsg.DescribeGroupsRequest).IncludeAuthorizedOperations {
			for i := range r.Groups {
				if g := &r.Groups[i]; g.ErrorCode == 0 {
					g.AuthorizedOperations = b.authorizedOps(info, auth.ResourceGroup, g.Group, groupOps)
				}
			}
		}
	case *kmsg.DescribeClusterResponse:
		if req.(*kmsg.DescribeClusterRequest).IncludeClusterAuthorizedOperations && r.ErrorCode == 0 {
			r.ClusterAuthorizedOperations = b.clusterOps(info)
		}
	}
}

// clusterOps is the cluster's authorized operations as Kafka answers them: 0 to a
// principal that may not describe the cluster.
func (b *Broker) clusterOps(info *ConnInfo) int32 {
	if !b.authorizeCluster(info, auth.OpDescribe) {
		return 0
	}
	return b.authorizedOps(info, auth.ResourceCluster, clusterResourceName, clusterOps)
}
