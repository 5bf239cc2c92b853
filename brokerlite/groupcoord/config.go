package groupcoord

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config configures a Coordinator. The zero value of every field means
// "use the default"; EnsureDefaults fills them in and Validate checks the
// result. Start calls both. Settings carry the Kafka broker property they
// come from.
type Config struct {
	// Log persists and replays the __consumer_offsets partitions. Required.
	Log Log

	// Partitions is the number of __consumer_offsets partitions; a group
	// lives on PartitionFor(group, Partitions). It must be the partition
	// count of the topic as it exists, not merely as configured, or groups
	// move. offsets.topic.num.partitions; the default value is 50.
	Partitions int32

	// MinSessionTimeout and MaxSessionTimeout bound the session timeout a
	// member may ask for (INVALID_SESSION_TIMEOUT outside them).
	// group.min.session.timeout.ms and group.max.session.timeout.ms; the
	// default values are 6s and 30m.
	MinSessionTimeout time.Duration
	MaxSessionTimeout time.Duration

	// InitialRebalanceDelay is how long a rebalance that starts while the
	// group is Empty waits for more members, extended by the same amount
	// (up to the rebalance timeout) each time another member joins
	// meanwhile.
	// group.initial.rebalance.delay.ms. The default value is 3s, Kafka's
	// built-in default; NoInitialRebalanceDelay selects 0, which Kafka's
	// shipped config/server.properties uses for development brokers.
	InitialRebalanceDelay time.Duration

	// NoInitialRebalanceDelay sets InitialRebalanceDelay to zero (a zero
	// InitialRebalanceDelay alone means "default").
	NoInitialRebalanceDelay bool

	// GroupMaxSize caps the members of one group (GROUP_MAX_SIZE_REACHED);
	// a group loaded with more rebalances and refuses the last to rejoin.
	// group.max.size; the default value is 2147483647.
	GroupMaxSize int

	// OffsetsRetention is how long offsets are kept: for an empty group,
	// after it became empty; for a standalone committer, after the commit;
	// for a stable consumer group, after the last commit of a topic it no
	// longer subscribes to (KIP-211). offsets.retention.minutes; the default
	// value is 7 days.
	OffsetsRetention time.Duration

	// OffsetsRetentionCheckInterval is how often expired offsets and dead
	// groups are removed. offsets.retention.check.interval.ms; the default
	// value is 10m.
	OffsetsRetentionCheckInterval time.Duration

	// OffsetCommitTimeout bounds one durable append to __consumer_offsets;
	// past it the request fails with COORDINATOR_NOT_AVAILABLE, as on Kafka.
	// offsets.commit.timeout.ms; the default value is 5s.
	OffsetCommitTimeout time.Duration

	// OffsetMetadataMaxBytes caps the metadata string of one committed
	// offset (OFFSET_METADATA_TOO_LARGE). offset.metadata.max.bytes; the
	// default value is 4096. NoOffsetMetadata selects 0.
	OffsetMetadataMaxBytes int

	// NoOffsetMetadata sets OffsetMetadataMaxBytes to zero, so that only
	// commits with empty metadata are accepted (a zero
	// OffsetMetadataMaxBytes alone means "default").
	NoOffsetMetadata bool

	// NewMemberJoinTimeout is how long a member that joined for the first
	// time may wait in a rebalance before it is dropped (it cannot
	// heartbeat yet). Kafka hard-codes 5 minutes; the default value is 5m.
	NewMemberJoinTimeout time.Duration

	// Clock supplies time and timers. The default value is the system clock.
	Clock Clock

	// Logger receives the coordinator's logs. The default value is
	// slog.Default().
	Logger *slog.Logger

	// NewMemberID returns a new member id for a member whose client id (or,
	// for a static member, group instance id) is prefix. The default value
	// is Kafka's form: prefix + "-" + a random UUID.
	NewMemberID func(prefix string) string

	// PartitionExists, when set, is asked whether a committed topic
	// partition exists; commits to one that does not get
	// UNKNOWN_TOPIC_OR_PARTITION, as on Kafka. The default value accepts
	// every partition.
	PartitionExists func(topic string, partition int32) bool
}

// EnsureDefaults fills in every unset field with its documented default.
func (c *Config) EnsureDefaults() {
	defaultTo(&c.Partitions, 50)
	defaultTo(&c.MinSessionTimeout, 6*time.Second)
	defaultTo(&c.MaxSessionTimeout, 30*time.Minute)
	if c.NoInitialRebalanceDelay {
		c.InitialRebalanceDelay = 0
	} else if c.InitialRebalanceDelay == 0 {
		c.InitialRebalanceDelay = 3 * time.Second
	}
	defaultTo(&c.GroupMaxSize, 1<<31-1)
	defaultTo(&c.OffsetsRetention, 7*24*time.Hour)
	defaultTo(&c.OffsetsRetentionCheckInterval, 10*time.Minute)
	defaultTo(&c.OffsetCommitTimeout, 5*time.Second)
	if c.NoOffsetMetadata {
		c.OffsetMetadataMaxBytes = 0
	} else if c.OffsetMetadataMaxBytes == 0 {
		c.OffsetMetadataMaxBytes = 4096
	}
	defaultTo(&c.NewMemberJoinTimeout, 5*time.Minute)
	if c.Clock == nil {
		c.Clock = SystemClock()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.NewMemberID == nil {
		c.NewMemberID = randomMemberID
	}
}

// defaultTo sets *v to def when it is zero.
func defaultTo[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Validate reports the first invalid setting.
func (c *Config) Validate() error {
	switch {
	case c.Log == nil:
		return errors.New("groupcoord: config: Log is required")
	case c.Partitions < 1:
		return fmt.Errorf("groupcoord: config: offsets.topic.num.partitions %d, must be at least 1", c.Partitions)
	case c.MinSessionTimeout < 0 || c.MaxSessionTimeout < c.MinSessionTimeout:
		return fmt.Errorf("groupcoord: config: group.min.session.timeout.ms %v and group.max.session.timeout.ms %v are not a valid range", c.MinSessionTimeout, c.MaxSessionTimeout)
	case c.InitialRebalanceDelay < 0:
		return fmt.Errorf("groupcoord: config: group.initial.rebalance.delay.ms %v is negative", c.InitialRebalanceDelay)
	case c.GroupMaxSize < 1:
		return fmt.Errorf("groupcoord: config: group.max.size %d, must be at least 1", c.GroupMaxSize)
	case c.OffsetsRetention < 0:
		return fmt.Errorf("groupcoord: config: offsets.retention.minutes %v is negative", c.OffsetsRetention)
	case c.OffsetsRetentionCheckInterval <= 0:
		return fmt.Errorf("groupcoord: config: offsets.retention.check.interval.ms %v, must be positive", c.OffsetsRetentionCheckInterval)
	case c.OffsetCommitTimeout <= 0:
		return fmt.Errorf("groupcoord: config: offsets.commit.timeout.ms %v, must be positive", c.OffsetCommitTimeout)
	case c.OffsetMetadataMaxBytes < 0:
		return fmt.Errorf("groupcoord: config: offset.metadata.max.bytes %d is negative", c.OffsetMetadataMaxBytes)
	case c.NewMemberJoinTimeout <= 0:
		return fmt.Errorf("groupcoord: config: new member join timeout %v, must be positive", c.NewMemberJoinTimeout)
	}
	return nil
}

// randomMemberID is Kafka's member id form: prefix, a dash, a UUIDv4.
func randomMemberID(prefix string) string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (Go 1.24+)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%s-%x-%x-%x-%x-%x", prefix, u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
