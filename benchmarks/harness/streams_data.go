package harness

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The input of the streams suite, written once to one brokerlite and read
// by every case of every system:
//
//   - the main topic: Records records, keys Zipf-distributed over Keys keys
//     ("key-00042"), values of ValueSize bytes starting with the record's
//     8-byte id, timestamps one millisecond apart;
//   - the right-hand topic of the two-sided joins: Records/4 records with
//     their own Zipf keys over the same key space, four milliseconds apart
//     (the same span of event time as the main topic);
//   - the table topic of the stream-table join: one record for every key of
//     even rank, timestamped before everything else;
//   - the many-keys topic: user ids, almost every one new.
//
// Every topic is written with franz-go's default partitioner (murmur2 of the
// key, as Kafka's), so the inputs are co-partitioned and each key's records
// are in its partition in the order written.
const (
	ssbMainTopic     = "ssb-main"
	ssbRightTopic    = "ssb-right"
	ssbTableTopic    = "ssb-table"
	ssbDistinctTopic = "ssb-distinct"

	// ssbBaseTime is the timestamp of the first main record (ms): a round
	// number, so windows start at it.
	ssbBaseTime = int64(1_700_000_000_000)
	// Ids of the right-hand and table records start here, apart from the
	// main records' ids.
	ssbRightIDBase = uint64(1) << 40
	ssbTableIDBase = uint64(1) << 41
	// One many-keys record in ssbRepeatEvery repeats a key seen before; the
	// others bring a new key.
	ssbRepeatEvery = 10
)

// ssbData generates the suite's input, the same for a seed every time.
type ssbData struct {
	records   int64
	keys      int
	zipfS     float64
	valueSize int
	distinct  int64
	seed      uint64
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms) }

func ssbKey(rank int) string { return fmt.Sprintf("key-%05d", rank) }

// ssbRank parses a key written by ssbKey.
func ssbRank(k []byte, keys int) (int, bool) {
	if len(k) != 9 || string(k[:4]) != "key-" {
		return 0, false
	}
	n, err := strconv.Atoi(string(k[4:]))
	if err != nil || n < 0 || n >= keys {
		return 0, false
	}
	return n, true
}

// ssbValue fills v (ValueSize bytes) for the record with id: the id, then
// bytes derived from it (incompressible, reproducible).
func ssbValue(v []byte, id uint64) {
	binary.BigEndian.PutUint64(v, id)
	x := id*0x9e3779b97f4a7c15 + 1
	for i := 8; i < len(v); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], x)
		copy(v[i:], b[:])
	}
}

// ssbID reads the id at the start of a value.
func ssbID(v []byte) (uint64, bool) {
	if len(v) < 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

// ssbKeep is the stream-process cases' filter: it drops one record in ten.
func ssbKeep(v []byte) bool {
	id, ok := ssbID(v)
	return ok && id%10 != 9
}

// ssbTransform is the stream-process cases' map: a new value with every
// byte after the id incremented by one.
func ssbTransform(v []byte) []byte {
	out := make([]byte, len(v))
	copy(out, v)
	for i := 8; i < len(out); i++ {
		out[i]++
	}
	return out
}

// ssbJoinValue is every join's result: the left record's id and the right
// record's id.
func ssbJoinValue(left, right []byte) []byte {
	out := make([]byte, 16)
	copy(out, left[:min(8, len(left))])
	copy(out[8:], right[:min(8, len(right))])
	return out
}

// mainRecord is one record of the main or right-hand topic.
type mainRecord struct {
	rank int
	id   uint64
	ts   int64
}

// eachMain calls fn for every main record, in order.
func (d *ssbData) eachMain(fn func(r mainRecord) error) error {
	rng := rand.New(rand.NewPCG(d.seed, 0x6d61696e))
	z := rand.NewZipf(rng, d.zipfS, 1, uint64(d.keys-1))
	for i := range d.records {
		if err := fn(mainRecord{rank: int(z.Uint64()), id: uint64(i), ts: ssbBaseTime + i}); err != nil {
			return err
		}
	}
	return nil
}

func (d *ssbData) rightRecords() int64 { return d.records / 4 }

// eachRight calls fn for every right-hand record, in order.
func (d *ssbData) eachRight(fn func(r mainRecord) error) error {
	rng := rand.New(rand.NewPCG(d.seed, 0x7269676874))
	z := rand.NewZipf(rng, d.zipfS, 1, uint64(d.keys-1))
	for i := range d.rightRecords() {
		if err := fn(mainRecord{rank: int(z.Uint64()), id: ssbRightIDBase + uint64(i), ts: ssbBaseTime + 4*i}); err != nil {
			return err
		}
	}
	return nil
}

// tableRanks are the keys the table topic holds: every even rank.
func (d *ssbData) tableRanks() int { return (d.keys + 1) / 2 }

func ssbTableID(rank int) uint64 { return ssbTableIDBase + uint64(rank) }

// distinctKey names user id n of the many-keys topic. Ids are scrambled by
// an odd multiplier (a bijection mod 2^32), so new keys arrive in no order.
func distinctKey(n uint32) string { return fmt.Sprintf("u%010d", n*2654435761) }

// distinctID inverts distinctKey.
func distinctID(k []byte) (uint32, bool) {
	if len(k) != 11 || k[0] != 'u' {
		return 0, false
	}
	v, err := strconv.ParseUint(string(k[1:]), 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(v) * distinctInverse, true
}

// distinctInverse is the inverse of 2654435761 mod 2^32.
var distinctInverse = func() uint32 {
	const a = uint32(2654435761)
	x := a // Newton's iteration: each step doubles the correct low bits
	for range 5 {
		x *= 2 - a*x
	}
	return x
}()

// eachDistinct calls fn for every record of the many-keys topic: until
// d.distinct ids have appeared, one record in ssbRepeatEvery repeats a
// uniformly chosen earlier id, the others bring the next new one.
func (d *ssbData) eachDistinct(fn func(id uint32, rec uint64) error) error {
	rng := rand.New(rand.NewPCG(d.seed, 0x64697374))
	var next uint32
	for rec := uint64(0); int64(next) < d.distinct; rec++ {
		id := next
		if next > 0 && rng.IntN(ssbRepeatEvery) == 0 {
			id = uint32(rng.IntN(int(next)))
		} else {
			next++
		}
		if err := fn(id, rec); err != nil {
			return err
		}
	}
	return nil
}

// pipeline produces records without waiting for each answer and keeps the
// first failure, after which a producer stops sending.
type pipeline struct {
	cl       *kgo.Client
	wg       sync.WaitGroup
	errOnce  sync.Once
	firstErr error
	failed   atomic.Bool
}

// send produces r; acked runs when r is acknowledged.
func (p *pipeline) send(ctx context.Context, r *kgo.Record, acked func()) {
	p.wg.Add(1)
	p.cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
		defer p.wg.Done()
		if err != nil {
			p.errOnce.Do(func() { p.firstErr = err; p.failed.Store(true) })
			return
		}
		acked()
	})
}

// failure returns the first failure so far, or nil.
func (p *pipeline) failure() error {
	if p.failed.Load() {
		return p.firstErr // written before failed was set
	}
	return nil
}

// wait waits for the answers to every record sent and returns the first
// failure.
func (p *pipeline) wait() error {
	p.wg.Wait()
	return p.firstErr
}

// produceAll writes records from gen to topic and waits for every answer;
// bar counts them.
func produceAll(ctx context.Context, addr, topic string, bar *Bar, gen func(emit func(*kgo.Record)) error) (int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		return 0, fmt.Errorf("harness: streams input producer: %w", err)
	}
	defer cl.Close()
	p := &pipeline{cl: cl}
	var n int64
	err = gen(func(r *kgo.Record) {
		if p.failure() != nil || ctx.Err() != nil {
			return
		}
		n++
		p.send(ctx, r, func() {
			if bar != nil {
				bar.Add(1)
			}
		})
	})
	if werr := p.wait(); err == nil {
		err = werr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return n, fmt.Errorf("harness: writing %s: %w", topic, err)
	}
	return n, nil
}

// writeInputs writes the topics the given cases read and returns how many
// records each holds.
func (d *ssbData) writeInputs(ctx context.Context, addr string, topics map[string]bool, progress *Progress) (map[string]int64, error) {
	counts := map[string]int64{}
	total := int64(0)
	if topics[ssbMainTopic] {
		total += d.records
	}
	if topics[ssbRightTopic] {
		total += d.rightRecords()
	}
	if topics[ssbTableTopic] {
		total += int64(d.tableRanks())
	}
	if topics[ssbDistinctTopic] {
		total += d.distinct + d.distinct/(ssbRepeatEvery-1)
	}
	bar := progress.Start("streams: writing the input", total, "records")
	defer bar.Done()
	record := func(rank int, id uint64, ts int64) *kgo.Record {
		v := make([]byte, d.valueSize)
		ssbValue(v, id)
		return &kgo.Record{Key: []byte(ssbKey(rank)), Value: v, Timestamp: msTime(ts)}
	}
	// The table first: its records must be older than every stream record.
	if topics[ssbTableTopic] {
		n, err := produceAll(ctx, addr, ssbTableTopic, bar, func(emit func(*kgo.Record)) error {
			for rank := 0; rank < d.keys; rank += 2 {
				emit(record(rank, ssbTableID(rank), ssbBaseTime-1000))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		counts[ssbTableTopic] = n
	}
	for _, t := range []struct {
		topic string
		each  func(func(mainRecord) error) error
	}{{ssbMainTopic, d.eachMain}, {ssbRightTopic, d.eachRight}} {
		if !topics[t.topic] {
			continue
		}
		n, err := produceAll(ctx, addr, t.topic, bar, func(emit func(*kgo.Record)) error {
			return t.each(func(r mainRecord) error { emit(record(r.rank, r.id, r.ts)); return ctx.Err() })
		})
		if err != nil {
			return nil, err
		}
		counts[t.topic] = n
	}
	if topics[ssbDistinctTopic] {
		n, err := produceAll(ctx, addr, ssbDistinctTopic, bar, func(emit func(*kgo.Record)) error {
			return d.eachDistinct(func(id uint32, rec uint64) error {
				v := make([]byte, d.valueSize)
				ssbValue(v, rec)
				emit(&kgo.Record{Key: []byte(distinctKey(id)), Value: v, Timestamp: msTime(ssbBaseTime + int64(rec))})
				return ctx.Err()
			})
		})
		if err != nil {
			return nil, err
		}
		counts[ssbDistinctTopic] = n
	}
	return counts, nil
}

// joinPairs calls fn for every pair of a main and a right-hand record with
// the same key whose timestamps are at most window ms apart: the result of
// an inner stream-stream join, computed from the generated input alone.
func (d *ssbData) joinPairs(window int64, fn func(rank int, left, right uint64)) {
	type ev struct {
		ts int64
		id uint64
	}
	left := make([][]ev, d.keys)
	right := make([][]ev, d.keys)
	_ = d.eachMain(func(r mainRecord) error { left[r.rank] = append(left[r.rank], ev{r.ts, r.id}); return nil })
	_ = d.eachRight(func(r mainRecord) error { right[r.rank] = append(right[r.rank], ev{r.ts, r.id}); return nil })
	for k := range d.keys {
		rs := right[k]
		sort.Slice(rs, func(i, j int) bool { return rs[i].ts < rs[j].ts })
		lo := 0
		for _, l := range left[k] { // in timestamp order, as generated
			for lo < len(rs) && rs[lo].ts < l.ts-window {
				lo++
			}
			for j := lo; j < len(rs) && rs[j].ts <= l.ts+window; j++ {
				fn(k, l.id, rs[j].id)
			}
		}
	}
}
