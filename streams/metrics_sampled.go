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
// [w*length, (w+1)*length)) and kept in a power-of-two number of samples
// (at least metrics.num.samples; window w in sample w mod that number), so
// a recording finds its sample with a multiplication and a mask (the
// division only when the window turned) and needs no lock: it loads the
// sample's window number and, when the sample still holds an older
// window, claims it with a compare-and-swap and clears it. A scrape reads
// the samples of the last metrics.num.samples windows. A recording made by another goroutine
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

// sampleSlots is the number of samples kept for n windows: the power of
// two at or above n.
func sampleSlots(n int) int {
	slots := 1
	for slots < n {
		slots <<= 1
	}
	return slots
}

// latencySamples are an operation's samples and the last window a
// recording found (a hint that saves the division while it lasts).
type latencySamples struct {
	last  atomic.Int64
	slots []latencySample
	n     int64 // windows read: metrics.num.samples
}

// newLatencySamples returns the samples of n windows, holding none.
func newLatencySamples(n int) latencySamples {
	return latencySamples{slots: newSamples(sampleSlots(n)), n: int64(n)}
}

// newSamples returns n samples holding no window.
func newSamples(n int) []latencySample {
	out := make([]latencySample, n)
	for i := range out {
		out[i].epoch.Store(math.MinInt64)
	}
	return out
}

// add records latency d at time now (Unix ns) with windows of length
// window.
func (ls *latencySamples) add(window, now, d int64) {
	epoch := ls.last.Load()
	if start := epoch * window; now < start || now-start >= window {
		epoch = now / window
		ls.last.Store(epoch)
	}
	s := &ls.slots[epoch&int64(len(ls.slots)-1)]
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

// read returns the count, sum and largest latency of the samples of the
// last ls.n windows at time now (Unix ns).
func (ls *latencySamples) read(window, now int64) (n, sum, largest int64) {
	epoch := now / window
	for i := range ls.slots {
		s := &ls.slots[i]
		if e := s.epoch.Load(); e <= epoch && e > epoch-ls.n {
			n += s.n.Load()
			sum += s.sum.Load()
			largest = max(largest, s.max.Load())
		}
	}
	return n, sum, largest
}
