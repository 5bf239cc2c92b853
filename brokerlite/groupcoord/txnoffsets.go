package groupcoord

import (
	"context"
	"encoding/binary"
	"sync"

	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Transactional offset commits (KIP-98, KIP-447). TxnOffsetCommit writes
// the offsets to the group's __consumer_offsets partition as a
// transactional batch of the producer, as Kafka does, and keeps them
// pending: OffsetFetch does not return them (and with require_stable
// answers UNSTABLE_OFFSET_COMMIT for those partitions) until the
// transaction coordinator's marker reaches that partition; a commit marker
// makes them the committed offsets, an abort marker drops them. On start,
// the replay of __consumer_offsets does the same with the stored batches
// and markers, so offsets of a transaction still open at a crash stay
// pending until its marker.
//
// As Kafka's coordinator: a pending offset carries the sequence number of
// its record (offsetEntry.seq, in log order with the group's other offset
// writes), and at the commit marker it becomes the committed offset only
// where no newer record (a plain commit appended after it) is committed; a
// tombstone (OffsetDelete, DeleteGroups, a deleted topic) also removes the
// pending offsets of its partition, and expiry leaves partitions with
// pending offsets, and a group with open transactions, alone.

// pendingOffset is one offset of an open transaction.
type pendingOffset struct {
	group string
	tp    topicPartition
	e     *offsetEntry
}

// txnOffsets holds the pending offsets of open transactions, per
// __consumer_offsets partition and producer id.
type txnOffsets struct {
	mu sync.Mutex
	m  map[int32]map[int64][]pendingOffset
}

func (t *txnOffsets) add(partition int32, pid int64, ps []pendingOffset) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[int32]map[int64][]pendingOffset{}
	}
	byPid := t.m[partition]
	if byPid == nil {
		byPid = map[int64][]pendingOffset{}
		t.m[partition] = byPid
	}
	byPid[pid] = append(byPid[pid], ps...)
}

func (t *txnOffsets) take(partition int32, pid int64) []pendingOffset {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := t.m[partition][pid]
	delete(t.m[partition], pid)
	return ps
}

// drop removes the pending offsets of group for which match is true, from
// every open transaction: a tombstone for them is durable.
func (t *txnOffsets) drop(group string, match func(topicPartition) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, byPid := range t.m {
		for pid, ps := range byPid {
			kept := ps[:0]
			for _, p := range ps {
				if p.group != group || !match(p.tp) {
					kept = append(kept, p)
				}
			}
			clear(ps[len(kept):])
			byPid[pid] = kept
		}
	}
}

// partitions returns the partitions group has pending offsets for, topic
// "" meaning every topic.
func (t *txnOffsets) partitions(group, topic string) map[topicPartition]bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[topicPartition]bool{}
	for _, byPid := range t.m {
		for _, ps := range byPid {
			for _, p := range ps {
				if p.group == group && (topic == "" || p.tp.topic == topic) {
					out[p.tp] = true
				}
			}
		}
	}
	return out
}

func (t *txnOffsets) pending(group, topic string, partition int32) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, byPid := range t.m {
		for _, ps := range byPid {
			for _, p := range ps {
				if p.group == group && p.tp.topic == topic && p.tp.partition == partition {
					return true
				}
			}
		}
	}
	return false
}

// TxnCommitRequest is a TxnOffsetCommit request, version-independent.
type TxnCommitRequest struct {
	Group         string
	ProducerID    int64
	ProducerEpoch int16
	// MemberID, InstanceID and Generation are KIP-447's group fields
	// (TxnOffsetCommit v3+): "" and -1 when not given.
	MemberID   string
	InstanceID string
	Generation int32
	Topics     []CommitTopic
}

// TxnCommitOffsets handles a TxnOffsetCommit: after the checks of
// CommitOffsets (KIP-447: an unknown member UNKNOWN_MEMBER_ID, another
// generation ILLEGAL_GENERATION, a fenced static member
// FENCED_INSTANCE_ID) it writes the offsets durably as a transactional
// batch of the producer and holds them pending until CompleteTxn. The
// caller (the broker) has checked the producer against the transaction
// coordinator.
func (c *Coordinator) TxnCommitOffsets(ctx context.Context, req TxnCommitRequest) []TopicErrors {
	res, pending := c.checkCommitPartitions(req.Topics)
	setPending := func(code int16) { setPendingCodes(res, code) }
	if pending == 0 {
		return res
	}
	if req.Group == "" {
		setPending(kerr.InvalidGroupID.Code) // as Kafka: no group "" is created
		return res
	}
	ctx, cancel := c.appendContext(ctx)
	defer cancel()
	var code int16
	var wait func(context.Context) error
	var ps []pendingOffset
	var sg *group
	var seq uint64
	partition := c.PartitionFor(req.Group)
	o := c.withGroup(req.Group, true, func(g *group, _ *replies) {
		instanceCode := g.checkInstance(req.InstanceID, req.MemberID)
		switch {
		case g.state == StateDead:
			code = kerr.CoordinatorNotAvailable.Code
			return
		case instanceCode != 0:
			code = instanceCode
			return
		case req.MemberID != "" && g.members[req.MemberID] == nil:
			code = kerr.UnknownMemberID.Code
			return
		case req.Generation >= 0 && req.Generation != g.generation:
			code = kerr.IllegalGeneration.Code
			return
		}
		now := c.clock.Now().UnixMilli()
		var kvs []partlog.KV
		for i, t := range req.Topics {
			for j, p := range t.Partitions {
				if res[i].Partitions[j].ErrorCode != -1 {
					continue
				}
				e := &offsetEntry{offset: p.Offset, leaderEpoch: p.LeaderEpoch, metadata: p.Metadata, commitMs: now, expireMs: -1}
				r := offsetRecord(g.id, t.Topic, p.Partition, e)
				kvs = append(kvs, partlog.KV{Key: r.key, Value: r.value})
				ps = append(ps, pendingOffset{group: g.id, tp: topicPartition{t.Topic, p.Partition}, e: e})
			}
		}
		batch := partlog.EncodeBatch(kvs, now, partlog.BatchOptions{ProducerID: req.ProducerID, ProducerEpoch: req.ProducerEpoch, Transactional: true})
		w, err := c.log.Append(ctx, partition, batch)
		if err != nil {
			c.logger.Warn("groupcoord: transactional offset commit failed", "group", g.id, "err", err)
			code = txnAppendErrorCode(c, err)
			return
		}
		wait = w
		// Counted in flight like a plain commit: a tombstone written
		// before it is durable covers it (deletedSeq).
		seq, sg = g.nextOffsetSeq(), g
		for _, p := range ps {
			p.e.seq = seq
		}
		g.startInflight(ps)
	})
	switch o {
	case shutDown:
		setPending(kerr.NotCoordinator.Code)
		return res
	case notFound:
		setPending(kerr.CoordinatorNotAvailable.Code)
		return res
	}
	if wait == nil {
		setPending(code)
		return res
	}
	err := c.awaitDurable(ctx, partition, wait)
	sg.mu.Lock()
	if kept := sg.finishTxnCommit(ps, seq, err == nil); len(kept) > 0 {
		c.txn.add(partition, req.ProducerID, kept)
	}
	sg.mu.Unlock()
	if err != nil {
		c.logger.Warn("groupcoord: transactional offset commit failed", "group", req.Group, "err", err)
		setPending(c.commitErrorCode(err))
		return res
	}
	setPending(0)
	return res
}

// startInflight counts the partitions of a transactional commit in flight.
// Callers hold g.mu.
func (g *group) startInflight(ps []pendingOffset) {
	if g.inflight == nil {
		g.inflight = make(map[topicPartition]int)
	}
	for _, p := range ps {
		g.inflight[p.tp]++
	}
	g.inflightCommits++
}

// finishTxnCommit ends a transactional commit in flight, with g locked, and
// returns the offsets that become pending: none if it is not durable or the
// group was deleted meanwhile, and none of a partition tombstoned after it
// was appended.
func (g *group) finishTxnCommit(ps []pendingOffset, seq uint64, durable bool) []pendingOffset {
	var kept []pendingOffset
	if durable && g.state != StateDead {
		for _, p := range ps {
			if g.deletedSeq[p.tp] < seq {
				kept = append(kept, p)
			}
		}
	}
	g.inflightCommits--
	for _, p := range ps {
		if n := g.inflight[p.tp] - 1; n > 0 {
			g.inflight[p.tp] = n
		} else {
			delete(g.inflight, p.tp)
			delete(g.deletedSeq, p.tp)
		}
	}
	return kept
}

// txnAppendErrorCode maps an append error; an epoch the log refuses is the
// producer's fencing.
func txnAppendErrorCode(c *Coordinator, err error) int16 {
	if partlog.KafkaErrorCode(err) == kerr.InvalidProducerEpoch.Code {
		return kerr.InvalidProducerEpoch.Code
	}
	return c.commitErrorCode(err)
}

// CompleteTxn applies (commit) or drops (abort) the pending offsets of
// producer pid in __consumer_offsets partition, once the transaction's
// marker there is durable.
func (c *Coordinator) CompleteTxn(partition int32, pid int64, commit bool) {
	ps := c.txn.take(partition, pid)
	if !commit {
		return
	}
	for _, p := range ps {
		c.withGroup(p.group, true, func(g *group, _ *replies) {
			g.offsetSeq = max(g.offsetSeq, p.e.seq)
			// A plain commit appended after the transactional one wins,
			// as in Kafka.
			if cur := g.offsets[p.tp.topic][p.tp.partition]; cur == nil || cur.seq < p.e.seq {
				e := *p.e
				g.setOffset(p.tp.topic, p.tp.partition, &e)
			}
		})
	}
}

// HasPendingTxnOffset reports whether an open transaction holds an offset
// of group for topic/partition (OffsetFetch require_stable).
func (c *Coordinator) HasPendingTxnOffset(group, topic string, partition int32) bool {
	return c.txn.pending(group, topic, partition)
}

// MarkUnstable sets UNSTABLE_OFFSET_COMMIT (and offset -1) on the
// partitions of res that an open transaction holds an offset for, as Kafka
// answers an OffsetFetch with require_stable.
func (c *Coordinator) MarkUnstable(group string, res *FetchResult) {
	for i := range res.Topics {
		t := &res.Topics[i]
		for j := range t.Partitions {
			p := &t.Partitions[j]
			if c.txn.pending(group, t.Topic, p.Partition) {
				p.ErrorCode = kerr.UnstableOffsetCommit.Code
				p.Offset, p.LeaderEpoch, p.Metadata = -1, -1, ""
			}
		}
	}
}

// loaderTxn is the pending state of one partition's replay.
type loaderTxn map[int64][]pendingOffset

// drop removes the pending offsets of a tombstoned partition.
func (t loaderTxn) drop(group string, tp topicPartition) {
	for pid, ps := range t {
		kept := ps[:0]
		for _, p := range ps {
			if p.group != group || p.tp != tp {
				kept = append(kept, p)
			}
		}
		t[pid] = kept
	}
}

// batchTxnAware replays stored batches, routing transactional batches and
// markers here and the rest to batch.
func (l *partitionLoader) batchTxnAware(b []byte) {
	for len(b) > 0 {
		if len(b) < batchHeaderLen {
			l.batch(b) // logs and counts the damage
			return
		}
		length := int64(int32(binary.BigEndian.Uint32(b[8:])))
		if length < batchHeaderLen-batchLengthStart || length > int64(len(b)-batchLengthStart) {
			l.batch(b)
			return
		}
		one := b[:batchLengthStart+int(length)]
		b = b[len(one):]
		attrs := binary.BigEndian.Uint16(one[21:])
		if attrs&(attrControl|attrTransactional) == 0 {
			l.batch(one)
			continue
		}
		l.txnBatch(one)
	}
}

const attrTransactional = 0x10

func (l *partitionLoader) txnBatch(one []byte) {
	if l.txn == nil {
		l.txn = loaderTxn{}
	}
	err := partlog.EachRecord(one, func(info partlog.BatchInfo, kv partlog.KV) error {
		if info.Control {
			typ, err := partlog.ParseControlKey(kv.Key)
			if err != nil {
				return err
			}
			ps := l.txn[info.ProducerID]
			delete(l.txn, info.ProducerID)
			if typ == partlog.ControlTypeCommit {
				for _, p := range ps {
					offsets := l.get(p.group).offsets
					if cur := offsets[p.tp]; cur == nil || cur.seq < p.e.seq {
						offsets[p.tp] = p.e
					}
				}
			}
			return nil
		}
		d, err := decodeOffsetsRecord(record{key: kv.Key, value: kv.Value})
		if err != nil {
			l.skipped++
			l.c.logger.Warn("groupcoord: skipping malformed __consumer_offsets record", "partition", l.partition, "err", err)
			return nil
		}
		if d.kind != kindOffset || d.offset == nil || PartitionFor(d.group, l.c.cfg.Partitions) != l.partition {
			return nil
		}
		l.seq++
		d.offset.seq = l.seq
		l.txn[info.ProducerID] = append(l.txn[info.ProducerID], pendingOffset{group: d.group, tp: topicPartition{d.topic, d.partition}, e: d.offset})
		return nil
	})
	if err != nil {
		l.skipped++
		l.c.logger.Warn("groupcoord: skipping malformed transactional __consumer_offsets batch", "partition", l.partition, "err", err)
	}
}

// finishTxn hands the offsets of transactions still open at the end of
// the replay to the coordinator, pending their markers.
func (l *partitionLoader) finishTxn() {
	for pid, ps := range l.txn {
		for _, p := range ps {
			l.get(p.group).openTxn = true
		}
		l.c.txn.add(l.partition, pid, ps)
	}
}
