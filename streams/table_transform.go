package streams

import (
	"errors"
)

// prefixTableTransformValues names TransformValuesTable nodes, as Kafka
// Streams does.
const prefixTableTransformValues = "KTABLE-TRANSFORMVALUES-"

// ValueTransformer computes a table's new value from a key and value, with
// access to state stores (Kafka Streams' ValueTransformerWithKey). A new
// one is made for every task by its supplier; all calls for one task
// happen on one goroutine.
type ValueTransformer[K, V, VR any] interface {
	// Init is called once before the first value, with the stores
	// connected to the node (WithStores) and global stores.
	Init(stores StoreProvider) error
	// Transform returns the value for key's value. It is not called for
	// deletes: a deleted key stays deleted.
	Transform(key K, value V) (VR, error)
	// Close is called once when the task closes.
	Close() error
}

// ValueTransformerSupplier makes a new ValueTransformer for each task.
type ValueTransformerSupplier[K, V, VR any] func() ValueTransformer[K, V, VR]

func (WithStores) tableOpOption() {}

// TransformValuesTable maps each value of t with a transformer that may
// read and write state stores (Kafka Streams' KTable.transformValues).
// Options: a Named; WithStores connects stores (registered with
// AddStateStore) to the transformer; a Materialized keeps the result in a
// (queryable) store, which is also what a join with the result looks up
// (without one, such a join is refused at build time: looking a value up
// would run the transformer again). The transformer sees each update's new
// value and, where downstream needs it, the old one.
func TransformValuesTable[K, V, VR any](t *Table[K, V], supplier ValueTransformerSupplier[K, V, VR], opts ...TableOpOption) *Table[K, VR] {
	b := t.b
	o := parseTableOpOptions[K, VR](b, "table transform values", "a result", true, opts)
	named, stores, mat, materialized := o.named, o.stores, o.mat, o.materialized
	if supplier == nil {
		b.fail(errors.New("streams: table transform values: nil supplier"))
		return &Table[K, VR]{b: b, node: t.node, keySerde: t.keySerde}
	}
	name := b.nameOr(named, prefixTableTransformValues)
	store := resultStore(b, materialized, &mat, prefixTableTransformValues)
	AddProcessor(b, name, func() Processor[K, change[V], K, change[VR]] {
		return &tableTransformProc[K, V, VR]{tr: supplier(), store: store}
	}, t.node)
	if len(stores) > 0 {
		ConnectStores(b, name, stores...)
	}
	out := &Table[K, VR]{b: b, node: name, keySerde: t.keySerde}
	if store != "" {
		out.valueSerde = keepResult(out, mat).valueSerde
	}
	return out
}

type tableTransformProc[K, V, VR any] struct {
	tableOutput[K, VR]
	tr    ValueTransformer[K, V, VR]
	store string
	// sendOld: a processor downstream reads old values, so an
	// unmaterialized transform computes them.
	sendOld bool
}

func (p *tableTransformProc[K, V, VR]) Init(ctx ProcessorContext[K, change[VR]]) error {
	p.ctx = ctx
	p.sendOld = sendsOldValues(ctx)
	if p.tr == nil {
		return errors.New("streams: table transform values: the supplier returned nil")
	}
	if err := p.open(ctx, p.store); err != nil {
		return err
	}
	return p.tr.Init(ctx)
}

func (p *tableTransformProc[K, V, VR]) Close() error {
	if p.tr == nil {
		return nil
	}
	return p.tr.Close()
}

func (p *tableTransformProc[K, V, VR]) Process(r Record[K, change[V]]) error {
	c := r.Value
	var out change[VR]
	var err error
	if c.hasNew {
		if out.newV, err = p.tr.Transform(r.Key, c.newV); err != nil {
			return err
		}
		out.hasNew = true
	}
	if p.s != nil {
		// The store holds what was sent before: that is the old value.
		if cached, err := p.putChange(r.Key, r.Timestamp, &out); err != nil || cached {
			return err
		}
	} else if !p.sendOld {
		// As Kafka Streams' KTableTransformValues without sendOldValues:
		// the transformer sees each update once, and the change goes on
		// with its new side only (a delete as a change with neither side,
		// since upstream need not have sent the old value either).
		return p.ctx.Forward(rekey(r, r.Key, out, true, false))
	} else if c.hasOld {
		if out.oldV, err = p.tr.Transform(r.Key, c.oldV); err != nil {
			return err
		}
		out.hasOld = true
	}
	if !out.hasNew && !out.hasOld {
		return nil // a delete of a key that had no value: nothing changed
	}
	return p.ctx.Forward(rekey(r, r.Key, out, true, false))
}
