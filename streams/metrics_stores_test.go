package streams_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// countingProcessor counts records per key in the store "seen" through the
// typed handle: one Get and one Put per record, and a Range over the key.
type countingProcessor struct {
	kv streams.KeyValueStore[string, int64]
}

func (p *countingProcessor) Init(ctx streams.ProcessorContext[string, string]) error {
	kv, err := streams.GetKeyValueStore[string, int64](ctx, "seen")
	p.kv = kv
	return err
}

func (p *countingProcessor) Process(r streams.Record[string, string]) error {
	n, _, err := p.kv.Get(r.Key)
	if err != nil {
		return err
	}
	if err := p.kv.Put(r.Key, n+1); err != nil {
		return err
	}
	it, err := p.kv.Range(r.Key, r.Key)
	if err != nil {
		return err
	}
	for it.Next() {
	}
	return it.Close()
}

func (p *countingProcessor) Close() error { return nil }

func countingTopology(t testing.TB, in string) *streams.Topology {
	b := streams.NewBuilder()
	streams.AddSource(b, "src", streams.ConsumedWith(ss, ss), in)
	streams.AddProcessor(b, "count", func() streams.Processor[string, string, string, string] { return &countingProcessor{} }, "src")
	streams.AddStateStore(b, streams.NewKeyValueStoreBuilder("seen", ss, streams.Int64Serde()), "count")
	return build(t, b)
}

// keyed returns n records of topic with keys k0..k(n-1) after first.
func keyed(topic string, first, n int) []*kgo.Record {
	var out []*kgo.Record
	for i := first; i < first+n; i++ {
		out = append(out, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint("k", i%3)), Value: []byte("v")})
	}
	return out
}

// waitMetrics scrapes url until ok accepts the families.
func waitMetrics(t *testing.T, url, what string, ok func(map[string]*dtoFamily) bool) map[string]*dtoFamily {
	t.Helper()
	var m map[string]*dtoFamily
	if !testutil.Poll(30*time.Second, func() bool { m = scrape(t, url); return ok(m) }) {
		var b strings.Builder
		for name, f := range m {
			if strings.Contains(name, "state_store") || strings.Contains(name, "records_le") || strings.Contains(name, "records_lag") {
				fmt.Fprintf(&b, "%s %v\n", name, f.samples)
			}
		}
		t.Fatalf("%s never seen; last scrape:\n%s", what, b.String())
	}
	return m
}

// TestStateStoreMetrics: at metrics.recording.level DEBUG a processor's
// store reads and writes show as Kafka Streams' state-store metrics (put,
// get, range, flush: totals and latencies) and grow with more records; at
// INFO there are none. records-lead (every level) grows as records are
// consumed: the position minus the log start offset.
func TestStateStoreMetrics(t *testing.T) {
	br := startBrokerlite(t)
	createTopic(t, br.addrs, 1, "ssm-debug", "ssm-info")
	var debugApp *streams.App
	run := func(level, in string) string {
		app := startApp(t, countingTopology(t, in), streams.Properties{
			"application.id": "ssm-" + strings.ToLower(level), "bootstrap.servers": strings.Join(br.addrs, ","), "state.dir": t.TempDir(),
			"commit.interval.ms": "100", "metrics.recording.level": level, streams.PropHTTPListener: "127.0.0.1:0",
		}, streams.WithCheckpointEveryCommit())
		if level == "DEBUG" {
			debugApp = app
		}
		return "http://" + app.HTTPAddr() + "/metrics"
	}
	family := func(m map[string]*dtoFamily, name string) float64 {
		return m["rivulet_streams_state_store_"+name].sum()
	}
	lead := func(m map[string]*dtoFamily) float64 { return m["rivulet_streams_partition_records_lead"].sum() }

	debug := run("DEBUG", "ssm-debug")
	produce(t, br.addrs, keyed("ssm-debug", 0, 6)...)
	m := waitMetrics(t, debug, "6 puts, gets, ranges, a flush and a lead of 6", func(m map[string]*dtoFamily) bool {
		return family(m, "put_total") == 6 && family(m, "get_total") == 6 && family(m, "range_total") == 6 &&
			family(m, "flush_total") > 0 && lead(m) == 6
	})
	for _, name := range []string{"put_latency_avg_seconds", "put_latency_max_seconds", "get_latency_avg_seconds", "get_latency_max_seconds", "range_latency_max_seconds", "flush_latency_avg_seconds"} {
		f := m["rivulet_streams_state_store_"+name]
		if f == nil || len(f.samples) != 1 {
			t.Fatalf("%s: %+v", name, f)
		}
		if s := f.samples[0]; s.labels["store"] != "seen" || s.labels["task_id"] != "0_0" || s.value < 0 {
			t.Errorf("%s sample %+v", name, s)
		}
	}
	if f := m["rivulet_streams_partition_records_lead"]; len(f.samples) != 1 || f.samples[0].labels["topic"] != "ssm-debug" || f.samples[0].labels["partition"] != "0" {
		t.Errorf("records_lead samples %+v", f.samples)
	}
	if mn := m["rivulet_streams_partition_records_lead_min"].sum(); mn < 0 || mn > 6 {
		t.Errorf("records_lead_min %v", mn)
	}
	produce(t, br.addrs, keyed("ssm-debug", 6, 4)...)
	waitMetrics(t, debug, "10 puts and gets and a lead of 10", func(m map[string]*dtoFamily) bool {
		return family(m, "put_total") == 10 && family(m, "get_total") == 10 && lead(m) == 10
	})

	// Interactive queries go through the metered layer too, and it keeps
	// what they need of the store (ordering keys for a range).
	q, err := streams.QueryKeyValueStore[string, int64](debugApp, "seen")
	must(t, err)
	if v, ok, err := q.Get("k0"); err != nil || !ok || v != 4 {
		t.Fatalf("query k0: %v %v %v", v, ok, err)
	}
	all, _, err := q.All(0)
	must(t, err)
	if fmt.Sprint(all) != "[{k0 4} {k1 3} {k2 3}]" {
		t.Fatalf("query all: %v", all)
	}
	waitMetrics(t, debug, "the query's get and all", func(m map[string]*dtoFamily) bool {
		return family(m, "get_total") == 11 && family(m, "all_total") == 1
	})

	info := run("INFO", "ssm-info")
	produce(t, br.addrs, keyed("ssm-info", 0, 5)...)
	m = waitMetrics(t, info, "a lead of 5 at INFO", func(m map[string]*dtoFamily) bool { return lead(m) == 5 })
	for name := range m {
		if strings.HasPrefix(name, "rivulet_streams_state_store_") {
			t.Errorf("INFO exports %s", name)
		}
	}
	// End-to-end latency is recorded at INFO (KIP-613), at the source.
	if f := m["rivulet_streams_processor_node_record_e2e_latency_max_seconds"]; f == nil || len(f.samples) != 1 || f.samples[0].labels["processor_node_id"] != "src" || f.samples[0].value < 0 {
		t.Errorf("INFO end-to-end latency: %+v", f)
	}
}
