package streams_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// activity is the cogrouped aggregate: clicks counted from one stream,
// amounts summed from another.
type activity struct {
	Clicks int64
	Spent  int64
}

func (a activity) String() string { return fmt.Sprintf("clicks=%d spent=%d", a.Clicks, a.Spent) }

func addClick(_ string, _ string, a activity) activity { a.Clicks++; return a }
func addSpend(_ string, amount int64, a activity) activity {
	a.Spent += amount
	return a
}

// cogroupInputs returns the two grouped streams of the tests: clicks
// (string values) and purchases (int64 amounts), by user.
func cogroupInputs(b *streams.Builder, rekey bool) (*streams.GroupedStream[string, string], *streams.GroupedStream[string, int64]) {
	clicks := streams.NewStream(b, "clicks", streams.ConsumedWith(ss, ss))
	purchases := streams.NewStream(b, "purchases", streams.ConsumedWith(ss, streams.Int64Serde()))
	if rekey {
		// The user is the value's prefix "user:page": a key change.
		return streams.GroupBy(clicks, func(_, v string) string { return strings.SplitN(v, ":", 2)[0] }, streams.GroupedWith(ss, ss)),
			streams.GroupBy(purchases, func(k string, _ int64) string { return strings.SplitN(k, ":", 2)[0] }, streams.GroupedWith(ss, streams.Int64Serde()))
	}
	return clicks.GroupByKey(), purchases.GroupByKey()
}

// cogroupDriver drives topo and returns the driver with its two inputs,
// "clicks" (strings) and "purchases" (amounts).
func cogroupDriver(t *testing.T, topo *streams.Topology) (*streamstest.Driver, *streamstest.InputTopic[string, string], *streamstest.InputTopic[string, int64]) {
	t.Helper()
	d := driver(t, topo)
	return d, streamstest.CreateInputTopic(d, "clicks", ss, ss), streamstest.CreateInputTopic(d, "purchases", ss, streams.Int64Serde())
}

func readActivity(t *testing.T, d *streamstest.Driver, ks streams.Serde[streams.Windowed[string]]) []string {
	t.Helper()
	var got []string
	if ks == nil {
		recs, err := streamstest.CreateOutputTopic(d, "out", ss, streams.MsgpackSerde[activity]()).ReadRecordsToList()
		must(t, err)
		for _, r := range recs {
			got = append(got, fmt.Sprintf("%s %v", r.Key, r.Value))
		}
		return got
	}
	recs, err := streamstest.CreateOutputTopic(d, "out", ks, streams.MsgpackSerde[activity]()).ReadRecordsToList()
	must(t, err)
	for _, r := range recs {
		v := "null"
		if !r.ValueNull {
			v = r.Value.String()
		}
		got = append(got, fmt.Sprintf("%s@%d/%d %s", r.Key.Key, r.Key.Window.Start, r.Key.Window.End, v))
	}
	return got
}

func wantLines(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Cogroup (KIP-150): two streams of different value types, each with its
// own aggregator, fold into one aggregate per key in one store; every
// update of either stream emits the new aggregate.
func TestCogroupAggregate(t *testing.T) {
	for _, rekey := range []bool{false, true} {
		t.Run(fmt.Sprintf("repartition=%v", rekey), func(t *testing.T) {
			b := streams.NewBuilder()
			g1, g2 := cogroupInputs(b, rekey)
			tbl := streams.CogroupWith(streams.Cogroup(g1, addClick), g2, addSpend).
				Aggregate(func() activity { return activity{} },
					streams.MaterializedAs[string, activity]("activity").WithCachingDisabled())
			tbl.ToStream().To("out", streams.ProducedWith(ss, streams.MsgpackSerde[activity]()))
			topo := build(t, b)
			desc := topo.Describe().String()
			if strings.Count(desc, "(stores: [activity])") != 2 || !strings.Contains(desc, "COGROUPKSTREAM-MERGE-") {
				t.Errorf("describe:\n%s", desc)
			}
			if rekey && (!strings.Contains(desc, "activity-0-repartition") || !strings.Contains(desc, "activity-1-repartition")) {
				t.Errorf("the cogrouped streams need a repartition topic each:\n%s", desc)
			}
			d, clicks, purchases := cogroupDriver(t, topo)
			if rekey {
				must(t, clicks.PipeInput("x", "alice:home"))
				must(t, purchases.PipeInput("alice:order-1", 30))
				must(t, clicks.PipeInput("y", "bob:cart"))
				must(t, clicks.PipeInput("z", "alice:cart"))
				must(t, purchases.PipeInput("bob:order-2", 5))
			} else {
				must(t, clicks.PipeInput("alice", "home"))
				must(t, purchases.PipeInput("alice", 30))
				must(t, clicks.PipeInput("bob", "cart"))
				must(t, clicks.PipeInput("alice", "cart"))
				must(t, purchases.PipeInput("bob", 5))
			}
			// Nulls are skipped, as in every aggregation.
			must(t, purchases.PipeTombstone("alice"))
			wantLines(t, readActivity(t, d, nil),
				"alice clicks=1 spent=0",
				"alice clicks=1 spent=30",
				"bob clicks=1 spent=0",
				"alice clicks=2 spent=30",
				"bob clicks=1 spent=5")
			store, err := streamstest.KeyValueStore[string, activity](d, "activity")
			must(t, err)
			if v, ok, err := store.Get("alice"); err != nil || !ok || v != (activity{Clicks: 2, Spent: 30}) {
				t.Errorf("activity[alice] = %v, %v, %v", v, ok, err)
			}
		})
	}
}

// Windowed cogroup: one aggregate per key and tumbling window, fed by both
// streams; with onWindowClose only the final results show.
func TestCogroupWindowedAggregate(t *testing.T) {
	for _, emit := range []streams.EmitStrategy{streams.EmitOnWindowUpdate, streams.EmitOnWindowClose} {
		t.Run(fmt.Sprint(emit), func(t *testing.T) {
			b := streams.NewBuilder()
			g1, g2 := cogroupInputs(b, false)
			size := 10 * time.Millisecond
			tbl := streams.CogroupWith(streams.Cogroup(g1, addClick), g2, addSpend).
				WindowedBy(streams.TimeWindowsOfSizeWithNoGrace(size)).EmitStrategy(emit).
				Aggregate(func() activity { return activity{} }, streams.MaterializedAs[string, activity]("activity").WithCachingDisabled())
			ks := streams.TimeWindowedSerde(ss, size)
			tbl.ToStream().To("out", streams.ProducedWith(ks, streams.MsgpackSerde[activity]()))
			d, clicks, purchases := cogroupDriver(t, build(t, b))
			must(t, clicks.PipeInputAt("alice", "home", 1))
			must(t, purchases.PipeInputAt("alice", 30, 4))
			must(t, clicks.PipeInputAt("alice", "cart", 12))
			must(t, purchases.PipeInputAt("alice", 7, 25))
			if emit == streams.EmitOnWindowUpdate {
				wantLines(t, readActivity(t, d, ks),
					"alice@0/10 clicks=1 spent=0",
					"alice@0/10 clicks=1 spent=30",
					"alice@10/20 clicks=1 spent=0",
					"alice@20/30 clicks=0 spent=7")
			} else {
				wantLines(t, readActivity(t, d, ks),
					"alice@0/10 clicks=1 spent=30",
					"alice@10/20 clicks=1 spent=0")
			}
		})
	}
}

// Session cogroup: a record of either stream extends a session, and one
// that bridges two sessions merges their aggregates with the merger.
func TestCogroupSessionAggregate(t *testing.T) {
	b := streams.NewBuilder()
	g1, g2 := cogroupInputs(b, false)
	tbl := streams.CogroupWith(streams.Cogroup(g1, addClick), g2, addSpend).
		WindowedBySession(streams.SessionWindowsOfInactivityGapAndGrace(5*time.Millisecond, 10*time.Millisecond)).
		Aggregate(func() activity { return activity{} },
			func(_ string, a, b activity) activity {
				return activity{Clicks: a.Clicks + b.Clicks, Spent: a.Spent + b.Spent}
			},
			streams.MaterializedAs[string, activity]("sessions").WithCachingDisabled())
	ks := streams.SessionWindowedSerde(ss)
	tbl.ToStream().To("out", streams.ProducedWith(ks, streams.MsgpackSerde[activity]()))
	d, clicks, purchases := cogroupDriver(t, build(t, b))
	must(t, clicks.PipeInputAt("alice", "home", 0))
	must(t, purchases.PipeInputAt("alice", 30, 8))
	// Within the gap of both sessions: merges them.
	must(t, clicks.PipeInputAt("alice", "cart", 4))
	wantLines(t, readActivity(t, d, ks),
		"alice@0/0 clicks=1 spent=0",
		"alice@8/8 clicks=0 spent=30",
		"alice@0/0 null",
		"alice@8/8 null",
		"alice@0/8 clicks=2 spent=30")
}

// Cogroup end to end on brokerlite: two input topics of two partitions,
// one aggregate per user.
func TestCogroupEndToEnd(t *testing.T) {
	br := startBrokerlite(t)
	id := uniq("cogroup")
	createTopic(t, br.addrs, 2, "clicks-"+id, "purchases-"+id, id+"-out")
	b := streams.NewBuilder()
	clicks := streams.NewStream(b, "clicks-"+id, streams.ConsumedWith(ss, ss)).GroupByKey()
	purchases := streams.NewStream(b, "purchases-"+id, streams.ConsumedWith(ss, streams.Int64Serde())).GroupByKey()
	streams.CogroupWith(streams.Cogroup(clicks, addClick), purchases, addSpend).
		Aggregate(func() activity { return activity{} }, streams.MaterializedAs[string, activity]("activity")).
		ToStream().To(id+"-out", streams.ProducedWith(ss, streams.MsgpackSerde[activity]()))
	startApp(t, build(t, b), streams.Properties{
		"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(), "commit.interval.ms": "100",
	})
	var recs []*kgo.Record
	want := map[string]activity{}
	for i := 0; i < 40; i++ {
		user := fmt.Sprintf("user-%d", i%5)
		if i%3 == 0 {
			v, _ := streams.Int64Serde().Serialize(int64(i))
			recs = append(recs, &kgo.Record{Topic: "purchases-" + id, Key: []byte(user), Value: v})
			a := want[user]
			a.Spent += int64(i)
			want[user] = a
		} else {
			recs = append(recs, &kgo.Record{Topic: "clicks-" + id, Key: []byte(user), Value: []byte("page")})
			a := want[user]
			a.Clicks++
			want[user] = a
		}
	}
	produce(t, br.addrs, recs...)
	dec := streams.MsgpackSerde[activity]()
	var got map[string]activity
	consumeUntil(t, br.addrs, id+"-out", 30*time.Second, func(rs []*kgo.Record) bool {
		got = map[string]activity{}
		for _, r := range rs {
			v, err := dec.Deserialize(r.Value)
			must(t, err)
			got[string(r.Key)] = v
		}
		return fmt.Sprint(got) == fmt.Sprint(want)
	})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("aggregates\n got %v\nwant %v", got, want)
	}
}
