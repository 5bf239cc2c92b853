package partlog

import (
	"context"
	"sync"
)

// Syncer is a group commit across logs. Log.Sync already lets the
// appenders of ONE log share fsyncs; a Syncer does the same for callers
// waiting on DIFFERENT logs (the broker's writes to the partitions of
// __consumer_offsets, one per group): each caller names a log and the offset
// it needs durable, and one goroutine runs rounds. A round takes every log
// asked for since the previous round began and fsyncs them all at once (in
// parallel, each through its own Log.SyncTo, so it also shares fsyncs with
// that log's other callers), then releases every caller it covered.
// Callers that arrive during a round join the next one, so under load each
// round serves everything that queued while the previous fsyncs ran, instead
// of each caller paying its own fsync.
//
// A Manager owns one (Manager.Syncer); NewSyncer makes a standalone one,
// which Close stops.
type Syncer struct {
	mu      sync.Mutex
	next    *syncRound // the round callers join; nil when none is waiting
	closed  bool
	kick    chan struct{} // capacity 1: a round is waiting
	stop    chan struct{}
	stopped chan struct{}
}

// syncRound is one round of fsyncs: the logs asked for and the offset each
// must be durable to, and after done is closed, each log's result.
type syncRound struct {
	want map[*Log]int64
	errs map[*Log]error
	done chan struct{}
}

// NewSyncer starts a Syncer. Close stops it.
func NewSyncer() *Syncer {
	s := &Syncer{kick: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	go s.run()
	return s
}

// SyncTo returns once every offset of l below offset is durable (an offset
// past the log end offset means the log end offset), with the error of the
// fsync that was to cover it, or when ctx ends (ctx.Err(); the fsync goes
// on and serves the other callers). An offset that is durable already costs
// one atomic load. After Close it returns ErrClosed.
func (s *Syncer) SyncTo(ctx context.Context, l *Log, offset int64) error {
	if l.durable.Load() >= offset {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	r := s.next
	if r == nil {
		r = &syncRound{want: make(map[*Log]int64), done: make(chan struct{})}
		s.next = r
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	if offset > r.want[l] {
		r.want[l] = offset
	}
	s.mu.Unlock()
	select {
	case <-r.done:
		return r.errs[l]
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the Syncer after the round in progress; callers waiting for a
// later round get ErrClosed. Close is idempotent.
func (s *Syncer) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.stopped
		return
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.stopped
}

func (s *Syncer) run() {
	defer close(s.stopped)
	for {
		select {
		case <-s.kick:
		case <-s.stop:
			s.mu.Lock()
			r := s.next
			s.next = nil
			s.mu.Unlock()
			if r != nil {
				r.errs = make(map[*Log]error, len(r.want))
				for l := range r.want {
					r.errs[l] = ErrClosed
				}
				close(r.done)
			}
			return
		}
		s.mu.Lock()
		r := s.next
		s.next = nil
		s.mu.Unlock()
		if r != nil {
			r.sync()
		}
	}
}

// sync fsyncs every log of the round, in parallel, and releases its callers.
func (r *syncRound) sync() {
	r.errs = make(map[*Log]error, len(r.want))
	if len(r.want) == 1 {
		for l, off := range r.want {
			r.errs[l] = l.SyncTo(off)
		}
		close(r.done)
		return
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for l, off := range r.want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := l.SyncTo(off)
			mu.Lock()
			r.errs[l] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(r.done)
}
