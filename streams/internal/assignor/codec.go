package assignor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// ProtocolName is the group protocol name of the built-in assignor.
const ProtocolName = "rivulet-streams"

// Subscription user data, version 2 (version 1 is the same up to and with
// rejoins, and stops there):
//
//	version  uint8 (2)
//	flags    uint8 (bit 0: this instance asks the application to shut down)
//	process  16 bytes (the instance's random id)
//	count    uvarint, then count × (uvarint sub-topology, uvarint partition):
//	         the tasks the member ran before this rebalance
//	rejoins  uvarint: bumped when the member asks for a follow-up or
//	         probing rebalance, so its metadata differs and the coordinator
//	         rebalances (a follower rejoining with the same metadata would
//	         just get the current assignment back)
//	standbys count, then tasks as above: the standby and warm-up tasks
//	         the member held
//	sums     count, then count × (task as above, varint offset sum): the
//	         task states the instance holds (on disk or as standbys), each
//	         as the sum of its stores' changelog offsets; -2 means the
//	         instance runs the task (caught up by definition), as Kafka
//	         Streams' task offset sums
//	endpoint uvarint length, then application.server ("host:port", or
//	         empty)
//
// Assignment user data, version 2 (version 1 is its first three bytes):
//
//	version  uint8 (2)
//	error    uint8 (0: none, 1: shut down the application; the topics
//	         do not fit the topology, and every instance stops, as
//	         Kafka Streams' assignor fails then: 2: topics that must be
//	         co-partitioned have different partition counts, 3: an
//	         internal topic has the wrong partition count)
//	flags    uint8 (bit 0: rebalance again soon: some tasks wait for their
//	         owner to revoke them). The coordinator keeps assignments, so a
//	         static member that replaces a dead one gets the flag too.
//	probe    uvarint milliseconds: when nonzero, this member asks for a
//	         probing rebalance after that long (KIP-441: warm-up replicas
//	         are catching up)
//	standbys count, then tasks: the member's standby and warm-up tasks
//	hosts    count, then per instance with an application.server: endpoint
//	         (uvarint length, bytes), its active tasks, its standby tasks
//	         (as Kafka Streams' AssignmentInfo partitionsByHost; tasks
//	         rather than partitions, which the topology derives)
//
// The group leader answers in the lowest version its members sent, so a rolling
// upgrade from version 1 keeps working (without standbys and host
// metadata until every member speaks version 2).
const (
	subscriptionVersion = 2
	// AssignmentVersion is the assignment user data version the group leader
	// writes when every member reads it.
	AssignmentVersion     = 2
	flagShutdownRequested = 1
	flagFollowup          = 1
	assignErrNone         = 0
	assignErrShutdownApp  = 1
	assignErrCopartition  = 2
	assignErrInternal     = 3
	// ProcessIDLen is the length of an instance's random process id.
	ProcessIDLen = 16
	// MaxTasksInSubscription bounds every task list a member may send.
	MaxTasksInSubscription = 1 << 20
	maxEndpointLen         = 1024
	maxHostsInAssignment   = 1 << 16
	// OffsetSumRunning is the offset sum a member sends for a task it runs
	// as active: caught up whatever the changelog's end.
	OffsetSumRunning int64 = -2
)

// SubscriptionInfo is what a member tells the group leader in its JoinGroup
// metadata.
type SubscriptionInfo struct {
	// Version is the encoding version read, or the one to write (0: the
	// current one).
	Version           int
	ProcessID         [ProcessIDLen]byte
	ShutdownRequested bool
	PrevTasks         []TaskID
	Rejoins           uint64
	// PrevStandbys are the standby and warm-up tasks the member held.
	PrevStandbys []TaskID
	// OffsetSums are the task states the member's instance holds, sorted
	// by task.
	OffsetSums []TaskOffsetSum
	// Endpoint is the instance's application.server.
	Endpoint string
}

// TaskOffsetSum is the sum of the changelog offsets a task's local state
// reflects (OffsetSumRunning for a task running here).
type TaskOffsetSum struct {
	Task TaskID
	Sum  int64
}

func appendTasks(b []byte, tasks []TaskID) []byte {
	b = binary.AppendUvarint(b, uint64(len(tasks)))
	for _, t := range tasks {
		b = appendTask(b, t)
	}
	return b
}

func appendTask(b []byte, t TaskID) []byte {
	b = binary.AppendUvarint(b, uint64(t.Subtopology))
	return binary.AppendUvarint(b, uint64(uint32(t.Partition)))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// EncodeSubscriptionInfo encodes s in version s.Version (1 or 2; 0 means
// the current one). Version 1 stops after the rejoin count.
func EncodeSubscriptionInfo(s SubscriptionInfo) []byte {
	v := s.Version
	if v == 0 {
		v = subscriptionVersion
	}
	b := []byte{byte(v), 0}
	if s.ShutdownRequested {
		b[1] |= flagShutdownRequested
	}
	b = append(b, s.ProcessID[:]...)
	b = appendTasks(b, s.PrevTasks)
	b = binary.AppendUvarint(b, s.Rejoins)
	if v < 2 {
		return b
	}
	b = appendTasks(b, s.PrevStandbys)
	b = binary.AppendUvarint(b, uint64(len(s.OffsetSums)))
	for _, o := range s.OffsetSums {
		b = appendTask(b, o.Task)
		b = binary.AppendVarint(b, o.Sum)
	}
	return appendString(b, s.Endpoint)
}

// decoder reads the user data encodings; the first error sticks.
type decoder struct {
	b   []byte
	err error
	ctx string
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = fmt.Errorf("streams: %s: %s", d.ctx, msg)
	}
}

func (d *decoder) uvarint(what string, limit uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, w := binary.Uvarint(d.b)
	if w <= 0 || v > limit {
		d.fail("bad " + what)
		return 0
	}
	d.b = d.b[w:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, w := binary.Varint(d.b)
	if w <= 0 {
		d.fail("bad " + what)
		return 0
	}
	d.b = d.b[w:]
	return v
}

func (d *decoder) task() TaskID {
	sub := d.uvarint("sub-topology", 1<<30)
	p := d.uvarint("partition", 1<<31-1)
	return TaskID{Subtopology: int(sub), Partition: int32(p)}
}

// count reads a list length; every element takes at least min bytes, so a
// length beyond what is left is refused before anything is allocated.
func (d *decoder) count(what string, min int) int {
	n := d.uvarint(what+" count", MaxTasksInSubscription)
	if d.err == nil && n*uint64(min) > uint64(len(d.b)) {
		d.fail("bad " + what + " count")
		return 0
	}
	return int(n)
}

func (d *decoder) tasks(what string) []TaskID {
	n := d.count(what, 2)
	out := make([]TaskID, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.task())
	}
	return out
}

func (d *decoder) string(what string) string {
	n := d.uvarint(what+" length", maxEndpointLen)
	if d.err == nil && n > uint64(len(d.b)) {
		d.fail("bad " + what + " length")
	}
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) end() {
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
}

// decoded returns v, decoded by d, once d checked it read every byte; or
// d's error.
func decoded[T any](d *decoder, v T) (T, error) {
	d.end()
	if d.err != nil {
		var zero T
		return zero, d.err
	}
	return v, nil
}

// DecodeSubscriptionInfo decodes what EncodeSubscriptionInfo made, in
// version 1 or 2.
func DecodeSubscriptionInfo(b []byte) (SubscriptionInfo, error) {
	var s SubscriptionInfo
	if len(b) < 2+ProcessIDLen {
		return SubscriptionInfo{}, errors.New("streams: subscription info: too short")
	}
	if b[0] != 1 && b[0] != 2 {
		return SubscriptionInfo{}, fmt.Errorf("streams: subscription info: unknown version %d", b[0])
	}
	s.Version = int(b[0])
	s.ShutdownRequested = b[1]&flagShutdownRequested != 0
	copy(s.ProcessID[:], b[2:2+ProcessIDLen])
	d := &decoder{b: b[2+ProcessIDLen:], ctx: "subscription info"}
	s.PrevTasks = d.tasks("task")
	s.Rejoins = d.uvarint("rejoin count", 1<<63)
	if s.Version >= 2 {
		s.PrevStandbys = d.tasks("standby task")
		n := d.count("offset sum", 3)
		s.OffsetSums = make([]TaskOffsetSum, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			t := d.task()
			s.OffsetSums = append(s.OffsetSums, TaskOffsetSum{Task: t, Sum: d.varint("offset sum")})
		}
		s.Endpoint = d.string("endpoint")
	}
	return decoded(d, s)
}

// AssignmentInfo is the streams part of a member's assignment.
type AssignmentInfo struct {
	// Version is the encoding version.
	Version int
	// ShutdownApp asks every instance to shut down.
	ShutdownApp bool
	// TopicsError, when set, tells every instance that the group leader
	// found the topics not fitting the topology (the leader logs which):
	// every instance stops with an error. It comes with no tasks.
	TopicsError TopicsError
	// Followup asks for a follow-up rebalance soon (a cooperative move is
	// half done).
	Followup bool
	// ProbeAfter, when nonzero, asks this member for a probing rebalance
	// after that long.
	ProbeAfter time.Duration
	// Standbys are this member's standby and warm-up tasks.
	Standbys []TaskID
	// Hosts are the instances with an application.server, sorted by
	// endpoint.
	Hosts []HostTasks
}

// TopicsError says how the topics do not fit the topology.
type TopicsError uint8

const (
	// TopicsFit: no error.
	TopicsFit TopicsError = iota
	// TopicsNotCopartitioned: topics that must be co-partitioned have
	// different partition counts.
	TopicsNotCopartitioned
	// TopicsInternalPartitions: an internal topic has another partition
	// count than the topology needs.
	TopicsInternalPartitions
)

// HostTasks are the tasks of one instance, by its application.server.
type HostTasks struct {
	Endpoint string
	Active   []TaskID
	Standby  []TaskID
}

// EncodeAssignmentInfo encodes a in version a.Version (1 or 2; 0 means the
// current one).
func EncodeAssignmentInfo(a AssignmentInfo) []byte {
	v := a.Version
	if v == 0 {
		v = AssignmentVersion
	}
	b := []byte{byte(v), assignErrNone, 0}
	switch {
	case a.ShutdownApp:
		b[1] = assignErrShutdownApp
	case a.TopicsError == TopicsNotCopartitioned:
		b[1] = assignErrCopartition
	case a.TopicsError == TopicsInternalPartitions:
		b[1] = assignErrInternal
	}
	if a.Followup {
		b[2] |= flagFollowup
	}
	if v < 2 {
		return b
	}
	b = binary.AppendUvarint(b, uint64(max(a.ProbeAfter.Milliseconds(), 0)))
	b = appendTasks(b, a.Standbys)
	b = binary.AppendUvarint(b, uint64(len(a.Hosts)))
	for _, h := range a.Hosts {
		b = appendString(b, h.Endpoint)
		b = appendTasks(b, h.Active)
		b = appendTasks(b, h.Standby)
	}
	return b
}

// DecodeAssignmentInfo decodes what EncodeAssignmentInfo made.
func DecodeAssignmentInfo(b []byte) (AssignmentInfo, error) {
	var a AssignmentInfo
	if len(b) < 3 {
		return a, errors.New("streams: assignment info: too short")
	}
	if b[0] != 1 && b[0] != 2 {
		return a, fmt.Errorf("streams: assignment info: unknown version %d", b[0])
	}
	a.Version = int(b[0])
	a.ShutdownApp = b[1] == assignErrShutdownApp
	switch b[1] {
	case assignErrCopartition:
		a.TopicsError = TopicsNotCopartitioned
	case assignErrInternal:
		a.TopicsError = TopicsInternalPartitions
	}
	a.Followup = b[2]&flagFollowup != 0
	if a.Version < 2 {
		if len(b) != 3 {
			return AssignmentInfo{}, errors.New("streams: assignment info: trailing bytes")
		}
		return a, nil
	}
	d := &decoder{b: b[3:], ctx: "assignment info"}
	a.ProbeAfter = time.Duration(d.uvarint("probing delay", 1<<40)) * time.Millisecond
	a.Standbys = d.tasks("standby task")
	n := d.uvarint("host count", maxHostsInAssignment)
	if d.err == nil && n*3 > uint64(len(d.b)) {
		d.fail("bad host count")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		h := HostTasks{Endpoint: d.string("endpoint")}
		h.Active = d.tasks("active task")
		h.Standby = d.tasks("standby task")
		a.Hosts = append(a.Hosts, h)
	}
	return decoded(d, a)
}

// AssignmentMember is one member (stream thread) as the assignor sees it.
type AssignmentMember struct {
	ID string
	// PrevTasks are the active tasks it ran before this rebalance.
	PrevTasks []TaskID
	// PrevStandbys are the standby and warm-up tasks it held (used by
	// PlanAssignment only).
	PrevStandbys []TaskID
}

// AssignTasks spreads tasks over members: each member keeps the tasks it
// ran before as long as that keeps the spread even, the rest go to the
// least loaded members, and in the end no member has more than one task
// more than another. The same inputs always give the same result. members
// must be in a stable order (the group's: by instance id, then member id).
// It is PlanAssignment's spreading step with previous active tasks as the
// only claims (no lags, standbys or processes).
func AssignTasks(tasks []TaskID, members []AssignmentMember) map[string][]TaskID {
	out := make(map[string][]TaskID, len(members))
	if len(members) == 0 {
		return out
	}
	spread := spreadTasks(SortedTasks(tasks), members, func(m AssignmentMember) [][]TaskID {
		return [][]TaskID{m.PrevTasks}
	})
	for i, m := range members {
		if len(spread[i]) > 0 {
			out[m.ID] = spread[i]
		}
	}
	return out
}
