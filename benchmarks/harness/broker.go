package harness

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BrokerConfig sets up the broker throughput benchmark.
type BrokerConfig struct {
	// Records is the number of records each produce case writes to each
	// broker. The default value is 500000.
	Records int64
	// ValueSize is the size of each record's value in bytes (random,
	// incompressible bytes; no key). The default value is 100.
	ValueSize int
	// Partitions of each topic. The default value is 4.
	Partitions int32
	// Rounds splits each case in rounds that alternate between the two
	// brokers, so a burst of load on a shared machine hits both alike. The
	// default value is 4.
	Rounds int
	// Dir holds brokerlite's log. Required.
	Dir string
	// Logger receives brokerlite's logs. The default value discards them.
	Logger *slog.Logger
}

func (c *BrokerConfig) ensureDefaults() {
	orDefault(&c.Records, 500_000)
	orDefault(&c.ValueSize, 100)
	orDefault(&c.Partitions, 4)
	orDefault(&c.Rounds, 4)
	orDefault(&c.Logger, slog.New(slog.DiscardHandler))
}

// BrokerResult is the outcome of RunBroker.
type BrokerResult struct {
	Rows   []Row
	Series []Series
}

// target is one broker under test.
type target struct {
	name string
	addr string
}

// produceCase is one producer setting both brokers are measured with.
type produceCase struct {
	name  string
	topic string
	opts  []kgo.Opt
	goal  float64
}

// RunBroker measures franz-go producing cfg.Records records of
// cfg.ValueSize bytes to brokerlite (on disk, in cfg.Dir) and to kfake (in
// memory), with acks=1 and with acks=-1 idempotent, then consuming the
// acks=1 topic back, alternating between the brokers in rounds. Producers
// use franz-go's defaults (linger 10ms, 1 MB batches) with compression off,
// so the broker handles every byte; the same options go to both brokers.
func RunBroker(ctx context.Context, cfg BrokerConfig, progress *Progress) (*BrokerResult, error) {
	cfg.ensureDefaults()
	if cfg.Dir == "" {
		return nil, fmt.Errorf("harness: broker: no directory for brokerlite's log")
	}
	if cfg.Records < int64(cfg.Rounds) || cfg.ValueSize < 1 || cfg.Partitions < 1 || cfg.Rounds < 1 {
		return nil, fmt.Errorf("harness: broker: records %d, value size %d, partitions %d, rounds %d: each must be >= 1 (records >= rounds)",
			cfg.Records, cfg.ValueSize, cfg.Partitions, cfg.Rounds)
	}
	cases := []produceCase{
		{name: "produce, acks=1", topic: "bench-acks1", goal: 1.0,
			opts: []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()}},
		// The goal for acks=-1: brokerlite fsyncs before answering, kfake
		// never syncs; 0.8x is the bar there.
		{name: "produce, acks=-1 idempotent", topic: "bench-acksall", goal: 0.8,
			opts: []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks())}},
	}
	topics := []string{cases[0].topic, cases[1].topic}

	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(cfg.Partitions, topics...))
	if err != nil {
		return nil, fmt.Errorf("harness: starting kfake: %w", err)
	}
	defer fake.Close()
	bl, err := startBrokerlite(ctx, cfg.Dir, cfg.Logger)
	if err != nil {
		return nil, err
	}
	defer bl.Close(context.Background())
	if err := createTopics(ctx, bl.Addr(), cfg.Partitions, nil, topics...); err != nil {
		return nil, err
	}
	// brokerlite first in the table, kfake the peer.
	targets := []target{{"brokerlite", bl.Addr()}, {"kfake", fake.ListenAddrs()[0]}}

	value := make([]byte, cfg.ValueSize)
	_, _ = rand.Read(value)
	res := &BrokerResult{}
	produced := make([]int64, len(targets)) // records in the acks=1 topic, per target
	for _, pc := range cases {
		row, series, n, err := runProduceCase(ctx, cfg, pc, targets, value, progress)
		if err != nil {
			return nil, err
		}
		if pc.topic == cases[0].topic {
			copy(produced, n)
		}
		res.Rows = append(res.Rows, row)
		res.Series = append(res.Series, series...)
	}
	row, series, err := runConsumeCase(ctx, cfg, cases[0].topic, targets, produced, progress)
	if err != nil {
		return nil, err
	}
	res.Rows = append(res.Rows, row)
	res.Series = append(res.Series, series...)
	return res, nil
}

// produceN produces n records of value and waits for every answer; acked
// counts them as they are acknowledged.
func produceN(ctx context.Context, cl *kgo.Client, value []byte, n int64, acked *atomic.Int64) error {
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for i := int64(0); i < n && ctx.Err() == nil; i++ {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				errOnce.Do(func() { firstErr = err })
			} else {
				acked.Add(1)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

func roundSize(total int64, rounds, r int) int64 {
	n := total / int64(rounds)
	if r == rounds-1 {
		n = total - n*int64(rounds-1)
	}
	return n
}

func runProduceCase(ctx context.Context, cfg BrokerConfig, pc produceCase, targets []target, value []byte, progress *Progress) (Row, []Series, []int64, error) {
	const warmup = 1000 // metadata, connections, producer id
	clients := make([]*kgo.Client, len(targets))
	acked := make([]atomic.Int64, len(targets))
	for i, tg := range targets {
		opts := append([]kgo.Opt{kgo.SeedBrokers(tg.addr), kgo.DefaultProduceTopic(pc.topic),
			kgo.ProducerBatchCompression(kgo.NoCompression())}, pc.opts...)
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return Row{}, nil, nil, fmt.Errorf("harness: producer for %s: %w", tg.name, err)
		}
		defer cl.Close()
		clients[i] = cl
		var scratch atomic.Int64
		if err := produceN(ctx, cl, value, warmup, &scratch); err != nil {
			return Row{}, nil, nil, fmt.Errorf("harness: %s warm-up on %s: %w", pc.name, tg.name, err)
		}
	}
	bar := progress.Start("broker: "+pc.name, cfg.Records*int64(len(targets)), "records")
	defer bar.Done()
	series := make([]Series, len(targets))
	elapsed := make([]time.Duration, len(targets))
	for i, tg := range targets {
		series[i] = Series{Bench: "broker " + pc.name, System: tg.name, Unit: "records/s"}
	}
	for r := 0; r < cfg.Rounds; r++ {
		n := roundSize(cfg.Records, cfg.Rounds, r)
		for i, tg := range targets {
			i := i
			sm := startSampler(&series[i], elapsed[i], func() int64 { return acked[i].Load() })
			start := time.Now()
			stopBar := mirror(bar, acked)
			err := produceN(ctx, clients[i], value, n, &acked[i])
			d := time.Since(start)
			stopBar()
			sm.stop()
			elapsed[i] += d
			if err != nil {
				return Row{}, nil, nil, fmt.Errorf("harness: %s on %s: %w", pc.name, tg.name, err)
			}
		}
	}
	row := Row{Bench: fmt.Sprintf("%s (%d B values, %d partitions)", pc.name, cfg.ValueSize, cfg.Partitions), Unit: "records/s",
		Ours: targets[0].name, Peer: targets[1].name, Goal: pc.goal,
		OursValue: float64(cfg.Records) / elapsed[0].Seconds(), PeerValue: float64(cfg.Records) / elapsed[1].Seconds()}
	total := make([]int64, len(targets))
	for i := range targets {
		total[i] = warmup + acked[i].Load()
	}
	return row, series, total, nil
}

// mirror copies the sum of counters into bar until the returned stop.
func mirror(bar *Bar, counters []atomic.Int64) (stop func()) {
	return follow(bar, func() (s int64) {
		for i := range counters {
			s += counters[i].Load()
		}
		return s
	})
}

// runConsumeCase reads topic back from each target, in rounds: each round a
// new consumer starts where the last stopped (a consumer left running would
// prefetch during the other broker's round).
func runConsumeCase(ctx context.Context, cfg BrokerConfig, topic string, targets []target, records []int64, progress *Progress) (Row, []Series, error) {
	var total int64
	for _, n := range records {
		total += n
	}
	bar := progress.Start("broker: consume", total, "records")
	defer bar.Done()
	got := make([]atomic.Int64, len(targets))
	series := make([]Series, len(targets))
	elapsed := make([]time.Duration, len(targets))
	next := make([]map[int32]kgo.Offset, len(targets))
	for i, tg := range targets {
		series[i] = Series{Bench: "broker consume", System: tg.name, Unit: "records/s"}
		next[i] = make(map[int32]kgo.Offset)
		for p := int32(0); p < cfg.Partitions; p++ {
			next[i][p] = kgo.NewOffset().At(0)
		}
	}
	for r := 0; r < cfg.Rounds; r++ {
		for i, tg := range targets {
			i := i
			n := roundSize(records[i], cfg.Rounds, r)
			cl, err := kgo.NewClient(kgo.SeedBrokers(tg.addr),
				kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: next[i]}), kgo.FetchMaxWait(100*time.Millisecond))
			if err != nil {
				return Row{}, nil, fmt.Errorf("harness: consumer for %s: %w", tg.name, err)
			}
			sm := startSampler(&series[i], elapsed[i], func() int64 { return got[i].Load() })
			stopBar := mirror(bar, got)
			start := time.Now()
			err = consumeN(ctx, cl, n, next[i], &got[i])
			d := time.Since(start)
			stopBar()
			sm.stop()
			cl.Close()
			elapsed[i] += d
			if err != nil {
				return Row{}, nil, fmt.Errorf("harness: consume on %s: %w", tg.name, err)
			}
		}
	}
	row := Row{Bench: fmt.Sprintf("consume (%d B values, %d partitions)", cfg.ValueSize, cfg.Partitions), Unit: "records/s",
		Ours: targets[0].name, Peer: targets[1].name, Goal: 1.0,
		OursValue: float64(records[0]) / elapsed[0].Seconds(), PeerValue: float64(records[1]) / elapsed[1].Seconds()}
	return row, series, nil
}

func consumeN(ctx context.Context, cl *kgo.Client, n int64, next map[int32]kgo.Offset, got *atomic.Int64) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for read := int64(0); read < n; {
		fs := cl.PollRecords(ctx, int(n-read))
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %d of %d records: %w", read, n, err)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("fetch %s-%d: %w", t, p, err) })
		if ferr != nil {
			return ferr
		}
		fs.EachRecord(func(r *kgo.Record) { next[r.Partition] = kgo.NewOffset().At(r.Offset + 1) })
		k := int64(fs.NumRecords())
		read += k
		got.Add(k)
	}
	return nil
}
