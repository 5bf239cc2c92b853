package streams_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// Scenarios are topologies that exercise every operator, run twice: through
// streamstest (one partition, no broker) and end to end with the runtime
// on kfake and brokerlite (3 partitions, 2 stream threads). Outputs are
// compared as multisets (stream outputs) or as each key's final value
// (table outputs), which both runs must agree on whatever the interleaving
// of partitions.

type scenarioRecord struct {
	topic     string
	key       string
	value     string
	keyNull   bool
	valueNull bool
	ts        int64
}

type outputKind uint8

const (
	multisetOutput outputKind = iota
	finalOutput
)

type scenarioOutput struct {
	kind   outputKind
	int64V bool // values are Int64Serde
	want   []string
}

type scenario struct {
	name    string
	inputs  []string
	globals []string
	// build builds the topology; t maps a logical topic name to the run's.
	build func(b *streams.Builder, t func(string) string)
	// before are piped/produced before the app starts (global tables).
	before  []scenarioRecord
	records []scenarioRecord
	outputs map[string]scenarioOutput
}

var (
	peeked  atomic.Int64
	foreach atomic.Int64
)

func scenarios() []scenario {
	ss := streams.StringSerde()
	i64 := streams.Int64Serde()
	num := func(v string) int64 { n, _ := strconv.ParseInt(v, 10, 64); return n }
	rec := func(topic, k, v string, ts int64) scenarioRecord {
		return scenarioRecord{topic: topic, key: k, value: v, ts: ts}
	}
	return []scenario{
		{
			name:   "stateless",
			inputs: []string{"in", "in2"},
			build: func(b *streams.Builder, t func(string) string) {
				in := streams.NewStream(b, t("in"), streams.ConsumedWith(ss, ss))
				in2 := streams.NewStream(b, t("in2"), streams.ConsumedWith(ss, ss))
				in.Filter(func(_, v string) bool { return strings.Contains(v, "a") }).To(t("filter"))
				in.FilterNot(func(_, v string) bool { return strings.Contains(v, "a") }).To(t("filternot"))
				streams.Map(in, func(k, v string) (string, string) { return v, k }).To(t("map"))
				streams.MapValues(in, func(_, v string) string { return strings.ToUpper(v) }).To(t("mapvalues"))
				streams.FlatMap(in, func(k, v string) []streams.KeyValue[string, string] {
					var out []streams.KeyValue[string, string]
					for i, part := range strings.Split(v, ",") {
						out = append(out, streams.KV(fmt.Sprintf("%s.%d", k, i), part))
					}
					return out
				}).To(t("flatmap"))
				streams.FlatMapValues(in, func(_, v string) []string { return strings.Split(v, ",") }).To(t("flatmapvalues"))
				streams.SelectKey(in, func(_, v string) string { return v }).To(t("selectkey"))
				in.Peek(func(string, string) { peeked.Add(1) }).To(t("peek"))
				in.Foreach(func(string, string) { foreach.Add(1) })
				in.Merge([]*streams.Stream[string, string]{in2}).To(t("merge"))
				br := in.Split(streams.Named("br-")).Branch(func(_, v string) bool { return strings.HasPrefix(v, "a") }, "a").DefaultBranch("other")
				br["br-a"].To(t("branch-a"))
				br["br-other"].To(t("branch-other"))
				streams.SelectKey(in, func(_, v string) string { return v }).Repartition(streams.RepartitionedAs[string, string]("byvalue")).To(t("repartition"))
				in.ToChooser(func(_, v string, _ streams.RecordMetadata) string {
					if strings.HasPrefix(v, "a") {
						return t("choose-a")
					}
					return t("choose-rest")
				})
			},
			records: []scenarioRecord{
				rec("in", "1", "apple", 1), rec("in", "2", "berry,cherry", 2), rec("in", "3", "avocado,plum", 3),
				rec("in2", "9", "kiwi", 4), rec("in", "4", "fig", 5),
			},
			outputs: map[string]scenarioOutput{
				"filter":        {want: []string{"1=apple", "3=avocado,plum"}},
				"filternot":     {want: []string{"2=berry,cherry", "4=fig"}},
				"map":           {want: []string{"apple=1", "berry,cherry=2", "avocado,plum=3", "fig=4"}},
				"mapvalues":     {want: []string{"1=APPLE", "2=BERRY,CHERRY", "3=AVOCADO,PLUM", "4=FIG"}},
				"flatmap":       {want: []string{"1.0=apple", "2.0=berry", "2.1=cherry", "3.0=avocado", "3.1=plum", "4.0=fig"}},
				"flatmapvalues": {want: []string{"1=apple", "2=berry", "2=cherry", "3=avocado", "3=plum", "4=fig"}},
				"selectkey":     {want: []string{"apple=apple", "berry,cherry=berry,cherry", "avocado,plum=avocado,plum", "fig=fig"}},
				"peek":          {want: []string{"1=apple", "2=berry,cherry", "3=avocado,plum", "4=fig"}},
				"merge":         {want: []string{"1=apple", "2=berry,cherry", "3=avocado,plum", "4=fig", "9=kiwi"}},
				"branch-a":      {want: []string{"1=apple", "3=avocado,plum"}},
				"branch-other":  {want: []string{"2=berry,cherry", "4=fig"}},
				"repartition":   {want: []string{"apple=apple", "berry,cherry=berry,cherry", "avocado,plum=avocado,plum", "fig=fig"}},
				"choose-a":      {want: []string{"1=apple", "3=avocado,plum"}},
				"choose-rest":   {want: []string{"2=berry,cherry", "4=fig"}},
			},
		},
		{
			name:   "aggregations",
			inputs: []string{"in"},
			build: func(b *streams.Builder, t func(string) string) {
				in := streams.NewStream(b, t("in"), streams.ConsumedWith(ss, ss))
				g := in.GroupByKey()
				g.Count(streams.MaterializedAs[string, int64]("count")).ToStream().To(t("count"), streams.ProducedWith(ss, i64))
				g.Reduce(func(a, v string) string { return strconv.FormatInt(num(a)+num(v), 10) }, streams.MaterializedAs[string, string]("sum")).ToStream().To(t("sum"))
				streams.Aggregate(g, func() int64 { return -1 }, func(_ string, v string, agg int64) int64 { return max(agg, num(v)) },
					streams.MaterializedAs[string, int64]("max")).ToStream().To(t("max"), streams.ProducedWith(ss, i64))
				streams.GroupBy(in, func(_, v string) string {
					if num(v)%2 == 0 {
						return "even"
					}
					return "odd"
				}).Count().ToStream().To(t("parity"), streams.ProducedWith(ss, i64))
			},
			records: []scenarioRecord{
				rec("in", "a", "1", 1), rec("in", "b", "4", 2), rec("in", "a", "5", 3), rec("in", "c", "2", 4),
				rec("in", "a", "3", 5), rec("in", "b", "6", 6), {topic: "in", key: "a", valueNull: true, ts: 7},
				{topic: "in", keyNull: true, value: "8", ts: 8},
			},
			outputs: map[string]scenarioOutput{
				"count": {kind: finalOutput, int64V: true, want: []string{"a=3", "b=2", "c=1"}},
				"sum":   {kind: finalOutput, want: []string{"a=9", "b=10", "c=2"}},
				"max":   {kind: finalOutput, int64V: true, want: []string{"a=5", "b=6", "c=2"}},
				// GroupBy keeps records with a null key (the new key is not
				// null); the tombstone is skipped by the aggregation.
				"parity": {kind: finalOutput, int64V: true, want: []string{"even=4", "odd=3"}},
			},
		},
		{
			name:   "tables",
			inputs: []string{"users", "events"},
			build: func(b *streams.Builder, t func(string) string) {
				users := streams.NewTable(b, t("users"), streams.ConsumedWith(ss, ss), streams.MaterializedAs[string, string]("users"))
				users.ToStream().To(t("users-out"))
				users.Filter(func(_, v string) bool { return strings.HasSuffix(v, "+") }).ToStream().To(t("adults"))
				streams.MapValuesTable(users, func(_, v string) int64 { return int64(len(v)) }).ToStream().To(t("lengths"), streams.ProducedWith(ss, i64))
				byCity := streams.GroupByTable(users, func(_, v string) (string, string) { return strings.TrimSuffix(v, "+"), v })
				byCity.Count(streams.MaterializedAs[string, int64]("per-city")).ToStream().To(t("per-city"), streams.ProducedWith(ss, i64))
				streams.AggregateTable(byCity, func() int64 { return 0 },
					func(_ string, v string, agg int64) int64 { return agg + int64(len(v)) },
					func(_ string, v string, agg int64) int64 { return agg - int64(len(v)) },
					streams.MaterializedAs[string, int64]("city-len")).ToStream().To(t("city-len"), streams.ProducedWith(ss, i64))
				streams.NewStream(b, t("events"), streams.ConsumedWith(ss, ss)).ToTable(streams.MaterializedAs[string, string]("latest")).ToStream().To(t("latest"))
			},
			records: []scenarioRecord{
				rec("users", "alice", "paris+", 1), rec("users", "bob", "rome", 2), rec("users", "carol", "oslo+", 3),
				rec("users", "alice", "rome+", 4), rec("users", "bob", "rome+", 5),
				{topic: "users", key: "carol", valueNull: true, ts: 6},
				rec("events", "e1", "v1", 7), rec("events", "e1", "v2", 8), rec("events", "e2", "w1", 9),
				{topic: "events", key: "e2", valueNull: true, ts: 10},
			},
			outputs: map[string]scenarioOutput{
				"users-out": {kind: finalOutput, want: []string{"alice=rome+", "bob=rome+"}},
				"adults":    {kind: finalOutput, want: []string{"alice=rome+", "bob=rome+"}},
				"lengths":   {kind: finalOutput, int64V: true, want: []string{"alice=5", "bob=5"}},
				"per-city":  {kind: finalOutput, int64V: true, want: []string{"oslo=0", "paris=0", "rome=2"}},
				"city-len":  {kind: finalOutput, int64V: true, want: []string{"oslo=0", "paris=0", "rome=10"}},
				"latest":    {kind: finalOutput, want: []string{"e1=v2"}},
			},
		},
		{
			name:    "global-and-processor",
			inputs:  []string{"orders"},
			globals: []string{"countries"},
			build: func(b *streams.Builder, t func(string) string) {
				g := streams.NewGlobalTable(b, t("countries"), streams.ConsumedWith(ss, ss), streams.MaterializedAs[string, string]("countries"))
				streams.AddStateStore(b, streams.NewKeyValueStoreBuilder("seen", ss, streams.Int64Serde()))
				orders := streams.NewStream(b, t("orders"), streams.ConsumedWith(ss, ss))
				streams.Process(orders, streams.ProcessorFunc(func(ctx streams.ProcessorContext[string, string], r streams.Record[string, string]) error {
					seen, err := streams.GetKeyValueStore[string, int64](ctx, "seen")
					if err != nil {
						return err
					}
					n, _, err := seen.Get(r.Key)
					if err != nil {
						return err
					}
					if err := seen.Put(r.Key, n+1); err != nil {
						return err
					}
					name, err := lookup(ctx, g.StoreName(), r.Value, "?")
					if err != nil {
						return err
					}
					return ctx.Forward(r.WithValue(fmt.Sprintf("%s#%d", name, n+1)))
				}), streams.WithStores{"seen"}).To(t("enriched"))
			},
			before: []scenarioRecord{rec("countries", "fr", "France", 1), rec("countries", "de", "Germany", 2)},
			records: []scenarioRecord{
				rec("orders", "o1", "fr", 3), rec("orders", "o2", "de", 4), rec("orders", "o1", "it", 5), rec("orders", "o3", "fr", 6),
			},
			outputs: map[string]scenarioOutput{
				"enriched": {want: []string{"o1=France#1", "o2=Germany#1", "o1=?#2", "o3=France#1"}},
			},
		},
	}
}

// collect turns output records into comparable strings.
func collect(out scenarioOutput, recs []streamstest.TestRecord[string, []byte]) []string {
	format := func(r streamstest.TestRecord[string, []byte]) string {
		if r.ValueNull {
			return r.Key + "=<null>"
		}
		if out.int64V {
			n, _ := streams.Int64Serde().Deserialize(r.Value)
			return fmt.Sprintf("%s=%d", r.Key, n)
		}
		return r.Key + "=" + string(r.Value)
	}
	var got []string
	if out.kind == multisetOutput {
		for _, r := range recs {
			got = append(got, format(r))
		}
	} else {
		last := map[string]string{}
		for _, r := range recs {
			if r.ValueNull {
				delete(last, r.Key)
			} else {
				last[r.Key] = format(r)
			}
		}
		for _, v := range last {
			got = append(got, v)
		}
	}
	sort.Strings(got)
	return got
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestScenariosStreamstest(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			ident := func(s string) string { return s }
			b := streams.NewBuilder()
			sc.build(b, ident)
			d := driver(t, build(t, b))
			pipe := func(r scenarioRecord) {
				in := streamstest.CreateInputTopic(d, r.topic, streams.StringSerde(), streams.StringSerde())
				must(t, in.PipeRecord(streamstest.TestRecord[string, string]{Key: r.key, Value: r.value, KeyNull: r.keyNull, ValueNull: r.valueNull, Timestamp: r.ts}))
			}
			for _, r := range sc.before {
				pipe(r)
			}
			for _, r := range sc.records {
				pipe(r)
			}
			for topic, out := range sc.outputs {
				recs, err := streamstest.CreateOutputTopic(d, topic, streams.StringSerde(), streams.BytesSerde()).ReadRecordsToList()
				must(t, err)
				if got, want := collect(out, recs), sortedCopy(out.want); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s: got %v, want %v", topic, got, want)
				}
			}
		})
	}
}

func TestScenariosEndToEnd(t *testing.T) {
	for _, br := range brokers(t) {
		for _, sc := range scenarios() {
			t.Run(br.name+"/"+sc.name, func(t *testing.T) {
				runScenarioEndToEnd(t, br, sc)
			})
		}
	}
}

func runScenarioEndToEnd(t *testing.T, br broker, sc scenario) {
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	name := func(s string) string { return "sc-" + sc.name + "-" + s + "-" + suffix }
	var inputs []string
	for _, in := range sc.inputs {
		inputs = append(inputs, name(in))
	}
	createTopic(t, br.addrs, 3, inputs...)
	var outs []string
	for topic := range sc.outputs {
		outs = append(outs, name(topic))
	}
	if sc.name == "stateless" {
		outs = append(outs, name("choose-a"), name("choose-rest"))
	}
	createTopic(t, br.addrs, 1, dedupe(outs)...)
	for _, g := range sc.globals {
		createTopic(t, br.addrs, 2, name(g))
	}
	toKgo := func(r scenarioRecord) *kgo.Record {
		kr := &kgo.Record{Topic: name(r.topic), Timestamp: time.UnixMilli(r.ts)}
		if !r.keyNull {
			kr.Key = []byte(r.key)
		}
		if !r.valueNull {
			kr.Value = []byte(r.value)
		}
		return kr
	}
	var before []*kgo.Record
	for _, r := range sc.before {
		before = append(before, toKgo(r))
	}
	if len(before) > 0 {
		produce(t, br.addrs, before...)
	}
	b := streams.NewBuilder()
	sc.build(b, name)
	app := startApp(t, build(t, b), streams.Properties{
		"application.id":     "sc-" + sc.name + "-" + suffix,
		"bootstrap.servers":  strings.Join(br.addrs, ","),
		"num.stream.threads": "2",
		"commit.interval.ms": "100",
		"state.dir":          t.TempDir(),
		// No folding: a table update that a later one replaces within a
		// commit interval would never reach downstream (as in Kafka
		// Streams), and the streamstest run commits after every record.
		// Caching is covered by the word-count and crash tests.
		"statestore.cache.max.bytes": "0",
	})
	// Records are produced one by one, in order, so a key's updates keep
	// their order within its partition.
	for _, r := range sc.records {
		produce(t, br.addrs, toKgo(r))
	}
	for topic, out := range sc.outputs {
		want := sortedCopy(out.want)
		var got []string
		consumeUntil(t, br.addrs, name(topic), 30*time.Second, func(rs []*kgo.Record) bool {
			recs := make([]streamstest.TestRecord[string, []byte], len(rs))
			for i, r := range rs {
				recs[i] = streamstest.TestRecord[string, []byte]{Key: string(r.Key), Value: r.Value, ValueNull: r.Value == nil}
			}
			got = collect(out, recs)
			return fmt.Sprint(got) == fmt.Sprint(want)
		})
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %v, want %v (app %s, err %v)", topic, got, want, app.State(), app.Err())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, app.Close(ctx))
	if app.State() != streams.StateNotRunning {
		t.Errorf("state after close: %s", app.State())
	}
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
