package streams

import (
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rivulet-io/rivulet/streams/internal/assignor"
	"github.com/rivulet-io/rivulet/topology"
)

// The group balancer decides which group member runs which task. It is a
// kgo.GroupBalancer, so it replaces franz-go's partition balancers: the
// leader turns topic-partitions into tasks, gives every member whole tasks
// (all input partitions numbered p of a sub-topology go to the member
// running task <sub>_p), and turns them back into partitions. Replace it
// with WithBalancer. The pure part (the plan and the user data's wire
// format) is package internal/assignor.

const (
	processIDLen           = assignor.ProcessIDLen
	maxTasksInSubscription = assignor.MaxTasksInSubscription
)

// taskBalancer is the built-in kgo.GroupBalancer.
type taskBalancer struct {
	app         *App
	thread      *streamThread
	cooperative bool
}

func (b *taskBalancer) ProtocolName() string { return assignor.ProtocolName }
func (b *taskBalancer) IsCooperative() bool  { return b.cooperative }

func (b *taskBalancer) JoinGroupMetadata(topics []string, current map[string][]int32, generation int32) []byte {
	info := assignor.SubscriptionInfo{ProcessID: b.app.processID, ShutdownRequested: b.app.shutdownRequested.Load(), Endpoint: b.app.cfg.ApplicationServer}
	if b.thread != nil {
		b.thread.waitCohort()
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
	meta.UserData = assignor.EncodeSubscriptionInfo(info)
	meta.Generation = generation
	for _, t := range slices.Sorted(maps.Keys(current)) {
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
	info, err := assignor.DecodeAssignmentInfo(a.UserData)
	if err != nil && len(a.UserData) > 0 {
		b.app.cfg.Logger.Warn("streams: unreadable assignment user data; running the partitions without standbys or host metadata", "err", err)
	}
	if info.ShutdownApp {
		b.app.remoteShutdown()
	}
	if info.TopicsError != assignor.TopicsFit {
		b.app.topicsMismatch(info.TopicsError)
	}
	if b.thread != nil {
		b.thread.leaveCohort()
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
	if b.thread != nil {
		b.app.expectAssignment(b.thread.id, out, info.Standbys)
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
// assignor.PlanAssignment (with the members' task lags against the changelogs' end
// offsets) -> partitions, plus every member's standbys and the host
// metadata in the assignment user data.
func (b *taskBalancer) Balance(cb *kgo.ConsumerBalancer, topics map[string]int32) kgo.IntoSyncAssignment {
	cfg := b.app.cfg
	shutdown := false
	version := assignor.AssignmentVersion
	byID := map[string]*kmsg.JoinGroupResponseMember{}
	clients := map[string]*assignor.AssignmentClient{}
	endpoints := map[string]string{}
	sums := map[string][]assignor.TaskOffsetSum{} // by process
	cb.EachMember(func(m *kmsg.JoinGroupResponseMember, meta *kmsg.ConsumerMemberMetadata) {
		byID[m.MemberID] = m
		am := assignor.AssignmentMember{ID: m.MemberID}
		process := "member/" + m.MemberID // an unreadable member is its own process
		info, err := assignor.DecodeSubscriptionInfo(meta.UserData)
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
			c = &assignor.AssignmentClient{ProcessID: process, Lags: map[TaskID]int64{}}
			clients[process] = c
		}
		c.Members = append(c.Members, am)
	})
	// Kafka Streams' leader checks co-partitioning on every rebalance
	// (CopartitionedTopicsEnforcer) and fails when partitions were added to
	// one side of a join: its tasks would see only part of the other side.
	if err := b.app.topo.names.CheckCopartitioned(topics); err != nil {
		return b.topicsMismatch(cb, version, shutdown, assignor.TopicsNotCopartitioned, fmt.Errorf("streams: rebalance: %w", err))
	}
	tasks, partsOf := b.app.tasksFor(topics)
	changelogs := b.app.taskChangelogs(tasks)
	stateful := make(map[TaskID]bool, len(changelogs))
	for t := range changelogs {
		stateful[t] = true
	}
	ends, changelogPartitions := b.app.changelogEndSums(changelogs)
	if err := b.app.checkChangelogPartitions(changelogs, changelogPartitions); err != nil {
		return b.topicsMismatch(cb, version, shutdown, assignor.TopicsInternalPartitions, err)
	}
	in := assignor.AssignmentInput{
		Tasks:                 tasks,
		Stateful:              stateful,
		NumStandbys:           cfg.NumStandbyReplicas,
		AcceptableRecoveryLag: cfg.AcceptableRecoveryLag,
		MaxWarmups:            cfg.MaxWarmupReplicas,
	}
	for process, c := range clients {
		c.Lags = assignor.TaskLags(sums[process], ends, stateful)
		in.Clients = append(in.Clients, *c)
	}
	result := assignor.PlanAssignment(in)
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
	hosts := assignor.HostsOf(clients, endpoints, result)
	// KIP-441: the group leader (itself, as Kafka Streams does; the first member
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
		ai := assignor.AssignmentInfo{Version: version, ShutdownApp: shutdown, Followup: followup, Hosts: hosts}
		mt := result.Members[id]
		ai.Standbys = assignor.SortedTasks(append(append([]TaskID(nil), mt.Standby...), mt.Warmup...))
		if id == prober {
			ai.ProbeAfter = cfg.ProbingRebalanceInterval
		}
		userData[id] = assignor.EncodeAssignmentInfo(ai)
	}
	if len(result.Moves) > 0 {
		cfg.Logger.Info("streams: tasks stay on caught-up instances while their new owners warm up (KIP-441)",
			"moves", len(result.Moves), "probing.rebalance.interval", cfg.ProbingRebalanceInterval)
	}
	cfg.Logger.Debug("streams: balanced tasks", "members", len(memberIDs), "processes", len(clients), "tasks", len(tasks), "plan", plan.String())
	return &taskPlan{plan: plan, userData: userData}
}

// topicsMismatch answers every member with no tasks and the topics error,
// which stops every instance; err, why, is logged here and kept as this
// instance's error.
func (b *taskBalancer) topicsMismatch(cb *kgo.ConsumerBalancer, version int, shutdown bool, kind assignor.TopicsError, err error) kgo.IntoSyncAssignment {
	b.app.cfg.Logger.Error("streams: the topics do not fit the topology; every instance stops", "err", err)
	b.app.leaderTopicsErr.CompareAndSwap(nil, &err)
	userData := map[string][]byte{}
	cb.EachMember(func(m *kmsg.JoinGroupResponseMember, _ *kmsg.ConsumerMemberMetadata) {
		userData[m.MemberID] = assignor.EncodeAssignmentInfo(assignor.AssignmentInfo{Version: version, ShutdownApp: shutdown, TopicsError: kind})
	})
	return &taskPlan{plan: cb.NewPlan(), userData: userData}
}

// topicsMismatch is called when the group leader found that the topics do
// not fit the topology: the application fails, with the leader's reason
// when this instance is the leader.
func (a *App) topicsMismatch(kind assignor.TopicsError) {
	a.topicsOnce.Do(func() {
		err := fmt.Errorf("streams: the group leader found topics that must be co-partitioned with different partition counts (its log says which): %w", topology.ErrNotCopartitioned)
		if kind == assignor.TopicsInternalPartitions {
			err = fmt.Errorf("streams: the group leader found an internal topic whose partition count is not the topology's (its log says which): %w", ErrInternalTopicPartitions)
		}
		if p := a.leaderTopicsErr.Load(); p != nil {
			err = *p
		}
		go a.fail(err)
	})
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
		srcTopics := a.topo.names.SourceTopics(s, available)
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
	n, ok := a.topo.names.SourceNodeForTopic(topic)
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
