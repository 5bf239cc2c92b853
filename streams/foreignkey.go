package streams

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
)

// Foreign-key table joins (KIP-213). The left table's rows subscribe to
// the right table's row of their foreign key through a subscription topic
// partitioned by foreign key, so each subscription lands in the task that
// holds that right row; that task answers with the right value through a
// response topic partitioned like the left table, and answers again every
// time the right row changes. A response carries a hash of the left value
// it answers; the left side drops responses whose hash no longer matches
// its current value (stale: the row changed since). Topics, as Kafka
// Streams names them:
//
//	<app>-KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-<n>-topic
//	<app>-KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-<n>-topic
//
// The subscription and response formats are Rivulet's own (versioned);
// only Rivulet reads these internal topics.

// Node name prefixes of foreign-key joins, as Kafka Streams generates them.
const (
	prefixFKRegistration = "KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-"
	prefixFKReceive      = "KTABLE-FK-JOIN-SUBSCRIPTION-RECEIVE-"
	prefixFKStore        = "KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE-"
	prefixFKForeign      = "KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-"
	prefixFKResponse     = "KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-"
	prefixFKResolver     = "KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-RESOLVER-PROCESSOR-"
	prefixFKOutput       = "KTABLE-FK-JOIN-OUTPUT-"
	prefixTableSink      = "KTABLE-SINK-"
)

// fkInstruction says what the right side does with a subscription (Kafka
// Streams' SubscriptionWrapper.Instruction).
type fkInstruction byte

const (
	// fkDeleteAndPropagate: unsubscribe and answer with a null right value
	// (the left row was deleted, or its FK became null, in an inner join).
	fkDeleteAndPropagate fkInstruction = iota
	// fkDeleteNoPropagate: unsubscribe, no answer (the FK moved elsewhere).
	fkDeleteNoPropagate
	// fkPropagateNullIfNoValue: subscribe and answer, with null when the
	// right row is missing.
	fkPropagateNullIfNoValue
	// fkPropagateOnlyIfValue: subscribe and answer only when the right row
	// exists.
	fkPropagateOnlyIfValue
)

// fkSubscription is a subscription record's value.
type fkSubscription struct {
	instruction fkInstruction
	hash        []byte // nil: the left row was deleted
	partition   int32  // the left task's partition, where the answer goes
	pk          []byte // the left key, serialized
}

const fkFormatVersion = 0

// fkSubscriptionSerde: version (1 byte), instruction (1), hash flag (1)
// and 16 hash bytes when set, partition (4 bytes big-endian), left key.
type fkSubscriptionSerde struct{}

func (fkSubscriptionSerde) Serialize(s fkSubscription) ([]byte, error) {
	out := make([]byte, 0, 23+len(s.pk))
	out = appendFKHash(append(out, fkFormatVersion, byte(s.instruction)), s.hash)
	out = binary.BigEndian.AppendUint32(out, uint32(s.partition))
	return append(out, s.pk...), nil
}

func (fkSubscriptionSerde) Deserialize(b []byte) (fkSubscription, error) {
	d := fkDecoder{serde: "foreign-key subscription", b: b}
	if err := d.header(); err != nil {
		return fkSubscription{}, err
	}
	s := fkSubscription{instruction: fkInstruction(b[1])}
	if s.instruction > fkPropagateOnlyIfValue {
		return fkSubscription{}, d.bad(fmt.Sprintf("unknown instruction %d", b[1]))
	}
	hash, rest, err := d.hash(2, 4)
	if err != nil {
		return fkSubscription{}, err
	}
	s.hash = hash
	s.partition = int32(binary.BigEndian.Uint32(rest))
	s.pk = bytes.Clone(rest[4:])
	return s, nil
}

// fkResponse is a response record's value.
type fkResponse struct {
	hash      []byte
	partition int32
	value     []byte // the right value, serialized; nil when missing
}

// fkResponseSerde: version (1), hash flag (1) and 16 hash bytes when set,
// partition (4), value flag (1), right value.
type fkResponseSerde struct{}

func (fkResponseSerde) Serialize(r fkResponse) ([]byte, error) {
	out := make([]byte, 0, 23+len(r.value))
	out = appendFKHash(append(out, fkFormatVersion), r.hash)
	out = binary.BigEndian.AppendUint32(out, uint32(r.partition))
	if r.value == nil {
		return append(out, 0), nil
	}
	out = append(out, 1)
	return append(out, r.value...), nil
}

func (fkResponseSerde) Deserialize(b []byte) (fkResponse, error) {
	d := fkDecoder{serde: "foreign-key response", b: b}
	if err := d.header(); err != nil {
		return fkResponse{}, err
	}
	var r fkResponse
	hash, rest, err := d.hash(1, 5)
	if err != nil {
		return fkResponse{}, err
	}
	r.hash = hash
	r.partition = int32(binary.BigEndian.Uint32(rest))
	switch rest[4] {
	case 0:
		if len(rest) > 5 {
			return fkResponse{}, d.bad("value bytes without the value flag")
		}
	case 1:
		r.value = bytes.Clone(rest[5:])
	default:
		return fkResponse{}, d.bad("bad value flag")
	}
	return r, nil
}

// appendFKHash appends the hash flag of a subscription or response and,
// when set, the 16 hash bytes.
func appendFKHash(out, hash []byte) []byte {
	if hash == nil {
		return append(out, 0)
	}
	return append(append(out, 1), hash...)
}

// fkDecoder reads what subscriptions and responses share: the version, the
// hash flag and hash.
type fkDecoder struct {
	serde string
	b     []byte
}

func (d fkDecoder) bad(msg string) error {
	return &SerdeError{Serde: d.serde, Len: len(d.b), Err: errors.New(msg)}
}

// header checks the length and the version.
func (d fkDecoder) header() error {
	if len(d.b) < 7 {
		return d.bad("too short")
	}
	if d.b[0] != fkFormatVersion {
		return d.bad(fmt.Sprintf("unknown version %d", d.b[0]))
	}
	return nil
}

// hash reads the hash flag at flagAt and the hash after it, which at
// least tail bytes (partition and more) must follow; it returns the hash
// (nil without one) and what follows.
func (d fkDecoder) hash(flagAt, tail int) (hash, rest []byte, err error) {
	rest = d.b[flagAt+1:]
	switch d.b[flagAt] {
	case 0:
	case 1:
		if len(rest) < 16+tail {
			return nil, nil, d.bad("too short for its hash")
		}
		hash = bytes.Clone(rest[:16])
		rest = rest[16:]
	default:
		return nil, nil, d.bad("bad hash flag")
	}
	if len(rest) < tail {
		return nil, nil, d.bad("too short for its partition")
	}
	return hash, rest, nil
}

// fkHash hashes a serialized left value (FNV-128a; Kafka Streams uses
// Murmur3-128, but only this application compares the hashes).
func fkHash(b []byte) []byte {
	h := fnv.New128a()
	h.Write(b)
	return h.Sum(nil)
}

// combinedKey is the subscription store's key: the foreign key's length (4
// bytes big-endian) and bytes, then the left key's bytes, so the
// subscriptions of one foreign key share a prefix (Kafka Streams'
// CombinedKeySchema).
func combinedKey(fk, pk []byte) []byte {
	out := make([]byte, 0, 4+len(fk)+len(pk))
	out = binary.BigEndian.AppendUint32(out, uint32(len(fk)))
	out = append(out, fk...)
	return append(out, pk...)
}

func combinedPrefix(fk []byte) []byte {
	out := make([]byte, 0, 4+len(fk))
	out = binary.BigEndian.AppendUint32(out, uint32(len(fk)))
	return append(out, fk...)
}

func splitCombinedKey(b []byte) (fk, pk []byte, err error) {
	if len(b) < 4 {
		return nil, nil, &SerdeError{Serde: "foreign-key subscription key", Len: len(b), Err: errors.New("too short")}
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, &SerdeError{Serde: "foreign-key subscription key", Len: len(b), Err: errors.New("bad foreign key length")}
	}
	return b[4 : 4+n], b[4+n:], nil
}

// JoinForeignKey joins each row of left with the row of right whose key
// foreignKey extracts from the left row's value (Kafka Streams'
// KTable.join(other, foreignKeyExtractor, joiner), KIP-213). The result is
// a table keyed like left, holding joiner(left, right) for every left row
// whose foreign-key row exists, updated when either row changes. A left
// row for which foreignKey returns false (no foreign key) does not join.
// Options: a Named (which names the internal topics) and a
// Materialized[K, VR] for the result. Both tables need stores to look
// values up in; they need not be co-partitioned.
func JoinForeignKey[K, V, KO, VO, VR any](left *Table[K, V], right *Table[KO, VO], foreignKey func(key K, value V) (KO, bool), joiner func(key K, left V, right VO) VR, opts ...TableOpOption) *Table[K, VR] {
	if joiner == nil {
		left.b.fail(errors.New("streams: foreign-key join: nil joiner"))
	}
	return fkJoin(left, right, foreignKey, false, func(k K, l V, r *VO) VR { return joiner(k, l, *r) }, opts)
}

// LeftJoinForeignKey is JoinForeignKey whose result also holds the left
// rows with no (or no existing) foreign-key row, with a nil right value.
func LeftJoinForeignKey[K, V, KO, VO, VR any](left *Table[K, V], right *Table[KO, VO], foreignKey func(key K, value V) (KO, bool), joiner func(key K, left V, right *VO) VR, opts ...TableOpOption) *Table[K, VR] {
	if joiner == nil {
		left.b.fail(errors.New("streams: foreign-key left join: nil joiner"))
	}
	return fkJoin(left, right, foreignKey, true, joiner, opts)
}

func fkJoin[K, V, KO, VO, VR any](left *Table[K, V], right *Table[KO, VO], foreignKey func(K, V) (KO, bool), leftJoin bool, joiner func(K, V, *VO) VR, opts []TableOpOption) *Table[K, VR] {
	b := left.b
	if !sameBuilder(b, right.b, "foreign-key join") {
		return &Table[K, VR]{b: b, node: left.node}
	}
	if foreignKey == nil {
		b.fail(errors.New("streams: foreign-key join: nil foreign key extractor"))
	}
	o := parseTableOpOptions[K, VR](b, "foreign-key join", "a join result", false, opts)
	named, mat, materialized := o.named, o.mat, o.materialized
	if left.getter == nil || right.getter == nil {
		b.fail(errors.New("streams: foreign-key join: both tables need a store to look values up in; materialize them (Materialized)"))
		return &Table[K, VR]{b: b, node: left.node}
	}
	lks, lvs := serdeOr(left.keySerde), serdeOr(left.valueSerde)
	rks, rvs := serdeOr(right.keySerde), serdeOr(right.valueSerde)

	var regName, regTopic, receiveName, store, foreignName, respTopic, resolverName, outName string
	var regSink, regSource, respSink, respSource string
	if named != "" {
		regName, regTopic = named+"-subscription-registration-processor", named+"-subscription-registration-topic"
		regSink, regSource = named+"-subscription-registration-sink", named+"-subscription-registration-source"
		receiveName, store = named+"-subscription-receive", named+"-subscription-store"
		foreignName = named + "-foreign-table-processor"
		respTopic = named + "-subscription-response-topic"
		respSink, respSource = named+"-subscription-response-sink", named+"-subscription-response-source"
		resolverName, outName = named+"-subscription-response-resolver", named
	} else {
		regName = b.newName(prefixFKRegistration)
		regTopic = regName + "-topic"
		regSink, regSource = b.newName(prefixTableSink), b.newName(prefixTableSource)
		receiveName, store = b.newName(prefixFKReceive), b.newName(prefixFKStore)
		foreignName = b.newName(prefixFKForeign)
		respTopic = b.newName(prefixFKResponse) + "-topic"
		respSink, respSource = b.newName(prefixTableSink), b.newName(prefixTableSource)
		resolverName, outName = b.newName(prefixFKResolver), b.newName(prefixFKOutput)
	}

	// Left side: subscriptions, keyed by foreign key.
	AddProcessor(b, regName, func() Processor[K, change[V], KO, fkSubscription] {
		return &fkSendProc[K, V, KO]{extract: foreignKey, leftJoin: leftJoin, keySerde: lks, valueSerde: lvs, fkSerde: rks}
	}, left.node)
	b.fail(b.t.AddRepartitionTopic(regTopic, 0))
	AddSink(b, regSink, regTopic, Produced[KO, fkSubscription]{keySerde: rks, valueSerde: fkSubscriptionSerde{}}, regName)
	AddSource(b, regSource, Consumed[KO, fkSubscription]{keySerde: rks, valueSerde: fkSubscriptionSerde{}}, regTopic)

	// Right side: keep subscriptions, answer them and every right change.
	rg := right.getter
	AddProcessor(b, receiveName, func() Processor[KO, fkSubscription, []byte, fkResponse] {
		return &fkReceiveProc[KO, VO]{store: store, getter: rg, fkSerde: rks, valueSerde: rvs}
	}, regSource)
	AddProcessor(b, foreignName, func() Processor[KO, change[VO], []byte, fkResponse] {
		return &fkForeignProc[KO, VO]{store: store, fkSerde: rks, valueSerde: rvs}
	}, right.node)
	addStoreFactory(b, &kvFactory[[]byte, []byte]{name: store, keySerde: BytesSerde(), valueSerde: BytesSerde(), logging: true, ownOps: true}, receiveName, foreignName)
	ConnectStores(b, receiveName, rg.storeNames()...)
	b.fail(b.t.AddRepartitionTopic(respTopic, 0))
	AddSink(b, respSink, respTopic, Produced[[]byte, fkResponse]{keySerde: BytesSerde(), valueSerde: fkResponseSerde{}, partitioner: func(_ string, _ []byte, r fkResponse, n int32) (int32, bool) {
		// Back to the partition of the left row that subscribed.
		if r.partition >= 0 && r.partition < n {
			return r.partition, true
		}
		return 0, false
	}}, receiveName, foreignName)

	// Left side again: resolve answers against the current left row.
	AddSource(b, respSource, Consumed[K, fkResponse]{keySerde: lks, valueSerde: fkResponseSerde{}}, respTopic)
	lg := left.getter
	AddProcessor(b, resolverName, func() Processor[K, fkResponse, K, VR] {
		return &fkResolveProc[K, V, VO, VR]{getter: lg, leftJoin: leftJoin, joiner: joiner, valueSerde: lvs, rightSerde: rvs}
	}, respSource)
	ConnectStores(b, resolverName, lg.storeNames()...)
	copartition(b, regSource, right.node)
	copartition(b, respSource, left.node)

	res := &Stream[K, VR]{b: b, node: resolverName, keySerde: left.keySerde}
	if materialized {
		if mat.keySerde == nil {
			mat.keySerde = left.keySerde
		}
		if mat.name == "" {
			mat.name = b.newName(prefixFKOutput + "STATE-STORE-")
		}
		return materialize(res, outName, mat)
	}
	AddProcessor(b, outName, func() Processor[K, VR, K, change[VR]] { return &toChangeProc[K, VR]{} }, resolverName)
	return &Table[K, VR]{b: b, node: outName, keySerde: left.keySerde}
}

// fkSendProc sends the subscriptions of left-row changes (Kafka Streams'
// SubscriptionSendProcessorSupplier, with its inner and left join rules).
type fkSendProc[K, V, KO any] struct {
	ctx        ProcessorContext[KO, fkSubscription]
	extract    func(K, V) (KO, bool)
	leftJoin   bool
	keySerde   Serde[K]
	valueSerde Serde[V]
	fkSerde    Serde[KO]
	task       *streamTask
}

func (p *fkSendProc[K, V, KO]) Init(ctx ProcessorContext[KO, fkSubscription]) error {
	p.ctx = ctx
	if n, ok := ctx.(interface{ taskOf() *streamTask }); ok {
		p.task = n.taskOf()
	}
	return nil
}

func (p *fkSendProc[K, V, KO]) Close() error { return nil }

func (p *fkSendProc[K, V, KO]) Process(r Record[K, change[V]]) error {
	if r.KeyIsNull() {
		if p.task != nil {
			dropNull(p.task, "foreign-key join")
		}
		return nil
	}
	c := r.Value
	var oldFK, newFK KO
	hasOldFK, hasNewFK := false, false
	if c.hasOld {
		oldFK, hasOldFK = p.extract(r.Key, c.oldV)
	}
	if c.hasNew {
		newFK, hasNewFK = p.extract(r.Key, c.newV)
	}
	pk, err := p.keySerde.Serialize(r.Key)
	if err != nil {
		return fmt.Errorf("streams: foreign-key join: serialize key: %w", err)
	}
	var hash []byte
	if c.hasNew {
		vb, err := p.valueSerde.Serialize(c.newV)
		if err != nil {
			return fmt.Errorf("streams: foreign-key join: serialize value: %w", err)
		}
		hash = fkHash(vb)
	}
	send := func(fk KO, hasFK bool, in fkInstruction) error {
		out := Record[KO, fkSubscription]{Key: fk, Value: fkSubscription{instruction: in, hash: hash, partition: p.ctx.TaskID().Partition, pk: pk}, Timestamp: r.Timestamp, Headers: r.Headers}
		if !hasFK {
			out.flags |= flagNullKey
		}
		return p.ctx.Forward(out)
	}
	// unsubscribeMoved drops the subscription at the old foreign key when
	// the foreign key changed, and reports whether it did.
	unsubscribeMoved := func() (bool, error) {
		a, err := p.fkSerde.Serialize(oldFK)
		if err != nil {
			return false, err
		}
		b, err := p.fkSerde.Serialize(newFK)
		if err != nil {
			return false, err
		}
		if hasNewFK && bytes.Equal(a, b) {
			return false, nil
		}
		return true, send(oldFK, true, fkDeleteNoPropagate)
	}
	if p.leftJoin {
		if !c.hasOld && !c.hasNew {
			return nil // an idempotent delete
		}
		if hasOldFK {
			if _, err := unsubscribeMoved(); err != nil {
				return err
			}
		}
		// Every change needs an answer, to always produce a left result; a
		// null foreign key gets one without subscribing.
		return send(newFK, hasNewFK, fkPropagateNullIfNoValue)
	}
	if c.hasNew {
		if !hasNewFK {
			if p.task != nil {
				p.task.cfg.Stats.DroppedRecords.Add(1)
			}
			if hasOldFK {
				return send(oldFK, true, fkDeleteAndPropagate)
			}
			return nil
		}
		if hasOldFK {
			moved, err := unsubscribeMoved()
			if err != nil {
				return err
			}
			if moved {
				// Answer even without a right row, to delete the old result.
				return send(newFK, true, fkPropagateNullIfNoValue)
			}
		}
		return send(newFK, true, fkPropagateOnlyIfValue)
	}
	if hasOldFK {
		return send(oldFK, true, fkDeleteAndPropagate)
	}
	return nil
}

// fkReceiveProc keeps the subscriptions of its foreign keys and answers
// them (Kafka Streams' SubscriptionReceiveProcessorSupplier and
// SubscriptionJoinProcessorSupplier).
type fkReceiveProc[KO, VO any] struct {
	ctx        ProcessorContext[[]byte, fkResponse]
	store      string
	kv         *kvStore[[]byte, []byte]
	getter     tableGetter[KO, VO]
	get        func(KO) (ValueAndTimestamp[VO], bool, error)
	fkSerde    Serde[KO]
	valueSerde Serde[VO]
	task       *streamTask
}

func fkStoreOf(p StoreProvider, name string) (*kvStore[[]byte, []byte], error) {
	return storeAs[*kvStore[[]byte, []byte]](p, name, "a subscription store")
}

func (p *fkReceiveProc[KO, VO]) Init(ctx ProcessorContext[[]byte, fkResponse]) error {
	p.ctx = ctx
	kv, err := fkStoreOf(ctx, p.store)
	if err != nil {
		return err
	}
	p.kv = kv
	if p.get, err = p.getter.newGetter(ctx); err != nil {
		return err
	}
	if n, ok := ctx.(interface{ taskOf() *streamTask }); ok {
		p.task = n.taskOf()
	}
	return nil
}

func (p *fkReceiveProc[KO, VO]) Close() error { return nil }

func (p *fkReceiveProc[KO, VO]) Process(r Record[KO, fkSubscription]) error {
	s := r.Value
	if r.ValueIsNull() {
		return nil
	}
	respond := func(value []byte, ts int64) error {
		return p.ctx.Forward(Record[[]byte, fkResponse]{Key: s.pk, Value: fkResponse{hash: s.hash, partition: s.partition, value: value}, Timestamp: ts, Headers: r.Headers})
	}
	if r.KeyIsNull() {
		// A left join row without a foreign key: answer with null.
		if s.instruction != fkPropagateNullIfNoValue {
			if p.task != nil {
				dropNull(p.task, "foreign-key join subscription")
			}
			return nil
		}
		return respond(nil, r.Timestamp)
	}
	fkb, err := p.fkSerde.Serialize(r.Key)
	if err != nil {
		return fmt.Errorf("streams: foreign-key join: serialize foreign key: %w", err)
	}
	ck := combinedKey(fkb, s.pk)
	switch s.instruction {
	case fkDeleteAndPropagate, fkDeleteNoPropagate:
		if err := p.kv.putCounted(ck, nil); err != nil {
			return err
		}
	default:
		sb, _ := fkSubscriptionSerde{}.Serialize(s)
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(sb)), uint64(r.Timestamp))
		if err := p.kv.putCounted(ck, append(v, sb...)); err != nil {
			return err
		}
	}
	rv, ok, err := p.get(r.Key)
	if err != nil {
		return err
	}
	ts := r.Timestamp
	var vb []byte
	if ok {
		ts = max(ts, rv.Timestamp)
		if vb, err = p.valueSerde.Serialize(rv.Value); err != nil {
			return fmt.Errorf("streams: foreign-key join: serialize right value: %w", err)
		}
		if vb == nil {
			vb = []byte{}
		}
	}
	switch s.instruction {
	case fkDeleteAndPropagate:
		return respond(nil, ts)
	case fkPropagateNullIfNoValue:
		return respond(vb, ts)
	case fkPropagateOnlyIfValue:
		if ok {
			return respond(vb, ts)
		}
	}
	return nil
}

// fkForeignProc answers every subscription of a right row when it changes
// (Kafka Streams' ForeignTableJoinProcessorSupplier).
type fkForeignProc[KO, VO any] struct {
	ctx        ProcessorContext[[]byte, fkResponse]
	store      string
	kv         *kvStore[[]byte, []byte]
	fkSerde    Serde[KO]
	valueSerde Serde[VO]
}

func (p *fkForeignProc[KO, VO]) Init(ctx ProcessorContext[[]byte, fkResponse]) error {
	p.ctx = ctx
	kv, err := fkStoreOf(ctx, p.store)
	if err != nil {
		return err
	}
	p.kv = kv
	return nil
}

func (p *fkForeignProc[KO, VO]) Close() error { return nil }

func (p *fkForeignProc[KO, VO]) Process(r Record[KO, change[VO]]) error {
	if r.KeyIsNull() || !r.Value.hasNew && !r.Value.hasOld {
		return nil
	}
	fkb, err := p.fkSerde.Serialize(r.Key)
	if err != nil {
		return fmt.Errorf("streams: foreign-key join: serialize foreign key: %w", err)
	}
	var vb []byte
	if r.Value.hasNew {
		if vb, err = p.valueSerde.Serialize(r.Value.newV); err != nil {
			return fmt.Errorf("streams: foreign-key join: serialize right value: %w", err)
		}
		if vb == nil {
			vb = []byte{}
		}
	}
	it, err := p.kv.prefixScanCounted(combinedPrefix(fkb))
	if err != nil {
		return fmt.Errorf("streams: foreign-key join: scan subscriptions: %w", err)
	}
	defer it.Close()
	for it.Next() {
		_, pk, err := splitCombinedKey(it.Key())
		if err != nil {
			return err
		}
		val := it.Value()
		if len(val) < 8 {
			return &SerdeError{Serde: "foreign-key subscription store value", Len: len(val), Err: errors.New("too short")}
		}
		s, err := fkSubscriptionSerde{}.Deserialize(val[8:]) // after the subscription's timestamp
		if err != nil {
			return err
		}
		// The answer, and so the join result, carries the right row's
		// timestamp, as in Kafka Streams: a result a left row causes
		// carries the larger of both (fkReceiveProc).
		out := Record[[]byte, fkResponse]{Key: bytes.Clone(pk), Value: fkResponse{hash: s.hash, partition: s.partition, value: vb}, Timestamp: r.Timestamp, Headers: r.Headers}
		if err := p.ctx.Forward(out); err != nil {
			return err
		}
	}
	return it.Err()
}

// fkResolveProc turns answers into join results, dropping stale ones
// (Kafka Streams' ResponseJoinProcessorSupplier).
type fkResolveProc[K, V, VO, VR any] struct {
	ctx        ProcessorContext[K, VR]
	getter     tableGetter[K, V]
	get        func(K) (ValueAndTimestamp[V], bool, error)
	leftJoin   bool
	joiner     func(K, V, *VO) VR
	valueSerde Serde[V]
	rightSerde Serde[VO]
	task       *streamTask
}

func (p *fkResolveProc[K, V, VO, VR]) Init(ctx ProcessorContext[K, VR]) error {
	p.ctx = ctx
	var err error
	if p.get, err = p.getter.newGetter(ctx); err != nil {
		return err
	}
	if n, ok := ctx.(interface{ taskOf() *streamTask }); ok {
		p.task = n.taskOf()
	}
	return nil
}

func (p *fkResolveProc[K, V, VO, VR]) Close() error { return nil }

func (p *fkResolveProc[K, V, VO, VR]) Process(r Record[K, fkResponse]) error {
	if r.KeyIsNull() || r.ValueIsNull() {
		return nil
	}
	cur, ok, err := p.get(r.Key)
	if err != nil {
		return err
	}
	var curHash []byte
	if ok {
		vb, err := p.valueSerde.Serialize(cur.Value)
		if err != nil {
			return fmt.Errorf("streams: foreign-key join: serialize value: %w", err)
		}
		curHash = fkHash(vb)
	}
	if !bytes.Equal(curHash, r.Value.hash) || (curHash == nil) != (r.Value.hash == nil) {
		// Stale: the left row changed since it sent this subscription.
		if p.task != nil {
			p.task.cfg.Stats.DroppedRecords.Add(1)
		}
		return nil
	}
	out := Record[K, VR]{Key: r.Key, Timestamp: r.Timestamp, Headers: r.Headers}
	if r.Value.value == nil && (!p.leftJoin || !ok) || !ok {
		out.flags |= flagNullValue // a delete of the result
		return p.ctx.Forward(out)
	}
	var rv *VO
	if r.Value.value != nil {
		v, err := p.rightSerde.Deserialize(r.Value.value)
		if err != nil {
			return fmt.Errorf("streams: foreign-key join: deserialize right value: %w", err)
		}
		rv = &v
	}
	out.Value = p.joiner(r.Key, cur.Value, rv)
	return p.ctx.Forward(out)
}

// toChangeProc turns a stream of results (tombstones included) into table
// changes without old values, for a join result that is not materialized.
type toChangeProc[K, V any] struct{ statelessProc[K, change[V]] }

func (p *toChangeProc[K, V]) Process(r Record[K, V]) error {
	var c change[V]
	if !r.ValueIsNull() {
		c.newV, c.hasNew = r.Value, true
	}
	return p.ctx.Forward(rekey(r, r.Key, c, true, false))
}
