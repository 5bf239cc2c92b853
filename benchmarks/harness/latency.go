package harness

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/streams"
)

// LatencyConfig sets up the latency benchmark: a map-only pipeline (read a
// record, copy its value, write it to an output topic) fed at a fixed rate.
type LatencyConfig struct {
	// Rate is the input rate in records per second. The default value is
	// 2000.
	Rate int
	// Duration is how long the measured input lasts. The default value is
	// 10s.
	Duration time.Duration
	// ValueSize is the size of each record's value (at least 9 bytes: a
	// mark and the send time). The default value is 100.
	ValueSize int
	// Partitions of the input and output topics. The default value is 4.
	Partitions int32
	// Threads is Rivulet's num.stream.threads. The default value is the
	// number of CPUs.
	Threads int
	// Acks of every producer ("1" or "all"). The default value is "1".
	Acks string
	// Systems to run, in order. The default value is rivulet, then goka.
	Systems []string
	// Dir holds the broker's log and state. Required.
	Dir string
	// Logger receives the broker's and Rivulet's logs. The default value
	// discards them.
	Logger *slog.Logger
	// Sweep measures each system at input rates from 1,000 records/s up,
	// each for SweepStep, until the system saturates (see SweepRates).
	Sweep bool
	// SweepStep is how long each rate of a sweep lasts. The default value
	// is 3s.
	SweepStep time.Duration
	// SweepRates are the input rates of a sweep, in increasing order. The
	// default value is 1k, 2k, 5k, 10k, 20k, 30k, 50k, 70k, 100k, 150k,
	// 200k, 300k, 500k and 1M records/s.
	SweepRates []int
}

func (c *LatencyConfig) ensureDefaults() {
	orDefault(&c.SweepStep, 3*time.Second)
	if len(c.SweepRates) == 0 {
		c.SweepRates = []int{1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 50_000, 70_000, 100_000, 150_000, 200_000, 300_000, 500_000, 1_000_000}
	}
	orDefault(&c.Rate, 2000)
	orDefault(&c.Duration, 10*time.Second)
	orDefault(&c.ValueSize, 100)
	orDefault(&c.Partitions, 4)
	orDefault(&c.Threads, defaultThreads())
	orDefault(&c.Acks, "1")
	if len(c.Systems) == 0 {
		c.Systems = []string{SystemRivulet, SystemGoka}
	}
	orDefault(&c.Logger, slog.New(slog.DiscardHandler))
}

func (c *LatencyConfig) validate() error {
	switch {
	case c.Dir == "":
		return errors.New("harness: latency: no directory for the broker and state")
	case c.Rate < 1 || c.Duration <= 0 || c.ValueSize < 9 || c.Partitions < 1 || c.Threads < 1:
		return fmt.Errorf("harness: latency: rate %d, duration %v, value size %d (>= 9), partitions %d, threads %d: each must be positive",
			c.Rate, c.Duration, c.ValueSize, c.Partitions, c.Threads)
	case c.Acks != "1" && c.Acks != "all" && c.Acks != "-1":
		return fmt.Errorf("harness: latency: acks %q: use 1 or all", c.Acks)
	}
	for _, s := range c.Systems {
		if s != SystemRivulet && s != SystemGoka {
			return fmt.Errorf("harness: latency: unknown system %q (use %s or %s)", s, SystemRivulet, SystemGoka)
		}
	}
	return nil
}

// LatencyRun is one system's latency distribution.
type LatencyRun struct {
	System string
	// Records is the number of measured records (all arrived).
	Records int
	// P50, P99, P999 are end-to-end latencies: from the moment the harness
	// handed the record to its producer to the moment its consumer read the
	// system's output.
	P50, P99, P999, Max time.Duration
	// Warning is an error seen after the measure, while stopping.
	Warning string
	// Curve is the latency at each input rate of a sweep (LatencyConfig.Sweep);
	// the percentiles above are then its point at LatencyConfig.Rate.
	Curve LatencyCurve
}

// LatencyResult is the outcome of RunLatency.
type LatencyResult struct {
	Runs []LatencyRun
	Rows []Row
}

// Series returns the latency-versus-rate curves of a sweep, for plots: p99
// against input rate, both axes logarithmic.
func (r *LatencyResult) Series() []Series {
	var out []Series
	for _, run := range r.Runs {
		if len(run.Curve.Points) == 0 {
			continue
		}
		s := Series{Bench: "map-only latency against input rate (p99)", System: run.System, Unit: "p99 ms",
			XUnit: "input records/s", LogX: true, LogY: true}
		for _, p := range run.Curve.Points {
			s.Points = append(s.Points, Point{T: float64(p.Rate), V: ms(p.P99)})
		}
		out = append(out, s)
	}
	return out
}

// Records carry a mark byte (warm-up or measured) then the send time in
// unix nanoseconds.
const (
	markWarmup   = 0
	markMeasured = 1
)

// RunLatency runs, for each system on one brokerlite, a map-only pipeline
// from its own input topic to its own output topic: first warm-up records
// until output flows, then Rate records per second for Duration, and
// reports the latency percentiles of the measured records.
func RunLatency(ctx context.Context, cfg LatencyConfig, progress *Progress) (*LatencyResult, error) {
	cfg.ensureDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	bl, err := startBrokerlite(ctx, filepath.Join(cfg.Dir, "broker"), cfg.Logger)
	if err != nil {
		return nil, err
	}
	defer bl.Close(context.Background())
	res := &LatencyResult{}
	for _, sys := range cfg.Systems {
		run, err := runLatencySystem(ctx, cfg, sys, bl.Addr(), progress)
		if err != nil {
			return nil, err
		}
		res.Runs = append(res.Runs, run)
	}
	byName := bySystem(res.Runs, func(r LatencyRun) string { return r.System })
	riv, okR := byName[SystemRivulet]
	gk, okG := byName[SystemGoka]
	if okR && okG {
		bench := fmt.Sprintf("map-only latency at %d records/s (%d B), %d partitions", cfg.Rate, cfg.ValueSize, cfg.Partitions)
		for _, q := range []struct {
			name string
			r, g time.Duration
		}{{"p50", riv.P50, gk.P50}, {"p99", riv.P99, gk.P99}, {"p999", riv.P999, gk.P999}} {
			res.Rows = append(res.Rows, Row{Bench: bench + ", " + q.name, Unit: "ms", Ours: SystemRivulet, Peer: SystemGoka,
				OursValue: ms(q.r), PeerValue: ms(q.g), LowerIsBetter: true})
		}
		if cfg.Sweep {
			res.Rows = append(res.Rows, Row{Bench: fmt.Sprintf("map-only: highest input rate sustained (p99 under %s)", sweepSaturatedP99),
				Unit: "records/s", Ours: SystemRivulet, Peer: SystemGoka,
				OursValue: float64(riv.Curve.Sustained()), PeerValue: float64(gk.Curve.Sustained())})
		}
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func runLatencySystem(ctx context.Context, cfg LatencyConfig, sys, addr string, progress *Progress) (LatencyRun, error) {
	in, out := "lat-"+sys+"-input", "lat-"+sys+"-output"
	if err := createTopics(ctx, addr, cfg.Partitions, nil, in, out); err != nil {
		return LatencyRun{}, err
	}
	rec := newLatencyRecorder()
	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(out),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		return LatencyRun{}, fmt.Errorf("harness: latency consumer: %w", err)
	}
	defer cons.Close()
	cctx, cancelCons := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pollUntilDone(cctx, cons, func(fs kgo.Fetches) {
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) { rec.observe(r.Value, now) })
		})
	}()
	defer func() { cancelCons(); wg.Wait() }()

	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(in), kgo.ProducerLinger(0),
		kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		return LatencyRun{}, fmt.Errorf("harness: latency producer: %w", err)
	}
	defer prod.Close()

	var stop func() error
	var failed func() error
	decodeErrs := saramaDecodeErrors.n.Load()
	switch sys {
	case SystemRivulet:
		app, err := startRivuletMap(ctx, cfg, addr, in, out)
		if err != nil {
			return LatencyRun{}, err
		}
		failed, stop = rivuletControls(app, "rivulet stopped")
	case SystemGoka:
		gc := &gokaConfig{brokers: []string{addr}, acks: sarama.WaitForLocal, stateDir: filepath.Join(cfg.Dir, "goka-state")}
		if cfg.Acks != "1" {
			gc.acks = sarama.WaitForAll
		}
		gr, err := startGokaMap(gc, in, out)
		if err != nil {
			return LatencyRun{}, err
		}
		failed, stop = gr.failed, gr.stop
	}
	var curve LatencyCurve
	if cfg.Sweep {
		curve, err = sweepLatency(ctx, cfg, sys, prod, rec, failed, progress)
	} else {
		err = measureLatency(ctx, cfg, sys, prod, rec, failed, progress)
	}
	serr := stop()
	if err != nil {
		return LatencyRun{}, err
	}
	run := rec.run(sys)
	if cfg.Sweep {
		run = curve.at(cfg.Rate)
		run.System, run.Curve = sys, curve
	}
	warnings := []string{decodeWarning(decodeErrs)}
	if serr != nil {
		// The measure is taken; see runWordCountSystem.
		warnings = append(warnings, fmt.Sprintf("stopping %s: %v", sys, serr))
	}
	run.Warning = joinWarnings(warnings)
	return run, nil
}

// latencySender sends stamped records to a system's input topic.
type latencySender struct {
	ctx  context.Context
	cfg  LatencyConfig
	prod *kgo.Client
	mu   sync.Mutex
	err  error
}

func (l *latencySender) send(mark byte) {
	v := make([]byte, l.cfg.ValueSize)
	v[0] = mark
	binary.BigEndian.PutUint64(v[1:], uint64(time.Now().UnixNano()))
	l.prod.Produce(l.ctx, &kgo.Record{Value: v}, func(_ *kgo.Record, err error) {
		if err != nil {
			l.mu.Lock()
			l.err = err
			l.mu.Unlock()
		}
	})
}

// flush waits for every answer and returns the first produce error.
func (l *latencySender) flush() error {
	if err := l.prod.Flush(l.ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return fmt.Errorf("produce: %w", l.err)
	}
	return nil
}

// warmUp sends warm-up records until output flows (groups joined, tasks
// running), then one more second at rate.
func warmUp(ctx context.Context, l *latencySender, rate int, sys string, rec *latencyRecorder, failed func() error) error {
	deadline := time.Now().Add(2 * time.Minute)
	for rec.warmups() == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("harness: latency on %s: no output within 2 minutes", sys)
		}
		if err := failed(); err != nil {
			return fmt.Errorf("harness: latency on %s: %w", sys, err)
		}
		l.send(markWarmup)
		time.Sleep(50 * time.Millisecond) // pacing the warm-up input, not waiting for a condition
	}
	pace(ctx, rate, time.Second, func() { l.send(markWarmup) })
	return nil
}

// awaitAll waits until the recorder has n measured records, at most wait.
func awaitAll(rec *latencyRecorder, n int, wait time.Duration, failed func() error) error {
	deadline := time.Now().Add(wait)
	for rec.count() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d records came out within %v", rec.count(), n, wait)
		}
		if err := failed(); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond) // polling the recorder; the deadline bounds the wait
	}
	return nil
}

func measureLatency(ctx context.Context, cfg LatencyConfig, sys string, prod *kgo.Client, rec *latencyRecorder, failed func() error, progress *Progress) error {
	l := &latencySender{ctx: ctx, cfg: cfg, prod: prod}
	if err := warmUp(ctx, l, cfg.Rate, sys, rec, failed); err != nil {
		return err
	}
	total := int64(float64(cfg.Rate) * cfg.Duration.Seconds())
	bar := progress.Start("latency: "+sys, total, "records")
	defer bar.Done()
	stopBar := follow(bar, func() int64 { return int64(rec.count()) })
	defer stopBar()
	rec.measure(markMeasured)
	sent := pace(ctx, cfg.Rate, cfg.Duration, func() { l.send(markMeasured) })
	if err := l.flush(); err != nil {
		return fmt.Errorf("harness: latency on %s: %w", sys, err)
	}
	if err := awaitAll(rec, int(sent), time.Minute, failed); err != nil {
		return fmt.Errorf("harness: latency on %s: %w", sys, err)
	}
	return nil
}

// pace calls send rate times per second for d, from a 1ms ticker (each tick
// sends what is due by then), and returns how many it sent.
func pace(ctx context.Context, rate int, d time.Duration, send func()) int64 {
	start := time.Now()
	total := int64(float64(rate) * d.Seconds())
	var sent int64
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for sent < total && ctx.Err() == nil {
		<-t.C
		due := min(int64(time.Since(start).Seconds()*float64(rate)), total)
		for ; sent < due; sent++ {
			send()
		}
	}
	return sent
}

// latencyRecorder keeps the latencies of the records with the mark it
// measures.
type latencyRecorder struct {
	mu      sync.Mutex
	mark    byte
	lat     []time.Duration
	warmupN int
}

// measure starts a new measure of the records marked mark (not
// markWarmup), forgetting the previous one.
func (r *latencyRecorder) measure(mark byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mark, r.lat = mark, nil
}

func newLatencyRecorder() *latencyRecorder { return &latencyRecorder{} }

func (r *latencyRecorder) observe(v []byte, now time.Time) {
	if len(v) < 9 {
		return
	}
	sentAt := time.Unix(0, int64(binary.BigEndian.Uint64(v[1:9])))
	r.mu.Lock()
	defer r.mu.Unlock()
	switch v[0] {
	case markWarmup:
		r.warmupN++
	case r.mark:
		r.lat = append(r.lat, now.Sub(sentAt))
	}
}

func (r *latencyRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.lat)
}

func (r *latencyRecorder) warmups() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.warmupN
}

func (r *latencyRecorder) run(sys string) LatencyRun {
	r.mu.Lock()
	lat := slices.Clone(r.lat)
	r.mu.Unlock()
	slices.Sort(lat)
	q := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		i := int(p * float64(len(lat)))
		return lat[min(i, len(lat)-1)]
	}
	out := LatencyRun{System: sys, Records: len(lat), P50: q(0.50), P99: q(0.99), P999: q(0.999)}
	if len(lat) > 0 {
		out.Max = lat[len(lat)-1]
	}
	return out
}

// startRivuletMap runs in -> MapValues(copy) -> out with Rivulet's defaults
// except threads and acks.
func startRivuletMap(ctx context.Context, cfg LatencyConfig, addr, in, out string) (*streams.App, error) {
	b := streams.NewBuilder()
	s := streams.NewStream(b, in, streams.ConsumedWith(streams.BytesSerde(), streams.BytesSerde()))
	streams.MapValues(s, func(_ []byte, v []byte) []byte { return v }).
		To(out, streams.ProducedWith(streams.BytesSerde(), streams.BytesSerde()))
	topo, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("harness: latency topology: %w", err)
	}
	props := rivuletProps("lat-rivulet", addr, cfg.Threads, cfg.Dir)
	props["producer.acks"] = cfg.Acks
	return startRivuletApp(ctx, topo, props, cfg.Logger, "map")
}

// startGokaMap runs the same pipeline as a goka processor: every input
// message is emitted unchanged, under its key, to the output stream.
func startGokaMap(gc *gokaConfig, in, out string) (*gokaRun, error) {
	g := goka.DefineGroup(goka.Group("lat-goka"),
		goka.Input(goka.Stream(in), new(codec.Bytes), func(ctx goka.Context, msg any) {
			ctx.Emit(goka.Stream(out), ctx.Key(), msg)
		}),
		goka.Output(goka.Stream(out), new(codec.Bytes)),
	)
	p, err := goka.NewProcessor(gc.brokers, g, gc.processorOptions(g.Group())...)
	if err != nil {
		return nil, fmt.Errorf("harness: goka processor %s: %w", g.Group(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gr := &gokaRun{cancel: cancel}
	gr.run(ctx, p)
	return gr, nil
}
