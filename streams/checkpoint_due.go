package streams

import (
	"fmt"
	"iter"
)

// checkpointDeltaRecords is how far a task's changelogs must move past its last
// checkpoint (summed over its stores) before a commit writes a new one: Kafka Streams'
// threshold. Below it a commit only writes the stores' caches through; a crash then
// restores at most about this many more changelog records per task.
const checkpointDeltaRecords = 10_000

// flushWrites writes every store's cached entries through (forwarding and logging them)
// without making the stores durable: the part of a flush every commit needs.
func (t *streamTask) flushWrites() error {
	if t.state != TaskRunning && t.state != TaskRestoring {
		return nil
	}
	for _, name := range t.storeOrder {
		if err := t.guard(t.stores[name].flushWrites); err != nil {
			return fmt.Errorf("streams: task %s: flush store %q: %w", t.id, name, err)
		}
	}
	return nil
}

// checkpointIfDue makes the task's stores durable and writes their checkpoints when final
// is set (the task closes or moves) or when its changelogs moved on by more than
// threshold records since the checkpoints it last wrote, as Kafka Streams does: a
// checkpoint needs the stores fsynced first, which is most of a commit's cost when it is
// done every commit. acked holds the changelog offsets the producer has acknowledged.
func (t *streamTask) checkpointIfDue(acked map[TopicPartition]int64, final bool, threshold int64) error {
	if t.state == TaskClosed {
		return nil
	}
	if !final && t.checkpointDelta(acked) <= threshold {
		return nil
	}
	if err := t.Flush(); err != nil {
		return err
	}
	return t.Checkpoint(acked)
}

// checkpointDelta sums, over the task's logged stores, how far the changelog acked by
// the producer is past the store's last checkpoint (from 0 for a store without one).
func (t *streamTask) checkpointDelta(acked map[TopicPartition]int64) int64 {
	var delta int64
	for _, s := range t.loggedStores() {
		if next, ok := acked[s.changelogTP()]; ok {
			delta += next - max(s.checkpoint(), 0)
		}
	}
	return delta
}

// loggedStore is a task store with a changelog.
type loggedStore struct{ taskStore }

func (s loggedStore) changelogTP() TopicPartition {
	tp, _ := s.changelog()
	return tp
}

// loggedStores yields the task's stores that have a changelog, by name, in the task's
// store order.
func (t *streamTask) loggedStores() iter.Seq2[string, loggedStore] {
	return func(yield func(string, loggedStore) bool) {
		for _, name := range t.storeOrder {
			s := t.stores[name]
			if _, ok := s.changelog(); ok && !yield(name, loggedStore{s}) {
				return
			}
		}
	}
}
