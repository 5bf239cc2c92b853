package core

import (
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
	spans    keySpans
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
	if len(*s.segs.Load()) == 0 {
		s.spans.enable()
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
	if err := s.g.wlock("reserve sequence"); err != nil {
		return 0, err
	}
	defer s.g.wunlock()
	seq, err := s.nextSeq()
	if err != nil {
		return 0, s.errf("reserve sequence", err)
	}
	return seq, nil
}

// Options implements statestore.WindowStore.
func (s *WindowStore) Options() statestore.WindowOptions { return s.opts }

// Put implements statestore.WindowStore.
func (s *WindowStore) Put(key, value []byte, windowStart int64) error {
	if key == nil {
		return s.errf("put", statestore.ErrNilKey)
	}
	if windowStart < 0 {
		return s.errf("put", statestore.ErrNegativeTime)
	}
	if err := s.g.wlock("put"); err != nil {
		return err
	}
	defer s.g.wunlock()
	if s.late(key, windowStart) {
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
	s.spans.add(key, windowStart)
	s.kbuf = WindowStoreKey(s.kbuf[:0], seg, key, windowStart, seq)
	if s.logger != nil {
		s.cbuf = statestore.AppendWindowKey(s.cbuf[:0], key, windowStart, seq)
	}
	return s.putScratch(value)
}

// RestoreBatch implements statestore.Restorable: records carry window changelog keys.
func (s *WindowStore) RestoreBatch(records []statestore.KeyValue) error {
	return s.restore(records, func(changelogKey []byte) (int64, func(int64) []byte, error) {
		key, ws, seq, err := statestore.ParseWindowKey(changelogKey)
		return ws, func(seg int64) []byte {
			// A restored number is never handed out again.
			s.seq = max(s.seq, seq)
			s.spans.add(key, ws)
			return WindowStoreKey(nil, seg, key, ws, seq)
		}, err
	})
}

// FetchOne implements statestore.ReadOnlyWindowStore.
func (s *WindowStore) FetchOne(key []byte, windowStart int64) ([]byte, error) {
	if key == nil {
		return nil, s.errf("fetch", statestore.ErrNilKey)
	}
	if s.opts.RetainDuplicates {
		return statestore.FirstValue(s.Fetch(key, windowStart, windowStart))
	}
	return s.getAt("fetch", windowStart, WindowStoreKey(nil, s.segmentOf(windowStart), key, windowStart, 0))
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
	if single && keyFrom != nil && s.spans.misses(keyFrom, timeFrom, timeTo) {
		if err := s.g.rlock(op); err != nil {
			return nil, err
		}
		s.g.runlock()
		return emptyWindowed{}, nil
	}
	bounds := func(seg, timeFrom int64) (lo, hi []byte) {
		if single {
			return WindowStoreKey(nil, seg, keyFrom, timeFrom, 0), after(WindowStoreKey(nil, seg, keyFrom, timeTo, math.MaxUint32))
		}
		lo = appendSeg(nil, seg)
		if keyFrom != nil {
			lo = appendEscaped(lo, keyFrom)
		}
		if keyTo != nil {
			return lo, after(WindowStoreKey(nil, seg, keyTo, timeTo, math.MaxUint32))
		}
		return lo, Successor(appendSeg(nil, seg))
	}
	keep := func(timeFrom, start, _ int64) bool { return start >= timeFrom && start <= timeTo }
	return s.read(op, keyFrom, keyTo, single, timeFrom, timeTo, reverse, bounds, s.decode, keep)
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
