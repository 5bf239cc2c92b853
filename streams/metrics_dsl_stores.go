package streams

import "time"

// The stores of DSL operators (the table and aggregation stores of
// tsstore.go, the window and session stores of window_store.go, and the
// bytes stores of metrics_dsl_bytes.go) count
// their own operations on the state-store meters (metrics_stores.go):
// what count, aggregate, reduce, windowed aggregations and joins do to
// them, what processors and interactive queries do through handles to
// them, and the reads their record cache answers. Kafka Streams has the
// metered layer outermost, above the cache, so a read the cache answers is
// a get all the same, and the cache's flush writes through below it (not
// counted as puts; the flush is timed by the task's commit).
//
// The hooks in those files test the store's *storeMeter, nil below DEBUG,
// before deferring the recording (a conditional defer costs about a
// nanosecond when it is not taken): no clock is read and nothing is
// counted at INFO. An
// operation made of others on those stores counts as its parts: a
// put-if-absent as a get and, when absent, a put; a delete as a get and a
// delete; a put-all as its puts.

// selfMetered is implemented by the stores that may count their own
// operations; countsOwnOperations tells whether this one does (the bytes
// stores of metrics_dsl_bytes.go do when a DSL operator made them).
type selfMetered interface{ countsOwnOperations() bool }

func (s *tsStore[K, V]) countsOwnOperations() bool      { return true }
func (s *windowStore[K, V]) countsOwnOperations() bool  { return true }
func (s *sessionStore[K, V]) countsOwnOperations() bool { return true }

// meterStore gives the store s of the task its meter when operations are
// recorded (DEBUG and up). Called once the store is open, before any
// processor or query sees it.
func (t *streamTask) meterStore(name string, s taskStore) {
	set, ok := s.(interface{ setMeter(*storeMeter) })
	if !ok || t.cfg.Stats == nil || t.cfg.Stats.ops == nil || t.cfg.Stats.ops.level < levelDebug {
		return
	}
	set.setMeter(t.cfg.Stats.ops.storeMeters.get(meterKey{task: t.id, store: name}))
}

func (s *tsStore[K, V]) setMeter(m *storeMeter)      { s.m = m }
func (s *windowStore[K, V]) setMeter(m *storeMeter)  { s.m = m }
func (s *sessionStore[K, V]) setMeter(m *storeMeter) { s.m = m }

// meteredOpen returns it, wrapped so that op is recorded from start when
// it is closed, or err (recorded at once). With a nil meter it returns it
// as it is.
func meteredOpen[K, V any](m *storeMeter, op storeOp, start time.Time, it KeyValueIterator[K, V], err error) (KeyValueIterator[K, V], error) {
	if m == nil {
		return it, err
	}
	return meterIter[K, V](m, op, start)(it, err)
}

// meteredWOpen is meteredOpen for window and session iterators.
func meteredWOpen[K, V any](m *storeMeter, op storeOp, start time.Time, it WindowIterator[K, V], err error) (WindowIterator[K, V], error) {
	if m == nil {
		return it, err
	}
	return meterWIter[K, V](m, op, start)(it, err)
}
