package core

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/rivulet-io/rivulet/statestore"
)

// WindowStore is statestore.WindowStore over an Engine. Layout of an entry's key:
// segment(8) || escaped(key) || windowStart(8) || seq(4), segment = windowStart/interval.
type WindowStore struct {
	segmented
	opts statestore.WindowOptions
	size int64
	seq  uint32 // last sequence number used (RetainDuplicates)
	// reserved is the sequence number up to which a persistent store may hand out
	// numbers: reserved ahead, in blocks, in the engine before use, so a reopened store
	// never reuses a number still present (which would overwrite a duplicate).
	reserved uint32
	one      [1]statestore.KeyValue
}

// metaSeqKey holds a persistent window store's reserved sequence number.
var metaSeqKey = []byte{0xff, 's', 'e', 'q'}

const seqBlock = 1 << 20

var (
	_ statestore.WindowStore = (*WindowStore)(nil)
	_ statestore.Restorable  = (*WindowStore)(nil)
)

// NewWindowStore returns a window store over eng; it owns eng and closes it (also when
// NewWindowStore fails).
func NewWindowStore(eng Engine, opts statestore.WindowOptions) (*WindowStore, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		eng.Close()
		return nil, err
	}
	s := &WindowStore{opts: opts, size: opts.WindowSize.Milliseconds()}
	if err := s.init(eng, opts.Retention.Milliseconds(), opts.SegmentInterval.Milliseconds(), opts.OnExpired, opts.ChangeLogger); err != nil {
		eng.Close()
		return nil, s.errf("open", err)
	}
	if eng.Persistent() && opts.RetainDuplicates {
		v, err := eng.Get(metaSeqKey)
		if err != nil {
			eng.Close()
			return nil, s.errf("open", err)
		}
		if len(v) == 4 {
			s.reserved = binary.BigEndian.Uint32(v)
			s.seq = s.reserved
		}
	}
	return s, nil
}

// nextSeq returns the next sequence number, reserving a new block first when needed.
func (s *WindowStore) nextSeq() (uint32, error) {
	if s.eng.Persistent() && s.seq == s.reserved {
		next := (s.seq + seqBlock) & math.MaxInt32
		meta := []statestore.KeyValue{{Key: metaSeqKey, Value: binary.BigEndian.AppendUint32(nil, next)}}
		if err := s.eng.Apply(meta); err != nil {
			return 0, err
		}
		// Durable before any number of the block is used.
		if err := s.eng.Flush(); err != nil {
			return 0, err
		}
		s.reserved = next
	}
	s.seq = (s.seq + 1) & math.MaxInt32
	return s.seq, nil
}

// ReserveSequence hands out the next sequence number of a store that retains
// duplicates, for a write kept outside the store (staged until its transaction
// commits) and applied later through RestoreBatch under that number. A persistent
// store reserves it durably, as for its own writes, so no later write reuses it.
func (s *WindowStore) ReserveSequence() (uint32, error) {
	if err := s.g.rlock("reserve sequence"); err != nil {
		return 0, err
	}
	defer s.g.runlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	seq, err := s.nextSeq()
	if err != nil {
		return 0, s.errf("reserve sequence", err)
	}
	return seq, nil
}

// Name implements statestore.Store.
func (s *WindowStore) Name() string { return s.eng.Name() }

// Persistent implements statestore.Store.
func (s *WindowStore) Persistent() bool { return s.eng.Persistent() }

// Flush implements statestore.Store.
func (s *WindowStore) Flush() error { return s.flush() }

// Close implements statestore.Store.
func (s *WindowStore) Close() error { return s.close() }

// Options implements statestore.WindowStore.
func (s *WindowStore) Options() statestore.WindowOptions { return s.opts }

// ObservedStreamTime implements statestore.WindowStore.
func (s *WindowStore) ObservedStreamTime() int64 { return s.observed.Load() }

// Put implements statestore.WindowStore.
func (s *WindowStore) Put(key, value []byte, windowStart int64) error {
	if key == nil {
		return s.errf("put", statestore.ErrNilKey)
	}
	if windowStart < 0 {
		return s.errf("put", statestore.ErrNegativeTime)
	}
	if err := s.g.rlock("put"); err != nil {
		return err
	}
	defer s.g.runlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.advance(windowStart) {
		if s.onExpired != nil {
			s.onExpired(key, windowStart)
		}
		return s.expireErr()
	}
	if value == nil && s.opts.RetainDuplicates {
		return nil // Kafka Streams: a null value is ignored by a store with duplicates
	}
	var seq uint32
	if s.opts.RetainDuplicates {
		var err error
		if seq, err = s.nextSeq(); err != nil {
			return s.errf("put", err)
		}
	}
	seg := s.segmentOf(windowStart)
	s.addSegment(seg)
	s.kbuf = WindowStoreKey(s.kbuf[:0], seg, key, windowStart, seq)
	s.one[0] = statestore.KeyValue{Key: s.kbuf, Value: value}
	err := s.eng.Apply(s.one[:])
	s.one[0] = statestore.KeyValue{}
	if err != nil {
		return s.errf("put", err)
	}
	if s.logger != nil {
		s.cbuf = statestore.AppendWindowKey(s.cbuf[:0], key, windowStart, seq)
		if err := s.logger(s.cbuf, value); err != nil {
			return s.errf("put: change logger", err)
		}
	}
	return s.expireErr()
}

func (s *WindowStore) expireErr() error {
	if err := s.expire(); err != nil {
		return s.errf("expire segments", err)
	}
	return nil
}

// RestoreBatch implements statestore.Restorable: records carry window changelog keys.
func (s *WindowStore) RestoreBatch(records []statestore.KeyValue) error {
	if err := s.g.rlock("restore"); err != nil {
		return err
	}
	defer s.g.runlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	batch := make([]statestore.KeyValue, 0, len(records))
	for _, r := range records {
		key, ws, seq, err := statestore.ParseWindowKey(r.Key)
		if err != nil {
			return s.errf("restore", err)
		}
		if s.advance(ws) {
			continue
		}
		if seq > s.seq {
			s.seq = seq
		}
		seg := s.segmentOf(ws)
		s.addSegment(seg)
		batch = append(batch, statestore.KeyValue{Key: WindowStoreKey(nil, seg, key, ws, seq), Value: r.Value})
	}
	// Records of segments that expired during this batch are dropped with their segment.
	if err := s.eng.Restore(batch); err != nil {
		return s.errf("restore", err)
	}
	return s.expireErr()
}

// FetchOne implements statestore.ReadOnlyWindowStore.
func (s *WindowStore) FetchOne(key []byte, windowStart int64) ([]byte, error) {
	if key == nil {
		return nil, s.errf("fetch", statestore.ErrNilKey)
	}
	if s.opts.RetainDuplicates {
		it, err := s.Fetch(key, windowStart, windowStart)
		if err != nil {
			return nil, err
		}
		var v []byte
		if it.Next() {
			v = bytes.Clone(it.Value())
		}
		return v, it.Close()
	}
	if err := s.g.rlock("fetch"); err != nil {
		return nil, err
	}
	defer s.g.runlock()
	if windowStart < s.minLive() {
		return nil, nil
	}
	v, err := s.eng.Get(WindowStoreKey(nil, s.segmentOf(windowStart), key, windowStart, 0))
	if err != nil {
		return nil, s.errf("fetch", err)
	}
	return v, nil
}

func (s *WindowStore) decode(raw []byte) ([]byte, int64, int64, error) {
	_, k, ws, _, err := ParseWindowStoreKey(raw)
	if err != nil {
		return nil, 0, 0, s.errf("decode", err)
	}
	return k, ws, ws + s.size, nil
}

// fetch is every read: keys keyFrom..keyTo (single when single), starts timeFrom..timeTo.
func (s *WindowStore) fetch(op string, keyFrom, keyTo []byte, single bool, timeFrom, timeTo int64, reverse bool) (statestore.WindowedIterator, error) {
	if single && keyFrom == nil {
		return nil, s.errf(op, statestore.ErrNilKey)
	}
	if err := s.g.rlock(op); err != nil {
		return nil, err
	}
	defer s.g.runlock()
	timeFrom = max(timeFrom, s.minLive())
	if timeFrom > timeTo {
		return emptyWindowed{}, nil
	}
	if keyFrom != nil && keyTo != nil && bytes.Compare(keyFrom, keyTo) > 0 {
		return emptyWindowed{}, nil
	}
	segs := s.segmentsIn(timeFrom, timeTo)
	ranges := make([][2][]byte, 0, len(segs))
	for _, seg := range segs {
		var lo, hi []byte
		switch {
		case single:
			lo = WindowStoreKey(nil, seg, keyFrom, timeFrom, 0)
			hi = after(WindowStoreKey(nil, seg, keyFrom, timeTo, math.MaxUint32))
		default:
			lo = appendSeg(nil, seg)
			if keyFrom != nil {
				lo = appendEscaped(lo, keyFrom)
			}
			if keyTo != nil {
				hi = after(WindowStoreKey(nil, seg, keyTo, timeTo, math.MaxUint32))
			} else {
				hi = Successor(appendSeg(nil, seg))
			}
		}
		ranges = append(ranges, [2][]byte{lo, hi})
	}
	if reverse {
		ranges = reversed(ranges)
	}
	in, err := s.scan(op, ranges, reverse)
	if err != nil {
		return nil, err
	}
	return &windowedIter{
		in:     in,
		decode: s.decode,
		keep: func(_ []byte, start, _ int64) bool {
			return start >= timeFrom && start <= timeTo
		},
	}, nil
}

// Fetch implements statestore.ReadOnlyWindowStore.
func (s *WindowStore) Fetch(key []byte, timeFrom, timeTo int64) (statestore.WindowedIterator, error) {
	return s.fetch("fetch", key, key, true, timeFrom, timeTo, false)
}

// BackwardFetch implements statestore.ReadOnlyWindowStore.
func (s *WindowStore) BackwardFetch(key []byte, timeFrom, timeTo int64) (statestore.WindowedIterator, error) {
	return s.fetch("backward fetch", key, key, true, timeFrom, timeTo, true)
}

// FetchKeyRange implements statestore.ReadOnlyWindowStore.
func (s *WindowStore) FetchKeyRange(keyFrom, keyTo []byte, timeFrom, timeTo int64) (statestore.WindowedIterator, error) {
	return s.fetch("fetch key range", keyFrom, keyTo, false, timeFrom, timeTo, false)
}

// BackwardFetchKeyRange implements statestore.ReadOnlyWindowStore.
func (s *WindowStore) BackwardFetchKeyRange(keyFrom, keyTo []byte, timeFrom, timeTo int64) (statestore.WindowedIterator, error) {
	return s.fetch("backward fetch key range", keyFrom, keyTo, false, timeFrom, timeTo, true)
}

// FetchAll implements statestore.ReadOnlyWindowStore.
func (s *WindowStore) FetchAll(timeFrom, timeTo int64) (statestore.WindowedIterator, error) {
	return s.fetch("fetch all", nil, nil, false, timeFrom, timeTo, false)
}

// BackwardFetchAll implements statestore.ReadOnlyWindowStore.
func (s *WindowStore) BackwardFetchAll(timeFrom, timeTo int64) (statestore.WindowedIterator, error) {
	return s.fetch("backward fetch all", nil, nil, false, timeFrom, timeTo, true)
}

// All implements statestore.ReadOnlyWindowStore.
func (s *WindowStore) All() (statestore.WindowedIterator, error) {
	return s.fetch("all", nil, nil, false, 0, math.MaxInt64, false)
}

// BackwardAll implements statestore.ReadOnlyWindowStore.
func (s *WindowStore) BackwardAll() (statestore.WindowedIterator, error) {
	return s.fetch("backward all", nil, nil, false, 0, math.MaxInt64, true)
}
