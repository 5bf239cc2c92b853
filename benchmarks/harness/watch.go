package harness

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// countWatcher reads a topic of word -> count (8-byte big-endian int64)
// from its start and follows how far the counts are from the expected
// ones. It is how the harness sees a word count finish, from the outside
// and the same way for every system: a run is done when the last count
// read for every word equals the word's true count.
type countWatcher struct {
	expected map[string]int64
	cl       *kgo.Client
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	done     chan struct{}

	counted atomic.Int64 // sum over words of the last count read
	records atomic.Int64 // output records read

	mu        sync.Mutex
	latest    map[string]int64
	pending   int // words whose last count is not the expected one
	over      int // count updates above the true count (at-least-once replays)
	unknown   int // records for words not in the text
	badValue  int // values that are not 8 bytes
	firstAt   time.Time
	doneAt    time.Time
	lastError error
}

// outputConsumer reads a system's output topic from its start, waiting at
// most maxWait per fetch. With committed it reads only committed records: an
// exactly-once run's output counts once its transaction committed.
func outputConsumer(addr, topic string, maxWait time.Duration, committed bool) (*kgo.Client, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(maxWait)}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("harness: output consumer: %w", err)
	}
	return cl, nil
}

func watchCounts(addr, topic string, expected map[string]int64, committed bool) (*countWatcher, error) {
	cl, err := outputConsumer(addr, topic, 100*time.Millisecond, committed)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &countWatcher{expected: expected, cl: cl, cancel: cancel, done: make(chan struct{}),
		latest: make(map[string]int64, len(expected)), pending: len(expected)}
	w.wg.Add(1)
	go w.loop(ctx)
	return w, nil
}

func (w *countWatcher) loop(ctx context.Context) {
	defer w.wg.Done()
	pollUntilDone(ctx, w.cl, func(fs kgo.Fetches) {
		now := time.Now()
		w.mu.Lock()
		fs.EachError(func(t string, p int32, err error) { w.lastError = fmt.Errorf("fetch %s-%d: %w", t, p, err) })
		fs.EachRecord(func(r *kgo.Record) { w.apply(r, now) })
		finished := w.pending == 0 && w.doneAt.IsZero() && w.records.Load() > 0
		if finished {
			w.doneAt = now
		}
		w.mu.Unlock()
		if finished {
			close(w.done)
		}
	})
}

// pollUntilDone polls cl and hands each poll's fetches to each, until ctx
// ends.
func pollUntilDone(ctx context.Context, cl *kgo.Client, each func(kgo.Fetches)) {
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		each(fs)
	}
}

// apply takes one output record; w.mu is held.
func (w *countWatcher) apply(r *kgo.Record, now time.Time) {
	w.records.Add(1)
	if w.firstAt.IsZero() {
		w.firstAt = now
	}
	if len(r.Value) != 8 {
		w.badValue++
		return
	}
	word := string(r.Key)
	want, ok := w.expected[word]
	if !ok {
		w.unknown++
		return
	}
	n := int64(binary.BigEndian.Uint64(r.Value))
	old := w.latest[word]
	if old == want {
		w.pending++
	}
	if n == want {
		w.pending--
	}
	if n > want {
		w.over++
	}
	w.latest[word] = n
	w.counted.Add(n - old)
}

// Done is closed when every word's last count is its true count.
func (w *countWatcher) Done() <-chan struct{} { return w.done }

// Counted is the sum of the last counts read: the words counted so far as
// the output shows them.
func (w *countWatcher) Counted() int64 { return w.counted.Load() }

// watchStatus is what a watcher saw.
type watchStatus struct {
	firstAt, doneAt                  time.Time
	records                          int64
	pending, over, unknown, badValue int
	err                              error
}

func (w *countWatcher) status() watchStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return watchStatus{firstAt: w.firstAt, doneAt: w.doneAt, records: w.records.Load(), pending: w.pending,
		over: w.over, unknown: w.unknown, badValue: w.badValue, err: w.lastError}
}

// close stops the watcher and waits for it.
func (w *countWatcher) close() {
	w.cancel()
	w.wg.Wait()
	w.cl.Close()
}
