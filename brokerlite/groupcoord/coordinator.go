package groupcoord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Coordinator is the classic-protocol group coordinator for every
// __consumer_offsets partition of one broker: group membership
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), committed offsets
// (OffsetCommit, OffsetFetch, OffsetDelete) and group administration
// (DescribeGroups, ListGroups, DeleteGroups).
//
// Each group has its own mutex; no lock is shared across groups while a
// request waits. JoinGroup and SyncGroup answer through a callback (or the
// blocking Join and Sync), since a member waits there for the others. Writes
// to __consumer_offsets go through Config.Log and are durable before the
// request that caused them is answered.
type Coordinator struct {
	cfg    Config
	log    Log
	clock  Clock
	logger *slog.Logger

	// ctx bounds appends that no request owns (group metadata written by
	// timers); Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	closed atomic.Bool

	mu          sync.Mutex // guards groups and expiry; taken after a group's mu, never before
	groups      map[string]*group
	expiry      Timer
	closeOnce   sync.Once
	timers      sync.WaitGroup // one count per scheduled timer callback not yet stopped or finished
	loadSkipped atomic.Int64

	// txn holds the offsets of open transactions (txnoffsets.go).
	txn txnOffsets

	// loadedSeq is, per __consumer_offsets partition, the sequence number
	// of the last offset record loaded; a group's offset writes number on
	// from it. Written by Start only.
	loadedSeq map[int32]uint64
}

// Start loads every __consumer_offsets partition through cfg.Log, then
// returns a running coordinator. It calls cfg.EnsureDefaults and
// cfg.Validate. Malformed batches or records in the log are logged and
// skipped (LoadSkipped counts them); an error reading the log fails Start.
func Start(ctx context.Context, cfg Config) (*Coordinator, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Coordinator{
		cfg:    cfg,
		log:    cfg.Log,
		clock:  cfg.Clock,
		logger: cfg.Logger,
		groups: make(map[string]*group),

		loadedSeq: make(map[int32]uint64),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if err := c.load(ctx); err != nil {
		c.cancel()
		c.Close()
		return nil, err
	}
	c.mu.Lock()
	c.armExpiryLocked()
	c.mu.Unlock()
	return c, nil
}

// Close stops every timer and waits for running timer callbacks, answers
// every waiting JoinGroup and SyncGroup with NOT_COORDINATOR, and makes
// later calls answer NOT_COORDINATOR. It does not close the Log.
func (c *Coordinator) Close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed.Store(true)
		if c.cancel != nil {
			c.cancel()
		}
		c.stopTimer(c.expiry)
		c.expiry = nil
		gs := make([]*group, 0, len(c.groups))
		for _, g := range c.groups {
			gs = append(gs, g)
		}
		c.mu.Unlock()
		for _, g := range gs {
			var r replies
			g.mu.Lock()
			g.shutdown(&r)
			g.mu.Unlock()
			r.run()
		}
		c.timers.Wait()
	})
}

// PartitionFor returns the __consumer_offsets partition of group.
func (c *Coordinator) PartitionFor(group string) int32 {
	return PartitionFor(group, c.cfg.Partitions)
}

// LoadSkipped returns how many malformed batches and records Start
// skipped while loading.
func (c *Coordinator) LoadSkipped() int64 { return c.loadSkipped.Load() }

// replies are callbacks collected while a group is locked and run after it
// is unlocked, so a callback never runs under a coordinator lock.
type replies []func()

func (r *replies) add(f func()) { *r = append(*r, f) }

func (r replies) run() {
	for _, f := range r {
		f()
	}
}

// afterFunc schedules f on the clock and counts it in c.timers until it
// has run or stopTimer stopped it.
func (c *Coordinator) afterFunc(d time.Duration, f func()) Timer {
	c.timers.Add(1)
	return c.clock.AfterFunc(d, func() {
		defer c.timers.Done()
		f()
	})
}

func (c *Coordinator) stopTimer(t Timer) {
	if t != nil && t.Stop() {
		c.timers.Done()
	}
}

// slot is a re-armable timer of a group. seq invalidates a callback that
// was already running when the slot was re-armed or disarmed.
type slot struct {
	t   Timer
	seq uint64
}

// arm (re)schedules s to run f with g locked after d. Callers hold g.mu.
func (g *group) arm(s *slot, d time.Duration, f func(r *replies)) {
	g.c.stopTimer(s.t)
	s.seq++
	seq := s.seq
	s.t = g.c.afterFunc(d, func() {
		var r replies
		g.mu.Lock()
		if g.c.closed.Load() || g.state == StateDead || s.seq != seq {
			g.mu.Unlock()
			return
		}
		s.t = nil
		f(&r)
		g.mu.Unlock()
		r.run()
	})
}

// disarm stops s. Callers hold g.mu.
func (g *group) disarm(s *slot) {
	g.c.stopTimer(s.t)
	s.t = nil
	s.seq++
}

// outcome of withGroup.
type outcome int8

const (
	found outcome = iota
	notFound
	shutDown
)

// withGroup runs fn with the group locked. With create, a missing group is
// created Empty. A group found Dead (deleted meanwhile) is looked up again.
// fn's replies run after the group is unlocked.
func (c *Coordinator) withGroup(id string, create bool, fn func(g *group, r *replies)) outcome {
	for {
		g, o := c.lookup(id, create)
		if o != found {
			return o
		}
		g.mu.Lock()
		if c.closed.Load() {
			g.mu.Unlock()
			return shutDown
		}
		if g.state == StateDead {
			g.mu.Unlock()
			continue
		}
		var r replies
		fn(g, &r)
		g.mu.Unlock()
		r.run()
		return found
	}
}

func (c *Coordinator) lookup(id string, create bool) (*group, outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return nil, shutDown
	}
	g := c.groups[id]
	if g == nil {
		if !create {
			return nil, notFound
		}
		g = c.newGroup(id)
		c.groups[id] = g
	}
	return g, found
}

// snapshot returns the current groups, sorted by id.
func (c *Coordinator) snapshot() []*group {
	c.mu.Lock()
	gs := make([]*group, 0, len(c.groups))
	for _, g := range c.groups {
		gs = append(gs, g)
	}
	c.mu.Unlock()
	sort.Slice(gs, func(i, j int) bool { return gs[i].id < gs[j].id })
	return gs
}

// removeGroup drops a Dead group from the map. Callers hold g.mu.
func (c *Coordinator) removeGroup(g *group) {
	c.mu.Lock()
	if c.groups[g.id] == g {
		delete(c.groups, g.id)
	}
	c.mu.Unlock()
}

// appendRecords writes recs as one batch to the group's partition and
// waits until it is durable. ctx bounds it together with
// OffsetCommitTimeout and Close.
func (c *Coordinator) appendRecords(ctx context.Context, partition int32, recs []record) error {
	ctx, cancel := c.appendContext(ctx)
	defer cancel()
	wait, err := c.stageRecords(ctx, partition, recs)
	if err != nil {
		return err
	}
	return c.awaitDurable(ctx, partition, wait)
}

// appendContext bounds an append and its durability wait by ctx,
// OffsetCommitTimeout and Close.
func (c *Coordinator) appendContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.OffsetCommitTimeout)
	stop := context.AfterFunc(c.ctx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// stageRecords writes recs as one batch to the group's partition and returns
// before it is durable; the caller waits with awaitDurable.
func (c *Coordinator) stageRecords(ctx context.Context, partition int32, recs []record) (func(context.Context) error, error) {
	batch := encodeBatch(recs, c.clock.Now().UnixMilli())
	wait, err := c.log.Append(ctx, partition, batch)
	if err != nil {
		return nil, fmt.Errorf("groupcoord: append to __consumer_offsets-%d: %w", partition, err)
	}
	return wait, nil
}

// awaitDurable waits for a staged batch to be durable.
func (c *Coordinator) awaitDurable(ctx context.Context, partition int32, wait func(context.Context) error) error {
	if err := wait(ctx); err != nil {
		return fmt.Errorf("groupcoord: append to __consumer_offsets-%d: %w", partition, err)
	}
	return nil
}

// appendFailure classifies why an append to __consumer_offsets failed.
type appendFailure int8

const (
	appendUnavailable appendFailure = iota // anything else: retriable
	appendClosing                          // the coordinator or the partition is closing
	appendTimedOut                         // past offsets.commit.timeout.ms
	appendStorage                          // the disk failed (full or broken)
	appendTooLarge                         // the batch is too large for the log
)

func (c *Coordinator) classifyAppend(err error) appendFailure {
	var ke *kerr.Error
	isKerr := func(want *kerr.Error) bool { return errors.As(err, &ke) && ke == want }
	switch code := partlog.KafkaErrorCode(err); {
	case c.closed.Load() || errors.Is(err, partlog.ErrClosed) || isKerr(kerr.NotLeaderForPartition):
		return appendClosing
	case errors.Is(err, context.DeadlineExceeded) || isKerr(kerr.RequestTimedOut):
		return appendTimedOut
	case code == kerr.KafkaStorageError.Code || isKerr(kerr.KafkaStorageError):
		return appendStorage
	case code == kerr.MessageTooLarge.Code || code == kerr.RecordListTooLarge.Code ||
		isKerr(kerr.MessageTooLarge) || isKerr(kerr.RecordListTooLarge) || isKerr(kerr.InvalidFetchSize):
		return appendTooLarge
	default:
		return appendUnavailable
	}
}

// metadataErrorCode maps a failed append of group metadata or tombstones
// (SyncGroup, a static member's rejoin, DeleteGroups, OffsetDelete) to the
// error code the client gets, as Kafka's coordinator maps it: NOT_COORDINATOR
// when the coordinator is closing or the disk failed (the client looks the
// coordinator up again), UNKNOWN_SERVER_ERROR for a batch too large for the
// log, and otherwise, a timeout included, COORDINATOR_NOT_AVAILABLE. Clients
// retry the retriable ones; REQUEST_TIMED_OUT or KAFKA_STORAGE_ERROR would be
// fatal to a Java consumer in JoinGroup and SyncGroup.
func (c *Coordinator) metadataErrorCode(err error) int16 {
	switch c.classifyAppend(err) {
	case appendClosing, appendStorage:
		return kerr.NotCoordinator.Code
	case appendTooLarge:
		return kerr.UnknownServerError.Code
	default:
		return kerr.CoordinatorNotAvailable.Code
	}
}

// commitErrorCode maps a failed append of an offset commit (OffsetCommit,
// TxnOffsetCommit) to the error code of its partitions. As for group
// metadata, except that a batch too large for the log answers
// INVALID_COMMIT_OFFSET_SIZE, as Kafka's classic coordinator does.
func (c *Coordinator) commitErrorCode(err error) int16 {
	if c.classifyAppend(err) == appendTooLarge {
		return kerr.InvalidCommitOffsetSize.Code
	}
	return c.metadataErrorCode(err)
}
