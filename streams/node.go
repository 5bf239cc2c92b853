package streams

import (
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"
)

// runtimeNode is one node of a sub-topology, instantiated for one task.
// Records travel between nodes as typed values: a parent holds its
// children as receiver[K, V] of its output types, checked once when the
// task wires them, so forwarding costs one interface call and no boxing.
type runtimeNode interface {
	nodeName() string
	// addChild connects a child; it fails when the child does not receive
	// this node's output types.
	addChild(child runtimeNode) error
	init(t *streamTask) error
	close() error
}

// receiver is a node that takes records of type Record[K, V].
type receiver[K, V any] interface {
	runtimeNode
	receive(rec Record[K, V]) error
}

// nodeFactory is what the DSL stores in topology.Node.Supplier: it makes
// a fresh node for every task.
type nodeFactory interface {
	newNode(name string, t *streamTask) (runtimeNode, error)
}

// inputTyped and outputTyped let wiring errors name the types involved.
type inputTyped interface{ inputTypes() string }

func typesOf[K, V any]() string {
	return "Record[" + reflect.TypeFor[K]().String() + ", " + reflect.TypeFor[V]().String() + "]"
}

// forwarder is embedded by nodes that have children.
type forwarder[K, V any] struct {
	owner    string
	children []receiver[K, V]
	names    []string
	// counts are the children's processed-records counters and self the
	// node's own (sources), when processor-node metrics are recorded
	// (metrics_nodes.go).
	counts []*atomic.Int64
	self   *atomic.Int64
	// e2e are the end-to-end latency stats of the sink children (nil for
	// others, and nil when no child is a sink) and selfE2E the node's own,
	// as a source (KIP-613); clock is the task's wall clock.
	e2e     []*e2eStat
	selfE2E *e2eStat
	clock   *int64
}

func (f *forwarder[K, V]) addChild(child runtimeNode) error {
	r, ok := child.(receiver[K, V])
	if !ok {
		want := "other types"
		if it, ok := child.(inputTyped); ok {
			want = it.inputTypes()
		}
		return fmt.Errorf("streams: node %q forwards %s but its child %q takes %s", f.owner, typesOf[K, V](), child.nodeName(), want)
	}
	f.children = append(f.children, r)
	f.names = append(f.names, child.nodeName())
	return nil
}

func (f *forwarder[K, V]) forward(rec Record[K, V]) error {
	for i, c := range f.children {
		if f.counts != nil {
			f.counts[i].Add(1)
		}
		if f.e2e != nil {
			f.e2e[i].observe(*f.clock, rec.Timestamp)
		}
		if err := c.receive(rec); err != nil {
			return err
		}
	}
	return nil
}

func (f *forwarder[K, V]) forwardTo(rec Record[K, V], names []string) error {
	if len(names) == 0 {
		return f.forward(rec)
	}
	for _, n := range names {
		i := slices.Index(f.names, n)
		if i < 0 {
			return fmt.Errorf("streams: node %q cannot forward to %q: not one of its children %v", f.owner, n, f.names)
		}
		if f.counts != nil {
			f.counts[i].Add(1)
		}
		if f.e2e != nil {
			f.e2e[i].observe(*f.clock, rec.Timestamp)
		}
		if err := f.children[i].receive(rec); err != nil {
			return err
		}
	}
	return nil
}

// ---- processors ----

// processorFactory makes processor nodes from a ProcessorSupplier.
type processorFactory[KIn, VIn, KOut, VOut any] struct {
	supplier ProcessorSupplier[KIn, VIn, KOut, VOut]
}

func (f *processorFactory[KIn, VIn, KOut, VOut]) newNode(name string, t *streamTask) (runtimeNode, error) {
	p := f.supplier()
	if p == nil {
		return nil, fmt.Errorf("streams: processor supplier of %q returned nil", name)
	}
	n := &processorNode[KIn, VIn, KOut, VOut]{proc: p, task: t}
	n.forwarder.owner = name
	return n, nil
}

// processorNode runs a Processor and is its ProcessorContext.
type processorNode[KIn, VIn, KOut, VOut any] struct {
	forwarder[KOut, VOut]
	proc   Processor[KIn, VIn, KOut, VOut]
	task   *streamTask
	stores []string
}

func (n *processorNode[KIn, VIn, KOut, VOut]) nodeName() string   { return n.owner }
func (n *processorNode[KIn, VIn, KOut, VOut]) inputTypes() string { return typesOf[KIn, VIn]() }

func (n *processorNode[KIn, VIn, KOut, VOut]) init(t *streamTask) error {
	n.task = t
	if tn := t.topo.t.Node(n.owner); tn != nil {
		n.stores = tn.Stores
	}
	if err := n.proc.Init(n); err != nil {
		return fmt.Errorf("streams: init processor %q: %w", n.owner, err)
	}
	return nil
}

func (n *processorNode[KIn, VIn, KOut, VOut]) close() error {
	if err := n.proc.Close(); err != nil {
		return fmt.Errorf("streams: close processor %q: %w", n.owner, err)
	}
	return nil
}

func (n *processorNode[KIn, VIn, KOut, VOut]) receive(rec Record[KIn, VIn]) error {
	// The headers and timestamp of the record a processor is handling are its store
	// writes' too (Kafka Streams' record context, which a forward sets to the forwarded
	// record): a record cache forwards the headers when it flushes, and changelog records
	// and timestamps taken from the context carry the record's time, which an upstream
	// processor may have changed.
	t := n.task
	prevHeaders, prevTS, prevHas := t.curHeaders, t.tsOverride, t.hasOverride
	t.curHeaders = rec.Headers
	t.tsOverride, t.hasOverride = rec.Timestamp, true
	err := n.proc.Process(rec)
	t.curHeaders, t.tsOverride, t.hasOverride = prevHeaders, prevTS, prevHas
	return err
}

// ProcessorContext implementation.

func (n *processorNode[KIn, VIn, KOut, VOut]) Forward(rec Record[KOut, VOut], children ...string) error {
	return n.forwardTo(rec, children)
}

func (n *processorNode[KIn, VIn, KOut, VOut]) Schedule(interval time.Duration, typ PunctuationType, fn Punctuator) (Cancellable, error) {
	return n.task.schedule(n.owner, interval, typ, fn)
}

func (n *processorNode[KIn, VIn, KOut, VOut]) StateStore(name string) (StateStore, error) {
	return n.task.stateStore(n.owner, n.stores, name)
}

func (n *processorNode[KIn, VIn, KOut, VOut]) RecordMetadata() (RecordMetadata, bool) {
	return n.task.recordMetadata()
}

func (n *processorNode[KIn, VIn, KOut, VOut]) TaskID() TaskID        { return n.task.id }
func (n *processorNode[KIn, VIn, KOut, VOut]) ApplicationID() string { return n.task.cfg.ApplicationID }
func (n *processorNode[KIn, VIn, KOut, VOut]) StreamTime() int64     { return n.task.streamTime }
func (n *processorNode[KIn, VIn, KOut, VOut]) WallClockTime() int64  { return n.task.wallClock }
func (n *processorNode[KIn, VIn, KOut, VOut]) Commit()               { n.task.commitRequested = true }

// ---- sources ----

// sourceFactory makes source nodes.
type sourceFactory[K, V any] struct {
	keySerde   Serde[K]
	valueSerde Serde[V]
	extractor  func(rec Record[K, V], partitionTime int64) (int64, error)
	reset      OffsetReset
}

func (f *sourceFactory[K, V]) newNode(name string, t *streamTask) (runtimeNode, error) {
	n := &sourceNode[K, V]{keySerde: serdeOr(f.keySerde), valueSerde: serdeOr(f.valueSerde), extractor: f.extractor, task: t}
	_, n.rawKey = any(n.keySerde).(bytesSerde)
	_, n.rawValue = any(n.valueSerde).(bytesSerde)
	_, n.strKey = any(n.keySerde).(stringSerde)
	_, n.strValue = any(n.valueSerde).(stringSerde)
	n.forwarder.owner = name
	return n, nil
}

// rawSource is a source node seen from the task: it makes one head slot per
// input partition.
type rawSource interface {
	runtimeNode
	newHead() queueHead
}

// queueHead holds the deserialized record at the head of one partition
// queue, so each record is deserialized once, when it reaches the head
// (its timestamp is needed to pick the next record), and processed later.
type queueHead interface {
	// load deserializes raw and extracts its timestamp: with the source's
	// extractor, else with def; a nil def keeps raw's own timestamp and
	// runs no extractor.
	load(raw *RawRecord, partitionTime int64, def TimestampExtractor) (int64, error)
	// process forwards the loaded record downstream.
	process() error
	// clear drops references to the loaded record.
	clear()
}

type sourceNode[K, V any] struct {
	forwarder[K, V]
	keySerde   Serde[K]
	valueSerde Serde[V]
	// rawKey and rawValue are set when the serde is BytesSerde (so K or V
	// is []byte): the record's bytes are used as they are, without the copy
	// BytesSerde.Deserialize makes. Fetched records own their bytes and
	// nothing reuses them.
	rawKey, rawValue bool
	// strKey and strValue are set when the serde is StringSerde (K or V is
	// string): the head slot makes the strings through its stringTable.
	strKey, strValue bool
	extractor        func(rec Record[K, V], partitionTime int64) (int64, error)
	task             *streamTask
}

func (n *sourceNode[K, V]) nodeName() string         { return n.owner }
func (n *sourceNode[K, V]) init(t *streamTask) error { n.task = t; return nil }
func (n *sourceNode[K, V]) close() error             { return nil }
func (n *sourceNode[K, V]) newHead() queueHead       { return &headSlot[K, V]{src: n} }

type headSlot[K, V any] struct {
	src     *sourceNode[K, V]
	rec     Record[K, V]
	strings stringTable
}

// DeserializationError is the error a source reports for a record it cannot
// decode; the deserialization handler decides what happens next.
type DeserializationError struct {
	Topic     string
	Partition int32
	Offset    int64
	// IsKey is true when the key failed, false for the value.
	IsKey bool
	Err   error
}

func (e *DeserializationError) Error() string {
	what := "value"
	if e.IsKey {
		what = "key"
	}
	return fmt.Sprintf("streams: deserialize %s of %s-%d@%d: %v", what, e.Topic, e.Partition, e.Offset, e.Err)
}

// Unwrap returns the serde's error.
func (e *DeserializationError) Unwrap() error { return e.Err }

func (h *headSlot[K, V]) load(raw *RawRecord, partitionTime int64, def TimestampExtractor) (int64, error) {
	var rec Record[K, V]
	if raw.Key == nil {
		rec.flags |= flagNullKey
	} else if h.src.rawKey {
		rec.Key = *(*K)(unsafe.Pointer(&raw.Key)) // K is []byte
	} else if h.src.strKey {
		k := h.strings.get(raw.Key)
		rec.Key = *(*K)(unsafe.Pointer(&k)) // K is string
	} else {
		k, err := h.src.keySerde.Deserialize(raw.Key)
		if err != nil {
			return 0, &DeserializationError{Topic: raw.Topic, Partition: raw.Partition, Offset: raw.Offset, IsKey: true, Err: err}
		}
		rec.Key = k
	}
	if raw.Value == nil {
		rec.flags |= flagNullValue
	} else if h.src.rawValue {
		rec.Value = *(*V)(unsafe.Pointer(&raw.Value)) // V is []byte
	} else if h.src.strValue {
		v := h.strings.get(raw.Value)
		rec.Value = *(*V)(unsafe.Pointer(&v)) // V is string
	} else {
		v, err := h.src.valueSerde.Deserialize(raw.Value)
		if err != nil {
			return 0, &DeserializationError{Topic: raw.Topic, Partition: raw.Partition, Offset: raw.Offset, Err: err}
		}
		rec.Value = v
	}
	rec.Timestamp = raw.Timestamp
	rec.Headers = raw.Headers
	var ts int64
	var err error
	switch {
	case def == nil:
		ts = raw.Timestamp
	case h.src.extractor != nil:
		ts, err = h.src.extractor(rec, partitionTime)
	default:
		ts, err = def(raw, partitionTime)
	}
	if err != nil {
		return 0, fmt.Errorf("streams: extract timestamp of %s-%d@%d: %w", raw.Topic, raw.Partition, raw.Offset, err)
	}
	rec.Timestamp = ts
	h.rec = rec
	return ts, nil
}

func (h *headSlot[K, V]) process() error {
	if h.src.self != nil {
		h.src.self.Add(1)
	}
	if h.src.selfE2E != nil {
		h.src.selfE2E.observe(*h.src.clock, h.rec.Timestamp)
	}
	return h.src.forward(h.rec)
}
func (h *headSlot[K, V]) clear() { h.rec = Record[K, V]{} }

// ---- sinks ----

// TopicChooser picks the topic of each record a dynamic sink writes.
type TopicChooser[K, V any] func(key K, value V, meta RecordMetadata) string

// StreamPartitioner picks the partition of a record a sink writes, given
// the topic's partition count; returning false leaves the choice to the
// default partitioner (murmur2 of the serialized key).
type StreamPartitioner[K, V any] func(topic string, key K, value V, numPartitions int32) (int32, bool)

// MulticastPartitioner picks the partitions of the sink's topic a record is
// written to, given the topic's partition count (Kafka Streams'
// StreamPartitioner.partitions, KIP-837): the record is written once to
// each partition listed (a partition listed twice gets it once); an empty
// list with true drops the record (logged and counted in
// dropped_records_total); false leaves the choice to the default
// partitioner (murmur2 of the serialized key).
type MulticastPartitioner[K, V any] func(topic string, key K, value V, numPartitions int32) ([]int32, bool)

type sinkFactory[K, V any] struct {
	topic       string // registered name; "" for a dynamic sink
	chooser     TopicChooser[K, V]
	keySerde    Serde[K]
	valueSerde  Serde[V]
	partitioner StreamPartitioner[K, V]
	multicast   MulticastPartitioner[K, V]
}

func (f *sinkFactory[K, V]) newNode(name string, t *streamTask) (runtimeNode, error) {
	n := &sinkNode[K, V]{f: f, keySerde: serdeOr(f.keySerde), valueSerde: serdeOr(f.valueSerde), task: t, name: name}
	n.keyFast, _ = slabSerializer(n.keySerde, &n.slab)
	n.valueFast, _ = slabSerializer(n.valueSerde, &n.slab)
	if ws, ok := n.keySerde.(windowedKeySerde); ok {
		n.windowSuffix = ws.windowSuffix()
	}
	if f.topic != "" {
		n.topic = t.topo.names.TopicName(f.topic)
	}
	return n, nil
}

type sinkNode[K, V any] struct {
	f          *sinkFactory[K, V]
	name       string
	topic      string
	keySerde   Serde[K]
	valueSerde Serde[V]
	task       *streamTask
	// keyFast and valueFast serialize the built-in string and int64 serdes
	// into slab, without an allocation per record (nil for other serdes).
	keyFast   func(K) []byte
	valueFast func(V) []byte
	slab      byteSlab
	// windowSuffix > 0: keys are windowed and their last windowSuffix bytes are window
	// times; with no partitioner of its own, the sink partitions by the rest (the inner
	// key), as Kafka Streams' WindowedStreamPartitioner.
	windowSuffix int
}

func (n *sinkNode[K, V]) nodeName() string         { return n.name }
func (n *sinkNode[K, V]) inputTypes() string       { return typesOf[K, V]() }
func (n *sinkNode[K, V]) init(t *streamTask) error { n.task = t; return nil }
func (n *sinkNode[K, V]) close() error             { return nil }
func (n *sinkNode[K, V]) addChild(c runtimeNode) error {
	return fmt.Errorf("streams: sink %q cannot have child %q", n.name, c.nodeName())
}

func (n *sinkNode[K, V]) receive(rec Record[K, V]) error {
	topic := n.topic
	if n.f.chooser != nil {
		meta, _ := n.task.recordMetadata()
		topic = n.f.chooser(rec.Key, rec.Value, meta)
		if topic == "" {
			return fmt.Errorf("streams: sink %q: topic chooser returned an empty topic", n.name)
		}
	}
	if rec.Timestamp < 0 {
		return fmt.Errorf("streams: sink %q: record has a negative timestamp %d; use a timestamp extractor that gives valid timestamps", n.name, rec.Timestamp)
	}
	pr := ProducerRecord{Topic: topic, Partition: -1, Timestamp: rec.Timestamp, Headers: rec.Headers}
	var err error
	if !rec.KeyIsNull() {
		if n.keyFast != nil {
			pr.Key = n.keyFast(rec.Key)
		} else if pr.Key, err = n.keySerde.Serialize(rec.Key); err != nil {
			failed := pr // a copy, so pr itself stays on the stack
			return n.task.serializationFailed(&failed, fmt.Errorf("streams: sink %q: serialize key: %w", n.name, err))
		}
	}
	if !rec.ValueIsNull() {
		if n.valueFast != nil {
			pr.Value = n.valueFast(rec.Value)
		} else if pr.Value, err = n.valueSerde.Serialize(rec.Value); err != nil {
			failed := pr
			return n.task.serializationFailed(&failed, fmt.Errorf("streams: sink %q: serialize value: %w", n.name, err))
		}
	}
	if n.f.partitioner == nil && n.windowSuffix > 0 && len(pr.Key) >= n.windowSuffix {
		np, err := n.task.cfg.Collector.PartitionCount(topic)
		if err != nil {
			return fmt.Errorf("streams: sink %q: partition count of %q: %w", n.name, topic, err)
		}
		pr.Partition = DefaultKeyPartitioner(pr.Key[:len(pr.Key)-n.windowSuffix], np)
	}
	if n.f.partitioner != nil {
		np, err := n.task.cfg.Collector.PartitionCount(topic)
		if err != nil {
			return fmt.Errorf("streams: sink %q: partition count of %q: %w", n.name, topic, err)
		}
		if p, ok := n.f.partitioner(topic, rec.Key, rec.Value, np); ok {
			if p < 0 || p >= np {
				return fmt.Errorf("streams: sink %q: partitioner chose partition %d of %q, which has %d", n.name, p, topic, np)
			}
			pr.Partition = p
		}
	}
	if n.f.multicast != nil {
		return n.sendMulticast(&pr, rec)
	}
	return n.task.send(&pr)
}

// sendMulticast sends pr to the partitions the sink's multicast partitioner
// picks for rec.
func (n *sinkNode[K, V]) sendMulticast(pr *ProducerRecord, rec Record[K, V]) error {
	np, err := n.task.cfg.Collector.PartitionCount(pr.Topic)
	if err != nil {
		return fmt.Errorf("streams: sink %q: partition count of %q: %w", n.name, pr.Topic, err)
	}
	parts, ok := n.f.multicast(pr.Topic, rec.Key, rec.Value, np)
	if !ok {
		return n.task.send(pr)
	}
	if len(parts) == 0 {
		n.task.cfg.Logger.Warn("streams: skipping record the partitioner sent to no partition", "task", n.task.id.String(), "sink", n.name, "topic", pr.Topic)
		n.task.cfg.Stats.DroppedRecords.Add(1)
		return nil
	}
	for _, p := range parts {
		if p < 0 || p >= np {
			return fmt.Errorf("streams: sink %q: partitioner chose partition %d of %q, which has %d", n.name, p, pr.Topic, np)
		}
	}
	for i, p := range parts {
		if slices.Contains(parts[:i], p) {
			continue
		}
		// The copies share the serialized bytes: nothing writes to them.
		out := *pr
		out.Partition = p
		if err := n.task.send(&out); err != nil {
			return err
		}
	}
	return nil
}
