package streams

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// Serde turns values of type T into bytes and back. Sources deserialize,
// sinks, repartition topics and changelogs serialize; between the nodes of
// one sub-topology records travel as typed values and are never serialized.
//
// Kafka's null (nil bytes) is handed to Deserialize as nil; the built-in
// serdes turn it into T's zero value. Implementations must be safe for
// concurrent use (one serde serves every task and thread) and must not keep
// the slice Deserialize receives.
type Serde[T any] interface {
	// Serialize encodes v. The returned slice is owned by the caller.
	Serialize(v T) ([]byte, error)
	// Deserialize decodes data, which may be nil (Kafka's null).
	Deserialize(data []byte) (T, error)
}

// SerdeFuncs builds a Serde from two functions.
func SerdeFuncs[T any](serialize func(T) ([]byte, error), deserialize func([]byte) (T, error)) Serde[T] {
	return funcSerde[T]{ser: serialize, de: deserialize}
}

type funcSerde[T any] struct {
	ser func(T) ([]byte, error)
	de  func([]byte) (T, error)
}

func (s funcSerde[T]) Serialize(v T) ([]byte, error)     { return s.ser(v) }
func (s funcSerde[T]) Deserialize(b []byte) (T, error)   { return s.de(b) }
func (s funcSerde[T]) String() string                    { return "SerdeFuncs" }
func (stringSerde) String() string                       { return "StringSerde" }
func (bytesSerde) String() string                        { return "BytesSerde" }
func (int64Serde) String() string                        { return "Int64Serde" }
func (int32Serde) String() string                        { return "Int32Serde" }
func (float64Serde) String() string                      { return "Float64Serde" }
func (jsonSerde[T]) String() string                      { return "JSONSerde" }
func (msgpackSerde[T]) String() string                   { return "MsgpackSerde" }
func (voidSerde[T]) String() string                      { return "VoidSerde" }
func (voidSerde[T]) Serialize(T) ([]byte, error)         { return nil, nil }
func (voidSerde[T]) Deserialize([]byte) (v T, err error) { return v, nil }
func (stringSerde) Serialize(v string) ([]byte, error)   { return []byte(v), nil }
func (stringSerde) Deserialize(b []byte) (string, error) { return string(b), nil }
func (bytesSerde) Serialize(v []byte) ([]byte, error)    { return v, nil }
func (bytesSerde) Deserialize(b []byte) ([]byte, error)  { return cloneBytes(b), nil }
func (jsonSerde[T]) Serialize(v T) ([]byte, error)       { return json.Marshal(v) }
func (msgpackSerde[T]) Serialize(v T) ([]byte, error)    { return msgpack.Marshal(v) }
func (int64Serde) Serialize(v int64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(nil, uint64(v)), nil
}
func (int32Serde) Serialize(v int32) ([]byte, error) {
	return binary.BigEndian.AppendUint32(nil, uint32(v)), nil
}
func (float64Serde) Serialize(v float64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(nil, math.Float64bits(v)), nil
}

type (
	stringSerde         struct{}
	bytesSerde          struct{}
	int64Serde          struct{}
	int32Serde          struct{}
	float64Serde        struct{}
	jsonSerde[T any]    struct{}
	msgpackSerde[T any] struct{}
	voidSerde[T any]    struct{}
)

func (int64Serde) appendTo(dst []byte, v int64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(dst, uint64(v)), nil
}
func (int32Serde) appendTo(dst []byte, v int32) ([]byte, error) {
	return binary.BigEndian.AppendUint32(dst, uint32(v)), nil
}
func (float64Serde) appendTo(dst []byte, v float64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(v)), nil
}
func (stringSerde) appendTo(dst []byte, v string) ([]byte, error) { return append(dst, v...), nil }
func (bytesSerde) appendTo(dst []byte, v []byte) ([]byte, error)  { return append(dst, v...), nil }

// StringSerde encodes strings as their UTF-8 bytes (Kafka's StringSerde).
func StringSerde() Serde[string] { return stringSerde{} }

// BytesSerde passes bytes through. Deserialize copies its input.
func BytesSerde() Serde[[]byte] { return bytesSerde{} }

// Int64Serde encodes an int64 as 8 bytes, big-endian, as Kafka's LongSerde.
func Int64Serde() Serde[int64] { return int64Serde{} }

// Int32Serde encodes an int32 as 4 bytes, big-endian, as Kafka's IntegerSerde.
func Int32Serde() Serde[int32] { return int32Serde{} }

// Float64Serde encodes a float64 as its 8 IEEE 754 bytes, big-endian, as
// Kafka's DoubleSerde.
func Float64Serde() Serde[float64] { return float64Serde{} }

// JSONSerde encodes values with encoding/json. A nil input decodes to T's
// zero value.
func JSONSerde[T any]() Serde[T] { return jsonSerde[T]{} }

// MsgpackSerde encodes values with msgpack (github.com/vmihailenco/msgpack),
// the default for structs. A nil input decodes to T's zero value. An input
// that is not one whole msgpack value (lengths beyond its bytes, arrays and
// maps nested deeper than 10,000) fails with a SerdeError before the library
// allocates anything for it.
func MsgpackSerde[T any]() Serde[T] { return msgpackSerde[T]{} }

// VoidSerde writes nothing (Kafka's null) and reads every input as T's zero
// value: for keys or values that do not matter.
func VoidSerde[T any]() Serde[T] { return voidSerde[T]{} }

// SerdeError is returned when bytes cannot be decoded.
type SerdeError struct {
	Serde string
	Len   int
	Err   error
}

func (e *SerdeError) Error() string {
	return fmt.Sprintf("streams: %s: cannot decode %d bytes: %v", e.Serde, e.Len, e.Err)
}

// Unwrap returns the underlying error.
func (e *SerdeError) Unwrap() error { return e.Err }

func (int64Serde) Deserialize(b []byte) (int64, error) {
	switch len(b) {
	case 0:
		if b == nil {
			return 0, nil
		}
	case 8:
		return int64(binary.BigEndian.Uint64(b)), nil
	}
	return 0, &SerdeError{Serde: "Int64Serde", Len: len(b), Err: fmt.Errorf("want 8 bytes")}
}

func (int32Serde) Deserialize(b []byte) (int32, error) {
	switch len(b) {
	case 0:
		if b == nil {
			return 0, nil
		}
	case 4:
		return int32(binary.BigEndian.Uint32(b)), nil
	}
	return 0, &SerdeError{Serde: "Int32Serde", Len: len(b), Err: fmt.Errorf("want 4 bytes")}
}

func (float64Serde) Deserialize(b []byte) (float64, error) {
	switch len(b) {
	case 0:
		if b == nil {
			return 0, nil
		}
	case 8:
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	}
	return 0, &SerdeError{Serde: "Float64Serde", Len: len(b), Err: fmt.Errorf("want 8 bytes")}
}

func (jsonSerde[T]) Deserialize(b []byte) (T, error) {
	var v T
	if b == nil {
		return v, nil
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, &SerdeError{Serde: "JSONSerde", Len: len(b), Err: err}
	}
	return v, nil
}

// Deserialize decodes b after checkMsgpack has found it whole (and through
// msgpackGuard when it holds extensions), so a malformed record fails with a
// SerdeError instead of making the library allocate what its lengths
// declare. A panic of the library on a malformed value (a map key it cannot
// hash, for one) is a SerdeError too.
func (msgpackSerde[T]) Deserialize(b []byte) (v T, err error) {
	if b == nil {
		return v, nil
	}
	g := msgpackGuards.Get().(*msgpackGuard)
	if g.exts, err = checkMsgpack(b, g.exts[:0]); err != nil {
		g.release()
		return v, &SerdeError{Serde: "MsgpackSerde", Len: len(b), Err: err}
	}
	defer func() {
		if r := recover(); r != nil {
			var zero T
			v, err = zero, &SerdeError{Serde: "MsgpackSerde", Len: len(b), Err: fmt.Errorf("msgpack: %v", r)}
		}
	}()
	if len(g.exts) == 0 {
		g.release()
		err = msgpack.Unmarshal(b, &v)
	} else {
		g.b = b
		err = g.decode(&v)
		g.release()
	}
	if err != nil {
		return v, &SerdeError{Serde: "MsgpackSerde", Len: len(b), Err: err}
	}
	return v, nil
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// DefaultSerde returns the serde used when none is given for a type:
// StringSerde, BytesSerde, Int64Serde, Int32Serde and Float64Serde for
// those types, and MsgpackSerde for every other type (structs, maps, ...).
func DefaultSerde[T any]() Serde[T] {
	var zero T
	var s any
	switch any(zero).(type) {
	case string:
		s = stringSerde{}
	case []byte:
		s = bytesSerde{}
	case int64:
		s = int64Serde{}
	case int32:
		s = int32Serde{}
	case float64:
		s = float64Serde{}
	default:
		return MsgpackSerde[T]()
	}
	return s.(Serde[T])
}

func serdeOr[T any](s Serde[T]) Serde[T] {
	if s != nil {
		return s
	}
	return DefaultSerde[T]()
}

func serdeName(s any) string {
	if st, ok := s.(fmt.Stringer); ok {
		return st.String()
	}
	return fmt.Sprintf("%T", s)
}
