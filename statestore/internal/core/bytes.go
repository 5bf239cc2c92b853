package core

import (
	"encoding/binary"
	"fmt"

	"github.com/rivulet-io/rivulet/statestore"
)

// Successor returns the smallest key greater than every key that starts with prefix, or
// nil (unbounded) when there is none (prefix empty or all 0xff).
func Successor(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xff {
			s := make([]byte, i+1)
			copy(s, prefix)
			s[i]++
			return s
		}
	}
	return nil
}

// after returns the smallest key greater than k: k || 0x00.
func after(k []byte) []byte {
	s := make([]byte, len(k)+1)
	copy(s, k)
	return s
}

// Escaped keys: record keys inside composite store keys are written with every 0x00 byte
// as 0x00 0xff and a terminator 0x00 0x01. The encoding keeps byte order and no encoded
// key is a prefix of another, so (key, time) composites of keys of different lengths never
// interleave and key-range scans have exact bounds.
const (
	escByte  = 0x00
	escZero  = 0xff
	escTerm  = 0x01
	segIDLen = 8
)

func appendEscaped(dst, key []byte) []byte {
	for _, b := range key {
		if b == escByte {
			dst = append(dst, escByte, escZero)
		} else {
			dst = append(dst, b)
		}
	}
	return append(dst, escByte, escTerm)
}

// unescape decodes the escaped key at the start of b; it returns the key and the rest of
// b after the terminator. A key without zero bytes aliases b; otherwise it is a copy.
func unescape(b []byte) (key, rest []byte, err error) {
	for i := 0; i < len(b); i++ {
		if b[i] != escByte {
			continue
		}
		if i+1 < len(b) && b[i+1] == escTerm {
			return b[:i:i], b[i+2:], nil
		}
		return unescapeSlow(b)
	}
	return nil, nil, fmt.Errorf("%w: unterminated key", statestore.ErrCorruptKey)
}

func unescapeSlow(b []byte) (key, rest []byte, err error) {
	key = make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != escByte {
			key = append(key, b[i])
			continue
		}
		if i+1 >= len(b) {
			return nil, nil, fmt.Errorf("%w: truncated key escape", statestore.ErrCorruptKey)
		}
		switch b[i+1] {
		case escTerm:
			return key, b[i+2:], nil
		case escZero:
			key = append(key, 0)
			i++
		default:
			return nil, nil, fmt.Errorf("%w: bad key escape 0x00 0x%02x", statestore.ErrCorruptKey, b[i+1])
		}
	}
	return nil, nil, fmt.Errorf("%w: unterminated key", statestore.ErrCorruptKey)
}

func appendSeg(dst []byte, seg int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(seg))
}

// WindowStoreKey is the key a window store keeps a window under:
// segment(8) || escaped(key) || windowStart(8) || seq(4).
func WindowStoreKey(dst []byte, seg int64, key []byte, windowStart int64, seq uint32) []byte {
	dst = appendSeg(dst, seg)
	dst = appendEscaped(dst, key)
	dst = binary.BigEndian.AppendUint64(dst, uint64(windowStart))
	return binary.BigEndian.AppendUint32(dst, seq)
}

// ParseWindowStoreKey decodes a window store key. key aliases b unless it holds a zero byte.
func ParseWindowStoreKey(b []byte) (seg int64, key []byte, windowStart int64, seq uint32, err error) {
	seg, key, rest, err := splitStoreKey(b, "window", statestore.WindowKeySuffixLen)
	if err != nil {
		return 0, nil, 0, 0, err
	}
	windowStart = int64(binary.BigEndian.Uint64(rest))
	seq = binary.BigEndian.Uint32(rest[8:])
	if seg < 0 || windowStart < 0 {
		return 0, nil, 0, 0, fmt.Errorf("%w: negative segment %d or window start %d", statestore.ErrCorruptKey, seg, windowStart)
	}
	return seg, key, windowStart, seq, nil
}

// splitStoreKey cuts a segmented store key of the given kind into its segment, its
// record key and its suffix of suffixLen bytes.
func splitStoreKey(b []byte, kind string, suffixLen int) (seg int64, key, suffix []byte, err error) {
	if len(b) < segIDLen+2+suffixLen {
		return 0, nil, nil, fmt.Errorf("%w: %s store key of %d bytes is too short", statestore.ErrCorruptKey, kind, len(b))
	}
	seg = int64(binary.BigEndian.Uint64(b))
	key, suffix, err = unescape(b[segIDLen:])
	if err != nil {
		return 0, nil, nil, err
	}
	if len(suffix) != suffixLen {
		return 0, nil, nil, fmt.Errorf("%w: %s store key suffix of %d bytes", statestore.ErrCorruptKey, kind, len(suffix))
	}
	return seg, key, suffix, nil
}

// SessionStoreKey is the key a session store keeps a session under:
// segment(8) || escaped(key) || end(8) || start(8).
func SessionStoreKey(dst []byte, seg int64, key []byte, start, end int64) []byte {
	dst = appendSeg(dst, seg)
	dst = appendEscaped(dst, key)
	dst = binary.BigEndian.AppendUint64(dst, uint64(end))
	return binary.BigEndian.AppendUint64(dst, uint64(start))
}

// ParseSessionStoreKey decodes a session store key.
func ParseSessionStoreKey(b []byte) (seg int64, key []byte, start, end int64, err error) {
	seg, key, rest, err := splitStoreKey(b, "session", statestore.SessionKeySuffixLen)
	if err != nil {
		return 0, nil, 0, 0, err
	}
	end = int64(binary.BigEndian.Uint64(rest))
	start = int64(binary.BigEndian.Uint64(rest[8:]))
	if seg < 0 || start < 0 || end < start {
		return 0, nil, 0, 0, fmt.Errorf("%w: bad session [%d, %d] in segment %d", statestore.ErrCorruptKey, start, end, seg)
	}
	return seg, key, start, end, nil
}
