package partlog

import (
	"errors"
	"fmt"
)

// Errors returned by the log. Each maps to one Kafka error code, given in the
// comment; [KafkaErrorCode] does the mapping for the broker. Returned errors
// wrap these sentinels with details, so test them with errors.Is.
var (
	// ErrCorruptMessage: a batch fails its CRC, has an impossible length or
	// record count, an unknown compression codec, or an unknown magic.
	// Kafka: CORRUPT_MESSAGE (2).
	ErrCorruptMessage = errors.New("partlog: corrupt message")

	// ErrMessageTooLarge: a batch is larger than max.message.bytes.
	// Kafka: MESSAGE_TOO_LARGE (10).
	ErrMessageTooLarge = errors.New("partlog: message too large")

	// ErrRecordListTooLarge: the batches of one append are larger than
	// segment.bytes, so they cannot fit in any segment.
	// Kafka: RECORD_LIST_TOO_LARGE (18).
	ErrRecordListTooLarge = errors.New("partlog: record list larger than segment.bytes")

	// ErrInvalidRecord: the batch is well formed but breaks a rule: a client
	// writing a control batch, a transactional batch without a producer id, a
	// record without a key on a compacted topic, a batch with no records.
	// Kafka: INVALID_RECORD (87).
	ErrInvalidRecord = errors.New("partlog: invalid record")

	// ErrUnsupportedMagic: a message set in the old formats (magic 0 or 1).
	// The log stores only record batches v2.
	// Kafka: UNSUPPORTED_FOR_MESSAGE_FORMAT (43).
	ErrUnsupportedMagic = errors.New("partlog: unsupported message format (magic 0 or 1)")

	// ErrUnsupportedForMessageFormat is the Kafka name of ErrUnsupportedMagic.
	ErrUnsupportedForMessageFormat = ErrUnsupportedMagic

	// ErrDuplicateSequence: KIP-98, the batch was already appended. Append
	// returns it together with the ORIGINAL AppendResult; the broker
	// acknowledges the produce with that result (error NONE) and nothing is
	// appended again.
	// Kafka: DUPLICATE_SEQUENCE_NUMBER (46), answered as success.
	ErrDuplicateSequence = errors.New("partlog: duplicate sequence number")

	// ErrOutOfOrderSequence: KIP-98, the batch's first sequence does not
	// follow the producer's last one (a gap), or a new epoch does not start
	// at sequence 0.
	// Kafka: OUT_OF_ORDER_SEQUENCE_NUMBER (45).
	ErrOutOfOrderSequence = errors.New("partlog: out of order sequence number")

	// ErrInvalidProducerEpoch: the batch carries an epoch older than the one
	// the log has seen for its producer id: the producer has been fenced.
	// Kafka: INVALID_PRODUCER_EPOCH (47).
	ErrInvalidProducerEpoch = errors.New("partlog: invalid producer epoch (fenced)")

	// ErrInvalidTxnState: a producer with a transaction open on the partition
	// wrote a batch outside it (not transactional).
	// Kafka: INVALID_TXN_STATE (48).
	ErrInvalidTxnState = errors.New("partlog: invalid transaction state")

	// ErrOffsetOutOfRange: a read outside [LogStartOffset, LogEndOffset].
	// Kafka: OFFSET_OUT_OF_RANGE (1).
	ErrOffsetOutOfRange = errors.New("partlog: offset out of range")

	// ErrInvalidConfig: a topic config value is malformed or out of range; the
	// wrapped *ConfigError names the key.
	// Kafka: INVALID_CONFIG (40).
	ErrInvalidConfig = errors.New("partlog: invalid config")

	// ErrClosed: the log or manager was closed or deleted.
	// Kafka: the partition is gone; brokers answer NOT_LEADER_OR_FOLLOWER (6)
	// or UNKNOWN_TOPIC_OR_PARTITION (3) depending on the request.
	ErrClosed = errors.New("partlog: closed")

	// ErrStorage: the disk failed under the log (a write, fsync or read
	// error, or a segment damaged after open). After a failed write or fsync
	// the log refuses further appends, as Kafka takes a failed log dir
	// offline. Kafka: KAFKA_STORAGE_ERROR (56).
	ErrStorage = errors.New("partlog: storage error")
)

// KafkaErrorCode returns the Kafka protocol error code for an error returned
// by this package, 0 for nil, and -1 (UNKNOWN_SERVER_ERROR) for errors it does
// not know. ErrDuplicateSequence maps to 0: Kafka acknowledges a duplicate
// batch as a success with the original offsets.
func KafkaErrorCode(err error) int16 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrDuplicateSequence):
		return 0
	case errors.Is(err, ErrOffsetOutOfRange):
		return 1
	case errors.Is(err, ErrCorruptMessage):
		return 2
	case errors.Is(err, ErrClosed):
		return 6
	case errors.Is(err, ErrMessageTooLarge):
		return 10
	case errors.Is(err, ErrRecordListTooLarge):
		return 18
	case errors.Is(err, ErrInvalidConfig):
		return 40
	case errors.Is(err, ErrUnsupportedMagic):
		return 43
	case errors.Is(err, ErrOutOfOrderSequence):
		return 45
	case errors.Is(err, ErrInvalidProducerEpoch):
		return 47
	case errors.Is(err, ErrInvalidTxnState):
		return 48
	case errors.Is(err, ErrStorage):
		return 56
	case errors.Is(err, ErrInvalidRecord):
		return 87
	}
	return -1
}

// ConfigError says which topic config key is wrong and why. It wraps
// ErrInvalidConfig.
type ConfigError struct {
	Key    string // the Kafka config key, e.g. "segment.bytes"
	Value  string // the value given
	Reason string // what is wrong with it
}

// Error describes the bad key and value.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("partlog: invalid config %s=%q: %s", e.Key, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

func storageErr(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrStorage, op, err)
}
