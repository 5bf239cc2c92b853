package streams

import (
	"errors"
	"fmt"
	"time"
)

// TimestampExtractor gives a record's timestamp in ms from the raw record and
// the partition time (the largest timestamp extracted from the partition so
// far, or -1). A negative result drops the record (logged and counted, as
// Kafka Streams does); an error fails the task.
//
// The application-wide extractor is set with WithTimestampExtractor or the
// default.timestamp.extractor property; a source can use its own, typed,
// through Consumed.WithTimestampExtractor.
type TimestampExtractor func(rec *RawRecord, partitionTime int64) (int64, error)

// ErrInvalidTimestamp is returned by FailOnInvalidTimestamp.
var ErrInvalidTimestamp = errors.New("streams: invalid (negative) record timestamp")

// RecordTimestamp uses the record's own timestamp (CreateTime or
// LogAppendTime) and fails on a negative one, as Kafka Streams'
// FailOnInvalidTimestamp, the default extractor.
func RecordTimestamp(rec *RawRecord, _ int64) (int64, error) {
	if rec.Timestamp < 0 {
		return 0, fmt.Errorf("%w: %d at %s-%d@%d", ErrInvalidTimestamp, rec.Timestamp, rec.Topic, rec.Partition, rec.Offset)
	}
	return rec.Timestamp, nil
}

// LogAndSkipOnInvalidTimestamp uses the record's own timestamp and drops
// records whose timestamp is negative (logged and counted).
func LogAndSkipOnInvalidTimestamp(rec *RawRecord, _ int64) (int64, error) {
	return rec.Timestamp, nil
}

// UsePartitionTimeOnInvalidTimestamp uses the record's own timestamp, or the
// partition time when it is negative; it fails when both are negative.
func UsePartitionTimeOnInvalidTimestamp(rec *RawRecord, partitionTime int64) (int64, error) {
	if rec.Timestamp >= 0 {
		return rec.Timestamp, nil
	}
	if partitionTime >= 0 {
		return partitionTime, nil
	}
	return 0, fmt.Errorf("%w: %d at %s-%d@%d and no partition time yet", ErrInvalidTimestamp, rec.Timestamp, rec.Topic, rec.Partition, rec.Offset)
}

// WallClockTimestamp returns a TimestampExtractor that stamps every record
// with the current time of now (time.Now when nil): processing-time
// semantics.
func WallClockTimestamp(now func() time.Time) TimestampExtractor {
	if now == nil {
		now = time.Now
	}
	return func(*RawRecord, int64) (int64, error) { return now().UnixMilli(), nil }
}

// DeserializationResponse is what a DeserializationHandler decides.
type DeserializationResponse uint8

const (
	// DeserializationContinue drops the record and goes on.
	DeserializationContinue DeserializationResponse = iota + 1
	// DeserializationFail fails the task (and the stream thread, see the
	// uncaught-error handler).
	DeserializationFail
)

// DeserializationHandler decides what happens to a record whose key or value
// cannot be deserialized. With a dead-letter topic configured
// (errors.dead.letter.queue.topic.name), the record is also sent there with
// headers saying why, whatever the handler answers.
type DeserializationHandler func(rec *RawRecord, err error) DeserializationResponse

// LogAndContinue drops records that cannot be deserialized (they are logged
// and counted by the runtime). Kafka Streams' LogAndContinueExceptionHandler.
func LogAndContinue(*RawRecord, error) DeserializationResponse { return DeserializationContinue }

// LogAndFail fails on the first record that cannot be deserialized, the
// default, as Kafka Streams' LogAndFailExceptionHandler.
func LogAndFail(*RawRecord, error) DeserializationResponse { return DeserializationFail }

// ProductionResponse is what a ProductionHandler decides.
type ProductionResponse uint8

const (
	// ProductionContinue drops the record that could not be produced (or
	// serialized) and goes on: at-least-once no longer holds for it.
	ProductionContinue ProductionResponse = iota + 1
	// ProductionFail fails the stream thread; uncommitted input is processed
	// again after the thread or application restarts.
	ProductionFail
)

// ProductionHandler decides what happens when a record cannot be serialized
// or the broker rejects it for good (retriable errors are retried by the
// producer first). Called on the stream thread.
type ProductionHandler func(rec *ProducerRecord, err error) ProductionResponse

// ProductionFailAlways is the default ProductionHandler: every production
// error fails, as Kafka Streams' DefaultProductionExceptionHandler.
func ProductionFailAlways(*ProducerRecord, error) ProductionResponse { return ProductionFail }

// ProductionContinueAlways drops records that cannot be produced.
func ProductionContinueAlways(*ProducerRecord, error) ProductionResponse { return ProductionContinue }

// UncaughtResponse is what an UncaughtErrorHandler decides when a stream
// thread fails (a processor returned an error or panicked, a handler said
// fail, the producer failed, ...).
type UncaughtResponse uint8

const (
	// ReplaceThread closes the failed thread (its tasks go back to the group
	// uncommitted) and starts a new one in its place.
	ReplaceThread UncaughtResponse = iota + 1
	// ShutdownClient stops this instance (the default, as Kafka Streams).
	ShutdownClient
	// ShutdownApplication stops this instance and asks every other instance
	// of the application to stop too, through the consumer group.
	ShutdownApplication
)

// String names the response as Kafka Streams does.
func (r UncaughtResponse) String() string {
	switch r {
	case ReplaceThread:
		return "REPLACE_THREAD"
	case ShutdownClient:
		return "SHUTDOWN_CLIENT"
	case ShutdownApplication:
		return "SHUTDOWN_APPLICATION"
	default:
		return "UncaughtResponse(?)"
	}
}

// UncaughtErrorHandler decides what happens when a stream thread fails.
type UncaughtErrorHandler func(err error) UncaughtResponse

// Dead-letter headers, named as Kafka Streams names them (KIP-1034).
const (
	HeaderErrorExceptionName = "__streams.errors.exception"
	HeaderErrorMessage       = "__streams.errors.message"
	HeaderErrorTopic         = "__streams.errors.topic"
	HeaderErrorPartition     = "__streams.errors.partition"
	HeaderErrorOffset        = "__streams.errors.offset"
)
