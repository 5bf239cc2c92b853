package streams

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/rivulet-io/rivulet/topology"
)

// Node name prefixes, as Kafka Streams generates them.
const (
	prefixSource        = "KSTREAM-SOURCE-"
	prefixSink          = "KSTREAM-SINK-"
	prefixFilter        = "KSTREAM-FILTER-"
	prefixPeek          = "KSTREAM-PEEK-"
	prefixForeach       = "KSTREAM-FOREACH-"
	prefixMap           = "KSTREAM-MAP-"
	prefixMapValues     = "KSTREAM-MAPVALUES-"
	prefixFlatMap       = "KSTREAM-FLATMAP-"
	prefixFlatMapValues = "KSTREAM-FLATMAPVALUES-"
	prefixKeySelect     = "KSTREAM-KEY-SELECT-"
	prefixMerge         = "KSTREAM-MERGE-"
	prefixBranch        = "KSTREAM-BRANCH-"
	prefixProcessor     = "KSTREAM-PROCESSOR-"
	prefixRepartition   = "KSTREAM-REPARTITION-"
	prefixToTable       = "KSTREAM-TOTABLE-"
	prefixAggregate     = "KSTREAM-AGGREGATE-"
	prefixReduce        = "KSTREAM-REDUCE-"
	prefixTableSource   = "KTABLE-SOURCE-"
	prefixTableFilter   = "KTABLE-FILTER-"
	prefixTableMapVal   = "KTABLE-MAPVALUES-"
	prefixTableToStream = "KTABLE-TOSTREAM-"
	prefixTableSelect   = "KTABLE-SELECT-"
	prefixTableAgg      = "KTABLE-AGGREGATE-"
	prefixTableReduce   = "KTABLE-REDUCE-"
	storeSuffix         = "-STATE-STORE-"
)

// Builder builds a topology with the typed DSL (Kafka Streams'
// StreamsBuilder). Start with NewStream, NewTable or NewGlobalTable, chain
// operators, then call Build. Mistakes (a duplicate name, an unknown store)
// are collected and returned by Build, so chains need no error checks.
//
// A Builder is not safe for concurrent use.
type Builder struct {
	t      *topology.Topology
	index  int
	errs   []error
	stores map[string]storeFactory
	built  bool
	// nullKeyFilters are the filters in front of repartition topics, by node name, and
	// whether each passes null keys (decided by Build); nullKeyJoins are the joins that
	// emit null-key records (left and outer joins, KIP-962).
	nullKeyFilters map[string]*bool
	nullKeyJoins   map[string]bool
}

// NewBuilder returns an empty builder. It builds with the DSL (NewStream,
// NewTable, ...) and, for graphs the DSL cannot express, node by node with
// AddSource, AddProcessor, AddSink and AddStateStore (Kafka Streams'
// Topology); the two mix. Finish with Build.
func NewBuilder() *Builder {
	return &Builder{t: topology.New(), stores: make(map[string]storeFactory),
		nullKeyFilters: make(map[string]*bool), nullKeyJoins: make(map[string]bool)}
}

func (b *Builder) newName(prefix string) string {
	s := fmt.Sprintf("%s%010d", prefix, b.index)
	b.index++
	return s
}

func (b *Builder) nameOr(given, prefix string) string {
	if given != "" {
		return given
	}
	return b.newName(prefix)
}

func (b *Builder) fail(err error) {
	if err != nil {
		b.errs = append(b.errs, err)
	}
}

// Build checks the topology and returns it ready to run. Each Build returns
// the same topology; keep using the builder only before the first Build.
func (b *Builder) Build() (*Topology, error) {
	b.checkVersioning()
	if len(b.errs) > 0 {
		return nil, fmt.Errorf("streams: build: %w", errors.Join(b.errs...))
	}
	if err := b.t.Validate(); err != nil {
		return nil, fmt.Errorf("streams: build: %w", err)
	}
	for filter, keep := range b.nullKeyFilters {
		*keep = b.reachesNullKeyJoin(filter)
	}
	b.built = true
	return newTopology(b.t, b.stores), nil
}

// Topology is a built topology ready to run (streams.New) or to test
// (streamstest.New). It wraps the pure graph model of package topology.
// A Topology is read-only and safe to share.
type Topology struct {
	t      *topology.Topology
	subs   []topology.Subtopology
	stores map[string]storeFactory
	// names is t bound to the application id that runs it (bind): the
	// broker names of internal topics. Nil until bound.
	names *topology.Bound
}

// bind returns t bound to applicationID: a copy sharing everything but the
// binding, so one built topology may run under several application ids.
func (t *Topology) bind(applicationID string) *Topology {
	if t.names != nil && t.names.ApplicationID() == applicationID {
		return t
	}
	c := *t
	c.names = t.t.Bind(applicationID)
	return &c
}

func newTopology(t *topology.Topology, stores map[string]storeFactory) *Topology {
	return &Topology{t: t, subs: t.Subtopologies(), stores: stores}
}

// Describe describes the topology; its String prints it as Kafka Streams'
// TopologyDescription does.
func (t *Topology) Describe() topology.Description { return t.t.Describe() }

// Graph returns the underlying graph model. Do not modify it.
func (t *Topology) Graph() *topology.Topology { return t.t }

// Subtopologies returns the sub-topologies (including global ones).
func (t *Topology) Subtopologies() []topology.Subtopology { return t.subs }

// ---- the processor-API way to build a topology (on a NewBuilder) ----

// AddSource adds a source node reading topics with the given serdes.
func AddSource[K, V any](b *Builder, name string, consumed Consumed[K, V], topics ...string) {
	f := &sourceFactory[K, V]{keySerde: consumed.keySerde, valueSerde: consumed.valueSerde, extractor: consumed.extractor, reset: consumed.reset}
	b.fail(b.t.AddSource(name, f, topics...))
}

// AddProcessor adds a processor node receiving from parents.
func AddProcessor[KIn, VIn, KOut, VOut any](b *Builder, name string, supplier ProcessorSupplier[KIn, VIn, KOut, VOut], parents ...string) {
	if supplier == nil {
		b.fail(fmt.Errorf("streams: processor %q: nil supplier", name))
		return
	}
	b.fail(b.t.AddProcessor(name, &processorFactory[KIn, VIn, KOut, VOut]{supplier: supplier}, parents...))
}

// AddSink adds a sink node writing to topic.
func AddSink[K, V any](b *Builder, name, topic string, produced Produced[K, V], parents ...string) {
	f := &sinkFactory[K, V]{topic: topic, keySerde: produced.keySerde, valueSerde: produced.valueSerde, partitioner: produced.partitioner, multicast: produced.multicast}
	b.fail(b.t.AddSink(name, topic, f, parents...))
}

// AddStateStore registers a store built with KeyValueStoreBuilder and
// connects it to processors (more can be connected with ConnectStores).
func AddStateStore(b *Builder, store StoreBuilder, processors ...string) {
	if store == nil {
		b.fail(errors.New("streams: add state store: nil store builder"))
		return
	}
	addStoreFactory(b, store.factory(), processors...)
}

// ConnectStores gives a processor access to registered stores.
func ConnectStores(b *Builder, processor string, stores ...string) {
	b.fail(b.t.ConnectStores(processor, stores...))
}

// ---- streams ----

// Stream is an unbounded sequence of records (Kafka Streams' KStream).
// Operators that keep the types are methods; those that change them are
// functions of this package (Map, MapValues, FlatMap, ...).
type Stream[K, V any] struct {
	b          *Builder
	node       string
	keySerde   Serde[K]
	valueSerde Serde[V]
	// repartition is set after an operation that may have changed the key:
	// a following grouping or join goes through a repartition topic.
	repartition bool
}

// NewStream returns the stream of records of topic.
func NewStream[K, V any](b *Builder, topic string, consumed ...Consumed[K, V]) *Stream[K, V] {
	return NewStreamTopics(b, []string{topic}, consumed...)
}

// NewStreamTopics returns the stream of records of several topics.
func NewStreamTopics[K, V any](b *Builder, topics []string, consumed ...Consumed[K, V]) *Stream[K, V] {
	c := firstOr(consumed)
	name := b.nameOr(c.name, prefixSource)
	AddSource(b, name, c, topics...)
	return &Stream[K, V]{b: b, node: name, keySerde: c.keySerde, valueSerde: c.valueSerde}
}

// NewStreamPattern returns the stream of records of every topic whose whole
// name matches pattern, including topics created later.
func NewStreamPattern[K, V any](b *Builder, pattern *regexp.Regexp, consumed ...Consumed[K, V]) *Stream[K, V] {
	c := firstOr(consumed)
	name := b.nameOr(c.name, prefixSource)
	f := &sourceFactory[K, V]{keySerde: c.keySerde, valueSerde: c.valueSerde, extractor: c.extractor, reset: c.reset}
	b.fail(b.t.AddSourcePattern(name, f, pattern))
	return &Stream[K, V]{b: b, node: name, keySerde: c.keySerde, valueSerde: c.valueSerde}
}

// Node returns the name of the node whose output this stream is.
func (s *Stream[K, V]) Node() string { return s.node }

// derive adds a processor after s and returns its output stream.
func derive[K, V, KR, VR any](s *Stream[K, V], prefix string, named []Named, supplier ProcessorSupplier[K, V, KR, VR], ks Serde[KR], vs Serde[VR], repartition bool) *Stream[KR, VR] {
	name := s.b.nameOr(nameOr(named), prefix)
	AddProcessor(s.b, name, supplier, s.node)
	return &Stream[KR, VR]{b: s.b, node: name, keySerde: ks, valueSerde: vs, repartition: repartition}
}

// statelessProc is the base of the DSL's stateless processors.
type statelessProc[KOut, VOut any] struct {
	ctx ProcessorContext[KOut, VOut]
	// task counts the tombstones a key-changing operator drops (nil when
	// the context is not the runtime's).
	task *streamTask
}

func (p *statelessProc[KOut, VOut]) Init(ctx ProcessorContext[KOut, VOut]) error {
	p.ctx = ctx
	if n, ok := ctx.(interface{ taskOf() *streamTask }); ok {
		p.task = n.taskOf()
	}
	return nil
}
func (p *statelessProc[KOut, VOut]) Close() error { return nil }

type filterProc[K, V any] struct {
	statelessProc[K, V]
	pred func(K, V) bool
	not  bool
}

func (p *filterProc[K, V]) Process(r Record[K, V]) error {
	if r.ValueIsNull() || p.pred(r.Key, r.Value) != p.not {
		return p.ctx.Forward(r)
	}
	return nil
}

// Filter keeps the records for which pred is true. A tombstone passes
// without calling pred; FilterNullable decides on tombstones too.
func (s *Stream[K, V]) Filter(pred func(key K, value V) bool, named ...Named) *Stream[K, V] {
	return derive(s, prefixFilter, named, func() Processor[K, V, K, V] { return &filterProc[K, V]{pred: pred} }, s.keySerde, s.valueSerde, s.repartition)
}

// FilterNot drops the records for which pred is true. A tombstone passes
// without calling pred; FilterNotNullable decides on tombstones too.
func (s *Stream[K, V]) FilterNot(pred func(key K, value V) bool, named ...Named) *Stream[K, V] {
	return derive(s, prefixFilter, named, func() Processor[K, V, K, V] { return &filterProc[K, V]{pred: pred, not: true} }, s.keySerde, s.valueSerde, s.repartition)
}

type peekProc[K, V any] struct {
	statelessProc[K, V]
	fn       func(K, V)
	terminal bool
}

func (p *peekProc[K, V]) Process(r Record[K, V]) error {
	if !r.ValueIsNull() {
		p.fn(r.Key, r.Value)
	}
	if p.terminal {
		return nil
	}
	return p.ctx.Forward(r)
}

// Peek calls fn for every record and passes the record on unchanged.
// Tombstones pass without calling fn; PeekNullable sees them too.
func (s *Stream[K, V]) Peek(fn func(key K, value V), named ...Named) *Stream[K, V] {
	return derive(s, prefixPeek, named, func() Processor[K, V, K, V] { return &peekProc[K, V]{fn: fn} }, s.keySerde, s.valueSerde, s.repartition)
}

// Foreach calls fn for every record; it ends the stream. Tombstones are
// not given to fn; ForeachNullable sees them too.
func (s *Stream[K, V]) Foreach(fn func(key K, value V), named ...Named) {
	derive(s, prefixForeach, named, func() Processor[K, V, K, V] { return &peekProc[K, V]{fn: fn, terminal: true} }, s.keySerde, s.valueSerde, false)
}

type mapProc[K, V, KR, VR any] struct {
	statelessProc[KR, VR]
	fn func(K, V) (KR, VR)
}

func (p *mapProc[K, V, KR, VR]) Process(r Record[K, V]) error {
	if r.ValueIsNull() {
		p.dropTombstone("map")
		return nil
	}
	k, v := p.fn(r.Key, r.Value)
	return p.ctx.Forward(rekey(r, k, v, false, false))
}

// Map replaces each record's key and value. The key may change, so a
// following grouping or join repartitions. A tombstone is dropped without
// calling fn (its new key cannot be computed without a value) and counted
// as a dropped record; MapNullable maps tombstones too.
func Map[K, V, KR, VR any](s *Stream[K, V], fn func(key K, value V) (KR, VR), named ...Named) *Stream[KR, VR] {
	return derive(s, prefixMap, named, func() Processor[K, V, KR, VR] { return &mapProc[K, V, KR, VR]{fn: fn} }, nil, nil, true)
}

type mapValuesProc[K, V, VR any] struct {
	statelessProc[K, VR]
	fn func(K, V) VR
}

func (p *mapValuesProc[K, V, VR]) Process(r Record[K, V]) error {
	if r.ValueIsNull() {
		return p.ctx.Forward(nullOf[VR](r))
	}
	return p.ctx.Forward(rekey(r, r.Key, p.fn(r.Key, r.Value), true, false))
}

// MapValues replaces each record's value; fn sees the key read-only, so no
// repartition is needed afterwards. A tombstone stays a tombstone without
// calling fn; MapValuesNullable sees tombstones and may make them.
func MapValues[K, V, VR any](s *Stream[K, V], fn func(key K, value V) VR, named ...Named) *Stream[K, VR] {
	return derive(s, prefixMapValues, named, func() Processor[K, V, K, VR] { return &mapValuesProc[K, V, VR]{fn: fn} }, s.keySerde, nil, s.repartition)
}

type flatMapProc[K, V, KR, VR any] struct {
	statelessProc[KR, VR]
	fn func(K, V) []KeyValue[KR, VR]
}

func (p *flatMapProc[K, V, KR, VR]) Process(r Record[K, V]) error {
	if r.ValueIsNull() {
		p.dropTombstone("flatMap")
		return nil
	}
	for _, kv := range p.fn(r.Key, r.Value) {
		if err := p.ctx.Forward(rekey(r, kv.Key, kv.Value, false, false)); err != nil {
			return err
		}
	}
	return nil
}

// KeyValue is a key and a value.
type KeyValue[K, V any] struct {
	Key   K
	Value V
}

// KV returns a KeyValue.
func KV[K, V any](key K, value V) KeyValue[K, V] { return KeyValue[K, V]{Key: key, Value: value} }

// FlatMap turns each record into zero or more records with new keys and
// values. A tombstone is dropped without calling fn and counted as a
// dropped record; FlatMapNullable sees tombstones too.
func FlatMap[K, V, KR, VR any](s *Stream[K, V], fn func(key K, value V) []KeyValue[KR, VR], named ...Named) *Stream[KR, VR] {
	return derive(s, prefixFlatMap, named, func() Processor[K, V, KR, VR] { return &flatMapProc[K, V, KR, VR]{fn: fn} }, nil, nil, true)
}

type flatMapValuesProc[K, V, VR any] struct {
	statelessProc[K, VR]
	fn func(K, V) []VR
}

func (p *flatMapValuesProc[K, V, VR]) Process(r Record[K, V]) error {
	if r.ValueIsNull() {
		return p.ctx.Forward(nullOf[VR](r))
	}
	for _, v := range p.fn(r.Key, r.Value) {
		if err := p.ctx.Forward(rekey(r, r.Key, v, true, false)); err != nil {
			return err
		}
	}
	return nil
}

// FlatMapValues turns each record into zero or more records with the same
// key. A tombstone becomes one tombstone without calling fn;
// FlatMapValuesNullable sees tombstones too.
func FlatMapValues[K, V, VR any](s *Stream[K, V], fn func(key K, value V) []VR, named ...Named) *Stream[K, VR] {
	return derive(s, prefixFlatMapValues, named, func() Processor[K, V, K, VR] { return &flatMapValuesProc[K, V, VR]{fn: fn} }, s.keySerde, nil, s.repartition)
}

type selectKeyProc[K, V, KR any] struct {
	statelessProc[KR, V]
	fn func(K, V) KR
}

func (p *selectKeyProc[K, V, KR]) Process(r Record[K, V]) error {
	if r.ValueIsNull() {
		p.dropTombstone("selectKey")
		return nil
	}
	return p.ctx.Forward(rekey(r, p.fn(r.Key, r.Value), r.Value, false, true))
}

// SelectKey sets a new key on each record, keeping the value. A following
// grouping or join repartitions. A tombstone is dropped without calling fn
// and counted as a dropped record; SelectKeyNullable keys tombstones too.
func SelectKey[K, V, KR any](s *Stream[K, V], fn func(key K, value V) KR, named ...Named) *Stream[KR, V] {
	return derive(s, prefixKeySelect, named, func() Processor[K, V, KR, V] { return &selectKeyProc[K, V, KR]{fn: fn} }, nil, s.valueSerde, true)
}

type passProc[K, V any] struct{ statelessProc[K, V] }

func (p *passProc[K, V]) Process(r Record[K, V]) error { return p.ctx.Forward(r) }

func passSupplier[K, V any]() Processor[K, V, K, V] { return &passProc[K, V]{} }

// Merge returns a stream of the records of s and others, in processing
// order. The result needs a repartition if any input does.
func (s *Stream[K, V]) Merge(others []*Stream[K, V], named ...Named) *Stream[K, V] {
	name := s.b.nameOr(nameOr(named), prefixMerge)
	parents := []string{s.node}
	rep := s.repartition
	for _, o := range others {
		if o.b != s.b {
			s.b.fail(fmt.Errorf("streams: merge %q: streams from different builders", name))
			return s
		}
		parents = append(parents, o.node)
		rep = rep || o.repartition
	}
	AddProcessor(s.b, name, passSupplier[K, V], parents...)
	return &Stream[K, V]{b: s.b, node: name, keySerde: s.keySerde, valueSerde: s.valueSerde, repartition: rep}
}

// To writes every record to topic.
func (s *Stream[K, V]) To(topic string, produced ...Produced[K, V]) {
	p := firstOr(produced)
	if p.keySerde == nil {
		p.keySerde = s.keySerde
	}
	if p.valueSerde == nil {
		p.valueSerde = s.valueSerde
	}
	name := s.b.nameOr(p.name, prefixSink)
	AddSink(s.b, name, topic, p, s.node)
}

// ToChooser writes every record to the topic chooser picks for it (Kafka
// Streams' TopicNameExtractor). The topics must exist.
func (s *Stream[K, V]) ToChooser(chooser TopicChooser[K, V], produced ...Produced[K, V]) {
	p := firstOr(produced)
	if chooser == nil {
		s.b.fail(errors.New("streams: to: nil topic chooser"))
		return
	}
	if p.keySerde == nil {
		p.keySerde = s.keySerde
	}
	if p.valueSerde == nil {
		p.valueSerde = s.valueSerde
	}
	name := s.b.nameOr(p.name, prefixSink)
	f := &sinkFactory[K, V]{chooser: chooser, keySerde: p.keySerde, valueSerde: p.valueSerde, partitioner: p.partitioner, multicast: p.multicast}
	s.b.fail(s.b.t.AddDynamicSink(name, "TopicChooser", f, s.node))
}

// Repartition writes the stream through a repartition topic
// ("<application.id>-<name>-repartition") and reads it back, so records are
// partitioned by their current key (or the given partitioner).
func (s *Stream[K, V]) Repartition(repartitioned ...Repartitioned[K, V]) *Stream[K, V] {
	r := firstOr(repartitioned)
	if r.keySerde == nil {
		r.keySerde = s.keySerde
	}
	if r.valueSerde == nil {
		r.valueSerde = s.valueSerde
	}
	prefix, userNamed := r.name, r.name != ""
	if !userNamed {
		prefix = s.b.newName(prefixRepartition)
	}
	return repartitionThrough(s, prefix, userNamed, r.keySerde, r.valueSerde, r.partitions, r.partitioner)
}

// repartitionThrough adds filter -> sink -> topic -> source after s and returns the
// stream read back. The topic is "<prefix>-repartition"; the nodes are
// "<prefix>-repartition-filter", "-sink" and "-source" when the user named the prefix,
// and generated otherwise, as in Kafka Streams. The filter drops records with a null key,
// which cannot be grouped or joined, unless a left or outer join that emits them
// (KIP-962) lies downstream: Build decides, as Kafka Streams does when it builds its
// topology.
func repartitionThrough[K, V any](s *Stream[K, V], prefix string, userNamed bool, ks Serde[K], vs Serde[V], partitions int32, partitioner StreamPartitioner[K, V]) *Stream[K, V] {
	b := s.b
	topic := prefix + topology.RepartitionSuffix
	var filterName, sinkName, sourceName string
	if userNamed {
		filterName = prefix + "-repartition-filter"
		sinkName = prefix + "-repartition-sink"
		sourceName = prefix + "-repartition-source"
	} else {
		sinkName = b.newName(prefixSink)
		filterName = b.newName(prefixFilter)
		sourceName = b.newName(prefixSource)
	}
	b.fail(b.t.AddRepartitionTopic(topic, partitions))
	keep := new(bool)
	b.nullKeyFilters[filterName] = keep
	AddProcessor(b, filterName, func() Processor[K, V, K, V] { return &nullKeyFilter[K, V]{keep: *keep} }, s.node)
	AddSink(b, sinkName, topic, Produced[K, V]{keySerde: ks, valueSerde: vs, partitioner: partitioner}, filterName)
	AddSource(b, sourceName, Consumed[K, V]{keySerde: ks, valueSerde: vs}, topic)
	return &Stream[K, V]{b: b, node: sourceName, keySerde: ks, valueSerde: vs}
}

// passesNullKeys marks a join node that emits records with a null key (a left or outer
// join, KIP-962): the repartition topics upstream of it keep them.
func (b *Builder) passesNullKeys(join string) { b.nullKeyJoins[join] = true }

// reachesNullKeyJoin reports whether a join marked by passesNullKeys lies downstream of
// node, following children and, past a sink of a repartition topic, the topic's sources.
func (b *Builder) reachesNullKeyJoin(node string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(name string) bool {
		if seen[name] {
			return false
		}
		seen[name] = true
		if b.nullKeyJoins[name] {
			return true
		}
		n := b.t.Node(name)
		if n == nil {
			return false
		}
		if n.Kind == topology.SinkNode && n.Topic != "" && b.t.IsRepartitionTopic(n.Topic) {
			for _, src := range b.t.Nodes() {
				if src.MatchesTopic(n.Topic) && walk(src.Name) {
					return true
				}
			}
		}
		for _, c := range n.Children {
			if walk(c) {
				return true
			}
		}
		return false
	}
	return walk(node)
}

// nullKeyFilter drops records whose key is null, in front of repartition
// topics: they cannot be grouped or joined. With keep it passes them (a left
// or outer join follows).
type nullKeyFilter[K, V any] struct {
	statelessProc[K, V]
	keep bool
}

func (p *nullKeyFilter[K, V]) Process(r Record[K, V]) error {
	if r.KeyIsNull() && !p.keep {
		return nil
	}
	return p.ctx.Forward(r)
}

// Process adds a custom processor after s (Kafka Streams' KStream.process)
// and returns its output stream. The key may change, so a following
// grouping repartitions.
func Process[K, V, KR, VR any](s *Stream[K, V], supplier ProcessorSupplier[K, V, KR, VR], opts ...ProcessOption) *Stream[KR, VR] {
	var o processOptions
	for _, opt := range opts {
		opt.applyProcess(&o)
	}
	name := s.b.nameOr(o.name, prefixProcessor)
	AddProcessor(s.b, name, supplier, s.node)
	if len(o.stores) > 0 {
		ConnectStores(s.b, name, o.stores...)
	}
	return &Stream[KR, VR]{b: s.b, node: name, repartition: true}
}

// ProcessOption configures Process: a Named or WithStores.
type ProcessOption interface{ applyProcess(*processOptions) }

type processOptions struct {
	name   string
	stores []string
}

func (n Named) applyProcess(o *processOptions) { o.name = string(n) }

// WithStores connects registered stores to the processor Process adds.
type WithStores []string

func (w WithStores) applyProcess(o *processOptions) { o.stores = append(o.stores, w...) }

// ---- split / branch ----

// BranchedStream splits a stream into branches (Kafka Streams'
// BranchedKStream): each record goes to the first branch whose predicate
// it matches, or to the default branch.
type BranchedStream[K, V any] struct {
	s        *Stream[K, V]
	name     string
	preds    *[]branchPred[K, V]
	branches map[string]*Stream[K, V]
	done     bool
}

type branchPred[K, V any] struct {
	pred func(K, V) bool
	// nullable is set for BranchNullable; a plain predicate never sees a
	// tombstone.
	nullable func(K, Nullable[V]) bool
	child    string
}

type branchProc[K, V any] struct {
	statelessProc[K, V]
	preds *[]branchPred[K, V]
	names [1]string
}

func (p *branchProc[K, V]) Process(r Record[K, V]) error {
	null := r.ValueIsNull()
	for _, bp := range *p.preds {
		if bp.matches(r, null) {
			p.names[0] = bp.child
			return p.ctx.Forward(r, p.names[:]...)
		}
	}
	return nil
}

// Split starts splitting s; name prefixes the branch names (default: the
// generated KSTREAM-BRANCH name).
func (s *Stream[K, V]) Split(named ...Named) *BranchedStream[K, V] {
	name := s.b.nameOr(nameOr(named), prefixBranch)
	preds := &[]branchPred[K, V]{}
	AddProcessor(s.b, name, func() Processor[K, V, K, V] { return &branchProc[K, V]{preds: preds} }, s.node)
	return &BranchedStream[K, V]{s: s, name: name, preds: preds, branches: make(map[string]*Stream[K, V])}
}

// Branch adds a branch taking the records pred matches (and no earlier
// branch took). The branch is named "<split name><branch>" with branch
// defaulting to its 1-based position, as in Kafka Streams. pred is not
// called for tombstones: they go to the first BranchNullable branch that
// takes them, else to the default branch (or are dropped without one).
func (bs *BranchedStream[K, V]) Branch(pred func(key K, value V) bool, branch ...string) *BranchedStream[K, V] {
	return bs.addPredicate(branchPred[K, V]{pred: pred}, branch)
}

// addPredicate adds the branch of bp's predicate (Branch, BranchNullable),
// refused after the default branch or without a predicate.
func (bs *BranchedStream[K, V]) addPredicate(bp branchPred[K, V], branch []string) *BranchedStream[K, V] {
	if bs.done {
		bs.s.b.fail(fmt.Errorf("streams: split %q: branch added after the default branch", bs.name))
		return bs
	}
	if bp.pred == nil && bp.nullable == nil {
		bs.s.b.fail(fmt.Errorf("streams: split %q: nil predicate", bs.name))
		return bs
	}
	bs.add(bp, firstOr(branch))
	return bs
}

func (bs *BranchedStream[K, V]) add(bp branchPred[K, V], branch string) {
	if branch == "" {
		branch = fmt.Sprint(len(*bs.preds) + 1)
		if bp.pred == nil && bp.nullable == nil {
			branch = "0"
		}
	}
	child := bs.name + branch
	bp.child = child
	*bs.preds = append(*bs.preds, bp)
	AddProcessor(bs.s.b, child, passSupplier[K, V], bs.name)
	bs.branches[child] = &Stream[K, V]{b: bs.s.b, node: child, keySerde: bs.s.keySerde, valueSerde: bs.s.valueSerde, repartition: bs.s.repartition}
}

// DefaultBranch adds a branch for the records no other branch took and
// returns every branch by name.
func (bs *BranchedStream[K, V]) DefaultBranch(branch ...string) map[string]*Stream[K, V] {
	if !bs.done {
		bs.add(branchPred[K, V]{}, firstOr(branch))
		bs.done = true
	}
	return bs.branches
}

// NoDefaultBranch drops the records no branch took and returns every branch
// by name.
func (bs *BranchedStream[K, V]) NoDefaultBranch() map[string]*Stream[K, V] {
	bs.done = true
	return bs.branches
}
