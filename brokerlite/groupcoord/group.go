package groupcoord

import (
	"bytes"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// group is one classic group. Every field is guarded by mu.
type group struct {
	c         *Coordinator
	id        string
	partition int32

	mu         sync.Mutex
	state      GroupState
	stateTime  time.Time // when state was entered; zero if unknown (loaded from an old record)
	generation int32
	// protocolType is set by the first member of an empty group and kept
	// while the group is empty, as Kafka does.
	protocolType string
	protocol     string // selected protocol of the current generation
	leader       string

	members map[string]*member
	order   []*member          // join order: leader succession, response order
	static  map[string]*member // by group.instance.id

	// pending are members told MEMBER_ID_REQUIRED that have not joined
	// with their id yet (KIP-394); a rebalance waits for them.
	pending map[string]*slot

	// pendingSync are the members of the current generation that have not
	// sent SyncGroup yet; syncSlot removes them after the rebalance timeout.
	pendingSync map[string]bool
	syncSlot    slot

	// joinSlot ends the PreparingRebalance phase: after the rebalance
	// timeout, or, for a rebalance that starts from Empty, after
	// group.initial.rebalance.delay.ms, extended while members keep
	// arriving (joinInitial, joinRemaining, newMemberAdded).
	joinSlot       slot
	joinInitial    bool
	joinRemaining  time.Duration
	newMemberAdded bool

	// subscribed is the union of the members' subscribed topics when the
	// group uses the "consumer" protocol type and every subscription
	// parses; nil when unknown (then every topic counts as subscribed).
	subscribed map[string]bool

	offsets map[string]map[int32]*offsetEntry

	// An offset commit waits for durability without the group's lock, so
	// several may be in flight at once and finish in any order. offsetSeq
	// numbers offset writes (commits and tombstones) in the order they are
	// appended, which is log order; a commit that finishes applies an offset
	// only if no newer write of that partition has been applied
	// (offsetEntry.seq, deletedSeq). inflight counts the commits in flight
	// per partition, inflightCommits in all; a partition is in deletedSeq
	// only while a commit to it is in flight.
	offsetSeq       uint64
	inflight        map[topicPartition]int
	deletedSeq      map[topicPartition]uint64
	inflightCommits int
}

// nextOffsetSeq numbers an offset write; callers hold g.mu and append the
// write before they unlock it.
func (g *group) nextOffsetSeq() uint64 {
	g.offsetSeq++
	return g.offsetSeq
}

// hasOffset reports whether partition has a committed offset or a commit in
// flight (what a tombstone must cover).
func (g *group) hasOffset(topic string, partition int32) bool {
	return g.offsets[topic][partition] != nil || g.inflight[topicPartition{topic, partition}] > 0
}

// offsetPartitions returns the partitions of topic that have a committed
// offset or a commit in flight, sorted.
func (g *group) offsetPartitions(topic string) []int32 {
	var ps []int32
	for p := range g.offsets[topic] {
		ps = append(ps, p)
	}
	for k := range g.inflight {
		if k.topic == topic && g.offsets[topic][k.partition] == nil {
			ps = append(ps, k.partition)
		}
	}
	slices.Sort(ps)
	return ps
}

// offsetTopics returns the topics with a committed offset or a commit in
// flight, sorted.
func (g *group) offsetTopics() []string {
	ts := make([]string, 0, len(g.offsets))
	for t := range g.offsets {
		ts = append(ts, t)
	}
	for k := range g.inflight {
		if g.offsets[k.topic] == nil && !slices.Contains(ts, k.topic) {
			ts = append(ts, k.topic)
		}
	}
	slices.Sort(ts)
	return ts
}

// deleteOffsetAt removes partition's committed offset after its tombstone,
// numbered seq, is durable; a commit to it still in flight, older than the
// tombstone, will not bring it back.
func (g *group) deleteOffsetAt(topic string, partition int32, seq uint64) {
	g.deleteOffset(topic, partition)
	k := topicPartition{topic, partition}
	if g.inflight[k] > 0 {
		if g.deletedSeq == nil {
			g.deletedSeq = make(map[topicPartition]uint64)
		}
		g.deletedSeq[k] = seq
	}
}

// member is one member of a group.
type member struct {
	id         string
	instanceID string
	clientID   string
	clientHost string
	protocols  []Protocol
	session    time.Duration
	rebalance  time.Duration
	assignment []byte

	// joinCB is set while the member waits in JoinGroup, syncCB while it
	// waits in SyncGroup.
	joinCB func(JoinResult)
	syncCB func(SyncResult)
	// skipOK: the member's last JoinGroup was v9+ (KIP-814).
	skipOK bool
	// isNew: joined for the first time in the current rebalance; it
	// expires after NewMemberJoinTimeout rather than its session.
	isNew bool
	hb    slot
}

func (c *Coordinator) newGroup(id string) *group {
	return &group{
		c:         c,
		id:        id,
		partition: c.PartitionFor(id),
		state:     StateEmpty,
		stateTime: c.clock.Now(),
		members:   make(map[string]*member),
		static:    make(map[string]*member),
		pending:   make(map[string]*slot),
		offsets:   make(map[string]map[int32]*offsetEntry),
		offsetSeq: c.loadedSeq[c.PartitionFor(id)],
	}
}

func (g *group) transition(s GroupState) {
	g.state = s
	g.stateTime = g.c.clock.Now()
}

func (g *group) size() int { return len(g.members) + len(g.pending) }

// metadataFor returns the member's metadata for protocol name.
func (m *member) metadataFor(name string) []byte {
	for _, p := range m.protocols {
		if p.Name == name {
			return p.Metadata
		}
	}
	return nil
}

// matches reports whether protocols are the member's, in the same order
// with the same metadata.
func (m *member) matches(protocols []Protocol) bool {
	return slices.EqualFunc(m.protocols, protocols, func(a, b Protocol) bool {
		return a.Name == b.Name && bytes.Equal(a.Metadata, b.Metadata)
	})
}

func (m *member) hasProtocol(name string) bool {
	for _, p := range m.protocols {
		if p.Name == name {
			return true
		}
	}
	return false
}

func cloneProtocols(ps []Protocol) []Protocol {
	out := make([]Protocol, len(ps))
	for i, p := range ps {
		out[i] = Protocol{Name: p.Name, Metadata: bytes.Clone(p.Metadata)}
	}
	return out
}

// supportsProtocols reports whether a member joining with protocolType and
// protocols fits the group: in a group with members the protocol type must
// match, and at least one of the protocols must be supported by every
// member. As in Kafka, a member that rejoins counts with the protocols it
// joined with before, so its new protocols must include one of those.
func (g *group) supportsProtocols(protocolType string, protocols []Protocol) bool {
	if len(g.members) == 0 {
		return true
	}
	if protocolType != g.protocolType {
		return false
	}
	for _, p := range protocols {
		all := true
		for _, m := range g.order {
			if !m.hasProtocol(p.Name) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// selectProtocol picks the protocol of the next generation as Kafka does:
// among the protocols every member supports, each member votes for its
// most preferred one, and the most votes win. Ties go to the group leader's
// preference order, so the choice is deterministic.
func (g *group) selectProtocol() string {
	if len(g.order) == 0 {
		return ""
	}
	first := g.order[0]
	if l := g.members[g.leader]; l != nil {
		first = l
	}
	var candidates []string
	for _, p := range first.protocols {
		all := true
		for _, m := range g.order {
			if !m.hasProtocol(p.Name) {
				all = false
				break
			}
		}
		if all && !slices.Contains(candidates, p.Name) {
			candidates = append(candidates, p.Name)
		}
	}
	if len(candidates) == 0 {
		return ""
	}
	votes := make(map[string]int, len(candidates))
	for _, m := range g.order {
		for _, p := range m.protocols {
			if slices.Contains(candidates, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best := candidates[0]
	for _, name := range candidates[1:] {
		if votes[name] > votes[best] {
			best = name
		}
	}
	return best
}

// rebalanceTimeout is the longest rebalance timeout of the members.
func (g *group) rebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.order {
		d = max(d, m.rebalance)
	}
	return d
}

// computeSubscribed parses the members' subscriptions when the group is a
// consumer group; OffsetDelete and offset expiry need the topics.
func (g *group) computeSubscribed() {
	g.subscribed = nil
	if g.protocolType != "consumer" || len(g.order) == 0 || g.protocol == "" {
		return
	}
	topics := make(map[string]bool)
	for _, m := range g.order {
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(m.metadataFor(g.protocol)); err != nil {
			return
		}
		for _, t := range meta.Topics {
			topics[t] = true
		}
	}
	g.subscribed = topics
}

// isSubscribed reports whether topic may be consumed by the group's
// members; an unknown subscription counts every topic.
func (g *group) isSubscribed(topic string) bool {
	return g.subscribed == nil || g.subscribed[topic]
}

// memberList is what the group leader gets in its JoinGroup response.
func (g *group) memberList() []JoinMember {
	out := make([]JoinMember, 0, len(g.order))
	for _, m := range g.order {
		out = append(out, JoinMember{MemberID: m.id, InstanceID: m.instanceID, Metadata: m.metadataFor(g.protocol)})
	}
	return out
}

// currentJoin is the JoinGroup answer describing the current generation.
func (g *group) currentJoin(m *member, withMembers bool) JoinResult {
	res := JoinResult{
		MemberID:     m.id,
		Generation:   g.generation,
		ProtocolType: g.protocolType,
		Protocol:     g.protocol,
		LeaderID:     g.leader,
	}
	if withMembers {
		res.Members = g.memberList()
	}
	return res
}

// metadataValue is the GroupMetadata record of the group's current state,
// with assign giving each member's assignment.
func (g *group) metadataValue(assign func(*member) []byte) *kmsg.GroupMetadataValue {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupValueVersion
	v.ProtocolType = g.protocolType
	v.Generation = g.generation
	if g.protocol != "" {
		p := g.protocol
		v.Protocol = &p
	}
	if g.leader != "" {
		l := g.leader
		v.Leader = &l
	}
	if !g.stateTime.IsZero() {
		v.CurrentStateTimestamp = g.stateTime.UnixMilli()
	}
	for _, m := range g.order {
		mv := kmsg.NewGroupMetadataValueMember()
		mv.MemberID = m.id
		if m.instanceID != "" {
			inst := m.instanceID
			mv.InstanceID = &inst
		}
		mv.ClientID = m.clientID
		mv.ClientHost = m.clientHost
		mv.RebalanceTimeoutMillis = int32(m.rebalance.Milliseconds())
		mv.SessionTimeoutMillis = int32(m.session.Milliseconds())
		mv.Subscription = m.metadataFor(g.protocol)
		if mv.Subscription == nil {
			mv.Subscription = []byte{}
		}
		mv.Assignment = assign(m)
		if mv.Assignment == nil {
			mv.Assignment = []byte{}
		}
		v.Members = append(v.Members, mv)
	}
	return &v
}

// storeGroup durably writes the group's metadata with the members' current
// assignments, for a transition no request waits on; a failure is logged.
func (g *group) storeGroup() {
	v := g.metadataValue(func(m *member) []byte { return m.assignment })
	if err := g.c.appendRecords(g.c.ctx, g.partition, []record{groupRecord(g.id, v)}); err != nil && !g.c.closed.Load() {
		g.c.logger.Warn("groupcoord: storing group metadata failed", "group", g.id, "generation", g.generation, "err", err)
	}
}

// shutdown stops the group's timers and answers its waiting requests with
// NOT_COORDINATOR, for Close.
func (g *group) shutdown(r *replies) {
	g.disarm(&g.joinSlot)
	g.disarm(&g.syncSlot)
	for id, s := range g.pending {
		g.disarm(s)
		delete(g.pending, id)
	}
	for _, m := range g.order {
		g.disarm(&m.hb)
		g.answerWaiting(m, kerr.NotCoordinator.Code, r)
	}
}

// kill makes the group Dead and forgets it (DeleteGroups, expiry).
func (g *group) kill(r *replies) {
	g.shutdown(r)
	g.transition(StateDead)
	g.c.removeGroup(g)
}

// answerWaiting answers the member's waiting JoinGroup and SyncGroup with
// code.
func (g *group) answerWaiting(m *member, code int16, r *replies) {
	if cb := m.joinCB; cb != nil {
		m.joinCB = nil
		res := JoinResult{ErrorCode: code, MemberID: m.id, Generation: -1}
		r.add(func() { cb(res) })
	}
	if cb := m.syncCB; cb != nil {
		m.syncCB = nil
		r.add(func() { cb(SyncResult{ErrorCode: code}) })
	}
}
