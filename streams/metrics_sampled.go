package streams

import (
	"math"
	"sync/atomic"
	"time"
)

// Sampled latency stats, as Kafka Streams' avg and max metrics (Kafka's
// SampledStat): the average and the largest latency of an operation over
// the last metrics.num.samples sample windows of metrics.sample.window.ms
// each, not since the start. A value leaves the stats between
// (samples-1)*window and samples*window after it was recorded.
//
// The windows are aligned on the wall clock (window w covers
// [w*length, (w+1)*length)), so a recording finds its sample by a
// division and needs no lock: it loads the sample's window number and,
// when the sample still holds an older window, claims it with a
// compare-and-swap and clears it. A recording made by another goroutine
// (an interactive query) at the very moment the window turns may be lost
// or land in the window before; stats are estimates at that edge, as
// Kafka's are at the edge of a sample.

// Defaults of the sampling settings, as Kafka Streams'.
const (
	defaultSampleWindow = 30 * time.Second
	defaultNumSamples   = 2
)

// sampling is the sample window length (ns) and the number of samples.
type sampling struct {
	window  int64
	samples int
}

// samplingOf returns the sampling of the settings, with the defaults for
// unset (non-positive) ones.
func samplingOf(window time.Duration, samples int) sampling {
	s := sampling{window: int64(window), samples: samples}
	if s.window <= 0 {
		s.window = int64(defaultSampleWindow)
	}
	if s.samples <= 0 {
		s.samples = defaultNumSamples
	}
	return s
}

// latencySample is one sample window's count, sum and largest latency
// (ns) of an operation; epoch is the window's number.
type latencySample struct {
	epoch, n, sum, max atomic.Int64
}

// newSamples returns n samples holding no window.
func newSamples(n int) []latencySample {
	out := make([]latencySample, n)
	for i := range out {
		out[i].epoch.Store(math.MinInt64)
	}
	return out
}

// addSample records latency d at time now (Unix ns) into the samples
// (len > 0) of windows of length window.
func addSample(samples []latencySample, window, now, d int64) {
	epoch := now / window
	s := &samples[uint64(epoch)%uint64(len(samples))]
	if e := s.epoch.Load(); e < epoch && s.epoch.CompareAndSwap(e, epoch) {
		s.n.Store(0)
		s.sum.Store(0)
		s.max.Store(0)
	}
	s.n.Add(1)
	s.sum.Add(d)
	for {
		cur := s.max.Load()
		if d <= cur || s.max.CompareAndSwap(cur, d) {
			break
		}
	}
}

// readSamples returns the count, sum and largest latency of the samples
// of the last len(samples) windows at time now (Unix ns).
func readSamples(samples []latencySample, window, now int64) (n, sum, largest int64) {
	epoch := now / window
	for i := range samples {
		s := &samples[i]
		if e := s.epoch.Load(); e <= epoch && e > epoch-int64(len(samples)) {
			n += s.n.Load()
			sum += s.sum.Load()
			largest = max(largest, s.max.Load())
		}
	}
	return n, sum, largest
}
