package brokerlite

// ACL checks of every API, as Kafka documents them ("Operations and Resources on
// Protocols"). authorizeRequest runs before the handler when an authorizer is configured: it
// either answers the whole request itself (everything denied) or takes the denied parts
// out of the request and returns a function that adds them, with their
// *_AUTHORIZATION_FAILED codes, to the handler's answer. An API not listed here is served
// only to principals with CLUSTER_ACTION on the cluster (super users): fail closed.

import (
	"github.com/rivulet-io/rivulet/brokerlite/auth"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var (
	codeTopicAuth   = kerr.TopicAuthorizationFailed.Code
	codeGroupAuth   = kerr.GroupAuthorizationFailed.Code
	codeClusterAuth = kerr.ClusterAuthorizationFailed.Code
	codeTxnAuth     = kerr.TransactionalIDAuthorizationFailed.Code
)

func (b *Broker) topicOK(info *ConnInfo, op auth.Operation, name string) bool {
	return b.authorize(info, op, auth.ResourceTopic, name)
}

func (b *Broker) groupOK(info *ConnInfo, op auth.Operation, name string) bool {
	return b.authorize(info, op, auth.ResourceGroup, name)
}

// canCreateTopic is Kafka's check for creating a topic: CREATE on the cluster or the topic.
func (b *Broker) canCreateTopic(info *ConnInfo, name string) bool {
	return b.authorizeCluster(info, auth.OpCreate) || b.topicOK(info, auth.OpCreate, name)
}

// aclChecked lists the APIs authorizeRequest knows the ACL checks of. Any other API is
// served only to principals with CLUSTER_ACTION on the cluster (super users).
var aclChecked = map[kmsg.Key]bool{
	kmsg.ApiVersions: true, kmsg.SASLHandshake: true, kmsg.SASLAuthenticate: true,
	kmsg.Produce: true, kmsg.Fetch: true, kmsg.ListOffsets: true, kmsg.Metadata: true,
	kmsg.OffsetCommit: true, kmsg.OffsetFetch: true, kmsg.FindCoordinator: true,
	kmsg.JoinGroup: true, kmsg.Heartbeat: true, kmsg.LeaveGroup: true, kmsg.SyncGroup: true,
	kmsg.DescribeGroups: true, kmsg.ListGroups: true, kmsg.CreateTopics: true, kmsg.DeleteTopics: true,
	kmsg.DeleteRecords: true, kmsg.InitProducerID: true, kmsg.DescribeConfigs: true, kmsg.AlterConfigs: true,
	kmsg.IncrementalAlterConfigs: true, kmsg.DescribeLogDirs: true, kmsg.CreatePartitions: true,
	kmsg.DeleteGroups: true, kmsg.OffsetDelete: true, kmsg.DescribeCluster: true, kmsg.DescribeProducers: true,
	kmsg.CreateACLs: true, kmsg.DescribeACLs: true, kmsg.DeleteACLs: true,
	kmsg.DescribeUserSCRAMCredentials: true, kmsg.AlterUserSCRAMCredentials: true,
	kmsg.AddPartitionsToTxn: true, kmsg.AddOffsetsToTxn: true, kmsg.EndTxn: true, kmsg.TxnOffsetCommit: true,
	kmsg.DescribeTransactions: true, kmsg.ListTransactions: true,
}

// topicName resolves a topic given by name or by id ("" when unknown).
func (b *Broker) topicName(name string, id [16]byte) string {
	if name != "" {
		return name
	}
	if t := b.topics.getByID(id); t != nil {
		return t.name
	}
	return ""
}

// authorizeRequest checks req; see the file comment. It returns a complete answer when the
// request is denied as a whole, else a function (maybe nil) to complete the handler's answer.
func authorizeRequest(b *Broker, info *ConnInfo, kreq kmsg.Request) (kmsg.Response, func(kmsg.Response)) {
	switch req := kreq.(type) {
	case *kmsg.ApiVersionsRequest, *kmsg.SASLHandshakeRequest, *kmsg.SASLAuthenticateRequest:
		return nil, nil

	case *kmsg.ProduceRequest:
		if req.TransactionID != nil && !b.authorize(info, auth.OpWrite, auth.ResourceTransactionalID, *req.TransactionID) {
			resp := req.ResponseKind().(*kmsg.ProduceResponse)
			for _, t := range req.Topics {
				resp.Topics = append(resp.Topics, produceDenied(t, codeTxnAuth))
			}
			return resp, nil
		}
		var denied []kmsg.ProduceResponseTopic
		kept := req.Topics[:0]
		for _, t := range req.Topics {
			if b.topicOK(info, auth.OpWrite, t.Topic) {
				kept = append(kept, t)
			} else {
				denied = append(denied, produceDenied(t, codeTopicAuth))
			}
		}
		req.Topics = kept
		return nil, appendTo(func(r *kmsg.ProduceResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.FetchRequest:
		if req.ReplicaID >= 0 {
			if !b.authorizeCluster(info, auth.OpClusterAction) {
				resp := req.ResponseKind().(*kmsg.FetchResponse)
				resp.ErrorCode = codeClusterAuth
				return resp, nil
			}
			return nil, nil
		}
		var denied []kmsg.FetchResponseTopic
		kept := req.Topics[:0]
		for _, t := range req.Topics {
			name := b.topicName(t.Topic, t.TopicID)
			if name == "" || b.topicOK(info, auth.OpRead, name) {
				kept = append(kept, t)
				continue
			}
			rt := kmsg.NewFetchResponseTopic()
			rt.Topic, rt.TopicID = t.Topic, t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewFetchResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, codeTopicAuth
				rt.Partitions = append(rt.Partitions, rp)
			}
			denied = append(denied, rt)
		}
		req.Topics = kept
		return nil, appendTo(func(r *kmsg.FetchResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.ListOffsetsRequest:
		var denied []kmsg.ListOffsetsResponseTopic
		kept := req.Topics[:0]
		for _, t := range req.Topics {
			if b.topicOK(info, auth.OpDescribe, t.Topic) {
				kept = append(kept, t)
				continue
			}
			rt := kmsg.NewListOffsetsResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewListOffsetsResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, codeTopicAuth
				rt.Partitions = append(rt.Partitions, rp)
			}
			denied = append(denied, rt)
		}
		req.Topics = kept
		return nil, appendTo(func(r *kmsg.ListOffsetsResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.MetadataRequest:
		return nil, authorizeMetadata(b, info, req)

	case *kmsg.OffsetCommitRequest:
		if !b.groupOK(info, auth.OpRead, req.Group) {
			resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
			for _, t := range req.Topics {
				resp.Topics = append(resp.Topics, offsetCommitDenied(t, codeGroupAuth))
			}
			return resp, nil
		}
		var denied []kmsg.OffsetCommitResponseTopic
		kept := req.Topics[:0]
		for _, t := range req.Topics {
			if b.topicOK(info, auth.OpRead, t.Topic) {
				kept = append(kept, t)
			} else {
				denied = append(denied, offsetCommitDenied(t, codeTopicAuth))
			}
		}
		req.Topics = kept
		return nil, appendTo(func(r *kmsg.OffsetCommitResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.OffsetFetchRequest:
		return authorizeOffsetFetch(b, info, req)

	case *kmsg.FindCoordinatorRequest:
		ok := func(keyType int8, key string) (bool, int16) {
			if keyType == 1 {
				return b.authorize(info, auth.OpDescribe, auth.ResourceTransactionalID, key), codeTxnAuth
			}
			return b.groupOK(info, auth.OpDescribe, key), codeGroupAuth
		}
		if req.Version < 4 {
			if allowed, code := ok(req.CoordinatorType, req.CoordinatorKey); !allowed {
				resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
				resp.ErrorCode, resp.NodeID, resp.Port = code, -1, -1
				return resp, nil
			}
			return nil, nil
		}
		var denied []kmsg.FindCoordinatorResponseCoordinator
		kept := req.CoordinatorKeys[:0]
		for _, k := range req.CoordinatorKeys {
			if allowed, code := ok(req.CoordinatorType, k); !allowed {
				c := kmsg.NewFindCoordinatorResponseCoordinator()
				c.Key, c.ErrorCode, c.NodeID, c.Port = k, code, -1, -1
				denied = append(denied, c)
			} else {
				kept = append(kept, k)
			}
		}
		req.CoordinatorKeys = kept
		if len(kept) == 0 {
			resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
			resp.Coordinators = denied
			return resp, nil
		}
		return nil, appendTo(func(r *kmsg.FindCoordinatorResponse) { r.Coordinators = append(r.Coordinators, denied...) })

	case *kmsg.JoinGroupRequest:
		if !b.groupOK(info, auth.OpRead, req.Group) {
			resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
			resp.ErrorCode, resp.Generation = codeGroupAuth, -1
			return resp, nil
		}
		return nil, nil
	case *kmsg.HeartbeatRequest:
		if !b.groupOK(info, auth.OpRead, req.Group) {
			resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
			resp.ErrorCode = codeGroupAuth
			return resp, nil
		}
		return nil, nil
	case *kmsg.LeaveGroupRequest:
		if !b.groupOK(info, auth.OpRead, req.Group) {
			resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
			resp.ErrorCode = codeGroupAuth
			return resp, nil
		}
		return nil, nil
	case *kmsg.SyncGroupRequest:
		if !b.groupOK(info, auth.OpRead, req.Group) {
			resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
			resp.ErrorCode = codeGroupAuth
			return resp, nil
		}
		return nil, nil

	case *kmsg.DescribeGroupsRequest:
		var denied []kmsg.DescribeGroupsResponseGroup
		kept := req.Groups[:0]
		for _, g := range req.Groups {
			if b.groupOK(info, auth.OpDescribe, g) {
				kept = append(kept, g)
				continue
			}
			rg := kmsg.NewDescribeGroupsResponseGroup()
			rg.Group, rg.ErrorCode = g, codeGroupAuth
			denied = append(denied, rg)
		}
		req.Groups = kept
		return nil, appendTo(func(r *kmsg.DescribeGroupsResponse) { r.Groups = append(r.Groups, denied...) })

	case *kmsg.ListGroupsRequest:
		if b.authorizeCluster(info, auth.OpDescribe) {
			return nil, nil
		}
		return nil, appendTo(func(r *kmsg.ListGroupsResponse) {
			kept := r.Groups[:0]
			for _, g := range r.Groups {
				if b.groupOK(info, auth.OpDescribe, g.Group) {
					kept = append(kept, g)
				}
			}
			r.Groups = kept
		})

	case *kmsg.CreateTopicsRequest:
		var denied []kmsg.CreateTopicsResponseTopic
		kept := req.Topics[:0]
		for _, t := range req.Topics {
			if b.canCreateTopic(info, t.Topic) {
				kept = append(kept, t)
				continue
			}
			rt := kmsg.NewCreateTopicsResponseTopic()
			rt.Topic, rt.ErrorCode = t.Topic, codeTopicAuth
			rt.ErrorMessage = kmsg.StringPtr("not authorized to create topic " + t.Topic + ": needs CREATE on the cluster or the topic")
			denied = append(denied, rt)
		}
		req.Topics = kept
		return nil, appendTo(func(r *kmsg.CreateTopicsResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.DeleteTopicsRequest:
		var denied []kmsg.DeleteTopicsResponseTopic
		keptNames := req.TopicNames[:0]
		for _, n := range req.TopicNames {
			if b.topicOK(info, auth.OpDelete, n) {
				keptNames = append(keptNames, n)
				continue
			}
			rt := kmsg.NewDeleteTopicsResponseTopic()
			rt.Topic, rt.ErrorCode = kmsg.StringPtr(n), codeTopicAuth
			denied = append(denied, rt)
		}
		req.TopicNames = keptNames
		kept := req.Topics[:0]
		for _, t := range req.Topics {
			name := ""
			if t.Topic != nil {
				name = *t.Topic
			}
			name = b.topicName(name, t.TopicID)
			if name == "" || b.topicOK(info, auth.OpDelete, name) {
				kept = append(kept, t)
				continue
			}
			rt := kmsg.NewDeleteTopicsResponseTopic()
			rt.Topic, rt.TopicID, rt.ErrorCode = t.Topic, t.TopicID, codeTopicAuth
			denied = append(denied, rt)
		}
		req.Topics = kept
		return nil, appendTo(func(r *kmsg.DeleteTopicsResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.DeleteRecordsRequest:
		var denied []kmsg.DeleteRecordsResponseTopic
		kept := req.Topics[:0]
		for _, t := range req.Topics {
			if b.topicOK(info, auth.OpDelete, t.Topic) {
				kept = append(kept, t)
				continue
			}
			rt := kmsg.NewDeleteRecordsResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewDeleteRecordsResponseTopicPartition()
				rp.Partition, rp.ErrorCode, rp.LowWatermark = p.Partition, codeTopicAuth, -1
				rt.Partitions = append(rt.Partitions, rp)
			}
			denied = append(denied, rt)
		}
		req.Topics = kept
		return nil, appendTo(func(r *kmsg.DeleteRecordsResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.InitProducerIDRequest:
		resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ProducerID, resp.ProducerEpoch = -1, -1
		if req.TransactionalID != nil {
			if !b.authorize(info, auth.OpWrite, auth.ResourceTransactionalID, *req.TransactionalID) {
				resp.ErrorCode = codeTxnAuth
				return resp, nil
			}
			return nil, nil
		}
		// KIP-679: WRITE on any topic implies IDEMPOTENT_WRITE.
		if !b.authorizeCluster(info, auth.OpIdempotentWrite) && !b.authorizeAny(info, auth.OpWrite, auth.ResourceTopic) {
			resp.ErrorCode = codeClusterAuth
			return resp, nil
		}
		return nil, nil

	case *kmsg.DescribeConfigsRequest:
		var denied []kmsg.DescribeConfigsResponseResource
		kept := req.Resources[:0]
		for _, r := range req.Resources {
			if ok, code := configResourceOK(b, info, auth.OpDescribeConfigs, r.ResourceType, r.ResourceName); !ok {
				rr := kmsg.NewDescribeConfigsResponseResource()
				rr.ResourceType, rr.ResourceName, rr.ErrorCode = r.ResourceType, r.ResourceName, code
				denied = append(denied, rr)
				continue
			}
			kept = append(kept, r)
		}
		req.Resources = kept
		return nil, appendTo(func(r *kmsg.DescribeConfigsResponse) { r.Resources = append(r.Resources, denied...) })

	case *kmsg.AlterConfigsRequest:
		var denied []kmsg.AlterConfigsResponseResource
		kept := req.Resources[:0]
		for _, r := range req.Resources {
			if ok, code := configResourceOK(b, info, auth.OpAlterConfigs, r.ResourceType, r.ResourceName); !ok {
				rr := kmsg.NewAlterConfigsResponseResource()
				rr.ResourceType, rr.ResourceName, rr.ErrorCode = r.ResourceType, r.ResourceName, code
				denied = append(denied, rr)
				continue
			}
			kept = append(kept, r)
		}
		req.Resources = kept
		return nil, appendTo(func(r *kmsg.AlterConfigsResponse) { r.Resources = append(r.Resources, denied...) })

	case *kmsg.IncrementalAlterConfigsRequest:
		var denied []kmsg.IncrementalAlterConfigsResponseResource
		kept := req.Resources[:0]
		for _, r := range req.Resources {
			if ok, code := configResourceOK(b, info, auth.OpAlterConfigs, r.ResourceType, r.ResourceName); !ok {
				rr := kmsg.NewIncrementalAlterConfigsResponseResource()
				rr.ResourceType, rr.ResourceName, rr.ErrorCode = r.ResourceType, r.ResourceName, code
				denied = append(denied, rr)
				continue
			}
			kept = append(kept, r)
		}
		req.Resources = kept
		return nil, appendTo(func(r *kmsg.IncrementalAlterConfigsResponse) { r.Resources = append(r.Resources, denied...) })

	case *kmsg.DescribeLogDirsRequest:
		if !b.authorizeCluster(info, auth.OpDescribe) {
			resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
			resp.ErrorCode = codeClusterAuth
			return resp, nil
		}
		return nil, nil

	case *kmsg.CreatePartitionsRequest:
		var denied []kmsg.CreatePartitionsResponseTopic
		kept := req.Topics[:0]
		for _, t := range req.Topics {
			if b.topicOK(info, auth.OpAlter, t.Topic) {
				kept = append(kept, t)
				continue
			}
			rt := kmsg.NewCreatePartitionsResponseTopic()
			rt.Topic, rt.ErrorCode = t.Topic, codeTopicAuth
			denied = append(denied, rt)
		}
		req.Topics = kept
		return nil, appendTo(func(r *kmsg.CreatePartitionsResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.DeleteGroupsRequest:
		var denied []kmsg.DeleteGroupsResponseGroup
		kept := req.Groups[:0]
		for _, g := range req.Groups {
			if b.groupOK(info, auth.OpDelete, g) {
				kept = append(kept, g)
				continue
			}
			rg := kmsg.NewDeleteGroupsResponseGroup()
			rg.Group, rg.ErrorCode = g, codeGroupAuth
			denied = append(denied, rg)
		}
		req.Groups = kept
		return nil, appendTo(func(r *kmsg.DeleteGroupsResponse) { r.Groups = append(r.Groups, denied...) })

	case *kmsg.OffsetDeleteRequest:
		if !b.groupOK(info, auth.OpDelete, req.Group) {
			resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
			resp.ErrorCode = codeGroupAuth
			return resp, nil
		}
		var denied []kmsg.OffsetDeleteResponseTopic
		kept := req.Topics[:0]
		for _, t := range req.Topics {
			if b.topicOK(info, auth.OpRead, t.Topic) {
				kept = append(kept, t)
				continue
			}
			rt := kmsg.NewOffsetDeleteResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetDeleteResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, codeTopicAuth
				rt.Partitions = append(rt.Partitions, rp)
			}
			denied = append(denied, rt)
		}
		req.Topics = kept
		return nil, appendTo(func(r *kmsg.OffsetDeleteResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.DescribeClusterRequest:
		if !b.authorizeCluster(info, auth.OpDescribe) {
			resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
			resp.ErrorCode = codeClusterAuth
			return resp, nil
		}
		return nil, nil

	case *kmsg.DescribeProducersRequest:
		var denied []kmsg.DescribeProducersResponseTopic
		kept := req.Topics[:0]
		for _, t := range req.Topics {
			if b.topicOK(info, auth.OpRead, t.Topic) {
				kept = append(kept, t)
				continue
			}
			rt := kmsg.NewDescribeProducersResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewDescribeProducersResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p, codeTopicAuth
				rt.Partitions = append(rt.Partitions, rp)
			}
			denied = append(denied, rt)
		}
		req.Topics = kept
		return nil, appendTo(func(r *kmsg.DescribeProducersResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.CreateACLsRequest:
		if !b.authorizeCluster(info, auth.OpAlter) {
			resp := req.ResponseKind().(*kmsg.CreateACLsResponse)
			for range req.Creations {
				r := kmsg.NewCreateACLsResponseResult()
				r.ErrorCode = codeClusterAuth
				resp.Results = append(resp.Results, r)
			}
			return resp, nil
		}
		return nil, nil
	case *kmsg.DescribeACLsRequest:
		if !b.authorizeCluster(info, auth.OpDescribe) {
			resp := req.ResponseKind().(*kmsg.DescribeACLsResponse)
			resp.ErrorCode = codeClusterAuth
			return resp, nil
		}
		return nil, nil
	case *kmsg.DeleteACLsRequest:
		if !b.authorizeCluster(info, auth.OpAlter) {
			resp := req.ResponseKind().(*kmsg.DeleteACLsResponse)
			for range req.Filters {
				r := kmsg.NewDeleteACLsResponseResult()
				r.ErrorCode = codeClusterAuth
				resp.Results = append(resp.Results, r)
			}
			return resp, nil
		}
		return nil, nil
	case *kmsg.DescribeUserSCRAMCredentialsRequest:
		if !b.authorizeCluster(info, auth.OpDescribe) {
			resp := req.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
			resp.ErrorCode = codeClusterAuth
			return resp, nil
		}
		return nil, nil
	case *kmsg.AlterUserSCRAMCredentialsRequest:
		if !b.authorizeCluster(info, auth.OpAlter) {
			resp := req.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
			seen := map[string]bool{}
			add := func(user string) {
				if !seen[user] {
					seen[user] = true
					r := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
					r.User, r.ErrorCode = user, codeClusterAuth
					resp.Results = append(resp.Results, r)
				}
			}
			for _, d := range req.Deletions {
				add(d.Name)
			}
			for _, u := range req.Upsertions {
				add(u.Name)
			}
			return resp, nil
		}
		return nil, nil
	}
	return authorizeTxnRequest(b, info, kreq)
}

// configResourceOK checks op on a DescribeConfigs/AlterConfigs resource: a topic, or the
// broker (the cluster resource).
func configResourceOK(b *Broker, info *ConnInfo, op auth.Operation, rt kmsg.ConfigResourceType, name string) (bool, int16) {
	switch rt {
	case kmsg.ConfigResourceTypeTopic:
		return b.topicOK(info, op, name), codeTopicAuth
	default:
		return b.authorizeCluster(info, op), codeClusterAuth
	}
}

// appendTo adapts a typed completion function to the generic one callSecured calls.
func appendTo[R kmsg.Response](fn func(R)) func(kmsg.Response) {
	return func(r kmsg.Response) {
		if typed, ok := r.(R); ok {
			fn(typed)
		}
	}
}

func produceDenied(t kmsg.ProduceRequestTopic, code int16) kmsg.ProduceResponseTopic {
	rt := kmsg.NewProduceResponseTopic()
	rt.Topic = t.Topic
	for _, p := range t.Partitions {
		rp := kmsg.NewProduceResponseTopicPartition()
		rp.Partition, rp.ErrorCode = p.Partition, code
		rt.Partitions = append(rt.Partitions, rp)
	}
	return rt
}

func offsetCommitDenied(t kmsg.OffsetCommitRequestTopic, code int16) kmsg.OffsetCommitResponseTopic {
	rt := kmsg.NewOffsetCommitResponseTopic()
	rt.Topic = t.Topic
	for _, p := range t.Partitions {
		rp := kmsg.NewOffsetCommitResponseTopicPartition()
		rp.Partition, rp.ErrorCode = p.Partition, code
		rt.Partitions = append(rt.Partitions, rp)
	}
	return rt
}

// authorizeMetadata hides the topics the principal may not describe from a list of every
// topic, answers TOPIC_AUTHORIZATION_FAILED for named ones, and does not auto-create a topic
// without CREATE (on the cluster or the topic).
func authorizeMetadata(b *Broker, info *ConnInfo, req *kmsg.MetadataRequest) func(kmsg.Response) {
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		return appendTo(func(r *kmsg.MetadataResponse) {
			kept := r.Topics[:0]
			for _, t := range r.Topics {
				if t.Topic != nil && b.topicOK(info, auth.OpDescribe, *t.Topic) {
					kept = append(kept, t)
				}
			}
			r.Topics = kept
		})
	}
	var denied []kmsg.MetadataResponseTopic
	kept := req.Topics[:0]
	allowAuto := req.Version < 4 || req.AllowAutoTopicCreation
	for _, t := range req.Topics {
		name := ""
		if t.Topic != nil {
			name = *t.Topic
		}
		name = b.topicName(name, t.TopicID)
		if name == "" {
			kept = append(kept, t)
			continue
		}
		mt := kmsg.NewMetadataResponseTopic()
		mt.Topic, mt.TopicID = kmsg.StringPtr(name), t.TopicID
		mt.Partitions = []kmsg.MetadataResponseTopicPartition{}
		switch {
		case !b.topicOK(info, auth.OpDescribe, name):
			mt.ErrorCode = codeTopicAuth
		case b.topics.get(name) == nil && allowAuto && b.settings.AutoCreateTopics && !b.canCreateTopic(info, name):
			mt.ErrorCode = kerr.UnknownTopicOrPartition.Code
		default:
			kept = append(kept, t)
			continue
		}
		denied = append(denied, mt)
	}
	req.Topics = kept
	if len(kept) == 0 && len(denied) > 0 && req.Version > 0 {
		// An empty list would mean "no topics" from v1 on, which is right; at v0 it would
		// mean "every topic", so v0 keeps an impossible name out of it instead.
		req.Topics = []kmsg.MetadataRequestTopic{}
	}
	if len(kept) == 0 && len(denied) > 0 && req.Version == 0 {
		req.Topics = nil
		return appendTo(func(r *kmsg.MetadataResponse) { r.Topics = denied })
	}
	return appendTo(func(r *kmsg.MetadataResponse) { r.Topics = append(r.Topics, denied...) })
}

// authorizeOffsetFetch checks DESCRIBE on each group and on each topic asked for; with no
// topics named (every committed offset), topics the principal may not describe are left out.
func authorizeOffsetFetch(b *Broker, info *ConnInfo, req *kmsg.OffsetFetchRequest) (kmsg.Response, func(kmsg.Response)) {
	if req.Version < 8 {
		if !b.groupOK(info, auth.OpDescribe, req.Group) {
			resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
			resp.ErrorCode = codeGroupAuth
			for _, t := range req.Topics {
				rt := kmsg.NewOffsetFetchResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseTopicPartition()
					rp.Partition, rp.ErrorCode, rp.Offset = p, codeGroupAuth, -1
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
			return resp, nil
		}
		return nil, appendTo(func(r *kmsg.OffsetFetchResponse) {
			kept := r.Topics[:0]
			for _, t := range r.Topics {
				if !b.topicOK(info, auth.OpDescribe, t.Topic) {
					if req.Topics == nil {
						continue
					}
					for i := range t.Partitions {
						t.Partitions[i].ErrorCode, t.Partitions[i].Offset = codeTopicAuth, -1
					}
				}
				kept = append(kept, t)
			}
			r.Topics = kept
		})
	}
	deniedGroups := map[string]bool{}
	for _, g := range req.Groups {
		if !b.groupOK(info, auth.OpDescribe, g.Group) {
			deniedGroups[g.Group] = true
		}
	}
	return nil, appendTo(func(r *kmsg.OffsetFetchResponse) {
		for gi := range r.Groups {
			g := &r.Groups[gi]
			if deniedGroups[g.Group] {
				g.ErrorCode, g.Topics = codeGroupAuth, nil
				continue
			}
			asked := true
			for _, rg := range req.Groups {
				if rg.Group == g.Group && rg.Topics == nil {
					asked = false
				}
			}
			kept := g.Topics[:0]
			for _, t := range g.Topics {
				if !b.topicOK(info, auth.OpDescribe, t.Topic) {
					if !asked {
						continue
					}
					for i := range t.Partitions {
						t.Partitions[i].ErrorCode, t.Partitions[i].Offset = codeTopicAuth, -1
					}
				}
				kept = append(kept, t)
			}
			g.Topics = kept
		}
	})
}
