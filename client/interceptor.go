package client

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ProducerInterceptor sees every record a [Producer] sends and every answer, as Kafka's
// ProducerInterceptor (KIP-42) does.
//
// Contract:
//   - Configure is called once, when the producer is built, with the producer's properties.
//     An error (or a panic) there fails NewProducer: a misconfigured interceptor is a setup
//     bug, not a runtime condition.
//   - OnSend is called on the goroutine that calls Produce, before the partition is chosen. It
//     may change the record in place or return another one; the next interceptor gets what it
//     returns (nil means "unchanged"). If it returns an error or panics, the error is logged,
//     the record it was given goes on unchanged to the next interceptor, and the send goes
//     ahead: an interceptor never fails a send. An interceptor that fails should not have
//     changed the record.
//   - OnAcknowledgement is called once per record when the broker answers or the send fails
//     (err != nil). It runs on franz-go's promise goroutine, so it must be cheap and must not
//     block; it may be called concurrently with OnSend. Errors cannot be returned; a panic is
//     logged and the chain goes on.
//   - Close is called once, when the producer is closed, after the last OnAcknowledgement.
//
// Interceptors must be safe for concurrent use: Produce may be called from many goroutines.
type ProducerInterceptor interface {
	Configure(props Properties) error
	OnSend(r *kgo.Record) (*kgo.Record, error)
	OnAcknowledgement(md RecordMetadata, err error)
	Close() error
}

// RecordMetadata is what a ProducerInterceptor learns about a sent record, as Kafka's
// RecordMetadata. When the send failed, Offset is -1 and Partition is -1 unless the record had
// already been given a partition.
type RecordMetadata struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp time.Time
	// KeySize and ValueSize are the record's key and value lengths in bytes (-1 for null).
	KeySize, ValueSize int
}

// ConsumerInterceptor sees records a [Consumer] returns and offsets it commits, as Kafka's
// ConsumerInterceptor (KIP-42) does.
//
// Contract:
//   - Configure is called once, when the consumer is built; an error fails NewConsumer.
//   - OnConsume is called on the goroutine that calls Poll, with the records about to be
//     returned. It may filter or change them and returns what the next interceptor (and then
//     the caller) gets. If it returns an error or panics, the error is logged and the records
//     it was given go on unchanged.
//   - OnCommit is called after offsets are committed successfully (automatically or by a
//     Commit method), with the offsets committed (the next offset to read per partition). It
//     may run on franz-go's commit goroutine and must be cheap.
//   - Close is called once, when the consumer is closed.
type ConsumerInterceptor interface {
	Configure(props Properties) error
	OnConsume(records []*kgo.Record) ([]*kgo.Record, error)
	OnCommit(offsets map[string]map[int32]kgo.EpochOffset)
	Close() error
}

// ProducerInterceptorFactory makes a new, unconfigured producer interceptor for the
// interceptor.classes property.
type ProducerInterceptorFactory func() ProducerInterceptor

// ConsumerInterceptorFactory makes a new, unconfigured consumer interceptor for the
// interceptor.classes property.
type ConsumerInterceptorFactory func() ConsumerInterceptor

var registry = struct {
	sync.RWMutex
	producers map[string]ProducerInterceptorFactory
	consumers map[string]ConsumerInterceptorFactory
}{
	producers: map[string]ProducerInterceptorFactory{},
	consumers: map[string]ConsumerInterceptorFactory{},
}

// RegisterProducerInterceptor makes a producer interceptor available by name to the
// interceptor.classes property, as a Java class name is in Kafka. Call it from an init
// function. A name can be registered once; a second registration is an error.
func RegisterProducerInterceptor(name string, factory ProducerInterceptorFactory) error {
	return register("RegisterProducerInterceptor", "producer", registry.producers, name, factory)
}

// RegisterConsumerInterceptor makes a consumer interceptor available by name to the
// interceptor.classes property. A name can be registered once.
func RegisterConsumerInterceptor(name string, factory ConsumerInterceptorFactory) error {
	return register("RegisterConsumerInterceptor", "consumer", registry.consumers, name, factory)
}

// register adds a factory of kind ("producer" or "consumer") to factories, a registry map,
// for the Register function named fn.
func register[F ~func() I, I any](fn, kind string, factories map[string]F, name string, factory F) error {
	if name == "" || factory == nil {
		return fmt.Errorf("client: %s: empty name or nil factory", fn)
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := factories[name]; dup {
		return fmt.Errorf("client: %s interceptor %q is already registered", kind, name)
	}
	factories[name] = factory
	return nil
}

func interceptorRegistered(role Role, name string) bool {
	registry.RLock()
	defer registry.RUnlock()
	if role == RoleProducer {
		return registry.producers[name] != nil
	}
	return registry.consumers[name] != nil
}

func registeredInterceptors(role Role) []string {
	registry.RLock()
	defer registry.RUnlock()
	var names []string
	if role == RoleProducer {
		names = slices.Sorted(maps.Keys(registry.producers))
	} else {
		names = slices.Sorted(maps.Keys(registry.consumers))
	}
	if len(names) == 0 {
		return []string{"none"}
	}
	return names
}

// lifecycle is what producer and consumer interceptors have in common.
type lifecycle interface {
	Configure(props Properties) error
	Close() error
}

// named carries an interceptor's name for log lines.
type named[I lifecycle] struct {
	name string
	ic   I
}

func interceptorName(v any) string { return fmt.Sprintf("%T", v) }

// chain holds interceptors of one kind ("producer" or "consumer") in order and logs their
// failures. It is immutable once built, so it needs no lock.
type chain[I lifecycle] struct {
	kind string
	ics  []named[I]
	log  *slog.Logger
}

// buildChain instantiates the interceptors registered under names in factories, appends the
// given ones, and configures all of them. On error every interceptor configured so far is
// closed.
func buildChain[I lifecycle, F ~func() I](kind string, factories map[string]F, names []string, extra []I, props Properties, log *slog.Logger) (chain[I], error) {
	c := chain[I]{kind: kind, log: log}
	for _, name := range names {
		registry.RLock()
		f := factories[name]
		registry.RUnlock()
		if f == nil {
			return c, fmt.Errorf("client: no %s interceptor named %q is registered", kind, name)
		}
		ic, err := callFactory(f)
		if err != nil || any(ic) == nil {
			return c, fmt.Errorf("client: %s interceptor %q: factory failed: %v", kind, name, orNil(err))
		}
		c.ics = append(c.ics, named[I]{name, ic})
	}
	for _, ic := range extra {
		if any(ic) == nil {
			return c, fmt.Errorf("client: nil %s interceptor", kind)
		}
		c.ics = append(c.ics, named[I]{interceptorName(ic), ic})
	}
	for i, n := range c.ics {
		if err := guard(func() error { return n.ic.Configure(props.Clone()) }); err != nil {
			c.closeFirst(i)
			return c, fmt.Errorf("client: %s interceptor %s: Configure: %w", kind, n.name, err)
		}
	}
	return c, nil
}

// closeFirst closes the first n interceptors, logging (not returning) each failure, as
// Kafka does.
func (c *chain[I]) closeFirst(n int) {
	for _, ic := range c.ics[:n] {
		if err := guard(ic.ic.Close); err != nil {
			c.log.Warn("client: "+c.kind+" interceptor Close failed", "interceptor", ic.name, "err", err)
		}
	}
}

// producerChain runs producer interceptors in order, isolating each one's errors and panics.
type producerChain struct{ chain[ProducerInterceptor] }

func buildProducerChain(names []string, extra []ProducerInterceptor, props Properties, log *slog.Logger) (*producerChain, error) {
	c, err := buildChain("producer", registry.producers, names, extra, props, log)
	if err != nil {
		return nil, err
	}
	return &producerChain{c}, nil
}

func orNil(err error) any {
	if err == nil {
		return "returned nil"
	}
	return err
}

func callFactory[T any](f func() T) (out T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f(), nil
}

// guard runs f and turns a panic into an error.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

func (c *producerChain) empty() bool { return c == nil || len(c.ics) == 0 }

// onSend runs OnSend through the chain and returns the record to send.
func (c *producerChain) onSend(r *kgo.Record) *kgo.Record {
	for _, n := range c.ics {
		out, err := c.sendOne(n.ic, r)
		if err != nil {
			c.log.Warn("client: producer interceptor OnSend failed; skipped", "interceptor", n.name, "topic", r.Topic, "err", err)
			continue
		}
		if out != nil {
			r = out
		}
	}
	return r
}

func (c *producerChain) sendOne(ic ProducerInterceptor, r *kgo.Record) (out *kgo.Record, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	return ic.OnSend(r)
}

// onAck builds the metadata once and hands it to each interceptor.
func (c *producerChain) onAck(r *kgo.Record, err error) {
	md := RecordMetadata{
		Topic:     r.Topic,
		Partition: r.Partition,
		Offset:    r.Offset,
		Timestamp: r.Timestamp,
		KeySize:   lenOrNull(r.Key),
		ValueSize: lenOrNull(r.Value),
	}
	if err != nil {
		md.Offset = -1
	}
	for _, n := range c.ics {
		if perr := ackOne(n.ic, md, err); perr != nil {
			c.log.Warn("client: producer interceptor OnAcknowledgement failed; skipped", "interceptor", n.name, "topic", r.Topic, "err", perr)
		}
	}
}

func lenOrNull(b []byte) int {
	if b == nil {
		return -1
	}
	return len(b)
}

func ackOne(ic ProducerInterceptor, md RecordMetadata, err error) (perr error) {
	defer func() {
		if p := recover(); p != nil {
			perr = fmt.Errorf("panic: %v", p)
		}
	}()
	ic.OnAcknowledgement(md, err)
	return nil
}

// close closes every interceptor, logging (not returning) each failure, as Kafka does.
func (c *producerChain) close() {
	if c != nil {
		c.closeFirst(len(c.ics))
	}
}

// consumerChain runs consumer interceptors in order, isolating each one's errors and panics.
type consumerChain struct{ chain[ConsumerInterceptor] }

func buildConsumerChain(names []string, extra []ConsumerInterceptor, props Properties, log *slog.Logger) (*consumerChain, error) {
	c, err := buildChain("consumer", registry.consumers, names, extra, props, log)
	if err != nil {
		return nil, err
	}
	return &consumerChain{c}, nil
}

func (c *consumerChain) empty() bool { return c == nil || len(c.ics) == 0 }

func (c *consumerChain) onConsume(rs []*kgo.Record) []*kgo.Record {
	for _, n := range c.ics {
		out, err := consumeOne(n.ic, rs)
		if err != nil {
			c.log.Warn("client: consumer interceptor OnConsume failed; skipped", "interceptor", n.name, "err", err)
			continue
		}
		rs = out
	}
	return rs
}

func consumeOne(ic ConsumerInterceptor, rs []*kgo.Record) (out []*kgo.Record, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	return ic.OnConsume(rs)
}

func (c *consumerChain) onCommit(offsets map[string]map[int32]kgo.EpochOffset) {
	if c.empty() || len(offsets) == 0 {
		return
	}
	for _, n := range c.ics {
		err := guard(func() error { n.ic.OnCommit(offsets); return nil })
		if err != nil {
			c.log.Warn("client: consumer interceptor OnCommit failed; skipped", "interceptor", n.name, "err", err)
		}
	}
}

func (c *consumerChain) close() {
	if c != nil {
		c.closeFirst(len(c.ics))
	}
}
