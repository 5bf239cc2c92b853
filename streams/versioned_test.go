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

// versionedJoinTopology: prices (a versioned table, history 30ms) joined by
// orders as of each order's time; the table's updates go to "updates".
func versionedJoinTopology(t *testing.T, left bool) *streams.Topology {
	b := streams.NewBuilder()
	prices := streams.NewTable(b, "prices", streams.ConsumedWith(ss, ss),
		streams.MaterializedAs[string, string]("prices").WithVersioning(30*time.Millisecond))
	prices.ToStream().To("updates")
	orders := streams.NewStream(b, "orders", streams.ConsumedWith(ss, ss))
	if left {
		streams.LeftJoinWithTable(orders, prices, func(_, o string, p *string) string {
			if p == nil {
				return o + "@none"
			}
			return o + "@" + *p
		}).To("priced")
	} else {
		streams.JoinWithTable(orders, prices, func(_, o, p string) string { return o + "@" + p }).To("priced")
	}
	return build(t, b)
}

func readPlain(t *testing.T, d *streamstest.Driver, topic string) string {
	t.Helper()
	return readTimed(t, streamstest.CreateOutputTopic(d, topic, ss, ss), "=")
}

// A stream-table join against a versioned table joins each stream record
// with the value the table had at the record's time (KIP-914), not the
// latest one; an out-of-order table update changes the history but not
// the table's current value, so it is not sent downstream.
func TestVersionedTableJoinAsOfRecordTime(t *testing.T) {
	for _, left := range []bool{false, true} {
		t.Run(fmt.Sprintf("left=%v", left), func(t *testing.T) {
			d := driver(t, versionedJoinTopology(t, left))
			prices := streamstest.CreateInputTopic(d, "prices", ss, ss)
			orders := streamstest.CreateInputTopic(d, "orders", ss, ss)
			must(t, prices.PipeInputAt("tea", "A", 10))
			must(t, prices.PipeInputAt("tea", "B", 20))
			must(t, orders.PipeInputAt("tea", "o15", 15))
			must(t, orders.PipeInputAt("tea", "o25", 25))
			must(t, orders.PipeInputAt("tea", "o5", 5)) // before any price
			// Out of order: valid from 12 to 20.
			must(t, prices.PipeInputAt("tea", "C", 12))
			must(t, orders.PipeInputAt("tea", "o13", 13))
			must(t, orders.PipeInputAt("tea", "o11", 11))
			// A delete at 22: orders after it find nothing.
			must(t, prices.PipeRecord(streamstest.TestRecord[string, string]{Key: "tea", ValueNull: true, Timestamp: 22}))
			must(t, orders.PipeInputAt("tea", "o26", 26))
			must(t, orders.PipeInputAt("tea", "o21", 21))

			if got, want := readPlain(t, d, "updates"), "tea=A@10 tea=B@20 tea=null@22"; got != want {
				t.Errorf("table updates %q, want %q (the out-of-order C is not sent)", got, want)
			}
			want := "tea=o15@A@15 tea=o25@B@25 tea=o13@C@13 tea=o11@A@11 tea=o21@B@21"
			if left {
				want = "tea=o15@A@15 tea=o25@B@25 tea=o5@none@5 tea=o13@C@13 tea=o11@A@11 tea=o26@none@26 tea=o21@B@21"
			}
			got := readPlain(t, d, "priced")
			if got != want {
				t.Errorf("joined %q\nwant  %q", got, want)
			}
		})
	}
}

// The versioned store keeps the history for its retention: versions no
// lookup within it can reach are pruned when the key is written.
func TestVersionedStoreHistoryRetention(t *testing.T) {
	d := driver(t, versionedJoinTopology(t, false))
	prices := streamstest.CreateInputTopic(d, "prices", ss, ss)
	must(t, prices.PipeInputAt("tea", "A", 10))
	must(t, prices.PipeInputAt("tea", "B", 20))
	must(t, prices.PipeInputAt("tea", "C", 40))
	vs, err := streams.GetVersionedKeyValueStore[string, string](d, "prices")
	must(t, err)
	check := func(asOf int64, want string) {
		t.Helper()
		r, ok, err := vs.GetAsOf("tea", asOf)
		must(t, err)
		got := "none"
		if ok {
			got = fmt.Sprintf("%s@%d", r.Value, r.Timestamp)
		}
		if got != want {
			t.Errorf("GetAsOf(tea, %d) = %s, want %s", asOf, got, want)
		}
	}
	check(15, "A@10")
	check(25, "B@20")
	check(45, "C@40")
	if r, ok, err := vs.Get("tea"); err != nil || !ok || r.Value != "C" {
		t.Errorf("Get = %v, %v, %v", r, ok, err)
	}
	// Stream time 70, history 30: the horizon is 40; C (valid from 40) is
	// the version at the horizon, A and B are pruned.
	must(t, prices.PipeInputAt("tea", "D", 70))
	check(15, "none")
	check(25, "none")
	check(45, "C@40")
	check(70, "D@70")
	// Older than the history: dropped, counted.
	before := d.Stats().DroppedRecords.Load()
	must(t, prices.PipeInputAt("tea", "old", 30))
	if d.Stats().DroppedRecords.Load() != before+1 {
		t.Error("an update older than the history was not dropped")
	}
	check(35, "none")
}

// The history is measured back from the store's own stream time (the
// latest timestamp put into it), as in Kafka Streams, not from the task's:
// orders far ahead of the prices do not make a price update too old to keep.
func TestVersionedStoreHistoryFollowsItsOwnStreamTime(t *testing.T) {
	d := driver(t, versionedJoinTopology(t, false))
	prices := streamstest.CreateInputTopic(d, "prices", ss, ss)
	orders := streamstest.CreateInputTopic(d, "orders", ss, ss)
	must(t, orders.PipeInputAt("tea", "o1000", 1000)) // no price yet
	before := d.Stats().DroppedRecords.Load()
	must(t, prices.PipeInputAt("tea", "A", 100))
	if d.Stats().DroppedRecords.Load() != before {
		t.Error("a price within the store's history was dropped")
	}
	must(t, orders.PipeInputAt("tea", "o150", 150))
	if got, want := readPlain(t, d, "priced"), "tea=o150@A@150"; got != want {
		t.Errorf("joined %q, want %q", got, want)
	}
	// The store's own stream time now decides: 100 + 30 of history.
	must(t, prices.PipeInputAt("tea", "B", 200))
	must(t, prices.PipeInputAt("tea", "old", 169))
	if d.Stats().DroppedRecords.Load() != before+1 {
		t.Error("a price older than the store's history was kept")
	}
}

// A lookup older than the history finds nothing, as in Kafka Streams, also
// for a key whose old versions are not pruned yet (it was not written since).
func TestVersionedStoreLookupOlderThanHistory(t *testing.T) {
	d := driver(t, versionedJoinTopology(t, true))
	prices := streamstest.CreateInputTopic(d, "prices", ss, ss)
	orders := streamstest.CreateInputTopic(d, "orders", ss, ss)
	must(t, prices.PipeInputAt("coffee", "X", 10))
	must(t, prices.PipeInputAt("tea", "A", 100)) // history 30: the horizon is 70
	vs, err := streams.GetVersionedKeyValueStore[string, string](d, "prices")
	must(t, err)
	if r, ok, err := vs.GetAsOf("coffee", 50); err != nil || ok {
		t.Errorf("GetAsOf(coffee, 50) = %v, %v, %v; want none (older than the history)", r, ok, err)
	}
	if r, ok, err := vs.GetAsOf("coffee", 70); err != nil || !ok || r.Value != "X" {
		t.Errorf("GetAsOf(coffee, 70) = %v, %v, %v; want X", r, ok, err)
	}
	if r, ok, err := vs.Get("coffee"); err != nil || !ok || r.Value != "X" {
		t.Errorf("Get(coffee) = %v, %v, %v; want X", r, ok, err)
	}
	must(t, orders.PipeInputAt("coffee", "o50", 50))
	must(t, orders.PipeInputAt("coffee", "o80", 80))
	if got, want := readPlain(t, d, "priced"), "coffee=o50@none@50 coffee=o80@X@80"; got != want {
		t.Errorf("joined %q, want %q", got, want)
	}
}

// End to end on brokerlite: a versioned table on Badger survives a restart
// on a fresh state directory (restored from its changelog, every version)
// and joins as of each order's time.
func TestVersionedTableJoinEndToEnd(t *testing.T) {
	br := startBrokerlite(t)
	id := uniq("versioned")
	createTopic(t, br.addrs, 1, id+"-prices", id+"-orders", id+"-priced")
	b := streams.NewBuilder()
	prices := streams.NewTable(b, id+"-prices", streams.ConsumedWith(ss, ss),
		streams.MaterializedAs[string, string]("prices").WithVersioning(time.Hour))
	streams.JoinWithTable(streams.NewStream(b, id+"-orders", streams.ConsumedWith(ss, ss)), prices,
		func(_, o, p string) string { return o + "@" + p }).To(id + "-priced")
	topo := build(t, b)
	rec := func(topic, k, v string, ms int64) *kgo.Record {
		return &kgo.Record{Topic: id + topic, Key: []byte(k), Value: []byte(v), Timestamp: time.UnixMilli(ms)}
	}
	run := func(stateDir string, orders []*kgo.Record, want string) {
		t.Helper()
		app := startAppNoCleanup(t, topo, streams.Properties{
			"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": stateDir, "commit.interval.ms": "100",
		})
		waitState(t, app, streams.StateRunning, 30*time.Second)
		produce(t, br.addrs, orders...)
		var got []string
		consumeUntil(t, br.addrs, id+"-priced", 30*time.Second, func(rs []*kgo.Record) bool {
			got = got[:0]
			for _, r := range rs {
				got = append(got, string(r.Value))
			}
			return strings.Join(got, " ") == want
		})
		if strings.Join(got, " ") != want {
			t.Fatalf("joined %v, want %s", got, want)
		}
		q, err := streams.QueryVersionedKeyValueStore[string, string](app, "prices")
		must(t, err)
		if r, ok, err := q.GetAsOf("tea", 1600); err != nil || !ok || r.Value != "C" || r.Timestamp != 1500 {
			t.Errorf("query GetAsOf(tea, 1600) = %+v, %v, %v", r, ok, err)
		}
		if r, ok, err := q.Get("tea"); err != nil || !ok || r.Value != "B" {
			t.Errorf("query Get(tea) = %+v, %v, %v", r, ok, err)
		}
		mustClose(t, app, 30*time.Second)
	}
	produce(t, br.addrs, rec("-prices", "tea", "A", 1000), rec("-prices", "tea", "B", 2000), rec("-prices", "tea", "C", 1500))
	run(t.TempDir(), []*kgo.Record{rec("-orders", "tea", "o1", 1200), rec("-orders", "tea", "o2", 2500)}, "o1@A o2@B")
	// A fresh state directory: the store is restored from its changelog,
	// history included.
	run(t.TempDir(), []*kgo.Record{rec("-orders", "tea", "o3", 1600), rec("-orders", "tea", "o4", 1100)}, "o1@A o2@B o3@C o4@A")
}

// A join with a grace period (KIP-923) holds stream records until stream
// time passes their time plus the grace (checked when a stream record
// arrives), so a table update that arrives late but within the grace is
// still seen; results come in timestamp order. Records already older than
// stream time minus grace join at once.
func TestVersionedTableJoinWithGrace(t *testing.T) {
	b := streams.NewBuilder()
	prices := streams.NewTable(b, "prices", streams.ConsumedWith(ss, ss),
		streams.MaterializedAs[string, string]("prices").WithVersioning(time.Minute))
	orders := streams.NewStream(b, "orders", streams.ConsumedWith(ss, ss))
	streams.JoinWithTable(orders, prices, func(_, o, p string) string { return o + "@" + p },
		streams.JoinedWith(ss, ss, ss).WithName("priced").WithGracePeriod(10*time.Millisecond)).To("priced")
	topo := build(t, b)
	if d := topo.Describe().String(); !strings.Contains(d, "priced-buffer-store") {
		t.Errorf("no buffer store:\n%s", d)
	}
	d := driver(t, topo)
	pr := streamstest.CreateInputTopic(d, "prices", ss, ss)
	or := streamstest.CreateInputTopic(d, "orders", ss, ss)
	must(t, pr.PipeInputAt("tea", "A", 10))
	must(t, or.PipeInputAt("tea", "o20", 20)) // held until stream time 30
	must(t, or.PipeInputAt("tea", "o16", 16)) // held until 26
	if got := readPlain(t, d, "priced"); got != "" {
		t.Fatalf("results before the grace period passed: %s", got)
	}
	// A late price, valid from 15: o16 and o20 must see it.
	must(t, pr.PipeInputAt("tea", "B", 15))
	// Table updates do not release held records; the next stream record
	// does, once stream time passed their time plus grace.
	must(t, pr.PipeInputAt("tea", "C", 27))
	if got := readPlain(t, d, "priced"); got != "" {
		t.Fatalf("a table update released held records: %s", got)
	}
	must(t, or.PipeInputAt("tea", "o31", 31)) // stream time 31: o16 and o20 are due
	// Older than stream time minus grace: joined at once.
	must(t, or.PipeInputAt("tea", "o12", 12))
	if got, want := readPlain(t, d, "priced"), "tea=o16@B@16 tea=o20@B@20 tea=o12@A@12"; got != want {
		t.Fatalf("after stream time 31: %s, want %s", got, want)
	}
	must(t, or.PipeInputAt("tea", "o50", 50))
	if got, want := readPlain(t, d, "priced"), "tea=o31@C@31"; got != want {
		t.Fatalf("after stream time 50: %s, want %s", got, want)
	}
}

// A grace period needs a versioned table.
func TestJoinGraceNeedsVersionedTable(t *testing.T) {
	b := streams.NewBuilder()
	prices := streams.NewTable(b, "prices", streams.ConsumedWith(ss, ss))
	streams.JoinWithTable(streams.NewStream(b, "orders", streams.ConsumedWith(ss, ss)), prices,
		func(_, o, p string) string { return o + p }, streams.JoinedWith(ss, ss, ss).WithGracePeriod(time.Second)).To("out")
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "versioned") {
		t.Fatalf("build: %v, want a refusal naming versioned tables", err)
	}
}

// Versioning asked of a store that is not a table's (an aggregation, a
// filter, a global table) is refused at build time, never silently
// dropped.
func TestVersioningRefusedWhereNotGiven(t *testing.T) {
	cases := map[string]func(b *streams.Builder){
		"count": func(b *streams.Builder) {
			streams.NewStream(b, "in", streams.ConsumedWith(ss, ss)).GroupByKey().
				Count(streams.MaterializedAs[string, int64]("counts").WithVersioning(time.Hour))
		},
		"windowed count": func(b *streams.Builder) {
			streams.WindowedBy(streams.NewStream(b, "in", streams.ConsumedWith(ss, ss)).GroupByKey(), streams.TimeWindowsOfSizeWithNoGrace(time.Minute)).
				Count(streams.MaterializedAs[string, int64]("counts").WithVersioning(time.Hour))
		},
		"table filter": func(b *streams.Builder) {
			streams.NewTable(b, "in", streams.ConsumedWith(ss, ss)).
				Filter(func(_, v string) bool { return v != "" }, streams.MaterializedAs[string, string]("filtered").WithVersioning(time.Hour))
		},
		"global table": func(b *streams.Builder) {
			streams.NewGlobalTable(b, "in", streams.ConsumedWith(ss, ss), streams.MaterializedAs[string, string]("g").WithVersioning(time.Hour))
		},
	}
	for name, add := range cases {
		t.Run(name, func(t *testing.T) {
			b := streams.NewBuilder()
			add(b)
			if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "versioning") {
				t.Fatalf("build: %v, want a refusal", err)
			}
		})
	}
	// ToTable gives it.
	b := streams.NewBuilder()
	streams.NewStream(b, "in", streams.ConsumedWith(ss, ss)).ToTable(streams.MaterializedAs[string, string]("t").WithVersioning(time.Hour))
	build(t, b)
}
