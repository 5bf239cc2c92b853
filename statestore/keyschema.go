package statestore

import (
	"encoding/binary"
	"fmt"
)

// Composite keys, as Kafka Streams writes them to the changelog of window and session
// stores (WindowKeySchema and SessionKeySchema). Integers are big-endian, so for times
// >= 0 the byte order of the encoded keys of one record key is the time order.
const (
	// WindowKeySuffixLen is the length of what follows the record key in a window
	// changelog key: the 8-byte window start and the 4-byte sequence number.
	WindowKeySuffixLen = 12
	// SessionKeySuffixLen is the length of what follows the record key in a session
	// changelog key: the 8-byte session end and the 8-byte session start.
	SessionKeySuffixLen = 16
)

// AppendWindowKey appends the window changelog key key || windowStart || seq to dst and
// returns the extended slice. seq is 0 for stores that do not retain duplicates.
func AppendWindowKey(dst, key []byte, windowStart int64, seq uint32) []byte {
	dst = append(dst, key...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(windowStart))
	return binary.BigEndian.AppendUint32(dst, seq)
}

// ParseWindowKey decodes a window changelog key. The returned key aliases b. It fails with
// ErrCorruptKey when b is too short or the window start is negative.
func ParseWindowKey(b []byte) (key []byte, windowStart int64, seq uint32, err error) {
	if len(b) < WindowKeySuffixLen {
		return nil, 0, 0, fmt.Errorf("%w: window key of %d bytes is shorter than %d", ErrCorruptKey, len(b), WindowKeySuffixLen)
	}
	n := len(b) - WindowKeySuffixLen
	windowStart = int64(binary.BigEndian.Uint64(b[n:]))
	if windowStart < 0 {
		return nil, 0, 0, fmt.Errorf("%w: negative window start %d", ErrCorruptKey, windowStart)
	}
	seq = binary.BigEndian.Uint32(b[n+8:])
	return b[:n:n], windowStart, seq, nil
}

// AppendSessionKey appends the session changelog key key || end || start to dst and returns
// the extended slice.
func AppendSessionKey(dst, key []byte, start, end int64) []byte {
	dst = append(dst, key...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(end))
	return binary.BigEndian.AppendUint64(dst, uint64(start))
}

// ParseSessionKey decodes a session changelog key. The returned key aliases b. It fails
// with ErrCorruptKey when b is too short, a time is negative or start > end.
func ParseSessionKey(b []byte) (key []byte, start, end int64, err error) {
	if len(b) < SessionKeySuffixLen {
		return nil, 0, 0, fmt.Errorf("%w: session key of %d bytes is shorter than %d", ErrCorruptKey, len(b), SessionKeySuffixLen)
	}
	n := len(b) - SessionKeySuffixLen
	end = int64(binary.BigEndian.Uint64(b[n:]))
	start = int64(binary.BigEndian.Uint64(b[n+8:]))
	if start < 0 || end < 0 {
		return nil, 0, 0, fmt.Errorf("%w: negative session time [%d, %d]", ErrCorruptKey, start, end)
	}
	if start > end {
		return nil, 0, 0, fmt.Errorf("%w: session start %d after end %d", ErrCorruptKey, start, end)
	}
	return b[:n:n], start, end, nil
}
