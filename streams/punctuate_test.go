package streams

import (
	"fmt"
	"log/slog"
	"testing"
	"time"
)

// punctTask builds a task whose one processor schedules, in Init, what
// sched asks; punctuators log "name@time" into the returned slice.
func punctTask(t *testing.T, sched func(ctx ProcessorContext[string, string], log func(name string) Punctuator) error) (*streamTask, *[]string) {
	t.Helper()
	ss := StringSerde()
	var fired []string
	logAs := func(name string) Punctuator {
		return func(ts int64) error { fired = append(fired, fmt.Sprintf("%s@%d", name, ts)); return nil }
	}
	b := NewBuilder()
	AddSource(b, "src", ConsumedWith(ss, ss), "in")
	AddProcessor(b, "proc", ProcessorSupplier[string, string, string, string](func() Processor[string, string, string, string] {
		return &initProc{init: func(ctx ProcessorContext[string, string]) error { return sched(ctx, logAs) }}
	}), "src")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	task, err := newStreamTask(topo, TaskID{}, []TopicPartition{{Topic: "in"}},
		taskConfig{ApplicationID: "app", Collector: &recordingCollector{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Close(false) })
	if err := task.Initialize(0); err != nil {
		t.Fatal(err)
	}
	return task, &fired
}

// TestPunctuationsFireInTheOrderTheyWereDue: when several punctuations are
// due at once, stream-time ones fire before wall-clock ones, and each kind
// in the order of the times they were due (Kafka Streams' punctuation
// queues), not in the order they were scheduled.
func TestPunctuationsFireInTheOrderTheyWereDue(t *testing.T) {
	task, fired := punctTask(t, func(ctx ProcessorContext[string, string], log func(string) Punctuator) error {
		for _, s := range []struct {
			name     string
			interval time.Duration
			typ      PunctuationType
		}{{"wall", 50 * time.Millisecond, WallClockTime}, {"ten", 10 * time.Millisecond, StreamTime}, {"three", 3 * time.Millisecond, StreamTime}} {
			if _, err := ctx.Schedule(s.interval, s.typ, log(s.name)); err != nil {
				return err
			}
		}
		return nil
	})
	step := func(ts, wall int64) {
		t.Helper()
		task.AddRecords(TopicPartition{Topic: "in"}, []RawRecord{raw("in", ts, ts, "v")})
		if ok, err := task.Process(wall); err != nil || !ok {
			t.Fatalf("process: %v %v", ok, err)
		}
		if _, err := task.Punctuate(wall); err != nil {
			t.Fatal(err)
		}
	}
	// At stream time 0 both stream-time punctuations are due at 0: in the
	// order they were scheduled. Then ten is due at 10, three at 3.
	step(0, 0)
	// At stream time 25 and wall-clock time 60: three (due at 3) before ten
	// (due at 10), then the wall-clock one.
	step(25, 60)
	want := "[ten@0 three@0 three@25 ten@25 wall@60]"
	if fmt.Sprint(*fired) != want {
		t.Errorf("fired %v, want %s", *fired, want)
	}
}

// initProc runs init in Init and drops every record.
type initProc struct {
	init func(ProcessorContext[string, string]) error
}

func (p *initProc) Init(ctx ProcessorContext[string, string]) error { return p.init(ctx) }
func (p *initProc) Process(Record[string, string]) error            { return nil }
func (p *initProc) Close() error                                    { return nil }
