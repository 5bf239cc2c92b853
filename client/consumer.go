package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Consumer is a franz-go consumer built from Kafka properties, with a consumer interceptor
// chain on its poll and commit paths. Poll is meant for one goroutine at a time (as Kafka's
// poll); the commit and mark methods are safe for concurrent use.
type Consumer struct {
	cl     *kgo.Client
	chain  *consumerChain
	parsed *Parsed
	log    *slog.Logger
	marks  bool

	closeOnce sync.Once
}

// NewConsumer builds a consumer from Kafka consumer properties (see [Parse]). With group.id
// it joins that group; the topics come from [WithTopics] (or kgo options given with
// [WithKgoOpts], such as kgo.ConsumePartitions without a group). Interceptors from
// interceptor.classes come first, then those of [WithConsumerInterceptors].
//
// When the consumer is in a group with auto-commit on, automatic commits (periodic, and on
// revoke and close) are reported to OnCommit; a kgo.AutoCommitCallback passed with
// WithKgoOpts replaces that.
func NewConsumer(props Properties, opts ...Option) (*Consumer, error) {
	o, parsed, err := setup(RoleConsumer, props, opts)
	if err != nil {
		return nil, err
	}
	chain, err := buildConsumerChain(parsed.Interceptors, o.consumers, props, o.log)
	if err != nil {
		return nil, err
	}
	c := &Consumer{chain: chain, parsed: parsed, log: o.log, marks: o.autoCommitMarks}
	kopts := append([]kgo.Opt{}, parsed.Opts...)
	if o.autoCommitMarks {
		if parsed.GroupID == "" || !parsed.AutoCommit {
			chain.close()
			return nil, errors.New("client: WithAutoCommitMarks needs group.id and enable.auto.commit=true")
		}
		kopts = append(kopts, kgo.AutoCommitMarks())
	}
	if len(o.topics) > 0 {
		kopts = append(kopts, kgo.ConsumeTopics(o.topics...))
	}
	if parsed.GroupID != "" && parsed.AutoCommit {
		kopts = append(kopts, kgo.AutoCommitCallback(c.autoCommitted))
	}
	kopts = append(kopts, o.kgoOpts...)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		chain.close()
		return nil, fmt.Errorf("client: new consumer: %w", err)
	}
	c.cl = cl
	return c, nil
}

// Client returns the underlying franz-go client. Records polled from it directly bypass
// OnConsume, and commits made on it directly bypass OnCommit.
func (c *Consumer) Client() *kgo.Client { return c.cl }

// Parsed returns what the consumer's properties resolved to.
func (c *Consumer) Parsed() *Parsed { return c.parsed }

// PollError holds the per-partition errors of one Poll. Most are transient (franz-go keeps
// fetching); a caller usually logs them and polls again.
type PollError struct {
	Errors []kgo.FetchError
}

// Error lists each topic, partition and error.
func (e *PollError) Error() string {
	parts := make([]string, 0, len(e.Errors))
	for _, fe := range e.Errors {
		parts = append(parts, fmt.Sprintf("%s[%d]: %v", fe.Topic, fe.Partition, fe.Err))
	}
	return "client: poll: " + strings.Join(parts, "; ")
}

// Unwrap returns every partition's error, so errors.Is finds any of them.
func (e *PollError) Unwrap() []error {
	errs := make([]error, 0, len(e.Errors))
	for _, fe := range e.Errors {
		errs = append(errs, fe.Err)
	}
	return errs
}

// Poll waits until records are available or ctx is done, and returns at most
// max.poll.records records after running them through OnConsume. It returns ctx's error when
// ctx ends the wait, kgo.ErrClientClosed after Close, and a *PollError (with whatever records
// did arrive) for partition errors.
func (c *Consumer) Poll(ctx context.Context) ([]*kgo.Record, error) {
	fetches := c.cl.PollRecords(ctx, c.parsed.MaxPollRecords)
	if fetches.IsClientClosed() {
		return nil, kgo.ErrClientClosed
	}
	var errs []kgo.FetchError
	fetches.EachError(func(topic string, partition int32, err error) {
		errs = append(errs, kgo.FetchError{Topic: topic, Partition: partition, Err: err})
	})
	records := fetches.Records()
	if !c.chain.empty() && len(records) > 0 {
		records = c.chain.onConsume(records)
	}
	if len(errs) > 0 {
		if ctxErr := ctx.Err(); ctxErr != nil && len(records) == 0 {
			return nil, ctxErr
		}
		return records, &PollError{Errors: errs}
	}
	return records, nil
}

// MarkCommitRecords marks records as processed, for autocommit with kgo.AutoCommitMarks (pass
// it with WithKgoOpts) or a later CommitMarked.
func (c *Consumer) MarkCommitRecords(rs ...*kgo.Record) { c.cl.MarkCommitRecords(rs...) }

// CommitRecords commits the offsets after the given records (the highest per partition) and
// waits for the answer.
func (c *Consumer) CommitRecords(ctx context.Context, rs ...*kgo.Record) error {
	offsets := make(map[string]map[int32]kgo.EpochOffset)
	for _, r := range rs {
		parts := offsets[r.Topic]
		if parts == nil {
			parts = make(map[int32]kgo.EpochOffset)
			offsets[r.Topic] = parts
		}
		if cur, ok := parts[r.Partition]; !ok || r.Offset+1 > cur.Offset {
			parts[r.Partition] = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
		}
	}
	return c.CommitOffsets(ctx, offsets)
}

// CommitMarked commits the offsets of records marked with MarkCommitRecords.
func (c *Consumer) CommitMarked(ctx context.Context) error {
	return c.CommitOffsets(ctx, c.cl.MarkedOffsets())
}

// CommitUncommitted commits the offsets after every record polled so far.
func (c *Consumer) CommitUncommitted(ctx context.Context) error {
	return c.CommitOffsets(ctx, c.cl.UncommittedOffsets())
}

// CommitOffsets commits the given offsets (the next offset to read, per partition), waits for
// the answer, and reports the committed ones to OnCommit. It needs group.id.
func (c *Consumer) CommitOffsets(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset) error {
	if c.parsed.GroupID == "" {
		return errors.New("client: commit: the consumer has no group.id")
	}
	if len(offsets) == 0 {
		return nil
	}
	var commitErr error
	c.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		commitErr = c.committed(req, resp, err)
	})
	return commitErr
}

// autoCommitted is franz-go's AutoCommitCallback: it reports what was committed and logs
// failures (the default callback would have logged them).
func (c *Consumer) autoCommitted(_ *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
	if err := c.committed(req, resp, err); err != nil && !errors.Is(err, context.Canceled) {
		c.log.Warn("client: automatic offset commit failed", "group", c.parsed.GroupID, "err", err)
	}
}

// committed hands the partitions the broker accepted to OnCommit and returns the first error.
func (c *Consumer) committed(req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) error {
	if err != nil {
		return fmt.Errorf("client: commit: %w", err)
	}
	if req == nil || resp == nil {
		return nil
	}
	sent := make(map[string]map[int32]kgo.EpochOffset, len(req.Topics))
	for _, t := range req.Topics {
		parts := make(map[int32]kgo.EpochOffset, len(t.Partitions))
		for _, p := range t.Partitions {
			parts[p.Partition] = kgo.EpochOffset{Epoch: p.LeaderEpoch, Offset: p.Offset}
		}
		sent[t.Topic] = parts
	}
	ok := make(map[string]map[int32]kgo.EpochOffset)
	var firstErr error
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if perr := kerr.ErrorForCode(p.ErrorCode); perr != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("client: commit %s[%d]: %w", t.Topic, p.Partition, perr)
				}
				continue
			}
			eo, found := sent[t.Topic][p.Partition]
			if !found {
				continue
			}
			if ok[t.Topic] == nil {
				ok[t.Topic] = make(map[int32]kgo.EpochOffset)
			}
			ok[t.Topic][p.Partition] = eo
		}
	}
	c.chain.onCommit(ok)
	return firstErr
}

// Close commits and leaves the group, closes the client, then closes the interceptors. With
// auto-commit on, it first commits every record polled so far, as Kafka's consumer commits its
// position on close (franz-go alone would leave the last poll uncommitted), or only the marked
// records under [WithAutoCommitMarks]; that commit is bounded by default.api.timeout.ms and
// a failure is logged. Calling Close again does nothing.
func (c *Consumer) Close() {
	c.closeOnce.Do(func() {
		if c.parsed.GroupID != "" && c.parsed.AutoCommit {
			ctx, cancel := context.WithTimeout(context.Background(), c.parsed.APITimeout)
			var err error
			if c.marks {
				err = c.CommitMarked(ctx)
			} else {
				err = c.CommitUncommitted(ctx)
			}
			cancel()
			if err != nil {
				c.log.Warn("client: commit on close failed", "group", c.parsed.GroupID, "err", err)
			}
		}
		c.cl.Close()
		c.chain.close()
	})
}
