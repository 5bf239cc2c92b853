package groupcoord

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// loadedGroup collects one group's latest records while a partition is
// replayed.
type loadedGroup struct {
	meta    *decodedRecord // latest group metadata; nil if none or tombstoned
	offsets map[topicPartition]*offsetEntry
	// openTxn: an open transaction holds offsets of the group, which
	// then exists (as Kafka creates it when the first offset is replayed).
	openTxn bool
}

// partitionLoader replays one __consumer_offsets partition.
type partitionLoader struct {
	c         *Coordinator
	partition int32
	groups    map[string]*loadedGroup
	skipped   int64
	misplaced int64
	txn       loaderTxn // offsets of open transactions (txnoffsets.go)
	// seq numbers the offset records in log order (offsetEntry.seq), so
	// that a transaction's commit marker keeps a newer plain commit.
	seq uint64
}

func (l *partitionLoader) get(id string) *loadedGroup {
	lg := l.groups[id]
	if lg == nil {
		lg = &loadedGroup{offsets: make(map[topicPartition]*offsetEntry)}
		l.groups[id] = lg
	}
	return lg
}

// batch applies every record of one stored batch. A malformed batch or
// record is counted and skipped, never fatal: the rest of the partition
// still loads.
func (l *partitionLoader) batch(b []byte) {
	err := decodeBatches(b, func(rec record) error {
		d, err := decodeOffsetsRecord(rec)
		if err != nil {
			l.skipped++
			l.c.logger.Warn("groupcoord: skipping malformed __consumer_offsets record", "partition", l.partition, "err", err)
			return nil
		}
		l.apply(d)
		return nil
	})
	if err != nil {
		l.skipped++
		l.c.logger.Warn("groupcoord: skipping malformed __consumer_offsets batch", "partition", l.partition, "err", err)
	}
}

func (l *partitionLoader) apply(d decodedRecord) {
	if d.kind == kindOther {
		return
	}
	if PartitionFor(d.group, l.c.cfg.Partitions) != l.partition {
		// Written under another partition count; the group now lives
		// elsewhere and an old record here must not shadow newer ones.
		l.misplaced++
		return
	}
	switch d.kind {
	case kindOffset:
		tp := topicPartition{d.topic, d.partition}
		l.seq++
		if d.offset == nil {
			if lg := l.groups[d.group]; lg != nil {
				delete(lg.offsets, tp)
			}
			l.txn.drop(d.group, tp) // as Kafka: a tombstone removes pending offsets too
			return
		}
		d.offset.seq = l.seq
		l.get(d.group).offsets[tp] = d.offset
	case kindGroup:
		if d.meta == nil {
			if lg := l.groups[d.group]; lg != nil {
				lg.meta = nil
			}
			return
		}
		dd := d
		l.get(d.group).meta = &dd
	}
}

// load replays every partition and builds the groups.
func (c *Coordinator) load(ctx context.Context) error {
	for p := int32(0); p < c.cfg.Partitions; p++ {
		l := &partitionLoader{c: c, partition: p, groups: make(map[string]*loadedGroup)}
		err := c.log.Replay(ctx, p, func(b []byte) error {
			l.batchTxnAware(b)
			return ctx.Err()
		})
		if err != nil {
			return fmt.Errorf("groupcoord: loading __consumer_offsets-%d: %w", p, err)
		}
		l.finishTxn()
		// Offset writes of the partition's groups, loaded or created
		// later, number on from the last record replayed.
		c.loadedSeq[p] = l.seq
		c.loadSkipped.Add(l.skipped)
		if l.misplaced > 0 {
			c.logger.Warn("groupcoord: ignored records of groups that belong to another partition (was offsets.topic.num.partitions changed?)", "partition", p, "records", l.misplaced)
		}
		for id, lg := range l.groups {
			if lg.meta == nil && len(lg.offsets) == 0 && !lg.openTxn {
				continue
			}
			g := c.newGroup(id)
			var r replies
			g.mu.Lock()
			g.restore(lg)
			if n := len(g.members); n > c.cfg.GroupMaxSize {
				// group.max.size was lowered: rebalance, so that members
				// commit and the last to rejoin are refused, as Kafka.
				g.prepareRebalance(fmt.Sprintf("loaded group of %d members is over group.max.size %d", n, c.cfg.GroupMaxSize), &r)
			}
			g.mu.Unlock()
			r.run()
			c.mu.Lock()
			c.groups[id] = g
			c.mu.Unlock()
		}
	}
	if n := len(c.groups); n > 0 {
		c.logger.Info("groupcoord: loaded groups from __consumer_offsets", "groups", n, "skipped", c.loadSkipped.Load())
	}
	return nil
}

// restore rebuilds the group from its loaded records: a group with
// members comes back Stable in its stored generation, and its members must
// heartbeat within their session timeouts or be removed; a group without
// members comes back Empty.
func (g *group) restore(lg *loadedGroup) {
	for tp, e := range lg.offsets {
		g.setOffset(tp.topic, tp.partition, e)
	}
	if lg.meta == nil {
		// Offsets only: a standalone committer's group, or one whose
		// metadata was deleted and that is used for offsets only since.
		g.stateTime = time.Time{}
		return
	}
	v := lg.meta.meta
	g.generation = v.Generation
	g.protocolType = v.ProtocolType
	g.stateTime = time.Time{}
	if v.CurrentStateTimestamp >= 0 {
		g.stateTime = time.UnixMilli(v.CurrentStateTimestamp)
	}
	if v.Protocol == nil || *v.Protocol == "" || len(v.Members) == 0 {
		g.state = StateEmpty
		return
	}
	g.protocol = *v.Protocol
	for _, mv := range v.Members {
		if mv.MemberID == "" || g.members[mv.MemberID] != nil {
			continue
		}
		m := &member{
			id:         mv.MemberID,
			clientID:   mv.ClientID,
			clientHost: mv.ClientHost,
			protocols:  []Protocol{{Name: g.protocol, Metadata: bytes.Clone(mv.Subscription)}},
			session:    g.c.sessionBounds(time.Duration(mv.SessionTimeoutMillis) * time.Millisecond),
			assignment: bytes.Clone(mv.Assignment),
		}
		m.rebalance = m.session
		if mv.RebalanceTimeoutMillis > 0 {
			m.rebalance = time.Duration(mv.RebalanceTimeoutMillis) * time.Millisecond
		}
		if mv.InstanceID != nil && *mv.InstanceID != "" {
			if g.static[*mv.InstanceID] != nil {
				continue
			}
			m.instanceID = *mv.InstanceID
			g.static[m.instanceID] = m
		}
		g.members[m.id] = m
		g.order = append(g.order, m)
		g.armHeartbeat(m)
	}
	if len(g.order) == 0 {
		g.protocol = ""
		g.state = StateEmpty
		return
	}
	g.leader = g.order[0].id
	if v.Leader != nil && g.members[*v.Leader] != nil {
		g.leader = *v.Leader
	}
	g.state = StateStable
	g.computeSubscribed()
}
