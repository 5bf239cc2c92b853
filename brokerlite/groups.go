package brokerlite

// groups.go wires the group coordinator (package groupcoord) into the broker: it creates
// __consumer_offsets (compacted, internal, offsets.topic.num.partitions partitions) at start,
// starts the coordinator over it after the logs are open (the coordinator replays every
// partition to rebuild groups and committed offsets), and closes it when the broker closes.
// The group API handlers (08, 09, 10, 11, 12, 13, 14, 15, 16, 42, 47) reach the coordinator
// through b.coordinator().
//
// Settings taken from the broker configuration: offsets.topic.num.partitions (only when the
// topic is created; an existing topic keeps its partition count, which the coordinator then
// uses, as Kafka requires), offsets.topic.segment.bytes, offsets.retention.minutes,
// offsets.retention.check.interval.ms, offsets.commit.timeout.ms, offset.metadata.max.bytes,
// group.min.session.timeout.ms, group.max.session.timeout.ms,
// group.initial.rebalance.delay.ms and group.max.size.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite/groupcoord"
)

// groupsTopicDeleted removes every group's committed offsets for a deleted topic.
func groupsTopicDeleted(ctx context.Context, b *Broker, topic string) {
	if c := b.coordinator(); c != nil {
		c.TopicDeleted(ctx, topic)
	}
}

// offsetsLog is the coordinator's view of __consumer_offsets.
type offsetsLog struct{ b *Broker }

// Append writes one batch and returns a wait for its fsync, which concurrent appends to
// any partition of __consumer_offsets share.
func (l offsetsLog) Append(ctx context.Context, partition int32, batch []byte) (func(context.Context) error, error) {
	return l.b.appendInternalAsync(ctx, consumerOffsetsTopic, partition, batch)
}

// Replay reads a partition from its log start.
func (l offsetsLog) Replay(ctx context.Context, partition int32, fn func(batch []byte) error) error {
	return l.b.readPartition(ctx, consumerOffsetsTopic, partition, fn)
}

func startGroupCoordinator(ctx context.Context, b *Broker) error {
	s := b.settings
	t, err := b.ensureInternalTopic(consumerOffsetsTopic, s.OffsetsTopicNumPartitions, map[string]string{
		"cleanup.policy": "compact",
		"segment.bytes":  strconv.FormatInt(s.OffsetsTopicSegmentBytes, 10),
	})
	if err != nil {
		return fmt.Errorf("brokerlite: creating %s: %w", consumerOffsetsTopic, err)
	}
	if n := int32(len(t.partitions)); n != s.OffsetsTopicNumPartitions {
		b.logger.Warn("__consumer_offsets exists with another partition count than offsets.topic.num.partitions; using the existing count",
			"partitions", n, "offsets.topic.num.partitions", s.OffsetsTopicNumPartitions)
	}
	c, err := groupcoord.Start(ctx, coordinatorConfig(b, int32(len(t.partitions))))
	if err != nil {
		return err
	}
	// Offsets of topics that no longer exist are left over from a crash between a topic's
	// deletion and the removal of its offsets: remove them now, so a topic created again
	// under that name does not resume from them.
	for _, name := range c.CommittedTopics() {
		if b.topics.get(name) == nil {
			b.logger.Info("removing committed offsets of a deleted topic", "topic", name)
			c.TopicDeleted(ctx, name)
		}
	}
	b.groups = c
	return nil
}

// coordinatorConfig is the group coordinator's configuration from the broker's settings,
// for a __consumer_offsets topic of partitions partitions.
func coordinatorConfig(b *Broker, partitions int32) groupcoord.Config {
	s := b.settings
	ms := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
	return groupcoord.Config{
		Log:                           offsetsLog{b},
		Partitions:                    partitions,
		MinSessionTimeout:             ms(int64(s.GroupMinSessionTimeoutMs)),
		MaxSessionTimeout:             ms(int64(s.GroupMaxSessionTimeoutMs)),
		InitialRebalanceDelay:         ms(int64(s.GroupInitialRebalanceDelayMs)),
		NoInitialRebalanceDelay:       s.GroupInitialRebalanceDelayMs == 0,
		GroupMaxSize:                  int(s.GroupMaxSize),
		OffsetsRetention:              time.Duration(s.OffsetsRetentionMinutes) * time.Minute,
		OffsetsRetentionCheckInterval: ms(s.OffsetsRetentionCheckMs),
		OffsetCommitTimeout:           ms(int64(s.OffsetsCommitTimeoutMs)),
		OffsetMetadataMaxBytes:        int(s.OffsetMetadataMaxBytes),
		NoOffsetMetadata:              s.OffsetMetadataMaxBytes == 0,
		Logger:                        b.componentLogger("groupcoord"),
		PartitionExists: func(topic string, partition int32) bool {
			t := b.topics.get(topic)
			return t != nil && partition >= 0 && int(partition) < len(t.partitions)
		},
	}
}

func stopGroupCoordinator(b *Broker) {
	if c := b.coordinator(); c != nil {
		c.Close()
	}
}

// errNoCoordinator is returned by handlers when the coordinator is not running, which
// happens only if a handler is reached outside Start/Close.
var errNoCoordinator = errors.New("brokerlite: group coordinator is not running")

// coordinator returns the running group coordinator, or nil.
func (b *Broker) coordinator() *groupcoord.Coordinator {
	return b.groups
}

// clientHost is the client address as Kafka reports it in group descriptions ("/1.2.3.4").
func clientHost(conn *ConnInfo) string {
	if conn == nil || conn.Remote == nil {
		return ""
	}
	if h, _, err := net.SplitHostPort(conn.Remote.String()); err == nil {
		return "/" + h
	}
	return "/" + conn.Remote.String()
}

// strOrEmpty dereferences a nullable string.
func strOrEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
