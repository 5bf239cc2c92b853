package streams

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/statestore"
)

// Restore: a task's logged stores are rebuilt from their
// changelogs before the task processes, through statestore.Restorer (the
// stores' bulk path: sorted runs and Badger tables built directly for an
// empty store, a write batch otherwise). The stream thread reads the
// changelogs with its restore consumer and applies what one poll returned
// in each loop iteration, between the processing of its running tasks, so
// a restoring task never stops the thread's other tasks (the slicing Kafka
// Streams' state updater of KIP-869 does on its own thread).
//
// Progress shows as log lines (every restoreProgressInterval records, and
// at the end, with the rate) and as Prometheus metrics: restore_records_total,
// restore_remaining_records and restore_records_per_second.

// restoreProgressInterval is how many records a store restores between two
// progress lines.
const restoreProgressInterval = 100_000

// storeRestore is one store being restored from one changelog partition.
type storeRestore struct {
	thread   string
	task     TaskID
	store    string
	tp       TopicPartition
	from     int64
	started  time.Time
	restorer *statestore.Restorer
	buf      []statestore.ChangelogRecord
	// progress, when set, tells the progress of a restore made without a
	// restorer (a global store catching up with its topic).
	progress func() statestore.RestoreProgress
	// pos is the next changelog offset to read: past the last record
	// read, applied or not (transaction markers are read, never applied).
	pos atomic.Int64
}

// progressNow is the restore's progress so far.
func (r *storeRestore) progressNow() statestore.RestoreProgress {
	if r.progress != nil {
		return r.progress()
	}
	return r.restorer.Progress()
}

// remaining is the number of changelog offsets between the restore's
// position and end (0 when end is unknown): it reaches 0 when the restore
// read everything, a closing transaction marker included. A restore made
// without a restorer tells its own remaining count.
func (r *storeRestore) remaining(p statestore.RestoreProgress) int64 {
	if r.progress != nil {
		if p.Offset < 0 {
			return max(p.EndOffset-r.from, 0)
		}
		return p.Remaining()
	}
	if p.EndOffset < 0 {
		return 0
	}
	return max(p.EndOffset-r.pos.Load(), 0)
}

// rate is the records per second restored so far.
func (r *storeRestore) rate(now time.Time) float64 {
	d := now.Sub(r.started).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(r.progressNow().Restored) / d
}

// restoreTracker knows the restores in flight on every thread of an
// instance, for the metrics and App.Status (read from other goroutines).
type restoreTracker struct {
	mu     sync.Mutex
	active map[*storeRestore]struct{}
}

func (rt *restoreTracker) add(r *storeRestore) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.active == nil {
		rt.active = make(map[*storeRestore]struct{})
	}
	rt.active[r] = struct{}{}
}

func (rt *restoreTracker) remove(r *storeRestore) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	delete(rt.active, r)
}

// restoreStatus is the progress of one store's restore.
type restoreStatus struct {
	// Thread is the stream thread restoring it.
	Thread string
	// Task is the task the store belongs to.
	Task TaskID
	// Store is the store's name.
	Store string
	// Changelog is the changelog partition it is restored from.
	Changelog TopicPartition
	// StartOffset is where the restore began (the store's checkpoint, or
	// the changelog's log start offset).
	StartOffset int64
	// EndOffset is the changelog end offset the restore runs to.
	EndOffset int64
	// Restored is the number of records applied so far.
	Restored int64
	// Remaining is the number of changelog offsets left to read (so
	// transaction markers not read yet count); 0 once the restore read up
	// to EndOffset, the last stable offset under exactly_once_v2.
	Remaining int64
	// RecordsPerSecond is the rate since the restore began.
	RecordsPerSecond float64
}

// snapshot returns the restores in flight, sorted by task and store.
func (rt *restoreTracker) snapshot() []restoreStatus {
	now := time.Now()
	rt.mu.Lock()
	out := make([]restoreStatus, 0, len(rt.active))
	for r := range rt.active {
		p := r.progressNow()
		out = append(out, restoreStatus{
			Thread: r.thread, Task: r.task, Store: r.store, Changelog: r.tp,
			StartOffset: r.from, EndOffset: p.EndOffset, Restored: p.Restored,
			Remaining: r.remaining(p), RecordsPerSecond: r.rate(now),
		})
	}
	rt.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Task != out[j].Task {
			return out[i].Task.Less(out[j].Task)
		}
		return out[i].Store < out[j].Store
	})
	return out
}

// remaining and rate sum over the restores in flight (the gauges).
func (rt *restoreTracker) totals() (remaining int64, rate float64) {
	for _, s := range rt.snapshot() {
		remaining += s.Remaining
		rate += s.RecordsPerSecond
	}
	return remaining, rate
}

// restoreStatuses returns the progress of the store restores in flight on
// this instance, sorted by task and store (the /status endpoint shows them).
func (a *App) restoreStatuses() []restoreStatus { return a.restores.snapshot() }

// rawStore returns the bytes-level store behind a typed one, for the bulk
// restore.
type rawStorer interface {
	rawStore() statestore.Store
}

func (s *kvStore[K, V]) rawStore() statestore.Store      { return s.raw }
func (s *windowStore[K, V]) rawStore() statestore.Store  { return s.raw }
func (s *sessionStore[K, V]) rawStore() statestore.Store { return s.raw }

// restorable returns the bulk-restore interface of the task's store backed
// by changelog tp.
func (t *streamTask) restorable(tp TopicPartition) (statestore.Restorable, error) {
	s, err := t.storeForChangelog(tp)
	if err != nil {
		return nil, err
	}
	rs, ok := s.(rawStorer)
	if !ok {
		return nil, fmt.Errorf("streams: task %s: store %q (%T) cannot restore in bulk", t.id, s.Name(), s)
	}
	r, ok := rs.rawStore().(statestore.Restorable)
	if !ok {
		return nil, fmt.Errorf("streams: task %s: store %q (%T) cannot restore in bulk", t.id, s.Name(), rs.rawStore())
	}
	return r, nil
}

// begin sets up the restorer of cr's store and registers it for the
// metrics.
func (r *changelogRestorer) begin(cr *changelogRestore, c changelogPartition) error {
	store, err := cr.task.restorable(c.TopicPartition)
	if err != nil {
		return err
	}
	log := r.app.cfg.Logger
	sr := &storeRestore{thread: r.thread, task: cr.task.ID(), store: c.Store, tp: c.TopicPartition, from: c.StartOffset, started: time.Now()}
	sr.pos.Store(c.StartOffset)
	sr.restorer = statestore.NewRestorer(store, statestore.RestoreOptions{
		EndOffset:        cr.end,
		ProgressInterval: restoreProgressInterval,
		OnProgress: func(p statestore.RestoreProgress) {
			if p.Done {
				return // end logs the end
			}
			log.Info("streams: restore progress", "thread", sr.thread, "task", sr.task.String(), "store", sr.store,
				"restored", p.Restored, "remaining", sr.remaining(p), "records_per_second", int64(sr.rate(time.Now())))
		},
	})
	cr.rs = sr
	r.app.restores.add(sr)
	log.Info("streams: restoring store", "thread", r.thread, "task", sr.task.String(), "store", c.Store,
		"changelog", c.TopicPartition.String(), "from", c.StartOffset, "to", cr.end)
	return nil
}

// apply applies changelog records fetched for cr.
func (r *changelogRestorer) apply(cr *changelogRestore, recs []*kgo.Record) error {
	n, err := cr.rs.apply(recs)
	if err != nil {
		return err
	}
	r.app.metrics.restoredRecords.Add(int64(n))
	return nil
}

// apply applies the data records of recs (fetched changelog records, in
// offset order) and moves the position past the last one, transaction
// markers included. It returns the number of records applied.
func (sr *storeRestore) apply(recs []*kgo.Record) (int, error) {
	sr.buf = sr.buf[:0]
	for _, rec := range recs {
		if rec.Attrs.IsControl() {
			continue // a transaction marker
		}
		if rec.Key == nil {
			continue // a changelog record always has a key; skip garbage
		}
		sr.buf = append(sr.buf, statestore.ChangelogRecord{Key: rec.Key, Value: rec.Value, Offset: rec.Offset})
	}
	n := len(sr.buf)
	err := sr.restorer.Apply(sr.buf)
	clear(sr.buf)
	if err != nil {
		return 0, fmt.Errorf("streams: task %s: %w", sr.task, err)
	}
	if len(recs) > 0 {
		sr.pos.Store(recs[len(recs)-1].Offset + 1)
	}
	return n, nil
}

// end finishes cr's restorer (flushing the store) and logs the result.
// The caller then writes the checkpoint (streamTask.FinishRestore).
func (r *changelogRestorer) end(cr *changelogRestore) error {
	sr := cr.rs
	if sr == nil {
		return nil
	}
	r.app.restores.remove(sr)
	p, err := sr.restorer.Finish()
	if err != nil {
		return fmt.Errorf("streams: task %s: %w", sr.task, err)
	}
	d := time.Since(sr.started)
	r.app.cfg.Logger.Info("streams: restored store", "thread", sr.thread, "task", sr.task.String(), "store", sr.store,
		"records", p.Restored, "to", cr.next, "elapsed", d.Round(time.Millisecond), "records_per_second", int64(sr.rate(time.Now())))
	return nil
}
