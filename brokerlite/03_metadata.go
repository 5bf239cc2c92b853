package brokerlite

// Metadata (key 3), versions 0-12.
//
// brokerlite is one node: it lists itself as the only broker and the controller, and every
// partition has leader = replicas = isr = [this node] with leader epoch 0. Topics are listed
// by name, or by topic id from v10. A null topic list (an empty one at v0) means every topic;
// internal topics are flagged. An unknown topic is created when auto.create.topics.enable is
// set and the request allows it (always before v4), with num.partitions partitions, and
// described at once (Kafka answers LEADER_NOT_AVAILABLE first; a ready answer is simpler for
// clients and equally valid). Authorized operations are computed when asked (authz_ops.go):
// without an authorizer, every operation.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.Metadata, 0, 12, handleMetadata) }

func handleMetadata(_ context.Context, b *Broker, info *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	host, port := b.advertisedFor(info)
	br := kmsg.NewMetadataResponseBroker()
	br.NodeID, br.Host, br.Port = b.nodeID, host, port
	resp.Brokers = []kmsg.MetadataResponseBroker{br}
	resp.ClusterID = &b.clusterID
	resp.ControllerID = b.nodeID

	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		for _, name := range b.topics.sortedNames() {
			if t := b.topics.get(name); t != nil {
				resp.Topics = append(resp.Topics, describeTopicMetadata(b, t))
			}
		}
		return resp, nil
	}
	allowAuto := req.Version < 4 || req.AllowAutoTopicCreation
	for _, rt := range req.Topics {
		if rt.Topic == nil {
			// v10+: by topic id.
			mt := kmsg.NewMetadataResponseTopic()
			mt.TopicID = rt.TopicID
			if t := b.topics.getByID(rt.TopicID); t != nil {
				mt = describeTopicMetadata(b, t)
			} else {
				mt.ErrorCode = kerr.UnknownTopicID.Code
			}
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		name := *rt.Topic
		t := b.topics.get(name)
		var err error
		if t == nil {
			if allowAuto {
				t, err = b.autoCreateTopic(name)
			} else if err = validTopicName(name); err == nil {
				err = newTopicError(kerr.UnknownTopicOrPartition, "topic %q does not exist", name)
			}
		}
		if t == nil {
			mt := kmsg.NewMetadataResponseTopic()
			mt.Topic = kmsg.StringPtr(name)
			mt.ErrorCode, _ = errorCode(err)
			mt.IsInternal = isInternalTopicName(name)
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		resp.Topics = append(resp.Topics, describeTopicMetadata(b, t))
	}
	return resp, nil
}

func describeTopicMetadata(b *Broker, t *topic) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic = kmsg.StringPtr(t.name)
	mt.TopicID = t.id
	mt.IsInternal = t.internal
	self := []int32{b.nodeID}
	mt.Partitions = make([]kmsg.MetadataResponseTopicPartition, len(t.partitions))
	for i := range t.partitions {
		p := &mt.Partitions[i]
		p.Default()
		p.Partition = int32(i)
		p.Leader = b.nodeID
		p.LeaderEpoch = 0
		p.Replicas = self
		p.ISR = self
		p.OfflineReplicas = []int32{}
	}
	return mt
}
