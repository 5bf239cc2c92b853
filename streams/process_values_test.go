package streams_test

import (
	"errors"
	"strings"
	"testing"
	"time"

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
	recs, err := streamstest.CreateOutputTopic(d, "upper-out", ss, ss).ReadRecordsToList()
	must(t, err)
	var got []string
	for _, r := range recs {
		if r.ValueNull {
			got = append(got, r.Key+"=null")
		} else {
			got = append(got, r.Key+"="+r.Value)
		}
	}
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
