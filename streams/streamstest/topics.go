package streamstest

import (
	"errors"
	"fmt"
	"time"

	"github.com/rivulet-io/rivulet/streams"
)

// TestRecord is a record piped into or read from a test topic. KeyNull and
// ValueNull stand for Kafka's null (a null value is a tombstone).
type TestRecord[K, V any] struct {
	Key       K
	Value     V
	Timestamp int64
	Headers   []streams.Header
	KeyNull   bool
	ValueNull bool
}

// InputTopic pipes typed records into a topic the topology reads.
type InputTopic[K, V any] struct {
	d          *Driver
	topic      string
	keySerde   streams.Serde[K]
	valueSerde streams.Serde[V]
	now        int64
	advance    int64
}

// CreateInputTopic returns a helper to pipe records into topic. Records
// piped without a timestamp get the topic's current time, which starts at
// the driver's start time and moves by autoAdvance after each record (give
// none for 0). nil serdes pick the defaults.
func CreateInputTopic[K, V any](d *Driver, topic string, keySerde streams.Serde[K], valueSerde streams.Serde[V], autoAdvance ...time.Duration) *InputTopic[K, V] {
	if keySerde == nil {
		keySerde = streams.DefaultSerde[K]()
	}
	if valueSerde == nil {
		valueSerde = streams.DefaultSerde[V]()
	}
	in := &InputTopic[K, V]{d: d, topic: topic, keySerde: keySerde, valueSerde: valueSerde, now: d.cfg.start}
	if len(autoAdvance) > 0 {
		in.advance = autoAdvance[0].Milliseconds()
	}
	return in
}

// AdvanceTime moves the topic's current time forward.
func (in *InputTopic[K, V]) AdvanceTime(by time.Duration) { in.now += by.Milliseconds() }

// PipeInput pipes a record with the topic's current time.
func (in *InputTopic[K, V]) PipeInput(key K, value V) error {
	return in.PipeRecord(TestRecord[K, V]{Key: key, Value: value, Timestamp: in.next()})
}

// PipeInputAt pipes a record with the given timestamp (ms).
func (in *InputTopic[K, V]) PipeInputAt(key K, value V, timestamp int64) error {
	return in.PipeRecord(TestRecord[K, V]{Key: key, Value: value, Timestamp: timestamp})
}

// PipeValue pipes a record with a null key and the topic's current time.
func (in *InputTopic[K, V]) PipeValue(value V) error {
	return in.PipeRecord(TestRecord[K, V]{Value: value, KeyNull: true, Timestamp: in.next()})
}

// PipeTombstone pipes a record with a null value for key.
func (in *InputTopic[K, V]) PipeTombstone(key K) error {
	return in.PipeRecord(TestRecord[K, V]{Key: key, ValueNull: true, Timestamp: in.next()})
}

// PipeKeyValues pipes records with the topic's current time, advancing it
// after each.
func (in *InputTopic[K, V]) PipeKeyValues(kvs []streams.KeyValue[K, V]) error {
	for _, kv := range kvs {
		if err := in.PipeInput(kv.Key, kv.Value); err != nil {
			return err
		}
	}
	return nil
}

// PipeRaw pipes bytes as they are (for example, bytes that do not
// deserialize).
func (in *InputTopic[K, V]) PipeRaw(key, value []byte, timestamp int64) error {
	return in.d.pipe(streams.RawRecord{Topic: in.topic, Key: key, Value: value, Timestamp: timestamp})
}

func (in *InputTopic[K, V]) next() int64 {
	ts := in.now
	in.now += in.advance
	return ts
}

// PipeRecord pipes a record as given.
func (in *InputTopic[K, V]) PipeRecord(r TestRecord[K, V]) error {
	raw := streams.RawRecord{Topic: in.topic, Timestamp: r.Timestamp, Headers: r.Headers}
	var err error
	if !r.KeyNull {
		if raw.Key, err = in.keySerde.Serialize(r.Key); err != nil {
			return fmt.Errorf("streamstest: serialize key: %w", err)
		}
		if raw.Key == nil {
			raw.Key = []byte{}
		}
	}
	if !r.ValueNull {
		if raw.Value, err = in.valueSerde.Serialize(r.Value); err != nil {
			return fmt.Errorf("streamstest: serialize value: %w", err)
		}
		if raw.Value == nil {
			raw.Value = []byte{}
		}
	}
	return in.d.pipe(raw)
}

// ErrNoRecord is returned when an output topic has no record left.
var ErrNoRecord = errors.New("streamstest: no record in the output topic")

// OutputTopic reads typed records a topology wrote to a topic. Reading
// consumes: each record is read once.
type OutputTopic[K, V any] struct {
	d          *Driver
	topic      string
	keySerde   streams.Serde[K]
	valueSerde streams.Serde[V]
}

// CreateOutputTopic returns a helper to read what the topology wrote to
// topic (a sink topic, or an internal one by its full name, such as
// "<application.id>-<store>-changelog"). nil serdes pick the defaults.
func CreateOutputTopic[K, V any](d *Driver, topic string, keySerde streams.Serde[K], valueSerde streams.Serde[V]) *OutputTopic[K, V] {
	if keySerde == nil {
		keySerde = streams.DefaultSerde[K]()
	}
	if valueSerde == nil {
		valueSerde = streams.DefaultSerde[V]()
	}
	return &OutputTopic[K, V]{d: d, topic: topic, keySerde: keySerde, valueSerde: valueSerde}
}

// QueueSize returns how many records are left to read.
func (o *OutputTopic[K, V]) QueueSize() int { return len(o.d.outputs()[o.topic]) }

// IsEmpty reports whether no record is left to read.
func (o *OutputTopic[K, V]) IsEmpty() bool { return o.QueueSize() == 0 }

// ReadRecord reads the next record, or returns ErrNoRecord.
func (o *OutputTopic[K, V]) ReadRecord() (TestRecord[K, V], error) {
	q := o.d.outputs()[o.topic]
	if len(q) == 0 {
		return TestRecord[K, V]{}, ErrNoRecord
	}
	pr := q[0]
	o.d.outputs()[o.topic] = q[1:]
	r := TestRecord[K, V]{Timestamp: pr.Timestamp, Headers: pr.Headers, KeyNull: pr.Key == nil, ValueNull: pr.Value == nil}
	var err error
	if pr.Key != nil {
		if r.Key, err = o.keySerde.Deserialize(pr.Key); err != nil {
			return r, fmt.Errorf("streamstest: %s: deserialize key: %w", o.topic, err)
		}
	}
	if pr.Value != nil {
		if r.Value, err = o.valueSerde.Deserialize(pr.Value); err != nil {
			return r, fmt.Errorf("streamstest: %s: deserialize value: %w", o.topic, err)
		}
	}
	return r, nil
}

// ReadKeyValue reads the next record's key and value.
func (o *OutputTopic[K, V]) ReadKeyValue() (streams.KeyValue[K, V], error) {
	r, err := o.ReadRecord()
	return streams.KeyValue[K, V]{Key: r.Key, Value: r.Value}, err
}

// ReadValue reads the next record's value.
func (o *OutputTopic[K, V]) ReadValue() (V, error) {
	r, err := o.ReadRecord()
	return r.Value, err
}

// ReadRecordsToList reads every record left.
func (o *OutputTopic[K, V]) ReadRecordsToList() ([]TestRecord[K, V], error) {
	return readAll(o, o.ReadRecord)
}

// ReadKeyValuesToList reads every record left as key-value pairs.
func (o *OutputTopic[K, V]) ReadKeyValuesToList() ([]streams.KeyValue[K, V], error) {
	return readAll(o, o.ReadKeyValue)
}

// ReadValuesToList reads every value left.
func (o *OutputTopic[K, V]) ReadValuesToList() ([]V, error) {
	return readAll(o, o.ReadValue)
}

// readAll reads every record left in o with read; on an error it returns
// what it read before.
func readAll[K, V, T any](o *OutputTopic[K, V], read func() (T, error)) ([]T, error) {
	var out []T
	for !o.IsEmpty() {
		x, err := read()
		if err != nil {
			return out, err
		}
		out = append(out, x)
	}
	return out, nil
}

// ReadKeyValuesToMap reads every record left into a map of each key's last
// value; a tombstone removes its key.
func ReadKeyValuesToMap[K comparable, V any](o *OutputTopic[K, V]) (map[K]V, error) {
	out := make(map[K]V)
	for !o.IsEmpty() {
		r, err := o.ReadRecord()
		if err != nil {
			return out, err
		}
		if r.ValueNull {
			delete(out, r.Key)
		} else {
			out[r.Key] = r.Value
		}
	}
	return out, nil
}
