package groupcoord

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// JoinGroup handles a JoinGroup request. done is called exactly once with
// the answer: at once for an error or when the member is told its id
// (MEMBER_ID_REQUIRED), or once the rebalance completes, possibly from
// another goroutine. done must not block or call into the Coordinator.
func (c *Coordinator) JoinGroup(req JoinRequest, done func(JoinResult)) {
	fail := func(code int16) {
		done(JoinResult{ErrorCode: code, MemberID: req.MemberID, Generation: -1})
	}
	switch {
	case req.Group == "":
		fail(kerr.InvalidGroupID.Code)
		return
	case req.SessionTimeout < c.cfg.MinSessionTimeout || req.SessionTimeout > c.cfg.MaxSessionTimeout:
		fail(kerr.InvalidSessionTimeout.Code)
		return
	case req.ProtocolType == "" || len(req.Protocols) == 0:
		fail(kerr.InconsistentGroupProtocol.Code)
		return
	}
	if req.RebalanceTimeout <= 0 {
		req.RebalanceTimeout = req.SessionTimeout // JoinGroup v0 has none
	}
	req.Protocols = cloneProtocols(req.Protocols)
	switch c.withGroup(req.Group, req.MemberID == "", func(g *group, r *replies) { g.join(&req, done, r) }) {
	case notFound:
		fail(kerr.UnknownMemberID.Code)
	case shutDown:
		fail(kerr.NotCoordinator.Code)
	}
}

// Join is JoinGroup that waits for the answer. It returns ctx's error if ctx
// ends first; the member then stays in the rebalance as in Kafka, and must
// rejoin.
func (c *Coordinator) Join(ctx context.Context, req JoinRequest) (JoinResult, error) {
	return await(ctx, "join group", req.Group, func(done func(JoinResult)) { c.JoinGroup(req, done) })
}

// await starts a call with a callback for its answer and waits for it, or returns ctx's
// error, naming the call (what) and the group.
func await[R any](ctx context.Context, what, group string, start func(done func(R))) (R, error) {
	ch := make(chan R, 1)
	start(func(res R) { ch <- res })
	select {
	case res := <-ch:
		return res, nil
	case <-ctx.Done():
		var zero R
		return zero, fmt.Errorf("groupcoord: %s %q: %w", what, group, ctx.Err())
	}
}

func (g *group) join(req *JoinRequest, done func(JoinResult), r *replies) {
	fail := func(code int16) {
		res := JoinResult{ErrorCode: code, MemberID: req.MemberID, Generation: -1}
		r.add(func() { done(res) })
	}
	if req.MemberID == "" {
		if !g.supportsProtocols(req.ProtocolType, req.Protocols) {
			fail(kerr.InconsistentGroupProtocol.Code)
			return
		}
		if req.InstanceID != "" {
			if old := g.static[req.InstanceID]; old != nil {
				g.replaceStatic(old, req, done, r)
				return
			}
		}
		if g.size() >= g.c.cfg.GroupMaxSize {
			fail(kerr.GroupMaxSizeReached.Code)
			return
		}
		prefix := req.ClientID
		if req.InstanceID != "" {
			prefix = req.InstanceID
		}
		id := g.c.cfg.NewMemberID(prefix)
		if req.InstanceID == "" && req.RequireKnownMemberID {
			// KIP-394: the member learns its id first, so that a client
			// that times out and retries does not leave a ghost behind.
			s := &slot{}
			g.pending[id] = s
			g.arm(s, req.SessionTimeout, func(r *replies) { g.expirePending(id, r) })
			res := JoinResult{ErrorCode: kerr.MemberIDRequired.Code, MemberID: id, Generation: -1}
			r.add(func() { done(res) })
			return
		}
		g.addMemberAndRebalance(id, req, done, r)
		return
	}
	if !g.acceptJoining(req.MemberID) {
		// As Kafka: the member is removed, so that a group over
		// group.max.size (lowered since it formed) shrinks to it.
		if s := g.pending[req.MemberID]; s != nil {
			g.disarm(s)
			delete(g.pending, req.MemberID)
		}
		if m := g.members[req.MemberID]; m != nil {
			g.c.logger.Info("groupcoord: removing member over group.max.size", "group", g.id, "member", m.id, "max", g.c.cfg.GroupMaxSize)
			g.removeMember(m, kerr.GroupMaxSizeReached.Code, r)
		}
		res := JoinResult{ErrorCode: kerr.GroupMaxSizeReached.Code, Generation: -1}
		r.add(func() { done(res) })
		g.tryCompleteJoin(r)
		return
	}
	if s := g.pending[req.MemberID]; s != nil {
		if !g.supportsProtocols(req.ProtocolType, req.Protocols) {
			fail(kerr.InconsistentGroupProtocol.Code)
			return
		}
		g.disarm(s)
		delete(g.pending, req.MemberID)
		g.addMemberAndRebalance(req.MemberID, req, done, r)
		return
	}
	if g.fenced(req.InstanceID, req.MemberID) {
		fail(kerr.FencedInstanceID.Code)
		return
	}
	m := g.members[req.MemberID]
	if m == nil {
		fail(kerr.UnknownMemberID.Code)
		return
	}
	if !g.supportsProtocols(req.ProtocolType, req.Protocols) {
		fail(kerr.InconsistentGroupProtocol.Code)
		return
	}
	switch g.state {
	case StatePreparingRebalance:
		g.updateMemberAndRebalance(m, req, done, r)
	case StateCompletingRebalance:
		if m.matches(req.Protocols) {
			// The member lost our JoinGroup answer; repeat it.
			g.armHeartbeat(m)
			res := g.currentJoin(m, m.id == g.leader)
			r.add(func() { done(res) })
			return
		}
		g.updateMemberAndRebalance(m, req, done, r)
	case StateStable:
		if m.id == g.leader || !m.matches(req.Protocols) {
			// The group leader rejoining may mean its metadata (topics,
			// partition counts) changed: rebalance.
			g.updateMemberAndRebalance(m, req, done, r)
			return
		}
		g.armHeartbeat(m)
		res := g.currentJoin(m, false)
		r.add(func() { done(res) })
	default:
		fail(kerr.UnknownMemberID.Code)
	}
}

// acceptJoining reports whether a JoinGroup with known member id memberID
// fits group.max.size, as Kafka decides: during PreparingRebalance a
// member already waiting in JoinGroup, or any while fewer than the maximum
// wait (the size may be over the maximum when it was lowered, and those
// that rejoin last are refused); in CompletingRebalance and Stable a
// member, or any while the group is below the maximum.
func (g *group) acceptJoining(memberID string) bool {
	m := g.members[memberID]
	switch g.state {
	case StatePreparingRebalance:
		if m != nil && m.joinCB != nil {
			return true
		}
		waiting := 0
		for _, x := range g.order {
			if x.joinCB != nil {
				waiting++
			}
		}
		return waiting < g.c.cfg.GroupMaxSize
	case StateCompletingRebalance, StateStable:
		return m != nil || len(g.members) < g.c.cfg.GroupMaxSize
	default:
		return true
	}
}

// fenced reports whether instanceID belongs to a static member other than
// memberID (KIP-345: the older incarnation is fenced).
func (g *group) fenced(instanceID, memberID string) bool {
	if instanceID == "" {
		return false
	}
	m := g.static[instanceID]
	return m != nil && m.id != memberID
}

// checkInstance checks the group.instance.id of a SyncGroup, Heartbeat or
// offset commit as Kafka validates a member: UNKNOWN_MEMBER_ID when no
// static member has instanceID, FENCED_INSTANCE_ID when another member id
// has it, else 0.
func (g *group) checkInstance(instanceID, memberID string) int16 {
	if instanceID == "" {
		return 0
	}
	switch m := g.static[instanceID]; {
	case m == nil:
		return kerr.UnknownMemberID.Code
	case m.id != memberID:
		return kerr.FencedInstanceID.Code
	}
	return 0
}

func (g *group) addMemberAndRebalance(id string, req *JoinRequest, done func(JoinResult), r *replies) {
	m := &member{
		id:         id,
		instanceID: req.InstanceID,
		clientID:   req.ClientID,
		clientHost: req.ClientHost,
		protocols:  req.Protocols,
		session:    req.SessionTimeout,
		rebalance:  req.RebalanceTimeout,
		joinCB:     done,
		skipOK:     req.SupportsSkipAssignment,
		isNew:      true,
	}
	if g.state == StatePreparingRebalance && g.joinInitial {
		// The rebalance started from Empty (a new group, or one whose
		// members all left, before a broker restart too): extend the
		// initial delay, as Kafka does.
		g.newMemberAdded = true
	}
	if len(g.members) == 0 {
		g.protocolType = req.ProtocolType
	}
	g.members[id] = m
	g.order = append(g.order, m)
	if m.instanceID != "" {
		g.static[m.instanceID] = m
	}
	if g.leader == "" {
		g.leader = id
	}
	// A new member cannot heartbeat until it has its first JoinGroup
	// answer, so it is bounded by NewMemberJoinTimeout instead.
	g.arm(&m.hb, g.c.cfg.NewMemberJoinTimeout, func(r *replies) { g.expireMember(m, r) })
	g.maybePrepareRebalance(fmt.Sprintf("adding new member %s (instance %q, client reason %q)", id, req.InstanceID, req.Reason), r)
	g.tryCompleteJoin(r)
}

func (g *group) updateMemberAndRebalance(m *member, req *JoinRequest, done func(JoinResult), r *replies) {
	g.updateMember(m, req, done, r)
	g.armHeartbeat(m)
	g.maybePrepareRebalance(fmt.Sprintf("updating metadata of member %s (client reason %q)", m.id, req.Reason), r)
	g.tryCompleteJoin(r)
}

func (g *group) updateMember(m *member, req *JoinRequest, done func(JoinResult), r *replies) {
	m.protocols = req.Protocols
	m.session = req.SessionTimeout
	m.rebalance = req.RebalanceTimeout
	m.clientID = req.ClientID
	m.clientHost = req.ClientHost
	m.skipOK = req.SupportsSkipAssignment
	if old := m.joinCB; old != nil {
		// A second JoinGroup from the same member (a retry on a new
		// connection) supersedes the first; answer the first so its
		// connection is not stuck.
		res := JoinResult{ErrorCode: kerr.RebalanceInProgress.Code, MemberID: m.id, Generation: -1}
		r.add(func() { old(res) })
	}
	m.joinCB = done
}

// renameMember moves m from member id from to id to, with its leadership and its pending
// sync.
func (g *group) renameMember(m *member, from, to string) {
	delete(g.members, from)
	m.id = to
	g.members[to] = m
	if g.leader == from {
		g.leader = to
	}
	if g.pendingSync[from] {
		delete(g.pendingSync, from)
		g.pendingSync[to] = true
	}
}

// replaceStatic handles a static member rejoining without its member id
// (a restart): the new incarnation takes over the old one's place, and
// the old one is fenced. In a Stable group whose selected protocol stays
// the same, no rebalance happens: the member gets the current generation
// back and keeps its assignment (KIP-345). Kafka checks only the
// protocol; for consumer groups this also rebalances when the member's
// subscribed topics changed, which Kafka would leave unnoticed until the
// leader rejoins (owned partitions and generation in the metadata may
// differ: a restarted cooperative member owns nothing yet).
func (g *group) replaceStatic(m *member, req *JoinRequest, done func(JoinResult), r *replies) {
	oldID := m.id
	newID := g.c.cfg.NewMemberID(req.InstanceID)
	oldLeader := g.leader
	g.answerWaiting(m, kerr.FencedInstanceID.Code, r)
	g.renameMember(m, oldID, newID)
	unchanged := g.sameSubscription(m.protocols, req.Protocols)
	saved := *m
	g.updateMember(m, req, done, r)
	g.armHeartbeat(m)
	g.c.logger.Info("groupcoord: static member rejoined with a new member id", "group", g.id, "instance", req.InstanceID, "old", oldID, "new", newID)

	switch g.state {
	case StateStable:
		if !unchanged || g.selectProtocol() != g.protocol {
			g.prepareRebalance(fmt.Sprintf("static member %s rejoined with new metadata", req.InstanceID), r)
			g.tryCompleteJoin(r)
			return
		}
		v := g.metadataValue(func(x *member) []byte { return x.assignment })
		if err := g.c.appendRecords(g.c.ctx, g.partition, []record{groupRecord(g.id, v)}); err != nil {
			// Put the old incarnation back; the new one retries.
			saved.joinCB, saved.syncCB = nil, nil
			hb := m.hb
			*m = saved
			m.hb = hb
			g.renameMember(m, newID, oldID)
			code := g.c.metadataErrorCode(err)
			r.add(func() { done(JoinResult{ErrorCode: code, Generation: -1}) })
			return
		}
		m.joinCB = nil
		res := g.currentJoin(m, false)
		if m.skipOK {
			// KIP-814: a v9+ leader learns it leads but must not assign.
			if g.leader == newID {
				res.Members = g.memberList()
				res.SkipAssignment = true
			}
		} else {
			// Older clients would reassign if they saw they lead; give
			// them the group leader id they knew, so they just sync.
			res.LeaderID = oldLeader
		}
		r.add(func() { done(res) })
	case StateCompletingRebalance:
		g.prepareRebalance(fmt.Sprintf("static member %s rejoined during the sync phase", req.InstanceID), r)
		g.tryCompleteJoin(r)
	case StatePreparingRebalance:
		g.tryCompleteJoin(r)
	}
}

// sameSubscription reports whether a static member rejoining with protocols
// instead of old keeps the same subscription: for consumer groups, the same
// topics in the metadata of the group's protocol; for other protocol types
// (whose metadata the coordinator cannot read), always.
func (g *group) sameSubscription(old, protocols []Protocol) bool {
	if g.protocolType != "consumer" {
		return true
	}
	topics := func(ps []Protocol) (map[string]bool, bool) {
		for _, p := range ps {
			if p.Name != g.protocol {
				continue
			}
			var meta kmsg.ConsumerMemberMetadata
			if meta.ReadFrom(p.Metadata) != nil {
				return nil, false
			}
			set := make(map[string]bool, len(meta.Topics))
			for _, t := range meta.Topics {
				set[t] = true
			}
			return set, true
		}
		return nil, false
	}
	a, okA := topics(old)
	b, okB := topics(protocols)
	if !okA || !okB {
		return okA == okB
	}
	return maps.Equal(a, b)
}

// maybePrepareRebalance starts a rebalance unless one is in progress.
func (g *group) maybePrepareRebalance(reason string, r *replies) {
	switch g.state {
	case StateStable, StateCompletingRebalance, StateEmpty:
		g.prepareRebalance(reason, r)
	}
}

func (g *group) prepareRebalance(reason string, r *replies) {
	if g.state == StateCompletingRebalance {
		// Members waiting in SyncGroup must rejoin instead.
		g.resetAssignments(kerr.RebalanceInProgress.Code, r)
	}
	g.disarm(&g.syncSlot)
	g.pendingSync = nil
	delay := g.c.cfg.InitialRebalanceDelay
	if g.state == StateEmpty && delay > 0 {
		g.joinInitial = true
		g.newMemberAdded = false
		g.joinRemaining = max(g.rebalanceTimeout()-delay, 0)
		g.arm(&g.joinSlot, delay, g.onJoinTimer)
	} else {
		g.joinInitial = false
		g.arm(&g.joinSlot, g.rebalanceTimeout(), g.onJoinTimer)
	}
	g.c.logger.Info("groupcoord: preparing to rebalance group", "group", g.id, "state", g.state.String(), "generation", g.generation, "reason", reason)
	g.transition(StatePreparingRebalance)
}

func (g *group) onJoinTimer(r *replies) {
	if g.state != StatePreparingRebalance {
		return
	}
	if g.joinInitial && g.newMemberAdded && g.joinRemaining > 0 {
		// group.initial.rebalance.delay.ms: members keep arriving, wait
		// one more delay (bounded by the rebalance timeout).
		g.newMemberAdded = false
		d := min(g.c.cfg.InitialRebalanceDelay, g.joinRemaining)
		g.joinRemaining -= d
		g.arm(&g.joinSlot, d, g.onJoinTimer)
		return
	}
	g.completeJoin(r)
}

// tryCompleteJoin completes the join phase once every member has rejoined
// and no KIP-394 member is still to come back, unless the initial delay
// is running.
func (g *group) tryCompleteJoin(r *replies) {
	if g.state != StatePreparingRebalance || g.joinInitial || len(g.pending) > 0 {
		return
	}
	for _, m := range g.order {
		if m.joinCB == nil {
			return
		}
	}
	g.completeJoin(r)
}

func (g *group) completeJoin(r *replies) {
	g.disarm(&g.joinSlot)
	g.joinInitial = false
	g.newMemberAdded = false
	// Dynamic members that did not rejoin in time are gone. Static
	// members stay until their session expires (KIP-345).
	for _, m := range slicesClone(g.order) {
		if m.joinCB == nil && m.instanceID == "" {
			g.c.logger.Info("groupcoord: removing member that did not rejoin in time", "group", g.id, "member", m.id)
			g.removeMember(m, kerr.UnknownMemberID.Code, r)
		}
	}
	if len(g.members) > 0 && !g.electJoinedLeader() {
		// Only static members that have not rejoined remain: wait another
		// rebalance timeout for them or for their sessions to expire.
		g.arm(&g.joinSlot, g.rebalanceTimeout(), g.onJoinTimer)
		return
	}
	g.generation++
	if len(g.members) == 0 {
		g.protocol = ""
		g.subscribed = nil
		g.transition(StateEmpty)
		g.c.logger.Info("groupcoord: group is empty", "group", g.id, "generation", g.generation)
		g.storeGroup()
		return
	}
	g.protocol = g.selectProtocol()
	g.computeSubscribed()
	g.transition(StateCompletingRebalance)
	g.pendingSync = make(map[string]bool, len(g.members))
	for _, m := range g.order {
		if cb := m.joinCB; cb != nil {
			m.joinCB = nil
			res := g.currentJoin(m, m.id == g.leader)
			r.add(func() { cb(res) })
		}
		m.isNew = false
		g.armHeartbeat(m)
		g.pendingSync[m.id] = true
	}
	g.arm(&g.syncSlot, g.rebalanceTimeout(), g.onSyncTimeout)
	g.c.logger.Info("groupcoord: group joined", "group", g.id, "generation", g.generation, "protocol", g.protocol, "leader", g.leader, "members", len(g.members))
}

// electJoinedLeader makes sure the group leader is a member that rejoined.
func (g *group) electJoinedLeader() bool {
	if l := g.members[g.leader]; l != nil && l.joinCB != nil {
		return true
	}
	for _, m := range g.order {
		if m.joinCB != nil {
			g.leader = m.id
			return true
		}
	}
	return false
}

// armHeartbeat restarts the member's session timer.
func (g *group) armHeartbeat(m *member) {
	d := m.session
	if m.isNew {
		d = g.c.cfg.NewMemberJoinTimeout
	}
	g.arm(&m.hb, d, func(r *replies) { g.expireMember(m, r) })
}

func (g *group) expireMember(m *member, r *replies) {
	if g.members[m.id] != m {
		return
	}
	// Members waiting in a rebalance need not heartbeat, except new ones
	// (bounded by NewMemberJoinTimeout).
	if m.syncCB != nil || (m.joinCB != nil && !m.isNew) {
		return
	}
	g.c.logger.Info("groupcoord: member session expired", "group", g.id, "member", m.id, "instance", m.instanceID)
	g.removeMemberAndUpdate(m, "session timeout of member "+m.id, r)
}

func (g *group) expirePending(id string, r *replies) {
	if g.pending[id] == nil {
		return
	}
	delete(g.pending, id)
	g.tryCompleteJoin(r)
}

// removeMember drops m from the group, answering what it waits on with
// code; it starts no rebalance.
func (g *group) removeMember(m *member, code int16, r *replies) {
	g.answerWaiting(m, code, r)
	g.disarm(&m.hb)
	delete(g.members, m.id)
	if m.instanceID != "" && g.static[m.instanceID] == m {
		delete(g.static, m.instanceID)
	}
	delete(g.pendingSync, m.id)
	for i, x := range g.order {
		if x == m {
			g.order = append(g.order[:i], g.order[i+1:]...)
			break
		}
	}
	if g.leader == m.id {
		g.leader = ""
		if len(g.order) > 0 {
			g.leader = g.order[0].id
		}
	}
}

func (g *group) removeMemberAndUpdate(m *member, reason string, r *replies) {
	g.removeMember(m, kerr.UnknownMemberID.Code, r)
	switch g.state {
	case StateStable, StateCompletingRebalance:
		g.prepareRebalance(reason, r)
		g.tryCompleteJoin(r)
	case StatePreparingRebalance:
		g.tryCompleteJoin(r)
	}
}

// resetAssignments clears assignments and answers members waiting in
// SyncGroup with code.
func (g *group) resetAssignments(code int16, r *replies) {
	for _, m := range g.order {
		m.assignment = nil
		if cb := m.syncCB; cb != nil {
			m.syncCB = nil
			r.add(func() { cb(SyncResult{ErrorCode: code}) })
			g.armHeartbeat(m)
		}
	}
}

// SyncGroup handles a SyncGroup request. done is called exactly once: at
// once, or when the group leader's assignment is stored. The group leader's call
// blocks while the group's metadata is appended to the log. done must not
// block or call into the Coordinator.
func (c *Coordinator) SyncGroup(req SyncRequest, done func(SyncResult)) {
	if req.Group == "" {
		done(SyncResult{ErrorCode: kerr.InvalidGroupID.Code}) // as Kafka
		return
	}
	switch c.withGroup(req.Group, false, func(g *group, r *replies) { g.sync(&req, done, r) }) {
	case notFound:
		done(SyncResult{ErrorCode: kerr.UnknownMemberID.Code})
	case shutDown:
		done(SyncResult{ErrorCode: kerr.NotCoordinator.Code})
	}
}

// Sync is SyncGroup that waits for the answer, or returns ctx's error.
func (c *Coordinator) Sync(ctx context.Context, req SyncRequest) (SyncResult, error) {
	return await(ctx, "sync group", req.Group, func(done func(SyncResult)) { c.SyncGroup(req, done) })
}

func (g *group) sync(req *SyncRequest, done func(SyncResult), r *replies) {
	fail := func(code int16) { r.add(func() { done(SyncResult{ErrorCode: code}) }) }
	if code := g.checkInstance(req.InstanceID, req.MemberID); code != 0 {
		fail(code)
		return
	}
	m := g.members[req.MemberID]
	switch {
	case m == nil:
		fail(kerr.UnknownMemberID.Code)
		return
	case req.Generation != g.generation:
		fail(kerr.IllegalGeneration.Code)
		return
	case req.ProtocolType != nil && *req.ProtocolType != g.protocolType,
		req.Protocol != nil && *req.Protocol != g.protocol:
		fail(kerr.InconsistentGroupProtocol.Code)
		return
	}
	switch g.state {
	case StateEmpty:
		fail(kerr.UnknownMemberID.Code)
	case StatePreparingRebalance:
		fail(kerr.RebalanceInProgress.Code)
	case StateCompletingRebalance:
		if old := m.syncCB; old != nil {
			r.add(func() { old(SyncResult{ErrorCode: kerr.RebalanceInProgress.Code}) })
		}
		m.syncCB = done
		g.synced(m)
		if m.id != g.leader {
			return
		}
		assign := make(map[string][]byte, len(req.Assignments))
		for _, a := range req.Assignments {
			if g.members[a.MemberID] != nil {
				assign[a.MemberID] = bytes.Clone(a.Assignment)
			}
		}
		v := g.metadataValue(func(x *member) []byte { return assign[x.id] })
		if err := g.c.appendRecords(g.c.ctx, g.partition, []record{groupRecord(g.id, v)}); err != nil {
			g.c.logger.Warn("groupcoord: storing the group leader's assignment failed; rebalancing", "group", g.id, "generation", g.generation, "err", err)
			g.resetAssignments(g.c.metadataErrorCode(err), r)
			g.prepareRebalance("storing the assignment failed", r)
			g.tryCompleteJoin(r)
			return
		}
		for _, x := range g.order {
			x.assignment = assign[x.id]
			if x.assignment == nil {
				x.assignment = []byte{}
			}
			if cb := x.syncCB; cb != nil {
				x.syncCB = nil
				res := g.syncResult(x)
				r.add(func() { cb(res) })
			}
			g.armHeartbeat(x)
		}
		g.transition(StateStable)
		g.c.logger.Info("groupcoord: group stable", "group", g.id, "generation", g.generation, "members", len(g.members))
	case StateStable:
		g.synced(m)
		g.armHeartbeat(m)
		res := g.syncResult(m)
		r.add(func() { done(res) })
	default:
		fail(kerr.CoordinatorNotAvailable.Code)
	}
}

// synced records that m sent SyncGroup for the current generation.
func (g *group) synced(m *member) {
	delete(g.pendingSync, m.id)
	if len(g.pendingSync) == 0 {
		g.disarm(&g.syncSlot)
	}
}

func (g *group) syncResult(m *member) SyncResult {
	return SyncResult{ProtocolType: g.protocolType, Protocol: g.protocol, Assignment: m.assignment}
}

// onSyncTimeout removes members that got their JoinGroup answer but did
// not send SyncGroup within the rebalance timeout, and rebalances.
func (g *group) onSyncTimeout(r *replies) {
	if (g.state != StateCompletingRebalance && g.state != StateStable) || len(g.pendingSync) == 0 {
		return
	}
	for _, m := range slicesClone(g.order) {
		if g.pendingSync[m.id] {
			g.c.logger.Info("groupcoord: removing member that did not sync in time", "group", g.id, "member", m.id)
			g.removeMember(m, kerr.UnknownMemberID.Code, r)
		}
	}
	g.pendingSync = nil
	g.prepareRebalance("members did not sync in time", r)
	g.tryCompleteJoin(r)
}

// Heartbeat handles a Heartbeat request and returns its error code:
// REBALANCE_IN_PROGRESS tells the member to rejoin.
func (c *Coordinator) Heartbeat(req HeartbeatRequest) int16 {
	if req.Group == "" {
		return kerr.InvalidGroupID.Code // as Kafka
	}
	code := kerr.UnknownMemberID.Code
	switch c.withGroup(req.Group, false, func(g *group, _ *replies) { code = g.heartbeat(&req) }) {
	case shutDown:
		return kerr.NotCoordinator.Code
	}
	return code
}

func (g *group) heartbeat(req *HeartbeatRequest) int16 {
	if code := g.checkInstance(req.InstanceID, req.MemberID); code != 0 {
		return code
	}
	m := g.members[req.MemberID]
	switch {
	case m == nil:
		return kerr.UnknownMemberID.Code
	case req.Generation != g.generation:
		return kerr.IllegalGeneration.Code
	}
	switch g.state {
	case StatePreparingRebalance:
		g.armHeartbeat(m)
		return kerr.RebalanceInProgress.Code
	case StateCompletingRebalance, StateStable:
		g.armHeartbeat(m)
		return 0
	default:
		return kerr.UnknownMemberID.Code
	}
}

// LeaveGroup handles a LeaveGroup request for members (one for v0-v2).
func (c *Coordinator) LeaveGroup(groupID string, members []LeaveMember) LeaveResult {
	res := LeaveResult{Members: make([]int16, len(members))}
	if groupID == "" {
		res.ErrorCode = kerr.InvalidGroupID.Code // as Kafka
		return res
	}
	o := c.withGroup(groupID, false, func(g *group, r *replies) {
		for i, lm := range members {
			res.Members[i] = g.leave(lm, r)
		}
	})
	switch o {
	case notFound:
		for i := range res.Members {
			res.Members[i] = kerr.UnknownMemberID.Code
		}
	case shutDown:
		res.ErrorCode = kerr.NotCoordinator.Code
	}
	return res
}

func (g *group) leave(lm LeaveMember, r *replies) int16 {
	reason := lm.Reason
	if reason == "" {
		reason = "no reason given"
	}
	if lm.InstanceID != "" {
		m := g.static[lm.InstanceID]
		switch {
		case m == nil:
			return kerr.UnknownMemberID.Code
		case lm.MemberID != "" && lm.MemberID != m.id:
			return kerr.FencedInstanceID.Code
		}
		g.c.logger.Info("groupcoord: static member left", "group", g.id, "member", m.id, "instance", lm.InstanceID, "reason", reason)
		g.removeMemberAndUpdate(m, "static member "+lm.InstanceID+" left: "+reason, r)
		return 0
	}
	if s := g.pending[lm.MemberID]; s != nil {
		g.disarm(s)
		delete(g.pending, lm.MemberID)
		g.tryCompleteJoin(r)
		return 0
	}
	m := g.members[lm.MemberID]
	if m == nil {
		return kerr.UnknownMemberID.Code
	}
	g.c.logger.Info("groupcoord: member left", "group", g.id, "member", m.id, "reason", reason)
	g.removeMemberAndUpdate(m, "member "+m.id+" left: "+reason, r)
	return 0
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

// sessionBounds clamps a loaded member's timeouts into the configured range.
func (c *Coordinator) sessionBounds(d time.Duration) time.Duration {
	return min(max(d, c.cfg.MinSessionTimeout), c.cfg.MaxSessionTimeout)
}
