package streams

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Suppressed configures Table.Suppress: hold a table's updates back and
// emit only the latest one per key, either once its window closes
// (UntilWindowCloses: exactly one final result per window) or once it has
// waited a time limit (UntilTimeLimit), as Kafka Streams' Suppressed.
type Suppressed struct {
	final     bool
	timeLimit int64
	buffer    BufferConfig
	name      string
	wallClose int64 // ms of wall-clock idleness after which windows close; 0: off
	err       error
}

// UntilWindowCloses holds each window's updates until the window closes
// (stream time reaches its end plus the grace period of the windowed
// aggregation upstream), then emits its final result once. The table must
// come from a windowed aggregation. The buffer must never emit early:
// Unbounded(), or a bounded buffer with ShutDownWhenFull.
func UntilWindowCloses(buffer BufferConfig) Suppressed {
	s := Suppressed{final: true, buffer: buffer, err: buffer.err}
	if s.err == nil && buffer.bounded() && !buffer.shutdown {
		s.err = errors.New("streams: suppress: UntilWindowCloses needs a buffer that never emits early: use Unbounded() or a bounded buffer with ShutDownWhenFull()")
	}
	return s
}

// UntilTimeLimit holds each key's updates for limit of stream time after
// its first held update, then emits the latest one.
func UntilTimeLimit(limit time.Duration, buffer BufferConfig) Suppressed {
	s := Suppressed{timeLimit: limit.Milliseconds(), buffer: buffer, err: buffer.err}
	if s.err == nil && limit < 0 {
		s.err = fmt.Errorf("streams: suppress: time limit %v must not be negative", limit)
	}
	return s
}

// WithWallClockClose lets an UntilWindowCloses suppression close windows on
// wall-clock time when its stream time stops advancing (no record arrives
// on the partition): once stream time has stood still for d of wall-clock
// time, the suppression takes its stream time to be the last one seen plus
// the wall-clock time elapsed since it last advanced, and emits the windows
// that this time closes. It is checked on the task's wall-clock
// punctuation (every d/4, at least every second). Off by default.
//
// The trade-off: a window may then be emitted before every record within
// its grace period has arrived. A record that arrives later and still
// falls within the aggregation's grace period (which follows record time
// only) updates the window, and the suppression emits the updated result
// as soon as it arrives, so such a window has more than one "final"
// result. Use it where a timely answer matters more than exactly one.
func (s Suppressed) WithWallClockClose(d time.Duration) Suppressed {
	if s.err == nil && !s.final {
		s.err = errors.New("streams: suppress: WithWallClockClose applies to UntilWindowCloses only")
	}
	if s.err == nil && d < time.Millisecond {
		s.err = fmt.Errorf("streams: suppress: wall-clock close after %v: want at least 1ms", d)
	}
	s.wallClose = d.Milliseconds()
	return s
}

// WithName names the suppression node; its buffer store is "<name>-store"
// and the buffer's changelog "<application.id>-<name>-store-changelog".
func (s Suppressed) WithName(name string) Suppressed { s.name = name; return s }

// BufferConfig bounds a suppression buffer and says what happens when it
// is full. Build it with Unbounded, MaxRecords or MaxBytes.
type BufferConfig struct {
	maxRecords int64
	maxBytes   int64
	shutdown   bool
	err        error
}

// Unbounded is a buffer that is never full (it uses as much memory as the
// held updates take).
func Unbounded() BufferConfig { return BufferConfig{shutdown: true} }

// MaxRecords is a buffer of at most n records that emits the oldest
// updates early when full (change with ShutDownWhenFull).
func MaxRecords(n int64) BufferConfig { return BufferConfig{}.WithMaxRecords(n) }

// MaxBytes is a buffer of at most n bytes (keys plus held values) that
// emits the oldest updates early when full (change with ShutDownWhenFull).
func MaxBytes(n int64) BufferConfig { return BufferConfig{}.WithMaxBytes(n) }

// WithMaxRecords bounds the buffer to n records.
func (c BufferConfig) WithMaxRecords(n int64) BufferConfig {
	if n <= 0 && c.err == nil {
		c.err = fmt.Errorf("streams: suppress: max records %d must be positive", n)
	}
	c.maxRecords = n
	return c
}

// WithMaxBytes bounds the buffer to n bytes.
func (c BufferConfig) WithMaxBytes(n int64) BufferConfig {
	if n <= 0 && c.err == nil {
		c.err = fmt.Errorf("streams: suppress: max bytes %d must be positive", n)
	}
	c.maxBytes = n
	return c
}

// EmitEarlyWhenFull emits the oldest held updates when the buffer is full.
func (c BufferConfig) EmitEarlyWhenFull() BufferConfig { c.shutdown = false; return c }

// ShutDownWhenFull fails the task (and, with the default uncaught-error
// handler, stops the application) with a *BufferFullError when the buffer
// is full.
func (c BufferConfig) ShutDownWhenFull() BufferConfig { c.shutdown = true; return c }

func (c BufferConfig) bounded() bool { return c.maxRecords > 0 || c.maxBytes > 0 }

// BufferFullError is the error of a suppression whose buffer is full and
// configured with ShutDownWhenFull.
type BufferFullError struct {
	Processor              string
	Records, MaxRecords    int64
	Bytes, MaxBytes        int64
	StreamTime, BufferTime int64
}

func (e *BufferFullError) Error() string {
	limit := func(n int64) string {
		if n <= 0 {
			return "unbounded"
		}
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprintf("streams: suppress %q: buffer full: it holds %d records (max %s) and %d bytes (max %s) and is configured to shut down when full; give it more room or use EmitEarlyWhenFull",
		e.Processor, e.Records, limit(e.MaxRecords), e.Bytes, limit(e.MaxBytes))
}

// windowEnder is a Windowed key: final results are held until the end of
// its window.
type windowEnder interface{ windowEnd() int64 }

func (w Windowed[K]) windowEnd() int64 { return w.Window.End }

// Suppress holds back t's updates as s says (Kafka Streams'
// KTable.suppress). The held updates live in an in-memory buffer backed by
// a changelog, so they survive restarts and move with the task.
func (t *Table[K, V]) Suppress(s Suppressed, named ...Named) *Table[K, V] {
	b := t.b
	if s.err != nil {
		b.fail(s.err)
	}
	name := nameOr(named)
	if name == "" {
		name = s.name
	}
	procName := b.nameOr(name, "KTABLE-SUPPRESS-")
	store := name + "-store"
	if name == "" {
		store = b.newName("KTABLE-SUPPRESS-STATE-STORE-")
	}
	var duration int64
	if s.final {
		var zero K
		if _, ok := any(zero).(windowEnder); !ok {
			b.fail(fmt.Errorf("streams: suppress %q: UntilWindowCloses needs a windowed table (keys of type Windowed[...]), not a table of %s", procName, typesOf[K, V]()))
		}
		grace, ok := windowGraceOf(b.t, t.node)
		if !ok {
			b.fail(fmt.Errorf("streams: suppress %q: UntilWindowCloses needs a table computed by one windowed aggregation upstream", procName))
		}
		duration = grace
	} else {
		duration = s.timeLimit
	}
	ks, vs := serdeOr(t.keySerde), serdeOr(t.valueSerde)
	AddProcessor(b, procName, func() Processor[K, change[V], K, change[V]] {
		return &suppressProc[K, V]{name: procName, store: store, final: s.final, duration: duration, wallClose: s.wallClose,
			maxRecords: s.buffer.maxRecords, maxBytes: s.buffer.maxBytes, shutdown: s.buffer.shutdown,
			keySerde: ks, valueSerde: vs}
	}, t.node)
	// The buffer is kept in memory and restored from its changelog, as Kafka
	// Streams' in-memory suppression buffer.
	f := &kvFactory[[]byte, []byte]{name: store, keySerde: BytesSerde(), valueSerde: BytesSerde(), logging: true, storeType: InMemoryStore, ownOps: true}
	addStoreFactory(b, f, procName)
	// A suppressed table has no getter: lookups would see values that were
	// not emitted yet.
	return &Table[K, V]{b: b, node: procName, keySerde: t.keySerde, valueSerde: t.valueSerde}
}

// bufEntry is one key's held update.
type bufEntry[K, V any] struct {
	kb     []byte
	key    K
	time   int64 // when the entry may be emitted: window end, or first update
	recTS  int64 // timestamp of the latest update
	newV   V
	hasNew bool
	prior  V // the value before the first held update
	hasPri bool
	size   int64
	idx    int
}

type bufHeap[K, V any] []*bufEntry[K, V]

func (h bufHeap[K, V]) Len() int { return len(h) }
func (h bufHeap[K, V]) Less(i, j int) bool {
	if h[i].time != h[j].time {
		return h[i].time < h[j].time
	}
	return bytes.Compare(h[i].kb, h[j].kb) < 0
}
func (h bufHeap[K, V]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *bufHeap[K, V]) Push(x any) {
	e := x.(*bufEntry[K, V])
	e.idx = len(*h)
	*h = append(*h, e)
}
func (h *bufHeap[K, V]) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// suppressProc holds updates in a buffer ordered by (time, key), as Kafka
// Streams' KTableSuppressProcessor with its time-ordered buffer: an entry
// keeps the time of its first update, later updates replace its value.
type suppressProc[K, V any] struct {
	ctx        ProcessorContext[K, change[V]]
	name       string
	store      string
	kv         *kvStore[[]byte, []byte]
	final      bool
	duration   int64
	maxRecords int64
	maxBytes   int64
	shutdown   bool
	keySerde   Serde[K]
	valueSerde Serde[V]
	observed   int64
	// With WithWallClockClose: wallClose is the idleness in ms after which
	// stream time follows the wall clock, wallBase the wall-clock time at
	// which stream time last advanced, extended the stream time the wall
	// clock moved it to (-1: none), restored the latest record time of the
	// restored buffer (stream time after a restart, until a record comes).
	wallClose int64
	wallBase  int64
	extended  int64
	restored  int64
	index     map[string]*bufEntry[K, V]
	heap      bufHeap[K, V]
	bytes     int64
}

// Buffer value layout (the changelog value): version 1, buffer time (8
// bytes), timestamp of the latest update (8), flags (1: prior present, 2:
// new present), the prior value's length as a uvarint and its bytes, then
// the new value's bytes.
const suppressBufferVersion = 1

func (p *suppressProc[K, V]) encode(e *bufEntry[K, V]) ([]byte, error) {
	flags, pb, nb, err := serializePair(p.valueSerde, e.prior, e.hasPri, e.newV, e.hasNew)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 18+binary.MaxVarintLen64+len(pb)+len(nb))
	out = append(out, suppressBufferVersion)
	out = binary.BigEndian.AppendUint64(out, uint64(e.time))
	out = binary.BigEndian.AppendUint64(out, uint64(e.recTS))
	return appendPair(out, flags, pb, nb), nil
}

// decodeSuppressed parses a buffer value into e (values still serialized).
func decodeSuppressed(b []byte) (time, recTS int64, prior, newV []byte, hasPrior, hasNew bool, err error) {
	bad := func(msg string) error {
		return &SerdeError{Serde: "suppression buffer value", Len: len(b), Err: errors.New(msg)}
	}
	if len(b) < 19 {
		return 0, 0, nil, nil, false, false, bad("too short")
	}
	if b[0] != suppressBufferVersion {
		return 0, 0, nil, nil, false, false, bad(fmt.Sprintf("unknown version %d", b[0]))
	}
	time = int64(binary.BigEndian.Uint64(b[1:]))
	recTS = int64(binary.BigEndian.Uint64(b[9:]))
	flags := b[17]
	if flags&^3 != 0 {
		return 0, 0, nil, nil, false, false, bad("unknown flags")
	}
	n, w := binary.Uvarint(b[18:])
	if w <= 0 || n > uint64(len(b)-18-w) {
		return 0, 0, nil, nil, false, false, bad("bad prior value length")
	}
	rest := b[18+w:]
	prior, newV = rest[:n], rest[n:]
	hasPrior, hasNew = flags&1 != 0, flags&2 != 0
	if !hasPrior && len(prior) > 0 || !hasNew && len(newV) > 0 {
		return 0, 0, nil, nil, false, false, bad("value bytes without their flag")
	}
	return time, recTS, prior, newV, hasPrior, hasNew, nil
}

func (p *suppressProc[K, V]) Init(ctx ProcessorContext[K, change[V]]) error {
	p.ctx = ctx
	s, err := ctx.StateStore(p.store)
	if err != nil {
		return err
	}
	kv, ok := s.(*kvStore[[]byte, []byte])
	if !ok {
		return fmt.Errorf("streams: suppress %q: store %q is a %s", p.name, p.store, describeStore(s))
	}
	p.kv, p.observed = kv, -1
	p.extended, p.restored = -1, -1
	p.index = make(map[string]*bufEntry[K, V])
	p.heap = p.heap[:0]
	p.bytes = 0
	// Rebuild the in-memory order from the restored buffer.
	it, err := kv.allCounted()
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		kb, vb := it.Key(), it.Value()
		e, err := p.entryFrom(kb, vb)
		if err != nil {
			return fmt.Errorf("streams: suppress %q: restore buffer: %w", p.name, err)
		}
		p.index[string(e.kb)] = e
		heap.Push(&p.heap, e)
		p.bytes += e.size
		p.restored = max(p.restored, e.recTS)
	}
	if err := it.Err(); err != nil {
		return err
	}
	if p.wallClose > 0 {
		p.wallBase = ctx.WallClockTime()
		every := min(max(p.wallClose/4, 1), 1000)
		if _, err := ctx.Schedule(time.Duration(every)*time.Millisecond, WallClockTime, p.wallClockClose); err != nil {
			return fmt.Errorf("streams: suppress %q: schedule wall-clock close: %w", p.name, err)
		}
	}
	return nil
}

// wallClockClose moves the suppression's stream time with the wall clock
// once stream time has not advanced for wallClose, and emits what that
// closes.
func (p *suppressProc[K, V]) wallClockClose(now int64) error {
	base := max(p.observed, p.restored)
	idle := now - p.wallBase
	if base < 0 || idle < p.wallClose {
		return nil
	}
	p.extended = max(p.extended, base+idle)
	return p.enforce()
}

func (p *suppressProc[K, V]) entryFrom(kb, vb []byte) (*bufEntry[K, V], error) {
	tm, recTS, pb, nb, hasPri, hasNew, err := decodeSuppressed(vb)
	if err != nil {
		return nil, err
	}
	e := &bufEntry[K, V]{kb: cloneBytes(kb), time: tm, recTS: recTS, hasNew: hasNew, hasPri: hasPri, size: int64(len(kb) + len(vb))}
	if e.key, err = p.keySerde.Deserialize(e.kb); err != nil {
		return nil, err
	}
	if hasPri {
		if e.prior, err = p.valueSerde.Deserialize(pb); err != nil {
			return nil, err
		}
	}
	if hasNew {
		if e.newV, err = p.valueSerde.Deserialize(nb); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (p *suppressProc[K, V]) Close() error { return nil }

func (p *suppressProc[K, V]) Process(r Record[K, change[V]]) error {
	if r.Timestamp > p.observed {
		p.observed = r.Timestamp
		if p.wallClose > 0 {
			p.wallBase = p.ctx.WallClockTime()
		}
	}
	kb, err := p.keySerde.Serialize(r.Key)
	if err != nil {
		return fmt.Errorf("streams: suppress %q: serialize key: %w", p.name, err)
	}
	if kb == nil {
		kb = []byte{}
	}
	e, ok := p.index[string(kb)]
	if !ok {
		e = &bufEntry[K, V]{kb: kb, key: r.Key, prior: r.Value.oldV, hasPri: r.Value.hasOld}
		if p.final {
			e.time = any(r.Key).(windowEnder).windowEnd()
		} else {
			e.time = r.Timestamp
		}
	}
	e.recTS = r.Timestamp
	e.newV, e.hasNew = r.Value.newV, r.Value.hasNew
	vb, err := p.encode(e)
	if err != nil {
		return fmt.Errorf("streams: suppress %q: serialize value: %w", p.name, err)
	}
	if err := p.kv.putCounted(kb, vb); err != nil {
		return err
	}
	size := int64(len(kb) + len(vb))
	if ok {
		p.bytes += size - e.size
		e.size = size
	} else {
		e.size = size
		p.bytes += size
		p.index[string(kb)] = e
		heap.Push(&p.heap, e)
	}
	return p.enforce()
}

func (p *suppressProc[K, V]) overCapacity() bool {
	return p.maxRecords > 0 && int64(len(p.heap)) > p.maxRecords || p.maxBytes > 0 && p.bytes > p.maxBytes
}

// enforce emits what may be emitted: entries whose time is at or before
// stream time minus the duration, then, when the buffer is over capacity,
// the oldest entries (or fails, with ShutDownWhenFull).
func (p *suppressProc[K, V]) enforce() error {
	expiry := max(p.observed, p.extended) - p.duration
	for len(p.heap) > 0 && p.heap[0].time <= expiry {
		if err := p.emit(); err != nil {
			return err
		}
	}
	if !p.overCapacity() {
		return nil
	}
	if p.shutdown {
		return &BufferFullError{Processor: p.name, Records: int64(len(p.heap)), MaxRecords: p.maxRecords, Bytes: p.bytes, MaxBytes: p.maxBytes, StreamTime: p.observed, BufferTime: p.heap[0].time}
	}
	for len(p.heap) > 0 && p.overCapacity() {
		if err := p.emit(); err != nil {
			return err
		}
	}
	return nil
}

// emit removes the oldest entry and forwards its latest update, with the
// value it replaced before the first held update as the old value. Final
// results never emit a delete: a window that ends deleted (a merged
// session) had no result.
func (p *suppressProc[K, V]) emit() error {
	e := heap.Pop(&p.heap).(*bufEntry[K, V])
	delete(p.index, string(e.kb))
	p.bytes -= e.size
	if err := p.kv.putCounted(e.kb, nil); err != nil {
		return err
	}
	if p.final && !e.hasNew {
		return nil
	}
	out := Record[K, change[V]]{Key: e.key, Value: change[V]{newV: e.newV, hasNew: e.hasNew, oldV: e.prior, hasOld: e.hasPri}, Timestamp: e.recTS}
	return p.ctx.Forward(out)
}
