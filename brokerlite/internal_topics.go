package brokerlite

import (
	"context"
	"fmt"

	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"github.com/twmb/franz-go/pkg/kerr"
)

// This file holds what the broker's own components (the group coordinator, later the
// transaction coordinator) use to keep their state in internal topics.

// lookupPartition returns a partition of a topic, or an UNKNOWN_TOPIC_OR_PARTITION error.
func (b *Broker) lookupPartition(topicName string, index int32) (*partition, error) {
	t := b.topics.get(topicName)
	if t == nil || index < 0 || int(index) >= len(t.partitions) {
		return nil, newTopicError(kerr.UnknownTopicOrPartition, "partition %s-%d does not exist", topicName, index)
	}
	return t.partitions[index], nil
}

// appendInternal appends one record batch (magic 2, as a producer would send it; the log
// assigns offsets) to a partition as the broker itself, and returns once it is fsynced.
// Internal topics accept it; clients cannot write them.
func (b *Broker) appendInternal(ctx context.Context, topicName string, index int32, batch []byte) error {
	wait, err := b.appendInternalAsync(ctx, topicName, index, batch)
	if err != nil {
		return err
	}
	return wait(ctx)
}

// appendInternalAsync is appendInternal in two steps: it appends the batch and returns a
// function that waits until the batch is durable (or ctx ends). The waits of every internal
// append share fsync rounds across partitions (the log manager's Syncer): concurrent commits
// of groups on different __consumer_offsets partitions are made durable together.
func (b *Broker) appendInternalAsync(ctx context.Context, topicName string, index int32, batch []byte) (func(context.Context) error, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("brokerlite: append to %s-%d: %w", topicName, index, err)
	}
	p, err := b.lookupPartition(topicName, index)
	if err != nil {
		return nil, err
	}
	res, err := p.appendCoordinator(batch)
	if err != nil {
		return nil, fmt.Errorf("brokerlite: append to %s-%d: %w", topicName, index, err)
	}
	end := res.lastOffset + 1
	return func(ctx context.Context) error {
		if err := b.logs.syncShared(ctx, p, end); err != nil {
			return fmt.Errorf("brokerlite: fsync of %s-%d: %w", topicName, index, err)
		}
		return nil
	}, nil
}

// partitionLog returns the partition log of topic/partition, for readers that need more
// than readPartition (nil if it does not exist).
func (b *Broker) partitionLog(topicName string, index int32) *partlog.Log {
	p, err := b.lookupPartition(topicName, index)
	if err != nil {
		return nil
	}
	return p.log
}

// readPartition calls fn with the stored batches of a partition from its log start offset
// to its high watermark, in order (each call gets one or more whole batches; the slice is
// only valid during the call). It is meant for loading state on start.
func (b *Broker) readPartition(ctx context.Context, topicName string, index int32, fn func(batches []byte) error) error {
	p, err := b.lookupPartition(topicName, index)
	if err != nil {
		return err
	}
	start, hwm := p.offsets()
	off := start
	for off < hwm {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("brokerlite: reading %s-%d: %w", topicName, index, err)
		}
		rr, err := p.read(nil, off, 1<<20, false)
		if err != nil {
			return fmt.Errorf("brokerlite: reading %s-%d at %d: %w", topicName, index, off, err)
		}
		if len(rr.records) == 0 {
			break
		}
		next, err := nextOffsetAfter(rr.records)
		if err != nil {
			return fmt.Errorf("brokerlite: reading %s-%d at %d: %w", topicName, index, off, err)
		}
		if err := fn(rr.records); err != nil {
			return err
		}
		if next <= off {
			break
		}
		off = next
		hwm = max(hwm, rr.highWatermark)
	}
	return nil
}

// nextOffsetAfter returns the offset after the last batch in a run of whole batches.
func nextOffsetAfter(batches []byte) (int64, error) {
	var next int64 = -1
	for len(batches) > 0 {
		if len(batches) < 61 {
			return 0, fmt.Errorf("brokerlite: short batch header (%d bytes)", len(batches))
		}
		base := int64(be64(batches[0:8]))
		length := int32(be32(batches[8:12]))
		lastDelta := int32(be32(batches[23:27]))
		if length < 49 || int(length)+12 > len(batches) {
			return 0, fmt.Errorf("brokerlite: bad batch length %d", length)
		}
		next = base + int64(lastDelta) + 1
		batches = batches[12+int(length):]
	}
	return next, nil
}

func be64(b []byte) uint64 {
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
