package streams_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// upperValues forwards the upper-cased value under a key it tries to change.
type upperValues struct {
	ctx streams.ProcessorContext[string, string]
}

func (p *upperValues) Init(ctx streams.ProcessorContext[string, string]) error {
	p.ctx = ctx
	return nil
}
func (p *upperValues) Process(r streams.Record[string, string]) error {
	if r.ValueIsNull() {
		return p.ctx.Forward(r)
	}
	return p.ctx.Forward(streams.NewRecord("changed-"+r.Key, strings.ToUpper(r.Value), r.Timestamp))
}
func (p *upperValues) Close() error { return nil }

// ProcessValues keeps each record's key, so the grouping after it needs no
// repartition topic (after Process it does), as Kafka Streams' processValues.
func TestProcessValuesKeepsKeyAndNeedsNoRepartition(t *testing.T) {
	topo := func(values bool) *streams.Topology {
		b := streams.NewBuilder()
		s := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
		var up *streams.Stream[string, string]
		if values {
			up = streams.ProcessValues(s, func() streams.Processor[string, string, string, string] { return &upperValues{} }, streams.Named("upper"))
		} else {
			up = streams.Process(s, func() streams.Processor[string, string, string, string] { return &upperValues{} }, streams.Named("upper"))
		}
		up.To("upper-out", streams.ProducedWith(ss, ss))
		up.GroupByKey(streams.GroupedWith(ss, ss)).Count(streams.MaterializedAs[string, int64]("counts")).
			ToStream().To("out", streams.ProducedWith(ss, streams.Int64Serde()))
		return build(t, b)
	}
	if d := topo(true).Describe().String(); strings.Contains(d, "repartition") || !strings.Contains(d, "Processor: upper") {
		t.Errorf("ProcessValues then GroupByKey:\n%s", d)
	}
	if d := topo(false).Describe().String(); !strings.Contains(d, "counts-repartition") {
		t.Errorf("Process then GroupByKey has no repartition topic:\n%s", d)
	}

	d := driver(t, topo(true))
	in := streamstest.CreateInputTopic(d, "in", ss, ss)
	must(t, in.PipeInput("k1", "a"))
	must(t, in.PipeInput("k1", "b"))
	must(t, in.PipeInput("k2", "c"))
	must(t, in.PipeTombstone("k2"))
	got := readKeyValues(t, d, "upper-out")
	if strings.Join(got, " ") != "k1=A k1=B k2=C k2=null" {
		t.Errorf("ProcessValues output %v: keys must stay", got)
	}
	kvs, err := streamstest.CreateOutputTopic(d, "out", ss, streams.Int64Serde()).ReadKeyValuesToList()
	must(t, err)
	last := map[string]int64{}
	for _, kv := range kvs {
		last[kv.Key] = kv.Value
	}
	if last["k1"] != 2 || last["k2"] != 1 || len(last) != 2 {
		t.Errorf("counts after ProcessValues: %v", last)
	}
}

// A ProcessValues processor cannot forward from a punctuation: no record's
// key to keep.
func TestProcessValuesForwardInPunctuationFails(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	var fwdErr error
	streams.ProcessValues(s, streams.ProcessorSupplier[string, string, string, string](func() streams.Processor[string, string, string, string] {
		return &punctuatingProc{onErr: func(err error) { fwdErr = err }}
	})).To("out")
	d := driver(t, build(t, b))
	must(t, streamstest.CreateInputTopic(d, "in", ss, ss).PipeInput("k", "v"))
	must(t, d.AdvanceWallClockTime(2*time.Second))
	if !errors.Is(fwdErr, streams.ErrKeyFixed) {
		t.Fatalf("forward from a punctuation: %v, want ErrKeyFixed", fwdErr)
	}
}

type punctuatingProc struct {
	ctx   streams.ProcessorContext[string, string]
	onErr func(error)
}

func (p *punctuatingProc) Init(ctx streams.ProcessorContext[string, string]) error {
	p.ctx = ctx
	_, err := ctx.Schedule(time.Second, streams.WallClockTime, func(ts int64) error {
		p.onErr(ctx.Forward(streams.NewRecord("k", "tick", ts)))
		return nil
	})
	return err
}
func (p *punctuatingProc) Process(r streams.Record[string, string]) error { return p.ctx.Forward(r) }
func (p *punctuatingProc) Close() error                                   { return nil }

// End to end on brokerlite: ProcessValues then a windowed count that emits
// on window close. No repartition topic is created, and each window's
// count arrives once, final.
func TestProcessValuesAndEmitOnWindowCloseEndToEnd(t *testing.T) {
	br := startBrokerlite(t)
	id, in, out := uniqTopics(t, br.addrs, "pvclose", 2)
	b := streams.NewBuilder()
	s := streams.NewStream(b, in, streams.ConsumedWith(ss, ss))
	up := streams.ProcessValues(s, func() streams.Processor[string, string, string, string] { return &upperValues{} })
	size := 10 * time.Second
	streams.WindowedBy(up.GroupByKey(), streams.TimeWindowsOfSizeWithNoGrace(size)).EmitStrategy(streams.EmitOnWindowClose).
		Count(streams.MaterializedAs[string, int64]("per-10s")).
		ToStream().To(out, streams.ProducedWith(streams.TimeWindowedSerde(ss, size), streams.Int64Serde()))
	startApp(t, build(t, b), streams.Properties{
		"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(), "commit.interval.ms": "100",
	})
	at := func(key string, sec int64) *kgo.Record {
		return &kgo.Record{Topic: in, Key: []byte(key), Value: []byte("v"), Timestamp: time.UnixMilli(sec * 1000)}
	}
	// In time order, whichever partitions the keys land on; the records
	// at 100s close every earlier window of both keys.
	produce(t, br.addrs, at("a", 1), at("a", 2), at("b", 5), at("a", 12), at("b", 25), at("a", 100), at("b", 100))
	ks := streams.TimeWindowedSerde(ss, size)
	want := "a@0=2 a@10000=1 b@0=1 b@20000=1"
	var got []string
	consumeUntil(t, br.addrs, out, 30*time.Second, func(rs []*kgo.Record) bool {
		got = got[:0]
		for _, r := range rs {
			w, err := ks.Deserialize(r.Key)
			must(t, err)
			n, err := streams.Int64Serde().Deserialize(r.Value)
			must(t, err)
			got = append(got, fmt.Sprintf("%s@%d=%d", w.Key, w.Window.Start, n))
		}
		sort.Strings(got)
		return strings.Join(got, " ") == want
	})
	if strings.Join(got, " ") != want {
		t.Fatalf("final counts %v, want %s (each window once)", got, want)
	}
	topics, err := adminFor(t, br.addrs).ListTopics(context.Background())
	must(t, err)
	for _, tp := range topics.Names() {
		if strings.HasSuffix(tp, "-repartition") {
			t.Errorf("repartition topic %s created after ProcessValues", tp)
		}
	}
}
