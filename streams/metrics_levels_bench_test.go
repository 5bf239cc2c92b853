package streams

import (
	"log/slog"
	"strconv"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
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
			stats := new(TaskStats)
			if level != "none" {
				stats.ops = newNodeMeters(topo, recordingLevel(level))
			}
			task, err := NewTask(topo, TaskID{}, []TopicPartition{{Topic: "in"}}, TaskConfig{
				ApplicationID: "bench", Collector: discardSends{}, Stores: InMemoryStores(), Logger: slog.New(slog.DiscardHandler),
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
				for {
					ok, err := task.Process(4096)
					if err != nil {
						b.Fatal(err)
					}
					if !ok {
						break
					}
				}
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
