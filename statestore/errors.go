package statestore

import "errors"

// Errors returned by stores. Callers test them with errors.Is: stores wrap them with
// the operation and the store name.
var (
	// ErrClosed is returned by every call on a closed store or cache.
	ErrClosed = errors.New("statestore: closed")
	// ErrNilKey is returned when a key is nil. Kafka Streams does not allow null keys in
	// stores either; an empty non-nil key is allowed.
	ErrNilKey = errors.New("statestore: nil key")
	// ErrNegativeTime is returned for a negative window start or session bound: window
	// and session stores keep times >= 0, as Kafka Streams' windows never start before 0.
	ErrNegativeTime = errors.New("statestore: negative timestamp")
	// ErrInvalidSession is returned for a session whose start is after its end.
	ErrInvalidSession = errors.New("statestore: session start after end")
	// ErrCorruptKey is returned when a composite (window or session) key read from a
	// changelog or a store cannot be decoded.
	ErrCorruptKey = errors.New("statestore: corrupt composite key")
	// ErrCorruptCheckpoint is returned when a checkpoint file cannot be parsed or fails its
	// checksum. The runtime should then wipe the store and restore it from scratch.
	ErrCorruptCheckpoint = errors.New("statestore: corrupt checkpoint")
	// ErrInvalidOptions is returned by constructors for invalid options.
	ErrInvalidOptions = errors.New("statestore: invalid options")
	// ErrDuplicateNamespace is returned when a cache namespace is registered twice.
	ErrDuplicateNamespace = errors.New("statestore: cache namespace already registered")
	// ErrUnsupported is returned for an operation a store configuration does not support
	// (for example caching in front of a window store that retains duplicates).
	ErrUnsupported = errors.New("statestore: unsupported")
)
