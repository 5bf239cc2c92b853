package topology

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

// wordCount builds the graph Kafka Streams' WordCountDemo builds, with the
// node names Kafka Streams generates.
func wordCount(t *testing.T) *Topology {
	t.Helper()
	tp := New()
	must(t, tp.AddSource("KSTREAM-SOURCE-0000000000", nil, "streams-plaintext-input"))
	must(t, tp.AddProcessor("KSTREAM-FLATMAPVALUES-0000000001", nil, "KSTREAM-SOURCE-0000000000"))
	must(t, tp.AddProcessor("KSTREAM-KEY-SELECT-0000000002", nil, "KSTREAM-FLATMAPVALUES-0000000001"))
	must(t, tp.AddProcessor("KSTREAM-FILTER-0000000005", nil, "KSTREAM-KEY-SELECT-0000000002"))
	must(t, tp.AddRepartitionTopic("counts-store-repartition", 0))
	must(t, tp.AddSink("KSTREAM-SINK-0000000004", "counts-store-repartition", nil, "KSTREAM-FILTER-0000000005"))
	must(t, tp.AddSource("KSTREAM-SOURCE-0000000006", nil, "counts-store-repartition"))
	must(t, tp.AddProcessor("KSTREAM-AGGREGATE-0000000003", nil, "KSTREAM-SOURCE-0000000006"))
	must(t, tp.AddStore(Store{Name: "counts-store", Kind: KeyValueStoreKind, Logging: true}, "KSTREAM-AGGREGATE-0000000003"))
	must(t, tp.AddProcessor("KTABLE-TOSTREAM-0000000007", nil, "KSTREAM-AGGREGATE-0000000003"))
	must(t, tp.AddSink("KSTREAM-SINK-0000000008", "streams-wordcount-output", nil, "KTABLE-TOSTREAM-0000000007"))
	must(t, tp.Validate())
	return tp
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDescribeWordCountMatchesKafkaStreams(t *testing.T) {
	got := wordCount(t).Describe().String()
	if got != testutil.WordCountDescription {
		t.Fatalf("describe:\n%s\nwant:\n%s", got, testutil.WordCountDescription)
	}
}

func TestSubtopologiesWordCount(t *testing.T) {
	tp := wordCount(t)
	subs := tp.Subtopologies()
	if len(subs) != 2 {
		t.Fatalf("got %d sub-topologies, want 2", len(subs))
	}
	if got, want := subs[0].SourceTopics, []string{"streams-plaintext-input"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sub 0 sources %v, want %v", got, want)
	}
	if got, want := subs[0].SinkTopics, []string{"counts-store-repartition"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sub 0 sinks %v, want %v", got, want)
	}
	if got, want := subs[1].Stores, []string{"counts-store"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sub 1 stores %v, want %v", got, want)
	}
	counts, err := tp.ResolvePartitions("wc", map[string]int32{"streams-plaintext-input": 3, "streams-wordcount-output": 1})
	must(t, err)
	if counts["wc-counts-store-repartition"] != 3 {
		t.Errorf("repartition partitions = %d, want 3", counts["wc-counts-store-repartition"])
	}
	internal := tp.InternalTopics("wc", counts)
	want := []InternalTopic{
		{Name: "wc-counts-store-changelog", Kind: ChangelogTopic, Partitions: 3, Store: "counts-store", Subtopology: 1,
			Config: map[string]string{"cleanup.policy": "compact", "message.timestamp.type": "CreateTime"}},
		{Name: "wc-counts-store-repartition", Kind: RepartitionTopic, Partitions: 3, Subtopology: 1,
			Config: map[string]string{"cleanup.policy": "delete", "retention.ms": "-1", "segment.bytes": "52428800", "message.timestamp.type": "CreateTime"}},
	}
	if !reflect.DeepEqual(internal, want) {
		t.Errorf("internal topics:\n%+v\nwant\n%+v", internal, want)
	}
	tasks := tp.Tasks("wc", counts)
	if len(tasks) != 6 || tasks[0] != (TaskID{0, 0}) || tasks[5] != (TaskID{1, 2}) {
		t.Errorf("tasks = %v", tasks)
	}
	if n, ok := tp.SourceNodeForTopic("wc", "wc-counts-store-repartition"); !ok || n.Name != "KSTREAM-SOURCE-0000000006" {
		t.Errorf("source for repartition topic = %v, %v", n, ok)
	}
	if _, ok := tp.SourceNodeForTopic("wc", "counts-store-repartition"); ok {
		t.Errorf("unprefixed repartition topic should not resolve")
	}
}

func TestSubtopologyNumberingFollowsSortedSourceNames(t *testing.T) {
	tp := New()
	// Added in reverse name order: numbering must follow sorted source names.
	must(t, tp.AddSource("b-source", nil, "b"))
	must(t, tp.AddProcessor("b-proc", nil, "b-source"))
	must(t, tp.AddSource("a-source", nil, "a"))
	must(t, tp.AddProcessor("a-proc", nil, "a-source"))
	subs := tp.Subtopologies()
	if subs[0].Sources[0] != "a-source" || subs[1].Sources[0] != "b-source" {
		t.Fatalf("numbering: %+v", subs)
	}
}

func TestSharedStoreJoinsSubtopologies(t *testing.T) {
	tp := New()
	must(t, tp.AddSource("s1", nil, "t1"))
	must(t, tp.AddSource("s2", nil, "t2"))
	must(t, tp.AddProcessor("p1", nil, "s1"))
	must(t, tp.AddProcessor("p2", nil, "s2"))
	must(t, tp.AddStore(Store{Name: "shared", Kind: KeyValueStoreKind}, "p1", "p2"))
	subs := tp.Subtopologies()
	if len(subs) != 1 {
		t.Fatalf("got %d sub-topologies, want 1 (the store joins them)", len(subs))
	}
	if !reflect.DeepEqual(subs[0].SourceTopics, []string{"t1", "t2"}) {
		t.Errorf("sources %v", subs[0].SourceTopics)
	}
}

func TestGlobalStoreDescription(t *testing.T) {
	tp := New()
	must(t, tp.AddGlobalStore(Store{Name: "users", Kind: KeyValueStoreKind}, "KSTREAM-SOURCE-0000000000", nil, "users", "KTABLE-SOURCE-0000000001", nil))
	must(t, tp.AddSource("KSTREAM-SOURCE-0000000002", nil, "clicks"))
	must(t, tp.AddSink("KSTREAM-SINK-0000000003", "out", nil, "KSTREAM-SOURCE-0000000002"))
	must(t, tp.Validate())
	want := `Topologies:
   Sub-topology: 0 for global store (will not generate tasks)
    Source: KSTREAM-SOURCE-0000000000 (topics: [users])
      --> KTABLE-SOURCE-0000000001
    Processor: KTABLE-SOURCE-0000000001 (stores: [users])
      --> none
      <-- KSTREAM-SOURCE-0000000000
  Sub-topology: 1
    Source: KSTREAM-SOURCE-0000000002 (topics: [clicks])
      --> KSTREAM-SINK-0000000003
    Sink: KSTREAM-SINK-0000000003 (topic: out)
      <-- KSTREAM-SOURCE-0000000002

`
	if got := tp.Describe().String(); got != want {
		t.Fatalf("describe:\n%s\nwant:\n%s", got, want)
	}
	subs := tp.Subtopologies()
	if !subs[0].Global || subs[1].Global {
		t.Fatalf("global flags wrong: %+v", subs)
	}
	counts := map[string]int32{"users": 4, "clicks": 2}
	if n := tp.TaskCount("app", subs[0], counts); n != 0 {
		t.Errorf("global sub-topology has %d tasks, want 0", n)
	}
	if got := tp.Tasks("app", counts); len(got) != 2 || got[0] != (TaskID{1, 0}) {
		t.Errorf("tasks = %v", got)
	}
	if len(tp.InternalTopics("app", counts)) != 0 {
		t.Errorf("global store must have no changelog")
	}
}

func TestPatternSourceAndDynamicSink(t *testing.T) {
	tp := New()
	must(t, tp.AddSourcePattern("src", nil, regexp.MustCompile(`orders-.*`)))
	must(t, tp.AddDynamicSink("sink", "byRegion", nil, "src"))
	want := `Topologies:
   Sub-topology: 0
    Source: src (topics: orders-.*)
      --> sink
    Sink: sink (extractor class: byRegion)
      <-- src

`
	if got := tp.Describe().String(); got != want {
		t.Fatalf("describe:\n%s\nwant:\n%s", got, want)
	}
	n, ok := tp.SourceNodeForTopic("app", "orders-eu")
	if !ok || n.Name != "src" {
		t.Errorf("pattern did not match orders-eu")
	}
	if _, ok := tp.SourceNodeForTopic("app", "xorders-eu"); ok {
		t.Errorf("pattern must match the whole name")
	}
	sub := tp.Subtopologies()[0]
	got := tp.SourceTopics("app", sub, []string{"orders-us", "other", "orders-eu"})
	if !reflect.DeepEqual(got, []string{"orders-eu", "orders-us"}) {
		t.Errorf("source topics %v", got)
	}
	counts, err := tp.ResolvePartitions("app", map[string]int32{"orders-eu": 2, "orders-us": 5})
	must(t, err)
	if tp.TaskCount("app", sub, counts) != 5 {
		t.Errorf("task count = %d, want 5", tp.TaskCount("app", sub, counts))
	}
}

func joinTopology(t *testing.T) *Topology {
	tp := New()
	must(t, tp.AddSource("left", nil, "l"))
	must(t, tp.AddSource("right", nil, "r"))
	must(t, tp.AddProcessor("join", nil, "left", "right"))
	must(t, tp.CopartitionSources("left", "right"))
	return tp
}

func TestCopartitionErrorWhenCountsDiffer(t *testing.T) {
	tp := joinTopology(t)
	_, err := tp.ResolvePartitions("app", map[string]int32{"l": 3, "r": 4})
	var ce *CopartitionError
	if !errors.As(err, &ce) || !errors.Is(err, ErrNotCopartitioned) {
		t.Fatalf("err = %v, want a CopartitionError", err)
	}
	if !strings.Contains(err.Error(), "l (3 partitions), r (4 partitions)") {
		t.Errorf("message does not name the topics and counts: %v", err)
	}
	if _, err := tp.ResolvePartitions("app", map[string]int32{"l": 3, "r": 3}); err != nil {
		t.Fatalf("equal counts: %v", err)
	}
}

func TestCopartitionRepartitionTopicTakesExternalCount(t *testing.T) {
	tp := New()
	// Left side: key changed, goes through a repartition topic.
	must(t, tp.AddSource("src-a", nil, "a"))
	must(t, tp.AddRepartitionTopic("rekey-repartition", 0))
	must(t, tp.AddSink("sink-a", "rekey-repartition", nil, "src-a"))
	must(t, tp.AddSource("src-rekeyed", nil, "rekey-repartition"))
	must(t, tp.AddSource("src-b", nil, "b"))
	must(t, tp.AddProcessor("join", nil, "src-rekeyed", "src-b"))
	must(t, tp.CopartitionSources("src-rekeyed", "src-b"))
	counts, err := tp.ResolvePartitions("app", map[string]int32{"a": 8, "b": 2})
	must(t, err)
	if got := counts["app-rekey-repartition"]; got != 2 {
		t.Fatalf("repartition topic got %d partitions, want 2 (b's count)", got)
	}
}

func TestRepartitionChainAndFixedCounts(t *testing.T) {
	tp := New()
	must(t, tp.AddSource("s0", nil, "in"))
	must(t, tp.AddRepartitionTopic("r1-repartition", 0))
	must(t, tp.AddRepartitionTopic("r2-repartition", 7))
	must(t, tp.AddRepartitionTopic("r3-repartition", 0))
	must(t, tp.AddSink("k1", "r1-repartition", nil, "s0"))
	must(t, tp.AddSource("s1", nil, "r1-repartition"))
	must(t, tp.AddSink("k2", "r2-repartition", nil, "s1"))
	must(t, tp.AddSource("s2", nil, "r2-repartition"))
	must(t, tp.AddSink("k3", "r3-repartition", nil, "s2"))
	must(t, tp.AddSource("s3", nil, "r3-repartition"))
	must(t, tp.AddProcessor("p3", nil, "s3"))
	counts, err := tp.ResolvePartitions("x", map[string]int32{"in": 4})
	must(t, err)
	want := map[string]int32{"in": 4, "x-r1-repartition": 4, "x-r2-repartition": 7, "x-r3-repartition": 7}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("counts %v, want %v", counts, want)
	}
	if err := tp.AddRepartitionTopic("r2-repartition", 3); err == nil {
		t.Errorf("redeclaring with another count must fail")
	}
}

func TestMissingSourceTopics(t *testing.T) {
	tp := wordCount(t)
	_, err := tp.ResolvePartitions("wc", map[string]int32{"other": 1})
	var me *MissingTopicsError
	if !errors.As(err, &me) || !reflect.DeepEqual(me.Topics, []string{"streams-plaintext-input"}) {
		t.Fatalf("err = %v", err)
	}
}

func TestInvalidChanges(t *testing.T) {
	tp := New()
	must(t, tp.AddSource("src", nil, "in"))
	must(t, tp.AddSink("sink", "out", nil, "src"))
	cases := []struct {
		name string
		err  error
	}{
		{"duplicate node", tp.AddProcessor("src", nil, "src")},
		{"missing parent", tp.AddProcessor("p", nil, "nope")},
		{"sink as parent", tp.AddProcessor("p", nil, "sink")},
		{"no parent", tp.AddProcessor("p", nil)},
		{"topic read twice", tp.AddSource("src2", nil, "in")},
		{"source without topics", tp.AddSource("src3", nil)},
		{"empty name", tp.AddSource("", nil, "x")},
		{"store on a source", tp.AddStore(Store{Name: "s", Kind: KeyValueStoreKind}, "src")},
		{"store bad kind", tp.AddStore(Store{Name: "s2"})},
		{"connect missing store", tp.ConnectStores("p-missing", "s")},
		{"copartition one source", tp.CopartitionSources("src")},
		{"copartition a sink", tp.CopartitionSources("src", "sink")},
		{"negative partitions", tp.AddRepartitionTopic("x", -1)},
		{"nil pattern", tp.AddSourcePattern("pat", nil, nil)},
		{"duplicate parent", tp.AddProcessor("p", nil, "src", "src")},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.HasPrefix(c.err.Error(), "topology: ") {
			t.Errorf("%s: error %q lacks the package prefix", c.name, c.err)
		}
	}
	// A failed change leaves the topology as it was.
	if len(tp.Nodes()) != 2 {
		t.Errorf("failed changes added nodes: %d", len(tp.Nodes()))
	}
	must(t, tp.AddStore(Store{Name: "dangling", Kind: KeyValueStoreKind}))
	if err := tp.Validate(); err == nil || !strings.Contains(err.Error(), "dangling") {
		t.Errorf("validate: %v", err)
	}
	if err := New().Validate(); err == nil {
		t.Errorf("empty topology validates")
	}
}

func TestTaskIDRoundTrip(t *testing.T) {
	for _, id := range []TaskID{{0, 0}, {3, 12}, {10, 2147483647}} {
		got, err := ParseTaskID(id.String())
		if err != nil || got != id {
			t.Errorf("round trip %v: %v, %v", id, got, err)
		}
	}
	for _, bad := range []string{"", "1", "a_1", "1_b", "-1_0", "1_-2", "1_99999999999"} {
		if _, err := ParseTaskID(bad); err == nil {
			t.Errorf("ParseTaskID(%q) succeeded", bad)
		}
	}
}

func FuzzParseTaskID(f *testing.F) {
	for _, s := range []string{"0_0", "12_3", "x_y", "_", "1_", "999999999999_1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseTaskID(s)
		if err != nil {
			return
		}
		back, err := ParseTaskID(id.String())
		if err != nil || back != id {
			t.Fatalf("%q -> %v -> %v, %v", s, id, back, err)
		}
	})
}

func TestMermaidAndDOT(t *testing.T) {
	d := wordCount(t).Describe()
	m := d.Mermaid()
	for _, want := range []string{
		"flowchart TD",
		`subgraph sub0["Sub-topology: 0"]`,
		`n_KSTREAM_2d_SOURCE_2d_0000000000["KSTREAM-SOURCE-0000000000"]`,
		`t_streams_2d_plaintext_2d_input[/"streams-plaintext-input"/]`,
		`s_counts_2d_store[("counts-store")]`,
		"n_KSTREAM_2d_AGGREGATE_2d_0000000003 -.- s_counts_2d_store",
		"n_KSTREAM_2d_SINK_2d_0000000004 --> t_counts_2d_store_2d_repartition",
		"t_counts_2d_store_2d_repartition --> n_KSTREAM_2d_SOURCE_2d_0000000006",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("mermaid lacks %q:\n%s", want, m)
		}
	}
	dot := d.DOT()
	for _, want := range []string{
		"digraph topology {",
		`subgraph "cluster_1" {`,
		`"KSTREAM-SOURCE-0000000006" -> "KSTREAM-AGGREGATE-0000000003";`,
		`"store:counts-store" [shape=cylinder, label="counts-store"];`,
		`"topic:streams-plaintext-input" -> "KSTREAM-SOURCE-0000000000";`,
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("dot lacks %q:\n%s", want, dot)
		}
	}
}

func TestDescribeOrdersBySubtreeSize(t *testing.T) {
	tp := New()
	must(t, tp.AddSource("src", nil, "in"))
	must(t, tp.AddProcessor("z-big", nil, "src"))
	must(t, tp.AddProcessor("z-big-child", nil, "z-big"))
	must(t, tp.AddSink("a-small", "out", nil, "src"))
	must(t, tp.AddSink("z-sink", "out2", nil, "z-big-child"))
	d := tp.Describe().Subtopologies[0]
	var order []string
	for _, n := range d.Nodes {
		order = append(order, n.Name)
	}
	want := []string{"src", "z-big", "z-big-child", "a-small", "z-sink"}
	if !reflect.DeepEqual(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	if !reflect.DeepEqual(d.Nodes[0].Successors, []string{"z-big", "a-small"}) {
		t.Errorf("successors %v", d.Nodes[0].Successors)
	}
}
