package streams

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/statestore/badgerstore"
)

// Properties are an application's settings, with Kafka Streams' names
// (application.id, bootstrap.servers, num.stream.threads, ...). Keys that
// are not Kafka Streams settings are passed to the application's Kafka
// clients (see package client), all of them or, with a "consumer.",
// "producer." or "admin." prefix, one kind.
type Properties map[string]string

// ClientProperties returns the Kafka client properties an application with
// properties p gives its clients of role "consumer", "producer" or "admin":
// every property that is not a Kafka Streams setting, with the ones prefixed
// by the role ("admin.sasl.mechanism") taking precedence, prefix removed.
// Use it to build other clients (an admin client creating topics, say) with
// the application's connection and security settings. It fails as New does
// on invalid settings.
func (p Properties) ClientProperties(role string) (Properties, error) {
	c, err := parseConfig(p)
	if err != nil {
		return nil, err
	}
	props, ok := c.ClientProperties[role]
	if !ok {
		return nil, fmt.Errorf("streams: client properties: unknown role %q (want consumer, producer or admin)", role)
	}
	return maps.Clone(props), nil
}

// Property names, as Kafka Streams spells them; those marked Rivulet's own
// have no Kafka Streams counterpart.
const (
	PropApplicationID          = "application.id"
	PropBootstrapServers       = "bootstrap.servers"
	PropClientID               = "client.id"
	PropNumStreamThreads       = "num.stream.threads"
	PropCommitIntervalMs       = "commit.interval.ms"
	PropStateDir               = "state.dir"
	PropProcessingGuarantee    = "processing.guarantee"
	PropCacheMaxBytes          = "statestore.cache.max.bytes"
	PropCacheMaxBytesOld       = "cache.max.bytes.buffering"
	PropCacheMaxBytesShort     = "cache.max.bytes"
	PropTimestampExtractor     = "default.timestamp.extractor"
	PropDeserializationHandler = "default.deserialization.exception.handler"
	PropDeserializationNew     = "deserialization.exception.handler"
	PropProductionHandler      = "default.production.exception.handler"
	PropProductionNew          = "production.exception.handler"
	PropDeadLetterTopic        = "errors.dead.letter.queue.topic.name"
	PropReplicationFactor      = "replication.factor"
	PropBufferedRecords        = "buffered.records.per.partition"
	PropMaxTaskIdleMs          = "max.task.idle.ms"
	PropPollMs                 = "poll.ms"
	PropAutoOffsetReset        = "auto.offset.reset"
	PropNumStandbyReplicas     = "num.standby.replicas"
	PropApplicationServer      = "application.server"
	PropAcceptableRecoveryLag  = "acceptable.recovery.lag"
	PropMaxWarmupReplicas      = "max.warmup.replicas"
	PropProbingRebalanceMs     = "probing.rebalance.interval.ms"
	PropRepartitionPurgeMs     = "repartition.purge.interval.ms"
	PropTopologyOptimization   = "topology.optimization"
	PropMetricsRecordingLevel  = "metrics.recording.level"
	PropUpgradeFrom            = "upgrade.from"
	PropTaskTimeoutMs          = "task.timeout.ms"
	PropMaxPollRecords         = "max.poll.records"
	PropStateCleanupDelayMs    = "state.cleanup.delay.ms"
	// PropTopologyAcceptChanges (Rivulet's own) lets a start go ahead with
	// a topology whose auto-generated store or internal topic names moved
	// (see TopologyChangeError).
	PropTopologyAcceptChanges = "rivulet.topology.accept.changes"
	// PropStateMemoryMaxBytes (Rivulet's own) is the memory budget of the
	// instance's persistent stores, divided over the stores it expects to hold
	// (see DefaultStateMemoryMaxBytes). The default value is
	// DefaultStateMemoryMaxBytes (128 MiB); 0 means no budget.
	PropStateMemoryMaxBytes = "rivulet.state.memory.max.bytes"
	// PropHTTPListener (Rivulet's own) is host:port where the application serves its HTTP
	// endpoint (/metrics, /healthz, /readyz, /status, /topology, /stores).
	// Off when empty (the default).
	PropHTTPListener = "rivulet.http.listener"
	// PropHTTPReadyMaxLag (Rivulet's own) is the input lag, in records summed over this
	// instance's active tasks, up to which /readyz answers ready.
	PropHTTPReadyMaxLag = "rivulet.http.ready.max.lag"
	// PropMetricsSampleWindowMs is metrics.sample.window.ms, as Kafka
	// Streams spells it: the length of one sample window of the latency
	// averages and maxima.
	PropMetricsSampleWindowMs = "metrics.sample.window.ms"
	// PropMetricsNumSamples is metrics.num.samples: how many sample
	// windows the latency averages and maxima are computed over.
	PropMetricsNumSamples = "metrics.num.samples"
)

// Processing guarantees.
const (
	AtLeastOnce = "at_least_once"
	ExactlyOnce = "exactly_once_v2"
)

// config is an application's parsed and validated configuration. New builds
// it from Properties and Options; every field documents its default.
// App.Config hands out a copy as Properties.
type config struct {
	// ApplicationID names the consumer group, internal topics and the state
	// directory. Required.
	ApplicationID string
	// BootstrapServers are the seed brokers. Required.
	BootstrapServers []string
	// ClientID prefixes the clients' ids. The default value is
	// "<application.id>".
	ClientID string
	// NumStreamThreads is the number of stream threads. The default value
	// is 1.
	NumStreamThreads int
	// CommitInterval is how often threads commit. The default value is 30s
	// under at_least_once and 100ms under exactly_once_v2 (Kafka Streams'
	// defaults).
	CommitInterval time.Duration
	// CheckpointDeltaRecords is how far (in changelog records, summed over a
	// task's stores) a task's changelogs move past its last checkpoint before
	// an at-least-once commit makes its stores durable and writes a new one:
	// Kafka Streams' fixed 10,000. Not a property; tests lower it.
	CheckpointDeltaRecords int64
	// TransactionTimeout is the transaction.timeout.ms of the threads'
	// transactional producers under exactly_once_v2: how long a transaction
	// of a crashed instance blocks read_committed readers before the broker
	// aborts it, and the deadline of a commit's flush. It is set with the
	// client property transaction.timeout.ms (or
	// producer.transaction.timeout.ms) and must not be smaller than
	// CommitInterval. The default value is 10s under exactly_once_v2 (as
	// Kafka Streams sets it); unused under at_least_once.
	TransactionTimeout time.Duration
	// StateDir holds the state of every application on this machine, in
	// <StateDir>/<application.id>/<task>/<store>. The default value is
	// <os.TempDir()>/rivulet-streams.
	StateDir string
	// ProcessingGuarantee is at_least_once (the default) or exactly_once_v2
	// (KIP-447 transactions; see docs/exactly-once.md).
	ProcessingGuarantee string
	// CacheMaxBytes is the record cache budget of the whole instance, split
	// evenly over its threads. The default value is 10 MiB; 0 disables
	// caching.
	CacheMaxBytes int64
	// StateMemoryMaxBytes is the memory budget of the instance's
	// persistent stores, divided over the stores it expects to hold
	// (rivulet.state.memory.max.bytes). The default
	// value is DefaultStateMemoryMaxBytes (128 MiB); 0 means no budget, each
	// store opens with badgerstore's defaults.
	StateMemoryMaxBytes int64
	// TimestampExtractor is the default extractor. The default value is
	// RecordTimestamp (Kafka Streams' FailOnInvalidTimestamp).
	TimestampExtractor TimestampExtractor
	// DeserializationHandler handles undecodable records. The default
	// value is LogAndFail.
	DeserializationHandler DeserializationHandler
	// ProductionHandler handles records that cannot be produced. The
	// default value is ProductionFailAlways.
	ProductionHandler ProductionHandler
	// UncaughtErrorHandler decides what a failed thread leads to. The
	// default value answers ShutdownClient.
	UncaughtErrorHandler UncaughtErrorHandler
	// DeadLetterTopic receives undecodable records when set. The default
	// value is "" (none).
	DeadLetterTopic string
	// ReplicationFactor of internal topics. The default value is -1: the
	// broker's default.
	ReplicationFactor int16
	// BufferedRecordsPerPartition is how many records a thread buffers per
	// partition before it pauses fetching it. The default value is 1000.
	BufferedRecordsPerPartition int
	// MaxTaskIdle is max.task.idle.ms (KIP-695): how long a task with an
	// empty input partition that is caught up waits for more before
	// processing its other partitions. The default value is 0: it waits
	// only while that partition's fetch lag is unknown or above zero.
	// Negative (-1) never waits.
	MaxTaskIdle time.Duration
	// PollTimeout is how long a thread blocks waiting for records (poll.ms),
	// less when its next commit is due sooner. The default value is 100ms.
	PollTimeout time.Duration
	// AutoOffsetReset is where sources start without a committed offset:
	// "earliest" (the default, as Kafka Streams) or "latest".
	AutoOffsetReset string
	// NumStandbyReplicas is how many standby replicas of each stateful
	// task the assignor places on other instances (warm copies of its
	// stores fed from the changelogs, promoted on failover). The default
	// value is 0.
	NumStandbyReplicas int
	// AcceptableRecoveryLag is how many changelog records an instance's
	// copy of a task may be behind for the instance to count as caught up
	// (KIP-441): a task moves to a new owner only once it is. The default
	// value is 10000.
	AcceptableRecoveryLag int64
	// MaxWarmupReplicas is how many warm-up replicas (standbys kept on the
	// instances tasks are moving to, until they catch up) the assignment
	// may hold at once. The default value is 2.
	MaxWarmupReplicas int
	// ProbingRebalanceInterval is how long after an assignment with
	// warm-ups a probing rebalance checks whether they caught up. The
	// default value is 10 minutes (Kafka Streams requires at least one
	// minute; shorter values are accepted here, for tests).
	ProbingRebalanceInterval time.Duration
	// ApplicationServer is this instance's host:port for interactive
	// queries: carried in the subscription, it makes the instance appear
	// in App.Metadata. The default value is "".
	ApplicationServer string
	// Ops holds the operator settings: the HTTP endpoint, metrics
	// recording level (config_ops.go).
	Ops opsConfig
	// RepartitionPurgeInterval is how often consumed repartition records
	// are deleted. The default value is 30s.
	RepartitionPurgeInterval time.Duration
	// MaxPollRecords bounds the records one poll returns. The default value
	// is 1000.
	MaxPollRecords int
	// AcceptTopologyChanges lets the application start with a topology that
	// renames auto-generated stores or internal topics the previous run
	// had, leaving their state behind (rivulet.topology.accept.changes).
	// The default value is false: such a start is refused with a
	// *TopologyChangeError.
	AcceptTopologyChanges bool
	// ClientProperties are the Kafka client properties, by role.
	ClientProperties map[string]Properties
	// IgnoredProperties lists the properties given that have no effect
	// (Kafka Streams settings Rivulet does not implement, and client
	// properties the client layer ignores), with what happens instead. New
	// logs them in one line at start.
	IgnoredProperties []ignoredProperty
	// BadgerConfigSetter, when set, tunes each persistent store's Badger
	// options (WithBadgerConfigSetter). The default value is nil: the
	// defaults of badgerstore.Options.
	BadgerConfigSetter func(storeName string, opts *badgerstore.Options)
	// Logger receives the application's logs. The default value is
	// slog.Default().
	Logger *slog.Logger
	// Registerer, when set, gets the application's Prometheus metrics.
	// The default value is nil: metrics are kept in a private registry
	// (App.Metrics) and nothing global is touched.
	Registerer prometheus.Registerer
	// KgoOpts are extra franz-go options for every client.
	KgoOpts []kgo.Opt
	// Balancer, when set, replaces the task assignor (for the scaling
	// work). The default value is the built-in sticky task assignor.
	Balancer func(app *App) kgo.GroupBalancer
	// wallClock is for tests.
	now func() time.Time
}

// Option sets what properties cannot express: functions, loggers, metric
// registries and raw franz-go options. Properties, with Kafka Streams'
// names, are the way to set everything else; New takes both.
type Option func(*config)

// WithTimestampExtractor sets the default timestamp extractor.
func WithTimestampExtractor(fn TimestampExtractor) Option {
	return func(c *config) { c.TimestampExtractor = fn }
}

// WithDeserializationHandler sets the deserialization error handler.
func WithDeserializationHandler(fn DeserializationHandler) Option {
	return func(c *config) { c.DeserializationHandler = fn }
}

// WithProductionHandler sets the production error handler.
func WithProductionHandler(fn ProductionHandler) Option {
	return func(c *config) { c.ProductionHandler = fn }
}

// WithUncaughtErrorHandler sets the handler for failed threads.
func WithUncaughtErrorHandler(fn UncaughtErrorHandler) Option {
	return func(c *config) { c.UncaughtErrorHandler = fn }
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.Logger = l } }

// WithRegisterer registers the application's metrics with r.
func WithRegisterer(r prometheus.Registerer) Option { return func(c *config) { c.Registerer = r } }

// WithKgoOpts adds franz-go options to every client the application makes.
func WithKgoOpts(opts ...kgo.Opt) Option {
	return func(c *config) { c.KgoOpts = append(c.KgoOpts, opts...) }
}

// WithBalancer replaces the task assignor: fn gets the app and returns the
// group balancer its consumers use.
func WithBalancer(fn func(app *App) kgo.GroupBalancer) Option {
	return func(c *config) { c.Balancer = fn }
}

// streamsKeys are the keys config consumes; others go to the clients.
var streamsKeys = map[string]bool{
	PropApplicationID: true, PropNumStreamThreads: true, PropCommitIntervalMs: true,
	PropStateDir: true, PropProcessingGuarantee: true, PropCacheMaxBytes: true, PropCacheMaxBytesOld: true,
	PropCacheMaxBytesShort: true, PropTimestampExtractor: true, PropDeserializationHandler: true,
	PropDeserializationNew: true, PropProductionHandler: true, PropProductionNew: true,
	PropDeadLetterTopic: true, PropReplicationFactor: true, PropBufferedRecords: true,
	PropMaxTaskIdleMs: true, PropPollMs: true, PropNumStandbyReplicas: true,
	PropApplicationServer: true, PropAcceptableRecoveryLag: true, PropRepartitionPurgeMs: true,
	PropTopologyOptimization: true, PropMetricsRecordingLevel: true, PropUpgradeFrom: true,
	PropTaskTimeoutMs: true, PropStateCleanupDelayMs: true,
	// Kafka Streams' names for settings it forwards to its clients but
	// which the runtime owns.
	PropMaxPollRecords: true, PropAutoOffsetReset: true,
	"default.key.serde": true, "default.value.serde": true, "window.size.ms": true,
	"rocksdb.config.setter": true, "default.dsl.store": true, "dsl.store.suppliers.class": true,
	PropProbingRebalanceMs: true, PropMaxWarmupReplicas: true, "rack.aware.assignment.tags": true,
}

// parseConfig parses and validates properties, then applies options.
func parseConfig(props Properties, opts ...Option) (*config, error) {
	c := &config{
		NumStreamThreads:            1,
		CommitInterval:              30 * time.Second,
		CheckpointDeltaRecords:      checkpointDeltaRecords,
		StateDir:                    filepath.Join(os.TempDir(), "rivulet-streams"),
		ProcessingGuarantee:         AtLeastOnce,
		CacheMaxBytes:               10 << 20,
		StateMemoryMaxBytes:         DefaultStateMemoryMaxBytes,
		ReplicationFactor:           -1,
		BufferedRecordsPerPartition: 1000,
		PollTimeout:                 100 * time.Millisecond,
		AutoOffsetReset:             "earliest",
		RepartitionPurgeInterval:    30 * time.Second,
		MaxPollRecords:              1000,
		AcceptableRecoveryLag:       10000,
		MaxWarmupReplicas:           2,
		ProbingRebalanceInterval:    10 * time.Minute,
		ClientProperties:            map[string]Properties{"consumer": {}, "producer": {}, "admin": {}},
		Ops:                         defaultOpsConfig(),
	}
	var errs []error
	bad := func(key, value, why string) {
		errs = append(errs, fmt.Errorf("streams: property %s=%q: %s", key, value, why))
	}
	intProp := func(key, v string, lo, hi int64) int64 {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < lo || n > hi {
			bad(key, v, fmt.Sprintf("want an integer in [%d, %d]", lo, hi))
			return lo
		}
		return n
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var clientCommon Properties = Properties{}
	for _, k := range keys {
		v := props[k]
		switch k {
		case PropApplicationID:
			c.ApplicationID = strings.TrimSpace(v)
		case PropBootstrapServers:
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					c.BootstrapServers = append(c.BootstrapServers, s)
				}
			}
			clientCommon[k] = v
		case PropClientID:
			c.ClientID = v
		case PropNumStreamThreads:
			c.NumStreamThreads = int(intProp(k, v, 1, 1024))
		case PropCommitIntervalMs:
			c.CommitInterval = time.Duration(intProp(k, v, 1, 1<<40)) * time.Millisecond
		case PropStateDir:
			c.StateDir = v
		case PropProcessingGuarantee:
			switch v {
			case AtLeastOnce, ExactlyOnce:
				c.ProcessingGuarantee = v
			case "exactly_once", "exactly_once_beta":
				bad(k, v, "removed in Kafka Streams 4.0 and not supported; use exactly_once_v2 (the same guarantee with one producer per thread)")
			default:
				bad(k, v, "want at_least_once or exactly_once_v2")
			}
		case PropCacheMaxBytes, PropCacheMaxBytesOld, PropCacheMaxBytesShort:
			c.CacheMaxBytes = intProp(k, v, 0, 1<<50)
		case PropStateMemoryMaxBytes:
			c.StateMemoryMaxBytes = intProp(k, v, 0, 1<<50)
		case PropTimestampExtractor:
			switch simpleClassName(v) {
			case "FailOnInvalidTimestamp", "RecordTimestamp":
				c.TimestampExtractor = RecordTimestamp
			case "LogAndSkipOnInvalidTimestamp":
				c.TimestampExtractor = LogAndSkipOnInvalidTimestamp
			case "UsePartitionTimeOnInvalidTimestamp", "UsePreviousTimeOnInvalidTimestamp":
				c.TimestampExtractor = UsePartitionTimeOnInvalidTimestamp
			case "WallclockTimestampExtractor", "WallClockTimestamp":
				c.TimestampExtractor = WallClockTimestamp(nil)
			default:
				bad(k, v, "want FailOnInvalidTimestamp, LogAndSkipOnInvalidTimestamp, UsePartitionTimeOnInvalidTimestamp or WallclockTimestampExtractor (or WithTimestampExtractor for a custom one)")
			}
		case PropDeserializationHandler, PropDeserializationNew:
			switch simpleClassName(v) {
			case "LogAndFailExceptionHandler", "LogAndFail", "fail":
				c.DeserializationHandler = LogAndFail
			case "LogAndContinueExceptionHandler", "LogAndContinue", "continue":
				c.DeserializationHandler = LogAndContinue
			default:
				bad(k, v, "want LogAndFailExceptionHandler or LogAndContinueExceptionHandler (or WithDeserializationHandler)")
			}
		case PropProductionHandler, PropProductionNew:
			switch simpleClassName(v) {
			case "DefaultProductionExceptionHandler", "fail":
				c.ProductionHandler = ProductionFailAlways
			case "continue", "ProductionContinueAlways":
				c.ProductionHandler = ProductionContinueAlways
			default:
				bad(k, v, "want DefaultProductionExceptionHandler (fail) or continue (or WithProductionHandler)")
			}
		case PropDeadLetterTopic:
			c.DeadLetterTopic = strings.TrimSpace(v)
		case PropReplicationFactor:
			c.ReplicationFactor = int16(intProp(k, v, -1, 32767))
			if c.ReplicationFactor == 0 {
				bad(k, v, "must be -1 (broker default) or at least 1")
			}
		case PropBufferedRecords:
			c.BufferedRecordsPerPartition = int(intProp(k, v, 1, 1<<30))
		case PropMaxTaskIdleMs:
			// -1 (negative) never waits, not even for a fetch (KIP-695).
			c.MaxTaskIdle = time.Duration(intProp(k, v, -1, 1<<40)) * time.Millisecond
		case PropPollMs:
			c.PollTimeout = time.Duration(intProp(k, v, 1, 1<<40)) * time.Millisecond
		case PropAutoOffsetReset:
			switch v {
			case "earliest", "latest":
				c.AutoOffsetReset = v
			default:
				bad(k, v, "want earliest or latest")
			}
		case PropNumStandbyReplicas:
			c.NumStandbyReplicas = int(intProp(k, v, 0, 1024))
		case PropAcceptableRecoveryLag:
			c.AcceptableRecoveryLag = intProp(k, v, 0, 1<<62)
		case PropMaxWarmupReplicas:
			c.MaxWarmupReplicas = int(intProp(k, v, 1, 1<<20))
		case PropProbingRebalanceMs:
			c.ProbingRebalanceInterval = time.Duration(intProp(k, v, 1, 1<<40)) * time.Millisecond
		case PropApplicationServer:
			c.ApplicationServer = strings.TrimSpace(v)
			if c.ApplicationServer != "" {
				if _, port, err := net.SplitHostPort(c.ApplicationServer); err != nil || port == "" {
					bad(k, v, "want host:port")
				} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
					bad(k, v, "want host:port with a port in [0, 65535]")
				}
			}
		case PropRepartitionPurgeMs:
			c.RepartitionPurgeInterval = time.Duration(intProp(k, v, 1, 1<<40)) * time.Millisecond
		case PropMaxPollRecords:
			c.MaxPollRecords = int(intProp(k, v, 1, 1<<30))
		case PropTopologyAcceptChanges:
			switch strings.TrimSpace(v) {
			case "true":
				c.AcceptTopologyChanges = true
			case "false":
				c.AcceptTopologyChanges = false
			default:
				bad(k, v, "want true or false")
			}
		case PropTopologyOptimization:
			if v != "none" {
				bad(k, v, "only none is supported")
			}
		default:
			if parseOpsProp(c, k, v, bad) {
				continue
			}
			if streamsKeys[k] {
				c.noteIgnored(k) // accepted Kafka Streams setting with no effect here
				continue
			}
			switch {
			case strings.HasPrefix(k, "consumer."):
				c.ClientProperties["consumer"][strings.TrimPrefix(k, "consumer.")] = v
			case strings.HasPrefix(k, "main.consumer."):
				c.ClientProperties["consumer"][strings.TrimPrefix(k, "main.consumer.")] = v
			case strings.HasPrefix(k, "producer."):
				c.ClientProperties["producer"][strings.TrimPrefix(k, "producer.")] = v
			case strings.HasPrefix(k, "admin."):
				c.ClientProperties["admin"][strings.TrimPrefix(k, "admin.")] = v
			default:
				clientCommon[k] = v
			}
		}
	}
	for role, p := range c.ClientProperties {
		merged := Properties{}
		for k, v := range clientCommon {
			merged[k] = v
		}
		for k, v := range p {
			merged[k] = v
		}
		c.ClientProperties[role] = merged
	}
	for _, o := range opts {
		o(c)
	}
	if c.ApplicationID == "" {
		errs = append(errs, errors.New("streams: property application.id is required"))
	} else if !validTopicChars(c.ApplicationID) {
		errs = append(errs, fmt.Errorf("streams: property application.id=%q: use only letters, digits, '.', '_' and '-' (it prefixes topic names)", c.ApplicationID))
	}
	if len(c.BootstrapServers) == 0 {
		errs = append(errs, errors.New("streams: property bootstrap.servers is required"))
	}
	if err := checkStateMemory(c.StateMemoryMaxBytes); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if _, set := props[PropCommitIntervalMs]; !set && c.ProcessingGuarantee == ExactlyOnce {
		c.CommitInterval = 100 * time.Millisecond
	}
	if err := c.resolveTransactionTimeout(); err != nil {
		return nil, err
	}
	if c.ClientID == "" {
		c.ClientID = c.ApplicationID
	}
	if c.TimestampExtractor == nil {
		c.TimestampExtractor = RecordTimestamp
	}
	if c.DeserializationHandler == nil {
		c.DeserializationHandler = LogAndFail
	}
	if c.ProductionHandler == nil {
		c.ProductionHandler = ProductionFailAlways
	}
	if c.UncaughtErrorHandler == nil {
		c.UncaughtErrorHandler = func(error) UncaughtResponse { return ShutdownClient }
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

func simpleClassName(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.LastIndexByte(v, '.'); i >= 0 {
		return v[i+1:]
	}
	return v
}

func validTopicChars(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return len(s) <= 200
}
