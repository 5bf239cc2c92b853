package harness

import (
	"sync"
	"time"
)

// Point is one sample of a curve: for throughput over time, T seconds into
// the run and V units per second over the interval that ended at T; for a
// latency sweep, T the input rate and V the latency.
type Point struct {
	T, V float64
}

// Series is a curve of one system in one benchmark, for plots.
type Series struct {
	Bench  string // the benchmark, e.g. "word count"
	System string // e.g. "rivulet", "goka"
	Unit   string // of V, e.g. "words/s"
	// XUnit is the unit of T. The default value is "seconds".
	XUnit string
	// LogX and LogY draw the axes logarithmically (decades); a panel takes
	// them from its first series.
	LogX, LogY bool
	Points     []Point
}

// sampler samples a counter at a fixed interval into a Series, from its own
// goroutine, until stop. offset shifts the times, so runs split in rounds
// continue one curve.
type sampler struct {
	s       *Series
	counter func() int64
	offset  time.Duration
	stopc   chan struct{}
	wg      sync.WaitGroup
	start   time.Time
	once    sync.Once
	ran     time.Duration
}

const sampleEvery = 250 * time.Millisecond

func startSampler(s *Series, offset time.Duration, counter func() int64) *sampler {
	sm := &sampler{s: s, counter: counter, offset: offset, stopc: make(chan struct{}), start: time.Now()}
	sm.wg.Add(1)
	go func() {
		defer sm.wg.Done()
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		last, lastT := counter(), sm.start
		for {
			select {
			case <-sm.stopc:
				sm.sample(&last, &lastT, time.Now())
				return
			case now := <-t.C:
				sm.sample(&last, &lastT, now)
			}
		}
	}()
	return sm
}

func (sm *sampler) sample(last *int64, lastT *time.Time, now time.Time) {
	n := sm.counter()
	dt := now.Sub(*lastT).Seconds()
	if dt <= 0 {
		return
	}
	sm.s.Points = append(sm.s.Points, Point{T: (sm.offset + now.Sub(sm.start)).Seconds(), V: float64(n-*last) / dt})
	*last, *lastT = n, now
}

// stop takes a last sample, waits for the goroutine and returns how long
// the sampler ran (so the next round can continue at offset+elapsed).
// It is safe to call more than once.
func (sm *sampler) stop() time.Duration {
	sm.once.Do(func() {
		close(sm.stopc)
		sm.wg.Wait()
		sm.ran = time.Since(sm.start)
	})
	return sm.ran
}
