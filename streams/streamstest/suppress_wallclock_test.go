package streamstest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// wallCloseDriver counts per key in one-minute windows with 10s of grace,
// suppressed until the window closes, with or without wall-clock close
// after 10s of stream-time standstill.
func wallCloseDriver(t *testing.T, wallClose time.Duration) (*streamstest.Driver, *streamstest.InputTopic[string, string], *streamstest.OutputTopic[streams.Windowed[string], int64]) {
	t.Helper()
	s := streams.StringSerde()
	b := streams.NewBuilder()
	sup := streams.UntilWindowCloses(streams.Unbounded())
	if wallClose > 0 {
		sup = sup.WithWallClockClose(wallClose)
	}
	streams.WindowedBy(streams.NewStream(b, "in", streams.ConsumedWith(s, s)).GroupByKey(), streams.TimeWindowsOfSizeAndGrace(time.Minute, 10*time.Second)).
		Count().Suppress(sup).ToStream().To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d, err := streamstest.New(topo, streamstest.WithStartTime(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, streamstest.CreateInputTopic(d, "in", s, s), streamstest.CreateOutputTopic(d, "out", streams.TimeWindowedSerde(s, time.Minute), streams.Int64Serde())
}

func readWindows(t *testing.T, out *streamstest.OutputTopic[streams.Windowed[string], int64]) []string {
	t.Helper()
	rs, err := out.ReadRecordsToList()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%s@%d=%d", r.Key.Key, r.Key.Window.Start/1000, r.Value))
	}
	return got
}

func advance(t *testing.T, d *streamstest.Driver, by time.Duration) {
	t.Helper()
	if err := d.AdvanceWallClockTime(by); err != nil {
		t.Fatal(err)
	}
}

// Without the option, a partition whose records stop never closes its
// last window, however long the wall clock runs.
func TestSuppressUntilWindowClosesWaitsForStreamTimeByDefault(t *testing.T) {
	d, in, out := wallCloseDriver(t, 0)
	pipeOK(t, in.PipeInputAt("a", "x", 30_000))
	advance(t, d, time.Hour)
	if got := readWindows(t, out); len(got) != 0 {
		t.Fatalf("emitted without stream time reaching the window's close: %v", got)
	}
}

// With WithWallClockClose(10s): once stream time has stood still for 10s of
// wall-clock time it follows the wall clock, so the window [0s, 60s) with
// 10s of grace closes when the last record time (30s) plus the idle time
// reaches 70s: after 40s of wall-clock standstill. A record within grace
// that arrives afterwards updates the window, and the update is emitted
// too (the documented trade-off).
func TestSuppressUntilWindowClosesOnWallClock(t *testing.T) {
	d, in, out := wallCloseDriver(t, 10*time.Second)
	pipeOK(t, in.PipeInputAt("a", "x", 30_000))
	pipeOK(t, in.PipeInputAt("b", "x", 20_000))
	advance(t, d, 5*time.Second) // idle 5s: under the threshold
	advance(t, d, 10*time.Second)
	advance(t, d, 20*time.Second) // idle 35s: stream time taken as 65s < 70s
	if got := readWindows(t, out); len(got) != 0 {
		t.Fatalf("emitted before the window closed on the wall clock: %v", got)
	}
	// Records keep stream time from following the wall clock while they
	// advance it: a new record resets the standstill.
	pipeOK(t, in.PipeInputAt("a", "x", 31_000))
	advance(t, d, 30*time.Second) // idle 30s from 31s: 61s < 70s
	if got := readWindows(t, out); len(got) != 0 {
		t.Fatalf("emitted although stream time advanced: %v", got)
	}
	advance(t, d, 10*time.Second) // idle 40s from 31s: 71s >= 70s
	if got, want := fmt.Sprint(readWindows(t, out)), "[a@0=2 b@0=1]"; got != want {
		t.Fatalf("after the wall-clock close: got %s, want %s", got, want)
	}
	// Late but within the aggregation's grace (its stream time is 31s):
	// the updated window is emitted as soon as it arrives.
	pipeOK(t, in.PipeInputAt("a", "x", 40_000))
	if got, want := fmt.Sprint(readWindows(t, out)), "[a@0=3]"; got != want {
		t.Fatalf("late record after the wall-clock close: got %s, want %s", got, want)
	}
	// A window of later records still closes on stream time as usual.
	pipeOK(t, in.PipeInputAt("a", "x", 70_000))
	pipeOK(t, in.PipeInputAt("a", "x", 131_000))
	if got, want := fmt.Sprint(readWindows(t, out)), "[a@60=1]"; got != want {
		t.Fatalf("stream-time close: got %s, want %s", got, want)
	}
}

func TestSuppressWallClockCloseNeedsUntilWindowCloses(t *testing.T) {
	s := streams.StringSerde()
	b := streams.NewBuilder()
	streams.NewStream(b, "in", streams.ConsumedWith(s, s)).GroupByKey().Count().
		Suppress(streams.UntilTimeLimit(time.Second, streams.Unbounded()).WithWallClockClose(time.Second)).ToStream().To("out")
	if _, err := b.Build(); err == nil {
		t.Fatal("WithWallClockClose on UntilTimeLimit was accepted")
	}
}

func pipeOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
