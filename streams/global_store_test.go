package streams_test

import (
	"strings"
	"testing"

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
