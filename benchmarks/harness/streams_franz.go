package harness

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The hand-written franz-go programs: what a Go developer would write for
// each case without a framework, and so the practical bound on this
// machine. One group member reads the case's inputs; its fetches go,
// partition by partition, to one worker goroutine per thread (partition p to
// worker p mod threads, so the two inputs of a join meet in one worker);
// state lives in Go maps per partition, counts and table joins are written
// at each commit interval (the changed keys only, as a record cache), and
// offsets are marked after processing and committed every commit interval.
// They keep no changelog and restore nothing: that is the framework's work
// the bound leaves out.

// franzRun is a running franz-go program.
type franzRun struct {
	cl      *kgo.Client
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	err     error
	workers []chan kgo.FetchTopicPartition
}

func (r *franzRun) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

func (r *franzRun) failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *franzRun) stop() error {
	r.cancel()
	r.wg.Wait()
	r.cl.Close()
	err := r.failed()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// franzPart is the state of one input partition (of every input topic of
// that number).
type franzPart struct {
	streamTime int64
	// leftTime and rightTime are the largest timestamps seen on each side
	// of a stream-stream join.
	leftTime, rightTime int64
	counts              map[string]int64
	dirty               map[string]struct{}
	store               map[string][]byte
	left                map[string][]joinEv
	right               map[string][]joinEv
	table               map[string][]byte
	leftTable           map[string][]byte
	rightTable          map[string][]byte
	windowEnd           map[string]int64 // window key -> window end, for expiry
}

type joinEv struct {
	ts int64
	id [8]byte
}

func newFranzPart() *franzPart {
	return &franzPart{streamTime: -1, leftTime: -1, rightTime: -1, counts: map[string]int64{}, dirty: map[string]struct{}{}, store: map[string][]byte{},
		left: map[string][]joinEv{}, right: map[string][]joinEv{}, leftTable: map[string][]byte{}, rightTable: map[string][]byte{},
		windowEnd: map[string]int64{}}
}

// startFranzCase runs case c as a franz-go program of consumer group
// group.
func startFranzCase(ctx context.Context, cfg StreamsConfig, c ssbCase, addr, group, out string, observe func(key, value []byte)) (*franzRun, error) {
	topics := c.inputs
	var tables map[int32]map[string][]byte
	if c.name == CaseStreamTableJoin {
		// The table is read to its end before the stream, as goka and
		// Rivulet (timestamp order) do.
		var err error
		if tables, err = loadTable(ctx, addr, c.inputs[1]); err != nil {
			return nil, err
		}
		topics = c.inputs[:1]
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AutoCommitMarks(), kgo.AutoCommitInterval(cfg.CommitInterval),
		kgo.DefaultProduceTopic(out), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err != nil {
		return nil, fmt.Errorf("harness: franz-go %s: %w", c.name, err)
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &franzRun{cl: cl, cancel: cancel}
	for w := range cfg.Threads {
		ch := make(chan kgo.FetchTopicPartition, 4)
		r.workers = append(r.workers, ch)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.work(rctx, cfg, c, w, ch, tables, observe)
		}()
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		pollUntilDone(rctx, cl, func(fs kgo.Fetches) {
			fs.EachError(func(t string, p int32, err error) { r.fail(fmt.Errorf("fetch %s-%d: %w", t, p, err)) })
			fs.EachPartition(func(p kgo.FetchTopicPartition) {
				if len(p.Records) == 0 {
					return
				}
				select {
				case r.workers[int(p.Partition)%len(r.workers)] <- p:
				case <-rctx.Done():
				}
			})
		})
	}()
	return r, nil
}

// loadTable reads topic from its start to its end offsets, by partition.
func loadTable(ctx context.Context, addr, topic string) (map[int32]map[string][]byte, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, fmt.Errorf("harness: franz-go table reader: %w", err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("harness: franz-go table end offsets: %w", err)
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	out := map[int32]map[string][]byte{}
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("fetch %s-%d: %w", t, p, err) })
		if ferr != nil {
			return nil, ferr
		}
		fs.EachRecord(func(rec *kgo.Record) {
			m := out[rec.Partition]
			if m == nil {
				m = map[string][]byte{}
				out[rec.Partition] = m
			}
			m[string(rec.Key)] = rec.Value
			if rec.Offset+1 >= left[rec.Partition] {
				delete(left, rec.Partition)
			}
		})
	}
	return out, nil
}

func (r *franzRun) produce(ctx context.Context, key, value []byte) {
	r.cl.Produce(ctx, &kgo.Record{Key: key, Value: value}, func(_ *kgo.Record, err error) {
		if err != nil {
			r.fail(fmt.Errorf("produce: %w", err))
		}
	})
}

// work is one worker: it processes the fetched partitions it owns and,
// every commit interval, writes what changed.
func (r *franzRun) work(ctx context.Context, cfg StreamsConfig, c ssbCase, _ int, in <-chan kgo.FetchTopicPartition, tables map[int32]map[string][]byte, observe func(key, value []byte)) {
	parts := map[int32]*franzPart{}
	tick := time.NewTicker(cfg.CommitInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			for _, ps := range parts {
				r.flush(ctx, c, ps)
			}
		case p := <-in:
			ps := parts[p.Partition]
			if ps == nil {
				ps = newFranzPart()
				ps.table = tables[p.Partition]
				parts[p.Partition] = ps
			}
			for _, rec := range p.Records {
				r.process(ctx, c, ps, p.Topic, rec, observe)
			}
			r.cl.MarkCommitRecords(p.Records[len(p.Records)-1])
		}
	}
}

func (r *franzRun) process(ctx context.Context, c ssbCase, ps *franzPart, topic string, rec *kgo.Record, observe func(key, value []byte)) {
	ts := rec.Timestamp.UnixMilli()
	ps.streamTime = max(ps.streamTime, ts)
	switch c.name {
	case CaseConsume:
		observe(rec.Key, rec.Value)
	case CaseConsumeProduce:
		r.produce(ctx, rec.Key, rec.Value)
	case CaseStreamProcess:
		if ssbKeep(rec.Value) {
			observe(rec.Key, ssbTransform(rec.Value))
		}
	case CaseStreamProcessSink:
		if ssbKeep(rec.Value) {
			r.produce(ctx, rec.Key, ssbTransform(rec.Value))
		}
	case CaseStreamProcessStore:
		ps.store[string(rec.Key)] = rec.Value
		observe(rec.Key, rec.Value)
	case CaseStreamProcessWinStore:
		size := int64(ssbWindowSize / time.Millisecond)
		for _, s := range windowStarts(ts, size, size) {
			wk := windowedKeyBytes(rec.Key, s)
			ps.store[string(wk)] = rec.Value
			ps.windowEnd[string(wk)] = s + size
			observe(wk, rec.Value)
		}
	case CaseStreamCount, CaseStreamCountDistinctKey:
		k := string(rec.Key)
		ps.counts[k]++
		ps.dirty[k] = struct{}{}
	case CaseStreamCountWindowed:
		size, adv := int64(ssbWindowSize/time.Millisecond), int64(ssbWindowAdvance/time.Millisecond)
		for _, s := range windowStarts(ts, size, adv) {
			k := string(windowedKeyBytes(rec.Key, s))
			ps.counts[k]++
			ps.dirty[k] = struct{}{}
			ps.windowEnd[k] = s + size
		}
	case CaseStreamStreamJoin:
		r.streamJoin(ctx, ps, topic == c.inputs[0], rec, ts)
	case CaseStreamTableJoin:
		if tv, ok := ps.table[string(rec.Key)]; ok {
			r.produce(ctx, rec.Key, ssbJoinValue(rec.Value, tv))
		}
	case CaseTableTableJoin:
		k := string(rec.Key)
		if topic == c.inputs[0] {
			ps.leftTable[k] = rec.Value
		} else {
			ps.rightTable[k] = rec.Value
		}
		if _, ok := ps.leftTable[k]; ok {
			if _, ok := ps.rightTable[k]; ok {
				ps.dirty[k] = struct{}{}
			}
		}
	}
}

// streamJoin joins rec with the other side's records of its key within the
// join window and keeps it for the other side's later records. The two
// topics are fetched independently, so one side may run far ahead of the
// other: a record is dropped only once the other side has passed it by
// more than the window (each side's records come in timestamp order).
func (r *franzRun) streamJoin(ctx context.Context, ps *franzPart, isLeft bool, rec *kgo.Record, ts int64) {
	window := int64(ssbJoinWindow / time.Millisecond)
	k := string(rec.Key)
	mine, other := ps.left, ps.right
	otherTime := ps.rightTime
	if isLeft {
		ps.leftTime = max(ps.leftTime, ts)
	} else {
		ps.rightTime = max(ps.rightTime, ts)
		mine, other = ps.right, ps.left
		otherTime = ps.leftTime
	}
	keep := otherTime - window
	var ev joinEv
	ev.ts = ts
	copy(ev.id[:], rec.Value)
	// Each side's buffer of a key is in timestamp order (its records come
	// from one partition in order): find the window by binary search.
	buf := other[k]
	for i := sort.Search(len(buf), func(i int) bool { return buf[i].ts >= ts-window }); i < len(buf) && buf[i].ts <= ts+window; i++ {
		if isLeft {
			r.produce(ctx, rec.Key, ssbJoinValue(ev.id[:], buf[i].id[:]))
		} else {
			r.produce(ctx, rec.Key, ssbJoinValue(buf[i].id[:], ev.id[:]))
		}
	}
	evs := mine[k]
	i := sort.Search(len(evs), func(i int) bool { return evs[i].ts >= keep })
	mine[k] = append(evs[i:], ev)
}

// flush writes the changed counts and joins of a partition.
func (r *franzRun) flush(ctx context.Context, c ssbCase, ps *franzPart) {
	for k := range ps.dirty {
		if c.name == CaseTableTableJoin {
			r.produce(ctx, []byte(k), ssbJoinValue(ps.leftTable[k], ps.rightTable[k]))
		} else {
			r.produce(ctx, []byte(k), binary.BigEndian.AppendUint64(nil, uint64(ps.counts[k])))
		}
		delete(ps.dirty, k)
	}
	// Closed windows are final and written (counts) or past retention
	// (the window store, kept for its size, no grace).
	for k, end := range ps.windowEnd {
		if end <= ps.streamTime {
			delete(ps.counts, k)
			delete(ps.store, k)
			delete(ps.windowEnd, k)
		}
	}
}
