// Command testapp is a small stream application for the streams package's
// process-level tests (kill -9 and restart): it copies every input record
// to one topic and counts records per key into another, then runs until it
// is signalled (SIGINT/SIGTERM close it cleanly; SIGKILL is the test).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/internal/appmain"
)

func main() {
	common := appmain.CommonFlags("testapp", 2, 100)
	in := flag.String("input", "testapp-in", "input topic")
	ids := flag.String("ids-output", "testapp-ids", "topic receiving a copy of every input record")
	counts := flag.String("counts-output", "testapp-counts", "topic receiving the count per key")
	inMemory := flag.Bool("in-memory", false, "keep the counts in memory (restored from the changelog on start)")
	instanceID := flag.String("instance-id", "", "group.instance.id (static membership: a restarted instance takes its place back at once)")
	guarantee := flag.String("processing-guarantee", "at_least_once", "processing.guarantee: at_least_once or exactly_once_v2")
	wordCount := flag.Bool("wordcount", false, "count the words of each input value (through a repartition topic) instead of the records per key")
	windowed := flag.Bool("windowed", false, "with --wordcount, also count the words per hour window (store wcounts) and per session of an hour's inactivity (store sessions)")
	flag.Parse()

	logger := appmain.Logger("TESTAPP_DEBUG")
	ss := streams.StringSerde()
	b := streams.NewBuilder()
	src := streams.NewStream(b, *in, streams.ConsumedWith(ss, ss))
	streams.MapValues(src, func(_, v string) string { return strings.ToUpper(v) }).To(*ids, streams.ProducedWith(ss, ss))
	m := streams.MaterializedAs[string, int64]("counts")
	if *inMemory {
		m = m.WithStoreType(streams.InMemoryStore)
	}
	if *wordCount {
		words := streams.FlatMapValues(src, func(_, line string) []string { return strings.Fields(line) })
		grouped := streams.GroupBy(words, func(_, w string) string { return w }, streams.GroupedWith(ss, ss))
		grouped.Count(m).ToStream().To(*counts, streams.ProducedWith(ss, streams.Int64Serde()))
		if *windowed {
			streams.WindowedBy(grouped, streams.TimeWindowsOfSizeAndGrace(time.Hour, time.Hour)).
				Count(streams.MaterializedAs[string, int64]("wcounts"))
			streams.WindowedBySession(grouped, streams.SessionWindowsOfInactivityGapAndGrace(time.Hour, time.Hour)).
				Count(streams.MaterializedAs[string, int64]("sessions"))
		}
	} else {
		src.GroupByKey().Count(m).ToStream().To(*counts, streams.ProducedWith(ss, streams.Int64Serde()))
	}
	topo, err := b.Build()
	if err != nil {
		fail(err)
	}
	props := common.Properties(streams.Properties{"processing.guarantee": *guarantee})
	if *instanceID != "" {
		props["consumer.group.instance.id"] = *instanceID
	}
	app, err := streams.New(topo, props, streams.WithLogger(logger))
	if err != nil {
		fail(err)
	}
	// Listen for signals before starting, so a stop during Start is clean.
	sig := appmain.Signals()
	appmain.Start("testapp", app, sig)
	fmt.Println("started")
	// SIGUSR1 prints the instance's state (the kill test's failure report).
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
wait:
	for {
		select {
		case <-usr1:
			printState(app)
		case <-sig:
			break wait
		case <-app.Done():
			fail(fmt.Errorf("application stopped: %v", app.Err()))
		}
	}
	appmain.Close("testapp", app)
}

// printState prints the app's state, its tasks and its metrics.
func printState(app *streams.App) {
	var b strings.Builder
	fmt.Fprintf(&b, "testapp: state %s\n", app.State())
	for _, ti := range app.Tasks() {
		fmt.Fprintf(&b, "testapp: task %s on %s: %s %v\n", ti.ID, ti.Thread, ti.State, ti.Partitions)
	}
	if mfs, err := app.Metrics().Gather(); err == nil {
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetName()+"="+l.GetValue())
				}
				var v float64
				switch {
				case m.Counter != nil:
					v = m.Counter.GetValue()
				case m.Gauge != nil:
					v = m.Gauge.GetValue()
				case m.Histogram != nil:
					v = float64(m.Histogram.GetSampleCount())
				default:
					continue
				}
				fmt.Fprintf(&b, "testapp: metric %s{%s} %g\n", mf.GetName(), strings.Join(labels, ","), v)
			}
		}
	}
	b.WriteString("testapp: end of state\n")
	fmt.Print(b.String())
}

func fail(err error) { appmain.Fail("testapp", err) }
