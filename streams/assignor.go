package streams

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

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
//	error    uint8 (0: none, 1: shut down the application)
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
// The leader answers in the lowest version its members sent, so a rolling
// upgrade from version 1 keeps working (without standbys and host
// metadata until every member speaks version 2).
const (
	subscriptionVersion    = 2
	assignmentVersion      = 2
	flagShutdownRequested  = 1
	flagFollowup           = 1
	assignErrNone          = 0
	assignErrShutdownApp   = 1
	processIDLen           = 16
	maxTasksInSubscription = 1 << 20
	maxEndpointLen         = 1024
	maxHostsInAssignment   = 1 << 16
	// OffsetSumRunning is the offset sum a member sends for a task it runs
	// as active: caught up whatever the changelog's end.
	OffsetSumRunning int64 = -2
)

// SubscriptionInfo is what a member tells the leader in its JoinGroup
// metadata.
type SubscriptionInfo struct {
	// Version is the encoding version read (0 when building one to send:
	// the current version is written).
	Version           int
	ProcessID         [processIDLen]byte
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

// EncodeSubscriptionInfo encodes s in the current version.
func EncodeSubscriptionInfo(s SubscriptionInfo) []byte {
	b := []byte{subscriptionVersion, 0}
	if s.ShutdownRequested {
		b[1] |= flagShutdownRequested
	}
	b = append(b, s.ProcessID[:]...)
	b = appendTasks(b, s.PrevTasks)
	b = binary.AppendUvarint(b, s.Rejoins)
	b = appendTasks(b, s.PrevStandbys)
	b = binary.AppendUvarint(b, uint64(len(s.OffsetSums)))
	for _, o := range s.OffsetSums {
		b = appendTask(b, o.Task)
		b = binary.AppendVarint(b, o.Sum)
	}
	return appendString(b, s.Endpoint)
}

// encodeSubscriptionV1 is version 1, for tests of upgrades.
func encodeSubscriptionV1(s SubscriptionInfo) []byte {
	b := []byte{1, 0}
	if s.ShutdownRequested {
		b[1] |= flagShutdownRequested
	}
	b = append(b, s.ProcessID[:]...)
	b = appendTasks(b, s.PrevTasks)
	return binary.AppendUvarint(b, s.Rejoins)
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
	n := d.uvarint(what+" count", maxTasksInSubscription)
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

// DecodeSubscriptionInfo decodes what EncodeSubscriptionInfo made, in
// version 1 or 2.
func DecodeSubscriptionInfo(b []byte) (SubscriptionInfo, error) {
	var s SubscriptionInfo
	if len(b) < 2+processIDLen {
		return SubscriptionInfo{}, errors.New("streams: subscription info: too short")
	}
	if b[0] != 1 && b[0] != 2 {
		return SubscriptionInfo{}, fmt.Errorf("streams: subscription info: unknown version %d", b[0])
	}
	s.Version = int(b[0])
	s.ShutdownRequested = b[1]&flagShutdownRequested != 0
	copy(s.ProcessID[:], b[2:2+processIDLen])
	d := &decoder{b: b[2+processIDLen:], ctx: "subscription info"}
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
	d.end()
	if d.err != nil {
		return SubscriptionInfo{}, d.err
	}
	return s, nil
}

// AssignmentInfo is the streams part of a member's assignment.
type AssignmentInfo struct {
	// Version is the encoding version.
	Version int
	// ShutdownApp asks every instance to shut down.
	ShutdownApp bool
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
		v = assignmentVersion
	}
	b := []byte{byte(v), assignErrNone, 0}
	if a.ShutdownApp {
		b[1] = assignErrShutdownApp
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
	d.end()
	if d.err != nil {
		return AssignmentInfo{}, d.err
	}
	return a, nil
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
	spread := spreadTasks(sortedTasks(tasks), members, func(m AssignmentMember) [][]TaskID {
		return [][]TaskID{m.PrevTasks}
	})
	for i, m := range members {
		if len(spread[i]) > 0 {
			out[m.ID] = spread[i]
		}
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
	info := SubscriptionInfo{ProcessID: b.app.processID, ShutdownRequested: b.app.shutdownRequested.Load(), Endpoint: b.app.cfg.ApplicationServer}
	if b.thread != nil {
		info.Rejoins = b.thread.rejoins.Load()
		info.PrevStandbys = b.app.standbys.tasksOf(b.thread.id)
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
	info.OffsetSums = b.app.taskOffsetSums(info.PrevTasks)
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
	info, err := DecodeAssignmentInfo(a.UserData)
	if err != nil && len(a.UserData) > 0 {
		b.app.cfg.Logger.Warn("streams: unreadable assignment user data; running the partitions without standbys or host metadata", "err", err)
	}
	if info.ShutdownApp {
		b.app.remoteShutdown()
	}
	if b.thread != nil {
		b.thread.assignmentReceived(info.Followup)
		b.thread.scheduleProbe(info.ProbeAfter)
		b.app.standbys.assign(b.thread.id, b.thread.name, info.Standbys)
	}
	if info.Version >= 2 {
		b.app.setHosts(info.Hosts)
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
// PlanAssignment (with the members' task lags against the changelogs' end
// offsets) -> partitions, plus every member's standbys and the host
// metadata in the assignment user data.
func (b *taskBalancer) Balance(cb *kgo.ConsumerBalancer, topics map[string]int32) kgo.IntoSyncAssignment {
	cfg := b.app.cfg
	shutdown := false
	version := assignmentVersion
	byID := map[string]*kmsg.JoinGroupResponseMember{}
	clients := map[string]*AssignmentClient{}
	endpoints := map[string]string{}
	sums := map[string][]TaskOffsetSum{} // by process
	cb.EachMember(func(m *kmsg.JoinGroupResponseMember, meta *kmsg.ConsumerMemberMetadata) {
		byID[m.MemberID] = m
		am := AssignmentMember{ID: m.MemberID}
		process := "member/" + m.MemberID // an unreadable member is its own process
		info, err := DecodeSubscriptionInfo(meta.UserData)
		if err == nil {
			am.PrevTasks, am.PrevStandbys = info.PrevTasks, info.PrevStandbys
			shutdown = shutdown || info.ShutdownRequested
			process = hex.EncodeToString(info.ProcessID[:])
			version = min(version, info.Version)
			if info.Endpoint != "" {
				endpoints[process] = info.Endpoint
			}
			sums[process] = append(sums[process], info.OffsetSums...)
		} else {
			cfg.Logger.Warn("streams: member sent unreadable subscription info; treating it as new", "member", m.MemberID, "err", err)
			version = 1
		}
		c := clients[process]
		if c == nil {
			c = &AssignmentClient{ProcessID: process, Lags: map[TaskID]int64{}}
			clients[process] = c
		}
		c.Members = append(c.Members, am)
	})
	tasks, partsOf := b.app.tasksFor(topics)
	changelogs := b.app.taskChangelogs(tasks)
	stateful := make(map[TaskID]bool, len(changelogs))
	for t := range changelogs {
		stateful[t] = true
	}
	ends := b.app.changelogEndSums(changelogs)
	in := AssignmentInput{
		Tasks:                 tasks,
		Stateful:              stateful,
		NumStandbys:           cfg.NumStandbyReplicas,
		AcceptableRecoveryLag: cfg.AcceptableRecoveryLag,
		MaxWarmups:            cfg.MaxWarmupReplicas,
	}
	for process, c := range clients {
		c.Lags = taskLags(sums[process], ends, stateful)
		in.Clients = append(in.Clients, *c)
	}
	result := PlanAssignment(in)
	plan := cb.NewPlan()
	memberIDs := make([]string, 0, len(result.Members))
	for id := range result.Members {
		memberIDs = append(memberIDs, id)
	}
	sort.Strings(memberIDs)
	for _, id := range memberIDs {
		jm := byID[id]
		for _, t := range result.Members[id].Active {
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
	hosts := hostsOf(clients, endpoints, result)
	// KIP-441: the leader (itself, as Kafka Streams does; the first member
	// when it is not known) asks for the probing rebalance.
	prober := ""
	if len(result.Moves) > 0 && len(memberIDs) > 0 {
		prober = memberIDs[0]
		if _, ok := result.Members[cb.Info().LeaderID]; ok {
			prober = cb.Info().LeaderID
		}
	}
	userData := make(map[string][]byte, len(memberIDs))
	for _, id := range memberIDs {
		ai := AssignmentInfo{Version: version, ShutdownApp: shutdown, Followup: followup, Hosts: hosts}
		mt := result.Members[id]
		ai.Standbys = sortedTasks(append(append([]TaskID(nil), mt.Standby...), mt.Warmup...))
		if id == prober {
			ai.ProbeAfter = cfg.ProbingRebalanceInterval
		}
		userData[id] = EncodeAssignmentInfo(ai)
	}
	if len(result.Moves) > 0 {
		cfg.Logger.Info("streams: tasks stay on caught-up instances while their new owners warm up (KIP-441)",
			"moves", len(result.Moves), "probing.rebalance.interval", cfg.ProbingRebalanceInterval)
	}
	cfg.Logger.Debug("streams: balanced tasks", "members", len(memberIDs), "processes", len(clients), "tasks", len(tasks), "plan", plan.String())
	return &taskPlan{plan: plan, userData: userData}
}

// taskLags turns an instance's offset sums into lags against the
// changelogs' end-offset sums: a running task (OffsetSumRunning) has lag 0;
// a task without end offsets counts as caught up (stickiness when the
// brokers do not answer); a stateful task the instance holds nothing of is
// its whole changelog behind (so short changelogs are caught up at once).
// Several members of an instance may report a task: the least lag wins.
func taskLags(sums []TaskOffsetSum, ends map[TaskID]int64, stateful map[TaskID]bool) map[TaskID]int64 {
	lags := map[TaskID]int64{}
	for _, s := range sums {
		if !stateful[s.Task] {
			continue
		}
		var lag int64
		switch end, known := ends[s.Task]; {
		case s.Sum < 0: // OffsetSumRunning
			lag = 0
		case !known:
			lag = 0
		default:
			lag = max(end-s.Sum, 0)
		}
		if old, ok := lags[s.Task]; !ok || lag < old {
			lags[s.Task] = lag
		}
	}
	for t, end := range ends {
		if _, ok := lags[t]; !ok && stateful[t] {
			lags[t] = end
		}
	}
	return lags
}

// hostsOf builds the host metadata of an assignment: each instance with an
// application.server and its active and standby (and warm-up) tasks.
func hostsOf(clients map[string]*AssignmentClient, endpoints map[string]string, result AssignmentPlan) []HostTasks {
	var hosts []HostTasks
	for process, ep := range endpoints {
		h := HostTasks{Endpoint: ep}
		for _, m := range clients[process].Members {
			mt := result.Members[m.ID]
			h.Active = append(h.Active, mt.Active...)
			h.Standby = append(h.Standby, mt.Standby...)
			h.Standby = append(h.Standby, mt.Warmup...)
		}
		h.Active, h.Standby = sortedTasks(h.Active), sortedTasks(h.Standby)
		hosts = append(hosts, h)
	}
	sort.Slice(hosts, func(i, j int) bool {
		if hosts[i].Endpoint != hosts[j].Endpoint {
			return hosts[i].Endpoint < hosts[j].Endpoint
		}
		return fmt.Sprint(hosts[i].Active) < fmt.Sprint(hosts[j].Active)
	})
	return hosts
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

// taskPlan adds each member's assignment user data to a balance plan.
type taskPlan struct {
	plan     *kgo.BalancePlan
	userData map[string][]byte
}

func (p *taskPlan) IntoSyncAssignment() []kmsg.SyncGroupRequestGroupAssignment {
	out := p.plan.IntoSyncAssignment()
	for i := range out {
		var a kmsg.ConsumerMemberAssignment
		if err := a.ReadFrom(out[i].MemberAssignment); err != nil {
			continue
		}
		a.UserData = p.userData[out[i].MemberID]
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

// scheduleProbe arms the probing rebalance an assignment asked for (0:
// none), replacing any earlier one: a later assignment decides anew.
func (t *streamThread) scheduleProbe(after time.Duration) {
	t.followupMu.Lock()
	defer t.followupMu.Unlock()
	if t.probe != nil {
		t.probe.Stop()
		t.probe = nil
	}
	if after <= 0 || t.closed {
		return
	}
	t.probe = time.AfterFunc(after, func() {
		t.followupMu.Lock()
		defer t.followupMu.Unlock()
		if t.closed {
			return
		}
		t.probe = nil
		t.rejoins.Add(1)
		t.app.cfg.Logger.Info("streams: probing rebalance (KIP-441): checking whether warm-up replicas caught up", "thread", t.name)
		t.cl.ForceRebalance()
	})
}
