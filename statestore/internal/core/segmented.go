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
	wmu       sync.Mutex // serializes writers
	retention int64      // ms
	interval  int64      // ms
	observed  atomic.Int64
	segs      atomic.Pointer[[]int64] // known segment ids, ascending; copy-on-write
	onExpired statestore.ExpiredHook
	logger    statestore.ChangeLogger
	kbuf      []byte // writer's scratch key
	cbuf      []byte // writer's scratch changelog key
}

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
	return s.expire()
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
	if err := s.g.rlock("flush"); err != nil {
		return err
	}
	defer s.g.runlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
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
		s.wmu.Lock()
		defer s.wmu.Unlock()
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
// wanted) of one snapshot.
func (s *segmented) scan(op string, ranges [][2][]byte, reverse bool) (statestore.KeyValueIterator, error) {
	if len(ranges) == 0 {
		return emptyIter{}, nil
	}
	c, err := newChainIter(s.eng, ranges, reverse)
	if err != nil {
		return nil, s.errf(op, err)
	}
	return s.g.wrap(c), nil
}

// windowedIter decodes a segmented store's entries and filters them.
// windowedRead is one read of a window or session store over some segments: the keys
// keyFrom..keyTo (nil: open), or the one key keyFrom when single.
type windowedRead struct {
	op             string
	keyFrom, keyTo []byte
	single         bool
	reverse        bool
	// singleRange bounds one segment's scan for a single key; keyToHi bounds it for a
	// key range ending at keyTo.
	singleRange func(seg int64) (lo, hi []byte)
	keyToHi     func(seg int64) []byte
	decode      func(raw []byte) (key []byte, start, end int64, err error)
	keep        func(key []byte, start, end int64) bool
}

// readWindowed scans the segments segs for r and returns what r.keep accepts. The
// caller holds the read lock.
func (s *segmented) readWindowed(segs []int64, r windowedRead) (statestore.WindowedIterator, error) {
	if r.keyFrom != nil && r.keyTo != nil && bytes.Compare(r.keyFrom, r.keyTo) > 0 {
		return emptyWindowed{}, nil
	}
	ranges := make([][2][]byte, 0, len(segs))
	for _, seg := range segs {
		var lo, hi []byte
		switch {
		case r.single:
			lo, hi = r.singleRange(seg)
		default:
			lo = appendSeg(nil, seg)
			if r.keyFrom != nil {
				lo = appendEscaped(lo, r.keyFrom)
			}
			if r.keyTo != nil {
				hi = r.keyToHi(seg)
			} else {
				hi = Successor(appendSeg(nil, seg))
			}
		}
		ranges = append(ranges, [2][]byte{lo, hi})
	}
	if r.reverse {
		ranges = reversed(ranges)
	}
	in, err := s.scan(r.op, ranges, r.reverse)
	if err != nil {
		return nil, err
	}
	return &windowedIter{in: in, decode: r.decode, keep: r.keep}, nil
}

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
