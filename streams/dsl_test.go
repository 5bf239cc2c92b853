package streams_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func build(t testing.TB, b *streams.Builder) *streams.Topology {
	t.Helper()
	topo, err := b.Build()
	must(t, err)
	return topo
}

func driver(t testing.TB, topo *streams.Topology, opts ...streamstest.Option) *streamstest.Driver {
	t.Helper()
	d, err := streamstest.New(topo, opts...)
	must(t, err)
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return d
}

var ss = streams.StringSerde()

// renderOut reads every record left in o, renders each with render and
// joins them with spaces.
func renderOut[K, V any](t testing.TB, o *streamstest.OutputTopic[K, V], render func(streamstest.TestRecord[K, V]) string) string {
	t.Helper()
	recs, err := o.ReadRecordsToList()
	must(t, err)
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, render(r))
	}
	return strings.Join(out, " ")
}

// lookup returns key's value in the string store named store, or missing
// when the store has none.
func lookup(p streams.StoreProvider, store, key, missing string) (string, error) {
	st, err := streams.GetKeyValueStore[string, string](p, store)
	if err != nil {
		return "", err
	}
	v, ok, err := st.Get(key)
	if err != nil || !ok {
		return missing, err
	}
	return v, nil
}

// readKeyValues reads every record left in the string topic topic as
// keyValues writes them, with null for a tombstone's value.
func readKeyValues(t testing.TB, d *streamstest.Driver, topic string) []string {
	t.Helper()
	recs, err := streamstest.CreateOutputTopic(d, topic, ss, ss).ReadRecordsToList()
	must(t, err)
	return keyValues(recs, "null")
}

// keyValues writes each record as key=value, with null in place of a
// tombstone's value.
func keyValues(recs []streamstest.TestRecord[string, string], null string) []string {
	var out []string
	for _, r := range recs {
		if r.ValueNull {
			out = append(out, r.Key+"="+null)
		} else {
			out = append(out, r.Key+"="+r.Value)
		}
	}
	return out
}

// wordCountTopology is Kafka Streams' WordCountDemo.
func wordCountTopology(b *streams.Builder, in, out string, store string) {
	countWords(streams.NewStream(b, in, streams.ConsumedWith(ss, ss)), out, store)
}

// buildWordCount builds wordCountTopology from in to out with its store
// "counts".
func buildWordCount(t testing.TB, in, out string) *streams.Topology {
	t.Helper()
	b := streams.NewBuilder()
	wordCountTopology(b, in, out, "counts")
	return build(t, b)
}

// countWords counts the words of lines into out (WordCountDemo after its
// source); store names the count store ("" leaves it generated).
func countWords(lines *streams.Stream[string, string], out, store string) {
	words := streams.FlatMapValues(lines, func(_ string, line string) []string {
		return strings.FieldsFunc(strings.ToLower(line), func(r rune) bool { return !(r >= 'a' && r <= 'z') })
	})
	grouped := streams.GroupBy(words, func(_, word string) string { return word }, streams.GroupedWith(ss, ss))
	var m []streams.Materialized[string, int64]
	if store != "" {
		m = append(m, streams.MaterializedAs[string, int64](store))
	}
	grouped.Count(m...).ToStream().To(out, streams.ProducedWith(ss, streams.Int64Serde()))
}

func TestWordCountDescribeMatchesKafkaStreams(t *testing.T) {
	b := streams.NewBuilder()
	wordCountTopology(b, "streams-plaintext-input", "streams-wordcount-output", "counts-store")
	topo := build(t, b)
	if got, want := topo.Describe().String(), testutil.WordCountDescription; got != want {
		t.Fatalf("describe:\n%s\nwant:\n%s", got, want)
	}
}

func TestWordCount(t *testing.T) {
	d := driver(t, buildWordCount(t, "in", "out"))
	in := streamstest.CreateInputTopic(d, "in", ss, ss)
	out := streamstest.CreateOutputTopic(d, "out", ss, streams.Int64Serde())
	must(t, in.PipeValue("Hello Kafka Streams"))
	must(t, in.PipeValue("All streams lead to Kafka"))
	must(t, in.PipeValue("Join Kafka Summit"))
	got, err := streamstest.ReadKeyValuesToMap(out)
	must(t, err)
	want := map[string]int64{"hello": 1, "kafka": 3, "streams": 2, "all": 1, "lead": 1, "to": 1, "join": 1, "summit": 1}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
	store, err := streamstest.KeyValueStore[string, int64](d, "counts")
	must(t, err)
	n, ok, err := store.Get("kafka")
	if err != nil || !ok || n != 3 {
		t.Fatalf("store kafka = %d, %v, %v", n, ok, err)
	}
	// The repartition topic and changelog carry the internal traffic.
	rep := streamstest.CreateOutputTopic(d, "streamstest-counts-repartition", ss, ss)
	if rep.QueueSize() != 11 {
		t.Errorf("repartition topic has %d records, want 11", rep.QueueSize())
	}
	cl := streamstest.CreateOutputTopic(d, "streamstest-counts-changelog", ss, streams.BytesSerde())
	if cl.QueueSize() == 0 {
		t.Errorf("no changelog records")
	}
}

func TestStatelessOperators(t *testing.T) {
	b := streams.NewBuilder()
	src := streams.NewStream(b, "in", streams.ConsumedWith(ss, streams.Int64Serde()))
	var peeked []string
	var each []string
	src.Filter(func(_ string, v int64) bool { return v%2 == 0 }).To("even", streams.ProducedWith(ss, streams.Int64Serde()))
	src.FilterNot(func(_ string, v int64) bool { return v%2 == 0 }).To("odd", streams.ProducedWith(ss, streams.Int64Serde()))
	mapped := streams.Map(src.Peek(func(k string, v int64) { peeked = append(peeked, fmt.Sprint(k, v)) }),
		func(k string, v int64) (int64, string) { return v, strings.ToUpper(k) })
	mapped.To("mapped", streams.ProducedWith(streams.Int64Serde(), ss))
	streams.MapValues(src, func(k string, v int64) string { return fmt.Sprintf("%s=%d", k, v) }).To("mapvalues", streams.ProducedWith(ss, ss))
	streams.FlatMap(src, func(k string, v int64) []streams.KeyValue[string, int64] {
		return []streams.KeyValue[string, int64]{streams.KV(k+"1", v), streams.KV(k+"2", v*10)}
	}).To("flatmap", streams.ProducedWith(ss, streams.Int64Serde()))
	streams.SelectKey(src, func(k string, v int64) string { return k + "!" }).To("selectkey", streams.ProducedWith(ss, streams.Int64Serde()))
	src.Foreach(func(k string, v int64) { each = append(each, k) })

	d := driver(t, build(t, b))
	in := streamstest.CreateInputTopic(d, "in", ss, streams.Int64Serde())
	for i, k := range []string{"a", "b", "c", "d"} {
		must(t, in.PipeInputAt(k, int64(i+1), int64(100+i)))
	}
	read := func(topic string) []string {
		out := streamstest.CreateOutputTopic(d, topic, streams.BytesSerde(), streams.BytesSerde())
		recs, err := out.ReadRecordsToList()
		must(t, err)
		var s []string
		for _, r := range recs {
			s = append(s, fmt.Sprintf("%x/%x@%d", r.Key, r.Value, r.Timestamp))
		}
		return s
	}
	i64 := func(n int64) string { b, _ := streams.Int64Serde().Serialize(n); return fmt.Sprintf("%x", b) }
	hex := func(s string) string { return fmt.Sprintf("%x", s) }
	cases := map[string][]string{
		"even":      {hex("b") + "/" + i64(2) + "@101", hex("d") + "/" + i64(4) + "@103"},
		"odd":       {hex("a") + "/" + i64(1) + "@100", hex("c") + "/" + i64(3) + "@102"},
		"mapped":    {i64(1) + "/" + hex("A") + "@100", i64(2) + "/" + hex("B") + "@101", i64(3) + "/" + hex("C") + "@102", i64(4) + "/" + hex("D") + "@103"},
		"mapvalues": {hex("a") + "/" + hex("a=1") + "@100", hex("b") + "/" + hex("b=2") + "@101", hex("c") + "/" + hex("c=3") + "@102", hex("d") + "/" + hex("d=4") + "@103"},
		"selectkey": {hex("a!") + "/" + i64(1) + "@100", hex("b!") + "/" + i64(2) + "@101", hex("c!") + "/" + i64(3) + "@102", hex("d!") + "/" + i64(4) + "@103"},
	}
	for topic, want := range cases {
		if got := read(topic); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", topic, got, want)
		}
	}
	fm := read("flatmap")
	if len(fm) != 8 || fm[0] != hex("a1")+"/"+i64(1)+"@100" || fm[1] != hex("a2")+"/"+i64(10)+"@100" {
		t.Errorf("flatmap: %v", fm)
	}
	if !reflect.DeepEqual(peeked, []string{"a1", "b2", "c3", "d4"}) {
		t.Errorf("peek saw %v", peeked)
	}
	if !reflect.DeepEqual(each, []string{"a", "b", "c", "d"}) {
		t.Errorf("foreach saw %v", each)
	}
}

func TestMergeSplitAndBranch(t *testing.T) {
	b := streams.NewBuilder()
	a := streams.NewStream(b, "a", streams.ConsumedWith(ss, ss))
	c := streams.NewStream(b, "c", streams.ConsumedWith(ss, ss))
	merged := a.Merge([]*streams.Stream[string, string]{c})
	branches := merged.Split(streams.Named("route-")).
		Branch(func(_, v string) bool { return strings.HasPrefix(v, "x") }, "x").
		Branch(func(_, v string) bool { return strings.HasPrefix(v, "y") }, "y").
		DefaultBranch("other")
	if len(branches) != 3 {
		t.Fatalf("branches: %v", branches)
	}
	branches["route-x"].To("out-x")
	branches["route-y"].To("out-y")
	branches["route-other"].To("out-other")
	d := driver(t, build(t, b))
	ina := streamstest.CreateInputTopic(d, "a", ss, ss)
	inc := streamstest.CreateInputTopic(d, "c", ss, ss)
	must(t, ina.PipeInput("1", "x1"))
	must(t, inc.PipeInput("2", "y2"))
	must(t, ina.PipeInput("3", "z3"))
	must(t, inc.PipeInput("4", "x4"))
	for topic, want := range map[string][]string{"out-x": {"x1", "x4"}, "out-y": {"y2"}, "out-other": {"z3"}} {
		got, err := streamstest.CreateOutputTopic(d, topic, ss, ss).ReadValuesToList()
		must(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", topic, got, want)
		}
	}
}

func TestNoDefaultBranchDropsRest(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	br := s.Split().Branch(func(_, v string) bool { return v == "keep" }).NoDefaultBranch()
	if len(br) != 1 {
		t.Fatalf("branches %v", br)
	}
	for name, st := range br {
		if !strings.HasPrefix(name, "KSTREAM-BRANCH-") || !strings.HasSuffix(name, "1") {
			t.Errorf("branch name %q", name)
		}
		st.To("out")
	}
	d := driver(t, build(t, b))
	in := streamstest.CreateInputTopic(d, "in", ss, ss)
	must(t, in.PipeInput("k", "keep"))
	must(t, in.PipeInput("k", "drop"))
	got, _ := streamstest.CreateOutputTopic(d, "out", ss, ss).ReadValuesToList()
	if !reflect.DeepEqual(got, []string{"keep"}) {
		t.Errorf("got %v", got)
	}
}

func TestRepartitionAndToChooser(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	r := streams.SelectKey(s, func(_, v string) string { return v }).Repartition(streams.RepartitionedAs[string, string]("byvalue").WithPartitions(4))
	r.ToChooser(func(k, v string, meta streams.RecordMetadata) string {
		if meta.Topic != "streamstest-byvalue-repartition" {
			return "wrong-" + meta.Topic
		}
		return "out-" + v[:1]
	})
	topo := build(t, b)
	if !strings.Contains(topo.Describe().String(), "Sink: byvalue-repartition-sink (topic: byvalue-repartition)") {
		t.Errorf("describe:\n%s", topo.Describe())
	}
	d := driver(t, topo)
	in := streamstest.CreateInputTopic(d, "in", ss, ss)
	must(t, in.PipeInput("1", "apple"))
	must(t, in.PipeInput("2", "banana"))
	must(t, in.PipeRecord(streamstest.TestRecord[string, string]{KeyNull: true, Value: "avocado"}))
	if got := d.ProducedTopics(); !reflect.DeepEqual(got, []string{"out-a", "out-b", "streamstest-byvalue-repartition"}) {
		t.Fatalf("topics %v", got)
	}
	got, _ := streamstest.CreateOutputTopic(d, "out-a", ss, ss).ReadKeyValuesToList()
	want := []streams.KeyValue[string, string]{streams.KV("apple", "apple"), streams.KV("avocado", "avocado")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("out-a %v, want %v", got, want)
	}
}

func TestRepartitionDropsNullKeys(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	s.Repartition().To("out")
	d := driver(t, build(t, b))
	in := streamstest.CreateInputTopic(d, "in", ss, ss)
	must(t, in.PipeValue("no key"))
	must(t, in.PipeInput("k", "with key"))
	got, _ := streamstest.CreateOutputTopic(d, "out", ss, ss).ReadValuesToList()
	if !reflect.DeepEqual(got, []string{"with key"}) {
		t.Errorf("got %v", got)
	}
}

func TestPatternSource(t *testing.T) {
	b := streams.NewBuilder()
	streams.NewStreamPattern(b, regexp.MustCompile(`orders-.*`), streams.ConsumedWith(ss, ss)).To("all-orders")
	d := driver(t, build(t, b))
	must(t, streamstest.CreateInputTopic(d, "orders-eu", ss, ss).PipeInput("1", "eu"))
	must(t, streamstest.CreateInputTopic(d, "orders-us", ss, ss).PipeInput("2", "us"))
	if err := streamstest.CreateInputTopic(d, "other", ss, ss).PipeInput("3", "x"); err == nil {
		t.Errorf("piping into an unread topic must fail")
	}
	got, _ := streamstest.CreateOutputTopic(d, "all-orders", ss, ss).ReadValuesToList()
	if !reflect.DeepEqual(got, []string{"eu", "us"}) {
		t.Errorf("got %v", got)
	}
}

func TestCountReduceAggregate(t *testing.T) {
	for _, caching := range []bool{true, false} {
		t.Run(fmt.Sprintf("caching=%v", caching), func(t *testing.T) {
			b := streams.NewBuilder()
			s := streams.NewStream(b, "in", streams.ConsumedWith(ss, streams.Int64Serde()))
			g := s.GroupByKey()
			mc := streams.MaterializedAs[string, int64]("count")
			mr := streams.MaterializedAs[string, int64]("sum")
			ma := streams.MaterializedAs[string, []int64]("all").WithValueSerde(streams.JSONSerde[[]int64]())
			if !caching {
				mc, mr, ma = mc.WithCachingDisabled(), mr.WithCachingDisabled(), ma.WithCachingDisabled()
			}
			g.Count(mc).ToStream().To("count", streams.ProducedWith(ss, streams.Int64Serde()))
			g.Reduce(func(agg, v int64) int64 { return agg + v }, mr).ToStream().To("sum", streams.ProducedWith(ss, streams.Int64Serde()))
			streams.Aggregate(g, func() []int64 { return nil }, func(_ string, v int64, agg []int64) []int64 { return append(agg, v) }, ma).
				ToStream().To("all", streams.ProducedWith(ss, streams.JSONSerde[[]int64]()))
			d := driver(t, build(t, b))
			in := streamstest.CreateInputTopic(d, "in", ss, streams.Int64Serde())
			must(t, in.PipeInputAt("a", 1, 10))
			must(t, in.PipeInputAt("b", 2, 20))
			must(t, in.PipeInputAt("a", 3, 15))
			must(t, in.PipeRecord(streamstest.TestRecord[string, int64]{KeyNull: true, Value: 5, Timestamp: 30}))
			must(t, in.PipeRecord(streamstest.TestRecord[string, int64]{Key: "a", ValueNull: true, Timestamp: 31}))
			count, _ := streamstest.CreateOutputTopic(d, "count", ss, streams.Int64Serde()).ReadRecordsToList()
			want := []streamstest.TestRecord[string, int64]{
				{Key: "a", Value: 1, Timestamp: 10}, {Key: "b", Value: 1, Timestamp: 20}, {Key: "a", Value: 2, Timestamp: 15},
			}
			if !reflect.DeepEqual(count, want) {
				t.Errorf("count %+v, want %+v", count, want)
			}
			sum, _ := streamstest.CreateOutputTopic(d, "sum", ss, streams.Int64Serde()).ReadValuesToList()
			if !reflect.DeepEqual(sum, []int64{1, 2, 4}) {
				t.Errorf("sum %v", sum)
			}
			all, _ := streamstest.CreateOutputTopic(d, "all", ss, streams.JSONSerde[[]int64]()).ReadValuesToList()
			if !reflect.DeepEqual(all, [][]int64{{1}, {2}, {1, 3}}) {
				t.Errorf("aggregate %v", all)
			}
			if n := d.Stats().DroppedRecords.Load(); n != 6 {
				t.Errorf("dropped %d records, want 6 (null key and null value, for 3 aggregations)", n)
			}
			st, err := streamstest.KeyValueStore[string, streams.ValueAndTimestamp[int64]](d, "count")
			must(t, err)
			v, ok, err := st.Get("a")
			if err != nil || !ok || v.Value != 2 || v.Timestamp != 15 {
				t.Errorf("store a = %+v %v %v", v, ok, err)
			}
		})
	}
}

func TestCachingFoldsUpdatesWithinACommit(t *testing.T) {
	// One input line with the same word three times: with caching, one
	// output; without, three.
	for _, tc := range []struct {
		cache int64
		want  []int64
	}{{10 << 20, []int64{3}}, {0, []int64{1, 2, 3}}} {
		b := streams.NewBuilder()
		wordCountTopology(b, "in", "out", "")
		d := driver(t, build(t, b), streamstest.WithCacheMaxBytes(tc.cache))
		must(t, streamstest.CreateInputTopic(d, "in", ss, ss).PipeValue("go go go"))
		got, _ := streamstest.CreateOutputTopic(d, "out", ss, streams.Int64Serde()).ReadValuesToList()
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("cache %d: got %v, want %v", tc.cache, got, tc.want)
		}
	}
}

func TestTableOperators(t *testing.T) {
	b := streams.NewBuilder()
	users := streams.NewTable(b, "users", streams.ConsumedWith(ss, ss), streams.MaterializedAs[string, string]("users-store").WithCachingDisabled())
	users.ToStream().To("users-changes")
	adults := users.Filter(func(_, v string) bool { return strings.HasSuffix(v, "+") })
	adults.ToStream().To("adults")
	streams.MapValuesTable(users, func(_, v string) int64 { return int64(len(v)) }).ToStream().To("lengths", streams.ProducedWith(ss, streams.Int64Serde()))
	// Count users per city (value = "city" or "city+").
	byCity := streams.GroupByTable(users, func(_, v string) (string, string) { return strings.TrimSuffix(v, "+"), v }, streams.GroupedWith(ss, ss))
	byCity.Count(streams.MaterializedAs[string, int64]("per-city").WithCachingDisabled()).ToStream().To("per-city", streams.ProducedWith(ss, streams.Int64Serde()))
	d := driver(t, build(t, b))
	in := streamstest.CreateInputTopic(d, "users", ss, ss)
	must(t, in.PipeInputAt("alice", "paris+", 1))
	must(t, in.PipeInputAt("bob", "rome", 2))
	must(t, in.PipeInputAt("alice", "rome+", 3)) // moves city
	must(t, in.PipeInputAt("bob", "rome+", 4))   // becomes adult, same city
	must(t, in.PipeRecord(streamstest.TestRecord[string, string]{Key: "alice", ValueNull: true, Timestamp: 5}))

	changes, _ := streamstest.CreateOutputTopic(d, "users-changes", ss, ss).ReadRecordsToList()
	if len(changes) != 5 || !changes[4].ValueNull || changes[4].Key != "alice" {
		t.Errorf("changes %+v", changes)
	}
	adultsOut, _ := streamstest.CreateOutputTopic(d, "adults", ss, ss).ReadRecordsToList()
	got := keyValues(adultsOut, "<null>")
	// bob=rome is filtered out (neither side passes); alice's delete shows.
	want := []string{"alice=paris+", "alice=rome+", "bob=rome+", "alice=<null>"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("adults %v, want %v", got, want)
	}
	lengths, _ := streamstest.CreateOutputTopic(d, "lengths", ss, streams.Int64Serde()).ReadValuesToList()
	if !reflect.DeepEqual(lengths, []int64{6, 4, 5, 5, 0}) {
		t.Errorf("lengths %v", lengths)
	}
	perCity, _ := streamstest.CreateOutputTopic(d, "per-city", ss, streams.Int64Serde()).ReadKeyValuesToList()
	wantCity := []streams.KeyValue[string, int64]{
		streams.KV("paris", int64(1)), streams.KV("rome", int64(1)), // alice paris, bob rome
		streams.KV("paris", int64(0)), streams.KV("rome", int64(2)), // alice moves
		streams.KV("rome", int64(2)), // bob same city: one combined update
		streams.KV("rome", int64(1)), // alice deleted
	}
	if !reflect.DeepEqual(perCity, wantCity) {
		t.Errorf("per-city %v, want %v", perCity, wantCity)
	}
	st, err := streamstest.KeyValueStore[string, string](d, "users-store")
	must(t, err)
	if _, ok, _ := st.Get("alice"); ok {
		t.Errorf("alice still in the table")
	}
	if v, ok, _ := st.Get("bob"); !ok || v != "rome+" {
		t.Errorf("bob = %q %v", v, ok)
	}
}

// A table's MapValuesTable maps the value an update replaces only when a
// processor downstream reads old values, as Kafka Streams' KTableMapValues
// does with sendOldValues: feeding ToStream it runs once per update, and
// feeding a re-grouping (which subtracts old values) the sums stay right.
func TestMapValuesTableMapsOldValuesOnlyWhenRead(t *testing.T) {
	b := streams.NewBuilder()
	prices := streams.NewTable(b, "prices", streams.ConsumedWith(ss, streams.Int64Serde()),
		streams.MaterializedAs[string, int64]("prices").WithCachingDisabled())
	var shown, summed []string
	cents := streams.MapValuesTable(prices, func(k string, v int64) int64 {
		shown = append(shown, fmt.Sprintf("%s:%d", k, v))
		return v * 100
	})
	cents.ToStream().To("cents", streams.ProducedWith(ss, streams.Int64Serde()))
	inCents := streams.MapValuesTable(prices, func(k string, v int64) int64 {
		summed = append(summed, fmt.Sprintf("%s:%d", k, v))
		return v * 100
	})
	streams.GroupByTable(inCents, func(string, int64) (string, int64) { return "all", 0 }, streams.GroupedWith(ss, streams.Int64Serde())).
		Count(streams.MaterializedAs[string, int64]("rows").WithCachingDisabled()).
		ToStream().To("rows", streams.ProducedWith(ss, streams.Int64Serde()))
	d := driver(t, build(t, b))
	in := streamstest.CreateInputTopic(d, "prices", ss, streams.Int64Serde())
	must(t, in.PipeInput("a", 1))
	must(t, in.PipeInput("a", 2))
	must(t, in.PipeInput("b", 3))
	must(t, in.PipeTombstone("a"))
	if got := strings.Join(shown, " "); got != "a:1 a:2 b:3" {
		t.Errorf("mapper feeding ToStream saw %q, want each update once", got)
	}
	if got := strings.Join(summed, " "); got != "a:1 a:2 a:1 b:3 a:2" {
		t.Errorf("mapper feeding a re-grouping saw %q, want new and old values", got)
	}
	out, _ := streamstest.CreateOutputTopic(d, "cents", ss, streams.Int64Serde()).ReadRecordsToList()
	if len(out) != 4 || out[1].Value != 200 || !out[3].ValueNull {
		t.Errorf("cents %+v", out)
	}
	rows, _ := streamstest.CreateOutputTopic(d, "rows", ss, streams.Int64Serde()).ReadValuesToList()
	if !reflect.DeepEqual(rows, []int64{1, 1, 2, 1}) {
		t.Errorf("rows %v", rows)
	}
}

func TestTableReduceAndAggregateWithSubtractor(t *testing.T) {
	b := streams.NewBuilder()
	// key: account, value: balance; sum balances per bank (prefix before ':').
	accounts := streams.NewTable(b, "accounts", streams.ConsumedWith(ss, streams.Int64Serde()))
	g := streams.GroupByTable(accounts, func(k string, v int64) (string, int64) { return strings.Split(k, ":")[0], v },
		streams.GroupedWith(ss, streams.Int64Serde()))
	g.Reduce(func(a, v int64) int64 { return a + v }, func(a, v int64) int64 { return a - v },
		streams.MaterializedAs[string, int64]("sum").WithCachingDisabled()).ToStream().To("sum", streams.ProducedWith(ss, streams.Int64Serde()))
	streams.AggregateTable(g, func() string { return "" },
		func(_ string, v int64, agg string) string { return agg + "+" + fmt.Sprint(v) },
		func(_ string, v int64, agg string) string { return agg + "-" + fmt.Sprint(v) },
		streams.MaterializedAs[string, string]("trail").WithCachingDisabled()).ToStream().To("trail")
	d := driver(t, build(t, b))
	in := streamstest.CreateInputTopic(d, "accounts", ss, streams.Int64Serde())
	must(t, in.PipeInput("x:1", 10))
	must(t, in.PipeInput("x:2", 5))
	must(t, in.PipeInput("x:1", 7))
	must(t, in.PipeTombstone("x:2"))
	sums, _ := streamstest.CreateOutputTopic(d, "sum", ss, streams.Int64Serde()).ReadValuesToList()
	if !reflect.DeepEqual(sums, []int64{10, 15, 12, 7}) {
		t.Errorf("sums %v", sums)
	}
	trail, _ := streamstest.CreateOutputTopic(d, "trail", ss, ss).ReadValuesToList()
	if !reflect.DeepEqual(trail, []string{"+10", "+10+5", "+10+5-10+7", "+10+5-10+7-5"}) {
		t.Errorf("trail %v", trail)
	}
}

func TestToTable(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	tbl := s.ToTable(streams.MaterializedAs[string, string]("latest").WithCachingDisabled())
	tbl.ToStream().To("out")
	d := driver(t, build(t, b))
	in := streamstest.CreateInputTopic(d, "in", ss, ss)
	must(t, in.PipeInput("k", "v1"))
	must(t, in.PipeInput("k", "v2"))
	must(t, in.PipeTombstone("k"))
	recs, _ := streamstest.CreateOutputTopic(d, "out", ss, ss).ReadRecordsToList()
	if len(recs) != 3 || recs[1].Value != "v2" || !recs[2].ValueNull {
		t.Errorf("records %+v", recs)
	}
	st, _ := streamstest.KeyValueStore[string, string](d, "latest")
	if _, ok, _ := st.Get("k"); ok {
		t.Errorf("k still present")
	}
}

func TestGlobalTable(t *testing.T) {
	b := streams.NewBuilder()
	g := streams.NewGlobalTable(b, "countries", streams.ConsumedWith(ss, ss), streams.MaterializedAs[string, string]("countries-store"))
	orders := streams.NewStream(b, "orders", streams.ConsumedWith(ss, ss))
	// A processor enriching orders from the global store (joins with global
	// tables come with the join operators).
	streams.Process(orders, streams.ProcessorFunc(func(ctx streams.ProcessorContext[string, string], r streams.Record[string, string]) error {
		name, err := lookup(ctx, g.StoreName(), r.Value, "?")
		if err != nil {
			return err
		}
		return ctx.Forward(r.WithValue(name))
	})).To("enriched")
	topo := build(t, b)
	if !strings.Contains(topo.Describe().String(), "for global store (will not generate tasks)") {
		t.Errorf("describe:\n%s", topo.Describe())
	}
	d := driver(t, topo)
	countries := streamstest.CreateInputTopic(d, "countries", ss, ss)
	orders2 := streamstest.CreateInputTopic(d, "orders", ss, ss)
	must(t, countries.PipeInput("fr", "France"))
	must(t, orders2.PipeInput("o1", "fr"))
	must(t, orders2.PipeInput("o2", "de"))
	must(t, countries.PipeInput("de", "Germany"))
	must(t, orders2.PipeInput("o3", "de"))
	got, _ := streamstest.CreateOutputTopic(d, "enriched", ss, ss).ReadValuesToList()
	if !reflect.DeepEqual(got, []string{"France", "?", "Germany"}) {
		t.Errorf("got %v", got)
	}
}

// upperProcessor is a Processor API processor with a store, punctuations
// and named children.
type upperProcessor struct {
	ctx   streams.ProcessorContext[string, string]
	seen  streams.KeyValueStore[string, int64]
	ticks []string
}

func (p *upperProcessor) Init(ctx streams.ProcessorContext[string, string]) error {
	p.ctx = ctx
	st, err := streams.GetKeyValueStore[string, int64](ctx, "seen")
	if err != nil {
		return err
	}
	p.seen = st
	if _, err := ctx.Schedule(10*time.Millisecond, streams.StreamTime, func(ts int64) error {
		p.ticks = append(p.ticks, fmt.Sprintf("stream@%d", ts))
		return ctx.Forward(streams.NewRecord("tick", fmt.Sprint(ts), ts), "ticks")
	}); err != nil {
		return err
	}
	_, err = ctx.Schedule(time.Second, streams.WallClockTime, func(ts int64) error {
		p.ticks = append(p.ticks, fmt.Sprintf("wall@%d", ts))
		it, err := p.seen.All()
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Next() {
			if err := ctx.Forward(streams.NewRecord(it.Key(), fmt.Sprint(it.Value()), ts), "counts"); err != nil {
				return err
			}
		}
		return it.Err()
	})
	return err
}

func (p *upperProcessor) Process(r streams.Record[string, string]) error {
	n, _, err := p.seen.Get(r.Key)
	if err != nil {
		return err
	}
	if err := p.seen.Put(r.Key, n+1); err != nil {
		return err
	}
	meta, ok := p.ctx.RecordMetadata()
	if !ok {
		return errors.New("no metadata while processing")
	}
	h := append([]streams.Header{{Key: "from", Value: []byte(fmt.Sprintf("%s-%d@%d", meta.Topic, meta.Partition, meta.Offset))}}, r.Headers...)
	return p.ctx.Forward(r.WithValue(strings.ToUpper(r.Value)).WithHeaders(h), "upper")
}

func (p *upperProcessor) Close() error { return nil }

func TestProcessorAPI(t *testing.T) {
	b := streams.NewBuilder()
	var proc *upperProcessor
	streams.AddSource(b, "src", streams.ConsumedWith(ss, ss), "in")
	streams.AddProcessor(b, "proc", func() streams.Processor[string, string, string, string] {
		proc = &upperProcessor{}
		return proc
	}, "src")
	streams.AddStateStore(b, streams.NewKeyValueStoreBuilder("seen", ss, streams.Int64Serde()), "proc")
	streams.AddProcessor(b, "upper", streams.ProcessorFunc(func(ctx streams.ProcessorContext[string, string], r streams.Record[string, string]) error {
		return ctx.Forward(r)
	}), "proc")
	streams.AddProcessor(b, "ticks", streams.ProcessorFunc(func(ctx streams.ProcessorContext[string, string], r streams.Record[string, string]) error {
		return ctx.Forward(r)
	}), "proc")
	streams.AddProcessor(b, "counts", streams.ProcessorFunc(func(ctx streams.ProcessorContext[string, string], r streams.Record[string, string]) error {
		return ctx.Forward(r)
	}), "proc")
	streams.AddSink(b, "upper-sink", "upper-out", streams.ProducedWith(ss, ss), "upper")
	streams.AddSink(b, "ticks-sink", "ticks-out", streams.ProducedWith(ss, ss), "ticks")
	streams.AddSink(b, "counts-sink", "counts-out", streams.ProducedWith(ss, ss), "counts")
	d := driver(t, build(t, b), streamstest.WithStartTime(1000))
	in := streamstest.CreateInputTopic(d, "in", ss, ss)
	must(t, in.PipeRecord(streamstest.TestRecord[string, string]{Key: "a", Value: "x", Timestamp: 5, Headers: []streams.Header{{Key: "h", Value: []byte("1")}}}))
	must(t, in.PipeInputAt("b", "y", 12))
	must(t, in.PipeInputAt("a", "z", 45)) // stream time jumps: one punctuation, not three
	must(t, d.AdvanceWallClockTime(999*time.Millisecond))
	must(t, d.AdvanceWallClockTime(time.Millisecond))
	upper, _ := streamstest.CreateOutputTopic(d, "upper-out", ss, ss).ReadRecordsToList()
	if len(upper) != 3 || upper[0].Value != "X" || upper[2].Value != "Z" {
		t.Fatalf("upper %+v", upper)
	}
	if from, _ := upperHeader(upper[0], "from"); from != "in-0@0" {
		t.Errorf("from header %q", from)
	}
	if h, _ := upperHeader(upper[0], "h"); h != "1" {
		t.Errorf("original header lost: %+v", upper[0].Headers)
	}
	ticks, _ := streamstest.CreateOutputTopic(d, "ticks-out", ss, ss).ReadValuesToList()
	if !reflect.DeepEqual(ticks, []string{"5", "12", "45"}) {
		t.Errorf("stream-time ticks %v", ticks)
	}
	counts, _ := streamstest.CreateOutputTopic(d, "counts-out", ss, ss).ReadKeyValuesToList()
	if !reflect.DeepEqual(counts, []streams.KeyValue[string, string]{streams.KV("a", "2"), streams.KV("b", "1")}) {
		t.Errorf("wall-clock punctuation output %v", counts)
	}
	if !reflect.DeepEqual(proc.ticks, []string{"stream@5", "stream@12", "stream@45", "wall@2000"}) {
		t.Errorf("ticks %v", proc.ticks)
	}
}

func upperHeader(r streamstest.TestRecord[string, string], key string) (string, bool) {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == key {
			return string(r.Headers[i].Value), true
		}
	}
	return "", false
}

func TestProcessDSLWithStoreAndForwardErrors(t *testing.T) {
	b := streams.NewBuilder()
	streams.AddStateStore(b, streams.NewKeyValueStoreBuilder("last", ss, ss))
	s := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	streams.Process(s, streams.ProcessorFunc(func(ctx streams.ProcessorContext[string, string], r streams.Record[string, string]) error {
		st, err := streams.GetKeyValueStore[string, string](ctx, "last")
		if err != nil {
			return err
		}
		prev, _, err := st.Get(r.Key)
		if err != nil {
			return err
		}
		if err := st.Put(r.Key, r.Value); err != nil {
			return err
		}
		if r.Value == "bad-child" {
			return ctx.Forward(r, "nope")
		}
		return ctx.Forward(r.WithValue(prev + "->" + r.Value))
	}), streams.Named("track"), streams.WithStores{"last"}).To("out")
	d := driver(t, build(t, b))
	in := streamstest.CreateInputTopic(d, "in", ss, ss)
	must(t, in.PipeInput("k", "1"))
	must(t, in.PipeInput("k", "2"))
	got, _ := streamstest.CreateOutputTopic(d, "out", ss, ss).ReadValuesToList()
	if !reflect.DeepEqual(got, []string{"->1", "1->2"}) {
		t.Errorf("got %v", got)
	}
	err := in.PipeInput("k", "bad-child")
	if err == nil || !strings.Contains(err.Error(), `cannot forward to "nope"`) {
		t.Errorf("forward to a missing child: %v", err)
	}
	if err2 := in.PipeInput("k", "after"); err2 == nil {
		t.Errorf("a failed driver must keep failing")
	}
}

func TestProcessorWithoutStoreAccessFails(t *testing.T) {
	b := streams.NewBuilder()
	streams.AddStateStore(b, streams.NewKeyValueStoreBuilder("private", ss, ss))
	s := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	// Connected to a second processor so Validate passes.
	streams.Process(s, streams.ProcessorFunc(func(ctx streams.ProcessorContext[string, string], r streams.Record[string, string]) error {
		return nil
	}), streams.WithStores{"private"})
	streams.Process(s, streams.ProcessorFunc(func(ctx streams.ProcessorContext[string, string], r streams.Record[string, string]) error {
		_, err := ctx.StateStore("private")
		return err
	}))
	d := driver(t, build(t, b))
	err := streamstest.CreateInputTopic(d, "in", ss, ss).PipeInput("k", "v")
	if err == nil || !strings.Contains(err.Error(), "no access to store") {
		t.Fatalf("err = %v", err)
	}
}

func TestPanicInUserCodeBecomesError(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	s.Filter(func(k, v string) bool { panic("boom") }).To("out")
	d := driver(t, build(t, b))
	err := streamstest.CreateInputTopic(d, "in", ss, ss).PipeInput("k", "v")
	var pe *streams.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" {
		t.Fatalf("err = %v", err)
	}
}

func TestDeserializationHandlers(t *testing.T) {
	build1 := func() *streams.Topology {
		b := streams.NewBuilder()
		streams.NewStream(b, "in", streams.ConsumedWith(ss, streams.Int64Serde())).To("out", streams.ProducedWith(ss, streams.Int64Serde()))
		return build(t, b)
	}
	// Default: fail.
	d := driver(t, build1())
	in := streamstest.CreateInputTopic(d, "in", ss, streams.Int64Serde())
	err := in.PipeRaw([]byte("k"), []byte("xyz"), 1)
	var de *streams.DeserializationError
	if !errors.As(err, &de) || de.IsKey || de.Offset != 0 {
		t.Fatalf("default handler: err = %v", err)
	}
	// Continue, with a dead-letter topic.
	d2 := driver(t, build1(), streamstest.WithDeserializationHandler(streams.LogAndContinue), streamstest.WithDeadLetterTopic("dlq"))
	in2 := streamstest.CreateInputTopic(d2, "in", ss, streams.Int64Serde())
	must(t, in2.PipeRaw([]byte("k"), []byte("xyz"), 1))
	must(t, in2.PipeInput("k", 42))
	out, _ := streamstest.CreateOutputTopic(d2, "out", ss, streams.Int64Serde()).ReadValuesToList()
	if !reflect.DeepEqual(out, []int64{42}) {
		t.Errorf("out %v", out)
	}
	dlq, _ := streamstest.CreateOutputTopic(d2, "dlq", streams.BytesSerde(), streams.BytesSerde()).ReadRecordsToList()
	if len(dlq) != 1 || string(dlq[0].Value) != "xyz" {
		t.Fatalf("dlq %+v", dlq)
	}
	hdr := map[string]string{}
	for _, h := range dlq[0].Headers {
		hdr[h.Key] = string(h.Value)
	}
	if hdr[streams.HeaderErrorTopic] != "in" || hdr[streams.HeaderErrorOffset] != "0" || !strings.Contains(hdr[streams.HeaderErrorMessage], "want 8 bytes") {
		t.Errorf("dlq headers %v", hdr)
	}
	if d2.Stats().DeserializationErrors.Load() != 1 || d2.Stats().DroppedRecords.Load() != 1 {
		t.Errorf("stats: %d errors, %d dropped", d2.Stats().DeserializationErrors.Load(), d2.Stats().DroppedRecords.Load())
	}
}

// Records of a few bytes that declare billions of msgpack elements reach the
// deserialization handler like any bad record, and the counts of the good
// records around them are right.
func TestMalformedMsgpackRecordsGoToTheHandler(t *testing.T) {
	type event struct {
		User  string
		Attrs map[string]any
		Tags  []string
	}
	b := streams.NewBuilder()
	events := streams.NewStream(b, "events", streams.ConsumedWith(ss, streams.MsgpackSerde[event]()))
	streams.GroupBy(events, func(_ string, e event) string { return e.User }, streams.GroupedWith(ss, streams.MsgpackSerde[event]())).
		Count().ToStream().To("counts", streams.ProducedWith(ss, streams.Int64Serde()))
	d := driver(t, build(t, b), streamstest.WithDeserializationHandler(streams.LogAndContinue))
	in := streamstest.CreateInputTopic(d, "events", ss, streams.MsgpackSerde[event]())
	bad := [][]byte{
		[]byte("\xdf\xe5\xe5\xe5\xe5"),                                  // a map of 3.8G entries
		[]byte("\x83\xa4User\xa1a\xa5Attrs\xdf\xff\xff\xff\xff"),        // Attrs with 4G entries
		[]byte("\x81\xa4Tags\xdd\xff\xff\xff\xff"),                      // Tags with 4G elements
		[]byte("\x81\xa5Attrs\xd7\xff\xdf\xff\xff\xff\xff\x00\x00\x00"), // Attrs read from a timestamp's data
		append(bytes.Repeat([]byte{0x91}, 1<<16), 0xc0),                 // 64K levels of arrays
	}
	for i, v := range bad {
		must(t, in.PipeInput("k", event{User: "a"}))
		must(t, in.PipeRaw([]byte("k"), v, int64(i)))
	}
	must(t, in.PipeInput("k", event{User: "b", Attrs: map[string]any{"n": int8(1)}, Tags: []string{"x"}}))
	out, err := streamstest.ReadKeyValuesToMap(streamstest.CreateOutputTopic(d, "counts", ss, streams.Int64Serde()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, map[string]int64{"a": int64(len(bad)), "b": 1}) {
		t.Errorf("counts %v", out)
	}
	if n := d.Stats().DeserializationErrors.Load(); n != int64(len(bad)) {
		t.Errorf("%d deserialization errors, want %d", n, len(bad))
	}
}

func TestTimestampExtractors(t *testing.T) {
	b := streams.NewBuilder()
	// A typed extractor reading the timestamp from the value.
	streams.NewStream(b, "typed", streams.ConsumedWith(ss, streams.Int64Serde()).WithTimestampExtractor(
		func(r streams.Record[string, int64], _ int64) (int64, error) { return r.Value * 1000, nil })).To("typed-out", streams.ProducedWith(ss, streams.Int64Serde()))
	streams.NewStream(b, "raw", streams.ConsumedWith(ss, ss)).To("raw-out")
	topo := build(t, b)

	d := driver(t, topo, streamstest.WithTimestampExtractor(streams.LogAndSkipOnInvalidTimestamp))
	must(t, streamstest.CreateInputTopic(d, "typed", ss, streams.Int64Serde()).PipeInputAt("k", 7, 1))
	raw := streamstest.CreateInputTopic(d, "raw", ss, ss)
	must(t, raw.PipeInputAt("k", "neg", -5))
	must(t, raw.PipeInputAt("k", "ok", 9))
	typed, _ := streamstest.CreateOutputTopic(d, "typed-out", ss, streams.Int64Serde()).ReadRecordsToList()
	if len(typed) != 1 || typed[0].Timestamp != 7000 {
		t.Errorf("typed %+v", typed)
	}
	rawOut, _ := streamstest.CreateOutputTopic(d, "raw-out", ss, ss).ReadValuesToList()
	if !reflect.DeepEqual(rawOut, []string{"ok"}) {
		t.Errorf("raw %v (negative timestamps must be skipped)", rawOut)
	}

	d2 := driver(t, topo) // default: fail on negative timestamps
	if err := streamstest.CreateInputTopic(d2, "raw", ss, ss).PipeInputAt("k", "neg", -5); !errors.Is(err, streams.ErrInvalidTimestamp) {
		t.Errorf("default extractor: %v", err)
	}

	d3 := driver(t, topo, streamstest.WithTimestampExtractor(streams.UsePartitionTimeOnInvalidTimestamp))
	r3 := streamstest.CreateInputTopic(d3, "raw", ss, ss)
	must(t, r3.PipeInputAt("k", "a", 50))
	must(t, r3.PipeInputAt("k", "b", -1))
	recs, _ := streamstest.CreateOutputTopic(d3, "raw-out", ss, ss).ReadRecordsToList()
	if len(recs) != 2 || recs[1].Timestamp != 50 {
		t.Errorf("partition time: %+v", recs)
	}
	d4 := driver(t, topo, streamstest.WithTimestampExtractor(streams.WallClockTimestamp(func() time.Time { return time.UnixMilli(777) })))
	must(t, streamstest.CreateInputTopic(d4, "raw", ss, ss).PipeInputAt("k", "a", 1))
	recs, _ = streamstest.CreateOutputTopic(d4, "raw-out", ss, ss).ReadRecordsToList()
	if len(recs) != 1 || recs[0].Timestamp != 777 {
		t.Errorf("wall clock: %+v", recs)
	}
}

func TestCustomPartitionerAndSerializationErrors(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	s.To("out", streams.ProducedWith(ss, ss).WithPartitioner(func(_ string, k, _ string, n int32) (int32, bool) {
		return n + 5, true // out of range: an error
	}))
	failing := streams.SerdeFuncs(func(string) ([]byte, error) { return nil, errors.New("cannot") }, func(b []byte) (string, error) { return string(b), nil })
	s.To("bad", streams.ProducedWith(ss, failing))
	topo := build(t, b)
	d := driver(t, topo, streamstest.WithProductionHandler(streams.ProductionContinueAlways))
	err := streamstest.CreateInputTopic(d, "in", ss, ss).PipeInput("k", "v")
	if err == nil || !strings.Contains(err.Error(), "partitioner chose partition 6") {
		t.Errorf("partitioner: %v", err)
	}
	b2 := streams.NewBuilder()
	streams.NewStream(b2, "in", streams.ConsumedWith(ss, ss)).To("bad", streams.ProducedWith(ss, failing))
	topo2 := build(t, b2)
	d2 := driver(t, topo2, streamstest.WithProductionHandler(streams.ProductionContinueAlways))
	must(t, streamstest.CreateInputTopic(d2, "in", ss, ss).PipeInput("k", "v"))
	if d2.Stats().SerializationErrors.Load() != 1 {
		t.Errorf("serialization errors not counted")
	}
	d3 := driver(t, topo2)
	if err := streamstest.CreateInputTopic(d3, "in", ss, ss).PipeInput("k", "v"); err == nil || !strings.Contains(err.Error(), "cannot") {
		t.Errorf("default production handler: %v", err)
	}
}

func TestBuildErrors(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	s.Filter(func(string, string) bool { return true }, streams.Named("dup"))
	s.Filter(func(string, string) bool { return true }, streams.Named("dup"))
	streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	_, err := b.Build()
	if err == nil || !strings.Contains(err.Error(), `node "dup" already exists`) || !strings.Contains(err.Error(), `topic "in" is already read`) {
		t.Fatalf("err = %v", err)
	}
}

func TestTypeMismatchBetweenNodesIsReported(t *testing.T) {
	b := streams.NewBuilder()
	streams.AddSource(b, "src", streams.ConsumedWith(ss, ss), "in")
	streams.AddSink(b, "sink", "out", streams.ProducedWith(ss, streams.Int64Serde()), "src")
	topo := build(t, b)
	_, err := streamstest.New(topo)
	if err == nil || !strings.Contains(err.Error(), "forwards Record[string, string] but its child \"sink\" takes Record[string, int64]") {
		t.Fatalf("err = %v", err)
	}
}

func TestNamesAreSortedInDescribeForBranches(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	m := s.Split(streams.Named("s-")).Branch(func(string, string) bool { return true }).DefaultBranch()
	var names []string
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	if !reflect.DeepEqual(names, []string{"s-0", "s-1"}) {
		t.Errorf("names %v", names)
	}
}

func TestStreamTopicsAndMaterializedTableFilterNot(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.NewStreamTopics(b, []string{"a", "b"}, streams.ConsumedWith(ss, ss))
	s.To("both")
	tbl := streams.NewTable(b, "t", streams.ConsumedWith(ss, streams.Int64Serde()))
	small := tbl.FilterNot(func(_ string, v int64) bool { return v >= 10 }, streams.Named("small"),
		streams.MaterializedAs[string, int64]("small-store").WithCachingDisabled())
	small.ToStream().To("small", streams.ProducedWith(ss, streams.Int64Serde()))
	if small.StoreName() != "small-store" || tbl.StoreName() == "" {
		t.Fatalf("store names %q %q", small.StoreName(), tbl.StoreName())
	}
	d := driver(t, build(t, b))
	must(t, streamstest.CreateInputTopic(d, "a", ss, ss).PipeInput("1", "from a"))
	must(t, streamstest.CreateInputTopic(d, "b", ss, ss).PipeInput("2", "from b"))
	got, _ := streamstest.CreateOutputTopic(d, "both", ss, ss).ReadValuesToList()
	if !reflect.DeepEqual(got, []string{"from a", "from b"}) {
		t.Errorf("both %v", got)
	}
	in := streamstest.CreateInputTopic(d, "t", ss, streams.Int64Serde())
	must(t, in.PipeInput("x", 3))
	must(t, in.PipeInput("y", 30))
	must(t, in.PipeInput("x", 40)) // leaves the filtered table
	recs, _ := streamstest.CreateOutputTopic(d, "small", ss, streams.Int64Serde()).ReadRecordsToList()
	if len(recs) != 2 || recs[0].Value != 3 || !recs[1].ValueNull {
		t.Errorf("small %+v", recs)
	}
	st, err := streamstest.KeyValueStore[string, int64](d, "small-store")
	must(t, err)
	if _, ok, _ := st.Get("x"); ok {
		t.Errorf("x still in the materialized filter store")
	}
}

// ToTable after an operation that may change the key goes through a repartition topic, as
// Kafka Streams' toTable does, so every record of a key reaches the one task keeping it;
// without a key change it reads its input directly.
func TestToTableRepartitionsAfterAKeyChange(t *testing.T) {
	for _, tc := range []struct {
		name      string
		build     func(s *streams.Stream[string, string]) *streams.Table[string, string]
		wantTopic string
	}{
		{"key kept", func(s *streams.Stream[string, string]) *streams.Table[string, string] { return s.ToTable() }, ""},
		{"key changed", func(s *streams.Stream[string, string]) *streams.Table[string, string] {
			return streams.SelectKey(s, func(_, v string) string { return v }).ToTable()
		}, "KSTREAM-TOTABLE-0000000002-repartition"},
		{"key changed, named", func(s *streams.Stream[string, string]) *streams.Table[string, string] {
			return streams.SelectKey(s, func(_, v string) string { return v }).ToTable(streams.Named("latest"))
		}, "latest-repartition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := streams.NewBuilder()
			tc.build(streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))).ToStream().To("out")
			topo := build(t, b)
			desc := topo.Describe().String()
			if tc.wantTopic == "" {
				if strings.Contains(desc, "-repartition") {
					t.Fatalf("a repartition topic without a key change:\n%s", desc)
				}
			} else if !strings.Contains(desc, tc.wantTopic) || strings.Count(desc, "Sub-topology:") != 2 {
				t.Fatalf("want %s and two sub-topologies:\n%s", tc.wantTopic, desc)
			}
			// The table is the same through the repartition topic.
			d := driver(t, topo)
			in := streamstest.CreateInputTopic(d, "in", ss, ss)
			must(t, in.PipeInput("k1", "A"))
			must(t, in.PipeInput("k2", "B"))
			got, err := streamstest.CreateOutputTopic(d, "out", ss, ss).ReadKeyValuesToList()
			if err != nil || len(got) != 2 {
				t.Fatalf("out: %v %v", got, err)
			}
		})
	}
}

// A cached aggregation forwards the headers of the record that made the update, as Kafka
// Streams' caching stores keep the record context; so does a table source.
func TestCachedStoresForwardHeaders(t *testing.T) {
	b := streams.NewBuilder()
	in := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	in.GroupByKey().Count().ToStream().To("counts", streams.ProducedWith(ss, streams.Int64Serde()))
	streams.NewTable(b, "t", streams.ConsumedWith(ss, ss)).ToStream().To("table-out")
	d := driver(t, build(t, b))
	for i, h := range []string{"h-1", "h-2"} {
		must(t, streamstest.CreateInputTopic(d, "in", ss, ss).PipeRecord(streamstest.TestRecord[string, string]{
			Key: "k", Value: "v", Timestamp: int64(i), Headers: []streams.Header{{Key: "trace", Value: []byte(h)}}}))
		must(t, streamstest.CreateInputTopic(d, "t", ss, ss).PipeRecord(streamstest.TestRecord[string, string]{
			Key: "k", Value: h, Timestamp: int64(i), Headers: []streams.Header{{Key: "trace", Value: []byte(h)}}}))
	}
	counts, err := streamstest.CreateOutputTopic(d, "counts", ss, streams.Int64Serde()).ReadRecordsToList()
	must(t, err)
	tbl, err := streamstest.CreateOutputTopic(d, "table-out", ss, ss).ReadRecordsToList()
	must(t, err)
	for name, out := range map[string][]streamstest.TestRecord[string, string]{"table": tbl} {
		if len(out) != 2 || len(out[1].Headers) != 1 || string(out[1].Headers[0].Value) != "h-2" {
			t.Errorf("%s: %+v, want the second update with header trace=h-2", name, out)
		}
	}
	if len(counts) != 2 || len(counts[1].Headers) != 1 || string(counts[1].Headers[0].Value) != "h-2" || counts[1].Value != 2 {
		t.Errorf("counts: %+v, want 2 with header trace=h-2", counts)
	}
}

// A wall-clock punctuator's store writes are timestamped with the punctuation's time, as
// Kafka Streams sets the record context to it: the changelog records carry it.
func TestPunctuatorStoreWritesCarryThePunctuationTime(t *testing.T) {
	b := streams.NewBuilder()
	streams.AddSource(b, "src", streams.ConsumedWith(ss, ss), "in")
	streams.AddProcessor(b, "proc", streams.ProcessorSupplier[string, string, string, string](func() streams.Processor[string, string, string, string] {
		return &punctStoreProc{}
	}), "src")
	streams.AddStateStore(b, streams.NewKeyValueStoreBuilder("marks", ss, streams.Int64Serde()), "proc")
	d := driver(t, build(t, b), streamstest.WithStartTime(1000))
	must(t, streamstest.CreateInputTopic(d, "in", ss, ss).PipeInputAt("a", "x", 35))
	must(t, d.AdvanceWallClockTime(time.Second))
	cl, err := streamstest.CreateOutputTopic(d, "streamstest-marks-changelog", ss, streams.BytesSerde()).ReadRecordsToList()
	must(t, err)
	if len(cl) != 2 || cl[0].Key != "a" || cl[0].Timestamp != 35 || cl[1].Key != "wall" || cl[1].Timestamp != 2000 {
		t.Fatalf("changelog %+v, want a@35 (the record's time) then wall@2000 (the punctuation's)", cl)
	}
}

type punctStoreProc struct {
	marks streams.KeyValueStore[string, int64]
}

func (p *punctStoreProc) Init(ctx streams.ProcessorContext[string, string]) error {
	st, err := streams.GetKeyValueStore[string, int64](ctx, "marks")
	if err != nil {
		return err
	}
	p.marks = st
	_, err = ctx.Schedule(time.Second, streams.WallClockTime, func(ts int64) error { return p.marks.Put("wall", ts) })
	return err
}

func (p *punctStoreProc) Process(r streams.Record[string, string]) error {
	return p.marks.Put(r.Key, r.Timestamp)
}
func (p *punctStoreProc) Close() error { return nil }
