package groupcoord

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"
)

// fakeClock is a Clock whose time moves only when Advance is called; due
// timers run synchronously inside Advance, in deadline order.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	id      int
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(d), id: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	for i, x := range t.c.timers {
		if x == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			t.stopped = true
			return true
		}
	}
	return false
}

// Advance moves time forward by d, running every timer that comes due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	for {
		sort.SliceStable(c.timers, func(i, j int) bool {
			if !c.timers[i].at.Equal(c.timers[j].at) {
				return c.timers[i].at.Before(c.timers[j].at)
			}
			return c.timers[i].id < c.timers[j].id
		})
		if len(c.timers) == 0 || c.timers[0].at.After(target) {
			break
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		if t.at.After(c.now) {
			c.now = t.at
		}
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.now = target
	c.mu.Unlock()
}

// pending returns how many timers are scheduled.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// memLog is an in-memory Log. Appends are durable at once, unless hold is
// set: then each append's wait blocks until release(n) lets the n-th
// append (counting from 1) become durable, or fail(n) fails it.
type memLog struct {
	mu    sync.Mutex
	parts map[int32][][]byte
	// failAppends makes every Append fail (after storing nothing).
	failAppends bool
	// appendErr, when set, is what every Append returns (after storing
	// nothing).
	appendErr error
	appends   int
	hold      bool
	gates     map[int]chan error
}

// gate returns the durability gate of the n-th append. Callers hold l.mu.
func (l *memLog) gate(n int) chan error {
	if l.gates == nil {
		l.gates = make(map[int]chan error)
	}
	ch := l.gates[n]
	if ch == nil {
		ch = make(chan error, 1)
		l.gates[n] = ch
	}
	return ch
}

// release makes the n-th append durable (its wait returns nil).
func (l *memLog) release(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gate(n) <- nil
}

// failDurable makes the n-th append's wait return err.
func (l *memLog) failDurable(n int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gate(n) <- err
}

var errInjected = errors.New("memlog: injected append failure")

func newMemLog() *memLog { return &memLog{parts: make(map[int32][][]byte)} }

func (l *memLog) Append(ctx context.Context, partition int32, batch []byte) (func(context.Context) error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failAppends {
		return nil, errInjected
	}
	if l.appendErr != nil {
		return nil, l.appendErr
	}
	l.appends++
	l.parts[partition] = append(l.parts[partition], append([]byte(nil), batch...))
	if !l.hold {
		return func(ctx context.Context) error { return nil }, nil
	}
	ch := l.gate(l.appends)
	return func(ctx context.Context) error {
		select {
		case err := <-ch:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}, nil
}

func (l *memLog) Replay(ctx context.Context, partition int32, fn func([]byte) error) error {
	l.mu.Lock()
	batches := append([][]byte(nil), l.parts[partition]...)
	l.mu.Unlock()
	for _, b := range batches {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}
