package statestore

import (
	"fmt"
	"time"
)

// ChangeLogger receives every write a store applies, so the runtime can send it to the
// store's changelog topic. key is the changelog key: the key itself for a key-value store,
// the composite key for window stores (WindowKeySchema: key || windowStart || seqnum) and
// session stores (SessionKeySchema: key || end || start), exactly as Kafka Streams writes
// them. A nil value is a tombstone.
//
// It is called synchronously from the writing call, after the write is applied and with
// the store's write lock held: it must not call back into the store. key and value are
// valid only during the call (copy them to keep them). An error is returned to the caller
// of the write; the write itself stays applied (the changelog is at-least-once, and the
// runtime fails the task on such an error).
type ChangeLogger func(key, value []byte) error

// ExpiredHook is called when a window or session store drops a write older than its
// retention. timestamp is the window start (window store) or session end (session store).
// key is valid only during the call.
type ExpiredHook func(key []byte, timestamp int64)

// KeyValueOptions configure a key-value store.
type KeyValueOptions struct {
	// ChangeLogger, when set, is called with every write. The default value is nil
	// (no logging).
	ChangeLogger ChangeLogger
}

// DefaultMinSegmentInterval is the smallest default segment interval, as in Kafka Streams.
const DefaultMinSegmentInterval = 60 * time.Second

// WindowOptions configure a window store. Times are kept in milliseconds; durations are
// truncated to whole milliseconds.
type WindowOptions struct {
	// Retention is how long windows are kept, measured back from the observed stream time
	// (the largest window start written). Required: there is no default. Kafka Streams
	// uses window size + grace by default; the runtime passes that here.
	Retention time.Duration
	// SegmentInterval is the span of window starts kept together in one segment, the unit
	// of expiry. The default value is max(Retention/2, 60s), as in Kafka Streams, which
	// keeps Retention/SegmentInterval + 1 segments alive.
	SegmentInterval time.Duration
	// WindowSize is the size of the windows, used only to report window ends
	// (WindowedIterator.End). The default value is 0 (End equals Start).
	WindowSize time.Duration
	// RetainDuplicates keeps every Put of the same key and window start (each under its
	// own sequence number) instead of overwriting: the stores behind stream-stream joins.
	// The default value is false.
	RetainDuplicates bool
	// OnExpired is called for each dropped expired write. The default value is nil.
	OnExpired ExpiredHook
	// ChangeLogger, when set, is called with every applied write. The default value is nil.
	ChangeLogger ChangeLogger
}

// EnsureDefaults fills in zero fields with their default values.
func (o *WindowOptions) EnsureDefaults() { defaultSegmentInterval(&o.SegmentInterval, o.Retention) }

// Validate reports options that cannot work, with ErrInvalidOptions.
func (o *WindowOptions) Validate() error {
	if err := validateSegments("window", o.Retention, o.SegmentInterval); err != nil {
		return err
	}
	if o.WindowSize < 0 {
		return fmt.Errorf("%w: window size %v is negative", ErrInvalidOptions, o.WindowSize)
	}
	return nil
}

// SessionOptions configure a session store. Times are kept in milliseconds.
type SessionOptions struct {
	// Retention is how long sessions are kept, measured from their end back from the
	// observed stream time (the largest session end written). Required: no default.
	// Kafka Streams uses inactivity gap + grace by default; the runtime passes that here.
	Retention time.Duration
	// SegmentInterval is the span of session ends kept in one segment. The default value
	// is max(Retention/2, 60s), as in Kafka Streams.
	SegmentInterval time.Duration
	// OnExpired is called for each dropped expired write. The default value is nil.
	OnExpired ExpiredHook
	// ChangeLogger, when set, is called with every applied write. The default value is nil.
	ChangeLogger ChangeLogger
}

// EnsureDefaults fills in zero fields with their default values.
func (o *SessionOptions) EnsureDefaults() { defaultSegmentInterval(&o.SegmentInterval, o.Retention) }

// Validate reports options that cannot work, with ErrInvalidOptions.
func (o *SessionOptions) Validate() error {
	return validateSegments("session", o.Retention, o.SegmentInterval)
}

// defaultSegmentInterval sets the segment interval of a window or session store to its
// default, max(retention/2, DefaultMinSegmentInterval), when it is zero.
func defaultSegmentInterval(interval *time.Duration, retention time.Duration) {
	if *interval == 0 {
		*interval = max(retention/2, DefaultMinSegmentInterval)
	}
}

// validateSegments checks the retention and segment interval of a window or session
// store (kind).
func validateSegments(kind string, retention, interval time.Duration) error {
	if retention.Milliseconds() <= 0 {
		return fmt.Errorf("%w: %s store retention %v must be at least 1ms", ErrInvalidOptions, kind, retention)
	}
	if interval.Milliseconds() <= 0 {
		return fmt.Errorf("%w: %s store segment interval %v must be at least 1ms", ErrInvalidOptions, kind, interval)
	}
	return nil
}
