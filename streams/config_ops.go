package streams

import (
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Metrics recording levels, as Kafka Streams' metrics.recording.level.
const (
	RecordingLevelInfo  = "INFO"
	RecordingLevelDebug = "DEBUG"
	RecordingLevelTrace = "TRACE"
)

// opsConfig holds what an operator sets to watch an application.
type opsConfig struct {
	// HTTPListener is rivulet.http.listener: host:port of the HTTP
	// endpoint (port 0 picks a free one; App.HTTPAddr tells which). The
	// default value is "": no endpoint.
	HTTPListener string
	// ReadyMaxLag is rivulet.http.ready.max.lag: /readyz answers 200 when
	// the application is RUNNING and its local input lag is at most this.
	// The default value is 10000.
	ReadyMaxLag int64
	// RecordingLevel is metrics.recording.level: INFO (the default), DEBUG
	// or TRACE. Thread, task, processor-node and state-store metrics are
	// recorded from the level Kafka Streams records them at.
	RecordingLevel string
	// SampleWindow is metrics.sample.window.ms: the state-store latency
	// averages and maxima (*_latency_avg_seconds, *_latency_max_seconds)
	// are over the last NumSamples windows of this length, as Kafka's
	// sampled stats. The default value is 30 s.
	SampleWindow time.Duration
	// NumSamples is metrics.num.samples. The default value is 2.
	NumSamples int
}

func defaultOpsConfig() opsConfig {
	return opsConfig{ReadyMaxLag: 10000, RecordingLevel: RecordingLevelInfo, SampleWindow: defaultSampleWindow, NumSamples: defaultNumSamples}
}

// parseOpsProp parses one operator property; false when k is not one.
func parseOpsProp(c *config, k, v string, bad func(key, value, why string)) bool {
	switch k {
	case PropHTTPListener:
		c.Ops.HTTPListener = strings.TrimSpace(v)
		if c.Ops.HTTPListener != "" {
			if _, port, err := net.SplitHostPort(c.Ops.HTTPListener); err != nil {
				bad(k, v, "want host:port")
			} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
				bad(k, v, "want host:port with a port in [0, 65535]")
			}
		}
	case PropHTTPReadyMaxLag:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			bad(k, v, "want an integer >= 0")
			return true
		}
		c.Ops.ReadyMaxLag = n
	case PropMetricsSampleWindowMs:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 1 || n > math.MaxInt64/int64(time.Millisecond) {
			bad(k, v, "want a number of milliseconds >= 1")
			return true
		}
		c.Ops.SampleWindow = time.Duration(n) * time.Millisecond
	case PropMetricsNumSamples:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 1000 {
			bad(k, v, "want an integer in [1, 1000]")
			return true
		}
		c.Ops.NumSamples = n
	case PropMetricsRecordingLevel:
		switch l := strings.ToUpper(strings.TrimSpace(v)); l {
		case RecordingLevelInfo, RecordingLevelDebug, RecordingLevelTrace:
			c.Ops.RecordingLevel = l
		default:
			bad(k, v, "want INFO, DEBUG or TRACE")
		}
	default:
		return false
	}
	return true
}

// startOps logs the effective configuration and starts the HTTP endpoint
// (http.go), before the threads join the group.
func (a *App) startOps() error {
	a.logConfig()
	return a.startHTTP()
}

// logConfig logs the effective configuration once at start, as Kafka
// Streams logs its StreamsConfig values: every setting with the value in
// force (defaults included), client properties by role, secrets hidden.
func (a *App) logConfig() {
	settings := a.cfg.settings()
	attrs := make([]any, 0, 2*len(settings))
	for _, kv := range settings {
		attrs = append(attrs, kv[0], kv[1])
	}
	a.cfg.Logger.Info("streams: effective configuration", attrs...)
}

// properties returns the effective configuration as properties (a fresh
// map), secrets hidden.
func (c *config) properties() Properties {
	settings := c.settings()
	p := make(Properties, len(settings))
	for _, kv := range settings {
		p[kv[0]] = kv[1]
	}
	return p
}

// settings lists every setting with the value in force, with Kafka
// Streams' names, then the client properties by role ("consumer.x"),
// sorted, secrets hidden.
func (c *config) settings() [][2]string {
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	out := [][2]string{
		{PropApplicationID, c.ApplicationID},
		{PropBootstrapServers, strings.Join(c.BootstrapServers, ",")},
		{PropClientID, c.ClientID},
		{PropNumStreamThreads, i(int64(c.NumStreamThreads))},
		{PropCommitIntervalMs, i(c.CommitInterval.Milliseconds())},
		{PropStateDir, c.StateDir},
		{PropProcessingGuarantee, c.ProcessingGuarantee},
		{PropCacheMaxBytes, i(c.CacheMaxBytes)},
		{PropStateMemoryMaxBytes, i(c.StateMemoryMaxBytes)},
		{PropReplicationFactor, i(int64(c.ReplicationFactor))},
		{PropBufferedRecords, i(int64(c.BufferedRecordsPerPartition))},
		{PropMaxTaskIdleMs, i(c.MaxTaskIdle.Milliseconds())},
		{PropPollMs, i(c.PollTimeout.Milliseconds())},
		{PropAutoOffsetReset, c.AutoOffsetReset},
		{PropMaxPollRecords, i(int64(c.MaxPollRecords))},
		{PropNumStandbyReplicas, i(int64(c.NumStandbyReplicas))},
		{PropAcceptableRecoveryLag, i(c.AcceptableRecoveryLag)},
		{PropMaxWarmupReplicas, i(int64(c.MaxWarmupReplicas))},
		{PropProbingRebalanceMs, i(c.ProbingRebalanceInterval.Milliseconds())},
		{PropApplicationServer, c.ApplicationServer},
		{PropRepartitionPurgeMs, i(c.RepartitionPurgeInterval.Milliseconds())},
		{PropDeadLetterTopic, c.DeadLetterTopic},
		{PropTopologyAcceptChanges, strconv.FormatBool(c.AcceptTopologyChanges)},
		{PropMetricsRecordingLevel, c.Ops.RecordingLevel},
		{PropMetricsSampleWindowMs, i(c.Ops.SampleWindow.Milliseconds())},
		{PropMetricsNumSamples, i(int64(c.Ops.NumSamples))},
		{PropHTTPListener, c.Ops.HTTPListener},
		{PropHTTPReadyMaxLag, i(c.Ops.ReadyMaxLag)},
	}
	if _, set := c.ClientProperties["producer"][propTransactionTimeoutMs]; c.ProcessingGuarantee == ExactlyOnce && !set {
		out = append(out, [2]string{"producer." + propTransactionTimeoutMs, i(c.TransactionTimeout.Milliseconds())})
	}
	for _, role := range []string{"consumer", "producer", "admin"} {
		props := c.ClientProperties[role]
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := props[k]
			if secretProperty(k) {
				v = "[hidden]"
			}
			out = append(out, [2]string{role + "." + k, v})
		}
	}
	return out
}

// secretProperty reports whether a client property holds a secret.
func secretProperty(k string) bool {
	k = strings.ToLower(k)
	return strings.Contains(k, "password") || strings.Contains(k, "jaas") || strings.Contains(k, "secret") || strings.HasSuffix(k, ".key")
}
