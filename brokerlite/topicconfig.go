package brokerlite

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// topicConfigKey is one topic-level config Kafka defines and brokerlite honours, with the
// broker properties that give its default (most specific first), as DescribeConfigs lists
// synonyms.
type topicConfigKey struct {
	name     string
	brokerKs []string // broker synonyms, most specific first; empty = fixed default
	def      string   // default when no broker synonym applies
	kind     kmsg.ConfigType
	check    func(string) error
	doc      string
}

func checkInt(min int64) func(string) error { return checkIntBits(64, "an integer", min) }

func checkInt32(min int64) func(string) error { return checkIntBits(32, "a 32-bit integer", min) }

// checkIntBits accepts an integer of bitSize bits (named by what in the error) that is at
// least min.
func checkIntBits(bitSize int, what string, min int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, bitSize)
		if err != nil {
			return fmt.Errorf("%q is not %s", v, what)
		}
		if n < min {
			return fmt.Errorf("%d is below the minimum %d", n, min)
		}
		return nil
	}
}

func checkOneOf(vals ...string) func(string) error {
	return func(v string) error {
		for _, ok := range vals {
			if v == ok {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(vals, ", "))
	}
}

func checkBool(v string) error {
	if v != "true" && v != "false" {
		return fmt.Errorf("%q is not true or false", v)
	}
	return nil
}

func checkRatio(v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		return fmt.Errorf("%q is not a number between 0 and 1", v)
	}
	return nil
}

// checkLevel accepts a compression level in [min, max], or one of alsoOK (gzip's -1, the
// codec's own default).
func checkLevel(min, max int64, alsoOK ...int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		for _, ok := range alsoOK {
			if n == ok {
				return nil
			}
		}
		if n < min || n > max {
			return fmt.Errorf("%d is not between %d and %d", n, min, max)
		}
		return nil
	}
}

func checkNoRemoteStorage(v string) error {
	if err := checkBool(v); err != nil {
		return err
	}
	if v == "true" {
		return fmt.Errorf("brokerlite has no tiered storage: it keeps every segment on its own disk")
	}
	return nil
}

func checkOne(v string) error {
	if v != "1" {
		return fmt.Errorf("%q: brokerlite is a single broker, so this must be 1", v)
	}
	return nil
}

// topicKeys are the topic configs brokerlite accepts. The partition log (partlog) gives
// them their meaning; this table adds what the protocol needs: defaults from broker
// settings, synonyms and types for DescribeConfigs.
var topicKeys = []topicConfigKey{
	{name: "cleanup.policy", brokerKs: []string{"log.cleanup.policy"}, kind: kmsg.ConfigTypeList, check: validCleanupPolicy, doc: "delete, compact, or compact,delete"},
	{name: "retention.ms", brokerKs: []string{"log.retention.ms", "log.retention.minutes", "log.retention.hours"}, kind: kmsg.ConfigTypeLong, check: checkInt(-1)},
	{name: "retention.bytes", brokerKs: []string{"log.retention.bytes"}, kind: kmsg.ConfigTypeLong, check: checkInt(math.MinInt64), doc: "any negative value means no limit, as in Kafka"},
	{name: "segment.bytes", brokerKs: []string{"log.segment.bytes"}, kind: kmsg.ConfigTypeInt, check: checkInt32(14)},
	{name: "segment.ms", brokerKs: []string{"log.roll.ms", "log.roll.hours"}, kind: kmsg.ConfigTypeLong, check: checkInt(1)},
	{name: "segment.jitter.ms", def: "0", kind: kmsg.ConfigTypeLong, check: checkInt(0)},
	{name: "segment.index.bytes", brokerKs: []string{"log.index.size.max.bytes"}, kind: kmsg.ConfigTypeInt, check: checkInt32(4)},
	{name: "index.interval.bytes", brokerKs: []string{"log.index.interval.bytes"}, kind: kmsg.ConfigTypeInt, check: checkInt32(0)},
	{name: "delete.retention.ms", brokerKs: []string{"log.cleaner.delete.retention.ms"}, kind: kmsg.ConfigTypeLong, check: checkInt(0)},
	{name: "min.compaction.lag.ms", brokerKs: []string{"log.cleaner.min.compaction.lag.ms"}, kind: kmsg.ConfigTypeLong, check: checkInt(0)},
	{name: "max.compaction.lag.ms", brokerKs: []string{"log.cleaner.max.compaction.lag.ms"}, kind: kmsg.ConfigTypeLong, check: checkInt(1)},
	{name: "min.cleanable.dirty.ratio", brokerKs: []string{"log.cleaner.min.cleanable.ratio"}, kind: kmsg.ConfigTypeDouble, check: checkRatio},
	{name: "message.timestamp.type", brokerKs: []string{"log.message.timestamp.type"}, kind: kmsg.ConfigTypeString, check: checkOneOf("CreateTime", "LogAppendTime")},
	{name: "message.timestamp.before.max.ms", def: "9223372036854775807", kind: kmsg.ConfigTypeLong, check: checkInt(0), doc: "accepted and not enforced yet"},
	{name: "message.timestamp.after.max.ms", def: "9223372036854775807", kind: kmsg.ConfigTypeLong, check: checkInt(0), doc: "accepted and not enforced yet"},
	{name: "message.timestamp.difference.max.ms", def: "9223372036854775807", kind: kmsg.ConfigTypeLong, check: checkInt(0), doc: "deprecated by Kafka (KIP-937); accepted and not enforced"},
	{name: "message.format.version", def: "3.0-IV1", kind: kmsg.ConfigTypeString, check: func(string) error { return nil }, doc: "deprecated by Kafka; accepted and ignored: the log stores record batches v2 only"},
	{name: "max.message.bytes", brokerKs: []string{"message.max.bytes"}, kind: kmsg.ConfigTypeInt, check: checkInt32(0)},
	{name: "flush.messages", brokerKs: []string{"log.flush.interval.messages"}, kind: kmsg.ConfigTypeLong, check: checkInt(1)},
	{name: "flush.ms", brokerKs: []string{"log.flush.interval.ms"}, def: "9223372036854775807", kind: kmsg.ConfigTypeLong, check: checkInt(0)},
	{name: "file.delete.delay.ms", brokerKs: []string{"log.segment.delete.delay.ms"}, kind: kmsg.ConfigTypeLong, check: checkInt(0)},
	{name: "compression.type", brokerKs: []string{"compression.type"}, kind: kmsg.ConfigTypeString, check: checkOneOf("producer")},
	{name: "min.insync.replicas", brokerKs: []string{"min.insync.replicas"}, kind: kmsg.ConfigTypeInt, check: checkOne},
	{name: "unclean.leader.election.enable", brokerKs: []string{"unclean.leader.election.enable"}, kind: kmsg.ConfigTypeBoolean, check: checkBool},
	{name: "preallocate", brokerKs: []string{"log.preallocate"}, kind: kmsg.ConfigTypeBoolean, check: checkBool},
	{name: "message.downconversion.enable", def: "true", kind: kmsg.ConfigTypeBoolean, check: checkBool},
	// Kafka's names with no effect here, accepted so that a topic created for Kafka can be
	// created here unchanged: the broker never recompresses (compression.type is always
	// producer), has no followers to throttle and keeps every segment local.
	{name: "compression.gzip.level", def: "-1", kind: kmsg.ConfigTypeInt, check: checkLevel(1, 9, -1), doc: "accepted and ignored: batches are stored as produced, never recompressed"},
	{name: "compression.lz4.level", def: "9", kind: kmsg.ConfigTypeInt, check: checkLevel(1, 17), doc: "accepted and ignored: batches are stored as produced, never recompressed"},
	{name: "compression.zstd.level", def: "3", kind: kmsg.ConfigTypeInt, check: checkLevel(-131072, 22), doc: "accepted and ignored: batches are stored as produced, never recompressed"},
	{name: "leader.replication.throttled.replicas", def: "", kind: kmsg.ConfigTypeList, check: func(string) error { return nil }, doc: "accepted and ignored: a single broker has no replication"},
	{name: "follower.replication.throttled.replicas", def: "", kind: kmsg.ConfigTypeList, check: func(string) error { return nil }, doc: "accepted and ignored: a single broker has no replication"},
	{name: "remote.storage.enable", def: "false", kind: kmsg.ConfigTypeBoolean, check: checkNoRemoteStorage, doc: "brokerlite has no tiered storage: only false"},
	{name: "local.retention.ms", def: "-2", kind: kmsg.ConfigTypeLong, check: checkInt(-2), doc: "accepted and ignored: every segment is local, kept by retention.ms"},
	{name: "local.retention.bytes", def: "-2", kind: kmsg.ConfigTypeLong, check: checkInt(-2), doc: "accepted and ignored: every segment is local, kept by retention.bytes"},
}

var topicKeyIndex = func() map[string]*topicConfigKey {
	m := make(map[string]*topicConfigKey, len(topicKeys))
	for i := range topicKeys {
		m[topicKeys[i].name] = &topicKeys[i]
	}
	return m
}()

// validateTopicConfigs checks names and values of topic configs, first against Kafka's
// definitions here, then against the partition log's own validation.
func validateTopicConfigs(b *Broker, configs map[string]string) error {
	for k, v := range configs {
		key, ok := topicKeyIndex[k]
		if !ok {
			return newTopicError(kerr.InvalidConfig, "unknown topic config %q", k)
		}
		if err := key.check(v); err != nil {
			return newTopicError(kerr.InvalidConfig, "invalid value for %s: %v", k, err)
		}
	}
	if err := validateLogConfig(b, configs); err != nil {
		return newTopicError(kerr.InvalidConfig, "%v", err)
	}
	return nil
}

// configSource is where an effective config value comes from.
type configSource struct {
	name   string
	value  string
	source kmsg.ConfigSource
}

// topicConfigValue returns a topic config's effective value and its synonyms (the topic
// override, then each broker property that was set, then the default), most specific first.
func (b *Broker) topicConfigValue(t *topic, name string) (string, kmsg.ConfigSource, []configSource) {
	key := topicKeyIndex[name]
	var syn []configSource
	if t != nil {
		if v, ok := t.configs[name]; ok {
			syn = append(syn, configSource{name, v, kmsg.ConfigSourceDynamicTopicConfig})
		}
	}
	for _, bk := range key.brokerKs {
		if v, ok := b.settings.Explicit[bk]; ok {
			syn = append(syn, configSource{bk, v, kmsg.ConfigSourceStaticBrokerConfig})
		}
	}
	def, defName := key.def, name
	if len(key.brokerKs) > 0 {
		def, defName = b.brokerDefault(key.brokerKs[0]), key.brokerKs[0]
	}
	syn = append(syn, configSource{defName, def, kmsg.ConfigSourceDefaultConfig})
	if syn[0].source == kmsg.ConfigSourceStaticBrokerConfig {
		// The broker property may be in other units (log.retention.hours): the topic's
		// value is the effective one, in the topic config's units.
		return def, syn[0].source, syn
	}
	return syn[0].value, syn[0].source, syn
}

// brokerDefault returns the effective value of a broker property (explicit or default), with
// the ms/minutes/hours synonyms folded into the ms value.
func (b *Broker) brokerDefault(name string) string {
	switch name {
	case "log.retention.ms":
		return strconv.FormatInt(b.settings.RetentionMs, 10)
	case "log.roll.ms":
		return strconv.FormatInt(b.settings.SegmentMs, 10)
	case "log.flush.interval.ms":
		if b.settings.FlushMs < 0 {
			return "9223372036854775807"
		}
		return strconv.FormatInt(b.settings.FlushMs, 10)
	}
	v, _ := b.settings.value(name)
	return v
}

func sortedTopicKeyNames() []string {
	names := make([]string, 0, len(topicKeys))
	for _, k := range topicKeys {
		names = append(names, k.name)
	}
	sort.Strings(names)
	return names
}
