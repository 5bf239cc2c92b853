package client

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
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
	if name == "" || factory == nil {
		return errors.New("client: RegisterProducerInterceptor: empty name or nil factory")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.producers[name]; dup {
		return fmt.Errorf("client: producer interceptor %q is already registered", name)
	}
	registry.producers[name] = factory
	return nil
}

// RegisterConsumerInterceptor makes a consumer interceptor available by name to the
// interceptor.classes property. A name can be registered once.
func RegisterConsumerInterceptor(name string, factory ConsumerInterceptorFactory) error {
	if name == "" || factory == nil {
		return errors.New("client: RegisterConsumerInterceptor: empty name or nil factory")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.consumers[name]; dup {
		return fmt.Errorf("client: consumer interceptor %q is already registered", name)
	}
	registry.consumers[name] = factory
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
		for n := range registry.producers {
			names = append(names, n)
		}
	} else {
		for n := range registry.consumers {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return []string{"none"}
	}
	return names
}

// namedProducer and namedConsumer carry a name for log lines.
type namedProducer struct {
	name string
	ic   ProducerInterceptor
}

type namedConsumer struct {
	name string
	ic   ConsumerInterceptor
}

func interceptorName(v any) string { return fmt.Sprintf("%T", v) }

// producerChain runs producer interceptors in order, isolating each one's errors and panics.
// It is immutable once built, so it needs no lock.
type producerChain struct {
	ics []namedProducer
	log *slog.Logger
}

// buildProducerChain instantiates the named interceptors, appends the given ones, and
// configures all of them. On error every interceptor configured so far is closed.
func buildProducerChain(names []string, extra []ProducerInterceptor, props Properties, log *slog.Logger) (*producerChain, error) {
	c := &producerChain{log: log}
	for _, name := range names {
		registry.RLock()
		f := registry.producers[name]
		registry.RUnlock()
		if f == nil {
			return nil, fmt.Errorf("client: no producer interceptor named %q is registered", name)
		}
		ic, err := callFactory(func() ProducerInterceptor { return f() })
		if err != nil || ic == nil {
			return nil, fmt.Errorf("client: producer interceptor %q: factory failed: %v", name, orNil(err))
		}
		c.ics = append(c.ics, namedProducer{name, ic})
	}
	for _, ic := range extra {
		if ic == nil {
			return nil, errors.New("client: nil producer interceptor")
		}
		c.ics = append(c.ics, namedProducer{interceptorName(ic), ic})
	}
	for i, n := range c.ics {
		if err := guard(func() error { return n.ic.Configure(props.Clone()) }); err != nil {
			c.closeFirst(i)
			return nil, fmt.Errorf("client: producer interceptor %s: Configure: %w", n.name, err)
		}
	}
	return c, nil
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
	if c == nil {
		return
	}
	c.closeFirst(len(c.ics))
}

func (c *producerChain) closeFirst(n int) {
	for _, ic := range c.ics[:n] {
		if err := guard(ic.ic.Close); err != nil {
			c.log.Warn("client: producer interceptor Close failed", "interceptor", ic.name, "err", err)
		}
	}
}

// consumerChain runs consumer interceptors in order, isolating each one's errors and panics.
type consumerChain struct {
	ics []namedConsumer
	log *slog.Logger
}

func buildConsumerChain(names []string, extra []ConsumerInterceptor, props Properties, log *slog.Logger) (*consumerChain, error) {
	c := &consumerChain{log: log}
	for _, name := range names {
		registry.RLock()
		f := registry.consumers[name]
		registry.RUnlock()
		if f == nil {
			return nil, fmt.Errorf("client: no consumer interceptor named %q is registered", name)
		}
		ic, err := callFactory(func() ConsumerInterceptor { return f() })
		if err != nil || ic == nil {
			return nil, fmt.Errorf("client: consumer interceptor %q: factory failed: %v", name, orNil(err))
		}
		c.ics = append(c.ics, namedConsumer{name, ic})
	}
	for _, ic := range extra {
		if ic == nil {
			return nil, errors.New("client: nil consumer interceptor")
		}
		c.ics = append(c.ics, namedConsumer{interceptorName(ic), ic})
	}
	for i, n := range c.ics {
		if err := guard(func() error { return n.ic.Configure(props.Clone()) }); err != nil {
			c.closeFirst(i)
			return nil, fmt.Errorf("client: consumer interceptor %s: Configure: %w", n.name, err)
		}
	}
	return c, nil
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
	if c == nil {
		return
	}
	c.closeFirst(len(c.ics))
}

func (c *consumerChain) closeFirst(n int) {
	for _, ic := range c.ics[:n] {
		if err := guard(ic.ic.Close); err != nil {
			c.log.Warn("client: consumer interceptor Close failed", "interceptor", ic.name, "err", err)
		}
	}
}
