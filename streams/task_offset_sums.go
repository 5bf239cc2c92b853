package streams

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/streams/internal/assignor"
	"github.com/rivulet-io/rivulet/topology"
)

// What the assignor needs to know about task state: which tasks have
// changelogged stores, how far the changelogs go (the group leader asks the
// brokers), and how far this instance's copies go (from checkpoint files,
// standby tasks and running tasks).

// endOffsetsTimeout bounds the group leader's ListOffsets for task lags.
const endOffsetsTimeout = 10 * time.Second

// taskChangelogs returns the changelog partitions of each of tasks that has
// logged stores.
func (a *App) taskChangelogs(tasks []TaskID) map[TaskID][]TopicPartition {
	logged := map[int][]string{}
	for _, s := range a.topo.subs {
		if s.Global {
			continue
		}
		for _, name := range s.Stores {
			if spec := a.topo.t.Store(name); spec != nil && spec.Logging && !spec.Global {
				logged[s.ID] = append(logged[s.ID], a.topo.names.ChangelogTopic(name))
			}
		}
	}
	out := map[TaskID][]TopicPartition{}
	for _, t := range tasks {
		for _, topic := range logged[t.Subtopology] {
			out[t] = append(out[t], TopicPartition{Topic: topic, Partition: t.Partition})
		}
	}
	return out
}

// changelogEndSums returns, for each task with changelogs, the sum of their
// end offsets (a task missing from the result has unknown ends: the brokers
// did not answer), and the partition counts of the changelog topics the
// brokers listed.
func (a *App) changelogEndSums(changelogs map[TaskID][]TopicPartition) (map[TaskID]int64, map[string]int32) {
	if len(changelogs) == 0 {
		return nil, nil
	}
	a.mu.Lock()
	admin, ctx := a.admin, a.runCtx
	a.mu.Unlock()
	if admin == nil || ctx == nil {
		return nil, nil
	}
	topicSet := map[string]bool{}
	for _, tps := range changelogs {
		for _, tp := range tps {
			topicSet[tp.Topic] = true
		}
	}
	topics := make([]string, 0, len(topicSet))
	for t := range topicSet {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	ctx, cancel := context.WithTimeout(ctx, endOffsetsTimeout)
	defer cancel()
	ends, err := admin.ListEndOffsets(ctx, topics...)
	if err != nil {
		a.cfg.Logger.Warn("streams: changelog end offsets for task lags; assigning by stickiness only", "err", err)
		return nil, nil
	}
	partitions := map[string]int32{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Partition >= 0 && !errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
			partitions[o.Topic]++
		}
	})
	out := make(map[TaskID]int64, len(changelogs))
next:
	for t, tps := range changelogs {
		var sum int64
		for _, tp := range tps {
			o, ok := ends.Lookup(tp.Topic, tp.Partition)
			if !ok || o.Err != nil {
				continue next
			}
			sum += o.Offset
		}
		out[t] = sum
	}
	return out, partitions
}

// checkChangelogPartitions compares the changelog topics' partition counts
// (those the brokers listed end offsets of) with the tasks of the
// sub-topologies owning them: each task writes its own changelog
// partition, so there must be one for every task, as Kafka Streams' leader
// checks on every rebalance (InternalTopicManager). Partitions added to an
// input topic after the start make more tasks than changelog partitions.
// A changelog with more partitions than tasks is refused at start only
// (setupTopics): here it may as well be a topic missing from the leader's
// metadata for a moment, which makes fewer tasks.
func (a *App) checkChangelogPartitions(changelogs map[TaskID][]TopicPartition, partitions map[string]int32) error {
	need := map[string]int32{}
	for t, tps := range changelogs {
		for _, tp := range tps {
			need[tp.Topic] = max(need[tp.Topic], t.Partition+1)
		}
	}
	topics := make([]string, 0, len(need))
	for tp := range need {
		topics = append(topics, tp)
	}
	sort.Strings(topics)
	for _, tp := range topics {
		if n, ok := partitions[tp]; ok && n < need[tp] {
			// An answer missing some partitions (a broker that did not
			// answer) is not a verdict: the topic's metadata decides.
			if n, ok := a.topicPartitions(tp); ok && n < need[tp] {
				return &InternalTopicPartitionsError{Topic: tp, Partitions: n, Want: need[tp]}
			}
		}
	}
	return nil
}

// topicPartitions returns topic's partition count from the cluster's
// metadata (ok false when it cannot be had).
func (a *App) topicPartitions(topic string) (int32, bool) {
	a.mu.Lock()
	admin, ctx := a.admin, a.runCtx
	a.mu.Unlock()
	if admin == nil || ctx == nil {
		return 0, false
	}
	ctx, cancel := context.WithTimeout(ctx, endOffsetsTimeout)
	defer cancel()
	td, err := admin.ListTopics(ctx, topic)
	if err != nil {
		return 0, false
	}
	d, ok := td[topic]
	if !ok || d.Err != nil {
		return 0, false
	}
	return int32(len(d.Partitions)), true
}

// taskOffsetSums lists the task states this instance holds, for its
// subscription: assignor.OffsetSumRunning for the tasks it runs (running lists this
// thread's; the standby manager knows the others'), the standby tasks'
// current positions, and the checkpoints of the task directories in
// state.dir. Sorted by task.
func (a *App) taskOffsetSums(running []TaskID) []assignor.TaskOffsetSum {
	sums := map[TaskID]int64{}
	root := filepath.Join(a.cfg.StateDir, a.cfg.ApplicationID)
	if entries, err := os.ReadDir(root); err == nil {
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			id, err := topology.ParseTaskID(e.Name())
			if err != nil {
				continue // "global" and strangers
			}
			if sum, ok := checkpointSum(filepath.Join(root, e.Name())); ok {
				sums[id] = sum
			}
		}
	}
	for id, sum := range a.standbys.positions() {
		sums[id] = sum
	}
	for _, id := range a.standbys.activeTasks() {
		sums[id] = assignor.OffsetSumRunning
	}
	for _, id := range running {
		sums[id] = assignor.OffsetSumRunning
	}
	out := make([]assignor.TaskOffsetSum, 0, len(sums))
	for id, s := range sums {
		out = append(out, assignor.TaskOffsetSum{Task: id, Sum: s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Task.Less(out[j].Task) })
	if len(out) > maxTasksInSubscription {
		out = out[:maxTasksInSubscription]
	}
	return out
}

// checkpointSum sums the checkpointed offsets of the stores in a task
// directory; ok is false when none has a readable checkpoint.
func checkpointSum(taskDir string) (int64, bool) {
	stores, err := os.ReadDir(taskDir)
	if err != nil {
		return 0, false
	}
	var sum int64
	found := false
	for _, s := range stores {
		if !s.IsDir() {
			continue
		}
		cp, err := statestore.ReadCheckpoint(filepath.Join(taskDir, s.Name()))
		if err != nil || len(cp) == 0 {
			continue
		}
		for _, off := range cp {
			if off > 0 {
				sum += off
			}
		}
		found = true
	}
	return sum, found
}
