package brokerlite

// OffsetCommit (key 8), versions 0-9.
//
// Commits are appended to __consumer_offsets and fsynced before the answer. Member commits
// are checked against the group in Kafka's order (FENCED_INSTANCE_ID v7+,
// UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, then REBALANCE_IN_PROGRESS for a current member
// while the group waits for its assignment; GROUP_ID_NOT_FOUND v9+ for an unknown group);
// a commit with generation -1 to an empty or unknown group is a standalone commit (v0
// commits are always standalone, as Kafka treats them). v1 carries a commit timestamp per
// partition; v2-v4 a retention time (the offsets then expire at their own time rather than
// by the group rules of KIP-211); v6+ the partition's leader epoch. Per partition, an unknown topic or
// partition gets UNKNOWN_TOPIC_OR_PARTITION and metadata above offset.metadata.max.bytes
// OFFSET_METADATA_TOO_LARGE. v10 (topic ids) is not served.

import (
	"context"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite/groupcoord"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.OffsetCommit, 0, 9, handleOffsetCommit) }

func handleOffsetCommit(ctx context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.OffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	c := b.coordinator()
	if c == nil {
		return nil, errNoCoordinator
	}
	cr := groupcoord.CommitRequest{
		Group:      req.Group,
		MemberID:   req.MemberID,
		InstanceID: strOrEmpty(req.InstanceID),
		Generation: req.Generation,
		Version:    req.Version,
	}
	if req.Version == 0 {
		cr.Generation, cr.MemberID = -1, ""
	}
	if req.Version >= 2 && req.Version <= 4 && req.RetentionTimeMillis > 0 {
		cr.Retention = time.Duration(req.RetentionTimeMillis) * time.Millisecond
	}
	for _, t := range req.Topics {
		ct := groupcoord.CommitTopic{Topic: t.Topic, Partitions: make([]groupcoord.CommitPartition, 0, len(t.Partitions))}
		for _, p := range t.Partitions {
			cp := groupcoord.CommitPartition{Partition: p.Partition, Offset: p.Offset, LeaderEpoch: -1, Metadata: strOrEmpty(p.Metadata), TimestampMs: -1}
			if req.Version >= 6 {
				cp.LeaderEpoch = p.LeaderEpoch
			}
			if req.Version == 1 {
				cp.TimestampMs = p.Timestamp
			}
			ct.Partitions = append(ct.Partitions, cp)
		}
		cr.Topics = append(cr.Topics, ct)
	}
	for _, t := range c.CommitOffsets(ctx, cr) {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, p.ErrorCode
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
