package brokerlite

// OffsetDelete (key 47), version 0 (KIP-496).
//
// Deletes committed offsets of some partitions of a group. An empty group may lose any of
// them; an active consumer group only those of topics it no longer subscribes to (the others
// get GROUP_SUBSCRIBED_TO_TOPIC); an active group of another protocol type NON_EMPTY_GROUP;
// an unknown group GROUP_ID_NOT_FOUND. Unknown partitions get UNKNOWN_TOPIC_OR_PARTITION.

import (
	"context"

	"github.com/rivulet-io/rivulet/brokerlite/groupcoord"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.OffsetDelete, 0, 0, handleOffsetDelete) }

func handleOffsetDelete(ctx context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.OffsetDeleteRequest)
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	c := b.coordinator()
	if c == nil {
		return nil, errNoCoordinator
	}
	topics := make([]groupcoord.FetchTopic, 0, len(req.Topics))
	for _, t := range req.Topics {
		ft := groupcoord.FetchTopic{Topic: t.Topic}
		for _, p := range t.Partitions {
			ft.Partitions = append(ft.Partitions, p.Partition)
		}
		topics = append(topics, ft)
	}
	code, res := c.DeleteOffsets(ctx, req.Group, topics)
	resp.ErrorCode = code
	for _, t := range res {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, p.ErrorCode
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
