package streams

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// streamsPartitioner lets a record carry its partition (changelogs, custom
// StreamPartitioners) and otherwise hashes its key with murmur2, as Kafka's
// default partitioner does, so repartition topics put a key's records in
// the partition every Kafka client would.
type streamsPartitioner struct{ inner kgo.Partitioner }

func newStreamsPartitioner() kgo.Partitioner {
	return streamsPartitioner{inner: kgo.StickyKeyPartitioner(nil)}
}

func (p streamsPartitioner) ForTopic(t string) kgo.TopicPartitioner {
	return &streamsTopicPartitioner{inner: p.inner.ForTopic(t)}
}

type streamsTopicPartitioner struct{ inner kgo.TopicPartitioner }

func (t *streamsTopicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return r.Partition >= 0 || t.inner.RequiresConsistency(r)
}

func (t *streamsTopicPartitioner) Partition(r *kgo.Record, n int) int {
	if r.Partition >= 0 {
		return int(r.Partition)
	}
	return t.inner.Partition(r, n)
}

func (t *streamsTopicPartitioner) OnNewBatch() {
	if nb, ok := t.inner.(kgo.TopicPartitionerOnNewBatch); ok {
		nb.OnNewBatch()
	}
}

// produceError is a record the broker refused for good.
type produceError struct {
	rec ProducerRecord
	err error
}

// threadCollector is a stream thread's RecordCollector: it hands records to
// the thread's franz-go producer and remembers, per partition, the offset
// after the last acknowledged record (changelog checkpoints) and the
// records that failed (the production handler decides about them when the
// thread flushes before a commit).
type threadCollector struct {
	cl    *kgo.Client
	admin *kadm.Client
	ctx   context.Context
	stats *TaskStats

	mu     sync.Mutex
	acked  map[TopicPartition]int64
	failed []produceError
	counts map[string]int32
}

func newThreadCollector(ctx context.Context, cl *kgo.Client, stats *TaskStats) *threadCollector {
	return &threadCollector{
		cl: cl, admin: kadm.NewClient(cl), ctx: ctx, stats: stats,
		acked:  make(map[TopicPartition]int64),
		counts: make(map[string]int32),
	}
}

// recordPool recycles the franz-go records the collectors produce: a
// record is free again once its promise has run (franz-go does not touch it
// after that), and a word count produces several per input record.
var recordPool = sync.Pool{New: func() any { return new(kgo.Record) }}

func (c *threadCollector) Send(pr ProducerRecord) error {
	r := recordPool.Get().(*kgo.Record)
	r.Topic, r.Partition, r.Key, r.Value = pr.Topic, pr.Partition, pr.Key, pr.Value
	r.Timestamp = timeFromMillis(pr.Timestamp)
	if len(pr.Headers) > 0 {
		r.Headers = make([]kgo.RecordHeader, len(pr.Headers))
		for i, h := range pr.Headers {
			r.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	// Only changelog offsets are needed (for checkpoints); other records
	// only report failures, so their promise takes no lock on success.
	if strings.HasSuffix(pr.Topic, changelogSuffix) {
		c.cl.Produce(c.ctx, r, c.changelogPromise)
	} else {
		c.cl.Produce(c.ctx, r, c.promise)
	}
	return nil
}

const changelogSuffix = "-changelog"

func (c *threadCollector) promise(r *kgo.Record, err error) {
	if err != nil {
		c.failure(r, err)
	}
	release(r)
}

func (c *threadCollector) changelogPromise(r *kgo.Record, err error) {
	if err != nil {
		c.failure(r, err)
	} else {
		tp := TopicPartition{Topic: r.Topic, Partition: r.Partition}
		c.mu.Lock()
		if next := r.Offset + 1; next > c.acked[tp] {
			c.acked[tp] = next
		}
		c.mu.Unlock()
	}
	release(r)
}

func (c *threadCollector) failure(r *kgo.Record, err error) {
	pr := ProducerRecord{Topic: r.Topic, Partition: r.Partition, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp.UnixMilli()}
	c.mu.Lock()
	c.failed = append(c.failed, produceError{rec: pr, err: err})
	c.mu.Unlock()
}

func release(r *kgo.Record) {
	*r = kgo.Record{}
	recordPool.Put(r)
}

func (c *threadCollector) PartitionCount(topic string) (int32, error) {
	c.mu.Lock()
	n, ok := c.counts[topic]
	c.mu.Unlock()
	if ok {
		return n, nil
	}
	td, err := c.admin.ListTopics(c.ctx, topic)
	if err != nil {
		return 0, err
	}
	t, ok := td[topic]
	if !ok || t.Err != nil {
		if ok {
			return 0, t.Err
		}
		return 0, fmt.Errorf("topic %q not found", topic)
	}
	n = int32(len(t.Partitions))
	c.mu.Lock()
	c.counts[topic] = n
	c.mu.Unlock()
	return n, nil
}

// flush waits until every record sent so far is acknowledged or failed, and
// returns the failures (clearing them).
func (c *threadCollector) flush(ctx context.Context) ([]produceError, error) {
	if err := c.cl.Flush(ctx); err != nil {
		return nil, fmt.Errorf("streams: flush producer: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.failed
	c.failed = nil
	return f, nil
}

// ackedOffsets returns, for the given partitions, the offset after the last
// acknowledged record.
func (c *threadCollector) ackedOffsets() map[TopicPartition]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[TopicPartition]int64, len(c.acked))
	for tp, o := range c.acked {
		out[tp] = o
	}
	return out
}

// ErrProduction wraps a record the broker refused when the production
// handler said to fail.
var ErrProduction = errors.New("streams: production failed")
