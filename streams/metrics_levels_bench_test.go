package streams

import (
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/memstore"
)

type discardSends struct{}

func (discardSends) Send(ProducerRecord) error            { return nil }
func (discardSends) PartitionCount(string) (int32, error) { return 1, nil }

// BenchmarkCountMetrics: the cost per record of the metrics of each
// metrics.recording.level on a count (source, aggregation with its cached
// store, sink), run by the task alone; "none" has no metrics at all.
//
//	go test ./streams -run '^$' -bench BenchmarkCountMetrics -benchmem
func BenchmarkCountMetrics(b *testing.B) {
	raws := make([]RawRecord, 4096)
	for i := range raws {
		raws[i] = RawRecord{Topic: "in", Offset: int64(i), Key: []byte("k" + strconv.Itoa(i%1000)), Value: []byte("v"), Timestamp: int64(i)}
	}
	for _, level := range []string{"none", RecordingLevelInfo, RecordingLevelDebug} {
		b.Run(level, func(b *testing.B) {
			bld := NewBuilder()
			NewStream(bld, "in", ConsumedWith(StringSerde(), BytesSerde())).GroupByKey().Count().ToStream().
				To("out", ProducedWith(StringSerde(), Int64Serde()))
			topo, err := bld.Build()
			if err != nil {
				b.Fatal(err)
			}
			stats := new(taskStats)
			if level != "none" {
				stats.ops = newNodeMeters(topo, recordingLevel(level))
			}
			task, err := newStreamTask(topo, TaskID{}, []TopicPartition{{Topic: "in"}}, taskConfig{
				ApplicationID: "bench", Collector: discardSends{}, Stores: inMemoryStores(), Logger: slog.New(slog.DiscardHandler),
				Cache: statestore.NewRecordCache(10 << 20), Stats: stats,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer task.Close(false)
			if err := task.Initialize(4096); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			since := 0
			for i := 0; i < b.N; i += len(raws) {
				n := min(len(raws), b.N-i)
				if err := task.AddRecords(TopicPartition{Topic: "in"}, raws[:n]); err != nil {
					b.Fatal(err)
				}
				drain(b, task, 4096)
				if since += n; since >= 1<<14 {
					if err := task.Flush(); err != nil {
						b.Fatal(err)
					}
					since = 0
				}
			}
		})
	}
}

// BenchmarkTableStoreOps: a getKB and a putKB on a table store over an
// in-memory store, as an aggregation makes them, at INFO (no meter) and at
// DEBUG (the store counts both).
//
//	go test ./streams -run '^$' -bench BenchmarkTableStoreOps -benchmem
func BenchmarkTableStoreOps(b *testing.B) {
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = []byte("key-" + strconv.Itoa(i))
	}
	for _, level := range []string{RecordingLevelInfo, RecordingLevelDebug} {
		b.Run(level, func(b *testing.B) {
			s := &tsStore[string, int64]{kvStore: &kvStore[string, ValueAndTimestamp[int64]]{name: "s", raw: memstore.NewKeyValueStore("s", statestore.KeyValueOptions{}),
				keySerde: StringSerde(), valueSerde: timestampedSerde[int64]{inner: Int64Serde()}, ckpt: -1}, valueSerde: Int64Serde()}
			if level == RecordingLevelDebug {
				s.setMeter(newStoreMeter(samplingOf(0, 0)))
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				kb := keys[i%len(keys)]
				v, _, err := s.getKB(kb)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.putKB(kb, ValueAndTimestamp[int64]{Value: v.Value + 1, Timestamp: int64(i)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// meteredNoop has a store operation's hook, as the DSL stores have it.
//
//go:noinline
func meteredNoop(m *storeMeter) {
	if m != nil {
		defer m.done(opGet, m.start())
	}
}

//go:noinline
func unmeteredNoop(*storeMeter) {}

// BenchmarkMetricHooks: the cost of the per-operation and per-record
// hooks alone: a store operation's hook without a meter (INFO) and with
// one (DEBUG, two clock reads), and one end-to-end latency observation
// (every level); "baseline" is the call without a hook.
//
//	go test ./streams -run '^$' -bench BenchmarkMetricHooks
func BenchmarkMetricHooks(b *testing.B) {
	b.Run("store-op/baseline", func(b *testing.B) {
		for b.Loop() {
			unmeteredNoop(nil)
		}
	})
	b.Run("store-op/INFO", func(b *testing.B) {
		for b.Loop() {
			meteredNoop(nil)
		}
	})
	b.Run("store-op/DEBUG", func(b *testing.B) {
		m := newStoreMeter(samplingOf(0, 0))
		for b.Loop() {
			meteredNoop(m)
		}
	})
	// The latency stats alone, without the clock reads: the count since
	// the start and the sample of the current window.
	b.Run("store-op/DEBUG-stats", func(b *testing.B) {
		m := newStoreMeter(samplingOf(0, 0))
		s := &m.ops[opGet]
		now := time.Now().UnixNano()
		for i := int64(0); b.Loop(); i++ {
			s.n.Add(1)
			s.samples.add(m.window, now+i, i&1023)
		}
	})
	b.Run("e2e-observe", func(b *testing.B) {
		e := new(e2eStat)
		for i := int64(0); b.Loop(); i++ {
			e.observe(1_000_000, i&1023)
		}
	})
}
