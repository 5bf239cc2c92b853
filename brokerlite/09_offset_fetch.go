package brokerlite

// OffsetFetch (key 9), versions 0-9.
//
// Returns committed offsets, -1 (and leader epoch -1) for partitions with none. v2+ fetch
// every committed partition of the group when topics is null and carry a group-level error;
// v0-v1 report a group-level error on every partition. v7+ accept require_stable: a
// partition whose offset an open transaction holds (TxnOffsetCommit before the
// transaction's marker) then gets UNSTABLE_OFFSET_COMMIT, and the client retries. v8+
// fetch several groups in one request, each with its own error. v9's member id and epoch
// are for KIP-848 consumer groups and are ignored for classic groups, as Kafka does. v10
// (topic ids) is not served.

import (
	"context"

	"github.com/rivulet-io/rivulet/brokerlite/groupcoord"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.OffsetFetch, 0, 9, handleOffsetFetch) }

func handleOffsetFetch(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.OffsetFetchRequest)
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	c := b.coordinator()
	if c == nil {
		return nil, errNoCoordinator
	}
	if req.Version >= 8 {
		for _, g := range req.Groups {
			var topics []groupcoord.FetchTopic
			if g.Topics != nil {
				topics = make([]groupcoord.FetchTopic, 0, len(g.Topics))
				for _, t := range g.Topics {
					topics = append(topics, groupcoord.FetchTopic{Topic: t.Topic, Partitions: t.Partitions})
				}
			}
			res := c.FetchOffsets(g.Group, topics)
			if req.RequireStable {
				c.MarkUnstable(g.Group, &res)
			}
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group, rg.ErrorCode = g.Group, res.ErrorCode
			for _, t := range res.Topics {
				rt := kmsg.NewOffsetFetchResponseGroupTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					rp.Partition, rp.Offset, rp.LeaderEpoch, rp.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, p.ErrorCode
					rp.Metadata = kmsg.StringPtr(p.Metadata)
					rt.Partitions = append(rt.Partitions, rp)
				}
				rg.Topics = append(rg.Topics, rt)
			}
			resp.Groups = append(resp.Groups, rg)
		}
		return resp, nil
	}
	var topics []groupcoord.FetchTopic
	if req.Topics != nil || req.Version < 2 {
		topics = make([]groupcoord.FetchTopic, 0, len(req.Topics))
		for _, t := range req.Topics {
			topics = append(topics, groupcoord.FetchTopic{Topic: t.Topic, Partitions: t.Partitions})
		}
	}
	res := c.FetchOffsets(req.Group, topics)
	if req.Version >= 7 && req.RequireStable {
		c.MarkUnstable(req.Group, &res)
	}
	if req.Version >= 2 {
		resp.ErrorCode = res.ErrorCode
	}
	for _, t := range res.Topics {
		rt := kmsg.NewOffsetFetchResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetFetchResponseTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch, rp.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, p.ErrorCode
			if req.Version < 2 && rp.ErrorCode == 0 {
				rp.ErrorCode = res.ErrorCode
			}
			rp.Metadata = kmsg.StringPtr(p.Metadata)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
