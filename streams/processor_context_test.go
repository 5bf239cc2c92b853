package streams_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// A store write takes its time from the record the writing processor
// handles, as Kafka Streams' record context follows each forward: when an
// upstream processor forwards a record with another timestamp (while
// processing, or from a punctuation), the changelog records of the writes
// it causes downstream carry that timestamp, not the input record's or the
// punctuation's.
func TestStoreWritesTakeTheForwardedRecordsTime(t *testing.T) {
	b := streams.NewBuilder()
	streams.AddSource(b, "src", streams.ConsumedWith(ss, ss), "in")
	streams.AddProcessor(b, "shift", streams.ProcessorSupplier[string, string, string, string](func() streams.Processor[string, string, string, string] {
		return &shiftProc{}
	}), "src")
	streams.AddProcessor(b, "mark", streams.ProcessorSupplier[string, string, string, string](func() streams.Processor[string, string, string, string] {
		return &punctStoreProc{}
	}), "shift")
	streams.AddStateStore(b, streams.NewKeyValueStoreBuilder("marks", ss, streams.Int64Serde()), "mark")
	d := driver(t, build(t, b), streamstest.WithStartTime(1000))
	must(t, streamstest.CreateInputTopic(d, "in", ss, ss).PipeInputAt("a", "x", 35))
	cl, err := streamstest.CreateOutputTopic(d, "streamstest-marks-changelog", ss, streams.BytesSerde()).ReadRecordsToList()
	must(t, err)
	var got []string
	for _, r := range cl {
		got = append(got, fmt.Sprintf("%s@%d", r.Key, r.Timestamp))
	}
	// a is forwarded at 35+1000; the stream-time punctuation at 35 forwards
	// tick at 7.
	if want := "[a@1035 tick@7]"; fmt.Sprint(got) != want {
		t.Fatalf("changelog %v, want %s", got, want)
	}
}

// shiftProc forwards each record 1000 ms later, and from a stream-time
// punctuation a record "tick" at 7.
type shiftProc struct {
	ctx streams.ProcessorContext[string, string]
}

func (p *shiftProc) Init(ctx streams.ProcessorContext[string, string]) error {
	p.ctx = ctx
	_, err := ctx.Schedule(time.Hour, streams.StreamTime, func(int64) error {
		return ctx.Forward(streams.NewRecord("tick", "t", 7))
	})
	return err
}

func (p *shiftProc) Process(r streams.Record[string, string]) error {
	return p.ctx.Forward(r.WithTimestamp(r.Timestamp + 1000))
}

func (p *shiftProc) Close() error { return nil }
