package groupcoord

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// CommitOffsets handles an OffsetCommit request and returns one error code
// per requested partition, in request order. The offsets are durable in
// __consumer_offsets before it returns success, and only then visible to
// FetchOffsets.
//
// Checks, in Kafka's order: a standalone commit (generation < 0) to an empty
// or unknown group is accepted; otherwise a fenced static member
// (FENCED_INSTANCE_ID), an unknown member UNKNOWN_MEMBER_ID, another
// generation ILLEGAL_GENERATION (GROUP_ID_NOT_FOUND from OffsetCommit v9
// for a group the coordinator does not know), and only then, for a current
// member, a group in CompletingRebalance REBALANCE_IN_PROGRESS. Commits
// during PreparingRebalance are accepted, so that members can commit before
// they rejoin. Per partition, metadata
// over offset.metadata.max.bytes gets OFFSET_METADATA_TOO_LARGE and a
// partition that does not exist UNKNOWN_TOPIC_OR_PARTITION.
//
// The group is locked while the commit is checked and appended, not while
// it waits for the fsync: commits of one group (the members of a consumer
// group, the threads of a stream app) share fsyncs instead of taking turns.
func (c *Coordinator) CommitOffsets(ctx context.Context, req CommitRequest) []TopicErrors {
	res, pending := c.checkCommitPartitions(req.Topics)
	setPending := func(code int16) { setPendingCodes(res, code) }
	if pending == 0 {
		return res
	}
	ctx, cancel := c.appendContext(ctx)
	defer cancel()
	// A standalone commit may create the group; a member's may not.
	var sc *stagedCommit
	var sg *group
	o := c.withGroup(req.Group, req.Generation < 0, func(g *group, _ *replies) {
		var code int16
		if sc, code = g.stageCommit(ctx, &req, res); sc == nil {
			setPending(code)
		}
		sg = g
	})
	switch o {
	case notFound:
		if req.Version >= 9 {
			setPending(kerr.GroupIDNotFound.Code)
		} else {
			setPending(kerr.IllegalGeneration.Code)
		}
	case shutDown:
		setPending(kerr.NotCoordinator.Code)
	}
	if sc == nil {
		return res
	}
	err := c.awaitDurable(ctx, sg.partition, sc.wait)
	sg.mu.Lock()
	sg.finishCommit(sc, err == nil)
	sg.mu.Unlock()
	if err != nil {
		c.logger.Warn("groupcoord: offset commit failed", "group", req.Group, "err", err)
		setPending(c.commitErrorCode(err))
	} else {
		setPending(0)
	}
	return res
}

// stagedCommit is an offset commit appended to the log and waiting to be
// durable before it is applied.
type stagedCommit struct {
	wait    func(context.Context) error
	seq     uint64
	keys    []topicPartition
	entries []*offsetEntry
}

// stageCommit checks a commit and appends its records, with g locked. It
// returns the staged commit, or nil and the error code for every pending
// partition.
func (g *group) stageCommit(ctx context.Context, req *CommitRequest, res []TopicErrors) (*stagedCommit, int16) {
	var m *member
	instanceCode := g.checkInstance(req.InstanceID, req.MemberID)
	switch {
	case req.Generation < 0 && g.state == StateEmpty:
		// A standalone consumer using the group for offset storage only.
	case instanceCode != 0:
		return nil, instanceCode
	case g.members[req.MemberID] == nil:
		return nil, kerr.UnknownMemberID.Code
	case req.Generation != g.generation:
		return nil, kerr.IllegalGeneration.Code
	case g.state == StateCompletingRebalance:
		// A current member that has not received its assignment yet.
		return nil, kerr.RebalanceInProgress.Code
	default:
		m = g.members[req.MemberID]
	}
	now := g.c.clock.Now().UnixMilli()
	var recs []record
	sc := &stagedCommit{}
	for i, t := range req.Topics {
		for j, p := range t.Partitions {
			if res[i].Partitions[j].ErrorCode != -1 {
				continue
			}
			e := &offsetEntry{offset: p.Offset, leaderEpoch: p.LeaderEpoch, metadata: p.Metadata, commitMs: now, expireMs: -1}
			if p.TimestampMs > 0 {
				e.commitMs = p.TimestampMs
			}
			if req.Retention > 0 {
				e.expireMs = e.commitMs + req.Retention.Milliseconds()
			}
			recs = append(recs, offsetRecord(g.id, t.Topic, p.Partition, e))
			sc.keys = append(sc.keys, topicPartition{t.Topic, p.Partition})
			sc.entries = append(sc.entries, e)
		}
	}
	wait, err := g.c.stageRecords(ctx, g.partition, recs)
	if err != nil {
		g.c.logger.Warn("groupcoord: offset commit failed", "group", g.id, "err", err)
		return nil, g.c.commitErrorCode(err)
	}
	sc.wait, sc.seq = wait, g.nextOffsetSeq()
	if g.inflight == nil {
		g.inflight = make(map[topicPartition]int)
	}
	for _, k := range sc.keys {
		g.inflight[k]++
	}
	g.inflightCommits++
	if m != nil {
		g.armHeartbeat(m)
	}
	return sc, 0
}

// finishCommit ends a staged commit, with g locked: when it is durable, its
// offsets become the committed ones, except where a newer write of the same
// partition was applied meanwhile or the group was deleted.
func (g *group) finishCommit(sc *stagedCommit, durable bool) {
	g.inflightCommits--
	for i, k := range sc.keys {
		if durable && g.state != StateDead {
			cur := g.offsets[k.topic][k.partition]
			if (cur == nil || cur.seq < sc.seq) && g.deletedSeq[k] < sc.seq {
				e := sc.entries[i]
				e.seq = sc.seq
				g.setOffset(k.topic, k.partition, e)
			}
		}
		if n := g.inflight[k] - 1; n > 0 {
			g.inflight[k] = n
		} else {
			delete(g.inflight, k)
			delete(g.deletedSeq, k)
		}
	}
}

func (g *group) setOffset(topic string, partition int32, e *offsetEntry) {
	ps := g.offsets[topic]
	if ps == nil {
		ps = make(map[int32]*offsetEntry)
		g.offsets[topic] = ps
	}
	ps[partition] = e
}

func (g *group) deleteOffset(topic string, partition int32) {
	ps := g.offsets[topic]
	delete(ps, partition)
	if len(ps) == 0 {
		delete(g.offsets, topic)
	}
}

// FetchOffsets handles OffsetFetch for one group. With topics nil it
// returns every committed offset of the group, sorted; otherwise one entry
// per requested partition, offset -1 where nothing is committed. A group
// the coordinator does not know has no offsets (not an error, as Kafka).
func (c *Coordinator) FetchOffsets(groupID string, topics []FetchTopic) FetchResult {
	var res FetchResult
	fill := func(g *group) {
		if topics == nil {
			if g == nil {
				return
			}
			names := make([]string, 0, len(g.offsets))
			for t := range g.offsets {
				names = append(names, t)
			}
			sort.Strings(names)
			for _, t := range names {
				ft := FetchedTopic{Topic: t}
				ps := make([]int32, 0, len(g.offsets[t]))
				for p := range g.offsets[t] {
					ps = append(ps, p)
				}
				sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
				for _, p := range ps {
					e := g.offsets[t][p]
					ft.Partitions = append(ft.Partitions, FetchedOffset{Partition: p, Offset: e.offset, LeaderEpoch: e.leaderEpoch, Metadata: e.metadata})
				}
				res.Topics = append(res.Topics, ft)
			}
			return
		}
		res.Topics = make([]FetchedTopic, len(topics))
		for i, t := range topics {
			res.Topics[i] = FetchedTopic{Topic: t.Topic, Partitions: make([]FetchedOffset, len(t.Partitions))}
			for j, p := range t.Partitions {
				fo := FetchedOffset{Partition: p, Offset: -1, LeaderEpoch: -1}
				if g != nil {
					if e := g.offsets[t.Topic][p]; e != nil {
						fo.Offset, fo.LeaderEpoch, fo.Metadata = e.offset, e.leaderEpoch, e.metadata
					}
				}
				res.Topics[i].Partitions[j] = fo
			}
		}
	}
	switch c.withGroup(groupID, false, func(g *group, _ *replies) { fill(g) }) {
	case notFound:
		fill(nil)
	case shutDown:
		res.ErrorCode = kerr.NotCoordinator.Code
	}
	return res
}

// DeleteOffsets handles OffsetDelete (KIP-496): it removes the committed
// offsets of the given partitions. It returns a group-level error
// (GROUP_ID_NOT_FOUND; NON_EMPTY_GROUP for an active group that is not a
// consumer group) and per partition GROUP_SUBSCRIBED_TO_TOPIC where an
// active consumer group still subscribes to the topic.
func (c *Coordinator) DeleteOffsets(ctx context.Context, groupID string, topics []FetchTopic) (int16, []TopicErrors) {
	res := make([]TopicErrors, len(topics))
	for i, t := range topics {
		res[i] = TopicErrors{Topic: t.Topic, Partitions: make([]PartitionError, len(t.Partitions))}
		for j, p := range t.Partitions {
			res[i].Partitions[j].Partition = p
			if c.cfg.PartitionExists != nil && !c.cfg.PartitionExists(t.Topic, p) {
				res[i].Partitions[j].ErrorCode = kerr.UnknownTopicOrPartition.Code
			}
		}
	}
	if groupID == "" {
		return kerr.InvalidGroupID.Code, res // as Kafka
	}
	code := int16(0)
	o := c.withGroup(groupID, false, func(g *group, _ *replies) {
		switch {
		case g.state == StateEmpty:
		case g.protocolType == "consumer":
			for i := range res {
				if g.isSubscribed(res[i].Topic) {
					for j := range res[i].Partitions {
						if res[i].Partitions[j].ErrorCode == 0 {
							res[i].Partitions[j].ErrorCode = kerr.GroupSubscribedToTopic.Code
						}
					}
				}
			}
		default:
			code = kerr.NonEmptyGroup.Code
			return
		}
		// As Kafka, a partition gets a tombstone when it has a committed
		// offset or a pending transactional one.
		var recs []record
		deleted := map[topicPartition]bool{}
		for i := range res {
			for _, p := range res[i].Partitions {
				tp := topicPartition{res[i].Topic, p.Partition}
				if p.ErrorCode == 0 && !deleted[tp] && (g.hasOffset(tp.topic, tp.partition) || c.txn.pending(g.id, tp.topic, tp.partition)) {
					recs = append(recs, offsetRecord(g.id, tp.topic, tp.partition, nil))
					deleted[tp] = true
				}
			}
		}
		if len(recs) == 0 {
			return
		}
		seq := g.nextOffsetSeq()
		if err := g.c.appendRecords(ctx, g.partition, recs); err != nil {
			code = g.c.metadataErrorCode(err)
			return
		}
		for tp := range deleted {
			g.deleteOffsetAt(tp.topic, tp.partition, seq)
		}
		c.txn.drop(g.id, func(tp topicPartition) bool { return deleted[tp] })
	})
	switch o {
	case notFound:
		code = kerr.GroupIDNotFound.Code
	case shutDown:
		code = kerr.NotCoordinator.Code
	}
	if code != 0 {
		for i := range res {
			res[i].Partitions = res[i].Partitions[:0]
		}
		res = nil
	}
	return code, res
}

// TopicDeleted removes every group's committed offsets for topic, as Kafka
// does when a topic is deleted, so that a topic created again under the
// same name starts without stale offsets.
func (c *Coordinator) TopicDeleted(ctx context.Context, topic string) {
	for _, g := range c.snapshot() {
		c.withGroup(g.id, false, func(g *group, _ *replies) {
			ps := g.offsetPartitions(topic)
			for tp := range c.txn.partitions(g.id, topic) {
				if !slices.Contains(ps, tp.partition) {
					ps = append(ps, tp.partition)
				}
			}
			if len(ps) == 0 {
				return
			}
			slices.Sort(ps)
			recs := make([]record, 0, len(ps))
			for _, p := range ps {
				recs = append(recs, offsetRecord(g.id, topic, p, nil))
			}
			seq := g.nextOffsetSeq()
			if err := g.c.appendRecords(ctx, g.partition, recs); err != nil {
				g.c.logger.Warn("groupcoord: removing offsets of a deleted topic failed", "group", g.id, "topic", topic, "err", err)
				return
			}
			for _, p := range ps {
				g.deleteOffsetAt(topic, p, seq)
			}
			c.txn.drop(g.id, func(tp topicPartition) bool { return tp.topic == topic })
		})
	}
}

// CommittedTopics returns the topics some group has a committed offset for,
// sorted (the broker removes those of topics that no longer exist at start).
func (c *Coordinator) CommittedTopics() []string {
	seen := map[string]bool{}
	for _, g := range c.snapshot() {
		g.mu.Lock()
		for t, ps := range g.offsets {
			if len(ps) > 0 {
				seen[t] = true
			}
		}
		g.mu.Unlock()
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// armExpiryLocked schedules the next offsets expiry pass. Callers hold c.mu.
func (c *Coordinator) armExpiryLocked() {
	if c.closed.Load() {
		return
	}
	c.expiry = c.afterFunc(c.cfg.OffsetsRetentionCheckInterval, func() {
		c.ExpireOffsets()
		c.mu.Lock()
		c.armExpiryLocked()
		c.mu.Unlock()
	})
}

// ExpireOffsets removes offsets past offsets.retention.minutes and makes
// empty groups without offsets Dead, writing tombstones for both. It runs
// every offsets.retention.check.interval.ms; tests call it directly.
//
// As Kafka (KIP-211): an empty group's offsets expire once the group has
// been empty for the retention period (from the commit if that time is
// unknown); a standalone committer's (no protocol type) once the commit
// is that old; a stable consumer group's only for topics it no longer
// subscribes to. A commit with an explicit retention (OffsetCommit v2-v4)
// expires at its own expire timestamp.
func (c *Coordinator) ExpireOffsets() {
	now := c.clock.Now()
	for _, g := range c.snapshot() {
		c.withGroup(g.id, false, func(g *group, r *replies) { g.expire(now, r) })
	}
}

func (g *group) expire(now time.Time, r *replies) {
	retention := g.c.cfg.OffsetsRetention.Milliseconds()
	nowMs := now.UnixMilli()
	var base func(e *offsetEntry) int64
	var keep func(topic string) bool
	switch {
	case g.protocolType != "" && g.state == StateEmpty:
		base = func(e *offsetEntry) int64 {
			if !g.stateTime.IsZero() {
				return g.stateTime.UnixMilli()
			}
			return e.commitMs
		}
	case g.protocolType == "consumer" && g.state == StateStable && g.subscribed != nil:
		base = func(e *offsetEntry) int64 { return e.commitMs }
		keep = func(topic string) bool { return g.subscribed[topic] }
	case g.protocolType == "":
		base = func(e *offsetEntry) int64 { return e.commitMs }
	}
	var expired []topicPartition
	// As Kafka: a partition with a pending transactional offset does not
	// expire, and a group with an open transaction does not die.
	pendingTxn := g.c.txn.partitions(g.id, "")
	if base != nil {
		for t, ps := range g.offsets {
			if keep != nil && keep(t) {
				continue
			}
			for p, e := range ps {
				if g.inflight[topicPartition{t, p}] > 0 || pendingTxn[topicPartition{t, p}] {
					continue // a newer commit is on its way
				}
				if (e.expireMs >= 0 && nowMs >= e.expireMs) || (e.expireMs < 0 && nowMs-base(e) >= retention) {
					expired = append(expired, topicPartition{t, p})
				}
			}
		}
	}
	sortTopicPartitions(expired)
	recs := make([]record, 0, len(expired)+1)
	for _, x := range expired {
		recs = append(recs, offsetRecord(g.id, x.topic, x.partition, nil))
	}
	dies := g.state == StateEmpty && len(g.pending) == 0 && g.inflightCommits == 0 && len(pendingTxn) == 0 && g.offsetCount() == len(expired)
	if dies {
		recs = append(recs, groupRecord(g.id, nil))
	}
	if len(recs) == 0 {
		return
	}
	seq := g.nextOffsetSeq()
	if err := g.c.appendRecords(g.c.ctx, g.partition, recs); err != nil {
		if !g.c.closed.Load() {
			g.c.logger.Warn("groupcoord: writing expired offsets failed", "group", g.id, "err", err)
		}
		return
	}
	for _, x := range expired {
		g.deleteOffsetAt(x.topic, x.partition, seq)
	}
	if len(expired) > 0 {
		g.c.logger.Info("groupcoord: removed expired offsets", "group", g.id, "count", len(expired))
	}
	if dies {
		g.c.logger.Info("groupcoord: group is dead: empty and without offsets", "group", g.id, "generation", g.generation)
		g.kill(r)
	}
}

// topicPartition names one partition of a topic.
type topicPartition struct {
	topic     string
	partition int32
}

func sortTopicPartitions(tps []topicPartition) {
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].topic != tps[j].topic {
			return tps[i].topic < tps[j].topic
		}
		return tps[i].partition < tps[j].partition
	})
}

// offsetCount is the number of committed offsets of the group.
func (g *group) offsetCount() int {
	n := 0
	for _, ps := range g.offsets {
		n += len(ps)
	}
	return n
}

// checkCommitPartitions answers the per-partition checks of an offset commit
// (a partition that does not exist, metadata over offset.metadata.max.bytes)
// and marks the partitions that passed with -1, to be set by setPendingCodes
// once the commit is decided; pending counts them.
func (c *Coordinator) checkCommitPartitions(topics []CommitTopic) (res []TopicErrors, pending int) {
	res = make([]TopicErrors, len(topics))
	for i, t := range topics {
		res[i] = TopicErrors{Topic: t.Topic, Partitions: make([]PartitionError, len(t.Partitions))}
		for j, p := range t.Partitions {
			res[i].Partitions[j].Partition = p.Partition
			switch {
			case c.cfg.PartitionExists != nil && !c.cfg.PartitionExists(t.Topic, p.Partition):
				res[i].Partitions[j].ErrorCode = kerr.UnknownTopicOrPartition.Code
			case len(p.Metadata) > c.cfg.OffsetMetadataMaxBytes:
				res[i].Partitions[j].ErrorCode = kerr.OffsetMetadataTooLarge.Code
			default:
				res[i].Partitions[j].ErrorCode = -1
				pending++
			}
		}
	}
	return res, pending
}

// setPendingCodes gives every partition checkCommitPartitions marked -1 the
// commit's outcome.
func setPendingCodes(res []TopicErrors, code int16) {
	for i := range res {
		for j := range res[i].Partitions {
			if res[i].Partitions[j].ErrorCode == -1 {
				res[i].Partitions[j].ErrorCode = code
			}
		}
	}
}
