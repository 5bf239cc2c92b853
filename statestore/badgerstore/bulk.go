package badgerstore

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/rivulet-io/rivulet/statestore"
)

// RestoreTmpDirName is the directory, inside a store directory, where a restore from
// scratch keeps its sorted runs. It is deleted when the restore finishes and at open.
const RestoreTmpDirName = "restore-tmp"

// bulkLoader restores an empty store from its changelog the fast way: records are
// gathered in a bounded buffer, sorted and spilled to disk as sorted runs; at the end the
// runs are merged (the latest record of a key wins, tombstones vanish) into Badger's
// StreamWriter, which writes tables straight to the last level: no memtable, no
// write-ahead log, no compaction. Memory stays within the buffer bound.
//
// It only applies to a store with no data at all (a new or wiped store, the case where a
// restore is longest); otherwise the engine restores through WriteBatches.
type bulkLoader struct {
	tmp   string
	limit int64
	recs  []bulkRec
	arena []byte
	size  int64
	runs  []string
}

type bulkRec struct {
	k, v []byte
	seq  int // arrival order within the run: the later record of a key wins
	tomb bool
}

const bulkRecOverhead = 64

func newBulkLoader(tmp string, limit int64) (*bulkLoader, error) {
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	return &bulkLoader{tmp: tmp, limit: max(limit, 1<<20)}, nil
}

func (b *bulkLoader) add(entries []statestore.KeyValue) error {
	for _, kv := range entries {
		n := 1 + len(kv.Key) + len(kv.Value) // the data prefix, the key, the value
		if len(b.arena)+n > cap(b.arena) {
			b.arena = make([]byte, 0, max(n, 1<<20))
		}
		s := len(b.arena)
		b.arena = pkey(b.arena, kv.Key)
		k := b.arena[s:len(b.arena):len(b.arena)]
		s = len(b.arena)
		b.arena = append(b.arena, kv.Value...)
		b.recs = append(b.recs, bulkRec{k: k, v: b.arena[s:len(b.arena):len(b.arena)], seq: len(b.recs), tomb: kv.Value == nil})
		b.size += int64(n) + bulkRecOverhead
		if b.size >= b.limit {
			if err := b.spill(); err != nil {
				return err
			}
		}
	}
	return nil
}

// sorted sorts the buffer by key (then arrival) and keeps the last record of each key.
func (b *bulkLoader) sorted() []bulkRec {
	slices.SortFunc(b.recs, func(x, y bulkRec) int {
		if c := bytes.Compare(x.k, y.k); c != 0 {
			return c
		}
		return x.seq - y.seq
	})
	out := b.recs[:0]
	for i, r := range b.recs {
		if i+1 < len(b.recs) && bytes.Equal(b.recs[i+1].k, r.k) {
			continue // a later record of the same key follows
		}
		out = append(out, r)
	}
	return out
}

// Run files hold records as: key length (4), value length (4, 0xffffffff for a
// tombstone), key, value.
const tombLen = 0xffffffff

func (b *bulkLoader) spill() error {
	recs := b.sorted()
	path := filepath.Join(b.tmp, fmt.Sprintf("run-%06d", len(b.runs)))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var hdr [8]byte
	for _, r := range recs {
		binary.BigEndian.PutUint32(hdr[:4], uint32(len(r.k)))
		vl := uint32(len(r.v))
		if r.tomb {
			vl = tombLen
		}
		binary.BigEndian.PutUint32(hdr[4:], vl)
		w.Write(hdr[:])
		w.Write(r.k)
		if _, err = w.Write(r.v); err != nil {
			break
		}
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore: spill sorted run: %w", err)
	}
	b.runs = append(b.runs, path)
	clear(b.recs)
	b.recs, b.arena, b.size = b.recs[:0], nil, 0
	return nil
}

// finish writes everything gathered to db (which must be empty) and removes the runs.
func (b *bulkLoader) finish(db *badger.DB) (err error) {
	defer os.RemoveAll(b.tmp)
	var src recordSource
	if len(b.runs) == 0 {
		src = &sliceSource{recs: b.sorted()}
	} else {
		if len(b.recs) > 0 {
			if err := b.spill(); err != nil {
				return err
			}
		}
		m, err := newMergeSource(b.runs)
		if err != nil {
			return err
		}
		defer m.close()
		src = m
	}
	sw := db.NewStreamWriter()
	if err := sw.Prepare(); err != nil {
		return fmt.Errorf("restore: stream writer: %w", err)
	}
	buf := z.NewBuffer(8<<20, "rivulet.restore")
	defer buf.Release()
	kv := &pb.KV{Version: 1}
	for {
		k, v, tomb, ok, err := src.next()
		if err != nil {
			sw.Cancel()
			return fmt.Errorf("restore: read sorted runs: %w", err)
		}
		if !ok {
			break
		}
		if tomb {
			continue // the store is empty: a key whose last record deletes it is just absent
		}
		kv.Key, kv.Value = k, v
		badger.KVToBuffer(kv, buf)
		if buf.LenNoPadding() >= 4<<20 {
			if err := sw.Write(buf); err != nil {
				sw.Cancel()
				return fmt.Errorf("restore: stream writer: %w", err)
			}
			buf.Reset()
		}
	}
	if err := sw.Write(buf); err != nil {
		sw.Cancel()
		return fmt.Errorf("restore: stream writer: %w", err)
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("restore: stream writer: %w", err)
	}
	return nil
}

// cancel drops what was gathered.
func (b *bulkLoader) cancel() { os.RemoveAll(b.tmp) }

type recordSource interface {
	next() (k, v []byte, tomb, ok bool, err error)
}

type sliceSource struct{ recs []bulkRec }

func (s *sliceSource) next() ([]byte, []byte, bool, bool, error) {
	if len(s.recs) == 0 {
		return nil, nil, false, false, nil
	}
	r := s.recs[0]
	s.recs = s.recs[1:]
	return r.k, r.v, r.tomb, true, nil
}

// runReader reads one sorted run. Records are read into two alternating arenas, so the
// record handed out by the merge stays valid while the reader moves to the next one.
type runReader struct {
	idx   int
	f     *os.File
	r     *bufio.Reader
	k, v  []byte
	tomb  bool
	arena [2][]byte
	cur   int
}

func (rr *runReader) advance() (bool, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(rr.r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, err
	}
	kl, vl := binary.BigEndian.Uint32(hdr[:4]), binary.BigEndian.Uint32(hdr[4:])
	rr.tomb = vl == tombLen
	if rr.tomb {
		vl = 0
	}
	rr.cur ^= 1
	need := int(kl) + int(vl)
	if cap(rr.arena[rr.cur]) < need {
		rr.arena[rr.cur] = make([]byte, need, max(need, 256))
	}
	buf := rr.arena[rr.cur][:need]
	if _, err := io.ReadFull(rr.r, buf); err != nil {
		return false, err
	}
	rr.k, rr.v = buf[:kl:kl], buf[kl:need:need]
	return true, nil
}

// mergeSource merges sorted runs; for equal keys the latest run wins.
type mergeSource struct {
	h   runHeap
	all []*runReader
}

func newMergeSource(paths []string) (*mergeSource, error) {
	m := &mergeSource{}
	for i, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			m.close()
			return nil, err
		}
		rr := &runReader{idx: i, f: f, r: bufio.NewReaderSize(f, 256<<10)}
		m.all = append(m.all, rr)
		ok, err := rr.advance()
		if err != nil {
			m.close()
			return nil, err
		}
		if ok {
			m.h = append(m.h, rr)
		}
	}
	heap.Init(&m.h)
	return m, nil
}

func (m *mergeSource) next() ([]byte, []byte, bool, bool, error) {
	if m.h.Len() == 0 {
		return nil, nil, false, false, nil
	}
	// The heap's top is the smallest key, and among equal keys the latest run.
	top := m.h[0]
	k, v, tomb := top.k, top.v, top.tomb
	// Move every reader past this key.
	for m.h.Len() > 0 && bytes.Equal(m.h[0].k, k) {
		ok, err := m.h[0].advance()
		if err != nil {
			return nil, nil, false, false, err
		}
		if ok {
			heap.Fix(&m.h, 0)
		} else {
			heap.Pop(&m.h)
		}
	}
	return k, v, tomb, true, nil
}

func (m *mergeSource) close() {
	for _, rr := range m.all {
		rr.f.Close()
	}
}

type runHeap []*runReader

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if c := bytes.Compare(h[i].k, h[j].k); c != 0 {
		return c < 0
	}
	return h[i].idx > h[j].idx
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
