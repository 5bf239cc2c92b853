package harness

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A checker compares what a system produced with what the input says it
// must produce, computed from the generated input alone. Each case's run is
// timed until its checker is done, and fails when the checker finds a
// wrong answer, so the suite cannot report a fast wrong one.
type checker interface {
	// observe takes one output record (read from the output topic, or
	// seen inside the system for cases without a sink). Safe for
	// concurrent use.
	observe(key, value []byte)
	// state reports progress (in the checker's units, up to total), and
	// whether the output is complete and right, or an error when it is
	// wrong.
	state() (progress int64, done bool, err error)
	// total is the progress at completion.
	total() int64
}

// multisetSum sums two seeded hashes of every (key, value) pair: two
// multisets of records with the same count and sums are equal with
// overwhelming probability, whatever the order they arrived in.
type multisetSum struct {
	n      int64
	s1, s2 uint64
}

var (
	msSeed1 = maphash.MakeSeed()
	msSeed2 = maphash.MakeSeed()
)

func pairHash(seed maphash.Seed, key, value []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(key)))
	h.Write(n[:])
	h.Write(key)
	h.Write(value)
	return h.Sum64()
}

func (m *multisetSum) add(key, value []byte) {
	m.n++
	m.s1 += pairHash(msSeed1, key, value)
	m.s2 += pairHash(msSeed2, key, value)
}

// multisetChecker expects exactly the records of want, in any order.
type multisetChecker struct {
	want   multisetSum
	n      atomic.Int64
	s1, s2 atomic.Uint64
}

func (c *multisetChecker) observe(key, value []byte) {
	c.s1.Add(pairHash(msSeed1, key, value))
	c.s2.Add(pairHash(msSeed2, key, value))
	c.n.Add(1)
}

func (c *multisetChecker) total() int64 { return c.want.n }

func (c *multisetChecker) state() (int64, bool, error) {
	n := c.n.Load()
	switch {
	case n > c.want.n:
		return n, false, fmt.Errorf("%d output records, expected %d", n, c.want.n)
	case n < c.want.n:
		return n, false, nil
	}
	if c.s1.Load() != c.want.s1 || c.s2.Load() != c.want.s2 {
		// observe adds the sums before the count: read again.
		if c.s1.Load() != c.want.s1 || c.s2.Load() != c.want.s2 {
			return n, false, fmt.Errorf("%d output records as expected, but not the expected records (checksums differ)", n)
		}
	}
	return n, true, nil
}

// finalChecker expects, for every slot (a key, or a key and a window), a
// last value equal to the slot's final value; intermediate values (a
// count on its way up, a join before the last update) may come before it.
type finalChecker struct {
	slots int
	// slotOf maps an output record to its slot and says whether its value
	// is the slot's final one; ok false is a record that must not be
	// there, a negative slot one that may be there and settles nothing.
	slotOf func(key, value []byte) (slot int, final bool, ok bool)

	mu      sync.Mutex
	atFinal []bool
	final   int
	records int64
	bad     int64
	badKey  string
}

func newFinalChecker(slots int, slotOf func(key, value []byte) (int, bool, bool)) *finalChecker {
	return &finalChecker{slots: slots, slotOf: slotOf, atFinal: make([]bool, slots)}
}

func (c *finalChecker) observe(key, value []byte) {
	slot, final, ok := c.slotOf(key, value)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records++
	if !ok || slot >= c.slots {
		c.bad++
		c.badKey = fmt.Sprintf("%q -> %x", key, value)
		return
	}
	if slot < 0 { // a record the case allows and that settles nothing
		return
	}
	if c.atFinal[slot] != final {
		c.atFinal[slot] = final
		if final {
			c.final++
		} else {
			c.final--
		}
	}
}

func (c *finalChecker) total() int64 { return int64(c.slots) }

func (c *finalChecker) state() (int64, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bad > 0 {
		return int64(c.final), false, fmt.Errorf("%d of %d output records are not expected at all (the last: %s)", c.bad, c.records, c.badKey)
	}
	return int64(c.final), c.final == c.slots && c.records > 0, nil
}

// missing reports how many slots are not at their final value.
func (c *finalChecker) missing() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slots - c.final
}

// outputReader feeds every record of a topic, from its start, to a checker.
type outputReader struct {
	cl        *kgo.Client
	addr      string
	topic     string
	committed bool
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	mu        sync.Mutex
	err       error
	// parts is what the reader saw of each partition, for the diagnostic
	// of a run whose output stops short.
	parts map[int32]*readerPartition
}

// readerPartition is what the output reader saw of one partition.
type readerPartition struct {
	next      int64 // the offset after the last record read (0 before any)
	records   int64
	hwm, lso  int64 // of the last fetch answer that carried the partition
	fetches   int64 // answers that carried the partition
	lastRecAt time.Time
}

func readOutput(addr, topic string, c checker, committed bool) (*outputReader, error) {
	cl, err := outputConsumer(addr, topic, 50*time.Millisecond, committed)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &outputReader{cl: cl, addr: addr, topic: topic, committed: committed, cancel: cancel, parts: map[int32]*readerPartition{}}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		pollUntilDone(ctx, cl, func(fs kgo.Fetches) {
			fs.EachError(func(t string, p int32, err error) {
				r.mu.Lock()
				r.err = fmt.Errorf("fetch %s-%d: %w", t, p, err)
				r.mu.Unlock()
			})
			fs.EachPartition(func(p kgo.FetchTopicPartition) {
				for _, rec := range p.Records {
					c.observe(rec.Key, rec.Value)
				}
				r.mu.Lock()
				rp := r.parts[p.Partition]
				if rp == nil {
					rp = &readerPartition{}
					r.parts[p.Partition] = rp
				}
				rp.fetches++
				rp.hwm, rp.lso = p.HighWatermark, p.LastStableOffset
				if n := len(p.Records); n > 0 {
					rp.next = p.Records[n-1].Offset + 1
					rp.records += int64(n)
					rp.lastRecAt = time.Now()
				}
				r.mu.Unlock()
			})
		})
	}()
	return r, nil
}

func (r *outputReader) lastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// diagnose describes, per partition of the output topic, the broker's end
// offset (the last stable offset when the reader reads committed records)
// against what the reader read and saw in its last fetch answer: an output
// that stops short either was not written (end offsets at the reader's
// position) or was not read (end offsets past it).
func (r *outputReader) diagnose(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.addr))
	if err != nil {
		return fmt.Sprintf("output %s: %v", r.topic, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	list := adm.ListEndOffsets
	kind := "end offset"
	if r.committed {
		list, kind = adm.ListCommittedOffsets, "last stable offset"
	}
	ends, err := list(ctx, r.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Sprintf("output %s: listing offsets: %v", r.topic, err)
	}
	var parts []string
	r.mu.Lock()
	defer r.mu.Unlock()
	ends.Each(func(o kadm.ListedOffset) {
		rp := r.parts[o.Partition]
		if rp == nil {
			parts = append(parts, fmt.Sprintf("p%d: %s %d, never fetched", o.Partition, kind, o.Offset))
			return
		}
		since := "never"
		if !rp.lastRecAt.IsZero() {
			since = time.Since(rp.lastRecAt).Round(time.Millisecond).String() + " ago"
		}
		parts = append(parts, fmt.Sprintf("p%d: %s %d, read to %d (%d records, last %s), last fetch answer hwm %d lso %d (%d answers)",
			o.Partition, kind, o.Offset, rp.next, rp.records, since, rp.hwm, rp.lso, rp.fetches))
	})
	slices.Sort(parts)
	return fmt.Sprintf("output %s: %s", r.topic, strings.Join(parts, "; "))
}

func (r *outputReader) close() {
	r.cancel()
	r.wg.Wait()
	r.cl.Close()
}
