package streams

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

type msgpackRecord struct {
	ID     int64
	Tags   []string
	Scores []int64
	Attrs  map[string]any
	Items  []msgpackItem
	Any    any
}

type msgpackItem struct {
	Name  string
	Count int32
}

// allocatedBy returns the bytes the heap allocated while fn ran.
func allocatedBy(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A record of a few bytes that declares billions of elements fails as a
// SerdeError, whatever the type it is decoded into, and allocates next to
// nothing: the msgpack library alone would size a slice or map by the
// declared count before reading an element.
func TestMsgpackSerdeRefusesLengthsBeyondTheRecord(t *testing.T) {
	inputs := map[string][]byte{
		"map32 of 3.8G entries":     []byte("\xdf\xe5\xe5\xe5\xe5"),
		"array32 of 4G elements":    []byte("\xdd\xff\xff\xff\xff\x01"),
		"array16 beyond the end":    []byte("\xdc\xff\xff\x01\x02"),
		"map16 beyond the end":      []byte("\xde\x00\x02\xa1k\x01"),
		"str32 of 4G bytes":         []byte("\xdb\xff\xff\xff\xffabc"),
		"bin32 of 4G bytes":         []byte("\xc6\xff\xff\xff\xffabc"),
		"ext32 of 4G bytes":         []byte("\xc9\xff\xff\xff\xff\x01abc"),
		"nested array32 in a map":   []byte("\x81\xa1a\xdd\x7f\xff\xff\xff"),
		"a code msgpack never uses": {0xc1},
		// The library reads a map from an extension's data where the type
		// holds a map, whatever the extension's length says.
		"map32 in an extension's data":       []byte("\xd80\xdf\xdf\xdf\xdf\xdfa=\xe4\x04Q\xdf\xdf\xdf\xf000"),
		"array32 in a map in an extension":   []byte("\xd8\x01\x81\xa1k\xdd\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00"),
		"an extension in an extension's map": []byte("\xd8\x01\x81\xa1k\xd4\x01\xdf\xff\xff\xff\xff\x00\x00\x00\x00\x00"),
		"map32 in an ext8 extension's data":  []byte("\xc7\x05\x01\xdf\xff\xff\xff\xff"),
	}
	check := func(t *testing.T, name string, decode func() error) {
		t.Helper()
		var err error
		n := allocatedBy(func() { err = decode() })
		var se *SerdeError
		if !errors.As(err, &se) || se.Serde != "MsgpackSerde" {
			t.Errorf("%s: error %v, want a MsgpackSerde SerdeError", name, err)
		}
		if n > 1<<20 {
			t.Errorf("%s: decoding allocated %d bytes", name, n)
		}
	}
	for name, b := range inputs {
		check(t, name+" into any", func() error { _, err := MsgpackSerde[any]().Deserialize(b); return err })
		check(t, name+" into map[string]any", func() error { _, err := MsgpackSerde[map[string]any]().Deserialize(b); return err })
		check(t, name+" into []int64", func() error { _, err := MsgpackSerde[[]int64]().Deserialize(b); return err })
		check(t, name+" into []msgpackItem", func() error { _, err := MsgpackSerde[[]msgpackItem]().Deserialize(b); return err })
		check(t, name+" into a struct", func() error { _, err := MsgpackSerde[msgpackRecord]().Deserialize(b); return err })
	}
}

// The same bytes are a timestamp where the type holds a time or any, and a
// map of 4G entries where it holds a map: the first decodes, the second is
// refused before the library allocates the map.
func TestMsgpackSerdeTimestampReadAsAMap(t *testing.T) {
	b := []byte("\xd7\xff\xdf\xff\xff\xff\xff\x00\x00\x00")
	want := time.Unix(int64(binary.BigEndian.Uint64(b[2:])&(1<<34-1)), int64(binary.BigEndian.Uint64(b[2:])>>34))
	if got, err := MsgpackSerde[time.Time]().Deserialize(b); err != nil || !got.Equal(want) {
		t.Errorf("into time.Time: %v, %v; want %v", got, err, want)
	}
	if got, err := MsgpackSerde[any]().Deserialize(b); err != nil {
		t.Errorf("into any: %v, %v", got, err)
	} else if tm, ok := got.(time.Time); !ok || !tm.Equal(want) {
		t.Errorf("into any: %T %v, want %v", got, got, want)
	}
	var err error
	n := allocatedBy(func() { _, err = MsgpackSerde[map[string]any]().Deserialize(b) })
	var se *SerdeError
	if !errors.As(err, &se) || n > 1<<20 {
		t.Errorf("into map[string]any: %v after allocating %d bytes, want a SerdeError and next to nothing", err, n)
	}
	// A timestamp whose nanoseconds begin with the byte of a map32 (936 ms),
	// next to a map: decodes as it was written.
	type event struct {
		At    time.Time
		Attrs map[string]any
	}
	e := event{At: time.Unix(1_800_000_000, 936_000_000).UTC(), Attrs: map[string]any{"k": "v"}}
	enc, err := msgpack.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(enc, []byte{0xd7, 0xff, 0xdf}) {
		t.Fatalf("the timestamp is not written as a map32's byte: %x", enc)
	}
	got, err := MsgpackSerde[event]().Deserialize(enc)
	if err != nil || !got.At.Equal(e.At) || got.Attrs["k"] != "v" {
		t.Errorf("event %+v: %v", got, err)
	}
}

// Arrays and maps may nest maxMsgpackNesting deep, no deeper.
func TestMsgpackSerdeNesting(t *testing.T) {
	nested := func(depth int) []byte {
		return append(bytes.Repeat([]byte{0x91}, depth), 0x01) // [[[...[1]...]]]
	}
	v, err := MsgpackSerde[any]().Deserialize(nested(maxMsgpackNesting))
	if err != nil {
		t.Fatalf("%d levels: %v", maxMsgpackNesting, err)
	}
	for range maxMsgpackNesting {
		a, ok := v.([]any)
		if !ok || len(a) != 1 {
			t.Fatalf("decoded %T %v, want a one-element array", v, v)
		}
		v = a[0]
	}
	if v != int8(1) {
		t.Fatalf("innermost value %T %v", v, v)
	}
	_, err = MsgpackSerde[any]().Deserialize(nested(maxMsgpackNesting + 1))
	if err == nil || !strings.Contains(err.Error(), "nested deeper than") {
		t.Fatalf("%d levels: %v, want the nesting refused", maxMsgpackNesting+1, err)
	}
	// A megabyte of nesting: refused at once rather than decoded recursively.
	if _, err := MsgpackSerde[any]().Deserialize(nested(1 << 20)); err == nil {
		t.Fatal("1M levels accepted")
	}
}

// A map key the library cannot put in a Go map (an array) fails as a
// SerdeError instead of a panic.
func TestMsgpackSerdeUnhashableKey(t *testing.T) {
	b := []byte("\x81\x91\x01\x01") // {[1]: 1}
	_, err := MsgpackSerde[map[any]any]().Deserialize(b)
	var se *SerdeError
	if !errors.As(err, &se) {
		t.Fatalf("error %v, want a SerdeError", err)
	}
}

// checkMsgpack accepts everything msgpack writes, and refuses every proper
// prefix of it: a value cut short is never decoded.
func TestCheckMsgpackAcceptsWhatMsgpackWrites(t *testing.T) {
	long := func(n int) []any {
		a := make([]any, n)
		for i := range a {
			a[i] = i
		}
		return a
	}
	wide := func(n int) map[string]int {
		m := make(map[string]int, n)
		for i := range n {
			m[fmt.Sprintf("key-%d", i)] = i
		}
		return m
	}
	values := []any{
		nil, true, false, 0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, uint64(math.MaxUint64),
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, int64(math.MinInt64),
		float32(1.5), 2.25, math.Inf(-1),
		"", "a", strings.Repeat("s", 31), strings.Repeat("s", 32), strings.Repeat("s", 255),
		strings.Repeat("s", 256), strings.Repeat("s", 65535), strings.Repeat("s", 65536),
		[]byte{}, []byte{1, 2, 3}, bytes.Repeat([]byte{7}, 256), bytes.Repeat([]byte{7}, 65536),
		time.Unix(1, 0), time.Unix(1<<40, 5), time.Date(2026, 12, 7, 1, 2, 3, 4, time.UTC),
		[]any{}, long(15), long(16), long(65535), long(65536),
		map[string]int{}, wide(15), wide(16), wide(65536),
		[]any{[]any{map[string]any{"a": []any{1, "b", nil}}}, map[string]any{}},
		msgpackRecord{ID: 7, Tags: []string{"x", "y"}, Scores: []int64{1, -1 << 40}, Attrs: map[string]any{"n": 1, "l": []any{true}},
			Items: []msgpackItem{{"a", 1}, {"b", -2}}, Any: map[string]any{"deep": []any{[]any{1.5}}}},
	}
	for i, v := range values {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		if _, err := checkMsgpack(b, nil); err != nil {
			t.Errorf("value %d (%T, %d bytes): %v", i, v, len(b), err)
		}
		// With bytes after it, as msgpack.Unmarshal allows.
		if _, err := checkMsgpack(append(b, 0xc1, 0xdd), nil); err != nil {
			t.Errorf("value %d followed by bytes: %v", i, err)
		}
		cuts := []int{0, 1, len(b) / 2, len(b) - 1}
		if len(b) <= 512 {
			cuts = cuts[:0]
			for k := range len(b) {
				cuts = append(cuts, k)
			}
		}
		for _, k := range cuts {
			if k >= len(b) {
				continue
			}
			if _, err := checkMsgpack(b[:k], nil); err == nil {
				t.Errorf("value %d (%T): its first %d of %d bytes accepted", i, v, k, len(b))
			}
		}
	}
}

// The check costs little next to the decoding itself, with a timestamp (an
// extension, decoded through the guard) or without.
func BenchmarkMsgpackSerdeDeserialize(b *testing.B) {
	type event struct {
		User string
		At   time.Time
		N    int64
	}
	plain, err := msgpack.Marshal(msgpackRecord{ID: 7, Tags: []string{"x", "y"}, Scores: []int64{1, 2, 3}, Items: []msgpackItem{{"a", 1}}})
	if err != nil {
		b.Fatal(err)
	}
	stamped, err := msgpack.Marshal(event{"u", time.Unix(1_800_000_000, 5), 3})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("check", func(b *testing.B) {
		for b.Loop() {
			if _, err := checkMsgpack(plain, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("deserialize", func(b *testing.B) {
		s := MsgpackSerde[msgpackRecord]()
		for b.Loop() {
			if _, err := s.Deserialize(plain); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("library-only", func(b *testing.B) {
		for b.Loop() {
			var v msgpackRecord
			if err := msgpack.Unmarshal(plain, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("timestamp/deserialize", func(b *testing.B) {
		s := MsgpackSerde[event]()
		for b.Loop() {
			if _, err := s.Deserialize(stamped); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("timestamp/library-only", func(b *testing.B) {
		for b.Loop() {
			var v event
			if err := msgpack.Unmarshal(stamped, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzCheckMsgpack compares checkMsgpack with the msgpack library's own
// Skip, which walks a value without allocating by its declared lengths: both
// must accept and refuse the same inputs (nested no deeper than the bound).
// Then it decodes the input into a few types through MsgpackSerde, which
// must fail only with a SerdeError and allocate in proportion to the input.
func FuzzCheckMsgpack(f *testing.F) {
	for _, v := range []any{nil, 1, -300, "s", []byte{1}, []any{1, "a"}, map[string]any{"k": []any{2.5}}, time.Unix(3, 4)} {
		b, _ := msgpack.Marshal(v)
		f.Add(b)
	}
	f.Add([]byte("\xdf\xe5\xe5\xe5\xe5"))
	f.Add([]byte("\xdd\x00\x00\x00\x02\x01"))
	f.Add([]byte{0xc1})
	f.Add([]byte{0xd8, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxMsgpackNesting {
			return // could nest deeper than the check allows and Skip does not bound
		}
		_, err := checkMsgpack(b, nil)
		skipErr := msgpack.NewDecoder(bytes.NewReader(b)).Skip()
		if (err == nil) != (skipErr == nil) {
			t.Fatalf("%x: checkMsgpack %v, msgpack's Skip %v", b, err, skipErr)
		}
		// Whatever the input, decoding it allocates in proportion to its size:
		// the library never sizes a slice or map by a count the record
		// cannot hold. (A byte of input decodes to at most a small boxed
		// value or an empty map.)
		limit := uint64(1<<20 + 1024*len(b))
		for name, decode := range map[string]func() error{
			"any":            func() error { _, err := MsgpackSerde[any]().Deserialize(b); return err },
			"map[string]any": func() error { _, err := MsgpackSerde[map[string]any]().Deserialize(b); return err },
			"a struct":       func() error { _, err := MsgpackSerde[msgpackRecord]().Deserialize(b); return err },
		} {
			var derr error
			if n := allocatedBy(func() { derr = decode() }); n > limit {
				t.Fatalf("%x into %s: %d bytes allocated (limit %d), error %v", b, name, n, limit, derr)
			}
			var se *SerdeError
			if derr != nil && !errors.As(derr, &se) {
				t.Fatalf("%x into %s: %v is not a SerdeError", b, name, derr)
			}
		}
	})
}
