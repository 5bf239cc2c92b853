package streams

import (
	"log/slog"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/streams/internal/driverhook"
)

// Windowed results go to the partition of their inner key, as Kafka Streams'
// WindowedStreamPartitioner puts them: every window of a key on one partition, the
// partition a reader of the key (or a join co-partitioned with the input) expects.
func TestWindowedSinkPartitionsByInnerKey(t *testing.T) {
	ss := StringSerde()
	b := NewBuilder()
	g := NewStream(b, "in", ConsumedWith(ss, ss)).GroupByKey()
	WindowedBy(g, TimeWindowsOfSizeWithNoGrace(10*time.Millisecond)).Count().ToStream().To("tumbling")
	WindowedBySession(g, SessionWindowsOfInactivityGapWithNoGrace(5*time.Millisecond)).Count().ToStream().To("sessions")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	const partitions = 8
	anyDriver, err := newTestDriver(topo, driverhook.Config{ApplicationID: "wp", PartitionCount: partitions, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	d := anyDriver.(*testDriver)
	defer d.Close()
	keys := []string{"alpha", "beta", "gamma", "delta", "epsilon"}
	for i := range 200 {
		k := keys[i%len(keys)]
		if err := d.Pipe(RawRecord{Topic: "in", Key: []byte(k), Value: []byte("v"), Timestamp: int64(i * 3)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, topic := range []string{"tumbling", "sessions"} {
		out := d.Outputs()[topic]
		if len(out) < 20 {
			t.Fatalf("%s: %d records", topic, len(out))
		}
		suffix := 8
		if topic == "sessions" {
			suffix = 16
		}
		windows := map[string]int{}
		for _, pr := range out {
			inner := pr.Key[:len(pr.Key)-suffix]
			if want := DefaultKeyPartitioner(inner, partitions); pr.Partition != want {
				t.Fatalf("%s: a window of %q went to partition %d, want %d (its key's)", topic, inner, pr.Partition, want)
			}
			windows[string(inner)]++
		}
		// The whole windowed key would spread a key's windows over partitions.
		spread := false
		for _, pr := range out {
			if DefaultKeyPartitioner(pr.Key, partitions) != pr.Partition {
				spread = true
			}
		}
		if !spread || len(windows) != len(keys) {
			t.Fatalf("%s: the test input does not tell the partitioners apart (%d keys)", topic, len(windows))
		}
	}
}
