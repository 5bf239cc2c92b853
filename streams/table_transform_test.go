package streams_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// versionTagger appends to each value how many updates its key has had,
// counted in a store of its own.
type versionTagger struct {
	seen streams.KeyValueStore[string, int64]
}

func (v *versionTagger) Init(stores streams.StoreProvider) (err error) {
	v.seen, err = streams.GetKeyValueStore[string, int64](stores, "updates")
	return err
}

func (v *versionTagger) Transform(key, value string) (string, error) {
	n, _, err := v.seen.Get(key)
	if err != nil {
		return "", err
	}
	n++
	if err := v.seen.Put(key, n); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s#%d", value, n), nil
}

func (v *versionTagger) Close() error { return nil }

// KTable.transformValues with a state store: each update is transformed
// with the store, deletes stay deletes, and the result is materialized and
// queryable.
func TestTransformValuesTableWithStore(t *testing.T) {
	b := streams.NewBuilder()
	streams.AddStateStore(b, streams.NewKeyValueStoreBuilder("updates", ss, streams.Int64Serde()))
	tbl := streams.NewTable(b, "in", streams.ConsumedWith(ss, ss), streams.MaterializedAs[string, string]("source").WithCachingDisabled())
	tagged := streams.TransformValuesTable(tbl, func() streams.ValueTransformer[string, string, string] { return &versionTagger{} },
		streams.WithStores{"updates"}, streams.Named("tag"),
		streams.MaterializedAs[string, string]("tagged").WithCachingDisabled())
	tagged.ToStream().To("out")
	topo := build(t, b)
	if d := topo.Describe().String(); !strings.Contains(d, "Processor: tag (stores: [tagged, updates])") {
		t.Errorf("describe:\n%s", d)
	}
	d := driver(t, topo)
	in := streamstest.CreateInputTopic(d, "in", ss, ss)
	must(t, in.PipeInput("a", "x"))
	must(t, in.PipeInput("b", "y"))
	must(t, in.PipeInput("a", "z"))
	must(t, in.PipeTombstone("b"))
	must(t, in.PipeTombstone("never-set"))
	got := readKeyValues(t, d, "out")
	if strings.Join(got, " ") != "a=x#1 b=y#1 a=z#2 b=null" {
		t.Errorf("output %v", got)
	}
	store, err := streamstest.KeyValueStore[string, string](d, "tagged")
	must(t, err)
	if v, ok, err := store.Get("a"); err != nil || !ok || v != "z#2" {
		t.Errorf("tagged[a] = %q, %v, %v", v, ok, err)
	}
	if _, ok, _ := store.Get("b"); ok {
		t.Error("tagged[b] survived its delete")
	}
}

// Without a Materialized the result cannot be looked up: a join with it is
// refused at build time.
func TestTransformValuesTableJoinNeedsMaterialized(t *testing.T) {
	b := streams.NewBuilder()
	streams.AddStateStore(b, streams.NewKeyValueStoreBuilder("updates", ss, streams.Int64Serde()))
	tbl := streams.NewTable(b, "in", streams.ConsumedWith(ss, ss))
	tagged := streams.TransformValuesTable(tbl, func() streams.ValueTransformer[string, string, string] { return &versionTagger{} },
		streams.WithStores{"updates"})
	s := streams.NewStream(b, "clicks", streams.ConsumedWith(ss, ss))
	streams.JoinWithTable(s, tagged, func(_, c, v string) string { return c + v }).To("out")
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "materialize") {
		t.Fatalf("build: %v, want a refusal naming Materialized", err)
	}
}

// Without a Materialized and with nothing downstream that reads old values
// (ToStream), the transformer sees each update once, as in Kafka Streams:
// a stateful transformer is not run again on the value an update replaces.
// Deletes still go downstream.
func TestTransformValuesTableTransformsEachUpdateOnce(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) {
			b := streams.NewBuilder()
			streams.AddStateStore(b, streams.NewKeyValueStoreBuilder("updates", ss, streams.Int64Serde()))
			m := streams.MaterializedAs[string, string]("source")
			if !cached {
				m = m.WithCachingDisabled()
			}
			tbl := streams.NewTable(b, "in", streams.ConsumedWith(ss, ss), m)
			tagged := streams.TransformValuesTable(tbl, func() streams.ValueTransformer[string, string, string] { return &versionTagger{} },
				streams.WithStores{"updates"})
			tagged.ToStream().To("out")
			d := driver(t, build(t, b))
			in := streamstest.CreateInputTopic(d, "in", ss, ss)
			var got []string
			for _, kv := range [][2]string{{"a", "x"}, {"a", "y"}, {"b", "u"}, {"a", "z"}, {"b", ""}} {
				if kv[1] == "" {
					must(t, in.PipeTombstone(kv[0]))
				} else {
					must(t, in.PipeInput(kv[0], kv[1]))
				}
				// One update at a time, so a cache does not merge them.
				got = append(got, readKeyValues(t, d, "out")...)
			}
			if strings.Join(got, " ") != "a=x#1 a=y#2 b=u#1 a=z#3 b=null" {
				t.Errorf("output %v", got)
			}
		})
	}
}
