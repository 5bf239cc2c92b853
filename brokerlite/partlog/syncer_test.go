package partlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

// TestSyncTo: SyncTo fsyncs only when the offset asked for is not durable yet; an offset
// an earlier fsync covered (even one that started after the caller's append) costs no
// fsync; an offset past the log end means the log end and returns.
func TestSyncTo(t *testing.T) {
	var fsyncs atomic.Int64
	opts := testOpts(nil)
	opts.hooks = &testHooks{fsync: func(f *os.File) error { fsyncs.Add(1); return f.Sync() }}
	l, err := Open(t.TempDir(), DefaultConfig(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	appendN := func(n int) int64 {
		res, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(n, 1, "v")...))
		if err != nil {
			t.Fatal(err)
		}
		return res.LastOffset + 1
	}
	step := func(what string, off int64, wantFsyncs int64) {
		t.Helper()
		if err := l.SyncTo(off); err != nil {
			t.Fatalf("%s: SyncTo(%d): %v", what, off, err)
		}
		if n := fsyncs.Load(); n != wantFsyncs {
			t.Fatalf("%s: SyncTo(%d): %d fsyncs so far, want %d", what, off, n, wantFsyncs)
		}
		if l.FlushedOffset() < min(off, l.LogEndOffset()) {
			t.Fatalf("%s: SyncTo(%d) returned with flushed offset %d", what, off, l.FlushedOffset())
		}
	}
	step("empty log", 0, 0)
	a := appendN(3)
	step("first append", a, 1)
	step("again", a, 1)
	b := appendN(2)
	step("older offset after a new append", a, 1)
	step("new append", b, 2)
	step("past the log end, all durable", b+100, 2)
	c := appendN(1)
	step("past the log end, tail not durable", c+100, 3)
	if err := l.Sync(); err != nil || fsyncs.Load() != 3 {
		t.Fatalf("Sync with nothing new: %v, %d fsyncs", err, fsyncs.Load())
	}
}

// openSyncerLogs opens n logs whose fsyncs are counted per log and, while hold is set,
// wait on gate.
func openSyncerLogs(t *testing.T, n int, hold *atomic.Bool, gate chan struct{}) ([]*Log, map[string]*atomic.Int64) {
	t.Helper()
	counts := map[string]*atomic.Int64{}
	var logs []*Log
	for i := 0; i < n; i++ {
		dir := filepath.Join(t.TempDir(), "p")
		cnt := &atomic.Int64{}
		counts[dir] = cnt
		opts := testOpts(nil)
		opts.hooks = &testHooks{fsync: func(f *os.File) error {
			cnt.Add(1)
			if hold.Load() {
				<-gate
			}
			return f.Sync()
		}}
		l, err := Open(dir, DefaultConfig(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		logs = append(logs, l)
	}
	return logs, counts
}

// TestSyncerSharesRoundsAcrossLogs: callers waiting on different logs while a round runs
// are all served by the next round, one fsync per log, and each returns only once its
// offset is durable.
func TestSyncerSharesRoundsAcrossLogs(t *testing.T) {
	var hold atomic.Bool
	gate := make(chan struct{})
	logs, counts := openSyncerLogs(t, 5, &hold, gate)
	s := NewSyncer()
	defer s.Close()
	ctx := context.Background()

	// Round 1: one caller on log 0, held inside its fsync.
	hold.Store(true)
	end0, err := logs[0].Append(mkBatch(t, batchOpt{}, valueRecs(1, 1, "v")...))
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() { first <- s.SyncTo(ctx, logs[0], end0.LastOffset+1) }()
	if !testutil.Poll(10*time.Second, func() bool { return counts[logs[0].Dir()].Load() != 0 }) {
		t.Fatal("the first round never started its fsync")
	}

	// While it is held: 3 callers on each of the 5 logs (log 0 included) queue for the
	// next round.
	const perLog = 3
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, l := range logs {
		for k := 0; k < perLog; k++ {
			res, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(1, 1, "v")...))
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.SyncTo(ctx, l, res.LastOffset+1); err != nil {
					t.Error(err)
					failed.Add(1)
				} else if l.FlushedOffset() <= res.LastOffset {
					t.Errorf("SyncTo returned before offset %d of %s was durable", res.LastOffset, l.Dir())
				}
			}()
		}
	}
	// Let every caller register (they wait on the round, not on an fsync).
	queued := 0
	if !testutil.Poll(10*time.Second, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		queued = 0
		if s.next != nil {
			queued = len(s.next.want)
		}
		return queued == len(logs)
	}) {
		t.Fatalf("callers never queued: %d of %d logs", queued, len(logs))
	}
	hold.Store(false)
	close(gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}
	for i, l := range logs {
		want := int64(1)
		if i == 0 {
			want = 2 // round 1, then round 2
		}
		if n := counts[l.Dir()].Load(); n != want {
			t.Errorf("log %d: %d fsyncs for %d callers, want %d", i, n, perLog, want)
		}
	}
}

// TestSyncerErrorsAndCancel: an fsync failure reaches only the callers of that log; a
// caller whose context ends returns ctx.Err() while the round goes on; after Close,
// SyncTo answers ErrClosed.
func TestSyncerErrorsAndCancel(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts(nil)
	opts.hooks = &testHooks{fsync: func(*os.File) error { return errors.New("disk on fire") }}
	bad, err := Open(filepath.Join(dir, "bad-0"), DefaultConfig(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.close(false)
	good, err := Open(filepath.Join(dir, "good-0"), DefaultConfig(), testOpts(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	s := NewSyncer()
	ctx := context.Background()
	var wg sync.WaitGroup
	var badErr, goodErr error
	for _, x := range []struct {
		l   *Log
		err *error
	}{{bad, &badErr}, {good, &goodErr}} {
		res, err := x.l.Append(mkBatch(t, batchOpt{}, valueRecs(1, 1, "v")...))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			*x.err = s.SyncTo(ctx, x.l, res.LastOffset+1)
		}()
	}
	wg.Wait()
	if !errors.Is(badErr, ErrStorage) || goodErr != nil {
		t.Fatalf("bad log: %v (want ErrStorage); good log: %v (want nil)", badErr, goodErr)
	}

	res, err := good.Append(mkBatch(t, batchOpt{}, valueRecs(1, 1, "v")...))
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	// Either the round already covered the offset or the caller gives up: never a hang.
	if err := s.SyncTo(cctx, good, res.LastOffset+1); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled SyncTo: %v", err)
	}
	s.Close()
	s.Close()
	if _, err := good.Append(mkBatch(t, batchOpt{}, valueRecs(1, 1, "v")...)); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncTo(ctx, good, good.LogEndOffset()); !errors.Is(err, ErrClosed) {
		t.Fatalf("SyncTo after Close: %v, want ErrClosed", err)
	}
}
