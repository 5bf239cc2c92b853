package harness

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/rivulet-io/rivulet/streams"
)

// ssbStoreName is the store of the key-value store case.
const ssbStoreName = "ssb-store"

// rivuletTopology builds case c with the streams DSL (and the Processor API
// for the key-value store case, as SimpleBenchmark). observe receives what
// a case without a sink produces (every record seen, every store write).
func rivuletTopology(c ssbCase, out string, observe func(key, value []byte)) (*streams.Topology, error) {
	str, byt, i64 := streams.StringSerde(), streams.BytesSerde(), streams.Int64Serde()
	consumed := streams.ConsumedWith(str, byt)
	produced := streams.ProducedWith(str, byt)
	b := streams.NewBuilder()
	main := func() *streams.Stream[string, []byte] { return streams.NewStream(b, c.inputs[0], consumed) }
	process := func() *streams.Stream[string, []byte] {
		return streams.MapValues(main().Filter(func(_ string, v []byte) bool { return ssbKeep(v) }),
			func(_ string, v []byte) []byte { return ssbTransform(v) })
	}
	join := func(_ string, l, r []byte) []byte { return ssbJoinValue(l, r) }
	switch c.name {
	case CaseConsume:
		main().Foreach(func(k string, v []byte) { observe([]byte(k), v) })
	case CaseConsumeProduce:
		main().To(out, produced)
	case CaseStreamProcess:
		process().Foreach(func(k string, v []byte) { observe([]byte(k), v) })
	case CaseStreamProcessSink:
		process().To(out, produced)
	case CaseStreamProcessStore:
		streams.AddStateStore(b, streams.NewKeyValueStoreBuilder(ssbStoreName, str, byt))
		streams.Process(main(), func() streams.Processor[string, []byte, string, []byte] {
			return &storePutProc{observe: observe}
		}, streams.WithStores{ssbStoreName})
	case CaseStreamProcessWinStore:
		g := main().GroupByKey(streams.GroupedWith(str, byt))
		streams.WindowedBy(g, streams.TimeWindowsOfSizeWithNoGrace(ssbWindowSize)).
			Reduce(func(_, v []byte) []byte { return v }, streams.MaterializedAs[string, []byte]("ssb-window-store").WithCachingDisabled()).
			ToStream().Foreach(func(k streams.Windowed[string], v []byte) {
			observe(windowedKeyBytes([]byte(k.Key), k.Window.Start), v)
		})
	case CaseStreamCount, CaseStreamCountDistinctKey:
		main().GroupByKey(streams.GroupedWith(str, byt)).Count().ToStream().To(out, streams.ProducedWith(str, i64))
	case CaseStreamCountWindowed:
		g := main().GroupByKey(streams.GroupedWith(str, byt))
		streams.WindowedBy(g, streams.TimeWindowsOfSizeWithNoGrace(ssbWindowSize).AdvanceBy(ssbWindowAdvance)).Count().
			ToStream().To(out, streams.ProducedWith(streams.TimeWindowedSerde(str, ssbWindowSize), i64))
	case CaseStreamStreamJoin:
		right := streams.NewStream(b, c.inputs[1], consumed)
		streams.Join(main(), right, join, streams.JoinWindowsOfTimeDifferenceAndGrace(ssbJoinWindow, ssbJoinGrace),
			streams.StreamJoinedWith(str, byt, byt)).To(out, produced)
	case CaseStreamTableJoin:
		table := streams.NewTable(b, c.inputs[1], consumed)
		streams.JoinWithTable(main(), table, join, streams.JoinedWith(str, byt, byt)).To(out, produced)
	case CaseTableTableJoin:
		left := streams.NewTable(b, c.inputs[0], consumed)
		right := streams.NewTable(b, c.inputs[1], consumed)
		streams.JoinTables(left, right, join).ToStream().To(out, produced)
	default:
		return nil, fmt.Errorf("harness: streams: no Rivulet topology for %q", c.name)
	}
	topo, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("harness: streams: %s topology: %w", c.name, err)
	}
	return topo, nil
}

// storePutProc puts every record in the store: SimpleBenchmark's
// processor with a state store.
type storePutProc struct {
	store   streams.KeyValueStore[string, []byte]
	observe func(key, value []byte)
}

func (p *storePutProc) Init(ctx streams.ProcessorContext[string, []byte]) (err error) {
	p.store, err = streams.GetKeyValueStore[string, []byte](ctx, ssbStoreName)
	return err
}

func (p *storePutProc) Process(r streams.Record[string, []byte]) error {
	if err := p.store.Put(r.Key, r.Value); err != nil {
		return err
	}
	p.observe([]byte(r.Key), r.Value)
	return nil
}

func (p *storePutProc) Close() error { return nil }

// startRivuletCase starts case c as a Rivulet application on addr.
// With eos it runs under exactly_once_v2 (idempotent producer, acks=all,
// transactions), otherwise at-least-once with acks=1.
func startRivuletCase(ctx context.Context, cfg StreamsConfig, c ssbCase, addr, appID, out string, observe func(key, value []byte), eos bool) (*streams.App, error) {
	topo, err := rivuletTopology(c, out, observe)
	if err != nil {
		return nil, err
	}
	props := rivuletProps(appID, addr, cfg.Threads, cfg.Dir)
	props[streams.PropCommitIntervalMs] = strconv.FormatInt(cfg.CommitInterval.Milliseconds(), 10)
	if eos {
		props[streams.PropProcessingGuarantee] = streams.ExactlyOnce
	} else {
		props["producer.acks"] = "1"
		// Idempotence needs acks=all (Kafka refuses the mix).
		props["producer.enable.idempotence"] = "false"
	}
	return startRivuletApp(ctx, topo, props, cfg.Logger, c.name)
}

// verifyRivuletStore reads every key of the key-value store case back
// through interactive queries and compares the ids with want (rank ->
// last id, -1 for a key never written).
func verifyRivuletStore(app *streams.App, want []int64) error {
	q, err := streams.QueryKeyValueStore[string, []byte](app, ssbStoreName)
	if err != nil {
		return err
	}
	for rank, id := range want {
		v, ok, err := q.Get(ssbKey(rank))
		if err != nil {
			return err
		}
		if err := storeValueMatches(rank, v, ok, id); err != nil {
			return err
		}
	}
	return nil
}

// storeValueMatches checks one key of a store against the expected id.
func storeValueMatches(rank int, v []byte, ok bool, want int64) error {
	switch {
	case want < 0 && ok:
		return fmt.Errorf("store holds %s, never written", ssbKey(rank))
	case want < 0:
		return nil
	case !ok:
		return fmt.Errorf("store lacks %s", ssbKey(rank))
	case len(v) < 8 || int64(binary.BigEndian.Uint64(v)) != want:
		return fmt.Errorf("store holds %x for %s, want the record with id %d", v[:min(8, len(v))], ssbKey(rank), want)
	}
	return nil
}
