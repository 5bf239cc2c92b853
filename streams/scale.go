package streams

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Dynamic parallelism: stream threads added and removed while the
// application runs, as Kafka Streams' KafkaStreams.addStreamThread and
// removeStreamThread (KIP-663). Each thread is its own member of the
// application's consumer group, so adding or removing one is a group
// rebalance: the assignor moves tasks to or from the thread, and a task
// that moves is committed and closed by its old owner and restored from its
// changelog (or its local checkpointed state) by the new one.

// ErrNotRunning is returned by calls that need a started application
// (RUNNING or REBALANCING).
var ErrNotRunning = errors.New("streams: the application is not running")

// lockToScale locks a.mu for op (adding or removing a stream thread) when
// the application is RUNNING or REBALANCING and not closing; on an error
// a.mu is not held.
func (a *App) lockToScale(op string) error {
	switch a.State() {
	case StateRunning, StateRebalancing:
	default:
		return fmt.Errorf("streams: %s: %w (state %s)", op, ErrNotRunning, a.State())
	}
	a.mu.Lock()
	if a.closing {
		a.mu.Unlock()
		return fmt.Errorf("streams: %s: %w (closing)", op, ErrNotRunning)
	}
	return nil
}

// AddStreamThread starts one more stream thread and returns its name, as
// Kafka Streams' addStreamThread. The thread joins the group, which
// rebalances and gives it tasks. The application must be RUNNING or
// REBALANCING.
//
// An application's parallelism is capped by its number of tasks (the input
// partitions of each sub-topology): a thread beyond that idles, and adding
// one logs a line saying so.
func (a *App) AddStreamThread() (string, error) {
	if err := a.lockToScale("add stream thread"); err != nil {
		return "", err
	}
	id, err := a.startThreadLocked(nil)
	if err != nil {
		a.mu.Unlock()
		return "", fmt.Errorf("streams: add stream thread: %w", err)
	}
	name := a.threads[id].name
	n := len(a.threads)
	a.mu.Unlock()
	a.cfg.Logger.Info("streams: added a stream thread", "thread", name, "threads", n)
	a.warnParallelism(n, a.partitionCounts())
	a.updateState()
	return name, nil
}

// RemoveStreamThread stops one stream thread (the most recently numbered
// one), waits until it has committed its tasks, closed them and left the
// group, and returns its name, as Kafka Streams' removeStreamThread. The
// group then rebalances and its tasks move to the other threads (of this
// instance or others). It gives up waiting when ctx is done (the thread
// still stops). Removing the last thread is allowed: the instance then
// runs no task until a thread is added.
func (a *App) RemoveStreamThread(ctx context.Context) (string, error) {
	if err := a.lockToScale("remove stream thread"); err != nil {
		return "", err
	}
	var victim *streamThread
	for _, t := range a.threads {
		if t.removing.Load() {
			continue
		}
		if victim == nil || t.id > victim.id {
			victim = t
		}
	}
	if victim == nil {
		a.mu.Unlock()
		return "", errors.New("streams: remove stream thread: no stream thread left to remove")
	}
	victim.removing.Store(true)
	a.mu.Unlock()
	a.cfg.Logger.Info("streams: removing a stream thread", "thread", victim.name)
	// The thread sees its context cancelled at the top of its loop, commits
	// and closes its tasks cleanly and closes its client, which leaves the
	// group (see streamThread.shutdown).
	victim.cancel()
	select {
	case <-victim.exited:
	case <-ctx.Done():
		return victim.name, fmt.Errorf("streams: remove stream thread %s: %w (it is still stopping)", victim.name, ctx.Err())
	}
	// A static member does not leave the group when its client closes
	// (KIP-345): its tasks would wait for the session timeout. Kafka
	// Streams removes it explicitly; so does this.
	if id := a.cfg.ClientProperties["consumer"]["group.instance.id"]; id != "" {
		instance := id + "-" + strconv.Itoa(victim.id+1)
		a.mu.Lock()
		admin := a.admin
		a.mu.Unlock()
		resp, err := admin.LeaveGroup(ctx, kadm.LeaveGroup(a.cfg.ApplicationID).InstanceIDs(instance).Reason("the stream thread was removed"))
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			a.updateState()
			return victim.name, fmt.Errorf("streams: remove stream thread %s: remove static member %s from the group: %w", victim.name, instance, err)
		}
	}
	a.updateState()
	return victim.name, nil
}

// StreamThreads returns the names of the stream threads alive now, sorted.
func (a *App) StreamThreads() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.threads))
	for _, t := range a.threads {
		out = append(out, t.name)
	}
	sort.Strings(out)
	return out
}

// MaxParallelism returns the number of tasks the topology makes from its
// input topics' partitions (known once the application has started; 0
// before, or when a source is a pattern whose topics are not known yet):
// the number of stream threads, over all instances, that can have work.
func (a *App) MaxParallelism() int { return a.maxParallelism(a.partitionCounts()) }

func (a *App) partitionCounts() map[string]int32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.counts
}

func (a *App) maxParallelism(counts map[string]int32) int {
	if counts == nil {
		return 0
	}
	total := 0
	for _, s := range a.topo.subs {
		if s.Global {
			continue
		}
		if len(s.SourcePatterns) > 0 {
			return 0
		}
		var n int32
		for _, tp := range s.SourceTopics {
			c, ok := counts[tp]
			if !ok {
				c = counts[a.topo.names.TopicName(tp)]
			}
			n = max(n, c)
		}
		total += int(n)
	}
	return total
}

// warnParallelism logs when this instance alone has more threads than the
// topology has tasks: the extra threads will idle.
func (a *App) warnParallelism(threads int, counts map[string]int32) {
	if limit := a.maxParallelism(counts); limit > 0 && threads > limit {
		a.cfg.Logger.Warn("streams: more stream threads than tasks; parallelism is capped by the number of input partitions, so the extra threads will idle",
			"threads", threads, "tasks", limit)
	}
}
