package streams

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The stream thread's side of a rebalance. franz-go calls onAssigned,
// onRevoked and onLost between polls (BlockRebalanceOnPoll); each takes the
// thread's lock. Assigned partitions get tasks (restored first when they
// have changelogged stores, restorer.go); revoked ones are committed and
// closed; lost ones are closed without a commit.

func (t *streamThread) onAssigned(ctx context.Context, _ *kgo.Client, assigned map[string][]int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.app.metrics.rebalances.Add(1)
	t.app.cfg.Logger.Debug("streams: partitions assigned", "thread", t.name, "assigned", fmt.Sprint(assigned))
	for topic, ps := range assigned {
		for _, p := range ps {
			t.assigned[TopicPartition{Topic: topic, Partition: p}] = true
		}
	}
	if err := t.ensureTasks(ctx); err != nil && t.fatal == nil {
		t.fatal = err
	}
	t.updateRunning()
}

func (t *streamThread) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	t.app.cfg.Logger.Debug("streams: partitions revoked", "thread", t.name, "revoked", fmt.Sprint(revoked))
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dropPartitions(ctx, revoked, !t.failed)
}

func (t *streamThread) onLost(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
	t.app.cfg.Logger.Debug("streams: partitions lost", "thread", t.name, "lost", fmt.Sprint(lost))
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dropPartitions(ctx, lost, false)
}

// dropPartitions closes the tasks owning the partitions (committing them
// first when commit is set) and forgets the partitions.
func (t *streamThread) dropPartitions(ctx context.Context, parts map[string][]int32, commit bool) {
	affected := map[TaskID]*streamTask{}
	for topic, ps := range parts {
		for _, p := range ps {
			tp := TopicPartition{Topic: topic, Partition: p}
			delete(t.assigned, tp)
			if task, ok := t.byTP[tp]; ok {
				affected[task.ID()] = task
			}
		}
	}
	if len(affected) == 0 {
		t.updateRunning()
		return
	}
	t.setState(threadRebalancing)
	var list []*streamTask
	for _, task := range affected {
		list = append(list, task)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID().Less(list[j].ID()) })
	clean := false
	if t.app.eos() && !commit && !t.failed {
		// The open transaction holds output of the lost tasks: abort it,
		// which takes every task of the thread back to its last commit.
		if err := t.abortAndRevive(ctx, errors.New("streams: partitions lost")); err != nil && t.fatal == nil {
			t.fatal = err
		}
	}
	if commit {
		var running []*streamTask
		for _, task := range list {
			if task.State() == TaskRunning {
				running = append(running, task)
			}
		}
		if err := t.commit(ctx, running, true); err != nil {
			t.app.cfg.Logger.Warn("streams: commit before revoking tasks failed; they will be reprocessed from the last commit", "thread", t.name, "err", err)
			if t.app.eos() && t.fatal == nil {
				t.fatal = err
			}
		} else {
			clean = true
		}
	}
	if clean && t.app.eos() {
		// What the processors forward or write to stores as they close
		// goes into the thread's next transaction, as in Kafka Streams.
		if err := t.eosBegin(); err != nil {
			clean = false
			if t.fatal == nil {
				t.fatal = err
			}
		}
	}
	for _, task := range list {
		t.closeTask(task, clean)
	}
	// Partitions still assigned whose task was closed get a new task.
	if err := t.ensureTasks(ctx); err != nil && t.fatal == nil {
		t.fatal = err
	}
	t.updateRunning()
}

func (t *streamThread) closeTask(task *streamTask, clean bool) {
	if err := task.Close(clean); err != nil {
		t.app.cfg.Logger.Warn("streams: close task", "thread", t.name, "task", task.ID().String(), "err", err)
	}
	t.app.standbys.deactivate(task.ID())
	delete(t.tasks, task.ID())
	var resume map[string][]int32
	for _, tp := range task.Partitions() {
		delete(t.byTP, tp)
		// franz-go keeps a partition paused until it is resumed, across
		// revocations: a partition paused for this task (restoring, or
		// back-pressure) and assigned again later, to a task that needs
		// no restore, would otherwise never be fetched again.
		if t.paused[tp] {
			delete(t.paused, tp)
			if resume == nil {
				resume = map[string][]int32{}
			}
			resume[tp.Topic] = append(resume[tp.Topic], tp.Partition)
		}
	}
	if resume != nil {
		t.cl.ResumeFetchPartitions(resume)
	}
	t.restorer.drop(task)
}

// ensureTasks makes a task for every assigned partition that has none.
func (t *streamThread) ensureTasks(ctx context.Context) error {
	want := map[TaskID][]TopicPartition{}
	for tp := range t.assigned {
		if _, ok := t.byTP[tp]; ok {
			continue
		}
		sub, ok := t.app.subtopologyOf(tp.Topic)
		if !ok {
			return fmt.Errorf("streams: assigned %s, which no sub-topology reads", tp)
		}
		id := TaskID{Subtopology: sub, Partition: tp.Partition}
		want[id] = append(want[id], tp)
	}
	ids := make([]TaskID, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].Less(ids[j]) })
	for _, id := range ids {
		tps := want[id]
		if task, ok := t.tasks[id]; ok {
			for _, tp := range tps {
				if err := task.AddPartition(tp); err != nil {
					return err
				}
				t.byTP[tp] = task
			}
			continue
		}
		t.app.standbys.activate(id) // a standby of it here hands over its state
		task, err := newStreamTask(t.app.topo, id, tps, t.taskConfig())
		if err != nil {
			t.app.standbys.deactivate(id)
			return err
		}
		t.tasks[id] = task
		for _, tp := range tps {
			t.byTP[tp] = task
		}
		if err := t.startRestore(ctx, task); err != nil {
			return err
		}
	}
	return nil
}

// updateRunning sets the thread RUNNING when it has no task restoring.
func (t *streamThread) updateRunning() {
	for _, task := range t.tasks {
		if task.State() != TaskRunning {
			t.setState(threadRebalancing)
			return
		}
	}
	t.setState(threadRunning)
}
