package streams

import (
	"maps"
	"time"
)

// Named names the node an operation adds (instead of the generated
// "KSTREAM-FILTER-0000000003"-style name), as Kafka Streams' Named.
type Named string

// OffsetReset says where a source starts when its group has no committed
// offset (auto.offset.reset).
type OffsetReset uint8

const (
	// OffsetResetDefault uses the application's auto.offset.reset
	// (earliest unless set, as Kafka Streams).
	OffsetResetDefault OffsetReset = iota
	// OffsetResetEarliest starts at the first offset.
	OffsetResetEarliest
	// OffsetResetLatest starts at the end.
	OffsetResetLatest
)

// Consumed configures a source: serdes, a typed timestamp extractor, the
// offset reset policy and a name. The zero value uses the default serdes
// for K and V (see DefaultSerde).
type Consumed[K, V any] struct {
	keySerde   Serde[K]
	valueSerde Serde[V]
	extractor  func(rec Record[K, V], partitionTime int64) (int64, error)
	reset      OffsetReset
	name       string
}

// ConsumedWith returns a Consumed with the given serdes (nil for default).
func ConsumedWith[K, V any](keySerde Serde[K], valueSerde Serde[V]) Consumed[K, V] {
	return Consumed[K, V]{keySerde: keySerde, valueSerde: valueSerde}
}

// WithName names the source node.
func (c Consumed[K, V]) WithName(name string) Consumed[K, V] { c.name = name; return c }

// WithOffsetReset sets where to start without a committed offset.
func (c Consumed[K, V]) WithOffsetReset(r OffsetReset) Consumed[K, V] { c.reset = r; return c }

// WithTimestampExtractor sets a typed timestamp extractor for this source:
// fn gets the deserialized record (Timestamp holds the record's own
// timestamp) and the partition time, and returns the timestamp to use; a
// negative result drops the record.
func (c Consumed[K, V]) WithTimestampExtractor(fn func(rec Record[K, V], partitionTime int64) (int64, error)) Consumed[K, V] {
	c.extractor = fn
	return c
}

// Produced configures a sink: serdes, a partitioner and a name.
type Produced[K, V any] struct {
	keySerde    Serde[K]
	valueSerde  Serde[V]
	partitioner StreamPartitioner[K, V]
	multicast   MulticastPartitioner[K, V]
	name        string
}

// ProducedWith returns a Produced with the given serdes (nil for default).
func ProducedWith[K, V any](keySerde Serde[K], valueSerde Serde[V]) Produced[K, V] {
	return Produced[K, V]{keySerde: keySerde, valueSerde: valueSerde}
}

// WithName names the sink node.
func (p Produced[K, V]) WithName(name string) Produced[K, V] { p.name = name; return p }

// WithPartitioner sets the partitioner of the sink (replacing a
// multicast partitioner).
func (p Produced[K, V]) WithPartitioner(fn StreamPartitioner[K, V]) Produced[K, V] {
	p.partitioner, p.multicast = fn, nil
	return p
}

// WithMulticastPartitioner sets a partitioner that may send each record to
// several partitions of the sink's topic, or to none (Kafka Streams'
// StreamPartitioner.partitions, KIP-837). It replaces WithPartitioner.
func (p Produced[K, V]) WithMulticastPartitioner(fn MulticastPartitioner[K, V]) Produced[K, V] {
	p.partitioner, p.multicast = nil, fn
	return p
}

// Grouped configures a grouping: the serdes of the repartition topic it may
// need and the name that topic is built from ("<name>-repartition").
type Grouped[K, V any] struct {
	keySerde   Serde[K]
	valueSerde Serde[V]
	name       string
}

// GroupedWith returns a Grouped with the given serdes (nil for default).
func GroupedWith[K, V any](keySerde Serde[K], valueSerde Serde[V]) Grouped[K, V] {
	return Grouped[K, V]{keySerde: keySerde, valueSerde: valueSerde}
}

// GroupedAs returns a Grouped with a name.
func GroupedAs[K, V any](name string) Grouped[K, V] { return Grouped[K, V]{name: name} }

// WithName sets the name the repartition topic and its nodes are named from.
func (g Grouped[K, V]) WithName(name string) Grouped[K, V] { g.name = name; return g }

// Repartitioned configures an explicit repartition: the topic's name
// ("<name>-repartition"), partition count, serdes and partitioner.
type Repartitioned[K, V any] struct {
	keySerde    Serde[K]
	valueSerde  Serde[V]
	name        string
	partitions  int32
	partitioner StreamPartitioner[K, V]
}

// RepartitionedWith returns a Repartitioned with the given serdes.
func RepartitionedWith[K, V any](keySerde Serde[K], valueSerde Serde[V]) Repartitioned[K, V] {
	return Repartitioned[K, V]{keySerde: keySerde, valueSerde: valueSerde}
}

// RepartitionedAs returns a Repartitioned with a name.
func RepartitionedAs[K, V any](name string) Repartitioned[K, V] {
	return Repartitioned[K, V]{name: name}
}

// WithName names the topic ("<name>-repartition") and nodes.
func (r Repartitioned[K, V]) WithName(name string) Repartitioned[K, V] { r.name = name; return r }

// WithPartitions fixes the topic's partition count (default: as the
// upstream source topics).
func (r Repartitioned[K, V]) WithPartitions(n int32) Repartitioned[K, V] { r.partitions = n; return r }

// WithPartitioner sets how records are spread over the topic's partitions.
func (r Repartitioned[K, V]) WithPartitioner(fn StreamPartitioner[K, V]) Repartitioned[K, V] {
	r.partitioner = fn
	return r
}

// StoreType picks the implementation behind a store.
type StoreType uint8

const (
	// PersistentStore keeps state on disk (Badger) under state.dir, the
	// default, as Kafka Streams' RocksDB stores.
	PersistentStore StoreType = iota
	// InMemoryStore keeps state in memory; it is restored from its
	// changelog from the beginning on every start.
	InMemoryStore
)

// Materialized configures the store behind a table or aggregation: its name
// (which makes it queryable and names its changelog), serdes, caching,
// logging and type. The zero value means: generated name, default serdes,
// caching and logging on, persistent.
type Materialized[K, V any] struct {
	name       string
	keySerde   Serde[K]
	valueSerde Serde[V]
	noCache    bool
	noLog      bool
	logConfig  map[string]string
	storeType  StoreType
	// retention is how long a window or session store keeps windows (see
	// WithRetention in window.go); 0 means window size plus grace.
	retention time.Duration
	// history is a versioned store's history retention (WithVersioning in
	// versioned.go); 0 means not versioned.
	history time.Duration
}

// MaterializedAs returns a Materialized naming the store.
func MaterializedAs[K, V any](storeName string) Materialized[K, V] {
	return Materialized[K, V]{name: storeName}
}

// MaterializedWith returns a Materialized with the given serdes.
func MaterializedWith[K, V any](keySerde Serde[K], valueSerde Serde[V]) Materialized[K, V] {
	return Materialized[K, V]{keySerde: keySerde, valueSerde: valueSerde}
}

// WithStoreName names the store.
func (m Materialized[K, V]) WithStoreName(name string) Materialized[K, V] { m.name = name; return m }

// WithKeySerde sets the key serde.
func (m Materialized[K, V]) WithKeySerde(s Serde[K]) Materialized[K, V] { m.keySerde = s; return m }

// WithValueSerde sets the value serde.
func (m Materialized[K, V]) WithValueSerde(s Serde[V]) Materialized[K, V] { m.valueSerde = s; return m }

// WithCachingDisabled forwards every update downstream instead of folding
// updates of a key in the record cache until the next commit.
func (m Materialized[K, V]) WithCachingDisabled() Materialized[K, V] { m.noCache = true; return m }

// WithCachingEnabled turns caching back on (the default).
func (m Materialized[K, V]) WithCachingEnabled() Materialized[K, V] { m.noCache = false; return m }

// WithLoggingDisabled turns the changelog off: the store is not restored
// after a failure or when its task moves.
func (m Materialized[K, V]) WithLoggingDisabled() Materialized[K, V] { m.noLog = true; return m }

// WithLoggingEnabled turns the changelog on (the default), with extra topic
// configs for it.
func (m Materialized[K, V]) WithLoggingEnabled(topicConfig map[string]string) Materialized[K, V] {
	m.noLog = false
	m.logConfig = maps.Clone(topicConfig)
	return m
}

// WithStoreType picks persistent (default) or in-memory.
func (m Materialized[K, V]) WithStoreType(t StoreType) Materialized[K, V] { m.storeType = t; return m }

func firstOr[T any](opts []T) T {
	var zero T
	if len(opts) > 0 {
		return opts[0]
	}
	return zero
}

func nameOr(opts []Named) string {
	if len(opts) > 0 {
		return string(opts[0])
	}
	return ""
}
