package streams

import (
	"fmt"
)

// The processors of windowed aggregations. Each tracks the largest
// timestamp it has seen (its observed stream time, as Kafka Streams'
// window aggregation processors do; within a sub-topology fed by its own
// inputs this is the task's stream time) and drops records whose windows
// closed: a window closes when stream time reaches its end plus the grace
// period. Dropped records are counted in taskStats.DroppedRecords (Kafka
// Streams' dropped-records).

func windowStoreOf[K, V any](p StoreProvider, name string) (*windowStore[K, V], error) {
	return storeAs[*windowStore[K, V]](p, name, "a window store of "+typesOf[K, V]())
}

func sessionStoreOf[K, V any](p StoreProvider, name string) (*sessionStore[K, V], error) {
	return storeAs[*sessionStore[K, V]](p, name, "a session store of "+typesOf[K, V]())
}

// fold adds v to an aggregate: a reduce starts a key or window with the value
// itself, an aggregation with init().
func fold[K, V, VA any](key K, v V, old VA, hadOld bool, init func() VA, agg func(K, V, VA) VA, reduce func(VA, V) VA) VA {
	switch {
	case reduce != nil && !hadOld:
		return any(v).(VA)
	case reduce != nil:
		return reduce(old, v)
	case hadOld:
		return agg(key, v, old)
	default:
		return agg(key, v, init())
	}
}

// dropNull counts a record an aggregation skips for its null key or value.
func dropNull(t *streamTask, what string) {
	t.cfg.Stats.DroppedRecords.Add(1)
	logDropped(t, "null key or value", "processor", what)
}

// dropExpired counts a record that arrived after its window closed.
func dropExpired(t *streamTask, ts int64, w Window, closeTime int64) {
	t.cfg.Stats.DroppedRecords.Add(1)
	logDropped(t, "its window has expired", "record_timestamp", readableMs(ts), "window_start", readableMs(w.Start),
		"window_end", readableMs(w.End), "window_closed_at", readableMs(closeTime))
}

// windowedAggState is what the windowed and session aggregation
// processors share: the context they forward to, their store and the
// stream time they have observed.
type windowedAggState[K, VA, S any] struct {
	ctx      ProcessorContext[Windowed[K], change[VA]]
	s        S
	observed int64
}

// open keeps ctx and opens the store name with get; no stream time is
// observed yet.
func (a *windowedAggState[K, VA, S]) open(ctx ProcessorContext[Windowed[K], change[VA]], get func(StoreProvider, string) (S, error), name string) error {
	a.ctx = ctx
	s, err := get(ctx, name)
	if err != nil {
		return err
	}
	a.s, a.observed = s, -1
	return nil
}

// closeTime observes a record at ts (with sharedTime, the task's stream
// time too) and returns the time windows have closed by: those ending at
// or before it take no more records.
func (a *windowedAggState[K, VA, S]) closeTime(ts int64, sharedTime bool, grace int64) int64 {
	a.observed = max(a.observed, ts)
	if sharedTime {
		a.observed = max(a.observed, a.ctx.StreamTime())
	}
	return a.observed - grace
}

// ---- tumbling and hopping windows ----

type timeWindowAggProc[K, V, VA any] struct {
	windowedAggState[K, VA, *windowStore[K, ValueAndTimestamp[VA]]]
	store   string
	windows TimeWindows
	init    func() VA
	agg     func(K, V, VA) VA
	reduce  func(VA, V) VA
	// sharedTime makes the observed stream time the task's, for the
	// processors of a cogroup, which share one store (cogroup.go).
	sharedTime bool
	wins       []Window
}

func (p *timeWindowAggProc[K, V, VA]) Init(ctx ProcessorContext[Windowed[K], change[VA]]) error {
	if err := p.open(ctx, windowStoreOf[K, ValueAndTimestamp[VA]], p.store); err != nil {
		return err
	}
	forwardWindowFlushes(ctx, p.s)
	return nil
}

func (p *timeWindowAggProc[K, V, VA]) Close() error { return nil }

func (p *timeWindowAggProc[K, V, VA]) Process(r Record[K, V]) error {
	if r.KeyIsNull() || r.ValueIsNull() {
		dropNull(p.s.task, "windowed aggregation")
		return nil
	}
	ts := r.Timestamp
	closeTime := p.closeTime(ts, p.sharedTime, p.windows.grace)
	p.wins = p.windows.appendWindowsFor(p.wins[:0], ts)
	for _, w := range p.wins {
		if w.End <= closeTime {
			dropExpired(p.s.task, ts, w, closeTime)
			continue
		}
		old, hadOld, err := p.s.FetchOne(r.Key, w.Start)
		if err != nil {
			return err
		}
		nv := fold(r.Key, r.Value, old.Value, hadOld, p.init, p.agg, p.reduce)
		newTS := ts
		if hadOld && old.Timestamp > ts {
			newTS = old.Timestamp
		}
		out := change[VA]{newV: nv, hasNew: true, oldV: old.Value, hasOld: hadOld}
		if err := emitWindow(p.ctx, p.s, r, w, ValueAndTimestamp[VA]{Value: nv, Timestamp: newTS}, out); err != nil {
			return err
		}
	}
	return nil
}

// emitWindow keeps agg, made by r, as the aggregate of r's key in window w
// and forwards the change out, unless the store's cache forwards it when it
// flushes.
func emitWindow[K, V, VA any](ctx ProcessorContext[Windowed[K], change[VA]], s *windowStore[K, ValueAndTimestamp[VA]], r Record[K, V], w Window, agg ValueAndTimestamp[VA], out change[VA]) error {
	if err := s.putAt(r.Key, agg, w.Start, agg.Timestamp, r.Headers); err != nil {
		return err
	}
	if s.caching() {
		return nil
	}
	return ctx.Forward(Record[Windowed[K], change[VA]]{Key: Windowed[K]{Key: r.Key, Window: w}, Value: out, Timestamp: agg.Timestamp, Headers: r.Headers})
}

// forwardWindowFlushes forwards to ctx the updates s's cache flushes, when
// s has a cache. Processors sharing a store (a cogroup's) all forward to
// the same node, so the last one registered serves them all.
func forwardWindowFlushes[K, VA any](ctx ProcessorContext[Windowed[K], change[VA]], s *windowStore[K, ValueAndTimestamp[VA]]) {
	if !s.caching() {
		return
	}
	s.setFlushListener(func(f windowFlushed[K, ValueAndTimestamp[VA]]) error {
		out := change[VA]{newV: f.newV.Value, hasNew: f.hasNew, oldV: f.oldV.Value, hasOld: f.hasOld}
		return ctx.Forward(Record[Windowed[K], change[VA]]{Key: f.key, Value: out, Timestamp: f.ts, Headers: f.headers})
	})
}

// ---- sliding windows (KIP-450) ----

// slidingWindowAggProc keeps, per key, one window per distinct set of
// records within the time difference d: each record at t has a left window
// [t-d, t] (created when the record arrives) and a right window
// [t+1, t+1+d] (created once a later record falls into it). A record
// updates every existing window it falls into and creates the windows it
// defines, with the aggregate of the records they hold, as Kafka Streams'
// KStreamSlidingWindowAggregate.
type slidingWindowAggProc[K, V, VA any] struct {
	windowedAggState[K, VA, *windowStore[K, ValueAndTimestamp[VA]]]
	store   string
	windows SlidingWindows
	init    func() VA
	agg     func(K, V, VA) VA
	reduce  func(VA, V) VA
	// sharedTime makes the observed stream time the task's, for the
	// processors of a cogroup, which share one store (cogroup.go).
	sharedTime bool
	starts     map[int64]bool
}

func (p *slidingWindowAggProc[K, V, VA]) Init(ctx ProcessorContext[Windowed[K], change[VA]]) error {
	p.starts = make(map[int64]bool)
	if err := p.open(ctx, windowStoreOf[K, ValueAndTimestamp[VA]], p.store); err != nil {
		return err
	}
	forwardWindowFlushes(ctx, p.s)
	return nil
}

func (p *slidingWindowAggProc[K, V, VA]) Close() error { return nil }

// agged is an aggregate found in (or made for) a window.
type agged[VA any] struct {
	v  ValueAndTimestamp[VA]
	ok bool
}

func (p *slidingWindowAggProc[K, V, VA]) Process(r Record[K, V]) error {
	if r.KeyIsNull() || r.ValueIsNull() {
		dropNull(p.s.task, "sliding window aggregation")
		return nil
	}
	ts := r.Timestamp
	d := p.windows.diff
	closeTime := p.closeTime(ts, p.sharedTime, p.windows.grace)
	// Every window this record could create or update closed already.
	if ts+1+d <= closeTime {
		dropExpired(p.s.task, ts, Window{Start: ts - d, End: ts}, closeTime)
		return nil
	}
	clear(p.starts)
	if ts < d {
		return p.processEarly(r, closeTime)
	}
	return p.processInOrder(r, closeTime)
}

func (p *slidingWindowAggProc[K, V, VA]) processInOrder(r Record[K, V], closeTime int64) error {
	ts, d := r.Timestamp, p.windows.diff
	var leftAgg, rightAgg agged[VA]
	leftCreated, rightCreated := false, false
	prevTS, hasPrev := int64(0), false
	it, err := p.s.Fetch(r.Key, max(0, ts-2*d), ts+1)
	if err != nil {
		return err
	}
	for it.Next() {
		start := it.Key().Window.Start
		p.starts[start] = true
		end := start + d
		val := it.Value()
		switch {
		case end < ts:
			// A window entirely before the record: the latest one holds the
			// records of the record's left window.
			leftAgg = agged[VA]{v: val, ok: true}
			prevTS, hasPrev = val.Timestamp, true
		case end == ts:
			leftCreated = true
			if val.Timestamp < ts {
				prevTS, hasPrev = val.Timestamp, true
			}
			if err := p.update(r, Window{Start: start, End: end}, val, closeTime); err != nil {
				it.Close()
				return err
			}
		case start <= ts:
			rightAgg = agged[VA]{v: val, ok: true}
			if err := p.update(r, Window{Start: start, End: end}, val, closeTime); err != nil {
				it.Close()
				return err
			}
		case start == ts+1:
			rightCreated = true
		default:
			it.Close()
			return fmt.Errorf("streams: sliding window aggregation: unexpected window starting at %d for a record at %d", start, ts)
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	// The previous record's right window, if the record falls into it.
	if hasPrev {
		prevRight := prevTS + 1
		if !p.starts[prevRight] && prevRight+d >= ts {
			if err := p.createPrevRight(r, prevRight, closeTime); err != nil {
				return err
			}
		}
	}
	// The record's left window.
	if !leftCreated {
		var base ValueAndTimestamp[VA]
		hasBase := false
		if hasPrev && ts-d <= prevTS {
			base, hasBase = ValueAndTimestamp[VA]{Value: leftAgg.v.Value, Timestamp: ts}, true
		}
		if err := p.create(r, Window{Start: ts - d, End: ts}, base, hasBase, closeTime); err != nil {
			return err
		}
	}
	// The record's right window, when later records fall into it.
	if !rightCreated && rightAgg.ok && rightAgg.v.Timestamp > ts {
		return p.createCurrentRight(r, rightAgg.v)
	}
	return nil
}

// processEarly handles records with 0 <= t < d, whose left windows would
// start before 0: they share the window [0, d], as in Kafka Streams.
func (p *slidingWindowAggProc[K, V, VA]) processEarly(r Record[K, V], closeTime int64) error {
	ts, d := r.Timestamp, p.windows.diff
	var combined agged[VA]
	var rightAgg agged[VA]
	rightCreated := false
	prevTS, hasPrev := int64(0), false
	it, err := p.s.Fetch(r.Key, 0, ts+1)
	if err != nil {
		return err
	}
	for it.Next() {
		start := it.Key().Window.Start
		p.starts[start] = true
		val := it.Value()
		switch {
		case start == 0:
			combined = agged[VA]{v: val, ok: true}
			if val.Timestamp < ts {
				prevTS, hasPrev = val.Timestamp, true
			}
		case start <= ts:
			rightAgg = agged[VA]{v: val, ok: true}
			if err := p.update(r, Window{Start: start, End: start + d}, val, closeTime); err != nil {
				it.Close()
				return err
			}
		case start == ts+1:
			rightCreated = true
		default:
			it.Close()
			return fmt.Errorf("streams: sliding window aggregation: unexpected window starting at %d for an early record at %d", start, ts)
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	// With no right window found, the combined window holds exactly the
	// records of this record's right window when it has later ones.
	if !rightAgg.ok && combined.ok && combined.v.Timestamp > ts {
		rightAgg = combined
	}
	if !rightCreated && rightAgg.ok && rightAgg.v.Timestamp > ts {
		if err := p.createCurrentRight(r, rightAgg.v); err != nil {
			return err
		}
	}
	if hasPrev && !p.starts[prevTS+1] {
		if err := p.createPrevRight(r, prevTS+1, closeTime); err != nil {
			return err
		}
	}
	w := Window{Start: 0, End: d}
	if !combined.ok {
		return p.create(r, w, ValueAndTimestamp[VA]{}, false, closeTime)
	}
	return p.update(r, w, combined.v, closeTime)
}

// createCurrentRight creates the record's right window [t+1, t+1+d] with
// the aggregate of the later records it holds (the record itself is not in
// it).
func (p *slidingWindowAggProc[K, V, VA]) createCurrentRight(r Record[K, V], agg ValueAndTimestamp[VA]) error {
	w := Window{Start: r.Timestamp + 1, End: r.Timestamp + 1 + p.windows.diff}
	return emitWindow(p.ctx, p.s, r, w, agg, change[VA]{newV: agg.Value, hasNew: true})
}

// createPrevRight creates the previous record's right window, which holds
// only this record so far.
func (p *slidingWindowAggProc[K, V, VA]) createPrevRight(r Record[K, V], start, closeTime int64) error {
	return p.create(r, Window{Start: start, End: start + p.windows.diff}, ValueAndTimestamp[VA]{}, false, closeTime)
}

// create makes window w from base (or from nothing) plus the record.
func (p *slidingWindowAggProc[K, V, VA]) create(r Record[K, V], w Window, base ValueAndTimestamp[VA], hasBase bool, closeTime int64) error {
	if !hasBase {
		base.Timestamp = r.Timestamp
		if p.reduce == nil {
			base.Value = p.init()
			hasBase = true
		}
	}
	return p.apply(r, w, base, hasBase, false, closeTime)
}

// update adds the record to the existing window w.
func (p *slidingWindowAggProc[K, V, VA]) update(r Record[K, V], w Window, cur ValueAndTimestamp[VA], closeTime int64) error {
	return p.apply(r, w, cur, true, true, closeTime)
}

func (p *slidingWindowAggProc[K, V, VA]) apply(r Record[K, V], w Window, cur ValueAndTimestamp[VA], hasCur, existed bool, closeTime int64) error {
	// A sliding window includes its end: one ending at the close time still takes a
	// record at that time (as Kafka Streams), so with no grace a record updates its
	// own left window.
	if w.End < closeTime {
		dropExpired(p.s.task, r.Timestamp, w, closeTime)
		return nil
	}
	ts := r.Timestamp
	var nv VA
	switch {
	case p.reduce != nil && !hasCur:
		nv = any(r.Value).(VA)
	case p.reduce != nil:
		nv = p.reduce(cur.Value, r.Value)
	default:
		nv = p.agg(r.Key, r.Value, cur.Value)
	}
	newTS := ts
	if hasCur && cur.Timestamp > ts {
		newTS = cur.Timestamp
	}
	out := change[VA]{newV: nv, hasNew: true}
	if existed {
		out.oldV, out.hasOld = cur.Value, true
	}
	return emitWindow(p.ctx, p.s, r, w, ValueAndTimestamp[VA]{Value: nv, Timestamp: newTS}, out)
}

// ---- sessions ----

// sessionAggProc merges each record into the sessions of its key within
// the inactivity gap, as Kafka Streams' KStreamSessionWindowAggregate: the
// merged sessions are removed (and forwarded as deletes) and the new
// session, [earliest start, latest end], is put and forwarded with its
// end as the timestamp.
type sessionAggProc[K, V, VA any] struct {
	windowedAggState[K, VA, *sessionStore[K, VA]]
	store   string
	windows SessionWindows
	init    func() VA
	agg     func(K, V, VA) VA
	reduce  func(VA, V) VA
	merger  func(K, VA, VA) VA
	// sharedTime makes the observed stream time the task's, for the
	// processors of a cogroup, which share one store (cogroup.go).
	sharedTime bool
	merged     []KeyValue[Windowed[K], VA]
}

func (p *sessionAggProc[K, V, VA]) Init(ctx ProcessorContext[Windowed[K], change[VA]]) error {
	if err := p.open(ctx, sessionStoreOf[K, VA], p.store); err != nil {
		return err
	}
	if p.s.caching() {
		// As forwardWindowFlushes: the last processor of a shared store
		// registered serves them all.
		p.s.setFlushListener(func(f windowFlushed[K, VA]) error {
			out := change[VA]{newV: f.newV, hasNew: f.hasNew, oldV: f.oldV, hasOld: f.hasOld}
			return ctx.Forward(Record[Windowed[K], change[VA]]{Key: f.key, Value: out, Timestamp: f.ts, Headers: f.headers})
		})
	}
	return nil
}

func (p *sessionAggProc[K, V, VA]) Close() error { return nil }

func (p *sessionAggProc[K, V, VA]) Process(r Record[K, V]) error {
	if r.KeyIsNull() || r.ValueIsNull() {
		dropNull(p.s.task, "session aggregation")
		return nil
	}
	ts := r.Timestamp
	// A session ending at e may still be extended by a record up to e+gap, so it closes
	// only once stream time passes e+gap+grace, as in Kafka Streams.
	closeTime := p.closeTime(ts, p.sharedTime, p.windows.grace+p.windows.gap)
	newWin := Window{Start: ts, End: ts}
	merged := newWin
	var agg VA
	hasAgg := false
	if p.reduce == nil {
		agg, hasAgg = p.init(), true
	}
	p.merged = p.merged[:0]
	it, err := p.s.FindSessions(r.Key, ts-p.windows.gap, ts+p.windows.gap)
	if err != nil {
		return err
	}
	for it.Next() {
		k, v := it.Key(), it.Value()
		p.merged = append(p.merged, KeyValue[Windowed[K], VA]{Key: k, Value: v})
		if hasAgg {
			agg = p.merger(r.Key, agg, v)
		} else {
			agg, hasAgg = v, true
		}
		merged.Start = min(merged.Start, k.Window.Start)
		merged.End = max(merged.End, k.Window.End)
	}
	if err := it.Close(); err != nil {
		return err
	}
	if merged.End < closeTime {
		dropExpired(p.s.task, ts, merged, closeTime)
		return nil
	}
	// With a cache, the store forwards the removes and the put when it
	// flushes, with the same timestamps (a session's end) and headers.
	if merged != newWin {
		for _, s := range p.merged {
			if err := p.s.removeAt(s.Key, s.Key.Window.End, r.Headers); err != nil {
				return err
			}
			if p.s.caching() {
				continue
			}
			out := Record[Windowed[K], change[VA]]{Key: s.Key, Value: change[VA]{oldV: s.Value, hasOld: true}, Timestamp: s.Key.Window.End, Headers: r.Headers}
			if err := p.ctx.Forward(out); err != nil {
				return err
			}
		}
	}
	switch {
	case p.reduce != nil && !hasAgg:
		agg = any(r.Value).(VA)
	case p.reduce != nil:
		agg = p.reduce(agg, r.Value)
	default:
		agg = p.agg(r.Key, r.Value, agg)
	}
	key := Windowed[K]{Key: r.Key, Window: merged}
	if err := p.s.putAt(key, agg, merged.End, r.Headers); err != nil {
		return err
	}
	if p.s.caching() {
		return nil
	}
	return p.ctx.Forward(Record[Windowed[K], change[VA]]{Key: key, Value: change[VA]{newV: agg, hasNew: true}, Timestamp: merged.End, Headers: r.Headers})
}
