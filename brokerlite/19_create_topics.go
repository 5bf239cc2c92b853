package brokerlite

// CreateTopics (key 19), versions 2-7.
//
// brokerlite is one node: the replication factor must be 1 (or -1 for the default);
// anything higher gets INVALID_REPLICATION_FACTOR with a message pointing to a Kafka cluster.
// A manual replica assignment must place every partition on this node alone. Topic names
// follow Kafka's rules (INVALID_TOPIC_EXCEPTION), configs are validated (INVALID_CONFIG),
// an existing topic gets TOPIC_ALREADY_EXISTS (before its arguments are checked, as in
// Kafka, so a create-if-absent client learns it exists), a topic named twice gets
// INVALID_REQUEST, and internal topics cannot be created by clients. validate_only checks
// everything and creates nothing. The timeout is not needed: creation is synchronous.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.CreateTopics, 2, 7, handleCreateTopics) }

func handleCreateTopics(_ context.Context, b *Broker, conn *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range req.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		st.NumPartitions, st.ReplicationFactor = -1, -1
		fail := func(err error) {
			st.ErrorCode, st.ErrorMessage = errorFields(err)
			resp.Topics = append(resp.Topics, st)
		}
		if seen[rt.Topic] > 1 {
			fail(newTopicError(kerr.InvalidRequest, "topic %q is named more than once in the request", rt.Topic))
			continue
		}
		if b.topics.get(rt.Topic) != nil {
			// Before the arguments, as Kafka checks: a create-if-absent client (any
			// partitions, replication factor or configs) learns the topic is there.
			fail(newTopicError(kerr.TopicAlreadyExists, "topic %q already exists", rt.Topic))
			continue
		}
		if isInternalTopicName(rt.Topic) && !conn.internal {
			fail(newTopicError(kerr.InvalidRequest, "creation of internal topic %s is prohibited", rt.Topic))
			continue
		}
		numParts, repl := rt.NumPartitions, rt.ReplicationFactor
		if len(rt.ReplicaAssignment) > 0 {
			if numParts != -1 || repl != -1 {
				fail(newTopicError(kerr.InvalidRequest, "both a replica assignment and num partitions / replication factor were given"))
				continue
			}
			bad := false
			for i, ra := range rt.ReplicaAssignment {
				if ra.Partition != int32(i) || len(ra.Replicas) != 1 || ra.Replicas[0] != b.nodeID {
					bad = true
				}
			}
			if bad {
				fail(newTopicError(kerr.InvalidReplicaAssignment, "the replica assignment must put partitions 0..n-1 on broker %d alone: brokerlite is a single broker", b.nodeID))
				continue
			}
			numParts, repl = int32(len(rt.ReplicaAssignment)), 1
		}
		configs := map[string]string{}
		for _, c := range rt.Configs {
			if c.Value != nil {
				configs[c.Name] = *c.Value
			}
		}
		t, err := b.topics.create(createTopicOpts{
			name: rt.Topic, partitions: numParts, replication: repl, configs: configs,
			internal: isInternalTopicName(rt.Topic), validateOnly: req.ValidateOnly,
		})
		if err != nil {
			fail(err)
			continue
		}
		if numParts == -1 {
			numParts = b.settings.NumPartitions
		}
		st.NumPartitions, st.ReplicationFactor = numParts, 1
		if t != nil {
			st.TopicID = t.id
		}
		if req.Version >= 5 {
			for _, name := range sortedTopicKeyNames() {
				v, src, _ := b.topicConfigValue(t, name)
				if t == nil {
					if cv, ok := configs[name]; ok {
						v, src = cv, kmsg.ConfigSourceDynamicTopicConfig
					}
				}
				c := kmsg.NewCreateTopicsResponseTopicConfig()
				c.Name, c.Value, c.Source = name, kmsg.StringPtr(v), int8(src)
				st.Configs = append(st.Configs, c)
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
