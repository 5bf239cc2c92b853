package brokerlite

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// scrapeBroker parses the broker's /metrics as Prometheus text and returns
// every sample by name and labels ("name{k=v,...}", labels sorted).
func scrapeBroker(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse as Prometheus text: %v", err)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			key := name + "{" + strings.Join(ls, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestMetricsScrape produces and consumes through a broker with
// metrics.listener set: /metrics parses as Prometheus text, counts the
// produced bytes and records of the topic exactly, the consumed ones, the
// requests per API, the fsyncs of acks=all, the partition's offsets and
// size, the connections, and the group's members and lag.
func TestMetricsScrape(t *testing.T) {
	b := startBroker(t, "", "metrics.listener", "127.0.0.1:0", "offsets.topic.num.partitions", "1")
	addr := b.MetricsAddr()
	if addr == "" {
		t.Fatal("no metrics listener")
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"status":"ok"`) {
		t.Fatalf("/healthz: %d %s", resp.StatusCode, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const topic = "metered"
	cl := newClient(t, b, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0), kgo.RequiredAcks(kgo.AllISRAcks()))
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	// Each ProduceSync of one record is one batch; its bytes are what the
	// log grows by.
	for i := 0; i < 5; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte(strings.Repeat("v", 100+i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	logSize := b.topics.get(topic).partitions[0].log.Size()

	// A group consumes everything and commits.
	consumer := newClient(t, b, kgo.ConsumeTopics(topic), kgo.ConsumerGroup("metered-group"), kgo.DisableAutoCommit())
	got := 0
	for got < 3 {
		fs := consumer.PollRecords(ctx, 3)
		if ctx.Err() != nil {
			t.Fatal("consumer got nothing")
		}
		got += len(fs.Records())
	}
	if err := consumer.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}

	// A request with an API key the broker does not serve closes its
	// connection and is counted under one "Unknown" series.
	for _, key := range []uint16{999, 1000} {
		conn, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		frame := binary.BigEndian.AppendUint32(nil, 10)
		frame = binary.BigEndian.AppendUint16(frame, key)
		frame = append(frame, 0, 0, 0, 0, 0, 1, 0xff, 0xff) // version 0, correlation 1, null client id
		conn.Write(frame)
		io.ReadAll(conn) // until the broker closes it
		conn.Close()
	}

	m := scrapeBroker(t, addr)
	if v := m["kafka_network_requestmetrics_errors_total{request=Unknown}"]; v != 2 {
		t.Errorf("errors of unknown API keys: %v, want 2 in one series", v)
	}
	tl := "{topic=" + topic + "}"
	pl := "{partition=0,topic=" + topic + "}"
	checks := map[string]float64{
		"kafka_server_brokertopicmetrics_bytesin_total" + tl:                                   float64(logSize),
		"kafka_server_brokertopicmetrics_messagesin_total" + tl:                                5,
		"kafka_log_log_logstartoffset" + pl:                                                    0,
		"kafka_log_log_logendoffset" + pl:                                                      5,
		"kafka_log_log_size" + pl:                                                              float64(logSize),
		"kafka_consumergroup_members{consumergroup=metered-group}":                             1,
		"kafka_consumergroup_lag{consumergroup=metered-group,partition=0,topic=" + topic + "}": float64(5 - got),
		"kafka_coordinator_group_groupmetadatamanager_numgroups{}":                             1,
	}
	for k, want := range checks {
		if v, ok := m[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
	for k, min := range map[string]float64{
		"kafka_server_brokertopicmetrics_bytesout_total" + tl:             1,
		"kafka_server_brokertopicmetrics_messagesout_total" + tl:          float64(got),
		"kafka_network_requestmetrics_requests_total{request=Produce}":    5,
		"kafka_network_requestmetrics_totaltime_seconds{request=Produce}": 5,
		"kafka_network_requestmetrics_requests_total{request=Fetch}":      1,
		"kafka_log_logflushstats_logflush_seconds{}":                      5,
		"kafka_server_socket_server_metrics_connection_count{}":           2,
		"kafka_network_socketserver_memorypoolused_bytes{}":               0,
	} {
		if v, ok := m[k]; !ok || v < min {
			t.Errorf("%s = %v (present %v), want at least %v", k, v, ok, min)
		}
	}
	if t.Failed() {
		var keys []string
		for k := range m {
			if strings.HasPrefix(k, "kafka_") {
				keys = append(keys, k)
			}
		}
		t.Logf("samples: %v", keys)
	}
}

// TestMetricsListenerRefusesBadAddress: a bad metrics.listener stops the
// broker from starting, with the key in the message.
func TestMetricsListenerRefusesBadAddress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Start(ctx, Config{Logger: testLogger(t), Properties: map[string]string{
		"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": t.TempDir(), "metrics.listener": "nohostport",
	}})
	if err == nil || !strings.Contains(err.Error(), "metrics.listener") {
		t.Fatalf("Start with metrics.listener=nohostport: %v", err)
	}
}

// FuzzBatchRecordCount: the record count of fetched bytes never panics and
// never counts past a torn batch.
func FuzzBatchRecordCount(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 61))
	f.Fuzz(func(t *testing.T, b []byte) {
		if n := batchRecordCount(b); n < 0 {
			t.Fatalf("negative count %d", n)
		}
	})
}
