package client

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Option changes how NewProducer, NewConsumer or NewAdmin build a client.
type Option func(*options)

type options struct {
	log       *slog.Logger
	producers []ProducerInterceptor
	consumers []ConsumerInterceptor
	kgoOpts   []kgo.Opt
	topics    []string

	autoCommitMarks bool
}

// WithLogger sets the logger for property warnings and interceptor failures. The default is
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithProducerInterceptors adds interceptors after those named in interceptor.classes, in the
// order given. NewProducer calls Configure on each.
func WithProducerInterceptors(ics ...ProducerInterceptor) Option {
	return func(o *options) { o.producers = append(o.producers, ics...) }
}

// WithConsumerInterceptors adds interceptors after those named in interceptor.classes, in the
// order given. NewConsumer calls Configure on each.
func WithConsumerInterceptors(ics ...ConsumerInterceptor) Option {
	return func(o *options) { o.consumers = append(o.consumers, ics...) }
}

// WithKgoOpts appends franz-go options after those the properties produced, so they win where
// both set the same thing. Use it for what has no Kafka property (kgo.ConsumePartitions,
// kgo.OnPartitionsAssigned, hooks, ...).
func WithKgoOpts(opts ...kgo.Opt) Option {
	return func(o *options) { o.kgoOpts = append(o.kgoOpts, opts...) }
}

// WithTopics sets the topics a consumer subscribes to (kgo.ConsumeTopics).
func WithTopics(topics ...string) Option {
	return func(o *options) { o.topics = append(o.topics, topics...) }
}

// WithAutoCommitMarks makes a group consumer with auto-commit commit only records marked with
// MarkCommitRecords (kgo.AutoCommitMarks), periodically and on revoke and close, so a record
// is committed only once the caller has handled it.
func WithAutoCommitMarks() Option {
	return func(o *options) { o.autoCommitMarks = true }
}

// setup applies opts and parses props for role, logging the property warnings: the start
// of every constructor.
func setup(role Role, props Properties, opts []Option) (*options, *Parsed, error) {
	o := &options{log: slog.Default()}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	parsed, err := Parse(role, props)
	if err != nil {
		return nil, nil, err
	}
	logWarnings(o.log, parsed.Warnings)
	return o, parsed, nil
}

// Producer is a franz-go producer built from Kafka properties, with a producer interceptor
// chain around its record path. It is safe for concurrent use.
type Producer struct {
	cl     *kgo.Client
	chain  *producerChain
	parsed *Parsed

	closeOnce sync.Once
}

// NewProducer builds a producer from Kafka producer properties (see [Parse]). Interceptors
// from interceptor.classes come first, then those of [WithProducerInterceptors]; each is
// configured with props. Property warnings are logged.
func NewProducer(props Properties, opts ...Option) (*Producer, error) {
	o, parsed, err := setup(RoleProducer, props, opts)
	if err != nil {
		return nil, err
	}
	chain, err := buildProducerChain(parsed.Interceptors, o.producers, props, o.log)
	if err != nil {
		return nil, err
	}
	kopts := append(append([]kgo.Opt{}, parsed.Opts...), o.kgoOpts...)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		chain.close()
		return nil, fmt.Errorf("client: new producer: %w", err)
	}
	return &Producer{cl: cl, chain: chain, parsed: parsed}, nil
}

// Client returns the underlying franz-go client, for what this wrapper does not cover
// (transactions, metadata). Records produced on it directly bypass the interceptors.
func (p *Producer) Client() *kgo.Client { return p.cl }

// Parsed returns what the producer's properties resolved to.
func (p *Producer) Parsed() *Parsed { return p.parsed }

// Produce sends r asynchronously, as kgo.Client.Produce does, after running the OnSend chain
// on the calling goroutine. promise (which may be nil) is called once when the record is
// acknowledged or fails, after the interceptors' OnAcknowledgement.
func (p *Producer) Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	if p.chain.empty() {
		p.cl.Produce(ctx, r, promise)
		return
	}
	r = p.chain.onSend(r)
	p.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
		p.chain.onAck(r, err)
		if promise != nil {
			promise(r, err)
		}
	})
}

// ProduceSync sends the records and waits for all of them to be acknowledged or to fail.
func (p *Producer) ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	results := make(kgo.ProduceResults, 0, len(rs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(len(rs))
	for _, r := range rs {
		p.Produce(ctx, r, func(r *kgo.Record, err error) {
			mu.Lock()
			results = append(results, kgo.ProduceResult{Record: r, Err: err})
			mu.Unlock()
			wg.Done()
		})
	}
	wg.Wait()
	return results
}

// Flush waits until every buffered record is acknowledged or failed, or ctx is done.
func (p *Producer) Flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		return fmt.Errorf("client: flush: %w", err)
	}
	return nil
}

// Close flushes (bounded by ctx), closes the client, which fails anything still buffered and
// calls its promises, and then closes the interceptors, so Close is the last call an
// interceptor sees. It returns the flush error, if any. Calling Close again does nothing.
func (p *Producer) Close(ctx context.Context) error {
	var err error
	p.closeOnce.Do(func() {
		if ferr := p.cl.Flush(ctx); ferr != nil {
			err = fmt.Errorf("client: close: flush: %w", ferr)
		}
		p.cl.Close()
		p.chain.close()
	})
	return err
}
