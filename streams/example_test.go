package streams_test

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// Word count, Kafka Streams' WordCountDemo, tested with streamstest.
func Example_wordCount() {
	str := streams.StringSerde()
	b := streams.NewBuilder()
	lines := streams.NewStream(b, "text", streams.ConsumedWith(str, str))
	words := streams.FlatMapValues(lines, func(_, line string) []string {
		return strings.Fields(strings.ToLower(line))
	})
	counts := streams.GroupBy(words, func(_, word string) string { return word }).
		Count(streams.MaterializedAs[string, int64]("counts"))
	counts.ToStream().To("word-counts", streams.ProducedWith(str, streams.Int64Serde()))
	topo, err := b.Build()
	if err != nil {
		panic(err)
	}

	d, err := streamstest.New(topo)
	if err != nil {
		panic(err)
	}
	defer d.Close()
	in := streamstest.CreateInputTopic(d, "text", str, str)
	out := streamstest.CreateOutputTopic(d, "word-counts", str, streams.Int64Serde())
	for _, line := range []string{"the cat", "The dog", "the end"} {
		if err := in.PipeValue(line); err != nil {
			panic(err)
		}
	}
	kvs, _ := out.ReadKeyValuesToList()
	for _, kv := range kvs {
		fmt.Printf("%s=%d\n", kv.Key, kv.Value)
	}
	// Output:
	// the=1
	// cat=1
	// the=2
	// dog=1
	// the=3
	// end=1
}

// Describe prints a topology the way Kafka Streams' TopologyDescription
// does.
func ExampleTopology_Describe() {
	str := streams.StringSerde()
	b := streams.NewBuilder()
	streams.NewStream(b, "in", streams.ConsumedWith(str, str)).
		Filter(func(_, v string) bool { return v != "" }).
		To("out")
	topo, _ := b.Build()
	fmt.Print(topo.Describe())
	// Output:
	// Topologies:
	//    Sub-topology: 0
	//     Source: KSTREAM-SOURCE-0000000000 (topics: [in])
	//       --> KSTREAM-FILTER-0000000001
	//     Processor: KSTREAM-FILTER-0000000001 (stores: [])
	//       --> KSTREAM-SINK-0000000002
	//       <-- KSTREAM-SOURCE-0000000000
	//     Sink: KSTREAM-SINK-0000000002 (topic: out)
	//       <-- KSTREAM-FILTER-0000000001
}

// Stateless operators: filter, map, branch.
func ExampleStream_Split() {
	str := streams.StringSerde()
	b := streams.NewBuilder()
	orders := streams.NewStream(b, "orders", streams.ConsumedWith(str, str))
	upper := streams.MapValues(orders, func(_, v string) string { return strings.ToUpper(v) })
	branches := upper.Split(streams.Named("by-size-")).
		Branch(func(_, v string) bool { return strings.HasPrefix(v, "BIG") }, "big").
		DefaultBranch("small")
	branches["by-size-big"].To("big-orders")
	branches["by-size-small"].To("small-orders")
	topo, _ := b.Build()

	d, _ := streamstest.New(topo)
	defer d.Close()
	in := streamstest.CreateInputTopic(d, "orders", str, str)
	in.PipeInput("o1", "big tv")
	in.PipeInput("o2", "pen")
	in.PipeInput("o3", "big sofa")
	big, _ := streamstest.CreateOutputTopic(d, "big-orders", str, str).ReadValuesToList()
	small, _ := streamstest.CreateOutputTopic(d, "small-orders", str, str).ReadValuesToList()
	fmt.Println("big:", big)
	fmt.Println("small:", small)
	// Output:
	// big: [BIG TV BIG SOFA]
	// small: [PEN]
}

// Aggregating a stream into a table, and reading the table's store.
func ExampleAggregate() {
	str := streams.StringSerde()
	b := streams.NewBuilder()
	payments := streams.NewStream(b, "payments", streams.ConsumedWith(str, streams.Int64Serde()))
	type stats struct{ Count, Sum int64 }
	totals := streams.Aggregate(payments.GroupByKey(),
		func() stats { return stats{} },
		func(_ string, amount int64, s stats) stats { return stats{s.Count + 1, s.Sum + amount} },
		streams.MaterializedAs[string, stats]("totals"))
	totals.ToStream().Foreach(func(user string, s stats) { fmt.Printf("%s: %d payments, %d in total\n", user, s.Count, s.Sum) })
	topo, _ := b.Build()

	d, _ := streamstest.New(topo)
	defer d.Close()
	in := streamstest.CreateInputTopic(d, "payments", str, streams.Int64Serde())
	in.PipeInput("ann", 10)
	in.PipeInput("bob", 5)
	in.PipeInput("ann", 7)
	store, _ := streamstest.KeyValueStore[string, stats](d, "totals")
	s, _, _ := store.Get("ann")
	fmt.Println("store says ann:", s.Sum)
	// Output:
	// ann: 1 payments, 10 in total
	// bob: 1 payments, 5 in total
	// ann: 2 payments, 17 in total
	// store says ann: 17
}

// A table grouped by a new key, aggregated with an adder and a subtractor:
// when an entry changes group, it leaves the old group's aggregate.
func ExampleGroupByTable() {
	str := streams.StringSerde()
	b := streams.NewBuilder()
	// user -> city
	users := streams.NewTable(b, "users", streams.ConsumedWith(str, str))
	perCity := streams.GroupByTable(users, func(user, city string) (string, string) { return city, user }).
		Count(streams.MaterializedAs[string, int64]("users-per-city").WithCachingDisabled())
	perCity.ToStream().To("users-per-city", streams.ProducedWith(str, streams.Int64Serde()))
	topo, _ := b.Build()

	d, _ := streamstest.New(topo)
	defer d.Close()
	in := streamstest.CreateInputTopic(d, "users", str, str)
	in.PipeInput("ann", "paris")
	in.PipeInput("bob", "paris")
	in.PipeInput("ann", "rome") // ann moves
	in.PipeTombstone("bob")     // bob leaves
	out := streamstest.CreateOutputTopic(d, "users-per-city", str, streams.Int64Serde())
	final, _ := streamstest.ReadKeyValuesToMap(out)
	cities := make([]string, 0, len(final))
	for c := range final {
		cities = append(cities, c)
	}
	sort.Strings(cities)
	for _, c := range cities {
		fmt.Printf("%s=%d\n", c, final[c])
	}
	// Output:
	// paris=0
	// rome=1
}

// The Processor API: a custom processor with a store and a punctuation.
func ExampleProcess() {
	str := streams.StringSerde()
	b := streams.NewBuilder()
	streams.AddStateStore(b, streams.NewKeyValueStoreBuilder("last-seen", str, streams.Int64Serde()))
	visits := streams.NewStream(b, "visits", streams.ConsumedWith(str, str))
	// Every 10 stream-time seconds, report users not seen for 30 seconds.
	idle := streams.Process(visits, func() streams.Processor[string, string, string, string] {
		return &idleReporter{}
	}, streams.WithStores{"last-seen"})
	idle.Foreach(func(user, msg string) { fmt.Println(user, msg) })
	topo, _ := b.Build()

	d, _ := streamstest.New(topo)
	defer d.Close()
	in := streamstest.CreateInputTopic(d, "visits", str, str)
	in.PipeInputAt("ann", "/home", 1_000)
	in.PipeInputAt("bob", "/cart", 5_000)
	in.PipeInputAt("bob", "/pay", 40_000)
	// Output:
	// ann idle since 1000
}

type idleReporter struct {
	ctx  streams.ProcessorContext[string, string]
	seen streams.KeyValueStore[string, int64]
}

func (p *idleReporter) Init(ctx streams.ProcessorContext[string, string]) error {
	p.ctx = ctx
	var err error
	if p.seen, err = streams.GetKeyValueStore[string, int64](ctx, "last-seen"); err != nil {
		return err
	}
	_, err = ctx.Schedule(10*time.Second, streams.StreamTime, func(now int64) error {
		it, err := p.seen.All()
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Next() {
			if now-it.Value() >= 30_000 {
				if err := ctx.Forward(streams.NewRecord(it.Key(), fmt.Sprintf("idle since %d", it.Value()), now)); err != nil {
					return err
				}
				if _, _, err := p.seen.Delete(it.Key()); err != nil {
					return err
				}
			}
		}
		return it.Err()
	})
	return err
}

func (p *idleReporter) Process(r streams.Record[string, string]) error {
	return p.seen.Put(r.Key, r.Timestamp)
}

func (p *idleReporter) Close() error { return nil }
