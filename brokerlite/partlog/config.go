package partlog

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// CleanupPolicy is Kafka's cleanup.policy: delete (retention), compact, or
// both. The zero value means neither: segments are kept forever and never
// compacted (Kafka 4 allows an empty policy list).
type CleanupPolicy uint8

const (
	// CleanupDelete deletes whole old segments by retention.ms / retention.bytes.
	CleanupDelete CleanupPolicy = 1 << iota
	// CleanupCompact keeps only the newest record per key (log compaction).
	CleanupCompact
)

// Compact reports whether the policy includes compaction.
func (p CleanupPolicy) Compact() bool { return p&CleanupCompact != 0 }

// Delete reports whether the policy includes time/size retention.
func (p CleanupPolicy) Delete() bool { return p&CleanupDelete != 0 }

// String returns the policy as Kafka spells it: "delete", "compact",
// "compact,delete" or "".
func (p CleanupPolicy) String() string {
	switch p {
	case CleanupDelete:
		return "delete"
	case CleanupCompact:
		return "compact"
	case CleanupDelete | CleanupCompact:
		return "compact,delete"
	}
	return ""
}

// ParseCleanupPolicy parses a cleanup.policy list ("delete", "compact",
// "compact,delete", "delete,compact"; spaces allowed; empty means none).
func ParseCleanupPolicy(s string) (CleanupPolicy, error) {
	var p CleanupPolicy
	for _, part := range strings.Split(s, ",") {
		switch strings.TrimSpace(part) {
		case "delete":
			p |= CleanupDelete
		case "compact":
			p |= CleanupCompact
		case "":
		default:
			return 0, &ConfigError{Key: "cleanup.policy", Value: s, Reason: `want "delete", "compact" or both`}
		}
	}
	return p, nil
}

// TimestampType is Kafka's message.timestamp.type.
type TimestampType uint8

const (
	// CreateTime keeps the producer's timestamps (Kafka's default).
	CreateTime TimestampType = iota
	// LogAppendTime stamps each batch with the broker's clock on append.
	LogAppendTime
)

// String returns "CreateTime" or "LogAppendTime".
func (t TimestampType) String() string {
	if t == LogAppendTime {
		return "LogAppendTime"
	}
	return "CreateTime"
}

// Config holds one partition log's settings. Every field has the meaning of
// the Kafka topic config named in its comment; [DefaultConfig] returns Kafka's
// defaults, [ParseTopicConfig] reads Kafka key/values, and [Config.TopicConfig]
// writes them back. A Config is validated by [Config.Validate], which Open,
// SetConfig and the parsers call.
type Config struct {
	// SegmentBytes is segment.bytes: a segment rolls before it would grow
	// past this size. The default value is 1073741824 (1 GiB); minimum 14.
	SegmentBytes int32
	// SegmentMs is segment.ms: a segment rolls when the incoming batch's
	// timestamp is this far past the segment's first batch (or, for an empty
	// timestamp, the segment's creation). For a compacted log a shorter
	// max.compaction.lag.ms takes its place, as in Kafka. The default value
	// is 604800000 (7 days); minimum 1.
	SegmentMs int64
	// SegmentIndexBytes is segment.index.bytes: the size of the offset index
	// (8-byte entries) and time index (12-byte entries) of a segment; a
	// segment rolls when either is full. The default value is 10485760
	// (10 MiB); minimum 4, as in Kafka: below 12 (one time index entry) each
	// append after the first rolls the segment, so a segment holds one
	// append's batches (the indexes, kept in memory and written at their
	// length, still hold those batches' entries).
	SegmentIndexBytes int32
	// IndexIntervalBytes is index.interval.bytes: roughly how many log bytes
	// lie between two offset index entries. The default value is 4096;
	// minimum 0 (an entry per batch).
	IndexIntervalBytes int32
	// RetentionMs is retention.ms: with the delete policy, a closed segment is
	// deleted once its largest timestamp (for a segment without timestamps,
	// its last write) is older than this. -1 keeps
	// segments forever. The default value is 604800000 (7 days).
	RetentionMs int64
	// RetentionBytes is retention.bytes: with the delete policy, the oldest
	// closed segments are deleted while the log is larger than this. Any
	// negative value means no limit, as in Kafka; -1 is the default value.
	RetentionBytes int64
	// CleanupPolicy is cleanup.policy. The default value is CleanupDelete.
	CleanupPolicy CleanupPolicy
	// DeleteRetentionMs is delete.retention.ms: how long the cleaner keeps a
	// tombstone (a record with a null value) after the first cleaning that
	// kept it, which writes that delete horizon into its batch (KIP-534), so
	// consumers reading from the start still see the delete. The default
	// value is 86400000 (1 day).
	DeleteRetentionMs int64
	// MinCleanableDirtyRatio is min.cleanable.dirty.ratio: the cleaner
	// compacts a log once its dirty (not yet compacted) bytes are more than
	// this share of the cleanable bytes (so 1 never cleans by ratio alone),
	// as in Kafka. The default value is 0.5; range [0, 1].
	MinCleanableDirtyRatio float64
	// MinCompactionLagMs is min.compaction.lag.ms: a record stays
	// uncompacted for at least this long (by the largest timestamp of its
	// segment). The default value is 0.
	MinCompactionLagMs int64
	// MaxCompactionLagMs is max.compaction.lag.ms: a log whose dirty part
	// holds a segment older than this is compacted whatever its dirty ratio,
	// and, when shorter than segment.ms, the active segment of a compacted
	// log rolls after this long so its records become cleanable. The default
	// value is math.MaxInt64 (never forced); minimum 1.
	MaxCompactionLagMs int64
	// MessageTimestampType is message.timestamp.type. The default value is
	// CreateTime.
	MessageTimestampType TimestampType
	// MaxMessageBytes is max.message.bytes: the largest record batch (after
	// compression, with its 12-byte log overhead) the log accepts. The
	// default value is 1048588; minimum 0.
	MaxMessageBytes int32
	// FlushMessages is flush.messages: the log fsyncs after this many
	// records have been appended without an fsync. The default value is
	// math.MaxInt64 (never by count); minimum 1.
	FlushMessages int64
	// FlushMs is flush.ms: the manager fsyncs a log whose oldest unflushed
	// append is this old. The default value is math.MaxInt64 (never by time);
	// minimum 0.
	FlushMs int64
	// FileDeleteDelayMs is file.delete.delay.ms: a deleted segment's files
	// are renamed to .deleted and removed this long later. The default value
	// is 60000; minimum 0.
	FileDeleteDelayMs int64
}

// DefaultConfig returns Kafka's topic defaults.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:           1 << 30,
		SegmentMs:              7 * 24 * 3600 * 1000,
		SegmentIndexBytes:      10 << 20,
		IndexIntervalBytes:     4096,
		RetentionMs:            7 * 24 * 3600 * 1000,
		RetentionBytes:         -1,
		CleanupPolicy:          CleanupDelete,
		DeleteRetentionMs:      24 * 3600 * 1000,
		MinCleanableDirtyRatio: 0.5,
		MinCompactionLagMs:     0,
		MaxCompactionLagMs:     math.MaxInt64,
		MessageTimestampType:   CreateTime,
		MaxMessageBytes:        1048588,
		FlushMessages:          math.MaxInt64,
		FlushMs:                math.MaxInt64,
		FileDeleteDelayMs:      60000,
	}
}

// Validate checks every field's range and returns a *ConfigError naming the
// first bad key.
func (c Config) Validate() error {
	bad := func(key string, v any, reason string) error {
		return &ConfigError{Key: key, Value: fmt.Sprint(v), Reason: reason}
	}
	switch {
	case c.SegmentBytes < 14:
		return bad("segment.bytes", c.SegmentBytes, "must be at least 14")
	case c.SegmentMs < 1:
		return bad("segment.ms", c.SegmentMs, "must be at least 1")
	case c.SegmentIndexBytes < 4:
		return bad("segment.index.bytes", c.SegmentIndexBytes, "must be at least 4")
	case c.IndexIntervalBytes < 0:
		return bad("index.interval.bytes", c.IndexIntervalBytes, "must be at least 0")
	case c.RetentionMs < -1:
		return bad("retention.ms", c.RetentionMs, "must be -1 (forever) or at least 0")
	case c.CleanupPolicy > CleanupDelete|CleanupCompact:
		return bad("cleanup.policy", uint8(c.CleanupPolicy), "unknown policy bits")
	case c.DeleteRetentionMs < 0:
		return bad("delete.retention.ms", c.DeleteRetentionMs, "must be at least 0")
	case !(c.MinCleanableDirtyRatio >= 0 && c.MinCleanableDirtyRatio <= 1):
		return bad("min.cleanable.dirty.ratio", c.MinCleanableDirtyRatio, "must be in [0, 1]")
	case c.MinCompactionLagMs < 0:
		return bad("min.compaction.lag.ms", c.MinCompactionLagMs, "must be at least 0")
	case c.MaxCompactionLagMs < 1:
		return bad("max.compaction.lag.ms", c.MaxCompactionLagMs, "must be at least 1")
	case c.MaxCompactionLagMs < c.MinCompactionLagMs:
		return bad("max.compaction.lag.ms", c.MaxCompactionLagMs, "must not be less than min.compaction.lag.ms")
	case c.MessageTimestampType > LogAppendTime:
		return bad("message.timestamp.type", uint8(c.MessageTimestampType), "unknown timestamp type")
	case c.MaxMessageBytes < 0:
		return bad("max.message.bytes", c.MaxMessageBytes, "must be at least 0")
	case c.FlushMessages < 1:
		return bad("flush.messages", c.FlushMessages, "must be at least 1")
	case c.FlushMs < 0:
		return bad("flush.ms", c.FlushMs, "must be at least 0")
	case c.FileDeleteDelayMs < 0:
		return bad("file.delete.delay.ms", c.FileDeleteDelayMs, "must be at least 0")
	}
	return nil
}

// TopicConfigKeys lists the Kafka topic config keys a Config understands, in
// sorted order. Other topic keys (min.insync.replicas, compression.type, ...)
// belong to the broker; ParseTopicConfig ignores them.
func TopicConfigKeys() []string {
	keys := make([]string, 0, len(topicKeys))
	for k := range topicKeys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type configField struct {
	get func(*Config) string
	set func(*Config, string) error
}

func int64Field(key string, p func(*Config) *int64) configField {
	return configField{
		get: func(c *Config) string { return strconv.FormatInt(*p(c), 10) },
		set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return &ConfigError{Key: key, Value: v, Reason: "not an integer"}
			}
			*p(c) = n
			return nil
		},
	}
}

func int32Field(key string, p func(*Config) *int32) configField {
	return configField{
		get: func(c *Config) string { return strconv.FormatInt(int64(*p(c)), 10) },
		set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
			if err != nil {
				return &ConfigError{Key: key, Value: v, Reason: "not a 32-bit integer"}
			}
			*p(c) = int32(n)
			return nil
		},
	}
}

var topicKeys = map[string]configField{
	"segment.bytes":        int32Field("segment.bytes", func(c *Config) *int32 { return &c.SegmentBytes }),
	"segment.ms":           int64Field("segment.ms", func(c *Config) *int64 { return &c.SegmentMs }),
	"segment.index.bytes":  int32Field("segment.index.bytes", func(c *Config) *int32 { return &c.SegmentIndexBytes }),
	"index.interval.bytes": int32Field("index.interval.bytes", func(c *Config) *int32 { return &c.IndexIntervalBytes }),
	"retention.ms":         int64Field("retention.ms", func(c *Config) *int64 { return &c.RetentionMs }),
	"retention.bytes":      int64Field("retention.bytes", func(c *Config) *int64 { return &c.RetentionBytes }),
	"cleanup.policy": {
		get: func(c *Config) string { return c.CleanupPolicy.String() },
		set: func(c *Config, v string) error {
			p, err := ParseCleanupPolicy(v)
			c.CleanupPolicy = p
			return err
		},
	},
	"delete.retention.ms": int64Field("delete.retention.ms", func(c *Config) *int64 { return &c.DeleteRetentionMs }),
	"min.cleanable.dirty.ratio": {
		get: func(c *Config) string { return strconv.FormatFloat(c.MinCleanableDirtyRatio, 'g', -1, 64) },
		set: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return &ConfigError{Key: "min.cleanable.dirty.ratio", Value: v, Reason: "not a number"}
			}
			c.MinCleanableDirtyRatio = f
			return nil
		},
	},
	"min.compaction.lag.ms": int64Field("min.compaction.lag.ms", func(c *Config) *int64 { return &c.MinCompactionLagMs }),
	"max.compaction.lag.ms": int64Field("max.compaction.lag.ms", func(c *Config) *int64 { return &c.MaxCompactionLagMs }),
	"message.timestamp.type": {
		get: func(c *Config) string { return c.MessageTimestampType.String() },
		set: func(c *Config, v string) error {
			switch strings.TrimSpace(v) {
			case "CreateTime":
				c.MessageTimestampType = CreateTime
			case "LogAppendTime":
				c.MessageTimestampType = LogAppendTime
			default:
				return &ConfigError{Key: "message.timestamp.type", Value: v, Reason: `want "CreateTime" or "LogAppendTime"`}
			}
			return nil
		},
	},
	"max.message.bytes":    int32Field("max.message.bytes", func(c *Config) *int32 { return &c.MaxMessageBytes }),
	"flush.messages":       int64Field("flush.messages", func(c *Config) *int64 { return &c.FlushMessages }),
	"flush.ms":             int64Field("flush.ms", func(c *Config) *int64 { return &c.FlushMs }),
	"file.delete.delay.ms": int64Field("file.delete.delay.ms", func(c *Config) *int64 { return &c.FileDeleteDelayMs }),
}

// ParseTopicConfig returns DefaultConfig() with the given Kafka topic configs
// applied. Keys not in TopicConfigKeys are ignored (they belong to the
// broker). A bad value returns a *ConfigError naming the key.
func ParseTopicConfig(kv map[string]string) (Config, error) {
	return DefaultConfig().With(kv)
}

// With returns c with the given Kafka topic configs applied on top, validated.
// Keys are applied in sorted order so the error for several bad keys is
// deterministic. Keys not in TopicConfigKeys are ignored.
func (c Config) With(kv map[string]string) (Config, error) {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := topicKeys[k]
		if !ok {
			continue
		}
		if err := f.set(&c, kv[k]); err != nil {
			return c, err
		}
		if err := c.Validate(); err != nil {
			var ce *ConfigError
			if asConfigError(err, &ce) && ce.Key == k {
				return c, err
			}
		}
	}
	return c, c.Validate()
}

func asConfigError(err error, target **ConfigError) bool {
	ce, ok := err.(*ConfigError)
	if ok {
		*target = ce
	}
	return ok
}

// TopicConfig returns every topic key of c as Kafka key/values, as
// DescribeConfigs shows them.
func (c Config) TopicConfig() map[string]string {
	out := make(map[string]string, len(topicKeys))
	for k, f := range topicKeys {
		out[k] = f.get(&c)
	}
	return out
}

// brokerKeys maps server.properties keys to the topic key whose default they
// set, as Kafka's LogConfig does. Keys in hours/minutes are converted.
var brokerKeys = map[string]string{
	"log.segment.bytes":                 "segment.bytes",
	"log.roll.ms":                       "segment.ms",
	"log.index.size.max.bytes":          "segment.index.bytes",
	"log.index.interval.bytes":          "index.interval.bytes",
	"log.retention.ms":                  "retention.ms",
	"log.retention.bytes":               "retention.bytes",
	"log.cleanup.policy":                "cleanup.policy",
	"log.cleaner.delete.retention.ms":   "delete.retention.ms",
	"log.cleaner.min.cleanable.ratio":   "min.cleanable.dirty.ratio",
	"log.cleaner.min.compaction.lag.ms": "min.compaction.lag.ms",
	"log.cleaner.max.compaction.lag.ms": "max.compaction.lag.ms",
	"log.message.timestamp.type":        "message.timestamp.type",
	"message.max.bytes":                 "max.message.bytes",
	"log.flush.interval.messages":       "flush.messages",
	"log.flush.interval.ms":             "flush.ms",
	"log.segment.delete.delay.ms":       "file.delete.delay.ms",
}

// ParseBrokerConfig returns the topic defaults a broker's server.properties
// sets: DefaultConfig() overridden by log.segment.bytes, log.roll.ms/hours,
// log.retention.ms/minutes/hours, log.retention.bytes, log.cleanup.policy,
// log.cleaner.*, log.message.timestamp.type, message.max.bytes,
// log.flush.interval.*, log.segment.delete.delay.ms, log.index.*. As in Kafka,
// log.retention.ms wins over .minutes, which wins over .hours (same for
// log.roll.*). Other keys are ignored. Errors name the broker key.
func ParseBrokerConfig(props map[string]string) (Config, error) {
	kv := map[string]string{}
	src := map[string]string{} // topic key -> the broker key that set it
	fromUnit := func(topicKey string, keys []string, mult []int64) error {
		for i, k := range keys {
			v, ok := props[k]
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return &ConfigError{Key: k, Value: v, Reason: "not an integer"}
			}
			if n > 0 && n > math.MaxInt64/mult[i] {
				return &ConfigError{Key: k, Value: v, Reason: "too large"}
			}
			if n >= 0 {
				n *= mult[i]
			}
			kv[topicKey] = strconv.FormatInt(n, 10)
			src[topicKey] = k
			return nil
		}
		return nil
	}
	if err := fromUnit("retention.ms", []string{"log.retention.ms", "log.retention.minutes", "log.retention.hours"}, []int64{1, 60000, 3600000}); err != nil {
		return Config{}, err
	}
	if err := fromUnit("segment.ms", []string{"log.roll.ms", "log.roll.hours"}, []int64{1, 3600000}); err != nil {
		return Config{}, err
	}
	for bk, tk := range brokerKeys {
		if tk == "retention.ms" || tk == "segment.ms" {
			continue
		}
		if v, ok := props[bk]; ok {
			kv[tk] = v
			src[tk] = bk
		}
	}
	c, err := ParseTopicConfig(kv)
	if err != nil {
		if ce, ok := err.(*ConfigError); ok {
			if bk, ok := src[ce.Key]; ok {
				ce.Key = bk
			}
		}
		return Config{}, err
	}
	return c, nil
}

// maxSegmentMs is how long a segment stays active: segment.ms, or for a
// compacted log max.compaction.lag.ms when that is shorter (Kafka's
// LogConfig.maxSegmentMs).
func (c *Config) maxSegmentMs() int64 {
	if c.CleanupPolicy.Compact() && c.MaxCompactionLagMs < c.SegmentMs {
		return c.MaxCompactionLagMs
	}
	return c.SegmentMs
}
