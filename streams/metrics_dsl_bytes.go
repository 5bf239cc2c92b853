package streams

import (
	"time"

	"github.com/rivulet-io/rivulet/statestore"
)

// The bytes stores of DSL operators count their own operations too, as
// the table, window and session stores do (metrics_dsl_stores.go): the
// versioned store of a versioned table, the foreign-key join's
// subscription store, the suppression buffer, the stream-stream outer
// join's shared store and the buffer of a stream-table join with a grace
// period. Their factory sets kvFactory.ownOps; the operator calls the
// counted methods below where it reads or writes the store, so each
// operation counts once, under the name Kafka Streams' metered layer gives
// it: a write is a put, a write of nil (a removal) a delete, a point read
// a get, a scan a range, prefix-scan or all (timed to the iterator's
// Close). The versioned store counts get (Get and GetAsOf alike, as Kafka
// Streams' MeteredVersionedKeyValueStore records both on its get sensor)
// and put (a tombstone included), not the reads and writes a put is made
// of. Handles to these stores are not wrapped again (meterOf).

// countsOwnOperations tells meterOf whether the store counts its own
// operations: only a DSL operator's bytes store does.
func (s *kvStore[K, V]) countsOwnOperations() bool { return s.ownOps }

// setMeter gives a DSL operator's bytes store its meter; other key-value
// stores are metered through their handles.
func (s *kvStore[K, V]) setMeter(m *storeMeter) {
	if s.ownOps {
		s.m = m
	}
}

// putCounted is putBytes counted as a put, or as a delete when vb is nil.
func (s *kvStore[K, V]) putCounted(kb, vb []byte) error {
	if s.m != nil {
		op := opPut
		if vb == nil {
			op = opDelete
		}
		defer s.m.done(op, time.Now())
	}
	return s.putBytes(kb, vb)
}

// getCounted is getBytes counted as a get.
func (s *kvStore[K, V]) getCounted(kb []byte) ([]byte, error) {
	if s.m != nil {
		defer s.m.done(opGet, time.Now())
	}
	return s.getBytes(kb)
}

// allCounted is All counted as an all.
func (s *kvStore[K, V]) allCounted() (KeyValueIterator[K, V], error) {
	start := s.m.start()
	it, err := s.All()
	return meteredOpen(s.m, opAll, start, it, err)
}

// rangeCounted is a range over the bytes store, counted as a range.
func (s *kvStore[K, V]) rangeCounted(from, to []byte) (statestore.KeyValueIterator, error) {
	start := s.m.start()
	it, err := s.raw.Range(from, to)
	return meteredRaw(s.m, opRange, start, it, err)
}

// prefixScanCounted is a prefix scan of the bytes store, counted as a
// prefix-scan.
func (s *kvStore[K, V]) prefixScanCounted(prefix []byte) (statestore.KeyValueIterator, error) {
	start := s.m.start()
	it, err := s.raw.PrefixScan(prefix)
	return meteredRaw(s.m, opPrefixScan, start, it, err)
}

// reverseAllCounted is a backward scan of the whole bytes store, counted
// as an all.
func (s *kvStore[K, V]) reverseAllCounted() (statestore.KeyValueIterator, error) {
	start := s.m.start()
	it, err := s.raw.ReverseAll()
	return meteredRaw(s.m, opAll, start, it, err)
}

// meteredRaw is meteredOpen for bytes iterators.
func meteredRaw(m *storeMeter, op storeOp, start time.Time, it statestore.KeyValueIterator, err error) (statestore.KeyValueIterator, error) {
	if m == nil {
		return it, err
	}
	return meterIters(m, op, start, func(it statestore.KeyValueIterator, im iterMeter) statestore.KeyValueIterator {
		return &meteredIter[[]byte, []byte]{it: it, iterMeter: im}
	})(it, err)
}
