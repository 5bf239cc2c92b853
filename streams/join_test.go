package streams_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
	"github.com/rivulet-io/rivulet/topology"
)

func concat(_ string, a, b string) string { return a + "+" + b }

func readAll(t *testing.T, o *streamstest.OutputTopic[string, string]) string {
	t.Helper()
	return readTimed(t, o, ":")
}

// readTimed reads o and writes its records as key, sep, value (null for a
// tombstone's) and @timestamp, separated by spaces.
func readTimed(t *testing.T, o *streamstest.OutputTopic[string, string], sep string) string {
	t.Helper()
	return renderOut(t, o, func(r streamstest.TestRecord[string, string]) string {
		v := r.Value
		if r.ValueNull {
			v = "null"
		}
		return fmt.Sprintf("%s%s%s@%d", r.Key, sep, v, r.Timestamp)
	})
}

// TestJoinsRequireCopartitioning checks that every kind of join declares
// its inputs co-partitioned: starting with different partition counts
// fails with an error naming both topics and their counts.
func TestJoinsRequireCopartitioning(t *testing.T) {
	w := streams.JoinWindowsOfTimeDifferenceWithNoGrace(5 * msec)
	joins := map[string]func(b *streams.Builder){
		"stream-stream": func(b *streams.Builder) {
			l := streams.NewStream(b, "left", streams.ConsumedWith(ss, ss))
			r := streams.NewStream(b, "right", streams.ConsumedWith(ss, ss))
			streams.Join(l, r, concat, w).To("out")
		},
		"stream-table": func(b *streams.Builder) {
			l := streams.NewStream(b, "left", streams.ConsumedWith(ss, ss))
			r := streams.NewTable(b, "right", streams.ConsumedWith(ss, ss))
			streams.JoinWithTable(l, r, concat).To("out")
		},
		"table-table": func(b *streams.Builder) {
			l := streams.NewTable(b, "left", streams.ConsumedWith(ss, ss))
			r := streams.NewTable(b, "right", streams.ConsumedWith(ss, ss))
			streams.JoinTables(l, r, concat).ToStream().To("out")
		},
	}
	for name, add := range joins {
		t.Run(name, func(t *testing.T) {
			b := streams.NewBuilder()
			add(b)
			topo := build(t, b)
			_, err := topo.Graph().ResolvePartitions("app", map[string]int32{"left": 2, "right": 3, "out": 1})
			var ce *topology.CopartitionError
			if !errors.As(err, &ce) || !errors.Is(err, topology.ErrNotCopartitioned) {
				t.Fatalf("resolve: %v, want a CopartitionError", err)
			}
			for _, s := range []string{"left (2 partitions)", "right (3 partitions)"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
			if _, err := topo.Graph().ResolvePartitions("app", map[string]int32{"left": 3, "right": 3, "out": 1}); err != nil {
				t.Errorf("co-partitioned inputs: %v", err)
			}
		})
	}
}

// TestJoinRepartitionsAfterKeyChange: a join after a key-changing
// operation reads the changed stream back through a repartition topic,
// which is co-partitioned with the other side.
func TestJoinRepartitionsAfterKeyChange(t *testing.T) {
	b := streams.NewBuilder()
	l := streams.NewStream(b, "left", streams.ConsumedWith(ss, ss))
	rekeyed := streams.SelectKey(l, func(_, v string) string { return strings.SplitN(v, ":", 2)[0] })
	r := streams.NewTable(b, "right", streams.ConsumedWith(ss, ss))
	streams.JoinWithTable(rekeyed, r, concat, streams.JoinedWith(ss, ss, ss).WithName("enrich")).To("out")
	topo := build(t, b)
	desc := topo.Describe().String()
	if !strings.Contains(desc, "enrich-repartition") {
		t.Fatalf("no repartition topic before the join:\n%s", desc)
	}
	counts, err := topo.Graph().ResolvePartitions("app", map[string]int32{"left": 4, "right": 2, "out": 1})
	must(t, err)
	if counts["app-enrich-repartition"] != 2 {
		t.Errorf("repartition topic gets %d partitions, want the table's 2", counts["app-enrich-repartition"])
	}
	d := driver(t, topo)
	lin := streamstest.CreateInputTopic(d, "left", ss, ss)
	rin := streamstest.CreateInputTopic(d, "right", ss, ss)
	must(t, rin.PipeInputAt("u1", "alice", 1))
	must(t, lin.PipeInputAt("e1", "u1:click", 2))
	must(t, lin.PipeInputAt("e2", "u2:click", 3))
	if got := readAll(t, streamstest.CreateOutputTopic(d, "out", ss, ss)); got != "u1:u1:click+alice@2" {
		t.Errorf("joined %q", got)
	}
}

// TestStreamStreamJoinAsymmetricWindows: Before and After bound how far
// right records may be from a left record, on each side.
func TestStreamStreamJoinAsymmetricWindows(t *testing.T) {
	b := streams.NewBuilder()
	l := streams.NewStream(b, "left", streams.ConsumedWith(ss, ss))
	r := streams.NewStream(b, "right", streams.ConsumedWith(ss, ss))
	// Right records may be 0..5 after the left one.
	w := streams.JoinWindowsOfTimeDifferenceWithNoGrace(0).After(5 * msec)
	streams.Join(l, r, concat, w).To("out")
	d := driver(t, build(t, b))
	lin := streamstest.CreateInputTopic(d, "left", ss, ss)
	rin := streamstest.CreateInputTopic(d, "right", ss, ss)
	must(t, lin.PipeInputAt("k", "L10", 10))
	must(t, rin.PipeInputAt("k", "R9", 9))   // before: no
	must(t, rin.PipeInputAt("k", "R10", 10)) // yes
	must(t, rin.PipeInputAt("k", "R15", 15)) // yes
	must(t, rin.PipeInputAt("k", "R16", 16)) // after 5: no
	must(t, lin.PipeInputAt("k", "L12", 12)) // sees R15, R16 (out of order)
	if got, want := readAll(t, streamstest.CreateOutputTopic(d, "out", ss, ss)), "k:L10+R10@10 k:L10+R15@15 k:L12+R15@15 k:L12+R16@16"; got != want {
		t.Errorf("joined %q\nwant %q", got, want)
	}
}

// TestStreamStreamJoinNullKeys: KIP-962: a left (outer: either) record with
// a null key joins nothing but is a result at once; the inner join drops
// it and counts it.
func TestStreamStreamJoinNullKeys(t *testing.T) {
	b := streams.NewBuilder()
	l := streams.NewStream(b, "left", streams.ConsumedWith(ss, ss))
	r := streams.NewStream(b, "right", streams.ConsumedWith(ss, ss))
	w := streams.JoinWindowsOfTimeDifferenceWithNoGrace(5 * msec)
	streams.Join(l, r, concat, w).To("inner")
	streams.LeftJoin(l, r, func(_, a string, b *string) string { return fmt.Sprintf("%s+%v", a, b) }, w).To("left-out")
	streams.OuterJoin(l, r, func(_ string, a, b *string) string { return fmt.Sprintf("%v+%v", a != nil, b != nil) }, w).To("outer")
	d := driver(t, build(t, b))
	lin := streamstest.CreateInputTopic(d, "left", ss, ss)
	rin := streamstest.CreateInputTopic(d, "right", ss, ss)
	must(t, lin.PipeRecord(streamstest.TestRecord[string, string]{KeyNull: true, Value: "A", Timestamp: 1}))
	must(t, rin.PipeRecord(streamstest.TestRecord[string, string]{KeyNull: true, Value: "a", Timestamp: 2}))
	inner := streamstest.CreateOutputTopic(d, "inner", ss, ss)
	left := streamstest.CreateOutputTopic(d, "left-out", ss, ss)
	outer := streamstest.CreateOutputTopic(d, "outer", ss, ss)
	if inner.QueueSize() != 0 {
		t.Errorf("inner join emitted %d records for null keys", inner.QueueSize())
	}
	lr, err := left.ReadRecordsToList()
	must(t, err)
	if len(lr) != 1 || !lr[0].KeyNull || lr[0].Value != "A+<nil>" || lr[0].Timestamp != 1 {
		t.Errorf("left join results %+v, want one null-key A+<nil>@1", lr)
	}
	or, err := outer.ReadRecordsToList()
	must(t, err)
	if len(or) != 2 || or[0].Value != "true+false" || or[1].Value != "false+true" {
		t.Errorf("outer join results %+v", or)
	}
	// inner: 2 dropped; left: the right record dropped.
	if n := d.Stats().DroppedRecords.Load(); n != 3 {
		t.Errorf("dropped records %d, want 3", n)
	}
}

// TestTableJoinResultsChain joins a stream with the result of a table-table
// join, unmaterialized (its values are looked up through both sides'
// stores) and materialized (through its own store).
func TestTableJoinResultsChain(t *testing.T) {
	for _, mat := range []bool{false, true} {
		t.Run(fmt.Sprintf("materialized=%v", mat), func(t *testing.T) {
			b := streams.NewBuilder()
			users := streams.NewTable(b, "users", streams.ConsumedWith(ss, ss))
			regions := streams.NewTable(b, "regions", streams.ConsumedWith(ss, ss))
			var opts []streams.TableOpOption
			if mat {
				opts = append(opts, streams.MaterializedAs[string, string]("profile"))
			}
			profiles := streams.LeftJoinTables(users, regions, func(_, u string, r *string) string {
				if r == nil {
					return u + "@?"
				}
				return u + "@" + *r
			}, opts...)
			clicks := streams.NewStream(b, "clicks", streams.ConsumedWith(ss, ss))
			streams.JoinWithTable(clicks, profiles, concat).To("out")
			topo := build(t, b)
			if mat && profiles.StoreName() != "profile" {
				t.Errorf("store name %q", profiles.StoreName())
			}
			d := driver(t, topo)
			u := streamstest.CreateInputTopic(d, "users", ss, ss)
			r := streamstest.CreateInputTopic(d, "regions", ss, ss)
			c := streamstest.CreateInputTopic(d, "clicks", ss, ss)
			must(t, u.PipeInputAt("k", "ann", 1))
			must(t, c.PipeInputAt("k", "c1", 2))
			must(t, r.PipeInputAt("k", "eu", 3))
			must(t, c.PipeInputAt("k", "c2", 4))
			must(t, u.PipeTombstone("k"))
			must(t, c.PipeInputAt("k", "c3", 6))
			if got, want := readAll(t, streamstest.CreateOutputTopic(d, "out", ss, ss)), "k:c1+ann@?@2 k:c2+ann@eu@4"; got != want {
				t.Errorf("joined %q\nwant %q", got, want)
			}
		})
	}
}

// TestTableJoinOptionsMustFit: a Materialized of other types is an error.
func TestTableJoinOptionsMustFit(t *testing.T) {
	b := streams.NewBuilder()
	l := streams.NewTable(b, "l", streams.ConsumedWith(ss, ss))
	r := streams.NewTable(b, "r", streams.ConsumedWith(ss, ss))
	streams.JoinTables(l, r, concat, streams.MaterializedAs[string, int64]("x"))
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "does not fit a join result") {
		t.Fatalf("build: %v", err)
	}
	b = streams.NewBuilder()
	s := streams.NewStream(b, "s", streams.ConsumedWith(ss, ss))
	unmaterialized := streams.NewStream(b, "t", streams.ConsumedWith(ss, ss)).GroupByKey().Count().Suppress(streams.UntilTimeLimit(0, streams.Unbounded()))
	streams.JoinWithTable(s, unmaterialized, func(_, a string, n int64) string { return a })
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "no store to look values up in") {
		t.Fatalf("build: %v", err)
	}
}

// KIP-962 through a repartition topic: a stream whose key may have changed (here after a
// custom processor) is repartitioned before a left join, and a record with a null key
// still reaches the join and is a result, as in Kafka Streams; the inner join drops it.
func TestLeftJoinNullKeysThroughARepartitionTopic(t *testing.T) {
	b := streams.NewBuilder()
	passed := streams.Process(streams.NewStream(b, "in", streams.ConsumedWith(ss, ss)),
		streams.ProcessorFunc(func(ctx streams.ProcessorContext[string, string], r streams.Record[string, string]) error {
			return ctx.Forward(r)
		}))
	tbl := streams.NewTable(b, "t", streams.ConsumedWith(ss, ss))
	streams.LeftJoinWithTable(passed, tbl, func(_, v string, tv *string) string { return fmt.Sprintf("%s+%v", v, tv) }).To("left-out")
	streams.JoinWithTable(passed, tbl, concat).To("inner-out")
	other := streams.NewStream(b, "other", streams.ConsumedWith(ss, ss))
	w := streams.JoinWindowsOfTimeDifferenceWithNoGrace(5 * msec)
	streams.LeftJoin(passed, other, func(_, a string, o *string) string { return fmt.Sprintf("%s+%v", a, o) }, w).To("ss-left-out")
	d := driver(t, build(t, b))
	must(t, streamstest.CreateInputTopic(d, "in", ss, ss).PipeRecord(streamstest.TestRecord[string, string]{KeyNull: true, Value: "A", Timestamp: 1}))
	for _, tc := range []struct{ topic, want string }{{"left-out", "A+<nil>"}, {"ss-left-out", "A+<nil>"}} {
		got, err := streamstest.CreateOutputTopic(d, tc.topic, ss, ss).ReadRecordsToList()
		must(t, err)
		if len(got) != 1 || !got[0].KeyNull || got[0].Value != tc.want {
			t.Errorf("%s: %+v, want one null-key %s", tc.topic, got, tc.want)
		}
	}
	if n := streamstest.CreateOutputTopic(d, "inner-out", ss, ss).QueueSize(); n != 0 {
		t.Errorf("inner join emitted %d records for a null key", n)
	}
}

// A repartition topic keeps null keys when a left or outer join lies anywhere downstream
// of it, an explicit Repartition or one a grouping adds alike, and drops them otherwise, as
// Kafka Streams decides when it builds the topology.
func TestRepartitionKeepsNullKeysOnlyForAJoinDownstream(t *testing.T) {
	b := streams.NewBuilder()
	pass := streams.ProcessorFunc(func(ctx streams.ProcessorContext[string, string], r streams.Record[string, string]) error {
		return ctx.Forward(r)
	})
	in := streams.Process(streams.NewStream(b, "in", streams.ConsumedWith(ss, ss)), pass)
	rekeyed := in.Repartition(streams.RepartitionedAs[string, string]("explicit"))
	tbl := streams.NewTable(b, "t", streams.ConsumedWith(ss, ss))
	mapped := streams.MapValues(rekeyed, func(_, v string) string { return v + "!" })
	streams.LeftJoinWithTable(mapped, tbl, func(_, v string, tv *string) string { return fmt.Sprintf("%s+%v", v, tv) }).To("left-out")
	// A second repartition, with no join downstream, keeps dropping null keys.
	streams.Process(in.Repartition(streams.RepartitionedAs[string, string]("counted")), pass).To("counted-out")
	d := driver(t, build(t, b))
	src := streamstest.CreateInputTopic(d, "in", ss, ss)
	must(t, src.PipeRecord(streamstest.TestRecord[string, string]{KeyNull: true, Value: "A", Timestamp: 1}))
	must(t, src.PipeRecord(streamstest.TestRecord[string, string]{Key: "k", Value: "B", Timestamp: 2}))
	got, err := streamstest.CreateOutputTopic(d, "left-out", ss, ss).ReadRecordsToList()
	must(t, err)
	if len(got) != 2 || !got[0].KeyNull || got[0].Value != "A!+<nil>" || got[1].Value != "B!+<nil>" {
		t.Errorf("left join after an explicit repartition: %+v, want a null-key A!+<nil> then B!+<nil>", got)
	}
	counted, err := streamstest.CreateOutputTopic(d, "counted-out", ss, ss).ReadRecordsToList()
	must(t, err)
	if len(counted) != 1 || counted[0].Value != "B" {
		t.Errorf("repartition without a join downstream: %+v, want only B", counted)
	}
}
