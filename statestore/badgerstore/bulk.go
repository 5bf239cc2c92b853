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

	"github.com/rivulet-io/rivulet/statestore"
)

// RestoreTmpDirName is the directory, inside a store directory, where a restore from
// scratch keeps its sorted runs. It is deleted when the restore finishes and at open.
const RestoreTmpDirName = "restore-tmp"

// bulkLoader gathers the records of a restore from scratch and hands them back sorted
// by key, the latest record of each key only (tombstones included: the caller drops
// them). Records are copied into a run buffer of bounded size; when it is full, a
// goroutine sorts it and spills it to disk as a sorted run while the next buffer fills,
// and the runs are merged at the end. Memory stays within the bound (two buffers of half
// of it) plus a read buffer per run.
//
// It only applies to a store with no data at all (a new or wiped store, the case where a
// restore is longest); the engine restores into other stores through WriteBatches.
type bulkLoader struct {
	tmp    string
	limit  int64 // of each run buffer
	cur    *runBuf
	spare  *runBuf    // the other buffer, when no spill is using it
	spill  chan error // the spill in flight (nil: none); it sends its result once
	runs   []string   // spilled runs, oldest first
	total  int64      // records added, over all runs
	sorter            // used by one spill at a time, or by source
}

// runBuf is a run being gathered.
type runBuf struct {
	arena []byte    // keys and values of the records gathered, back to back
	recs  []bulkRec // in arrival order
}

// sorter is the sort's work space, kept across runs.
type sorter struct {
	items, scratch []radixItem
	sortedRecs     []bulkRec
}

// bulkRec is one gathered record: its key at arena[off:off+klen], then its value.
type bulkRec struct {
	off  uint32
	klen uint32
	vlen uint32 // tombLen for a tombstone
}

// bulkRecCost is what a record costs beyond its bytes: its bulkRec, its sorted copy and
// two radixItems.
const bulkRecCost = 2*12 + 2*16

// Run files hold records as: key length (4), value length (4, 0xffffffff for a
// tombstone), key, value.
const tombLen = 0xffffffff

// newBulkLoader returns a loader whose two run buffers share limit bytes.
func newBulkLoader(tmp string, limit int64) (*bulkLoader, error) {
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	return &bulkLoader{tmp: tmp, limit: max(limit/2, 1<<20), cur: &runBuf{}, spare: &runBuf{}}, nil
}

func (rb *runBuf) key(r bulkRec) []byte {
	return rb.arena[r.off : r.off+r.klen : r.off+r.klen]
}

func (rb *runBuf) value(r bulkRec) []byte {
	if r.vlen == tombLen {
		return nil
	}
	s := r.off + r.klen
	return rb.arena[s : s+r.vlen : s+r.vlen]
}

func (b *bulkLoader) add(entries []statestore.KeyValue) error {
	for _, kv := range entries {
		n := 1 + len(kv.Key) + len(kv.Value) // the data prefix, the key, the value
		if n > 1<<31 {
			return fmt.Errorf("restore: record of %d bytes", n)
		}
		rb := b.cur
		if len(rb.recs) > 0 && (len(rb.arena)+n > cap(rb.arena) || int64(len(rb.arena)+n)+int64(len(rb.recs)+1)*bulkRecCost > b.limit) {
			if err := b.startSpill(); err != nil {
				return err
			}
			rb = b.cur
		}
		if rb.arena == nil {
			// The arena takes most of the bound; the records' bookkeeping the rest.
			rb.arena = make([]byte, 0, b.limit*3/4)
		}
		off := len(rb.arena)
		if off+n > cap(rb.arena) {
			// One record larger than the whole arena.
			rb.arena = slices.Grow(rb.arena, n)
		}
		rb.arena = pkey(rb.arena, kv.Key)
		rb.arena = append(rb.arena, kv.Value...)
		r := bulkRec{off: uint32(off), klen: uint32(1 + len(kv.Key)), vlen: uint32(len(kv.Value))}
		if kv.Value == nil {
			r.vlen = tombLen
		}
		rb.recs = append(rb.recs, r)
		b.total++
	}
	return nil
}

// startSpill waits for the spill in flight, then spills the current buffer on a new
// goroutine and makes the other buffer current.
func (b *bulkLoader) startSpill() error {
	if err := b.waitSpill(); err != nil {
		return err
	}
	rb := b.cur
	path := filepath.Join(b.tmp, fmt.Sprintf("run-%06d", len(b.runs)))
	b.runs = append(b.runs, path)
	b.cur, b.spare = b.spare, nil
	done := make(chan error, 1)
	b.spill = done
	go func() {
		err := b.writeRun(rb, path)
		rb.recs, rb.arena = rb.recs[:0], rb.arena[:0]
		b.spare = rb // read by waitSpill after it receives from done
		done <- err
	}()
	return nil
}

// waitSpill waits for the spill in flight, if any.
func (b *bulkLoader) waitSpill() error {
	if b.spill == nil {
		return nil
	}
	err := <-b.spill
	b.spill = nil
	return err
}

// writeRun sorts rb's records and writes them to a run file at path.
func (b *bulkLoader) writeRun(rb *runBuf, path string) error {
	recs := b.sorted(rb)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("restore: spill sorted run: %w", err)
	}
	out := make([]byte, 0, 1<<20)
	for _, r := range recs {
		k, v := rb.key(r), rb.value(r)
		if len(out)+8+len(k)+len(v) > cap(out) && len(out) > 0 {
			if _, err = f.Write(out); err != nil {
				break
			}
			out = out[:0]
		}
		out = binary.BigEndian.AppendUint32(out, r.klen)
		out = binary.BigEndian.AppendUint32(out, r.vlen)
		out = append(append(out, k...), v...)
	}
	if err == nil && len(out) > 0 {
		_, err = f.Write(out)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore: spill sorted run: %w", err)
	}
	return nil
}

// source returns what was gathered, sorted, latest record per key. The loader must not
// be added to afterwards.
func (b *bulkLoader) source() (recordSource, error) {
	if err := b.waitSpill(); err != nil {
		return nil, err
	}
	if len(b.runs) == 0 {
		return &sliceSource{rb: b.cur, recs: b.sorted(b.cur)}, nil
	}
	if len(b.cur.recs) > 0 {
		path := filepath.Join(b.tmp, fmt.Sprintf("run-%06d", len(b.runs)))
		b.runs = append(b.runs, path)
		if err := b.writeRun(b.cur, path); err != nil {
			return nil, err
		}
	}
	b.cur, b.spare, b.sorter = nil, nil, sorter{} // the merge does not need them
	return newMergeSource(b.runs)
}

// cancel waits for the spill in flight and drops what was gathered.
func (b *bulkLoader) cancel() {
	b.waitSpill()
	os.RemoveAll(b.tmp)
}

// done removes the runs (after source's records are consumed).
func (b *bulkLoader) done() { b.cancel() }

// radixItem is a record's sort key: 8 bytes of its key (from the first byte where the
// run's keys differ) as a number, and its index in arrival order.
type radixItem struct {
	prefix uint64
	idx    uint32
}

// sorted sorts the gathered records by key, keeping only the last record of each key,
// and returns them (valid until the next call).
//
// Sorting is most of a restore's CPU with a comparison sort (~20 key comparisons per
// record), so it is a radix sort: an LSD radix sort, stable, on 8 bytes of each key
// taken after the prefix all keys of the run share (so keys with a common prefix, as
// window keys with their segment, still spread), skipping the byte positions where all
// keys agree; then the rare keys equal on those 8 bytes are ordered by a stable
// comparison sort. Stability keeps arrival order among records of one key, so the last
// of each group is the latest.
func (b *bulkLoader) sorted(rb *runBuf) []bulkRec {
	n := len(rb.recs)
	if n == 0 {
		return rb.recs
	}
	// The prefix every key of the run shares.
	first := rb.key(rb.recs[0])
	lcp := len(first)
	for _, r := range rb.recs[1:] {
		k := rb.key(r)
		l := min(lcp, len(k))
		i := 0
		for i+8 <= l && binary.LittleEndian.Uint64(first[i:]) == binary.LittleEndian.Uint64(k[i:]) {
			i += 8
		}
		for i < l && first[i] == k[i] {
			i++
		}
		lcp = i
		if lcp == 0 {
			break
		}
	}
	bufA, bufB := slices.Grow(b.items[:0], n)[:n], slices.Grow(b.scratch[:0], n)[:n]
	items := bufA
	for i, r := range rb.recs {
		k := rb.key(r)[lcp:]
		var p [8]byte
		copy(p[:], k)
		items[i] = radixItem{prefix: binary.BigEndian.Uint64(p[:]), idx: uint32(i)}
	}
	items = radixSort(items, bufB)
	// Keys equal on their 8 sorted bytes: compare the rest (stable, so arrival order
	// holds among equal keys).
	for i := 0; i < n; {
		j := i + 1
		for j < n && items[j].prefix == items[i].prefix {
			j++
		}
		if j-i > 1 {
			slices.SortStableFunc(items[i:j], func(x, y radixItem) int {
				return bytes.Compare(rb.key(rb.recs[x.idx])[lcp:], rb.key(rb.recs[y.idx])[lcp:])
			})
		}
		i = j
	}
	// Keep the last record of each key, in key order.
	out := b.sortedRecs[:0]
	for i := range items {
		r := rb.recs[items[i].idx]
		if i+1 < n && items[i+1].prefix == items[i].prefix && bytes.Equal(rb.key(rb.recs[items[i+1].idx]), rb.key(r)) {
			continue // a later record of the same key follows
		}
		out = append(out, r)
	}
	b.items, b.scratch, b.sortedRecs = bufA[:0], bufB[:0], out[:0]
	return out
}

// radixSort sorts items by prefix, stably, using scratch (of the same length); it
// returns the slice holding the result (items or scratch).
func radixSort(items, scratch []radixItem) []radixItem {
	var counts [8][256]int
	for _, it := range items {
		p := it.prefix
		for d := range 8 {
			counts[d][byte(p>>(8*d))]++
		}
	}
	src, dst := items, scratch
	for d := range 8 {
		c := &counts[d]
		if c[byte(src[0].prefix>>(8*d))] == len(src) {
			continue // every item has the same byte here
		}
		pos := 0
		for i, k := range c {
			c[i] = pos
			pos += k
		}
		shift := 8 * d
		for _, it := range src {
			b := byte(it.prefix >> shift)
			dst[c[b]] = it
			c[b]++
		}
		src, dst = dst, src
	}
	return src
}

type recordSource interface {
	// next returns the next record in key order; k and v stay valid until the call
	// after next.
	next() (k, v []byte, tomb, ok bool, err error)
}

type sliceSource struct {
	rb   *runBuf
	recs []bulkRec
}

func (s *sliceSource) next() ([]byte, []byte, bool, bool, error) {
	if len(s.recs) == 0 {
		return nil, nil, false, false, nil
	}
	r := s.recs[0]
	s.recs = s.recs[1:]
	return s.rb.key(r), s.rb.value(r), r.vlen == tombLen, true, nil
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
	// Move every reader past this key (each run holds a key once).
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
