package streams

// Task idling (Kafka Streams' KIP-695).
//
// A task with several input partitions processes the buffered record with
// the smallest timestamp across them. When one partition's buffer is empty,
// the next record in timestamp order may be one of its records still on
// the broker. As Kafka Streams does, the task then holds back:
//
//   - while the empty partition's fetch lag is unknown (nothing fetched
//     yet, and no end offset checked) or above zero (records are on the
//     broker and the next fetch brings them), whatever max.task.idle.ms is,
//     unless it is negative;
//   - once the lag is known to be zero, for max.task.idle.ms more (0: not
//     at all), for records produced meanwhile; processing after that wait
//     counts in enforced_processing_total.
//
// The stream thread reports each partition's position and end from every
// fetch (the offset after the last record or transaction marker returned,
// and the high watermark). A partition that has nothing to fetch never
// shows up in a franz-go fetch, so for those the thread compares the end
// offset with the committed offset (see streamThread.checkLags).

// holdBack reports whether Process must wait for an empty partition. Each
// empty partition has its own deadline, as in Kafka Streams'
// PartitionGroup: it starts when the partition is first seen empty and
// caught up, and ends once the partition has records again, so a partition
// that empties again is waited for max.task.idle.ms again.
func (t *streamTask) holdBack(wallClock int64) bool {
	if t.cfg.MaxTaskIdle < 0 {
		return false
	}
	hold, enforced := t.idleDeadlines(wallClock)
	if hold {
		return true
	}
	if enforced && t.cfg.MaxTaskIdle > 0 {
		t.cfg.Stats.EnforcedProcessingTotal.Add(1)
		t.ops.enforced()
	}
	return false
}

// startIdleDeadlines starts the deadlines of the empty, caught-up
// partitions of a task with nothing buffered.
func (t *streamTask) startIdleDeadlines(wallClock int64) {
	if t.cfg.MaxTaskIdle > 0 {
		t.idleDeadlines(wallClock)
	}
}

// idleDeadlines updates the deadlines of the empty partitions and reports
// whether one of them holds processing back (behind on the broker, or
// caught up and its deadline not reached), and whether one was given up
// on (its deadline passed).
func (t *streamTask) idleDeadlines(wallClock int64) (hold, enforced bool) {
	idle := t.cfg.MaxTaskIdle.Milliseconds()
	for _, q := range t.queues {
		if q.headLoaded {
			continue
		}
		if t.cfg.TrackFetchLag && (!q.lagKnown || q.lag > 0) {
			q.idleDeadline = -1 // the max.task.idle.ms wait starts at zero lag
			hold = true
			continue
		}
		if q.idleDeadline < 0 {
			q.idleDeadline = wallClock + idle
		}
		if wallClock < q.idleDeadline {
			hold = true
		} else {
			enforced = true
		}
	}
	return hold, enforced
}

// SetFetchPosition records, for input partition tp, the offset after the
// last record (or transaction marker) its driver fetched and the
// partition's end as of that fetch (the high watermark; the last stable
// offset when reading committed). Their difference is the fetch lag that
// KIP-695 idling waits on (see taskConfig.TrackFetchLag).
func (t *streamTask) SetFetchPosition(tp TopicPartition, next, end int64) {
	q, ok := t.queueByTP[tp]
	if !ok {
		return
	}
	if next > q.fetchNext {
		q.fetchNext = next
	}
	q.lag = max(0, end-q.fetchNext)
	q.lagKnown = true
}

// FetchPosition returns the offset after the last record fetched for tp,
// if any was.
func (t *streamTask) FetchPosition(tp TopicPartition) (int64, bool) {
	q, ok := t.queueByTP[tp]
	if !ok || q.fetchNext < 0 {
		return 0, false
	}
	return q.fetchNext, true
}

// Waiting reports whether the task holds buffered records back for an
// empty partition (its last Process returned false for that reason).
func (t *streamTask) Waiting() bool { return t.waiting && t.state == TaskRunning }

// LagPending returns the task's empty input partitions whose fetch lag is
// unknown or above zero while another partition has records: those the
// task waits on. The driver checks their end offsets (a partition with
// nothing to fetch never appears in a fetch).
func (t *streamTask) LagPending() []TopicPartition {
	if !t.waiting || !t.cfg.TrackFetchLag || t.cfg.MaxTaskIdle < 0 {
		return nil
	}
	var out []TopicPartition
	for _, q := range t.queues {
		if q.len() == 0 && (!q.lagKnown || q.lag > 0) {
			out = append(out, q.tp)
		}
	}
	return out
}
