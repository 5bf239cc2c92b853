package streams

import (
	"fmt"
	"log/slog"
	"testing"
)

// fourPartitions is a recordingCollector whose topics have 4 partitions.
type fourPartitions struct{ recordingCollector }

func (*fourPartitions) PartitionCount(string) (int32, error) { return 4, nil }

// TestSinkMulticastPartitioner: a multicast partitioner (Kafka Streams'
// StreamPartitioner.partitions, KIP-837) writes a record once to each
// partition it lists, drops it (counted) when it lists none, and leaves
// the choice to the default partitioner when it declines.
func TestSinkMulticastPartitioner(t *testing.T) {
	ss := StringSerde()
	b := NewBuilder()
	NewStream(b, "in", ConsumedWith(ss, ss)).To("out", ProducedWith(ss, ss).WithMulticastPartitioner(
		func(_ string, k, _ string, n int32) ([]int32, bool) {
			switch k {
			case "all":
				return []int32{0, 1, 2, 3, 1}, true
			case "none":
				return nil, true
			default:
				return nil, false
			}
		}))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	coll, stats := &fourPartitions{}, new(taskStats)
	task, err := newStreamTask(topo, TaskID{}, []TopicPartition{{Topic: "in"}},
		taskConfig{ApplicationID: "app", Collector: coll, Stats: stats, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Close(false) })
	if err := task.Initialize(0); err != nil {
		t.Fatal(err)
	}
	var recs []RawRecord
	for i, k := range []string{"all", "none", "other"} {
		recs = append(recs, RawRecord{Topic: "in", Offset: int64(i), Timestamp: 1, Key: []byte(k), Value: []byte("v")})
	}
	task.AddRecords(TopicPartition{Topic: "in"}, recs)
	if n := drain(t, task, 0); n != 3 {
		t.Fatalf("processed %d, want 3", n)
	}
	var got []string
	for _, r := range coll.recs {
		got = append(got, fmt.Sprintf("%s:%d", r.Key, r.Partition))
	}
	if want := "[all:0 all:1 all:2 all:3 other:-1]"; fmt.Sprint(got) != want {
		t.Errorf("sent %v, want %s", got, want)
	}
	if n := stats.DroppedRecords.Load(); n != 1 {
		t.Errorf("dropped %d, want 1", n)
	}
}
