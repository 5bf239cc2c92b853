package streams

import "errors"

// prefixProcessValues names ProcessValues nodes, as Kafka Streams does.
const prefixProcessValues = "KSTREAM-PROCESSVALUES-"

// ErrKeyFixed is returned by the context of a ProcessValues processor when
// it forwards outside Process (in a punctuation): the record has no input
// whose key it could keep.
var ErrKeyFixed = errors.New("streams: a ProcessValues processor forwards only while processing a record (its key is fixed)")

// ProcessValues adds a custom processor that may change values but not keys
// (Kafka Streams' KStream.processValues with a FixedKeyProcessor). Every
// record the processor forwards while processing a record carries that
// record's key (and key nullness), whatever key it was given, so the
// stream keeps its partitioning: a grouping or join after ProcessValues
// needs no repartition topic (after Process it always does). Forwarding
// from a punctuation fails with ErrKeyFixed. Options: a Named, WithStores.
//
// The processor gets every record, tombstones included (Record.ValueIsNull
// says which).
func ProcessValues[K, V, VR any](s *Stream[K, V], supplier ProcessorSupplier[K, V, K, VR], opts ...ProcessOption) *Stream[K, VR] {
	var o processOptions
	for _, opt := range opts {
		opt.applyProcess(&o)
	}
	if supplier == nil {
		s.b.fail(errors.New("streams: process values: nil supplier"))
		return &Stream[K, VR]{b: s.b, node: s.node, keySerde: s.keySerde}
	}
	name := s.b.nameOr(o.name, prefixProcessValues)
	AddProcessor(s.b, name, func() Processor[K, V, K, VR] {
		return &fixedKeyProc[K, V, VR]{inner: supplier()}
	}, s.node)
	if len(o.stores) > 0 {
		ConnectStores(s.b, name, o.stores...)
	}
	return &Stream[K, VR]{b: s.b, node: name, keySerde: s.keySerde, repartition: s.repartition}
}

// fixedKeyProc runs a user processor with a context that keeps the key of
// the record being processed.
type fixedKeyProc[K, V, VR any] struct {
	inner Processor[K, V, K, VR]
	ctx   fixedKeyCtx[K, VR]
}

func (p *fixedKeyProc[K, V, VR]) Init(ctx ProcessorContext[K, VR]) error {
	if p.inner == nil {
		return errors.New("streams: process values: the supplier returned nil")
	}
	p.ctx.ProcessorContext = ctx
	return p.inner.Init(&p.ctx)
}

func (p *fixedKeyProc[K, V, VR]) Process(r Record[K, V]) error {
	p.ctx.key, p.ctx.keyNull, p.ctx.active = r.Key, r.KeyIsNull(), true
	err := p.inner.Process(r)
	var zero K
	p.ctx.key, p.ctx.active = zero, false
	return err
}

func (p *fixedKeyProc[K, V, VR]) Close() error {
	if p.inner == nil {
		return nil
	}
	return p.inner.Close()
}

type fixedKeyCtx[K, VR any] struct {
	ProcessorContext[K, VR]
	key     K
	keyNull bool
	active  bool
}

func (c *fixedKeyCtx[K, VR]) Forward(rec Record[K, VR], children ...string) error {
	if !c.active {
		return ErrKeyFixed
	}
	rec.Key = c.key
	if c.keyNull {
		rec.flags |= flagNullKey
	} else {
		rec.flags &^= flagNullKey
	}
	return c.ProcessorContext.Forward(rec, children...)
}

// taskOf keeps the task reachable for DSL helpers (dropped-record counts).
func (c *fixedKeyCtx[K, VR]) taskOf() *streamTask {
	if n, ok := c.ProcessorContext.(interface{ taskOf() *streamTask }); ok {
		return n.taskOf()
	}
	return nil
}
