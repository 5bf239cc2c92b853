package groupcoord

import (
	"strings"
	"time"
)

// GroupState is the state of a classic group, as Kafka names them.
type GroupState int8

// The classic group states. A group starts Empty, moves to
// PreparingRebalance when a member joins or leaves, to CompletingRebalance
// once every member has rejoined (or the rebalance timeout passed), and to
// Stable when the group leader's assignment is stored. Dead is a deleted group.
const (
	StateEmpty GroupState = iota
	StatePreparingRebalance
	StateCompletingRebalance
	StateStable
	StateDead
)

var stateNames = [...]string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"}

// String returns Kafka's name of the state ("Empty", "PreparingRebalance",
// "CompletingRebalance", "Stable", "Dead").
func (s GroupState) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "Unknown"
	}
	return stateNames[s]
}

// ParseGroupState parses a state name case-insensitively and without
// surrounding blanks or control characters, as Kafka's ListGroups state
// filter does.
func ParseGroupState(s string) (GroupState, bool) {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' }) // Java's String.trim
	for i, n := range stateNames {
		if strings.EqualFold(n, s) {
			return GroupState(i), true
		}
	}
	return 0, false
}

// Protocol is one assignment protocol a member supports (for consumers, an
// assignor name such as "range" or "cooperative-sticky") with the member's
// metadata for it, opaque to the coordinator.
type Protocol struct {
	Name     string
	Metadata []byte
}

// JoinRequest is a JoinGroup request, version-independent.
type JoinRequest struct {
	Group string
	// MemberID is "" for a member joining for the first time.
	MemberID string
	// InstanceID is the static member's group.instance.id (KIP-345), "" for
	// a dynamic member.
	InstanceID   string
	ClientID     string
	ClientHost   string
	ProtocolType string
	// Protocols are in the member's order of preference.
	Protocols        []Protocol
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration
	// RequireKnownMemberID makes a new dynamic member get
	// MEMBER_ID_REQUIRED and its member id, and join again with it
	// (KIP-394, JoinGroup v4+).
	RequireKnownMemberID bool
	// SupportsSkipAssignment is set for JoinGroup v9+ (KIP-814).
	SupportsSkipAssignment bool
	// Reason is the client's reason for joining (v8+), for the log.
	Reason string
}

// JoinMember is a member as the group leader sees it in a JoinGroup response.
type JoinMember struct {
	MemberID   string
	InstanceID string
	Metadata   []byte
}

// JoinResult is the answer to a JoinRequest. ErrorCode is a Kafka error
// code (0 on success).
type JoinResult struct {
	ErrorCode    int16
	MemberID     string
	Generation   int32
	ProtocolType string
	// Protocol is the protocol the group selected; "" with an error.
	Protocol string
	LeaderID string
	// SkipAssignment tells a v9+ static leader that rejoined to not
	// assign: the group kept its assignment (KIP-814).
	SkipAssignment bool
	// Members is set for the group leader only: every member and its metadata
	// for the selected protocol, in join order.
	Members []JoinMember
}

// MemberAssignment is the group leader's assignment for one member in SyncGroup.
type MemberAssignment struct {
	MemberID   string
	Assignment []byte
}

// SyncRequest is a SyncGroup request, version-independent.
type SyncRequest struct {
	Group      string
	MemberID   string
	InstanceID string
	Generation int32
	// ProtocolType and Protocol, when non-nil (v5+), must match the
	// group's, else INCONSISTENT_GROUP_PROTOCOL.
	ProtocolType *string
	Protocol     *string
	// Assignments is set by the group leader only.
	Assignments []MemberAssignment
}

// SyncResult is the answer to a SyncRequest.
type SyncResult struct {
	ErrorCode    int16
	ProtocolType string
	Protocol     string
	Assignment   []byte
}

// HeartbeatRequest is a Heartbeat request.
type HeartbeatRequest struct {
	Group      string
	MemberID   string
	InstanceID string
	Generation int32
}

// LeaveMember is one member leaving in a LeaveGroup request: v0-v2 carry
// one member id; v3+ a batch, each by member id or by instance id.
type LeaveMember struct {
	MemberID   string
	InstanceID string
	Reason     string
}

// LeaveResult is the answer to a LeaveGroup request: a top-level error, and
// one error per member in request order.
type LeaveResult struct {
	ErrorCode int16
	Members   []int16
}

// CommitRequest is an OffsetCommit request.
type CommitRequest struct {
	Group      string
	MemberID   string
	InstanceID string
	// Generation is -1 for a standalone (simple) consumer that uses the
	// coordinator for storage only.
	Generation int32
	// Retention, when positive, makes the offsets expire that long after
	// the commit (OffsetCommit v2-v4 retention_time_ms); otherwise the
	// group rules of KIP-211 apply.
	Retention time.Duration
	Topics    []CommitTopic
	// Version is the OffsetCommit request's: from v9 a member's commit to a
	// group the coordinator does not know is GROUP_ID_NOT_FOUND, before it
	// ILLEGAL_GENERATION.
	Version int16
}

// CommitTopic is one topic of a CommitRequest.
type CommitTopic struct {
	Topic      string
	Partitions []CommitPartition
}

// CommitPartition is one committed offset.
type CommitPartition struct {
	Partition   int32
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	// TimestampMs is the commit time; -1 (or any value not positive) means
	// now. Only OffsetCommit v1 sets it.
	TimestampMs int64
}

// TopicErrors holds one error code per partition of a topic, in request
// order.
type TopicErrors struct {
	Topic      string
	Partitions []PartitionError
}

// PartitionError is a partition's error code.
type PartitionError struct {
	Partition int32
	ErrorCode int16
}

// FetchTopic names the partitions of a topic whose offsets are fetched.
type FetchTopic struct {
	Topic      string
	Partitions []int32
}

// FetchResult is the answer to an OffsetFetch for one group.
type FetchResult struct {
	ErrorCode int16
	Topics    []FetchedTopic
}

// FetchedTopic is one topic of a FetchResult.
type FetchedTopic struct {
	Topic      string
	Partitions []FetchedOffset
}

// FetchedOffset is one partition's committed offset; Offset is -1 and
// LeaderEpoch -1 when nothing is committed.
type FetchedOffset struct {
	Partition   int32
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	ErrorCode   int16
}

// GroupDescription is the answer to DescribeGroups for one group.
type GroupDescription struct {
	Group     string
	ErrorCode int16
	// Exists is false for a group the coordinator does not know; it is then
	// described as Dead, as Kafka does.
	Exists       bool
	State        GroupState
	ProtocolType string
	// Protocol, and each member's metadata and assignment, are set only
	// when the group is Stable, as in Kafka.
	Protocol string
	Members  []MemberDescription
}

// MemberDescription is one member of a described group.
type MemberDescription struct {
	MemberID   string
	InstanceID string
	ClientID   string
	ClientHost string
	Metadata   []byte
	Assignment []byte
}

// GroupListing is one group of ListGroups.
type GroupListing struct {
	Group        string
	ProtocolType string
	State        GroupState
}
