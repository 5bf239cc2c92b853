package streams

import (
	"bytes"
	"log/slog"
	"math"
	"reflect"
	"testing"
)

func TestBuiltinSerdesRoundTrip(t *testing.T) {
	for _, v := range []int64{0, 1, -1, math.MaxInt64, math.MinInt64} {
		b, _ := Int64Serde().Serialize(v)
		if len(b) != 8 {
			t.Fatalf("int64 %d: %d bytes", v, len(b))
		}
		got, err := Int64Serde().Deserialize(b)
		if err != nil || got != v {
			t.Errorf("int64 %d: %d, %v", v, got, err)
		}
	}
	// Kafka's LongSerializer: 8 bytes big-endian.
	if b, _ := Int64Serde().Serialize(258); !bytes.Equal(b, []byte{0, 0, 0, 0, 0, 0, 1, 2}) {
		t.Errorf("int64 layout %x", b)
	}
	if b, _ := Int32Serde().Serialize(-2); !bytes.Equal(b, []byte{0xff, 0xff, 0xff, 0xfe}) {
		t.Errorf("int32 layout %x", b)
	}
	if v, err := Float64Serde().Deserialize(mustSer(Float64Serde(), 2.5)); err != nil || v != 2.5 {
		t.Errorf("float64 %v %v", v, err)
	}
	type point struct {
		X, Y int
		Name string
	}
	p := point{1, -2, "p"}
	if v, err := MsgpackSerde[point]().Deserialize(mustSer(MsgpackSerde[point](), p)); err != nil || v != p {
		t.Errorf("msgpack %+v %v", v, err)
	}
	if v, err := JSONSerde[point]().Deserialize(mustSer(JSONSerde[point](), p)); err != nil || v != p {
		t.Errorf("json %+v %v", v, err)
	}
	if _, ok := DefaultSerde[point]().(msgpackSerde[point]); !ok {
		t.Errorf("structs default to msgpack")
	}
	if _, ok := DefaultSerde[int64]().(int64Serde); !ok {
		t.Errorf("int64 defaults to Int64Serde")
	}
	for _, bad := range [][]byte{{}, {1, 2, 3}} {
		if _, err := Int64Serde().Deserialize(bad); err == nil {
			t.Errorf("int64 accepted %x", bad)
		}
	}
	if v, err := Int64Serde().Deserialize(nil); err != nil || v != 0 {
		t.Errorf("nil is Kafka's null: zero value, got %d %v", v, err)
	}
}

func mustSer[T any](s Serde[T], v T) []byte {
	b, err := s.Serialize(v)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzSerdes feeds arbitrary bytes to every decoder of the package: none
// may panic, and what decodes must encode back to something that decodes
// to the same value.
func FuzzSerdes(f *testing.F) {
	f.Add(mustSer(Int64Serde(), 42))
	f.Add(mustSer(JSONSerde[map[string]int](), map[string]int{"a": 1}))
	f.Add(mustSer(MsgpackSerde[[]string](), []string{"x", "y"}))
	c, _ := changeSerde[string]{inner: StringSerde()}.Serialize(change[string]{newV: "n", hasNew: true, oldV: "o", hasOld: true})
	f.Add(c)
	ts, _ := timestampedSerde[int64]{inner: Int64Serde()}.Serialize(ValueAndTimestamp[int64]{Value: 7, Timestamp: 99})
	f.Add(ts)
	f.Add([]byte{})
	f.Add([]byte("\xdf\xe5\xe5\xe5\xe5"))     // a map declaring 3.8G entries in five bytes
	f.Add([]byte("\x81\xa10\xca\xff\xff000")) // {"0": a float32 NaN}
	f.Fuzz(func(t *testing.T, b []byte) {
		roundTrip(t, Int64Serde(), b)
		roundTrip(t, Int32Serde(), b)
		roundTrip(t, Float64Serde(), b)
		roundTrip(t, StringSerde(), b)
		roundTrip(t, BytesSerde(), b)
		roundTrip(t, JSONSerde[map[string]any](), b)
		roundTrip(t, MsgpackSerde[map[string]any](), b)
		roundTrip(t, Serde[change[string]](changeSerde[string]{inner: StringSerde()}), b)
		roundTrip(t, Serde[change[int64]](changeSerde[int64]{inner: Int64Serde()}), b)
		roundTrip(t, Serde[ValueAndTimestamp[int64]](timestampedSerde[int64]{inner: Int64Serde()}), b)
	})
}

func roundTrip[T any](t *testing.T, s Serde[T], b []byte) {
	v, err := s.Deserialize(b)
	if err != nil {
		return
	}
	enc, err := s.Serialize(v)
	if err != nil {
		return // e.g. NaN in JSON
	}
	v2, err := s.Deserialize(enc)
	if err != nil {
		t.Fatalf("%s: %x decoded to %v, re-encoded to %x, which fails: %v", serdeName(s), b, v, enc, err)
	}
	if !reflect.DeepEqual(v, v2) && !hasNaN(v) {
		t.Fatalf("%s: %x: %#v then %#v", serdeName(s), b, v, v2)
	}
}

// hasNaN reports whether v holds a NaN, at any depth of the maps and
// slices a decoder builds (NaN is not equal to itself, so DeepEqual cannot
// compare such values).
func hasNaN(v any) bool {
	switch x := v.(type) {
	case float64:
		return math.IsNaN(x)
	case float32:
		return math.IsNaN(float64(x))
	case map[string]any:
		for _, e := range x {
			if hasNaN(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNaN(e) {
				return true
			}
		}
	}
	return false
}

// FuzzTaskInput pushes arbitrary records through a word-count-like task
// (string lines in, int64 counts kept in a store): bad bytes must go to the
// handler and never panic or corrupt the counts of good records.
func FuzzTaskInput(f *testing.F) {
	f.Add([]byte("k"), []byte("hello world"), int64(5), []byte("k2"), []byte{0xff, 0xfe}, int64(-3))
	f.Add([]byte(nil), []byte(nil), int64(0), []byte{}, []byte{}, int64(1))
	b := NewBuilder()
	in := NewStream(b, "in", ConsumedWith(StringSerde(), Int64Serde()))
	in.GroupByKey().Count(MaterializedAs[string, int64]("counts")).ToStream().To("out", ProducedWith(StringSerde(), Int64Serde()))
	topo, err := b.Build()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, k1, v1 []byte, ts1 int64, k2, v2 []byte, ts2 int64) {
		col := &sliceCollector{}
		task, err := newStreamTask(topo, TaskID{}, []TopicPartition{{Topic: "in"}}, taskConfig{
			ApplicationID: "fuzz", Collector: col, Stores: inMemoryStores(),
			DeserializationHandler: LogAndContinue, TimestampExtractor: LogAndSkipOnInvalidTimestamp,
			Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer task.Close(false)
		if err := task.Initialize(0); err != nil {
			t.Fatal(err)
		}
		recs := []RawRecord{{Topic: "in", Offset: 0, Key: k1, Value: v1, Timestamp: ts1}, {Topic: "in", Offset: 1, Key: k2, Value: v2, Timestamp: ts2}}
		if err := task.AddRecords(TopicPartition{Topic: "in"}, recs); err != nil {
			t.Fatal(err)
		}
		for {
			ok, err := task.Process(0)
			if err != nil {
				t.Fatalf("process: %v", err)
			}
			if !ok {
				break
			}
		}
		if got := task.CommitOffsets()[TopicPartition{Topic: "in"}]; got != 2 {
			t.Fatalf("consumed up to %d, want 2 (every record processed or skipped)", got)
		}
		if err := task.Flush(); err != nil {
			t.Fatal(err)
		}
		good := map[string]int64{}
		for _, r := range recs {
			if r.Key != nil && len(r.Value) == 8 && r.Timestamp >= 0 {
				good[string(r.Key)]++
			}
		}
		st, _ := task.Store("counts")
		kv, err := GetKeyValueStore[string, int64](storeProvider{st}, "counts")
		if err != nil {
			t.Fatal(err)
		}
		for k, n := range good {
			if got, _, _ := kv.Get(k); got != n {
				t.Fatalf("count of %q = %d, want %d", k, got, n)
			}
		}
	})
}

type storeProvider struct{ s StateStore }

func (p storeProvider) StateStore(string) (StateStore, error) { return p.s, nil }

type sliceCollector struct{ recs []ProducerRecord }

func (c *sliceCollector) Send(r ProducerRecord) error          { c.recs = append(c.recs, r); return nil }
func (c *sliceCollector) PartitionCount(string) (int32, error) { return 1, nil }
