package streams

import (
	"encoding/binary"
	"unsafe"
)

// byteSlab hands out small byte slices carved from larger blocks, so a
// sink serializing a string or an int64 key or value costs a copy instead
// of an allocation per record. A block is never reused: each slice handed
// out stays valid (and keeps its block alive) for as long as anything holds
// it, as the producer does until the record is acknowledged. One slab
// belongs to one sink node of one task, which only its stream thread uses.
type byteSlab struct{ buf []byte }

const (
	// slabBlock is the size of a block: ~1,000 repartitioned words.
	slabBlock = 16 << 10
	// slabMax is the largest slice taken from a block; larger ones get
	// their own allocation, so a block is not thrown away half empty.
	slabMax = slabBlock / 16
)

// alloc returns a non-nil slice of length n with no room to grow into the
// next slice (its capacity is n).
func (s *byteSlab) alloc(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	if n > slabMax {
		return make([]byte, n)
	}
	if cap(s.buf)-len(s.buf) < n {
		s.buf = make([]byte, 0, slabBlock)
	}
	l := len(s.buf)
	s.buf = s.buf[:l+n]
	return s.buf[l : l+n : l+n]
}

// slabSerializer serializes values of a built-in serde into a slab; the
// boolean is false for other serdes, which serialize as they do.
func slabSerializer[T any](s Serde[T], slab *byteSlab) (func(T) []byte, bool) {
	switch any(s).(type) {
	case stringSerde:
		return func(v T) []byte {
			str := *(*string)(unsafe.Pointer(&v)) // T is string
			b := slab.alloc(len(str))
			copy(b, str)
			return b
		}, true
	case int64Serde:
		return func(v T) []byte {
			b := slab.alloc(8)
			binary.BigEndian.PutUint64(b, uint64(*(*int64)(unsafe.Pointer(&v)))) // T is int64
			return b
		}, true
	}
	return nil, false
}
