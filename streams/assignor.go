package streams

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The task assignor is the piece that decides which group member runs which
// task. It is a kgo.GroupBalancer, so it replaces franz-go's partition
// balancers: the leader turns topic-partitions into tasks, gives every
// member whole tasks (all input partitions numbered p of a sub-topology go
// to the member running task <sub>_p), and turns them back into
// partitions. Replace it with WithBalancer (the streams-aware assignor of
// the scaling work plugs in there); assignTasks is the pure part.

// StreamsProtocol is the group protocol name of the built-in assignor.
const StreamsProtocol = "rivulet-streams"

// Subscription user data, version 1:
//
//	version  uint8 (1)
//	flags    uint8 (bit 0: this instance asks the application to shut down)
//	process  16 bytes (the instance's random id)
//	count    uvarint, then count × (uvarint sub-topology, uvarint partition):
//	         the tasks the member ran before this rebalance
//	rejoins  uvarint: bumped when the member asks for a follow-up
//	         rebalance, so its metadata differs and the coordinator
//	         rebalances (a follower rejoining with the same metadata would
//	         just get the current assignment back)
//
// Assignment user data, version 1:
//
//	version  uint8 (1)
//	error    uint8 (0: none, 1: shut down the application)
//	flags    uint8 (bit 0: rebalance again soon: some tasks wait for their
//	         owner to revoke them). The coordinator keeps assignments, so a
//	         static member that replaces a dead one gets the flag too.
const (
	subscriptionVersion    = 1
	assignmentVersion      = 1
	flagShutdownRequested  = 1
	flagFollowup           = 1
	assignErrNone          = 0
	assignErrShutdownApp   = 1
	processIDLen           = 16
	maxTasksInSubscription = 1 << 20
)

// SubscriptionInfo is what a member tells the leader in its JoinGroup
// metadata.
type SubscriptionInfo struct {
	ProcessID         [processIDLen]byte
	ShutdownRequested bool
	PrevTasks         []TaskID
	Rejoins           uint64
}

// EncodeSubscriptionInfo encodes s.
func EncodeSubscriptionInfo(s SubscriptionInfo) []byte {
	b := []byte{subscriptionVersion, 0}
	if s.ShutdownRequested {
		b[1] |= flagShutdownRequested
	}
	b = append(b, s.ProcessID[:]...)
	b = binary.AppendUvarint(b, uint64(len(s.PrevTasks)))
	for _, t := range s.PrevTasks {
		b = binary.AppendUvarint(b, uint64(t.Subtopology))
		b = binary.AppendUvarint(b, uint64(t.Partition))
	}
	return binary.AppendUvarint(b, s.Rejoins)
}

// DecodeSubscriptionInfo decodes what EncodeSubscriptionInfo made.
func DecodeSubscriptionInfo(b []byte) (SubscriptionInfo, error) {
	var s SubscriptionInfo
	bad := func(msg string) (SubscriptionInfo, error) {
		return SubscriptionInfo{}, fmt.Errorf("streams: subscription info: %s", msg)
	}
	if len(b) < 2+processIDLen {
		return bad("too short")
	}
	if b[0] != subscriptionVersion {
		return bad(fmt.Sprintf("unknown version %d", b[0]))
	}
	s.ShutdownRequested = b[1]&flagShutdownRequested != 0
	copy(s.ProcessID[:], b[2:2+processIDLen])
	b = b[2+processIDLen:]
	n, w := binary.Uvarint(b)
	if w <= 0 || n > maxTasksInSubscription || n > uint64(len(b)) {
		return bad("bad task count")
	}
	b = b[w:]
	s.PrevTasks = make([]TaskID, 0, n)
	for i := uint64(0); i < n; i++ {
		sub, w1 := binary.Uvarint(b)
		if w1 <= 0 || sub > 1<<30 {
			return bad("bad sub-topology")
		}
		b = b[w1:]
		p, w2 := binary.Uvarint(b)
		if w2 <= 0 || p > 1<<31-1 {
			return bad("bad partition")
		}
		b = b[w2:]
		s.PrevTasks = append(s.PrevTasks, TaskID{Subtopology: int(sub), Partition: int32(p)})
	}
	r, w := binary.Uvarint(b)
	if w <= 0 {
		return bad("bad rejoin count")
	}
	s.Rejoins = r
	if len(b) != w {
		return bad("trailing bytes")
	}
	return s, nil
}

// AssignmentMember is one member as assignTasks sees it.
type AssignmentMember struct {
	ID        string
	PrevTasks []TaskID
}

// AssignTasks spreads tasks over members: each member keeps the tasks it
// ran before as long as that keeps the spread even, the rest go to the
// least loaded members, and in the end no member has more than one task
// more than another. The same inputs always give the same result. members
// must be in a stable order (the group's: by instance id, then member id).
func AssignTasks(tasks []TaskID, members []AssignmentMember) map[string][]TaskID {
	out := make(map[string][]TaskID, len(members))
	if len(members) == 0 {
		return out
	}
	sorted := append([]TaskID(nil), tasks...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Less(sorted[j]) })
	exists := make(map[TaskID]bool, len(sorted))
	for _, t := range sorted {
		exists[t] = true
	}
	capacity := (len(sorted) + len(members) - 1) / len(members)
	owner := make(map[TaskID]int, len(sorted))
	load := make([]int, len(members))
	// Sticky pass: keep previous tasks up to capacity.
	for i, m := range members {
		prev := append([]TaskID(nil), m.PrevTasks...)
		sort.Slice(prev, func(a, b int) bool { return prev[a].Less(prev[b]) })
		for _, t := range prev {
			if load[i] >= capacity {
				break
			}
			if _, taken := owner[t]; taken || !exists[t] {
				continue
			}
			owner[t] = i
			load[i]++
		}
	}
	leastLoaded := func() int {
		best := 0
		for i := range load {
			if load[i] < load[best] {
				best = i
			}
		}
		return best
	}
	for _, t := range sorted {
		if _, ok := owner[t]; ok {
			continue
		}
		i := leastLoaded()
		owner[t] = i
		load[i]++
	}
	// Even out: move the highest tasks of the most loaded members to the
	// least loaded ones until loads differ by at most one.
	for {
		hi, lo := 0, leastLoaded()
		for i := range load {
			if load[i] > load[hi] {
				hi = i
			}
		}
		if load[hi]-load[lo] <= 1 {
			break
		}
		var move TaskID
		found := false
		for j := len(sorted) - 1; j >= 0; j-- {
			if owner[sorted[j]] == hi {
				move, found = sorted[j], true
				break
			}
		}
		if !found {
			break
		}
		owner[move] = lo
		load[hi]--
		load[lo]++
	}
	for _, t := range sorted {
		m := members[owner[t]].ID
		out[m] = append(out[m], t)
	}
	return out
}

// taskBalancer is the built-in kgo.GroupBalancer.
type taskBalancer struct {
	app         *App
	thread      *streamThread
	cooperative bool
}

func (b *taskBalancer) ProtocolName() string { return StreamsProtocol }
func (b *taskBalancer) IsCooperative() bool  { return b.cooperative }

func (b *taskBalancer) JoinGroupMetadata(topics []string, current map[string][]int32, generation int32) []byte {
	info := SubscriptionInfo{ProcessID: b.app.processID, ShutdownRequested: b.app.shutdownRequested.Load()}
	if b.thread != nil {
		info.Rejoins = b.thread.rejoins.Load()
	}
	seen := map[TaskID]bool{}
	for topic, parts := range current {
		sub, ok := b.app.subtopologyOf(topic)
		if !ok {
			continue
		}
		for _, p := range parts {
			id := TaskID{Subtopology: sub, Partition: p}
			if !seen[id] {
				seen[id] = true
				info.PrevTasks = append(info.PrevTasks, id)
			}
		}
	}
	sort.Slice(info.PrevTasks, func(i, j int) bool { return info.PrevTasks[i].Less(info.PrevTasks[j]) })
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Version = 3
	meta.Topics = topics
	meta.UserData = EncodeSubscriptionInfo(info)
	meta.Generation = generation
	owned := make([]string, 0, len(current))
	for t := range current {
		owned = append(owned, t)
	}
	sort.Strings(owned)
	for _, t := range owned {
		ot := kmsg.NewConsumerMemberMetadataOwnedPartition()
		ot.Topic = t
		ot.Partitions = current[t]
		meta.OwnedPartitions = append(meta.OwnedPartitions, ot)
	}
	return meta.AppendTo(nil)
}

func (b *taskBalancer) ParseSyncAssignment(assignment []byte) (map[string][]int32, error) {
	var a kmsg.ConsumerMemberAssignment
	if err := a.ReadFrom(assignment); err != nil {
		return nil, fmt.Errorf("streams: read assignment: %w", err)
	}
	if len(a.UserData) >= 2 && a.UserData[0] == assignmentVersion && a.UserData[1] == assignErrShutdownApp {
		b.app.remoteShutdown()
	}
	if b.thread != nil {
		followup := len(a.UserData) >= 3 && a.UserData[0] == assignmentVersion && a.UserData[2]&flagFollowup != 0
		b.thread.assignmentReceived(followup)
	}
	out := make(map[string][]int32, len(a.Topics))
	for _, t := range a.Topics {
		out[t.Topic] = t.Partitions
	}
	return out, nil
}

func (b *taskBalancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	cb, err := kgo.NewConsumerBalancer(b, members)
	if err != nil {
		return nil, nil, err
	}
	return cb, cb.MemberTopics(), nil
}

// Balance implements kgo.ConsumerBalancerBalance: partitions -> tasks ->
// AssignTasks -> partitions.
func (b *taskBalancer) Balance(cb *kgo.ConsumerBalancer, topics map[string]int32) kgo.IntoSyncAssignment {
	shutdown := false
	var members []AssignmentMember
	byID := map[string]*kmsg.JoinGroupResponseMember{}
	cb.EachMember(func(m *kmsg.JoinGroupResponseMember, meta *kmsg.ConsumerMemberMetadata) {
		am := AssignmentMember{ID: m.MemberID}
		if info, err := DecodeSubscriptionInfo(meta.UserData); err == nil {
			am.PrevTasks = info.PrevTasks
			shutdown = shutdown || info.ShutdownRequested
		} else {
			b.app.cfg.Logger.Warn("streams: member sent unreadable subscription info; treating it as new", "member", m.MemberID, "err", err)
		}
		members = append(members, am)
		byID[m.MemberID] = m
	})
	tasks, partsOf := b.app.tasksFor(topics)
	assigned := AssignTasks(tasks, members)
	plan := cb.NewPlan()
	for _, m := range members {
		jm := byID[m.ID]
		for _, t := range assigned[m.ID] {
			for _, topic := range partsOf[t] {
				plan.AddPartition(jm, topic, t.Partition)
			}
		}
	}
	followup := false
	if b.cooperative {
		before := planSize(plan)
		plan.AdjustCooperative(cb)
		// Some tasks wait for their owner to revoke them and rejoin. If that
		// owner dies and comes back as the same static member, the
		// coordinator hands it its old assignment without a rebalance and
		// the tasks would stay unassigned: every member is told to ask for
		// a follow-up rebalance unless one happens first.
		followup = planSize(plan) < before
	}
	b.app.cfg.Logger.Debug("streams: balanced tasks", "members", len(members), "tasks", len(tasks), "plan", plan.String())
	ud := []byte{assignmentVersion, assignErrNone, 0}
	if shutdown {
		ud[1] = assignErrShutdownApp
	}
	if followup {
		ud[2] |= flagFollowup
	}
	return &taskPlan{plan: plan, userData: ud}
}

func planSize(p *kgo.BalancePlan) int {
	n := 0
	for _, topics := range p.AsMemberIDMap() {
		for _, ps := range topics {
			n += len(ps)
		}
	}
	return n
}

// taskPlan adds the assignment user data to a balance plan.
type taskPlan struct {
	plan     *kgo.BalancePlan
	userData []byte
}

func (p *taskPlan) IntoSyncAssignment() []kmsg.SyncGroupRequestGroupAssignment {
	out := p.plan.IntoSyncAssignment()
	for i := range out {
		var a kmsg.ConsumerMemberAssignment
		if err := a.ReadFrom(out[i].MemberAssignment); err != nil {
			continue
		}
		a.UserData = p.userData
		out[i].MemberAssignment = a.AppendTo(nil)
	}
	return out
}

// tasksFor returns the tasks the subscribed topics make, and for each task
// the topics of its input partitions.
func (a *App) tasksFor(topics map[string]int32) ([]TaskID, map[TaskID][]string) {
	available := make([]string, 0, len(topics))
	for t := range topics {
		available = append(available, t)
	}
	sort.Strings(available)
	partsOf := map[TaskID][]string{}
	var tasks []TaskID
	for _, s := range a.topo.subs {
		if s.Global {
			continue
		}
		srcTopics := a.topo.t.SourceTopics(a.cfg.ApplicationID, s, available)
		var max int32
		for _, t := range srcTopics {
			if n := topics[t]; n > max {
				max = n
			}
		}
		for p := int32(0); p < max; p++ {
			id := TaskID{Subtopology: s.ID, Partition: p}
			tasks = append(tasks, id)
			for _, t := range srcTopics {
				if p < topics[t] {
					partsOf[id] = append(partsOf[id], t)
				}
			}
		}
	}
	return tasks, partsOf
}

// subtopologyOf returns the sub-topology reading topic (a broker topic name).
func (a *App) subtopologyOf(topic string) (int, bool) {
	n, ok := a.topo.t.SourceNodeForTopic(a.cfg.ApplicationID, topic)
	if !ok {
		return 0, false
	}
	sub, ok := a.subOfSource[n.Name]
	return sub, ok
}
