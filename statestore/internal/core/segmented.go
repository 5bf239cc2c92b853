package core

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/rivulet-io/rivulet/statestore"
)

// metaObservedKey holds a segmented store's observed stream time, written on Flush so a
// reopened persistent store knows what has expired. It sorts after every segment (segment
// ids are >= 0, so their first byte is <= 0x7f), so no segment scan ever meets it.
var metaObservedKey = []byte{0xff, 'o', 'b', 's'}

// segmented is what window and session stores share: time segments over one engine, the
// observed stream time and expiry.
type segmented struct {
	eng       Engine
	g         guard
	retention int64 // ms
	interval  int64 // ms
	observed  atomic.Int64
	segs      atomic.Pointer[[]int64] // known segment ids, ascending; copy-on-write
	onExpired statestore.ExpiredHook
	logger    statestore.ChangeLogger
	kbuf      []byte // writer's scratch key
	cbuf      []byte // writer's scratch changelog key
	one       [1]statestore.KeyValue

	// bufReader is eng when it can read its write buffer alone (see readSnapshot). Every
	// entry it had written out when its WriteOuts was outSeen has a time (a window's start,
	// a session's end) <= outBound.
	bufReader BufferReader
	outMu     sync.Mutex
	outSeen   uint64
	outBound  int64
}

// Name implements statestore.Store.
func (s *segmented) Name() string { return s.eng.Name() }

// Persistent implements statestore.Store.
func (s *segmented) Persistent() bool { return s.eng.Persistent() }

// Flush implements statestore.Store.
func (s *segmented) Flush() error { return s.flush() }

// FlushWrites implements statestore.WriteFlusher: every write is in the engine already,
// readable; only Flush makes it durable (with the observed stream time).
func (s *segmented) FlushWrites() error {
	if err := s.g.rlock("flush"); err != nil {
		return err
	}
	s.g.runlock()
	return nil
}

// Close implements statestore.Store.
func (s *segmented) Close() error { return s.close() }

// ObservedStreamTime is the largest time written (window start or session end), -1 before
// the first write.
func (s *segmented) ObservedStreamTime() int64 { return s.observed.Load() }

func (s *segmented) init(eng Engine, retention, interval int64, onExpired statestore.ExpiredHook, logger statestore.ChangeLogger) error {
	s.eng = eng
	s.g.init(eng.Name())
	s.retention = retention
	s.interval = interval
	s.onExpired = onExpired
	s.logger = logger
	s.observed.Store(-1)
	empty := []int64{}
	s.segs.Store(&empty)
	if br, ok := eng.(BufferReader); ok {
		s.bufReader = br
		s.outSeen = br.WriteOuts()
		s.outBound = -1
	}
	if !eng.Persistent() {
		return nil
	}
	// A persistent engine may hold data: find its segments and its stream time, and drop
	// what expired before a crash left it behind.
	v, err := eng.Get(metaObservedKey)
	if err != nil {
		return err
	}
	if len(v) == 8 {
		s.observed.Store(int64(binary.BigEndian.Uint64(v)))
	}
	segs, err := discoverSegments(eng)
	if err != nil {
		return err
	}
	s.segs.Store(&segs)
	if n := len(segs); n > 0 {
		// What the store opened with may be newer than the observed time it saved (a
		// crash after a write-out, before the Flush that saves it): bound it by its
		// newest segment's end instead.
		s.outBound = max(s.observed.Load(), segmentEnd(segs[n-1], s.interval))
	} else {
		s.outBound = s.observed.Load()
	}
	return s.expire()
}

// segmentEnd is the largest time of segment seg, saturated at math.MaxInt64.
func segmentEnd(seg, interval int64) int64 {
	start := seg * interval
	if start > math.MaxInt64-interval {
		return math.MaxInt64
	}
	return start + interval - 1
}

func discoverSegments(eng Engine) ([]int64, error) {
	snap, err := eng.Snapshot()
	if err != nil {
		return nil, err
	}
	defer snap.Release()
	var segs []int64
	lo := appendSeg(nil, 0)
	for {
		it, err := snap.Iter(lo, []byte{0x80}, false)
		if err != nil {
			return nil, err
		}
		ok := it.Next()
		var seg int64 = -1
		if ok && len(it.Key()) >= segIDLen {
			seg = int64(binary.BigEndian.Uint64(it.Key()))
		}
		err = it.Err()
		it.Close()
		if err != nil {
			return nil, err
		}
		if !ok || seg < 0 {
			return segs, nil
		}
		segs = append(segs, seg)
		if seg == math.MaxInt64 {
			return segs, nil
		}
		lo = appendSeg(lo[:0], seg+1)
	}
}

func (s *segmented) errf(op string, err error) error {
	return fmt.Errorf("statestore: %s: %s: %w", s.eng.Name(), op, err)
}

func (s *segmented) segmentOf(ts int64) int64 { return ts / s.interval }

// minLive is the smallest unexpired time: the observed stream time minus the retention
// plus one, or 0.
func (s *segmented) minLive() int64 {
	obs := s.observed.Load()
	if obs < 0 {
		return 0
	}
	return max(obs-s.retention+1, 0)
}

// advance moves the observed stream time to ts and reports whether ts is expired.
func (s *segmented) advance(ts int64) (expired bool) {
	if ts > s.observed.Load() {
		s.observed.Store(ts)
	}
	return ts < s.minLive()
}

// late moves the observed stream time to ts and reports whether ts is expired; an
// expired write of key is handed to the expired hook. Call with wmu held.
func (s *segmented) late(key []byte, ts int64) bool {
	if !s.advance(ts) {
		return false
	}
	if s.onExpired != nil {
		s.onExpired(key, ts)
	}
	return true
}

// putScratch writes value under the store key in kbuf, hands it to the change logger
// under the changelog key in cbuf (which the caller fills only when there is a logger),
// then drops expired segments. Call with wmu held.
func (s *segmented) putScratch(value []byte) error {
	s.one[0] = statestore.KeyValue{Key: s.kbuf, Value: value}
	err := s.eng.Apply(s.one[:])
	s.one[0] = statestore.KeyValue{}
	if err != nil {
		return s.errf("put", err)
	}
	if s.logger != nil {
		if err := s.logger(s.cbuf, value); err != nil {
			return s.errf("put: change logger", err)
		}
	}
	return s.expireErr()
}

func (s *segmented) expireErr() error {
	if err := s.expire(); err != nil {
		return s.errf("expire segments", err)
	}
	return nil
}

// restore applies changelog records. entry parses a record's changelog key into the time
// that picks its segment and a function building its store key in that segment (called
// only for records still live); records already expired are skipped.
func (s *segmented) restore(records []statestore.KeyValue, entry func(changelogKey []byte) (ts int64, storeKey func(seg int64) []byte, err error)) error {
	if err := s.g.wlock("restore"); err != nil {
		return err
	}
	defer s.g.wunlock()
	batch := make([]statestore.KeyValue, 0, len(records))
	for _, r := range records {
		ts, storeKey, err := entry(r.Key)
		if err != nil {
			return s.errf("restore", err)
		}
		if s.advance(ts) {
			continue
		}
		seg := s.segmentOf(ts)
		s.addSegment(seg)
		batch = append(batch, statestore.KeyValue{Key: storeKey(seg), Value: r.Value})
	}
	// Records of segments that expired during this batch are dropped with their segment.
	if err := s.eng.Restore(batch); err != nil {
		return s.errf("restore", err)
	}
	return s.expireErr()
}

// getAt reads the entry of time ts under storeKey: nil when ts is expired.
func (s *segmented) getAt(op string, ts int64, storeKey []byte) ([]byte, error) {
	if err := s.g.rlock(op); err != nil {
		return nil, err
	}
	defer s.g.runlock()
	if ts < s.minLive() {
		return nil, nil
	}
	v, err := s.eng.Get(storeKey)
	if err != nil {
		return nil, s.errf(op, err)
	}
	return v, nil
}

// read is every ranged read: keys keyFrom..keyTo (keyFrom alone when single) in the
// segments of times from (raised to the smallest live time) to to, nothing when from >
// to. bounds gives the key range to scan in a segment, keep filters the decoded entries;
// both get the raised from.
func (s *segmented) read(op string, keyFrom, keyTo []byte, single bool, from, to int64, reverse bool,
	bounds func(seg, from int64) (lo, hi []byte),
	decode func(raw []byte) (key []byte, start, end int64, err error),
	keep func(from, start, end int64) bool) (statestore.WindowedIterator, error) {
	if single && keyFrom == nil {
		return nil, s.errf(op, statestore.ErrNilKey)
	}
	if err := s.g.rlock(op); err != nil {
		return nil, err
	}
	defer s.g.runlock()
	from = max(from, s.minLive())
	if from > to {
		return emptyWindowed{}, nil
	}
	if keyFrom != nil && keyTo != nil && bytes.Compare(keyFrom, keyTo) > 0 {
		return emptyWindowed{}, nil
	}
	segs := s.segmentsIn(from, to)
	ranges := make([][2][]byte, 0, len(segs))
	for _, seg := range segs {
		lo, hi := bounds(seg, from)
		ranges = append(ranges, [2][]byte{lo, hi})
	}
	if reverse {
		ranges = reversed(ranges)
	}
	in, err := s.scan(op, ranges, from, reverse)
	if err != nil {
		return nil, err
	}
	return &windowedIter{
		in:     in,
		decode: decode,
		keep: func(_ []byte, start, end int64) bool {
			return keep(from, start, end)
		},
	}, nil
}

// addSegment records seg as known. Call with wmu held.
func (s *segmented) addSegment(seg int64) {
	cur := *s.segs.Load()
	i, found := slices.BinarySearch(cur, seg)
	if found {
		return
	}
	next := slices.Insert(slices.Clone(cur), i, seg)
	s.segs.Store(&next)
}

// expire drops every segment whose times are all expired. Call with wmu held (or during init).
func (s *segmented) expire() error {
	minSeg := s.segmentOf(s.minLive())
	cur := *s.segs.Load()
	n := 0
	for n < len(cur) && cur[n] < minSeg {
		n++
	}
	if n == 0 {
		return nil
	}
	prefixes := make([][]byte, n)
	for i := range n {
		prefixes[i] = appendSeg(nil, cur[i])
	}
	next := slices.Clone(cur[n:])
	s.segs.Store(&next)
	return s.eng.DropPrefixes(prefixes)
}

// segmentsIn returns the known segments that hold times in [from, to], ascending.
func (s *segmented) segmentsIn(from, to int64) []int64 {
	cur := *s.segs.Load()
	lo, _ := slices.BinarySearch(cur, s.segmentOf(from))
	hi, _ := slices.BinarySearch(cur, s.segmentOf(to)+1)
	if to == math.MaxInt64 {
		hi = len(cur)
	}
	if lo >= hi {
		return nil
	}
	return cur[lo:hi]
}

func (s *segmented) flush() error {
	if err := s.g.wlock("flush"); err != nil {
		return err
	}
	defer s.g.wunlock()
	if s.eng.Persistent() {
		obs := s.observed.Load()
		if obs >= 0 {
			meta := []statestore.KeyValue{{Key: metaObservedKey, Value: binary.BigEndian.AppendUint64(nil, uint64(obs))}}
			if err := s.eng.Apply(meta); err != nil {
				return s.errf("flush", err)
			}
		}
	}
	if err := s.eng.Flush(); err != nil {
		return s.errf("flush", err)
	}
	return nil
}

func (s *segmented) close() error {
	var ferr error
	if s.eng.Persistent() {
		if err := s.flush(); err != nil && !errorsIs(err, statestore.ErrClosed) {
			ferr = err
		}
	}
	err := s.g.close(func() error {
		s.g.wmu.Lock()
		defer s.g.wmu.Unlock()
		if err := s.eng.Close(); err != nil {
			return s.errf("close", err)
		}
		return nil
	})
	if err == nil {
		err = ferr
	}
	return err
}

// scan opens a guarded iterator over the given per-segment ranges (already in the order
// wanted) of one snapshot, for a read that keeps only entries of times >= from.
func (s *segmented) scan(op string, ranges [][2][]byte, from int64, reverse bool) (statestore.KeyValueIterator, error) {
	if len(ranges) == 0 {
		return emptyIter{}, nil
	}
	snap, err := s.readSnapshot(from)
	if err != nil {
		return nil, s.errf(op, err)
	}
	return s.g.wrap(newChainIter(snap, ranges, reverse)), nil
}

// readSnapshot returns a snapshot for a read that keeps only entries of times >= from:
// of the engine's write buffer alone when nothing the engine has written out is that new.
// A join's fetch reads the other side's last moments, which are almost always still in
// the buffer: this spares it a seek through every table of the persistent part.
//
// Why it is exact: a store advances its observed time to an entry's time before it hands
// the entry to the engine, and the engine counts a write-out before it takes the entries
// it writes out. So the observed time read after the count reached n bounds every entry
// of write-outs 1..n, and BufferSnapshot(n) fails if a write-out began since.
func (s *segmented) readSnapshot(from int64) (Snapshot, error) {
	if s.bufReader != nil {
		outs := s.bufReader.WriteOuts()
		if from > s.writtenOutBound(outs) {
			snap, ok, err := s.bufReader.BufferSnapshot(outs)
			if err != nil || ok {
				return snap, err
			}
		}
	}
	return s.eng.Snapshot()
}

// writtenOutBound returns a time no entry of the engine's first outs write-outs exceeds.
func (s *segmented) writtenOutBound(outs uint64) int64 {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	if outs != s.outSeen {
		s.outSeen = outs
		s.outBound = max(s.outBound, s.observed.Load())
	}
	return s.outBound
}

// windowedIter decodes a segmented store's entries and filters them.
type windowedIter struct {
	in     statestore.KeyValueIterator
	decode func(raw []byte) (key []byte, start, end int64, err error)
	keep   func(key []byte, start, end int64) bool
	key    []byte
	start  int64
	end    int64
	err    error
}

func (w *windowedIter) Next() bool {
	if w.err != nil {
		return false
	}
	for w.in.Next() {
		k, start, end, err := w.decode(w.in.Key())
		if err != nil {
			w.err = err
			return false
		}
		if w.keep(k, start, end) {
			w.key, w.start, w.end = k, start, end
			return true
		}
	}
	return false
}

func (w *windowedIter) Key() []byte   { return w.key }
func (w *windowedIter) Start() int64  { return w.start }
func (w *windowedIter) End() int64    { return w.end }
func (w *windowedIter) Value() []byte { return w.in.Value() }

func (w *windowedIter) Err() error {
	if w.err != nil {
		return w.err
	}
	return w.in.Err()
}

func (w *windowedIter) Close() error {
	err := w.in.Close()
	if w.err != nil {
		return w.err
	}
	return err
}

type emptyWindowed struct{}

func (emptyWindowed) Next() bool    { return false }
func (emptyWindowed) Key() []byte   { return nil }
func (emptyWindowed) Start() int64  { return 0 }
func (emptyWindowed) End() int64    { return 0 }
func (emptyWindowed) Value() []byte { return nil }
func (emptyWindowed) Err() error    { return nil }
func (emptyWindowed) Close() error  { return nil }

func reversed[T any](in []T) []T {
	out := slices.Clone(in)
	slices.Reverse(out)
	return out
}
