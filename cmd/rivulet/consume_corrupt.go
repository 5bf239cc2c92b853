package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consumePositions follows where the console consumer is in each partition, so that an
// error about a partition can name the offset it is stuck at.
type consumePositions struct {
	topic string
	group string
	// start is the numeric start offset (--offset N), or -2 for earliest and -1 for latest.
	start int64
	next  map[int32]int64
	// reported dedupes errors that are not corruption: one line per partition and error.
	reported map[int32]string
}

func newConsumePositions(topic, group string, startAt kgo.Offset) *consumePositions {
	return &consumePositions{topic: topic, group: group, start: startAt.EpochOffset().Offset,
		next: map[int32]int64{}, reported: map[int32]string{}}
}

// polled records that r was read: the partition's position is past it.
func (c *consumePositions) polled(r *kgo.Record) {
	c.next[r.Partition] = r.Offset + 1
	delete(c.reported, r.Partition)
}

// position returns the offset the consumer is fetching in partition p.
func (c *consumePositions) position(ctx context.Context, cl *kgo.Client, p int32) (int64, error) {
	if off, ok := c.next[p]; ok {
		return off, nil
	}
	adm := kadm.NewClient(cl)
	if c.group != "" {
		offs, err := adm.FetchOffsets(ctx, c.group)
		if err != nil {
			return 0, err
		}
		if o, ok := offs.Lookup(c.topic, p); ok && o.Err == nil && o.At >= 0 {
			return o.At, nil
		}
	}
	if c.start >= 0 {
		return c.start, nil
	}
	var list kadm.ListedOffsets
	var err error
	if c.start == -2 {
		list, err = adm.ListStartOffsets(ctx, c.topic)
	} else {
		list, err = adm.ListEndOffsets(ctx, c.topic)
	}
	if err != nil {
		return 0, err
	}
	o, ok := list.Lookup(c.topic, p)
	if !ok || o.Err != nil {
		return 0, fmt.Errorf("no offset for partition %d", p)
	}
	return o.Offset, nil
}

// isCorruptBatch says whether a fetch error means the records at the position are damaged:
// the broker answered CORRUPT_MESSAGE, or the client found a batch whose CRC does not match.
func isCorruptBatch(err error) bool {
	return errors.Is(err, kerr.CorruptMessage) || strings.Contains(err.Error(), "does not match calculated crc")
}

// handleFetchErrors deals with a poll's fetch errors. A corrupt batch stops the consumer
// with one error naming the topic, partition and offset, or with skip is passed over (the
// consumer moves one offset on, with a warning). Other errors are printed once per
// partition until that partition delivers again (the client retries them).
func (c *consumePositions) handleFetchErrors(ctx context.Context, cl *kgo.Client, errs []kgo.FetchError, skip bool, stderr io.Writer) error {
	for _, fe := range errs {
		if !isCorruptBatch(fe.Err) {
			if line := fe.Err.Error(); c.reported[fe.Partition] != line {
				c.reported[fe.Partition] = line
				fmt.Fprintf(stderr, "rivulet: consume: %s[%d]: %v\n", fe.Topic, fe.Partition, fe.Err)
			}
			continue
		}
		off, err := c.position(ctx, cl, fe.Partition)
		where := fmt.Sprintf("topic %s partition %d at offset %d", fe.Topic, fe.Partition, off)
		if err != nil {
			where = fmt.Sprintf("topic %s partition %d (offset unknown: %v)", fe.Topic, fe.Partition, err)
		}
		if !skip || err != nil {
			return fmt.Errorf("consume: corrupt record batch in %s: %v (the data on the broker is damaged; --skip-corrupt skips it)", where, fe.Err)
		}
		fmt.Fprintf(stderr, "rivulet: consume: WARN: skipping a corrupt record at %s: %v\n", where, fe.Err)
		c.next[fe.Partition] = off + 1
		cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{fe.Topic: {fe.Partition: {Epoch: -1, Offset: off + 1}}})
	}
	return nil
}
