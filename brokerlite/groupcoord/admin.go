package groupcoord

import (
	"bytes"
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
)

// DescribeGroups describes each group, in request order. An unknown group
// is described as Dead with Exists false; the caller decides whether its
// protocol version reports GROUP_ID_NOT_FOUND for it.
func (c *Coordinator) DescribeGroups(groups []string) []GroupDescription {
	out := make([]GroupDescription, len(groups))
	for i, id := range groups {
		d := GroupDescription{Group: id, State: StateDead}
		switch c.withGroup(id, false, func(g *group, _ *replies) { d = g.describe() }) {
		case shutDown:
			d.ErrorCode = kerr.NotCoordinator.Code
		}
		out[i] = d
	}
	return out
}

func (g *group) describe() GroupDescription {
	d := GroupDescription{Group: g.id, Exists: true, State: g.state, ProtocolType: g.protocolType}
	stable := g.state == StateStable
	if stable {
		d.Protocol = g.protocol
	}
	for _, m := range g.order {
		md := MemberDescription{MemberID: m.id, InstanceID: m.instanceID, ClientID: m.clientID, ClientHost: m.clientHost}
		if stable {
			md.Metadata = bytes.Clone(m.metadataFor(g.protocol))
			md.Assignment = bytes.Clone(m.assignment)
		}
		d.Members = append(d.Members, md)
	}
	return d
}

// ListGroups returns every group the coordinator holds (none is Dead),
// sorted by id.
func (c *Coordinator) ListGroups() []GroupListing {
	var out []GroupListing
	for _, g := range c.snapshot() {
		c.withGroup(g.id, false, func(g *group, _ *replies) {
			out = append(out, GroupListing{Group: g.id, ProtocolType: g.protocolType, State: g.state})
		})
	}
	return out
}

// DeleteGroups deletes each group with its committed offsets and returns
// one error code per group, in request order: GROUP_ID_NOT_FOUND for an
// unknown group, NON_EMPTY_GROUP for a group with members. The tombstones
// are durable before a group is reported deleted.
func (c *Coordinator) DeleteGroups(ctx context.Context, groups []string) []int16 {
	out := make([]int16, len(groups))
	for i, id := range groups {
		code := int16(0)
		switch c.withGroup(id, false, func(g *group, r *replies) { code = g.delete(ctx, r) }) {
		case notFound:
			code = kerr.GroupIDNotFound.Code
		case shutDown:
			code = kerr.NotCoordinator.Code
		}
		out[i] = code
	}
	return out
}

func (g *group) delete(ctx context.Context, r *replies) int16 {
	if g.state != StateEmpty {
		return kerr.NonEmptyGroup.Code
	}
	// Tombstones for every offset, including commits still in flight (their
	// records are in the log before these; once the group is Dead they are
	// not applied).
	// As Kafka, partitions with only a pending transactional offset get a
	// tombstone too, which drops the pending offset.
	recs := make([]record, 0, g.offsetCount()+1)
	covered := map[topicPartition]bool{}
	for _, t := range g.offsetTopics() {
		for _, p := range g.offsetPartitions(t) {
			recs = append(recs, offsetRecord(g.id, t, p, nil))
			covered[topicPartition{t, p}] = true
		}
	}
	pendingTxn := g.c.txn.partitions(g.id, "")
	for _, tp := range sortedPartitions(pendingTxn) {
		if !covered[tp] {
			recs = append(recs, offsetRecord(g.id, tp.topic, tp.partition, nil))
		}
	}
	recs = append(recs, groupRecord(g.id, nil))
	if err := g.c.appendRecords(ctx, g.partition, recs); err != nil {
		g.c.logger.Warn("groupcoord: deleting group failed", "group", g.id, "err", err)
		return g.c.metadataErrorCode(err)
	}
	g.c.logger.Info("groupcoord: group deleted", "group", g.id, "offsets", len(recs)-1)
	g.offsets = make(map[string]map[int32]*offsetEntry)
	g.c.txn.drop(g.id, func(topicPartition) bool { return true })
	g.kill(r)
	return 0
}

// sortedPartitions returns the partitions of set, sorted by topic and
// partition.
func sortedPartitions(set map[topicPartition]bool) []topicPartition {
	out := make([]topicPartition, 0, len(set))
	for tp := range set {
		out = append(out, tp)
	}
	sortTopicPartitions(out)
	return out
}
