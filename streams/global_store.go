package streams

import (
	"errors"
	"fmt"
)

// globalizer is a store factory that can be made global (its topic is its
// changelog; it is not logged).
type globalizer interface{ makeGlobal() }

func (f *kvFactory[K, V]) makeGlobal() { f.global, f.logging = true, false }

// AddGlobalStore adds a global store kept up to date by a custom processor
// (Kafka Streams' StreamsBuilder.addGlobalStore): every instance reads
// every partition of topic and hands each record to a processor made by
// supplier, which writes the store (GetKeyValueStore(ctx, name)). The store
// is not logged: the topic is its changelog, and on start the global
// thread replays the topic from the store's checkpoint through the
// processor, so what the store holds is always what the processor made of
// the topic. The processor has no children (its forwards go nowhere).
// Stream processors read the store by name, as any global store. Only
// key-value stores (NewKeyValueStoreBuilder) can be global.
func AddGlobalStore[K, V any](b *Builder, store StoreBuilder, topic string, consumed Consumed[K, V], supplier ProcessorSupplier[K, V, K, V]) {
	if store == nil || supplier == nil {
		b.fail(errors.New("streams: add global store: nil store builder or supplier"))
		return
	}
	f := store.factory()
	g, ok := f.(globalizer)
	if !ok {
		b.fail(fmt.Errorf("streams: add global store %q: only key-value stores can be global", f.spec().Name))
		return
	}
	g.makeGlobal()
	c := consumed
	srcName := b.nameOr(c.name, prefixSource)
	procName := b.newName(prefixProcessor)
	src := &sourceFactory[K, V]{keySerde: c.keySerde, valueSerde: c.valueSerde, extractor: c.extractor, reset: OffsetResetEarliest}
	proc := &processorFactory[K, V, K, V]{supplier: supplier}
	spec := f.spec()
	if err := b.t.AddGlobalStore(spec, srcName, src, topic, procName, proc); err != nil {
		b.fail(err)
		return
	}
	b.stores[spec.Name] = f
}
