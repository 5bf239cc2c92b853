package brokerlite

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Broker metrics, named after Kafka's JMX metrics the way the Prometheus
// JMX exporter names them: kafka.server:type=BrokerTopicMetrics,
// name=BytesInPerSec,topic=T becomes kafka_server_brokertopicmetrics_bytesin_total{topic="T"}
// (a Kafka meter is a Prometheus counter; rate() gives the per-second
// rate). Groups follow kafka_exporter's names (kafka_consumergroup_lag).
// The table is in docs/operating.md.
//
// The request, byte and fsync figures are counted as they happen (a few
// atomic adds per request); partition offsets and sizes, connections and
// groups are read when Prometheus scrapes, never per request.
//
// They are served on their own HTTP listener, off unless metrics.listener
// is set (or `rivulet broker --metrics-listener`):
//
//	GET /metrics   Prometheus text
//	GET /healthz   200 while the broker serves clients

// metricsListenerKey switches the metrics listener on.
const metricsListenerKey = "metrics.listener"

func init() {
	brokerKeys = append(brokerKeys, ConfigKey{Name: metricsListenerKey, Default: "",
		Doc: "host:port of the HTTP listener serving /metrics (Prometheus) and /healthz; off when empty", ReadOnly: true})
	brokerKeyIndex[metricsListenerKey] = &brokerKeys[len(brokerKeys)-1]
}

// brokerMetrics holds the broker's metrics.
type brokerMetrics struct {
	b        *Broker
	registry *prometheus.Registry

	requests     *prometheus.CounterVec
	requestTime  *prometheus.HistogramVec
	requestErrs  *prometheus.CounterVec
	bytesIn      *prometheus.CounterVec
	messagesIn   *prometheus.CounterVec
	bytesOut     *prometheus.CounterVec
	messagesOut  *prometheus.CounterVec
	flushTime    prometheus.Histogram
	inFlight     atomic.Int64 // bytes of requests being handled
	logStart     *prometheus.Desc
	logEnd       *prometheus.Desc
	logSize      *prometheus.Desc
	logSegments  *prometheus.Desc
	connections  *prometheus.Desc
	inFlightDesc *prometheus.Desc
	numGroups    *prometheus.Desc
	groupMembers *prometheus.Desc
	groupState   *prometheus.Desc
	groupOffset  *prometheus.Desc
	groupLag     *prometheus.Desc
	// apis caches each API's request counter and histogram, by key.
	apis sync.Map // int16 -> *apiMetrics

	srv     *http.Server
	srvAddr string
	srvDone chan error
}

type apiMetrics struct {
	requests prometheus.Counter
	time     prometheus.Observer
	errs     prometheus.Counter
}

func newBrokerMetrics(b *Broker) *brokerMetrics {
	m := &brokerMetrics{b: b, registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_network_requestmetrics_requests_total",
		Help: "Requests handled, by API (kafka.network:type=RequestMetrics,name=RequestsPerSec)."}, []string{"request"})
	m.requestTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kafka_network_requestmetrics_totaltime_seconds",
		Help:    "Time from a request's arrival to its answer being ready, by API (kafka.network:type=RequestMetrics,name=TotalTimeMs); for acks=-1 produce, without the fsync wait.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}, []string{"request"})
	m.requestErrs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_network_requestmetrics_errors_total",
		Help: "Requests that closed their connection (malformed, unsupported or failed), by API (kafka.network:type=RequestMetrics,name=ErrorsPerSec)."}, []string{"request"})
	topicCounter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_server_brokertopicmetrics_" + name + "_total", Help: help}, []string{"topic"})
	}
	m.bytesIn = topicCounter("bytesin", "Record batch bytes appended by producers, by topic (BrokerTopicMetrics BytesInPerSec).")
	m.messagesIn = topicCounter("messagesin", "Records appended by producers, by topic (BrokerTopicMetrics MessagesInPerSec).")
	m.bytesOut = topicCounter("bytesout", "Record batch bytes sent to consumers, by topic (BrokerTopicMetrics BytesOutPerSec).")
	m.messagesOut = topicCounter("messagesout", "Records in the batches sent to consumers, by topic (no Kafka counterpart; counted from the batch headers).")
	m.flushTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kafka_log_logflushstats_logflush_seconds",
		Help:    "Time of each fsync of a partition log's data (kafka.log:type=LogFlushStats,name=LogFlushRateAndTimeMs).",
		Buckets: prometheus.ExponentialBuckets(0.00005, 4, 10)})
	part := []string{"topic", "partition"}
	m.logStart = prometheus.NewDesc("kafka_log_log_logstartoffset", "First offset of a partition (kafka.log:type=Log,name=LogStartOffset).", part, nil)
	m.logEnd = prometheus.NewDesc("kafka_log_log_logendoffset", "Offset after the last record of a partition (kafka.log:type=Log,name=LogEndOffset).", part, nil)
	m.logSize = prometheus.NewDesc("kafka_log_log_size", "Bytes of a partition's segments (kafka.log:type=Log,name=Size).", part, nil)
	m.logSegments = prometheus.NewDesc("kafka_log_log_numlogsegments", "Segments of a partition (kafka.log:type=Log,name=NumLogSegments).", part, nil)
	m.connections = prometheus.NewDesc("kafka_server_socket_server_metrics_connection_count", "Open client connections (socket-server-metrics connection-count).", nil, nil)
	m.inFlightDesc = prometheus.NewDesc("kafka_network_socketserver_memorypoolused_bytes", "Bytes of requests read and not yet answered (kafka.network:type=SocketServer,name=MemoryPoolUsed).", nil, nil)
	m.numGroups = prometheus.NewDesc("kafka_coordinator_group_groupmetadatamanager_numgroups", "Consumer groups the coordinator holds (GroupMetadataManager NumGroups).", nil, nil)
	m.groupState = prometheus.NewDesc("kafka_consumergroup_state", "1 for a group's current state.", []string{"consumergroup", "state"}, nil)
	m.groupMembers = prometheus.NewDesc("kafka_consumergroup_members", "Members of a consumer group.", []string{"consumergroup"}, nil)
	m.groupOffset = prometheus.NewDesc("kafka_consumergroup_current_offset", "Committed offset of a group on a partition.", []string{"consumergroup", "topic", "partition"}, nil)
	m.groupLag = prometheus.NewDesc("kafka_consumergroup_lag", "Log end offset minus the group's committed offset on a partition.", []string{"consumergroup", "topic", "partition"}, nil)
	m.registry.MustRegister(m.requests, m.requestTime, m.requestErrs, m.bytesIn, m.messagesIn, m.bytesOut, m.messagesOut, m.flushTime,
		scrapeCollector{m})
	return m
}

// Registry returns the Prometheus registry holding the broker's metrics,
// for serving them from a server of one's own.
func (b *Broker) Registry() *prometheus.Registry { return b.metrics.registry }

// MetricsAddr returns the address of the metrics listener ("" when off).
func (b *Broker) MetricsAddr() string { return b.metrics.srvAddr }

func (m *brokerMetrics) api(key int16) *apiMetrics {
	if _, known := handlers[key]; !known {
		key = -1 // one series for every key the broker does not serve
	}
	if a, ok := m.apis.Load(key); ok {
		return a.(*apiMetrics)
	}
	name := "Unknown"
	if key >= 0 {
		name = kmsg.NameForKey(key)
	}
	a := &apiMetrics{requests: m.requests.WithLabelValues(name), time: m.requestTime.WithLabelValues(name), errs: m.requestErrs.WithLabelValues(name)}
	actual, _ := m.apis.LoadOrStore(key, a)
	return actual.(*apiMetrics)
}

// requestStarted counts a request frame's bytes in flight; the function
// it returns records its end with the error that ended it (the API key is
// the frame's first two bytes).
func (m *brokerMetrics) requestStarted(frame []byte) func(errp *error) {
	start := time.Now()
	key := int16(-1)
	if len(frame) >= 2 {
		key = int16(binary.BigEndian.Uint16(frame))
	}
	frameBytes := len(frame)
	m.inFlight.Add(int64(frameBytes))
	return func(errp *error) {
		m.inFlight.Add(-int64(frameBytes))
		a := m.api(key)
		a.requests.Inc()
		a.time.Observe(time.Since(start).Seconds())
		if *errp != nil {
			a.errs.Inc()
		}
	}
}

// produced counts an append of records (the batch bytes and record count).
func (m *brokerMetrics) produced(topic string, bytes int, records int64) {
	m.bytesIn.WithLabelValues(topic).Add(float64(bytes))
	m.messagesIn.WithLabelValues(topic).Add(float64(records))
}

// fetched counts the records of a Fetch answer.
func (m *brokerMetrics) fetched(resp *kmsg.FetchResponse) {
	for _, t := range resp.Topics {
		var bytes int
		var records int64
		for _, p := range t.Partitions {
			bytes += len(p.RecordBatches)
			records += batchRecordCount(p.RecordBatches)
		}
		if bytes > 0 {
			m.bytesOut.WithLabelValues(t.Topic).Add(float64(bytes))
			m.messagesOut.WithLabelValues(t.Topic).Add(float64(records))
		}
	}
}

// batchRecordCount sums the record counts in the headers of the record
// batches in b (magic 2: the count is the int32 at byte 57); a torn tail is
// ignored.
func batchRecordCount(b []byte) int64 {
	var n int64
	for len(b) >= 61 {
		size := int64(binary.BigEndian.Uint32(b[8:12])) + 12
		if size < 61 || size > int64(len(b)) {
			break
		}
		if c := int32(binary.BigEndian.Uint32(b[57:61])); c > 0 {
			n += int64(c)
		}
		b = b[size:]
	}
	return n
}

// observeFsync records one fsync of a log's data (partlog.Options.ObserveFsync).
func (m *brokerMetrics) observeFsync(d time.Duration) { m.flushTime.Observe(d.Seconds()) }

// scrapeCollector reads what is cheaper to read at scrape time than to
// count: offsets and sizes, connections, groups.
type scrapeCollector struct{ m *brokerMetrics }

func (c scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	m := c.m
	for _, d := range []*prometheus.Desc{m.logStart, m.logEnd, m.logSize, m.logSegments, m.connections, m.inFlightDesc,
		m.numGroups, m.groupState, m.groupMembers, m.groupOffset, m.groupLag} {
		ch <- d
	}
}

func (c scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	m, b := c.m, c.m.b
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	b.connMu.Lock()
	conns := len(b.conns)
	b.connMu.Unlock()
	gauge(m.connections, float64(conns))
	gauge(m.inFlightDesc, float64(m.inFlight.Load()))
	if b.topics == nil {
		return
	}
	snap := b.topics.load()
	ends := map[string][]int64{}
	for name, t := range snap.byName {
		ends[name] = make([]int64, len(t.partitions))
		for i, p := range t.partitions {
			ps := strconv.Itoa(i)
			start, end := p.log.LogStartOffset(), p.log.LogEndOffset()
			ends[name][i] = end
			gauge(m.logStart, float64(start), name, ps)
			gauge(m.logEnd, float64(end), name, ps)
			gauge(m.logSize, float64(p.log.Size()), name, ps)
			gauge(m.logSegments, float64(p.log.NumSegments()), name, ps)
		}
	}
	coord := b.coordinator()
	if coord == nil {
		return
	}
	groups := coord.ListGroups()
	gauge(m.numGroups, float64(len(groups)))
	ids := make([]string, len(groups))
	for i, g := range groups {
		ids[i] = g.Group
	}
	for _, d := range coord.DescribeGroups(ids) {
		if !d.Exists {
			continue
		}
		gauge(m.groupMembers, float64(len(d.Members)), d.Group)
		gauge(m.groupState, 1, d.Group, d.State.String())
		for _, t := range coord.FetchOffsets(d.Group, nil).Topics {
			for _, p := range t.Partitions {
				if p.Offset < 0 {
					continue
				}
				ps := strconv.Itoa(int(p.Partition))
				gauge(m.groupOffset, float64(p.Offset), d.Group, t.Topic, ps)
				if e := ends[t.Topic]; int(p.Partition) < len(e) {
					gauge(m.groupLag, float64(max(e[p.Partition]-p.Offset, 0)), d.Group, t.Topic, ps)
				}
			}
		}
	}
}

// startMetricsListener serves /metrics and /healthz when metrics.listener
// is set.
func (b *Broker) startMetricsListener() error {
	addr, _ := b.settings.value(metricsListenerKey)
	if addr == "" {
		return nil
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return fmt.Errorf("brokerlite: %s=%q: want host:port", metricsListenerKey, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("brokerlite: %s: listen on %s: %w", metricsListenerKey, addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(b.metrics.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if b.ctx.Err() != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"closing"}` + "\n"))
			return
		}
		fmt.Fprintf(w, `{"status":"ok","node_id":%d,"cluster_id":%q,"topics":%d}`+"\n", b.nodeID, b.clusterID, b.topics.count())
	})
	m := b.metrics
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.srvAddr = ln.Addr().String()
	m.srvDone = make(chan error, 1)
	go func() { m.srvDone <- m.srv.Serve(ln) }()
	b.logger.Info("metrics listener started", "url", "http://"+m.srvAddr+"/metrics")
	return nil
}

// stopMetricsListener stops the metrics listener, if it runs.
func (b *Broker) stopMetricsListener() {
	m := b.metrics
	if m == nil || m.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.srv.Shutdown(ctx); err != nil {
		m.srv.Close()
	}
	if err := <-m.srvDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
		b.logger.Warn("metrics listener stopped", "err", err)
	}
}
