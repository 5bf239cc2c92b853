package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A sweep stops at the first rate a system does not sustain: its p99 is
// above sweepSaturatedP99, or its output is not complete sweepDrain after
// the input of that rate ended.
const (
	sweepSaturatedP99 = time.Second
	sweepDrain        = 15 * time.Second
)

// LatencyPoint is a system's latency at one input rate.
type LatencyPoint struct {
	// Rate is the input rate asked for; Sent/elapsed may fall short of it
	// when the harness's producer cannot keep up (Achieved says).
	Rate int
	// Achieved is the input rate the harness's producer reached.
	Achieved float64
	// Records is how many measured records came out (all of them, unless
	// Saturated).
	Records        int
	P50, P99, P999 time.Duration
	Max            time.Duration
	// Saturated is true when the system did not sustain the rate: p99
	// above one second, or output still missing after the drain wait.
	Saturated bool
}

// LatencyCurve is a system's latency against input rate.
type LatencyCurve struct {
	Points []LatencyPoint
}

// at returns the point at rate as a LatencyRun (the first point when the
// sweep has no such rate).
func (c LatencyCurve) at(rate int) LatencyRun {
	if len(c.Points) == 0 {
		return LatencyRun{}
	}
	p := c.Points[0]
	for _, q := range c.Points {
		if q.Rate == rate {
			p = q
		}
	}
	return LatencyRun{Records: p.Records, P50: p.P50, P99: p.P99, P999: p.P999, Max: p.Max}
}

// Sustained is the highest rate of the curve the system sustained (0 if
// none).
func (c LatencyCurve) Sustained() int {
	best := 0
	for _, p := range c.Points {
		if !p.Saturated && p.Rate > best {
			best = p.Rate
		}
	}
	return best
}

// sweepLatency measures the running system at each rate of
// cfg.SweepRates, SweepStep each, until it saturates.
func sweepLatency(ctx context.Context, cfg LatencyConfig, sys string, prod *kgo.Client, rec *latencyRecorder, failed func() error, progress *Progress) (LatencyCurve, error) {
	l := &latencySender{ctx: ctx, cfg: cfg, prod: prod}
	var curve LatencyCurve
	if err := warmUp(ctx, l, cfg.SweepRates[0], sys, rec, failed); err != nil {
		return curve, err
	}
	for i, rate := range cfg.SweepRates {
		mark := byte(markMeasured + i)
		if mark == markWarmup { // 255 rates at most
			break
		}
		total := int64(float64(rate) * cfg.SweepStep.Seconds())
		bar := progress.Start(fmt.Sprintf("latency sweep: %s at %s records/s", sys, Human(float64(rate))), total, "records")
		stopBar := follow(bar, func() int64 { return int64(rec.count()) })
		rec.measure(mark)
		start := time.Now()
		sent := pace(ctx, rate, cfg.SweepStep, func() { l.send(mark) })
		achieved := float64(sent) / time.Since(start).Seconds()
		err := l.flush()
		if err == nil {
			if werr := awaitAll(rec, int(sent), sweepDrain, failed); werr != nil && ctx.Err() == nil {
				if ferr := failed(); ferr != nil {
					err = ferr
				}
			}
		}
		stopBar()
		bar.Done()
		if err != nil {
			return curve, fmt.Errorf("harness: latency sweep on %s at %d records/s: %w", sys, rate, err)
		}
		if err := ctx.Err(); err != nil {
			return curve, err
		}
		run := rec.run(sys)
		p := LatencyPoint{Rate: rate, Achieved: achieved, Records: run.Records, P50: run.P50, P99: run.P99, P999: run.P999, Max: run.Max}
		p.Saturated = run.Records < int(sent) || run.P99 > sweepSaturatedP99
		curve.Points = append(curve.Points, p)
		if p.Saturated {
			break
		}
	}
	return curve, nil
}
