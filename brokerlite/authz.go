package brokerlite

// ACL checks of every API, as Kafka documents them ("Operations and Resources on
// Protocols"). authorizeRequest runs before the handler when an authorizer is configured: it
// either answers the whole request itself (everything denied) or takes the denied parts
// out of the request and returns a function that adds them, with their
// *_AUTHORIZATION_FAILED codes, to the handler's answer. An API not listed here is served
// only to principals with CLUSTER_ACTION on the cluster (super users): fail closed.

import (
	"slices"

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
	kmsg.DescribeTransactions: true, kmsg.ListTransactions: true, kmsg.WriteTxnMarkers: true,
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
		denied := keepAllowed(&req.Topics,
			func(t kmsg.ProduceRequestTopic) bool { return b.topicOK(info, auth.OpWrite, t.Topic) },
			func(t kmsg.ProduceRequestTopic) kmsg.ProduceResponseTopic { return produceDenied(t, codeTopicAuth) })
		return nil, appendTo(func(r *kmsg.ProduceResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.FetchRequest:
		if req.ReplicaID >= 0 {
			return refuseUnless(b.authorizeCluster(info, auth.OpClusterAction), req, func(r *kmsg.FetchResponse) { r.ErrorCode = codeClusterAuth })
		}
		denied := keepAllowed(&req.Topics,
			func(t kmsg.FetchRequestTopic) bool {
				name := b.topicName(t.Topic, t.TopicID)
				return name == "" || b.topicOK(info, auth.OpRead, name)
			},
			func(t kmsg.FetchRequestTopic) kmsg.FetchResponseTopic {
				rt := kmsg.NewFetchResponseTopic()
				rt.Topic, rt.TopicID = t.Topic, t.TopicID
				for _, p := range t.Partitions {
					rp := kmsg.NewFetchResponseTopicPartition()
					rp.Partition, rp.ErrorCode = p.Partition, codeTopicAuth
					rt.Partitions = append(rt.Partitions, rp)
				}
				return rt
			})
		return nil, appendTo(func(r *kmsg.FetchResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.ListOffsetsRequest:
		denied := keepAllowed(&req.Topics,
			func(t kmsg.ListOffsetsRequestTopic) bool { return b.topicOK(info, auth.OpDescribe, t.Topic) },
			func(t kmsg.ListOffsetsRequestTopic) kmsg.ListOffsetsResponseTopic {
				rt := kmsg.NewListOffsetsResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewListOffsetsResponseTopicPartition()
					rp.Partition, rp.ErrorCode = p.Partition, codeTopicAuth
					rt.Partitions = append(rt.Partitions, rp)
				}
				return rt
			})
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
		denied := keepAllowed(&req.Topics,
			func(t kmsg.OffsetCommitRequestTopic) bool { return b.topicOK(info, auth.OpRead, t.Topic) },
			func(t kmsg.OffsetCommitRequestTopic) kmsg.OffsetCommitResponseTopic {
				return offsetCommitDenied(t, codeTopicAuth)
			})
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
			allowed, code := ok(req.CoordinatorType, req.CoordinatorKey)
			return refuseUnless(allowed, req, func(r *kmsg.FindCoordinatorResponse) { r.ErrorCode, r.NodeID, r.Port = code, -1, -1 })
		}
		denied := keepAllowedCode(&req.CoordinatorKeys,
			func(k string) (bool, int16) { return ok(req.CoordinatorType, k) },
			func(k string, code int16) kmsg.FindCoordinatorResponseCoordinator {
				c := kmsg.NewFindCoordinatorResponseCoordinator()
				c.Key, c.ErrorCode, c.NodeID, c.Port = k, code, -1, -1
				return c
			})
		if len(req.CoordinatorKeys) == 0 {
			return refuse(req, func(r *kmsg.FindCoordinatorResponse) { r.Coordinators = denied })
		}
		return nil, appendTo(func(r *kmsg.FindCoordinatorResponse) { r.Coordinators = append(r.Coordinators, denied...) })

	case *kmsg.JoinGroupRequest:
		return refuseUnless(b.groupOK(info, auth.OpRead, req.Group), req, func(r *kmsg.JoinGroupResponse) { r.ErrorCode, r.Generation = codeGroupAuth, -1 })
	case *kmsg.HeartbeatRequest:
		return refuseUnless(b.groupOK(info, auth.OpRead, req.Group), req, func(r *kmsg.HeartbeatResponse) { r.ErrorCode = codeGroupAuth })
	case *kmsg.LeaveGroupRequest:
		return refuseUnless(b.groupOK(info, auth.OpRead, req.Group), req, func(r *kmsg.LeaveGroupResponse) { r.ErrorCode = codeGroupAuth })
	case *kmsg.SyncGroupRequest:
		return refuseUnless(b.groupOK(info, auth.OpRead, req.Group), req, func(r *kmsg.SyncGroupResponse) { r.ErrorCode = codeGroupAuth })

	case *kmsg.DescribeGroupsRequest:
		denied := keepAllowed(&req.Groups,
			func(g string) bool { return b.groupOK(info, auth.OpDescribe, g) },
			func(g string) kmsg.DescribeGroupsResponseGroup {
				rg := kmsg.NewDescribeGroupsResponseGroup()
				rg.Group, rg.ErrorCode = g, codeGroupAuth
				return rg
			})
		return nil, appendTo(func(r *kmsg.DescribeGroupsResponse) { r.Groups = append(r.Groups, denied...) })

	case *kmsg.ListGroupsRequest:
		if b.authorizeCluster(info, auth.OpDescribe) {
			return nil, nil
		}
		return nil, appendTo(func(r *kmsg.ListGroupsResponse) {
			r.Groups = slices.DeleteFunc(r.Groups, func(g kmsg.ListGroupsResponseGroup) bool { return !b.groupOK(info, auth.OpDescribe, g.Group) })
		})

	case *kmsg.CreateTopicsRequest:
		denied := keepAllowed(&req.Topics,
			func(t kmsg.CreateTopicsRequestTopic) bool { return b.canCreateTopic(info, t.Topic) },
			func(t kmsg.CreateTopicsRequestTopic) kmsg.CreateTopicsResponseTopic {
				rt := kmsg.NewCreateTopicsResponseTopic()
				rt.Topic, rt.ErrorCode = t.Topic, codeTopicAuth
				rt.ErrorMessage = kmsg.StringPtr("not authorized to create topic " + t.Topic + ": needs CREATE on the cluster or the topic")
				return rt
			})
		return nil, appendTo(func(r *kmsg.CreateTopicsResponse) {
			// As Kafka: a created topic's configs, partitions and replication factor are
			// shown only to a principal that may describe its configs.
			for i := range r.Topics {
				if rt := &r.Topics[i]; rt.ErrorCode == 0 && !b.topicOK(info, auth.OpDescribeConfigs, rt.Topic) {
					rt.Configs, rt.NumPartitions, rt.ReplicationFactor = nil, -1, -1
					rt.ConfigErrorCode = codeTopicAuth
				}
			}
			r.Topics = append(r.Topics, denied...)
		})

	case *kmsg.DeleteTopicsRequest:
		if b.authorizeCluster(info, auth.OpDelete) {
			return nil, nil // DELETE on the cluster deletes any topic, as Kafka's controller allows
		}
		denied := keepAllowed(&req.TopicNames,
			func(n string) bool { return b.topicOK(info, auth.OpDelete, n) },
			func(n string) kmsg.DeleteTopicsResponseTopic {
				rt := kmsg.NewDeleteTopicsResponseTopic()
				rt.Topic, rt.ErrorCode = kmsg.StringPtr(n), codeTopicAuth
				return rt
			})
		denied = append(denied, keepAllowed(&req.Topics,
			func(t kmsg.DeleteTopicsRequestTopic) bool {
				name := ""
				if t.Topic != nil {
					name = *t.Topic
				}
				name = b.topicName(name, t.TopicID)
				return name == "" || b.topicOK(info, auth.OpDelete, name)
			},
			func(t kmsg.DeleteTopicsRequestTopic) kmsg.DeleteTopicsResponseTopic {
				rt := kmsg.NewDeleteTopicsResponseTopic()
				rt.Topic, rt.TopicID, rt.ErrorCode = t.Topic, t.TopicID, codeTopicAuth
				return rt
			})...)
		return nil, appendTo(func(r *kmsg.DeleteTopicsResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.DeleteRecordsRequest:
		denied := keepAllowed(&req.Topics,
			func(t kmsg.DeleteRecordsRequestTopic) bool { return b.topicOK(info, auth.OpDelete, t.Topic) },
			func(t kmsg.DeleteRecordsRequestTopic) kmsg.DeleteRecordsResponseTopic {
				rt := kmsg.NewDeleteRecordsResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewDeleteRecordsResponseTopicPartition()
					rp.Partition, rp.ErrorCode, rp.LowWatermark = p.Partition, codeTopicAuth, -1
					rt.Partitions = append(rt.Partitions, rp)
				}
				return rt
			})
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
		denied := keepAllowedCode(&req.Resources,
			func(r kmsg.DescribeConfigsRequestResource) (bool, int16) {
				return configResourceOK(b, info, auth.OpDescribeConfigs, r.ResourceType, r.ResourceName)
			},
			func(r kmsg.DescribeConfigsRequestResource, code int16) kmsg.DescribeConfigsResponseResource {
				rr := kmsg.NewDescribeConfigsResponseResource()
				rr.ResourceType, rr.ResourceName, rr.ErrorCode = r.ResourceType, r.ResourceName, code
				return rr
			})
		return nil, appendTo(func(r *kmsg.DescribeConfigsResponse) { r.Resources = append(r.Resources, denied...) })

	case *kmsg.AlterConfigsRequest:
		denied := keepAllowedCode(&req.Resources,
			func(r kmsg.AlterConfigsRequestResource) (bool, int16) {
				return configResourceOK(b, info, auth.OpAlterConfigs, r.ResourceType, r.ResourceName)
			},
			func(r kmsg.AlterConfigsRequestResource, code int16) kmsg.AlterConfigsResponseResource {
				rr := kmsg.NewAlterConfigsResponseResource()
				rr.ResourceType, rr.ResourceName, rr.ErrorCode = r.ResourceType, r.ResourceName, code
				return rr
			})
		return nil, appendTo(func(r *kmsg.AlterConfigsResponse) { r.Resources = append(r.Resources, denied...) })

	case *kmsg.IncrementalAlterConfigsRequest:
		denied := keepAllowedCode(&req.Resources,
			func(r kmsg.IncrementalAlterConfigsRequestResource) (bool, int16) {
				return configResourceOK(b, info, auth.OpAlterConfigs, r.ResourceType, r.ResourceName)
			},
			func(r kmsg.IncrementalAlterConfigsRequestResource, code int16) kmsg.IncrementalAlterConfigsResponseResource {
				rr := kmsg.NewIncrementalAlterConfigsResponseResource()
				rr.ResourceType, rr.ResourceName, rr.ErrorCode = r.ResourceType, r.ResourceName, code
				return rr
			})
		return nil, appendTo(func(r *kmsg.IncrementalAlterConfigsResponse) { r.Resources = append(r.Resources, denied...) })

	case *kmsg.DescribeLogDirsRequest:
		return refuseUnless(b.authorizeCluster(info, auth.OpDescribe), req, func(r *kmsg.DescribeLogDirsResponse) { r.ErrorCode = codeClusterAuth })

	case *kmsg.CreatePartitionsRequest:
		denied := keepAllowed(&req.Topics,
			func(t kmsg.CreatePartitionsRequestTopic) bool { return b.topicOK(info, auth.OpAlter, t.Topic) },
			func(t kmsg.CreatePartitionsRequestTopic) kmsg.CreatePartitionsResponseTopic {
				rt := kmsg.NewCreatePartitionsResponseTopic()
				rt.Topic, rt.ErrorCode = t.Topic, codeTopicAuth
				return rt
			})
		return nil, appendTo(func(r *kmsg.CreatePartitionsResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.DeleteGroupsRequest:
		denied := keepAllowed(&req.Groups,
			func(g string) bool { return b.groupOK(info, auth.OpDelete, g) },
			func(g string) kmsg.DeleteGroupsResponseGroup {
				rg := kmsg.NewDeleteGroupsResponseGroup()
				rg.Group, rg.ErrorCode = g, codeGroupAuth
				return rg
			})
		return nil, appendTo(func(r *kmsg.DeleteGroupsResponse) { r.Groups = append(r.Groups, denied...) })

	case *kmsg.OffsetDeleteRequest:
		if !b.groupOK(info, auth.OpDelete, req.Group) {
			resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
			resp.ErrorCode = codeGroupAuth
			return resp, nil
		}
		denied := keepAllowed(&req.Topics,
			func(t kmsg.OffsetDeleteRequestTopic) bool { return b.topicOK(info, auth.OpRead, t.Topic) },
			func(t kmsg.OffsetDeleteRequestTopic) kmsg.OffsetDeleteResponseTopic {
				rt := kmsg.NewOffsetDeleteResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetDeleteResponseTopicPartition()
					rp.Partition, rp.ErrorCode = p.Partition, codeTopicAuth
					rt.Partitions = append(rt.Partitions, rp)
				}
				return rt
			})
		return nil, appendTo(func(r *kmsg.OffsetDeleteResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.DescribeClusterRequest:
		// Answered to every principal, as Kafka does; DESCRIBE on the cluster only decides
		// whether the authorized operations are computed (authz_ops.go).
		return nil, nil

	case *kmsg.DescribeProducersRequest:
		denied := keepAllowed(&req.Topics,
			func(t kmsg.DescribeProducersRequestTopic) bool { return b.topicOK(info, auth.OpRead, t.Topic) },
			func(t kmsg.DescribeProducersRequestTopic) kmsg.DescribeProducersResponseTopic {
				rt := kmsg.NewDescribeProducersResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewDescribeProducersResponseTopicPartition()
					rp.Partition, rp.ErrorCode = p, codeTopicAuth
					rt.Partitions = append(rt.Partitions, rp)
				}
				return rt
			})
		return nil, appendTo(func(r *kmsg.DescribeProducersResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.WriteTxnMarkersRequest:
		// As Kafka: ALTER on the cluster (what kafka-transactions.sh abort needs) or
		// CLUSTER_ACTION; otherwise every partition of every marker is refused.
		if b.authorizeCluster(info, auth.OpAlter) || b.authorizeCluster(info, auth.OpClusterAction) {
			return nil, nil
		}
		return markersAnswer(req, func(kmsg.WriteTxnMarkersRequestMarker, string, int32) int16 { return codeClusterAuth }), nil

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
		return refuseUnless(b.authorizeCluster(info, auth.OpDescribe), req, func(r *kmsg.DescribeACLsResponse) { r.ErrorCode = codeClusterAuth })
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
		return refuseUnless(b.authorizeCluster(info, auth.OpDescribe), req, func(r *kmsg.DescribeUserSCRAMCredentialsResponse) { r.ErrorCode = codeClusterAuth })
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
// without CREATE (on the cluster or the topic): that too is TOPIC_AUTHORIZATION_FAILED, as
// in Kafka.
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
			if t.Topic == nil || *t.Topic == "" {
				mt.Topic = nil // asked by id: the name is not the caller's to learn, as in Kafka
			}
		case b.topics.get(name) == nil && allowAuto && b.settings.AutoCreateTopics && !b.canCreateTopic(info, name):
			// Kafka refuses the auto-creation rather than calling the topic unknown, so a
			// producer fails at once instead of waiting for the topic until max.block.ms.
			mt.ErrorCode = codeTopicAuth
			mt.TopicID = [16]byte{}
			mt.IsInternal = isInternalTopicName(name)
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
						deniedOffset(&t.Partitions[i].ErrorCode, &t.Partitions[i].Offset, &t.Partitions[i].LeaderEpoch, &t.Partitions[i].Metadata)
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
						deniedOffset(&t.Partitions[i].ErrorCode, &t.Partitions[i].Offset, &t.Partitions[i].LeaderEpoch, &t.Partitions[i].Metadata)
					}
				}
				kept = append(kept, t)
			}
			g.Topics = kept
		}
	})
}

// deniedOffset answers an OffsetFetch partition of a topic the caller may not describe as
// Kafka does: nothing of the commit (its offset, leader epoch or metadata) shows.
func deniedOffset(code *int16, offset *int64, epoch *int32, metadata **string) {
	*code, *offset, *epoch = codeTopicAuth, -1, -1
	empty := ""
	*metadata = &empty
}

// keepAllowed keeps the items of *items that allowed accepts and returns, in request order,
// the answers deny gives for the others.
func keepAllowed[Q, R any](items *[]Q, allowed func(Q) bool, deny func(Q) R) []R {
	return keepAllowedCode(items,
		func(it Q) (bool, int16) { return allowed(it), 0 },
		func(it Q, _ int16) R { return deny(it) })
}

// keepAllowedCode is keepAllowed for checks that say which error code a denial gets.
func keepAllowedCode[Q, R any](items *[]Q, check func(Q) (bool, int16), deny func(Q, int16) R) []R {
	var denied []R
	kept := (*items)[:0]
	for _, it := range *items {
		if ok, code := check(it); !ok {
			denied = append(denied, deny(it, code))
			continue
		}
		kept = append(kept, it)
	}
	*items = kept
	return denied
}

// refuse answers req as a whole with its response, filled in by set.
func refuse[R kmsg.Response](req kmsg.Request, set func(R)) (kmsg.Response, func(kmsg.Response)) {
	resp := req.ResponseKind().(R)
	set(resp)
	return resp, nil
}

// refuseUnless lets req through when ok, else answers it as refuse does.
func refuseUnless[R kmsg.Response](ok bool, req kmsg.Request, set func(R)) (kmsg.Response, func(kmsg.Response)) {
	if ok {
		return nil, nil
	}
	return refuse(req, set)
}
