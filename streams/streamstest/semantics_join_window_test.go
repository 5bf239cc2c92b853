package streamstest_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// TestJoinAndWindowSemantics runs the scripted join and window tests in
// testdata/: the join-semantics tables of the Kafka Streams developer
// guide (stream-stream, stream-table, table-table, foreign-key) and the
// window edge cases (hopping overlap, sliding windows, session merging,
// grace expiry, suppression). Each input command prints what every output
// of the topology received because of it. Refresh the expected output
// with: go test ./streams/streamstest -run TestJoinAndWindowSemantics -rewrite
func TestJoinAndWindowSemantics(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		e := &semEnv{}
		defer e.close(t)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return e.handle(t, d)
		})
	})
}

var str = streams.StringSerde()

// output is a topic of the topology under test, read after every input.
type output struct {
	label string
	read  func() ([]string, error)
}

type semEnv struct {
	d       *streamstest.Driver
	inputs  map[string]*streamstest.InputTopic[string, string]
	outputs []output
}

func (e *semEnv) close(t *testing.T) {
	if e.d != nil {
		if err := e.d.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		e.d = nil
	}
}

func intArg(t *testing.T, d *datadriven.TestData, key string, def int64) int64 {
	if !d.HasArg(key) {
		return def
	}
	var s string
	d.ScanArgs(t, key, &s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		d.Fatalf(t, "%s: %v", key, err)
	}
	return n
}

func strArg(t *testing.T, d *datadriven.TestData, key, def string) string {
	if !d.HasArg(key) {
		return def
	}
	var s string
	d.ScanArgs(t, key, &s)
	return s
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

func show(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

// plainOutput reads string records; a key other than "k" is printed.
func plainOutput(d *streamstest.Driver, topic, label string) output {
	o := streamstest.CreateOutputTopic(d, topic, str, str)
	return output{label: label, read: func() ([]string, error) {
		recs, err := o.ReadRecordsToList()
		var out []string
		for _, r := range recs {
			v := r.Value
			if r.ValueNull {
				v = "null"
			}
			k := ""
			switch {
			case r.KeyNull:
				k = "<null key> "
			case r.Key != "k":
				k = r.Key + ": "
			}
			out = append(out, fmt.Sprintf("%s%s@%d", k, v, r.Timestamp))
		}
		return out, err
	}}
}

// windowedOutput reads windowed counts.
func windowedOutput(d *streamstest.Driver, topic, label string, ks streams.Serde[streams.Windowed[string]]) output {
	o := streamstest.CreateOutputTopic(d, topic, ks, streams.Int64Serde())
	return output{label: label, read: func() ([]string, error) {
		recs, err := o.ReadRecordsToList()
		var out []string
		for _, r := range recs {
			v := strconv.FormatInt(r.Value, 10)
			if r.ValueNull {
				v = "null"
			}
			out = append(out, fmt.Sprintf("%s=%s@%d", r.Key, v, r.Timestamp))
		}
		return out, err
	}}
}

func (e *semEnv) start(t *testing.T, b *streams.Builder, inputs ...string) {
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if e.d, err = streamstest.New(topo); err != nil {
		t.Fatal(err)
	}
	e.inputs = map[string]*streamstest.InputTopic[string, string]{}
	for _, in := range inputs {
		e.inputs[in] = streamstest.CreateInputTopic(e.d, in, str, str)
	}
}

func (e *semEnv) handle(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "stream-stream":
		return e.streamStream(t, d)
	case "stream-table":
		return e.streamTable(t, d)
	case "table-table":
		return e.tableTable(t, d)
	case "foreign-key":
		return e.foreignKey(t, d)
	case "stream-global":
		return e.streamGlobal(t, d)
	case "windowed":
		return e.windowed(t, d)
	case "cogroup":
		return e.cogroup(t, d)
	case "stats":
		return fmt.Sprintf("dropped-records: %d", e.d.Stats().DroppedRecords.Load())
	default:
		if _, ok := e.inputs[d.Cmd]; ok {
			return e.pipe(t, d)
		}
		d.Fatalf(t, "unknown command %q", d.Cmd)
		return ""
	}
}

// pipe pipes one record: ts=, k= (default "k"; "null" for a null key),
// v= ("null" for a null value, a tombstone).
func (e *semEnv) pipe(t *testing.T, d *datadriven.TestData) string {
	rec := streamstest.TestRecord[string, string]{Timestamp: intArg(t, d, "ts", 0), Key: strArg(t, d, "k", "k"), Value: strArg(t, d, "v", "null")}
	if rec.Key == "null" {
		rec.KeyNull, rec.Key = true, ""
	}
	if rec.Value == "null" {
		rec.ValueNull, rec.Value = true, ""
	}
	if err := e.inputs[d.Cmd].PipeRecord(rec); err != nil {
		return "error: " + err.Error()
	}
	var sb strings.Builder
	for _, o := range e.outputs {
		recs, err := o.read()
		if err != nil {
			return "error: " + err.Error()
		}
		if len(o.label) > 0 {
			fmt.Fprintf(&sb, "%s: %s\n", o.label, strings.Join(recs, ", "))
		} else if len(recs) > 0 {
			fmt.Fprintf(&sb, "%s\n", strings.Join(recs, "\n"))
		}
	}
	return sb.String()
}

// The joiners of the join commands: [left, right], with <nil> for a
// missing side.
func joinBoth(_, a, b string) string          { return "[" + a + ", " + b + "]" }
func joinLeft(_, a string, b *string) string  { return "[" + a + ", " + show(b) + "]" }
func joinOuter(_ string, a, b *string) string { return "[" + show(a) + ", " + show(b) + "]" }

// startJoins starts b's topology, which reads "left" and "right" and
// writes the inner join to "inner", the left join to "leftjoin" and, with
// outer, the outer join to "outer"; the joins' outputs are what the
// commands show.
func (e *semEnv) startJoins(t *testing.T, b *streams.Builder, outer bool) string {
	e.start(t, b, "left", "right")
	e.outputs = []output{plainOutput(e.d, "inner", "inner"), plainOutput(e.d, "leftjoin", "left ")}
	if outer {
		e.outputs = append(e.outputs, plainOutput(e.d, "outer", "outer"))
	}
	return ""
}

// streamStream builds inner, left and outer stream-stream joins of the
// streams "left" and "right": diff= (ms, both sides), before=, after=,
// grace=.
func (e *semEnv) streamStream(t *testing.T, d *datadriven.TestData) string {
	w := streams.JoinWindowsOfTimeDifferenceAndGrace(ms(intArg(t, d, "diff", 10)), ms(intArg(t, d, "grace", 0)))
	if d.HasArg("before") {
		w = w.Before(ms(intArg(t, d, "before", 0)))
	}
	if d.HasArg("after") {
		w = w.After(ms(intArg(t, d, "after", 0)))
	}
	b := streams.NewBuilder()
	l := streams.NewStream(b, "left", streams.ConsumedWith(str, str))
	r := streams.NewStream(b, "right", streams.ConsumedWith(str, str))
	streams.Join(l, r, joinBoth, w).To("inner")
	streams.LeftJoin(l, r, joinLeft, w).To("leftjoin")
	streams.OuterJoin(l, r, joinOuter, w).To("outer")
	return e.startJoins(t, b, true)
}

// streamTable builds inner and left joins of stream "left" with table
// "right"; with history= the table is versioned (that much history, ms),
// and grace= holds stream records back that long.
func (e *semEnv) streamTable(t *testing.T, d *datadriven.TestData) string {
	b := streams.NewBuilder()
	l := streams.NewStream(b, "left", streams.ConsumedWith(str, str))
	var r *streams.Table[string, string]
	if d.HasArg("history") {
		r = streams.NewTable(b, "right", streams.ConsumedWith(str, str),
			streams.MaterializedAs[string, string]("right-store").WithVersioning(ms(intArg(t, d, "history", 0))))
	} else {
		r = streams.NewTable(b, "right", streams.ConsumedWith(str, str))
	}
	j := func(name string) streams.Joined[string, string, string] {
		return streams.JoinedWith(str, str, str).WithName(name).WithGracePeriod(ms(intArg(t, d, "grace", 0)))
	}
	streams.JoinWithTable(l, r, joinBoth, j("inner-join")).To("inner")
	streams.LeftJoinWithTable(l, r, joinLeft, j("left-join")).To("leftjoin")
	return e.startJoins(t, b, false)
}

// streamGlobal builds inner and left joins of stream "left" with the
// global table "right", looked up by the record's value's first field
// ("x" of "x:payload").
func (e *semEnv) streamGlobal(t *testing.T, _ *datadriven.TestData) string {
	b := streams.NewBuilder()
	l := streams.NewStream(b, "left", streams.ConsumedWith(str, str))
	g := streams.NewGlobalTable(b, "right", streams.ConsumedWith(str, str))
	sel := func(_, v string) string { k, _, _ := strings.Cut(v, ":"); return k }
	streams.JoinWithGlobalTable(l, g, sel, joinBoth).To("inner")
	streams.LeftJoinWithGlobalTable(l, g, sel, joinLeft).To("leftjoin")
	return e.startJoins(t, b, false)
}

// tableTable builds inner, left and outer joins of tables "left" and
// "right".
func (e *semEnv) tableTable(t *testing.T, _ *datadriven.TestData) string {
	b := streams.NewBuilder()
	l := streams.NewTable(b, "left", streams.ConsumedWith(str, str))
	r := streams.NewTable(b, "right", streams.ConsumedWith(str, str))
	streams.JoinTables(l, r, joinBoth).ToStream().To("inner")
	streams.LeftJoinTables(l, r, joinLeft).ToStream().To("leftjoin")
	streams.OuterJoinTables(l, r, joinOuter).ToStream().To("outer")
	return e.startJoins(t, b, true)
}

// foreignKey builds inner and left foreign-key joins of table "left"
// (whose value is the foreign key) with table "right".
func (e *semEnv) foreignKey(t *testing.T, _ *datadriven.TestData) string {
	b := streams.NewBuilder()
	l := streams.NewTable(b, "left", streams.ConsumedWith(str, str))
	r := streams.NewTable(b, "right", streams.ConsumedWith(str, str))
	fk := func(_, v string) (string, bool) { return v, v != "" }
	streams.JoinForeignKey(l, r, fk, func(k, a, b string) string { return "(" + k + "," + a + "," + b + ")" }).ToStream().To("inner")
	streams.LeftJoinForeignKey(l, r, fk, func(k, a string, b *string) string { return "(" + k + "," + a + "," + show(b) + ")" }).ToStream().To("leftjoin")
	return e.startJoins(t, b, false)
}

// windowed builds a windowed count of stream "in" (by key): kind=tumbling
// size=; kind=hopping size= advance=; kind=sliding diff=; kind=session
// gap=; all with grace=, and with suppress (final results) when given.
func (e *semEnv) windowed(t *testing.T, d *datadriven.TestData) string {
	b := streams.NewBuilder()
	in := streams.NewStream(b, "in", streams.ConsumedWith(str, str))
	g := in.GroupByKey()
	grace := ms(intArg(t, d, "grace", 0))
	emit := streams.EmitOnWindowUpdate
	if strArg(t, d, "emit", "update") == "close" {
		emit = streams.EmitOnWindowClose
	}
	var counts *streams.Table[streams.Windowed[string], int64]
	var ks streams.Serde[streams.Windowed[string]]
	switch kind := strArg(t, d, "kind", "tumbling"); kind {
	case "tumbling", "hopping":
		size := ms(intArg(t, d, "size", 10))
		w := streams.TimeWindowsOfSizeAndGrace(size, grace)
		if kind == "hopping" {
			w = w.AdvanceBy(ms(intArg(t, d, "advance", 5)))
		}
		counts = streams.WindowedBy(g, w).EmitStrategy(emit).Count(streams.MaterializedAs[string, int64]("counts"))
		ks = streams.TimeWindowedSerde(str, size)
	case "sliding":
		diff := ms(intArg(t, d, "diff", 10))
		counts = streams.WindowedBy(g, streams.SlidingWindowsOfTimeDifferenceAndGrace(diff, grace)).EmitStrategy(emit).Count(streams.MaterializedAs[string, int64]("counts"))
		ks = streams.TimeWindowedSerde(str, diff)
	case "session":
		counts = streams.WindowedBySession(g, streams.SessionWindowsOfInactivityGapAndGrace(ms(intArg(t, d, "gap", 10)), grace)).EmitStrategy(emit).Count(streams.MaterializedAs[string, int64]("counts"))
		ks = streams.SessionWindowedSerde(str)
	default:
		d.Fatalf(t, "unknown window kind %q", kind)
	}
	if d.HasArg("suppress") {
		buf := streams.Unbounded()
		if n := intArg(t, d, "maxrecords", 0); n > 0 {
			buf = streams.MaxRecords(n)
			if d.HasArg("shutdown") {
				buf = buf.ShutDownWhenFull()
			}
		}
		var s streams.Suppressed
		if lim := intArg(t, d, "timelimit", -1); lim >= 0 {
			s = streams.UntilTimeLimit(ms(lim), buf)
		} else {
			s = streams.UntilWindowCloses(buf)
		}
		counts = counts.Suppress(s.WithName("final"))
	}
	counts.ToStream().To("out", streams.ProducedWith(ks, streams.Int64Serde()))
	e.start(t, b, "in")
	e.outputs = []output{windowedOutput(e.d, "out", "", ks)}
	return ""
}

// cogroup builds a cogrouped aggregation of the streams "left" and "right"
// (KIP-150): the aggregate is a string that each left record extends with
// "L<value>" and each right record with "R<value>"; kind= none (default),
// tumbling (size=, grace=) or session (gap=, grace=; merging joins the two
// aggregates with "+").
func (e *semEnv) cogroup(t *testing.T, d *datadriven.TestData) string {
	b := streams.NewBuilder()
	l := streams.NewStream(b, "left", streams.ConsumedWith(str, str)).GroupByKey()
	r := streams.NewStream(b, "right", streams.ConsumedWith(str, str)).GroupByKey()
	c := streams.CogroupWith(streams.Cogroup(l, func(_, v, agg string) string { return agg + "L" + v }), r,
		func(_, v, agg string) string { return agg + "R" + v })
	init := func() string { return "" }
	m := streams.MaterializedAs[string, string]("agg").WithCachingDisabled()
	grace := ms(intArg(t, d, "grace", 0))
	var ks streams.Serde[streams.Windowed[string]]
	switch kind := strArg(t, d, "kind", "none"); kind {
	case "none":
		c.Aggregate(init, m).ToStream().To("out")
	case "tumbling":
		size := ms(intArg(t, d, "size", 10))
		ks = streams.TimeWindowedSerde(str, size)
		c.WindowedBy(streams.TimeWindowsOfSizeAndGrace(size, grace)).Aggregate(init, m).
			ToStream().To("out", streams.ProducedWith(ks, str))
	case "session":
		ks = streams.SessionWindowedSerde(str)
		c.WindowedBySession(streams.SessionWindowsOfInactivityGapAndGrace(ms(intArg(t, d, "gap", 10)), grace)).
			Aggregate(init, func(_, a, b string) string { return a + "+" + b }, m).
			ToStream().To("out", streams.ProducedWith(ks, str))
	default:
		d.Fatalf(t, "unknown kind %q", kind)
	}
	e.start(t, b, "left", "right")
	if ks == nil {
		e.outputs = []output{plainOutput(e.d, "out", "")}
	} else {
		e.outputs = []output{windowedStringOutput(e.d, "out", ks)}
	}
	return ""
}

// windowedStringOutput reads windowed string results as "[k@start/end]=v@ts".
func windowedStringOutput(d *streamstest.Driver, topic string, ks streams.Serde[streams.Windowed[string]]) output {
	o := streamstest.CreateOutputTopic(d, topic, ks, str)
	return output{read: func() ([]string, error) {
		recs, err := o.ReadRecordsToList()
		var out []string
		for _, r := range recs {
			v := r.Value
			if r.ValueNull {
				v = "null"
			}
			out = append(out, fmt.Sprintf("[%s@%d/%d]=%s@%d", r.Key.Key, r.Key.Window.Start, r.Key.Window.End, v, r.Timestamp))
		}
		return out, err
	}}
}
