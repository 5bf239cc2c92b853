package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

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

// threadCollector is a stream thread's recordCollector: it hands records to
// the thread's franz-go producer and remembers, per partition, the offset
// after the last acknowledged record (changelog checkpoints).
//
// A record the broker refuses for good goes to the production handler as
// it fails, from its promise, as Kafka Streams' RecordCollector does from
// its send callback: "continue" drops it (counted), "fail" makes the next
// Send and the next flush (before every commit) return the error, so the
// task fails and its offsets are not committed. franz-go fails records
// one promise at a time, also when the broker refuses a whole batch (a
// batch too large, a topic gone, a record too large among small ones):
// the handler then sees each record of the batch and decides for each.
type threadCollector struct {
	cl      *kgo.Client
	admin   *kadm.Client
	ctx     context.Context
	stats   *taskStats
	handler ProductionHandler
	logger  *slog.Logger
	// onError counts a refused record (the app's production_errors_total).
	onError func()

	// sendErr is the first failure the handler said to fail on; hasErr
	// lets Send check it without the lock.
	hasErr  atomic.Bool
	mu      sync.Mutex
	sendErr error
	acked   map[TopicPartition]int64
	counts  map[string]int32
	// producedInTxn: a record was acknowledged since the transaction
	// began (exactly-once only; eos.go).
	producedInTxn atomic.Bool
	// eos: records that fail because the transaction cannot go on
	// (fenced, timed out) abort it (txnErr) rather than going to the
	// production handler.
	eos    bool
	txnErr error

	// promiseFn and changelogPromiseFn are the promises bound once: a
	// method value passed to franz-go escapes, so binding it in Send would
	// allocate a closure for every record.
	promiseFn, changelogPromiseFn func(*kgo.Record, error)
}

func newThreadCollector(ctx context.Context, cl *kgo.Client, stats *taskStats, handler ProductionHandler, logger *slog.Logger, onError func()) *threadCollector {
	if handler == nil {
		handler = ProductionFailAlways
	}
	if logger == nil {
		logger = slog.Default()
	}
	if onError == nil {
		onError = func() {}
	}
	c := &threadCollector{
		cl: cl, admin: kadm.NewClient(cl), ctx: ctx, stats: stats,
		handler: handler, logger: logger, onError: onError,
		acked:  make(map[TopicPartition]int64),
		counts: make(map[string]int32),
	}
	c.promiseFn, c.changelogPromiseFn = c.promise, c.changelogPromise
	return c
}

// recordPool recycles the franz-go records the collectors produce: a
// record is free again once its promise has run (franz-go does not touch it
// after that), and a word count produces several per input record.
var recordPool = sync.Pool{New: func() any { return new(kgo.Record) }}

func (c *threadCollector) Send(pr ProducerRecord) error {
	if c.hasErr.Load() {
		return c.err()
	}
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
		c.cl.Produce(c.ctx, r, c.changelogPromiseFn)
	} else {
		c.cl.Produce(c.ctx, r, c.promiseFn)
	}
	return nil
}

const changelogSuffix = "-changelog"

func (c *threadCollector) promise(r *kgo.Record, err error) {
	if err != nil {
		c.failure(r, err)
	} else {
		c.noteProduced()
	}
	release(r)
}

// noteProduced records an acknowledged record for the transaction. Only
// exactly-once reads it, and the store is skipped once made: a store per
// record would keep the cache line it shares with hasErr, which Send reads
// for every record on the thread's goroutine, moving between cores.
func (c *threadCollector) noteProduced() {
	if c.eos && !c.producedInTxn.Load() {
		c.producedInTxn.Store(true)
	}
}

func (c *threadCollector) changelogPromise(r *kgo.Record, err error) {
	if err != nil {
		c.failure(r, err)
	} else {
		c.noteProduced()
		tp := TopicPartition{Topic: r.Topic, Partition: r.Partition}
		c.mu.Lock()
		if next := r.Offset + 1; next > c.acked[tp] {
			c.acked[tp] = next
		}
		c.mu.Unlock()
	}
	release(r)
}

// failure consults the production handler about a record the broker
// refused, on franz-go's promise goroutine (a handler must be safe to call
// from there; it is never called concurrently for one thread's records).
func (c *threadCollector) failure(r *kgo.Record, err error) {
	if errors.Is(err, kgo.ErrAborting) {
		return // the transaction is being aborted: nothing to decide
	}
	if c.eos && txnFailure(err) {
		c.mu.Lock()
		if c.txnErr == nil {
			c.txnErr = fmt.Errorf("streams: record for %s: %w", r.Topic, err)
		}
		c.mu.Unlock()
		return
	}
	c.onError()
	pr := ProducerRecord{Topic: r.Topic, Partition: r.Partition, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp.UnixMilli()}
	if len(r.Headers) > 0 {
		pr.Headers = make([]Header, len(r.Headers))
		for i, h := range r.Headers {
			pr.Headers[i] = Header{Key: h.Key, Value: h.Value}
		}
	}
	if c.decide(&pr, err) == ProductionContinue {
		c.logger.Warn("streams: dropping a record the broker refused (the production handler said continue)", "topic", pr.Topic, "partition", pr.Partition, "err", err)
		c.stats.DroppedRecords.Add(1)
		return
	}
	c.mu.Lock()
	if c.sendErr == nil {
		c.sendErr = fmt.Errorf("%w: record for %s: %v (the production handler said fail)", ErrProduction, pr.Topic, err)
	}
	c.mu.Unlock()
	c.hasErr.Store(true)
}

// decide runs the handler; a panic in it counts as "fail".
func (c *threadCollector) decide(pr *ProducerRecord, err error) (resp ProductionResponse) {
	defer func() {
		if r := recover(); r != nil {
			c.logger.Error("streams: the production handler panicked", "panic", r)
			resp = ProductionFail
		}
	}()
	return c.handler(pr, err)
}

func (c *threadCollector) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sendErr
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

// flush waits until every record sent so far is acknowledged or failed
// (each failure already went to the production handler), and returns the
// failure the handler said to fail on, if any.
func (c *threadCollector) flush(ctx context.Context) error {
	if err := c.cl.Flush(ctx); err != nil {
		return fmt.Errorf("streams: flush producer: %w", err)
	}
	c.mu.Lock()
	txnErr := c.txnErr
	c.mu.Unlock()
	if txnErr != nil {
		return txnErr
	}
	return c.err()
}

// resetTxn forgets the aborted transaction's production state.
func (c *threadCollector) resetTxn() {
	c.producedInTxn.Store(false)
	c.mu.Lock()
	c.txnErr = nil
	c.mu.Unlock()
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
