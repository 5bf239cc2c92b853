package streams

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"
	"sync"

	"github.com/rivulet-io/rivulet/topology"
)

// Node name prefixes of joins, as Kafka Streams generates them.
const (
	prefixWindowed       = "KSTREAM-WINDOWED-"
	prefixJoinThis       = "KSTREAM-JOINTHIS-"
	prefixJoinOther      = "KSTREAM-JOINOTHER-"
	prefixOuterThis      = "KSTREAM-OUTERTHIS-"
	prefixOuterOther     = "KSTREAM-OUTEROTHER-"
	prefixOuterShared    = "KSTREAM-OUTERSHARED-"
	prefixStreamJoin     = "KSTREAM-JOIN-"
	prefixStreamLeftJoin = "KSTREAM-LEFTJOIN-"
)

// StreamJoined configures a stream-stream join: the serdes of the key and
// of both values (for the window stores and any repartition topic), a
// name for the join's processors and repartition topics
// ("<name>-left-repartition", "<name>-right-repartition"), the stores'
// names ("<store name>-this-join-store", "-other-join-store",
// "-outer-shared-join-store"), and the stores' logging and type, as Kafka
// Streams' StreamJoined. The zero value uses the streams' serdes and
// generated names.
type StreamJoined[K, V, VO any] struct {
	keySerde        Serde[K]
	valueSerde      Serde[V]
	otherValueSerde Serde[VO]
	name            string
	storeName       string
	noLog           bool
	logConfig       map[string]string
	storeType       StoreType
}

// StreamJoinedWith returns a StreamJoined with the given serdes (nil for
// the streams' own).
func StreamJoinedWith[K, V, VO any](keySerde Serde[K], valueSerde Serde[V], otherValueSerde Serde[VO]) StreamJoined[K, V, VO] {
	return StreamJoined[K, V, VO]{keySerde: keySerde, valueSerde: valueSerde, otherValueSerde: otherValueSerde}
}

// WithName names the join's processors and repartition topics.
func (j StreamJoined[K, V, VO]) WithName(name string) StreamJoined[K, V, VO] {
	j.name = name
	return j
}

// WithStoreName names the join's stores (and so their changelogs).
func (j StreamJoined[K, V, VO]) WithStoreName(name string) StreamJoined[K, V, VO] {
	j.storeName = name
	return j
}

// WithLoggingDisabled turns the stores' changelogs off.
func (j StreamJoined[K, V, VO]) WithLoggingDisabled() StreamJoined[K, V, VO] {
	j.noLog = true
	return j
}

// WithLoggingEnabled turns the changelogs on with extra topic configs.
func (j StreamJoined[K, V, VO]) WithLoggingEnabled(topicConfig map[string]string) StreamJoined[K, V, VO] {
	j.noLog = false
	j.logConfig = maps.Clone(topicConfig)
	return j
}

// WithStoreType picks persistent (default) or in-memory stores.
func (j StreamJoined[K, V, VO]) WithStoreType(t StoreType) StreamJoined[K, V, VO] {
	j.storeType = t
	return j
}

// Join joins two streams on their keys within windows (Kafka Streams'
// KStream.join): for each pair of records with equal keys whose
// timestamps fit the join windows, joiner's result is emitted with the
// larger of the two timestamps. Records with a null key or value are
// dropped. Both streams must be co-partitioned; a stream whose key may
// have changed is repartitioned first.
func Join[K, V, VO, VR any](left *Stream[K, V], right *Stream[K, VO], joiner func(key K, left V, right VO) VR, windows JoinWindows, joined ...StreamJoined[K, V, VO]) *Stream[K, VR] {
	if joiner == nil {
		left.b.fail(errors.New("streams: join: nil joiner"))
	}
	return streamStreamJoin(left, right, windows, firstOr(joined), false, false, func(k K, l *V, r *VO) VR { return joiner(k, *l, *r) })
}

// LeftJoin is Join that also emits each left record no right record joined,
// with a nil right value, once its window has closed (stream time passed
// its timestamp plus the window's after and grace; KIP-633: no early,
// spurious results). A left record with a null key is emitted at once.
func LeftJoin[K, V, VO, VR any](left *Stream[K, V], right *Stream[K, VO], joiner func(key K, left V, right *VO) VR, windows JoinWindows, joined ...StreamJoined[K, V, VO]) *Stream[K, VR] {
	if joiner == nil {
		left.b.fail(errors.New("streams: left join: nil joiner"))
	}
	return streamStreamJoin(left, right, windows, firstOr(joined), true, false, func(k K, l *V, r *VO) VR { return joiner(k, *l, r) })
}

// OuterJoin is Join that also emits the records of either side no record of
// the other side joined, with a nil value for the missing side, once their
// windows have closed.
func OuterJoin[K, V, VO, VR any](left *Stream[K, V], right *Stream[K, VO], joiner func(key K, left *V, right *VO) VR, windows JoinWindows, joined ...StreamJoined[K, V, VO]) *Stream[K, VR] {
	if joiner == nil {
		left.b.fail(errors.New("streams: outer join: nil joiner"))
	}
	return streamStreamJoin(left, right, windows, firstOr(joined), true, true, joiner)
}

// sourcesOf returns the source nodes node descends from.
func sourcesOf(t *topology.Topology, node string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(string)
	walk = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		n := t.Node(name)
		if n == nil {
			return
		}
		if n.Kind == topology.SourceNode {
			out = append(out, name)
			return
		}
		for _, p := range n.Parents {
			walk(p)
		}
	}
	walk(node)
	return out
}

// copartition declares that the sources of the given nodes must be
// co-partitioned (the runtime checks the partition counts at start and
// fails with an error naming the topics and their counts).
func copartition(b *Builder, nodes ...string) {
	var srcs []string
	for _, n := range nodes {
		srcs = append(srcs, sourcesOf(b.t, n)...)
	}
	seen := map[string]bool{}
	var uniq []string
	for _, s := range srcs {
		if !seen[s] {
			seen[s] = true
			uniq = append(uniq, s)
		}
	}
	if len(uniq) >= 2 {
		b.fail(b.t.CopartitionSources(uniq...))
	}
}

// repartitionForJoin reads s back through a repartition topic when its key
// may have changed: "<name>-<side>-repartition" when the join is named,
// else "<node>-repartition", as Kafka Streams names them.
func repartitionForJoin[K, V any](s *Stream[K, V], name, side string, ks Serde[K], vs Serde[V]) *Stream[K, V] {
	if !s.repartition {
		return s
	}
	if name != "" {
		return repartitionThrough(s, name+"-"+side, true, ks, vs, 0, nil)
	}
	return repartitionThrough(s, s.node, false, ks, vs, 0, nil)
}

func sameBuilder(a, b *Builder, what string) bool {
	if a != b {
		a.fail(fmt.Errorf("streams: %s: the two sides come from different builders", what))
		return false
	}
	return true
}

func streamStreamJoin[K, V, VO, VR any](left *Stream[K, V], right *Stream[K, VO], w JoinWindows, j StreamJoined[K, V, VO], leftOuter, rightOuter bool, joiner func(K, *V, *VO) VR) *Stream[K, VR] {
	b := left.b
	if !sameBuilder(b, right.b, "join") {
		return &Stream[K, VR]{b: b, node: left.node}
	}
	if w.err != nil {
		b.fail(w.err)
	}
	ks := j.keySerde
	if ks == nil {
		ks = left.keySerde
	}
	if ks == nil {
		ks = right.keySerde
	}
	vs, vos := j.valueSerde, j.otherValueSerde
	if vs == nil {
		vs = left.valueSerde
	}
	if vos == nil {
		vos = right.valueSerde
	}
	left = repartitionForJoin(left, j.name, "left", ks, vs)
	right = repartitionForJoin(right, j.name, "right", ks, vos)
	ks, vs, vos = serdeOr(ks), serdeOr(vs), serdeOr(vos)

	thisPrefix, otherPrefix := prefixJoinThis, prefixJoinOther
	thisSuffix, otherSuffix := "-this-join", "-other-join"
	if rightOuter {
		thisPrefix, thisSuffix = prefixOuterThis, "-outer-this-join"
	}
	if leftOuter {
		otherPrefix, otherSuffix = prefixOuterOther, "-outer-other-join"
	}
	var thisWin, otherWin, joinThis, joinOther, merge string
	if j.name != "" {
		thisWin, otherWin = j.name+"-this-windowed", j.name+"-other-windowed"
		joinThis, joinOther, merge = j.name+thisSuffix, j.name+otherSuffix, j.name+"-merge"
	} else {
		thisWin, otherWin = b.newName(prefixWindowed), b.newName(prefixWindowed)
		joinThis, joinOther = b.newName(thisPrefix), b.newName(otherPrefix)
		merge = b.newName(prefixMerge)
	}
	var thisStore, otherStore, outerStore string
	if j.storeName != "" {
		thisStore, otherStore, outerStore = j.storeName+"-this-join-store", j.storeName+"-other-join-store", j.storeName+"-outer-shared-join-store"
	} else {
		thisStore, otherStore = joinThis+"-store", joinOther+"-store"
		outerStore = prefixOuterShared + strings.TrimPrefix(strings.TrimPrefix(joinThis, prefixJoinThis), prefixOuterThis) + "-store"
		if j.name != "" {
			outerStore = j.name + "-outer-shared-join-store"
		}
	}
	outer := leftOuter || rightOuter
	if !outer {
		outerStore = ""
	}

	size := w.before + w.after
	retention := size + w.grace
	thisF := &windowFactory[K, V]{windowedFactory: windowedFactory[K, V]{name: thisStore, keySerde: ks, valueSerde: vs, logging: !j.noLog, logConfig: j.logConfig,
		storeType: j.storeType, retention: retention}, size: size, dups: true}
	otherF := &windowFactory[K, VO]{windowedFactory: windowedFactory[K, VO]{name: otherStore, keySerde: ks, valueSerde: vos, logging: !j.noLog, logConfig: j.logConfig,
		storeType: j.storeType, retention: retention}, size: size, dups: true}

	AddProcessor(b, thisWin, func() Processor[K, V, K, V] { return &joinWindowProc[K, V]{store: thisStore} }, left.node)
	AddProcessor(b, otherWin, func() Processor[K, VO, K, VO] { return &joinWindowProc[K, VO]{store: otherStore} }, right.node)

	trackers := &joinTimeTrackers{m: make(map[TaskID]*joinTimeTracker)}
	leftOnly := func(k K, v V) VR { return joiner(k, &v, nil) }
	rightOnly := func(k K, v VO) VR { return joiner(k, nil, &v) }
	both := streamJoinBoth[K, V, VO, VR]{grace: w.grace, winBefore: w.before, winAfter: w.after, outerStore: outerStore,
		keySerde: ks, leftSerde: vs, rightSerde: vos, leftOnly: leftOnly, rightOnly: rightOnly, trackers: trackers}
	AddProcessor(b, joinThis, joinSide(both, true, leftOuter, w.before, w.after, otherStore,
		func(k K, this V, other VO) VR { return joiner(k, &this, &other) }, leftOnly), thisWin)
	AddProcessor(b, joinOther, joinSide(both, false, rightOuter, w.after, w.before, thisStore,
		func(k K, this VO, other V) VR { return joiner(k, &other, &this) }, rightOnly), otherWin)
	AddProcessor(b, merge, passSupplier[K, VR], joinThis, joinOther)
	if outer {
		// A left or outer join emits null-key records of its outer sides (KIP-962), so
		// the repartition topics in front of either side keep them, as in Kafka Streams.
		b.passesNullKeys(joinThis)
		b.passesNullKeys(joinOther)
	}
	addStoreFactory(b, thisF, thisWin, joinOther)
	addStoreFactory(b, otherF, otherWin, joinThis)
	if outer {
		f := &kvFactory[[]byte, []byte]{name: outerStore, keySerde: BytesSerde(), valueSerde: BytesSerde(), ownOps: true,
			logging: !j.noLog, logConfig: j.logConfig, storeType: j.storeType}
		addStoreFactory(b, f, joinThis, joinOther)
	}
	copartition(b, left.node, right.node)
	return &Stream[K, VR]{b: b, node: merge, keySerde: ks}
}

// joinWindowProc keeps a join side's records in its window store (Kafka
// Streams' KStreamJoinWindow) and passes every record on to the join.
type joinWindowProc[K, V any] struct {
	ctx   ProcessorContext[K, V]
	store string
	s     *windowStore[K, V]
}

func (p *joinWindowProc[K, V]) Init(ctx ProcessorContext[K, V]) error {
	p.ctx = ctx
	s, err := windowStoreOf[K, V](ctx, p.store)
	if err != nil {
		return err
	}
	p.s = s
	return nil
}

func (p *joinWindowProc[K, V]) Close() error { return nil }

func (p *joinWindowProc[K, V]) Process(r Record[K, V]) error {
	if err := p.ctx.Forward(r); err != nil {
		return err
	}
	// A record with a null key or value never joins: it is not kept.
	if r.KeyIsNull() || r.ValueIsNull() {
		return nil
	}
	return p.s.put(r.Key, r.Value, r.Timestamp)
}

// joinTimeTracker is the time both processors of a stream-stream join of
// one task share, as Kafka Streams' TimeTracker: the largest timestamp
// either side has seen, and the smallest timestamp in the outer store
// (math.MaxInt64 when it is empty).
type joinTimeTracker struct {
	streamTime int64
	minTime    int64
	refs       int
	inited     bool
}

type joinTimeTrackers struct {
	mu sync.Mutex
	m  map[TaskID]*joinTimeTracker
}

func (t *joinTimeTrackers) get(id TaskID) *joinTimeTracker {
	t.mu.Lock()
	defer t.mu.Unlock()
	tr, ok := t.m[id]
	if !ok {
		tr = &joinTimeTracker{streamTime: -1, minTime: math.MaxInt64}
		t.m[id] = tr
	}
	tr.refs++
	return tr
}

func (t *joinTimeTrackers) release(id TaskID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tr, ok := t.m[id]; ok {
		tr.refs--
		if tr.refs <= 0 {
			delete(t.m, id)
		}
	}
}

// Outer store layout, as Kafka Streams' TimestampedKeyAndJoinSide: the
// key is the record timestamp (8 bytes big-endian), the side (1 left, 0
// right) and the serialized record key, so entries are in time order; the
// value is the list of values of that side, key and timestamp, each as a
// uvarint length and the serialized value (Kafka Streams' ListValueStore).
func outerKey(ts int64, left bool, kb []byte) []byte {
	out := make([]byte, 0, 9+len(kb))
	out = binary.BigEndian.AppendUint64(out, uint64(ts))
	side := byte(0)
	if left {
		side = 1
	}
	out = append(out, side)
	return append(out, kb...)
}

func parseOuterKey(b []byte) (ts int64, left bool, kb []byte, err error) {
	if len(b) < 9 || b[8] > 1 {
		return 0, false, nil, &SerdeError{Serde: "outer join store key", Len: len(b), Err: errors.New("want 8-byte timestamp, side byte 0 or 1, key")}
	}
	ts = int64(binary.BigEndian.Uint64(b))
	if ts < 0 {
		return 0, false, nil, &SerdeError{Serde: "outer join store key", Len: len(b), Err: fmt.Errorf("negative timestamp %d", ts)}
	}
	return ts, b[8] == 1, b[9:], nil
}

// splitValueList splits an outer store value into its values.
func splitValueList(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)-w) {
			return nil, &SerdeError{Serde: "outer join store value", Len: len(b), Err: errors.New("bad length")}
		}
		out = append(out, b[w:w+int(n)])
		b = b[w+int(n):]
	}
	return out, nil
}

// streamJoinProc is one side of a stream-stream join (Kafka Streams'
// KStreamKStreamJoin): it joins each record with the other side's window
// store and, for left and outer joins, keeps unmatched records in the
// shared outer store until their window closes.
type streamJoinProc[K, VThis, VOther, VL, VRt, VOut any] struct {
	streamJoinBoth[K, VL, VRt, VOut]
	ctx        ProcessorContext[K, VOut]
	isLeft     bool
	outer      bool
	before     int64 // as seen from this side
	after      int64
	otherStore string
	join       func(K, VThis, VOther) VOut
	thisOnly   func(K, VThis) VOut

	task    *streamTask
	other   *windowStore[K, VOther]
	outerKV *kvStore[[]byte, []byte]
	tracker *joinTimeTracker
	taskID  TaskID
}

// streamJoinBoth is the configuration both sides' processors of a
// stream-stream join share.
type streamJoinBoth[K, VL, VRt, VOut any] struct {
	grace      int64
	winBefore  int64 // the join windows as given (left's view)
	winAfter   int64
	outerStore string
	keySerde   Serde[K]
	leftSerde  Serde[VL]
	rightSerde Serde[VRt]
	leftOnly   func(K, VL) VOut
	rightOnly  func(K, VRt) VOut
	trackers   *joinTimeTrackers
}

// joinSide returns the supplier of one side's join processor: the left's
// (isLeft) or the right's, with the time difference as seen from that side
// and the window store of the other side.
func joinSide[K, VThis, VOther, VL, VRt, VOut any](both streamJoinBoth[K, VL, VRt, VOut], isLeft, outer bool, before, after int64, otherStore string, join func(K, VThis, VOther) VOut, thisOnly func(K, VThis) VOut) ProcessorSupplier[K, VThis, K, VOut] {
	return func() Processor[K, VThis, K, VOut] {
		return &streamJoinProc[K, VThis, VOther, VL, VRt, VOut]{streamJoinBoth: both, isLeft: isLeft, outer: outer,
			before: before, after: after, otherStore: otherStore, join: join, thisOnly: thisOnly}
	}
}

func (p *streamJoinProc[K, VThis, VOther, VL, VRt, VOut]) Init(ctx ProcessorContext[K, VOut]) error {
	p.ctx = ctx
	s, err := windowStoreOf[K, VOther](ctx, p.otherStore)
	if err != nil {
		return err
	}
	p.other, p.task = s, s.task
	p.taskID = ctx.TaskID()
	p.tracker = p.trackers.get(p.taskID)
	if p.outerStore != "" {
		kv, err := storeAs[*kvStore[[]byte, []byte]](ctx, p.outerStore, "a join outer store")
		if err != nil {
			return err
		}
		p.outerKV = kv
		if !p.tracker.inited {
			// After a restart the outer store may hold records: start from
			// the oldest one.
			it, err := kv.allCounted()
			if err != nil {
				return err
			}
			if it.Next() {
				if ts, _, _, err := parseOuterKey(it.Key()); err == nil {
					p.tracker.minTime = ts
				}
			}
			if err := it.Close(); err != nil {
				return err
			}
		}
	}
	p.tracker.inited = true
	return nil
}

func (p *streamJoinProc[K, VThis, VOther, VL, VRt, VOut]) Close() error {
	p.trackers.release(p.taskID)
	return nil
}

func (p *streamJoinProc[K, VThis, VOther, VL, VRt, VOut]) Process(r Record[K, VThis]) error {
	tr := p.tracker
	ts := r.Timestamp
	tr.streamTime = max(tr.streamTime, ts)
	// KIP-962: a left (outer: either) record with a null key cannot join
	// but is a result of its own.
	if p.outer && r.KeyIsNull() && !r.ValueIsNull() {
		out := rekey(r, r.Key, p.thisOnly(r.Key, r.Value), true, false)
		return p.ctx.Forward(out)
	}
	if r.KeyIsNull() || r.ValueIsNull() {
		dropNull(p.task, "stream-stream join")
		return nil
	}
	if ts == tr.streamTime && p.outerKV != nil {
		if err := p.emitNonJoined(r); err != nil {
			return err
		}
	}
	from, to := max(0, ts-p.before), max(0, ts+p.after)
	it, err := p.other.Fetch(r.Key, from, to)
	if err != nil {
		return err
	}
	matched := false
	var kb []byte
	for it.Next() {
		matched = true
		otherTS := it.Key().Window.Start
		if p.outerKV != nil {
			// The other side's record joined: it is no longer a candidate
			// for a left/outer result.
			if kb == nil {
				if kb, err = p.serKey(r.Key); err != nil {
					it.Close()
					return err
				}
			}
			ok := outerKey(otherTS, !p.isLeft, kb)
			if old, err := p.outerKV.getCounted(ok); err != nil {
				it.Close()
				return err
			} else if old != nil {
				if err := p.outerKV.putCounted(ok, nil); err != nil {
					it.Close()
					return err
				}
			}
		}
		out := rekey(r, r.Key, p.join(r.Key, r.Value, it.Value()), false, false)
		out.Timestamp = max(ts, otherTS)
		if err := p.ctx.Forward(out); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	if matched || !p.outer {
		return nil
	}
	// An unmatched record: emit it at once if its window closed already
	// (an out-of-order record), else keep it until it closes.
	if p.outerKV == nil || to < tr.streamTime {
		return p.ctx.Forward(rekey(r, r.Key, p.thisOnly(r.Key, r.Value), false, false))
	}
	if kb == nil {
		if kb, err = p.serKey(r.Key); err != nil {
			return err
		}
	}
	vb, err := p.serThis(r.Value)
	if err != nil {
		return err
	}
	okey := outerKey(ts, p.isLeft, kb)
	old, err := p.outerKV.getCounted(okey)
	if err != nil {
		return err
	}
	nv := make([]byte, 0, len(old)+binary.MaxVarintLen64+len(vb))
	nv = append(nv, old...)
	nv = binary.AppendUvarint(nv, uint64(len(vb)))
	nv = append(nv, vb...)
	if err := p.outerKV.putCounted(okey, nv); err != nil {
		return err
	}
	tr.minTime = min(tr.minTime, ts)
	return nil
}

func (p *streamJoinProc[K, VThis, VOther, VL, VRt, VOut]) serKey(k K) ([]byte, error) {
	kb, err := p.keySerde.Serialize(k)
	if err != nil {
		return nil, fmt.Errorf("streams: stream-stream join: serialize key: %w", err)
	}
	if kb == nil {
		kb = []byte{}
	}
	return kb, nil
}

func (p *streamJoinProc[K, VThis, VOther, VL, VRt, VOut]) serThis(v VThis) ([]byte, error) {
	var b []byte
	var err error
	if p.isLeft {
		b, err = p.leftSerde.Serialize(any(v).(VL))
	} else {
		b, err = p.rightSerde.Serialize(any(v).(VRt))
	}
	if err != nil {
		return nil, fmt.Errorf("streams: stream-stream join: serialize value: %w", err)
	}
	return b, nil
}

// emitNonJoined emits the left/outer results of the records in the outer
// store whose windows have closed, in time order, and removes them.
func (p *streamJoinProc[K, VThis, VOther, VL, VRt, VOut]) emitNonJoined(r Record[K, VThis]) error {
	tr := p.tracker
	// Only scan when something might have closed.
	if tr.minTime == math.MaxInt64 || tr.minTime+p.after+p.grace >= tr.streamTime {
		return nil
	}
	it, err := p.outerKV.allCounted()
	if err != nil {
		return err
	}
	defer it.Close()
	minRemaining := int64(math.MaxInt64)
	leftOpen, rightOpen := false, false
	var done [][]byte
	for it.Next() {
		if leftOpen && rightOpen {
			break
		}
		key := it.Key()
		ts, left, kb, err := parseOuterKey(key)
		if err != nil {
			return fmt.Errorf("streams: stream-stream join: outer store: %w", err)
		}
		lookBack := p.winBefore
		if left {
			lookBack = p.winAfter
		}
		if ts+lookBack+p.grace >= tr.streamTime {
			if left {
				leftOpen = true
			} else {
				rightOpen = true
			}
			minRemaining = min(minRemaining, ts)
			continue
		}
		vals, err := splitValueList(it.Value())
		if err != nil {
			return fmt.Errorf("streams: stream-stream join: outer store: %w", err)
		}
		k, err := p.keySerde.Deserialize(kb)
		if err != nil {
			return fmt.Errorf("streams: stream-stream join: outer store: deserialize key: %w", err)
		}
		for _, vb := range vals {
			var out VOut
			if left {
				v, err := p.leftSerde.Deserialize(vb)
				if err != nil {
					return fmt.Errorf("streams: stream-stream join: outer store: deserialize value: %w", err)
				}
				out = p.leftOnly(k, v)
			} else {
				v, err := p.rightSerde.Deserialize(vb)
				if err != nil {
					return fmt.Errorf("streams: stream-stream join: outer store: deserialize value: %w", err)
				}
				out = p.rightOnly(k, v)
			}
			if err := p.ctx.Forward(Record[K, VOut]{Key: k, Value: out, Timestamp: ts, Headers: r.Headers}); err != nil {
				return err
			}
		}
		done = append(done, bytes.Clone(key))
	}
	if err := it.Err(); err != nil {
		return err
	}
	for _, k := range done {
		if err := p.outerKV.putCounted(k, nil); err != nil {
			return err
		}
	}
	tr.minTime = minRemaining
	return nil
}
