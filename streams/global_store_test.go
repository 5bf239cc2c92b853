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

// rateKeeper keeps the latest rate per currency in the global store,
// upper-cased, and deletes a currency on a tombstone.
type rateKeeper struct {
	rates streams.KeyValueStore[string, string]
}

func (p *rateKeeper) Init(ctx streams.ProcessorContext[string, string]) (err error) {
	p.rates, err = streams.GetKeyValueStore[string, string](ctx, "rates")
	return err
}

func (p *rateKeeper) Process(r streams.Record[string, string]) error {
	if r.ValueIsNull() {
		_, _, err := p.rates.Delete(r.Key)
		return err
	}
	return p.rates.Put(r.Key, strings.ToUpper(r.Value))
}

func (p *rateKeeper) Close() error { return nil }

// A global store fed by a custom processor, read by a stream processor in
// another sub-topology (Kafka Streams' addGlobalStore).
func TestGlobalStoreWithCustomProcessor(t *testing.T) {
	b := streams.NewBuilder()
	streams.AddGlobalStore(b, streams.NewKeyValueStoreBuilder("rates", ss, ss).WithLoggingDisabled(), "rates",
		streams.ConsumedWith(ss, ss), func() streams.Processor[string, string, string, string] { return &rateKeeper{} })
	orders := streams.NewStream(b, "orders", streams.ConsumedWith(ss, ss))
	streams.Process(orders, streams.ProcessorFunc(func(ctx streams.ProcessorContext[string, string], r streams.Record[string, string]) error {
		rate, err := lookup(ctx, "rates", r.Value, "unknown")
		if err != nil {
			return err
		}
		return ctx.Forward(r.WithValue(r.Value + "@" + rate))
	})).To("priced")
	topo := build(t, b)
	if d := topo.Describe().String(); !strings.Contains(d, "Sub-topology: 0 for global store") || !strings.Contains(d, "Processor: KSTREAM-PROCESSOR-0000000001 (stores: [rates])") {
		t.Errorf("describe:\n%s", d)
	}
	d := driver(t, topo)
	rates := streamstest.CreateInputTopic(d, "rates", ss, ss)
	in := streamstest.CreateInputTopic(d, "orders", ss, ss)
	must(t, rates.PipeInput("eur", "one-point-one"))
	must(t, in.PipeInput("o1", "eur"))
	must(t, in.PipeInput("o2", "usd"))
	must(t, rates.PipeTombstone("eur"))
	must(t, in.PipeInput("o3", "eur"))
	kvs, err := streamstest.CreateOutputTopic(d, "priced", ss, ss).ReadKeyValuesToList()
	must(t, err)
	var got []string
	for _, kv := range kvs {
		got = append(got, kv.Key+"="+kv.Value)
	}
	if strings.Join(got, " ") != "o1=eur@ONE-POINT-ONE o2=usd@unknown o3=eur@unknown" {
		t.Fatalf("output %v", got)
	}
}

// globalLookupTopology joins the stream "orders" (order id to customer id)
// with the global table "customers", writing "order+name" (or
// "order+null") to "out".
func globalLookupTopology(t testing.TB, customers string, orders string, out string) *streams.Topology {
	b := streams.NewBuilder()
	g := streams.NewGlobalTable(b, customers, streams.ConsumedWith(ss, ss))
	s := streams.NewStream(b, orders, streams.ConsumedWith(ss, ss))
	streams.LeftJoinWithGlobalTable(s, g, func(_, v string) string { return v }, func(k, _ string, c *string) string {
		if c == nil {
			return k + "+null"
		}
		return k + "+" + *c
	}).To(out, streams.ProducedWith(ss, ss))
	return build(t, b)
}

// eventTimeOnly is an application timestamp extractor for the topic
// "orders" only: it gives -1 (an invalid timestamp) for any other topic.
func eventTimeOnly(r *streams.RawRecord, _ int64) (int64, error) {
	if strings.HasSuffix(r.Topic, "orders") {
		return r.Timestamp, nil
	}
	return -1, nil
}

// Global topics are read with the records' own timestamps, as Kafka
// Streams reads them: the application's timestamp extractor does not run
// on them, so one meant for the event topics cannot make global records
// be dropped, and a global record with a negative timestamp of its own is
// applied rather than dropped or failing.
func TestGlobalTableIgnoresTimestampExtractor(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []streamstest.Option
		custTS  int64
		dropped int64
	}{
		{name: "app extractor", opts: []streamstest.Option{streamstest.WithTimestampExtractor(eventTimeOnly)}, custTS: 1},
		{name: "negative own timestamp", custTS: -1},
		{name: "negative own timestamp, skipping extractor", opts: []streamstest.Option{streamstest.WithTimestampExtractor(streams.LogAndSkipOnInvalidTimestamp)}, custTS: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := driver(t, globalLookupTopology(t, "customers", "orders", "out"), tc.opts...)
			cust := streamstest.CreateInputTopic(d, "customers", ss, ss)
			orders := streamstest.CreateInputTopic(d, "orders", ss, ss)
			must(t, cust.PipeInputAt("c1", "alice", tc.custTS))
			must(t, orders.PipeInputAt("o1", "c1", 2))
			got, err := streamstest.CreateOutputTopic(d, "out", ss, ss).ReadValuesToList()
			must(t, err)
			if fmt.Sprint(got) != "[o1+alice]" {
				t.Errorf("joined %v, want [o1+alice]", got)
			}
			if n := d.Stats().DroppedRecords.Load(); n != 0 {
				t.Errorf("dropped %d records, want 0", n)
			}
		})
	}
}

// The same with an application: its global thread applies a global record
// the application's timestamp extractor gives -1.
func TestGlobalThreadIgnoresTimestampExtractor(t *testing.T) {
	br := startBrokerlite(t)
	id := uniq("gts")
	customers, orders, out := id+"-customers", id+"-orders", id+"-out"
	createTopic(t, br.addrs, 1, customers, orders, out)
	produce(t, br.addrs, &kgo.Record{Topic: customers, Key: []byte("c1"), Value: []byte("alice")})
	startApp(t, globalLookupTopology(t, customers, orders, out), streams.Properties{
		"application.id": id, "bootstrap.servers": strings.Join(br.addrs, ","), "state.dir": t.TempDir(),
	}, streams.WithTimestampExtractor(eventTimeOnly))
	produce(t, br.addrs, &kgo.Record{Topic: orders, Key: []byte("o1"), Value: []byte("c1")})
	recs := consumeUntil(t, br.addrs, out, 30*time.Second, func(rs []*kgo.Record) bool { return len(rs) > 0 })
	if len(recs) != 1 || string(recs[0].Value) != "o1+alice" {
		var got []string
		for _, r := range recs {
			got = append(got, string(r.Value))
		}
		t.Fatalf("joined %v, want [o1+alice]", got)
	}
}
