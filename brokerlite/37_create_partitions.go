package brokerlite

// CreatePartitions (key 37), versions 0-3.
//
// Grows a topic to Count partitions (never shrinks: INVALID_PARTITIONS). A manual
// assignment must name every new partition (INVALID_REPLICA_ASSIGNMENT, as in Kafka) and
// place each on this node alone (brokerlite is one broker).
// validate_only checks and changes nothing. Internal topics cannot be grown by clients.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.CreatePartitions, 0, 3, handleCreatePartitions) }

func handleCreatePartitions(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range req.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		var err error
		switch {
		case seen[rt.Topic] > 1:
			err = newTopicError(kerr.InvalidRequest, "topic %q is named more than once in the request", rt.Topic)
		case isInternalTopicName(rt.Topic):
			err = newTopicError(kerr.InvalidRequest, "the partitions of internal topic %s cannot be changed", rt.Topic)
		default:
			if t := b.topics.get(rt.Topic); t != nil && rt.Assignment != nil && int(rt.Count) > len(t.partitions) &&
				len(rt.Assignment) != int(rt.Count)-len(t.partitions) {
				// As Kafka: an assignment, when given, names every new partition.
				err = newTopicError(kerr.InvalidReplicaAssignment, "the assignment names %d partitions, but %d are added",
					len(rt.Assignment), int(rt.Count)-len(t.partitions))
				break
			}
			for _, a := range rt.Assignment {
				if len(a.Replicas) != 1 || a.Replicas[0] != b.nodeID {
					err = newTopicError(kerr.InvalidReplicaAssignment, "each new partition must be assigned to broker %d alone: brokerlite is a single broker", b.nodeID)
				}
			}
			if err == nil {
				err = b.topics.addPartitions(rt.Topic, rt.Count, req.ValidateOnly)
			}
		}
		st.ErrorCode, st.ErrorMessage = errorFields(err)
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
