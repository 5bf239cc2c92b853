package brokerlite

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/rivulet-io/rivulet/internal/properties"
)

// Config is what Start needs: the broker's properties, spelled as Kafka spells them in
// server.properties, and where to log.
//
// Properties holds only what the operator set; every key left out takes Kafka's default
// (or Rivulet's, where the two differ, which BrokerConfigKeys documents). The keys Rivulet
// understands are listed by BrokerConfigKeys and documented in config/server.properties;
// the most used are:
//
//	broker.id / node.id               this broker's node id (default 0)
//	listeners                         NAME://host:port[,...] to listen on (default PLAINTEXT://127.0.0.1:9092; port 0 picks a free port)
//	advertised.listeners              the address each listener's clients are told (default: its actual address)
//	listener.security.protocol.map    listener name to PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
//	ssl.*, sasl.*, authorizer.class.name, super.users   TLS, SASL and ACLs (docs/security.md)
//	log.dirs / log.dir                where partition logs and metadata live (default <tmp>/rivulet-logs)
//	num.partitions                    partitions of an auto-created topic (default 1)
//	default.replication.factor        must be 1: brokerlite is one node
//	auto.create.topics.enable         create a topic the first time a Metadata request names it (default true)
//	delete.topic.enable               allow DeleteTopics (default true)
//	log.retention.{ms,minutes,hours}  retention time (default 168 hours)
//	log.retention.bytes               retention size per partition (default -1, none)
//	log.segment.bytes                 segment size (default 1 GiB)
//	message.max.bytes                 largest record batch accepted (default 1048588)
//	socket.request.max.bytes          largest request frame accepted (default 104857600)
//	offsets.topic.num.partitions      partitions of __consumer_offsets (default 50)
//	group.min.session.timeout.ms      (default 6000)
//	group.max.session.timeout.ms      (default 1800000)
//	group.initial.rebalance.delay.ms  (default 3000)
//
// Unknown keys are not an error (a Kafka server.properties carries many keys that make no
// sense for one node, such as zookeeper.connect), but Start logs a warning for each one
// and ParseSettings returns them, so nothing is silently dropped.
type Config struct {
	// Properties are the broker's settings by Kafka property name. Nil means all defaults.
	Properties map[string]string

	// Logger receives the broker's log lines. The default is slog.Default().
	Logger *slog.Logger
}

// ConfigKey describes one broker property that brokerlite understands.
type ConfigKey struct {
	Name     string // Kafka's property name
	Default  string // the value used when the property is not set
	Doc      string // one line of documentation
	ReadOnly bool   // true if it cannot be changed while the broker runs
	// Synonyms are other names for the same setting, most specific first (log.retention.ms
	// before log.retention.minutes before log.retention.hours), as DescribeConfigs lists them.
	Synonyms []string
	// Sensitive values are never returned by DescribeConfigs.
	Sensitive bool
}

// brokerKeys lists every broker property that brokerlite understands, with Kafka's defaults
// (Rivulet's where they differ, and then the Doc says so).
var brokerKeys = append([]ConfigKey{
	{Name: "broker.id", Default: "0", Doc: "this broker's node id; node.id is a synonym", ReadOnly: true, Synonyms: []string{"node.id"}},
	{Name: "node.id", Default: "0", Doc: "this broker's node id (KRaft name of broker.id)", ReadOnly: true},
	{Name: "process.roles", Default: "broker,controller", Doc: "accepted for compatibility; brokerlite is always its own controller", ReadOnly: true},
	{Name: "cluster.id", Default: "", Doc: "the cluster id to use on first start; later starts read it from meta.properties", ReadOnly: true},
	{Name: "listeners", Default: "PLAINTEXT://127.0.0.1:9092", Doc: "NAME://host:port[,...]: the listeners to serve; port 0 picks a free port (Rivulet default: loopback)", ReadOnly: true},
	{Name: "advertised.listeners", Default: "", Doc: "NAME://host:port[,...]: the address each listener's clients are told in Metadata; default: the bound address", ReadOnly: true},
	{Name: "listener.security.protocol.map", Default: "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", Doc: "listener name to security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)", ReadOnly: true},
	{Name: "log.dirs", Default: "", Doc: "comma-separated data directories; the first holds broker metadata (default: log.dir)", ReadOnly: true},
	{Name: "log.dir", Default: defaultLogDir(), Doc: "data directory used when log.dirs is unset", ReadOnly: true},
	{Name: "num.partitions", Default: "1", Doc: "partitions of an auto-created topic, and of CreateTopics with num_partitions=-1"},
	{Name: "default.replication.factor", Default: "1", Doc: "replication factor of auto-created topics; must be 1 on one node"},
	{Name: "auto.create.topics.enable", Default: "true", Doc: "create a topic the first time a Metadata request names it"},
	{Name: "delete.topic.enable", Default: "true", Doc: "allow DeleteTopics"},
	{Name: "log.retention.ms", Default: "", Doc: "how long to keep a log segment (ms); -1 keeps forever", Synonyms: []string{"log.retention.minutes", "log.retention.hours"}},
	{Name: "log.retention.minutes", Default: "", Doc: "retention in minutes, used when log.retention.ms is unset", Synonyms: []string{"log.retention.hours"}},
	{Name: "log.retention.hours", Default: "168", Doc: "retention in hours, used when log.retention.ms and .minutes are unset"},
	{Name: "log.retention.bytes", Default: "-1", Doc: "largest size of a partition before old segments are deleted; -1 (any negative value) for no limit"},
	{Name: "log.segment.bytes", Default: "1073741824", Doc: "size at which a segment is rolled"},
	{Name: "log.roll.ms", Default: "", Doc: "age at which a segment is rolled (ms)", Synonyms: []string{"log.roll.hours"}},
	{Name: "log.roll.hours", Default: "168", Doc: "age at which a segment is rolled, used when log.roll.ms is unset"},
	{Name: "log.index.interval.bytes", Default: "4096", Doc: "bytes between two entries of the sparse offset index"},
	{Name: "log.index.size.max.bytes", Default: "10485760", Doc: "largest offset index file; a full index rolls the segment"},
	{Name: "log.cleanup.policy", Default: "delete", Doc: "delete, compact, or compact,delete"},
	{Name: "log.flush.interval.messages", Default: "9223372036854775807", Doc: "fsync a partition after this many messages"},
	{Name: "log.flush.interval.ms", Default: "", Doc: "fsync a partition after this long (ms); unset = never on a timer"},
	{Name: "log.retention.check.interval.ms", Default: "300000", Doc: "how often retention is checked"},
	{Name: "log.cleaner.enable", Default: "true", Doc: "run the log cleaner for compacted topics"},
	{Name: "log.cleaner.threads", Default: "1", Doc: "threads of the log cleaner"},
	{Name: "log.cleaner.backoff.ms", Default: "15000", Doc: "sleep of the cleaner when there is nothing to clean"},
	{Name: "log.cleaner.delete.retention.ms", Default: "86400000", Doc: "how long tombstones are kept in compacted topics"},
	{Name: "log.cleaner.min.cleanable.ratio", Default: "0.5", Doc: "dirty ratio above which a log is cleaned"},
	{Name: "log.cleaner.min.compaction.lag.ms", Default: "0", Doc: "minimum age of a record before it may be compacted"},
	{Name: "log.cleaner.max.compaction.lag.ms", Default: "9223372036854775807", Doc: "maximum age of a record before it must be compacted"},
	{Name: "log.message.timestamp.type", Default: "CreateTime", Doc: "CreateTime or LogAppendTime"},
	{Name: "log.segment.delete.delay.ms", Default: "60000", Doc: "how long a deleted segment's files are kept (renamed .deleted) before removal"},
	{Name: "log.preallocate", Default: "false", Doc: "accepted for compatibility; segments are not preallocated"},
	{Name: "message.max.bytes", Default: "1048588", Doc: "largest record batch accepted"},
	{Name: "compression.type", Default: "producer", Doc: "only 'producer' is supported: batches are stored as produced"},
	{Name: "min.insync.replicas", Default: "1", Doc: "must be 1 on one node"},
	{Name: "unclean.leader.election.enable", Default: "false", Doc: "accepted for compatibility; meaningless on one node"},
	{Name: "socket.request.max.bytes", Default: "104857600", Doc: "largest request frame; a larger one closes the connection", ReadOnly: true},
	{Name: "socket.send.buffer.bytes", Default: "102400", Doc: "SO_SNDBUF of client connections; -1 for the OS default", ReadOnly: true},
	{Name: "socket.receive.buffer.bytes", Default: "102400", Doc: "SO_RCVBUF of client connections; -1 for the OS default", ReadOnly: true},
	{Name: "num.network.threads", Default: "3", Doc: "accepted for compatibility; each connection has its own goroutine", ReadOnly: true},
	{Name: "num.io.threads", Default: "8", Doc: "accepted for compatibility; requests run on their connection's goroutine", ReadOnly: true},
	{Name: "offsets.topic.num.partitions", Default: "50", Doc: "partitions of __consumer_offsets (fixed once it exists)", ReadOnly: true},
	{Name: "offsets.topic.replication.factor", Default: "1", Doc: "must be 1 on one node", ReadOnly: true},
	{Name: "offsets.topic.segment.bytes", Default: "104857600", Doc: "segment size of __consumer_offsets", ReadOnly: true},
	{Name: "offsets.retention.minutes", Default: "10080", Doc: "how long committed offsets of an empty group are kept"},
	{Name: "offsets.retention.check.interval.ms", Default: "600000", Doc: "how often expired offsets are removed"},
	{Name: "offsets.commit.timeout.ms", Default: "5000", Doc: "how long an offset commit may wait for its write to __consumer_offsets to be durable before it answers COORDINATOR_NOT_AVAILABLE"},
	{Name: "offset.metadata.max.bytes", Default: "4096", Doc: "largest metadata string of one committed offset (OFFSET_METADATA_TOO_LARGE above it)"},
	{Name: "group.min.session.timeout.ms", Default: "6000", Doc: "smallest session timeout a consumer may ask for"},
	{Name: "group.max.session.timeout.ms", Default: "1800000", Doc: "largest session timeout a consumer may ask for"},
	{Name: "group.initial.rebalance.delay.ms", Default: "3000", Doc: "how long an empty group waits for more members before it rebalances"},
	{Name: "group.max.size", Default: "2147483647", Doc: "largest number of members in one group"},
	{Name: "transactional.id.expiration.ms", Default: "604800000", Doc: "a transactional id with no transaction and no request for this long is removed", ReadOnly: true},
	{Name: "transaction.max.timeout.ms", Default: "900000", Doc: "largest transaction.timeout.ms a producer may ask for (INVALID_TRANSACTION_TIMEOUT above it)", ReadOnly: true},
	{Name: "transaction.abort.timed.out.transaction.cleanup.interval.ms", Default: "10000", Doc: "how often transactions past their timeout are aborted (their producer fenced)", ReadOnly: true},
	{Name: "transaction.remove.expired.transaction.cleanup.interval.ms", Default: "3600000", Doc: "how often expired transactional ids are removed", ReadOnly: true},
	{Name: "transaction.state.log.num.partitions", Default: "50", Doc: "partitions of __transaction_state (fixed once it exists)", ReadOnly: true},
	{Name: "transaction.state.log.segment.bytes", Default: "104857600", Doc: "segment size of __transaction_state", ReadOnly: true},
	{Name: "transaction.state.log.replication.factor", Default: "1", Doc: "must be 1 on one node", ReadOnly: true},
	{Name: "transaction.state.log.min.isr", Default: "1", Doc: "must be 1 on one node", ReadOnly: true},
	{Name: "producer.id.expiration.ms", Default: "86400000", Doc: "how long idempotent producer state is kept after its last write"},
}, append(limitKeys, securityConfigKeys...)...)

// BrokerConfigKeys returns every broker property brokerlite understands, sorted by name.
func BrokerConfigKeys() []ConfigKey {
	out := append([]ConfigKey(nil), brokerKeys...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func defaultLogDir() string { return filepath.Join(os.TempDir(), "rivulet-logs") }

var brokerKeyIndex = func() map[string]*ConfigKey {
	m := make(map[string]*ConfigKey, len(brokerKeys))
	for i := range brokerKeys {
		m[brokerKeys[i].Name] = &brokerKeys[i]
	}
	return m
}()

// Settings is a Config parsed and validated: the typed values the broker runs with.
// Durations are in milliseconds, as in Kafka's properties.
type Settings struct {
	NodeID              int32    // broker.id / node.id
	ClusterID           string   // cluster.id (first start only)
	ListenAddr          string   // host:port of the first listener
	AdvertisedAddr      string   // host:port advertised for the first listener, or "" for the bound address
	LogDirs             []string // log.dirs or log.dir
	NumPartitions       int32    // num.partitions
	DefaultReplication  int16    // default.replication.factor
	AutoCreateTopics    bool     // auto.create.topics.enable
	DeleteTopicEnable   bool     // delete.topic.enable
	MessageMaxBytes     int32    // message.max.bytes
	SocketRequestMax    int32    // socket.request.max.bytes
	SocketSendBuffer    int      // socket.send.buffer.bytes
	SocketReceiveBuffer int      // socket.receive.buffer.bytes

	// Listeners are every listener with its protocol, TLS and SASL settings; Security holds
	// the authorizer's settings (security_config.go).
	Listeners []ListenerSettings
	Security  SecuritySettings

	RetentionMs            int64   // log.retention.ms / minutes / hours
	RetentionBytes         int64   // log.retention.bytes
	SegmentBytes           int64   // log.segment.bytes
	SegmentMs              int64   // log.roll.ms / hours
	IndexIntervalBytes     int64   // log.index.interval.bytes
	SegmentIndexBytes      int64   // log.index.size.max.bytes
	CleanupPolicy          string  // log.cleanup.policy
	FlushMessages          int64   // log.flush.interval.messages
	FlushMs                int64   // log.flush.interval.ms (-1 = never on a timer)
	RetentionCheckMs       int64   // log.retention.check.interval.ms
	CleanerEnable          bool    // log.cleaner.enable
	CleanerThreads         int     // log.cleaner.threads
	CleanerBackoffMs       int64   // log.cleaner.backoff.ms
	DeleteRetentionMs      int64   // log.cleaner.delete.retention.ms
	MinCleanableRatio      float64 // log.cleaner.min.cleanable.ratio
	MinCompactionLagMs     int64   // log.cleaner.min.compaction.lag.ms
	MaxCompactionLagMs     int64   // log.cleaner.max.compaction.lag.ms
	MessageTimestampType   string  // log.message.timestamp.type
	ProducerIDExpirationMs int64   // producer.id.expiration.ms

	OffsetsTopicNumPartitions    int32 // offsets.topic.num.partitions
	OffsetsTopicSegmentBytes     int64 // offsets.topic.segment.bytes
	OffsetsRetentionMinutes      int64 // offsets.retention.minutes
	OffsetsRetentionCheckMs      int64 // offsets.retention.check.interval.ms
	OffsetsCommitTimeoutMs       int32 // offsets.commit.timeout.ms
	OffsetMetadataMaxBytes       int32 // offset.metadata.max.bytes
	GroupMinSessionTimeoutMs     int32 // group.min.session.timeout.ms
	GroupMaxSessionTimeoutMs     int32 // group.max.session.timeout.ms
	GroupInitialRebalanceDelayMs int32 // group.initial.rebalance.delay.ms
	GroupMaxSize                 int32 // group.max.size

	// Limits bound memory and connections (limits.go).
	Limits Limits

	// Explicit holds the properties the operator set (after synonyms), for DescribeConfigs'
	// config source. Unknown keys are not in it.
	Explicit map[string]string
}

// value returns a key's effective string value and whether it was set explicitly.
func (s *Settings) value(name string) (string, bool) {
	if v, ok := s.Explicit[name]; ok {
		return v, true
	}
	if k, ok := brokerKeyIndex[name]; ok {
		return k.Default, false
	}
	return "", false
}

// ParseSettings validates cfg's properties and returns the typed settings and the unknown
// keys (sorted), which the caller should warn about. Errors name the key and the bad value.
func ParseSettings(cfg Config) (Settings, []string, error) {
	s := Settings{Explicit: map[string]string{}}
	var unknown []string
	for k, v := range cfg.Properties {
		if _, ok := brokerKeyIndex[k]; !ok {
			if isSecurityKey(k) {
				continue // parseSecurity accepts it or refuses to start
			}
			unknown = append(unknown, k)
			continue
		}
		s.Explicit[k] = strings.TrimSpace(v)
	}
	sort.Strings(unknown)

	p := settingsParser{s: &s}
	s.NodeID = p.int32("broker.id", "node.id")
	if v, ok := s.Explicit["node.id"]; ok {
		if b, ok2 := s.Explicit["broker.id"]; ok2 && b != v {
			p.fail(fmt.Errorf("broker.id=%s and node.id=%s differ: set one of them", b, v))
		}
	}
	if s.NodeID < 0 {
		p.fail(fmt.Errorf("broker.id must be >= 0, got %d", s.NodeID))
	}
	s.ClusterID, _ = s.value("cluster.id")

	if err := parseSecurity(&s, cfg.Properties); err != nil {
		p.fail(err)
	}

	dirs, _ := s.value("log.dirs")
	if dirs == "" {
		dirs, _ = s.value("log.dir")
	}
	for _, d := range strings.Split(dirs, ",") {
		if d = strings.TrimSpace(d); d != "" {
			s.LogDirs = append(s.LogDirs, d)
		}
	}
	if len(s.LogDirs) == 0 {
		p.fail(errors.New("log.dirs is empty: set it to a data directory"))
	}

	s.NumPartitions = p.int32("num.partitions")
	if s.NumPartitions < 1 {
		p.fail(fmt.Errorf("num.partitions must be >= 1, got %d", s.NumPartitions))
	}
	s.DefaultReplication = int16(p.int32("default.replication.factor"))
	if s.DefaultReplication != 1 {
		p.fail(fmt.Errorf("default.replication.factor=%d: brokerlite is a single node, so it must be 1 (use a Kafka cluster for replication)", s.DefaultReplication))
	}
	for _, k := range []string{"min.insync.replicas", "offsets.topic.replication.factor", "transaction.state.log.replication.factor", "transaction.state.log.min.isr"} {
		if n := p.int32(k); n != 1 && n != -1 {
			p.fail(fmt.Errorf("%s=%d: brokerlite is a single node, so it must be 1", k, n))
		}
	}
	s.AutoCreateTopics = p.bool("auto.create.topics.enable")
	s.DeleteTopicEnable = p.bool("delete.topic.enable")
	s.MessageMaxBytes = p.int32("message.max.bytes")
	if s.MessageMaxBytes < 0 {
		p.fail(fmt.Errorf("message.max.bytes must be >= 0, got %d", s.MessageMaxBytes))
	}
	s.SocketRequestMax = p.int32("socket.request.max.bytes")
	if s.SocketRequestMax < 1024 {
		p.fail(fmt.Errorf("socket.request.max.bytes must be >= 1024, got %d", s.SocketRequestMax))
	}
	s.SocketSendBuffer = int(p.int32("socket.send.buffer.bytes"))
	s.SocketReceiveBuffer = int(p.int32("socket.receive.buffer.bytes"))

	s.RetentionMs = p.duration("log.retention.ms", "log.retention.minutes", "log.retention.hours")
	s.RetentionBytes = p.int64("log.retention.bytes")
	s.SegmentBytes = p.int64("log.segment.bytes")
	if s.SegmentBytes < 14 {
		p.fail(fmt.Errorf("log.segment.bytes must be >= 14, got %d", s.SegmentBytes))
	}
	s.SegmentMs = p.duration("log.roll.ms", "", "log.roll.hours")
	s.IndexIntervalBytes = p.int64("log.index.interval.bytes")
	s.SegmentIndexBytes = p.int64("log.index.size.max.bytes")
	s.CleanupPolicy, _ = s.value("log.cleanup.policy")
	if err := validCleanupPolicy(s.CleanupPolicy); err != nil {
		p.fail(fmt.Errorf("log.cleanup.policy: %w", err))
	}
	s.FlushMessages = p.int64("log.flush.interval.messages")
	if v, _ := s.value("log.flush.interval.ms"); v == "" {
		s.FlushMs = -1
	} else {
		s.FlushMs = p.int64("log.flush.interval.ms")
	}
	s.RetentionCheckMs = p.int64("log.retention.check.interval.ms")
	s.CleanerEnable = p.bool("log.cleaner.enable")
	s.CleanerThreads = int(p.int32("log.cleaner.threads"))
	s.CleanerBackoffMs = p.int64("log.cleaner.backoff.ms")
	s.DeleteRetentionMs = p.int64("log.cleaner.delete.retention.ms")
	s.MinCleanableRatio = p.float("log.cleaner.min.cleanable.ratio")
	s.MinCompactionLagMs = p.int64("log.cleaner.min.compaction.lag.ms")
	s.MaxCompactionLagMs = p.int64("log.cleaner.max.compaction.lag.ms")
	s.MessageTimestampType, _ = s.value("log.message.timestamp.type")
	if s.MessageTimestampType != "CreateTime" && s.MessageTimestampType != "LogAppendTime" {
		p.fail(fmt.Errorf("log.message.timestamp.type must be CreateTime or LogAppendTime, got %q", s.MessageTimestampType))
	}
	if ct, _ := s.value("compression.type"); ct != "producer" {
		p.fail(fmt.Errorf("compression.type=%s: only 'producer' is supported (batches are stored as produced)", ct))
	}
	s.ProducerIDExpirationMs = p.int64("producer.id.expiration.ms")

	s.OffsetsTopicNumPartitions = p.int32("offsets.topic.num.partitions")
	if s.OffsetsTopicNumPartitions < 1 {
		p.fail(fmt.Errorf("offsets.topic.num.partitions must be >= 1, got %d", s.OffsetsTopicNumPartitions))
	}
	s.OffsetsTopicSegmentBytes = p.int64("offsets.topic.segment.bytes")
	s.OffsetsRetentionMinutes = p.int64("offsets.retention.minutes")
	s.OffsetsRetentionCheckMs = p.int64("offsets.retention.check.interval.ms")
	if s.OffsetsRetentionCheckMs < 1 {
		p.fail(fmt.Errorf("offsets.retention.check.interval.ms must be >= 1, got %d", s.OffsetsRetentionCheckMs))
	}
	s.OffsetsCommitTimeoutMs = p.int32("offsets.commit.timeout.ms")
	if s.OffsetsCommitTimeoutMs < 1 {
		p.fail(fmt.Errorf("offsets.commit.timeout.ms must be >= 1, got %d", s.OffsetsCommitTimeoutMs))
	}
	s.OffsetMetadataMaxBytes = p.int32("offset.metadata.max.bytes")
	if s.OffsetMetadataMaxBytes < 0 {
		p.fail(fmt.Errorf("offset.metadata.max.bytes must be >= 0, got %d", s.OffsetMetadataMaxBytes))
	}
	s.GroupMinSessionTimeoutMs = p.int32("group.min.session.timeout.ms")
	s.GroupMaxSessionTimeoutMs = p.int32("group.max.session.timeout.ms")
	if s.GroupMinSessionTimeoutMs > s.GroupMaxSessionTimeoutMs {
		p.fail(fmt.Errorf("group.min.session.timeout.ms (%d) is above group.max.session.timeout.ms (%d)", s.GroupMinSessionTimeoutMs, s.GroupMaxSessionTimeoutMs))
	}
	s.GroupInitialRebalanceDelayMs = p.int32("group.initial.rebalance.delay.ms")
	s.GroupMaxSize = p.int32("group.max.size")
	// Read to validate the numbers even though the values have no effect on one node.
	p.int32("num.network.threads")
	p.int32("num.io.threads")
	p.int32("log.cleaner.threads")
	p.int32("transaction.state.log.num.partitions")
	p.int64("transactional.id.expiration.ms")
	p.bool("log.preallocate")
	p.bool("unclean.leader.election.enable")
	s.Limits = parseLimits(&p)

	if p.err != nil {
		return Settings{}, unknown, p.err
	}
	return s, unknown, nil
}

// settingsParser collects the first error while typed values are read.
type settingsParser struct {
	s   *Settings
	err error
}

func (p *settingsParser) fail(err error) {
	if p.err == nil {
		p.err = fmt.Errorf("brokerlite: config: %w", err)
	}
}

// first returns the value of the first key (in order) that was set explicitly, else the
// default of the first key.
func (p *settingsParser) first(keys ...string) (string, string) {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if v, ok := p.s.Explicit[k]; ok {
			return k, v
		}
	}
	v, _ := p.s.value(keys[0])
	return keys[0], v
}

func (p *settingsParser) int64(keys ...string) int64 {
	k, v := p.first(keys...)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		p.fail(fmt.Errorf("%s=%q is not an integer", k, v))
	}
	return n
}

func (p *settingsParser) int32(keys ...string) int32 {
	k, v := p.first(keys...)
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		p.fail(fmt.Errorf("%s=%q is not a 32-bit integer", k, v))
	}
	return int32(n)
}

func (p *settingsParser) float(key string) float64 {
	v, _ := p.s.value(key)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		p.fail(fmt.Errorf("%s=%q is not a number", key, v))
	}
	return f
}

func (p *settingsParser) bool(key string) bool {
	v, _ := p.s.value(key)
	switch strings.ToLower(v) {
	case "true":
		return true
	case "false":
		return false
	}
	p.fail(fmt.Errorf("%s=%q is not true or false", key, v))
	return false
}

// duration reads a time setting given in ms, minutes or hours (Kafka's precedence: the ms key
// wins, then minutes, then hours). A negative value means "forever" and stays -1.
func (p *settingsParser) duration(msKey, minKey, hourKey string) int64 {
	if _, ok := p.s.Explicit[msKey]; ok {
		return p.int64(msKey)
	}
	if minKey != "" {
		if _, ok := p.s.Explicit[minKey]; ok {
			n := p.int64(minKey)
			if n < 0 {
				return -1
			}
			return n * 60_000
		}
	}
	n := p.int64(hourKey)
	if n < 0 {
		return -1
	}
	return n * 3_600_000
}

func validCleanupPolicy(v string) error {
	if v == "" {
		return errors.New("empty cleanup policy")
	}
	for _, part := range strings.Split(v, ",") {
		switch strings.TrimSpace(part) {
		case "delete", "compact":
		default:
			return fmt.Errorf("%q: each policy must be delete or compact", part)
		}
	}
	return nil
}

// ParseProperties reads a Java properties file as Kafka's server.properties is written, with
// java.util.Properties' rules ("=", ":" or whitespace between key and value, # and ! comments,
// backslash escapes and line continuations; see internal/properties). As Kafka does when it
// parses a config value, leading and trailing whitespace of each value is dropped. Later keys
// win over earlier ones.
func ParseProperties(r io.Reader) (map[string]string, error) {
	props, err := properties.Load(r)
	if err != nil {
		return nil, fmt.Errorf("brokerlite: %w", err)
	}
	for k, v := range props {
		props[k] = strings.TrimSpace(v)
	}
	return props, nil
}

// LoadProperties reads a server.properties file.
func LoadProperties(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("brokerlite: %w", err)
	}
	defer f.Close()
	return ParseProperties(f)
}

// ApplyOverride sets one "key=value" override (as given to --override) on props.
func ApplyOverride(props map[string]string, kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("brokerlite: override %q is not key=value", kv)
	}
	props[k] = strings.TrimSpace(v)
	return nil
}
