package streams

import (
	"errors"
	"fmt"
	"sync"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/memstore"
	"github.com/rivulet-io/rivulet/topology"
)

// Hand-over of in-memory key-value stores from a standby task to the
// active task that replaces it on the same instance, as Kafka Streams hands
// its in-memory store objects over: persistent stores are handed over on
// disk (checkpoint, close, reopen), in-memory ones would otherwise be
// rebuilt from the start of their changelogs. Window and session stores
// are bound to their task's change logger at open and are not handed over
// (they are restored).

// storeKey names one store of one task.
type storeKey struct {
	task TaskID
	name string
}

// heldStore is an in-memory store a promoted standby left for its task's
// active successor, with the changelog position it reflects.
type heldStore struct {
	store statestore.KeyValueStore
	cp    statestore.Checkpoint
}

// handover is the registry of in-memory stores between a standby task and
// the active task replacing it.
type handover struct {
	appID string
	mu    sync.Mutex
	open  map[storeKey]*standbyKV // in-memory stores of open standby tasks
	held  map[storeKey]heldStore  // handed over, not yet taken
}

func newHandover(appID string) *handover {
	return &handover{appID: appID, open: map[storeKey]*standbyKV{}, held: map[storeKey]heldStore{}}
}

// release hands the in-memory stores of standby task id over (next maps
// its changelog partitions to the positions it reached); called before the
// standby task closes.
func (h *handover) release(id TaskID, next map[TopicPartition]int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, s := range h.open {
		if k.task != id {
			continue
		}
		tp := TopicPartition{Topic: topology.ChangelogTopicName(h.appID, k.name), Partition: id.Partition}
		pos, ok := next[tp]
		if !ok {
			continue
		}
		s.kept = true
		delete(h.open, k)
		h.held[k] = heldStore{store: s.KeyValueStore, cp: statestore.Checkpoint{{Topic: tp.Topic, Partition: tp.Partition}: pos}}
	}
}

// drop closes the stores handed over for id and not taken (the active
// task failed to open).
func (h *handover) drop(id TaskID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, s := range h.held {
		if k.task == id {
			_ = s.store.Close()
			delete(h.held, k)
		}
	}
}

// standbyKV is an in-memory store of a standby task: closing it is a no-op
// once it was handed over.
type standbyKV struct {
	statestore.KeyValueStore
	h    *handover
	key  storeKey
	kept bool
}

func (s *standbyKV) RestoreBatch(records []statestore.KeyValue) error {
	r, ok := s.KeyValueStore.(statestore.Restorable)
	if !ok {
		return fmt.Errorf("streams: standby store %q (%T) cannot restore in bulk", s.key.name, s.KeyValueStore)
	}
	return r.RestoreBatch(records)
}

func (s *standbyKV) Close() error {
	s.h.mu.Lock()
	kept := s.kept
	if s.h.open[s.key] == s {
		delete(s.h.open, s.key)
	}
	s.h.mu.Unlock()
	if kept {
		return nil
	}
	return s.KeyValueStore.Close()
}

// handoverOpener is what activeOpener and standbyOpener share: the
// runtime's opener (inner), to which they forward all but OpenKeyValue, and
// the hand-over between them.
type handoverOpener struct {
	inner storeOpener
	h     *handover
}

func (o *handoverOpener) WriteCheckpoint(task TaskID, name string, cp statestore.Checkpoint) error {
	return o.inner.WriteCheckpoint(task, name, cp)
}

func (o *handoverOpener) OpenWindow(task TaskID, name string, persistent, logged bool, opts statestore.WindowOptions) (statestore.WindowStore, statestore.Checkpoint, error) {
	return openWindow(o.inner, task, name, persistent, logged, opts)
}

func (o *handoverOpener) OpenSession(task TaskID, name string, persistent, logged bool, opts statestore.SessionOptions) (statestore.SessionStore, statestore.Checkpoint, error) {
	return openSession(o.inner, task, name, persistent, logged, opts)
}

// activeOpener is the App's storeOpener: the runtime's, plus in-memory
// key-value stores handed over by promoted standbys.
type activeOpener struct{ handoverOpener }

func (o *activeOpener) OpenKeyValue(task TaskID, name string, persistent, logged bool) (statestore.KeyValueStore, statestore.Checkpoint, error) {
	if !persistent {
		o.h.mu.Lock()
		held, ok := o.h.held[storeKey{task, name}]
		delete(o.h.held, storeKey{task, name})
		o.h.mu.Unlock()
		if ok {
			return held.store, held.cp, nil
		}
	}
	return o.inner.OpenKeyValue(task, name, persistent, logged)
}

// standbyOpener opens the stores of standby tasks: the runtime's, with
// in-memory key-value stores registered for a hand-over.
type standbyOpener struct{ handoverOpener }

func (o *standbyOpener) OpenKeyValue(task TaskID, name string, persistent, logged bool) (statestore.KeyValueStore, statestore.Checkpoint, error) {
	s, cp, err := o.inner.OpenKeyValue(task, name, persistent, logged)
	if err != nil || persistent || !logged {
		return s, cp, err
	}
	kv := &standbyKV{KeyValueStore: s, h: o.h, key: storeKey{task, name}}
	o.h.mu.Lock()
	o.h.open[kv.key] = kv
	o.h.mu.Unlock()
	return kv, cp, nil
}

// openWindow and openSession forward to inner, or keep the store in memory
// when inner cannot open window stores (as the runtime does then).
func openWindow(inner storeOpener, task TaskID, name string, persistent, logged bool, opts statestore.WindowOptions) (statestore.WindowStore, statestore.Checkpoint, error) {
	if wo, ok := inner.(windowStoreOpener); ok {
		return wo.OpenWindow(task, name, persistent, logged, opts)
	}
	s, err := memstore.NewWindowStore(name, opts)
	return s, nil, err
}

func openSession(inner storeOpener, task TaskID, name string, persistent, logged bool, opts statestore.SessionOptions) (statestore.SessionStore, statestore.Checkpoint, error) {
	if wo, ok := inner.(windowStoreOpener); ok {
		return wo.OpenSession(task, name, persistent, logged, opts)
	}
	s, err := memstore.NewSessionStore(name, opts)
	return s, nil, err
}

var errNoOpener = errors.New("streams: standby: no state directory yet")
