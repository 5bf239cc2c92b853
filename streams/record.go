package streams

import "strconv"

// Header is a record header, as in Kafka: a string key and a byte value.
type Header struct {
	Key   string
	Value []byte
}

// recordFlags mark Kafka nulls, which Go types cannot hold.
type recordFlags uint8

const (
	flagNullKey   recordFlags = 1 << iota // the key was null at the source
	flagNullValue                         // the value is null: a tombstone
)

// Record is what flows between processors: a typed key and value, a
// timestamp in milliseconds since the Unix epoch (Kafka's unit), and headers.
//
// Kafka's null cannot be held by most Go types, so it is a flag: a record
// read with a null key or value carries K's or V's zero value and reports
// KeyIsNull or ValueIsNull. Operators that keep the key or value keep the
// flag (Filter, Peek, SelectKey keeps the value's, MapValues keeps the
// key's); operators that compute a new key or value clear it. A null value
// is a tombstone: tables delete the key, sinks write a null value, and the
// DSL's stateless operators never give it to a plain user function (see
// [Nullable]). Build a tombstone with [Tombstone]. Records whose key is null are dropped before a
// repartition topic and by aggregations, as in Kafka Streams.
//
// Records are values; Headers is shared between copies, so treat it as
// read-only and build a new slice to change it.
type Record[K, V any] struct {
	Key       K
	Value     V
	Timestamp int64
	Headers   []Header
	flags     recordFlags
}

// NewRecord returns a record with the given key, value and timestamp (ms).
func NewRecord[K, V any](key K, value V, timestamp int64) Record[K, V] {
	return Record[K, V]{Key: key, Value: value, Timestamp: timestamp}
}

// Tombstone returns a record with a null value for key: it deletes key from
// a table, and a sink writes it with a null value.
func Tombstone[K, V any](key K, timestamp int64) Record[K, V] {
	return Record[K, V]{Key: key, Timestamp: timestamp, flags: flagNullValue}
}

// KeyIsNull reports whether the key was Kafka's null.
func (r Record[K, V]) KeyIsNull() bool { return r.flags&flagNullKey != 0 }

// ValueIsNull reports whether the value is Kafka's null (a tombstone).
func (r Record[K, V]) ValueIsNull() bool { return r.flags&flagNullValue != 0 }

// WithKey returns a copy of r with key set (and the null-key flag cleared).
func (r Record[K, V]) WithKey(key K) Record[K, V] {
	r.Key = key
	r.flags &^= flagNullKey
	return r
}

// WithValue returns a copy of r with value set (and the null-value flag
// cleared).
func (r Record[K, V]) WithValue(value V) Record[K, V] {
	r.Value = value
	r.flags &^= flagNullValue
	return r
}

// WithTimestamp returns a copy of r with the timestamp set.
func (r Record[K, V]) WithTimestamp(ts int64) Record[K, V] {
	r.Timestamp = ts
	return r
}

// WithHeaders returns a copy of r with the headers replaced.
func (r Record[K, V]) WithHeaders(h []Header) Record[K, V] {
	r.Headers = h
	return r
}

// Header returns the value of the last header named key, as Kafka's
// Headers.lastHeader does.
func (r Record[K, V]) Header(key string) ([]byte, bool) {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == key {
			return r.Headers[i].Value, true
		}
	}
	return nil, false
}

// rekey builds a record of other types that keeps r's timestamp, headers
// and, where asked, its null flags.
func rekey[K, V, KR, VR any](r Record[K, V], k KR, v VR, keepKeyNull, keepValueNull bool) Record[KR, VR] {
	out := Record[KR, VR]{Key: k, Value: v, Timestamp: r.Timestamp, Headers: r.Headers}
	if keepKeyNull {
		out.flags |= r.flags & flagNullKey
	}
	if keepValueNull {
		out.flags |= r.flags & flagNullValue
	}
	return out
}

// RecordMetadata says where the record being processed came from.
type RecordMetadata struct {
	Topic     string
	Partition int32
	Offset    int64
}

// TopicPartition names a partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String returns "topic-partition", as Kafka prints it.
func (tp TopicPartition) String() string {
	return tp.Topic + "-" + strconv.FormatInt(int64(tp.Partition), 10)
}

// RawRecord is a record as read from a topic, before deserialization. Tasks
// take their input as RawRecords; Key and Value are nil for Kafka's null.
type RawRecord struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	// Timestamp is the record's timestamp in ms (CreateTime or
	// LogAppendTime, as the topic has it).
	Timestamp int64
	Headers   []Header
}

// ProducerRecord is a record a task sends: to a sink topic, a repartition
// topic, a changelog or a dead-letter topic. Partition -1 lets the
// producer's partitioner choose from the key (murmur2, as Kafka's default
// partitioner does).
type ProducerRecord struct {
	Topic     string
	Partition int32
	Key       []byte
	Value     []byte
	Timestamp int64
	Headers   []Header
}
