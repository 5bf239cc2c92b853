package streams_test

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/streams"
)

// TestGlobalStoreMetrics: at DEBUG the stores of a GlobalKTable and of
// AddGlobalStore show their operations under task -1_-1, records read while
// catching up before the start and after it alike, with the catch-up as
// their restore; the global thread shows the records it dropped and the
// records-lag of the global partitions, 0 once caught up.
func TestGlobalStoreMetrics(t *testing.T) {
	br := startBrokerlite(t)
	createTopic(t, br.addrs, 2, "gm-fx")
	createTopic(t, br.addrs, 1, "rates", "gm-orders", "gm-out")
	// Read while catching up: two fx records (one per partition), two
	// rates.
	produceToEveryPartition(t, br.addrs, "gm-fx", 2, "fx", "1.1", time.Now())
	produce(t, br.addrs, &kgo.Record{Topic: "rates", Key: []byte("eur"), Value: []byte("a")}, &kgo.Record{Topic: "rates", Key: []byte("usd"), Value: []byte("b")})

	b := streams.NewBuilder()
	streams.NewGlobalTable(b, "gm-fx", streams.ConsumedWith(ss, ss), streams.MaterializedAs[string, string]("fx"))
	streams.AddGlobalStore(b, streams.NewKeyValueStoreBuilder("rates", ss, ss).WithLoggingDisabled(), "rates",
		streams.ConsumedWith(ss, ss), func() streams.Processor[string, string, string, string] { return &rateKeeper{} })
	streams.NewStream(b, "gm-orders", streams.ConsumedWith(ss, ss)).To("gm-out")
	app := startApp(t, build(t, b), streams.Properties{
		"application.id": "gm-app", "bootstrap.servers": strings.Join(br.addrs, ","), "state.dir": t.TempDir(),
		"commit.interval.ms": "100", "metrics.recording.level": "DEBUG", streams.PropHTTPListener: "127.0.0.1:0",
	})
	// Read after the start: one more fx record per partition, one rate
	// and a record without a key, which the table drops.
	produceToEveryPartition(t, br.addrs, "gm-fx", 2, "fx2", "1.2", time.Now())
	produce(t, br.addrs, &kgo.Record{Topic: "rates", Key: []byte("gbp"), Value: []byte("c")}, &kgo.Record{Topic: "gm-fx", Partition: 0, Value: []byte("no key")})

	global := func(f *dtoFamily, store string) (n float64, samples int) {
		if f == nil {
			return 0, 0
		}
		for _, s := range f.samples {
			if s.labels["task_id"] == "-1_-1" && (store == "" || s.labels["store"] == store) {
				n += s.value
				samples++
			}
		}
		return n, samples
	}
	op := func(m map[string]*dtoFamily, name, store string) float64 {
		n, _ := global(m["rivulet_streams_state_store_"+name], store)
		return n
	}
	dropped := func(m map[string]*dtoFamily) (float64, bool) {
		f := m["rivulet_streams_thread_dropped_records_total"]
		if f == nil {
			return 0, false
		}
		for _, s := range f.samples {
			if strings.HasSuffix(s.labels["thread_id"], "-GlobalStreamThread") {
				return s.value, true
			}
		}
		return 0, false
	}
	m := waitMetrics(t, "http://"+app.HTTPAddr()+"/metrics", "the global stores' operations, a drop and a lag of 0", func(m map[string]*dtoFamily) bool {
		lag, lags := global(m["rivulet_streams_partition_records_lag"], "")
		d, ok := dropped(m)
		return op(m, "put_total", "fx") == 4 && op(m, "get_total", "fx") == 4 && op(m, "put_total", "rates") == 3 &&
			ok && d == 1 && lags == 3 && lag == 0
	})
	for _, store := range []string{"fx", "rates"} {
		if n := op(m, "restore_total", store); n != 1 {
			t.Errorf("%s: restore_total %v, want 1 (the catch-up)", store, n)
		}
		if _, n := global(m["rivulet_streams_state_store_restore_latency_max_seconds"], store); n != 1 {
			t.Errorf("%s: no restore latency", store)
		}
		if op(m, "flush_total", store) == 0 {
			t.Errorf("%s: no flush", store)
		}
	}
}
