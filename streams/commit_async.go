package streams

import (
	"context"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// At-least-once, a stream thread's periodic commit sends the consumed
// offsets and goes back to processing without waiting for the group
// coordinator's answer (a round trip, and on a broker that makes offsets
// durable before answering, an fsync). That is safe for at-least-once: the
// offsets are sent only after every record the tasks produced up to them
// was acknowledged, so whether the commit lands now or fails, no output is
// lost; a failed commit only means more input is processed again after a
// restart, which a rebalance during a waiting commit meant already.
// franz-go keeps commits in order, and the final commit before tasks close
// or move (onRevoked, shutdown) waits, as Kafka Streams' commitSync does;
// it first waits for the answers of the periodic ones, so that the offsets
// of one a rebalance refused are sent again with it.
//
// What an answer brings back is picked up at the thread's next step: the
// committed offsets of repartition topics (purged later), a refusal by a
// rebalance (the next commit of each task it held sends that task's offsets
// again), or any other error, which fails the thread as a waiting commit's
// error did.

// asyncCommits is what periodic commits in flight report. Its mutex is
// its own: the answers arrive on franz-go's goroutine, which must never
// wait for the thread's mutex (a final commit holding it waits for them).
type asyncCommits struct {
	mu        sync.Mutex
	committed []map[string]map[int32]kgo.EpochOffset
	// refused are the partitions whose offsets a rebalance refused: the next
	// commit of the task owning each sends its offsets again, whether the
	// task processed anything since or not (it was marked committed when the
	// commit was sent). Kept per partition, so that a commit of some tasks
	// (onRevoked) does not use up what the others need.
	refused map[TopicPartition]bool
	err     error
	// inflight counts the commits not answered yet: a final commit waits
	// for them before it decides which offsets to send, so that a refused
	// one is sent again.
	inflight sync.WaitGroup
}

// takeRefused reports whether a periodic commit a rebalance refused held
// one of partitions, and forgets those partitions.
func (a *asyncCommits) takeRefused(partitions map[TopicPartition]int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	found := false
	for tp := range partitions {
		if a.refused[tp] {
			delete(a.refused, tp)
			found = true
		}
	}
	return found
}

// commitOffsetsAsync sends offsets for commit without waiting for the
// answer.
func (t *streamThread) commitOffsetsAsync(offsets map[string]map[int32]kgo.EpochOffset) {
	ctx, cancel := context.WithTimeout(t.prodCtx, commitTimeout)
	a := &t.asyncCommits
	a.inflight.Add(1)
	t.cl.CommitOffsets(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		defer a.inflight.Done()
		cancel()
		cerr := offsetCommitError(resp, err)
		a.mu.Lock()
		defer a.mu.Unlock()
		switch {
		case cerr == nil:
			a.committed = append(a.committed, offsets)
		case rebalanceError(cerr):
			t.app.metrics.commitFailures.Add(1)
			if a.refused == nil {
				a.refused = make(map[TopicPartition]bool)
			}
			for topic, parts := range offsets {
				for p := range parts {
					a.refused[TopicPartition{Topic: topic, Partition: p}] = true
				}
			}
			t.app.cfg.Logger.Info("streams: offsets not committed during a rebalance; they are committed after it", "thread", t.name, "err", cerr)
		default:
			t.app.metrics.commitFailures.Add(1)
			if a.err == nil {
				a.err = fmt.Errorf("streams: commit offsets: %w", cerr)
			}
		}
	})
}

// takeAsyncCommits takes what the periodic commits answered so far: it
// notes the committed repartition offsets for purging and returns the
// first error that is not a rebalance's. Called with t.mu held.
func (t *streamThread) takeAsyncCommits() error {
	a := &t.asyncCommits
	a.mu.Lock()
	committed, err := a.committed, a.err
	a.committed = nil
	a.mu.Unlock()
	for _, offsets := range committed {
		t.notePurgeable(offsets)
	}
	return err
}

// offsetCommitError is the error of an OffsetCommit: the request's, or
// the first partition's.
func offsetCommitError(resp *kmsg.OffsetCommitResponse, err error) error {
	if err != nil {
		return err
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if e := kerr.ErrorForCode(rp.ErrorCode); e != nil {
				return fmt.Errorf("%s-%d: %w", rt.Topic, rp.Partition, e)
			}
		}
	}
	return nil
}
