package streams_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/httpjson"
)

// httpGet returns the status code and body of GET url.
func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, string(b)
}

// scrape parses the Prometheus text of url into families.
func scrape(t testing.TB, url string) map[string]*dtoFamily {
	t.Helper()
	resp, err := http.Get(url)
	must(t, err)
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("%s does not parse as Prometheus text: %v", url, err)
	}
	out := map[string]*dtoFamily{}
	for name, mf := range mfs {
		f := &dtoFamily{}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			f.samples = append(f.samples, sample{labels, v})
		}
		out[name] = f
	}
	return out
}

type sample struct {
	labels map[string]string
	value  float64
}

type dtoFamily struct{ samples []sample }

// storeSum is the sum of f's samples of the store named store.
func storeSum(f *dtoFamily, store string) float64 {
	if f == nil {
		return 0
	}
	var s float64
	for _, x := range f.samples {
		if x.labels["store"] == store {
			s += x.value
		}
	}
	return s
}

func (f *dtoFamily) sum() float64 {
	if f == nil {
		return 0
	}
	var s float64
	for _, x := range f.samples {
		s += x.value
	}
	return s
}

// TestHTTPEndpoint runs a word count with rivulet.http.listener set and
// checks every path: health, readiness once caught up, status, topology in
// each format, key and range queries of the count store with its serdes,
// and the metrics as Prometheus text: Kafka Streams-named metrics grow as
// records flow, and records-lag reaches 0 once the app has caught up.
func TestHTTPEndpoint(t *testing.T) {
	br := startBrokerlite(t)
	in, out := "http-in", "http-out"
	createTopic(t, br.addrs, 2, in, out)
	app := startApp(t, buildWordCount(t, in, out), streams.Properties{
		"application.id":              "http-wc",
		"bootstrap.servers":           strings.Join(br.addrs, ","),
		"commit.interval.ms":          "100",
		"state.dir":                   t.TempDir(),
		streams.PropHTTPListener:      "127.0.0.1:0",
		"metrics.recording.level":     "DEBUG",
		streams.PropHTTPReadyMaxLag:   "0",
		streams.PropApplicationServer: "",
	}, streams.WithCheckpointEveryCommit())
	base := "http://" + app.HTTPAddr()
	if app.HTTPAddr() == "" {
		t.Fatal("no HTTP endpoint")
	}
	if code, body := httpGet(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	ls := []string{"the quick brown fox", "the lazy dog", "the end"}
	want := map[string]int64{}
	addWords(want, ls...)
	produce(t, br.addrs, lines(in, ls...)...)
	waitCounts(t, br.addrs, out, want)

	// Ready (RUNNING, input lag 0 with a bound of 0), the key answered.
	var rcode, kcode int
	var rbody, kbody string
	if !testutil.Poll(30*time.Second, func() bool {
		rcode, rbody = httpGet(t, base+"/readyz")
		kcode, kbody = httpGet(t, base+"/stores/counts/keys/the")
		return rcode == http.StatusOK && kcode == http.StatusOK
	}) {
		t.Fatalf("never ready: /readyz %d %s; key %d %s", rcode, rbody, kcode, kbody)
	}
	var e httpjson.StoreEntry
	must(t, json.Unmarshal([]byte(kbody), &e))
	if e.Key != "the" || e.Value != float64(3) || e.Timestamp == nil {
		t.Fatalf("/stores/counts/keys/the = %s", kbody)
	}
	if code, body := httpGet(t, base+"/stores/counts/keys/nosuchword"); code != http.StatusNotFound {
		t.Errorf("absent key: %d %s", code, body)
	}
	if code, body := httpGet(t, base+"/stores/nosuchstore/keys/x"); code != http.StatusNotFound {
		t.Errorf("absent store: %d %s", code, body)
	}
	code, body := httpGet(t, base+"/stores/counts?from=e&to=q&limit=2")
	var rng httpjson.StoreRange
	must(t, json.Unmarshal([]byte(body), &rng))
	var got []string
	for _, e := range rng.Entries {
		got = append(got, fmt.Sprintf("%v=%v", e.Key, e.Value))
	}
	if code != http.StatusOK || fmt.Sprint(got) != "[end=1 fox=1]" || !rng.More {
		t.Errorf("range [e, q] limit 2: %d %s", code, body)
	}
	if code, body := httpGet(t, base+"/stores/counts?limit=x"); code != http.StatusBadRequest {
		t.Errorf("bad limit: %d %s", code, body)
	}
	if _, body := httpGet(t, base+"/stores"); !strings.Contains(body, `"name": "counts"`) || !strings.Contains(body, `"queryable": true`) {
		t.Errorf("/stores: %s", body)
	}

	// Status.
	code, body = httpGet(t, base+"/status")
	var st httpjson.StatusView
	must(t, json.Unmarshal([]byte(body), &st))
	if code != http.StatusOK || st.State != "RUNNING" || len(st.Instances) != 1 || !st.Instances[0].Local || len(st.Instances[0].Active) != 4 {
		t.Errorf("/status: %d %s", code, body)
	}

	// Topology in every format.
	desc := app.Topology().Describe()
	for format, check := range map[string]func(string) bool{
		"":        func(s string) bool { return s == desc.String() },
		"mermaid": func(s string) bool { return s == desc.Mermaid() },
		"dot":     func(s string) bool { return s == desc.DOT() },
		"svg": func(s string) bool {
			var doc struct {
				XMLName xml.Name
				Groups  []struct {
					Nodes []struct {
						Node string `xml:"data-node,attr"`
					} `xml:"g"`
				} `xml:"g"`
			}
			if err := xml.Unmarshal([]byte(s), &doc); err != nil || doc.XMLName.Local != "svg" {
				t.Logf("svg: %v", err)
				return false
			}
			n := 0
			for _, g := range doc.Groups {
				n += len(g.Nodes)
			}
			want := 0
			for _, sub := range desc.Subtopologies {
				want += len(sub.Nodes)
			}
			return n == want && strings.Contains(s, "records")
		},
		"json": func(s string) bool {
			var v httpjson.TopologyView
			return json.Unmarshal([]byte(s), &v) == nil && len(v.Subtopologies) == 2 && v.Stores["counts"] == "key-value" && v.Counts[desc.Subtopologies[0].Nodes[0].Name].Processed > 0
		},
	} {
		code, body := httpGet(t, base+"/topology?format="+format)
		if code != http.StatusOK || !check(body) {
			t.Errorf("/topology?format=%s: %d\n%s", format, code, body)
		}
	}
	if code, _ := httpGet(t, base+"/topology?format=png"); code != http.StatusBadRequest {
		t.Errorf("unknown format: %d", code)
	}

	// Metrics: Kafka Streams' names grow as records flow; records-lag is 0
	// once caught up.
	before := scrape(t, base+"/metrics")
	for _, name := range []string{"rivulet_streams_thread_process_total", "rivulet_streams_processor_node_process_total", "rivulet_streams_client_alive_stream_threads",
		"rivulet_streams_thread_poll_records_total", "rivulet_streams_task_process_total", "rivulet_streams_processor_node_record_e2e_latency_max_seconds"} {
		if before[name].sum() <= 0 {
			t.Errorf("%s = %v, want > 0", name, before[name].sum())
		}
	}
	for _, name := range []string{"rivulet_streams_thread_poll_latency_seconds", "rivulet_streams_thread_commit_latency_seconds", "rivulet_streams_record_cache_hit_ratio",
		"rivulet_streams_task_record_lateness_max_seconds", "rivulet_streams_task_enforced_processing_total"} {
		if before[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	// The count's own store operations (DEBUG): a put per word so far, a
	// get per word plus the queries' reads, flushes at commits.
	storeOps := func(m map[string]*dtoFamily, op string) float64 {
		return storeSum(m["rivulet_streams_state_store_"+op], "counts")
	}
	if p, g := storeOps(before, "put_total"), storeOps(before, "get_total"); p != 9 || g < 9 || storeOps(before, "flush_total") == 0 {
		t.Errorf("store counts: put_total %v, get_total %v, flush_total %v; want 9 puts, at least 9 gets, flushes", p, g, storeOps(before, "flush_total"))
	}
	more := []string{"one more line", "and another"}
	addWords(want, more...)
	produce(t, br.addrs, lines(in, more...)...)
	waitCounts(t, br.addrs, out, want)
	var grown bool
	var lag *dtoFamily
	if !testutil.Poll(30*time.Second, func() bool {
		after := scrape(t, base+"/metrics")
		lag = after["rivulet_streams_partition_records_lag"]
		grown = after["rivulet_streams_thread_process_total"].sum() > before["rivulet_streams_thread_process_total"].sum() &&
			after["rivulet_streams_processor_node_process_total"].sum() > before["rivulet_streams_processor_node_process_total"].sum() &&
			after["rivulet_streams_task_process_total"].sum() > before["rivulet_streams_task_process_total"].sum()
		return grown && lag != nil && len(lag.samples) == 4 && lag.sum() == 0
	}) {
		t.Fatalf("metrics never grew to caught up: grown %v, records_lag %+v", grown, lag)
	}
	// Health after close.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	must(t, app.Close(ctx))
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the endpoint still answers after Close")
	}
}

// TestRecordingLevelGatesMetrics: processor-node and task metrics exist
// only from metrics.recording.level DEBUG; client metrics at every level;
// a bad level is refused.
func TestRecordingLevelGatesMetrics(t *testing.T) {
	names := func(level string) map[string]bool {
		app, err := streams.New(buildWordCount(t, "in", "out"), streams.Properties{"application.id": "levels", "bootstrap.servers": "127.0.0.1:1", "metrics.recording.level": level})
		must(t, err)
		mfs, err := app.Metrics().Gather()
		must(t, err)
		out := map[string]bool{}
		for _, mf := range mfs {
			out[mf.GetName()] = true
		}
		return out
	}
	info, debug := names("INFO"), names("debug")
	if !info["rivulet_streams_client_alive_stream_threads"] || info["rivulet_streams_processor_node_process_total"] {
		t.Errorf("INFO metrics: %v", info)
	}
	if !debug["rivulet_streams_processor_node_process_total"] {
		t.Errorf("DEBUG metrics: %v", debug)
	}
	if _, err := streams.New(buildWordCount(t, "in", "out"), streams.Properties{"application.id": "x", "bootstrap.servers": "h:1", "metrics.recording.level": "LOUD"}); err == nil || !strings.Contains(err.Error(), "metrics.recording.level") {
		t.Errorf("bad level: %v", err)
	}
}

// TestSuppressionBufferMetrics: a suppression holding records shows them
// in rivulet_streams_state_store_suppression_buffer_count and _size_bytes
// (DEBUG).
func TestSuppressionBufferMetrics(t *testing.T) {
	br := startBrokerlite(t)
	createTopic(t, br.addrs, 1, "sup-in", "sup-out")
	b := streams.NewBuilder()
	streams.NewStream(b, "sup-in", streams.ConsumedWith(ss, ss)).GroupByKey().Count().
		Suppress(streams.UntilTimeLimit(time.Hour, streams.Unbounded()).WithName("held")).
		ToStream().To("sup-out", streams.ProducedWith(ss, streams.Int64Serde()))
	app := startApp(t, build(t, b), streams.Properties{
		"application.id": "sup-app", "bootstrap.servers": strings.Join(br.addrs, ","), "state.dir": t.TempDir(),
		"commit.interval.ms": "100", "metrics.recording.level": "DEBUG", streams.PropHTTPListener: "127.0.0.1:0",
	})
	produce(t, br.addrs, lines("sup-in", "a", "b", "c")...) // keys "0", "1", "2"
	var m map[string]*dtoFamily
	if !testutil.Poll(30*time.Second, func() bool {
		m = scrape(t, "http://"+app.HTTPAddr()+"/metrics")
		return m["rivulet_streams_state_store_suppression_buffer_count"].sum() == 3 && m["rivulet_streams_state_store_suppression_buffer_size_bytes"].sum() > 0
	}) {
		t.Fatalf("suppression buffer metrics: count %v, bytes %v", m["rivulet_streams_state_store_suppression_buffer_count"], m["rivulet_streams_state_store_suppression_buffer_size_bytes"])
	}
}
