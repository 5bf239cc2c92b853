package assignor

import (
	"math"
	"sort"
)

// The high-availability task assignor (Kafka Streams' HighAvailabilityTaskAssignor,
// KIP-441), as a pure function: PlanAssignment. The balancer in assignor.go gathers its
// input from the members' subscriptions and the changelogs' end offsets, and turns its
// output into partitions and assignment user data.
//
// It works on processes first (an instance with several stream threads is one process:
// its threads share its state directory), then on threads:
//
//  1. An ideal spread of active tasks over processes, weighted by their thread counts,
//     stateful tasks first (so that state is spread evenly, not only task counts), then
//     stateless ones: each process keeps the tasks it ran (sticky) up to its share, tasks
//     without an owner go where their state is (caught up first, then least lag) among
//     processes with room, then loads are evened out.
//  2. KIP-441: a stateful task whose ideal process is not caught up (its state is more
//     than acceptable.recovery.lag records behind the changelog) stays on a caught-up
//     process, preferably its current owner; the move is recorded.
//  3. Standby replicas (num.standby.replicas) on other processes than the active:
//     a process a task is moving to first, then caught-up ones, then the least loaded.
//  4. Warm-up replicas (max.warmup.replicas in all) on the processes tasks are moving to
//     that got no standby of them. Any move means a probing rebalance should follow
//     (probing.rebalance.interval.ms), once the warm-ups have caught up.
//  5. Within each process, active tasks and replicas are spread over its threads,
//     each thread keeping what it had (sticky), evenly.
//
// Every step walks tasks and processes in sorted order, so the same input always gives
// the same plan.

// AssignmentInput is everything PlanAssignment decides from.
type AssignmentInput struct {
	// Tasks are the application's tasks.
	Tasks []TaskID
	// Stateful marks the tasks with changelogged stores: only they get standby and
	// warm-up replicas, and only their lags count.
	Stateful map[TaskID]bool
	// Clients are the application's instances (processes), each with its stream
	// threads (group members). Their order does not matter.
	Clients []AssignmentClient
	// NumStandbys is num.standby.replicas: replicas of each stateful task on other
	// processes than its active one.
	NumStandbys int
	// AcceptableRecoveryLag is acceptable.recovery.lag: a process whose state of a
	// task is at most this many records behind the changelog is caught up.
	AcceptableRecoveryLag int64
	// MaxWarmups is max.warmup.replicas: how many warm-up replicas the assignment may
	// hold at once.
	MaxWarmups int
}

// AssignmentClient is one process of the application.
type AssignmentClient struct {
	// ProcessID identifies the process (its threads share it).
	ProcessID string
	// Members are its stream threads.
	Members []AssignmentMember
	// Lags maps stateful tasks to how many changelog records this process's state
	// of them is behind. A task this process runs as active has lag 0 whatever the
	// map says; a task missing from the map has no usable state here (infinite lag).
	Lags map[TaskID]int64
}

// AssignmentPlan is PlanAssignment's result.
type AssignmentPlan struct {
	// Members maps each member id to its tasks.
	Members map[string]MemberTasks
	// Moves are the tasks kept on a caught-up process while the process the
	// balanced assignment wants them on catches up (KIP-441), sorted by task. A
	// non-empty list asks for a probing rebalance.
	Moves []TaskMove
}

// MemberTasks are the tasks of one member (stream thread), each list sorted.
type MemberTasks struct {
	Active  []TaskID
	Standby []TaskID
	// Warmup are replicas of tasks moving to this member's process, kept warm
	// until they are caught up; like standbys they are fed from the changelogs.
	Warmup []TaskID
}

// TaskMove is a task waiting for its new process to catch up.
type TaskMove struct {
	Task TaskID
	// From is the caught-up process that keeps the task meanwhile; To is where the
	// balanced assignment wants it.
	From, To string
}

const infiniteLag = math.MaxInt64

// PlanAssignment assigns active, standby and warm-up tasks to the members of in's
// clients (see the description at the top of this file). The same input always gives
// the same plan.
func PlanAssignment(in AssignmentInput) AssignmentPlan {
	out := AssignmentPlan{Members: map[string]MemberTasks{}}
	// Clients in process-id order, without memberless ones.
	clients := make([]AssignmentClient, 0, len(in.Clients))
	for _, c := range in.Clients {
		if len(c.Members) > 0 {
			clients = append(clients, c)
		}
		for _, m := range c.Members {
			out.Members[m.ID] = MemberTasks{}
		}
	}
	sort.SliceStable(clients, func(i, j int) bool { return clients[i].ProcessID < clients[j].ProcessID })
	if len(clients) == 0 {
		return out
	}
	tasks := SortedTasks(in.Tasks)
	exists := make(map[TaskID]bool, len(tasks))
	for _, t := range tasks {
		exists[t] = true
	}
	n := len(clients)
	caps := make([]int, n)
	totalCap := 0
	prevActive := make([]map[TaskID]bool, n)
	for i, c := range clients {
		caps[i] = len(c.Members)
		totalCap += caps[i]
		prevActive[i] = map[TaskID]bool{}
		for _, m := range c.Members {
			for _, t := range m.PrevTasks {
				if exists[t] {
					prevActive[i][t] = true
				}
			}
		}
	}
	// The process running a task now: the first in order to claim it.
	prevOwner := map[TaskID]int{}
	for i := range clients {
		for _, t := range tasks {
			if _, ok := prevOwner[t]; !ok && prevActive[i][t] {
				prevOwner[t] = i
			}
		}
	}
	lag := func(i int, t TaskID) int64 {
		if !in.Stateful[t] || prevActive[i][t] {
			return 0
		}
		if l, ok := clients[i].Lags[t]; ok {
			return max(l, 0)
		}
		return infiniteLag
	}
	caughtUp := func(i int, t TaskID) bool { return lag(i, t) <= max(in.AcceptableRecoveryLag, 0) }
	// lighter reports whether a's load ratio is below b's (loads la, lb).
	lighter := func(la, a, lb, b int) bool { return la*caps[b] < lb*caps[a] }

	// 1. Ideal active placement: stateful tasks first, spread evenly on
	// their own (as Kafka Streams does, so that state is spread and not
	// only task counts), then stateless tasks evening out the totals.
	owner := make(map[TaskID]int, len(tasks))
	load := make([]int, n)
	var stateful, stateless []TaskID
	for _, t := range tasks {
		if in.Stateful[t] {
			stateful = append(stateful, t)
		} else {
			stateless = append(stateless, t)
		}
	}
	placed := 0
	place := func(subset []TaskID) {
		total := placed + len(subset)
		placed = total
		quota := func(i int) int { return (total*caps[i] + totalCap - 1) / totalCap }
		for i := range clients {
			for _, t := range subset {
				if prevActive[i][t] && load[i] < quota(i) {
					if _, taken := owner[t]; !taken {
						owner[t] = i
						load[i]++
					}
				}
			}
		}
		for _, t := range subset {
			if _, ok := owner[t]; ok {
				continue
			}
			best := -1
			for i := range clients {
				if load[i] >= quota(i) {
					continue
				}
				if best < 0 || betterHome(i, best, caughtUp(i, t), caughtUp(best, t), lag(i, t), lag(best, t), lighter(load[i], i, load[best], best), lighter(load[best], best, load[i], i)) {
					best = i
				}
			}
			if best < 0 { // cannot happen: the quotas add up to at least total
				best = 0
			}
			owner[t] = best
			load[best]++
		}
		for iter := 0; iter <= len(subset)*n; iter++ {
			hi, lo := 0, 0
			for i := range clients {
				if lighter(load[hi], hi, load[i], i) {
					hi = i
				}
				if lighter(load[i], i, load[lo], lo) {
					lo = i
				}
			}
			// Move only if lo stays below hi's current ratio: load[hi]/caps[hi] > (load[lo]+1)/caps[lo].
			if load[hi]*caps[lo] <= (load[lo]+1)*caps[hi] {
				break
			}
			move, found := TaskID{}, false
			for j := len(subset) - 1; j >= 0; j-- {
				t := subset[j]
				if owner[t] != hi {
					continue
				}
				if !found || betterMove(caughtUp(lo, t), caughtUp(lo, move), lag(lo, t), lag(lo, move)) {
					move, found = t, true
				}
			}
			if !found {
				break
			}
			owner[move] = lo
			load[hi]--
			load[lo]++
		}
	}
	place(stateful)
	place(stateless)

	// 2. KIP-441: keep tasks where their state is until the new owner catches up.
	target := map[TaskID]int{}
	for _, t := range tasks {
		if !in.Stateful[t] {
			continue
		}
		ideal := owner[t]
		if caughtUp(ideal, t) {
			continue
		}
		var cands []int
		for i := range clients {
			if caughtUp(i, t) {
				cands = append(cands, i)
			}
		}
		if len(cands) == 0 {
			// Nobody is caught up: the least lag wins, if it is not the ideal one.
			least := int64(infiniteLag)
			for i := range clients {
				least = min(least, lag(i, t))
			}
			if lag(ideal, t) == least {
				continue
			}
			for i := range clients {
				if lag(i, t) == least {
					cands = append(cands, i)
				}
			}
		}
		holder := -1
		if po, ok := prevOwner[t]; ok {
			for _, c := range cands {
				if c == po {
					holder = po
				}
			}
		}
		if holder < 0 {
			for _, c := range cands {
				if holder < 0 || lag(c, t) < lag(holder, t) || lag(c, t) == lag(holder, t) && lighter(load[c], c, load[holder], holder) {
					holder = c
				}
			}
		}
		owner[t] = holder
		load[ideal]--
		load[holder]++
		target[t] = ideal
		out.Moves = append(out.Moves, TaskMove{Task: t, From: clients[holder].ProcessID, To: clients[ideal].ProcessID})
	}

	// 3. Standby replicas on other processes.
	replicas := make([]map[TaskID]bool, n) // standbys and warm-ups per process
	warm := make([]map[TaskID]bool, n)
	total := append([]int(nil), load...) // actives + replicas
	for i := range clients {
		replicas[i] = map[TaskID]bool{}
		warm[i] = map[TaskID]bool{}
	}
	need := min(in.NumStandbys, n-1)
	for _, t := range tasks {
		if !in.Stateful[t] {
			continue
		}
		tgt, moving := target[t]
		for k := 0; k < need; k++ {
			best := -1
			for i := range clients {
				if i == owner[t] || replicas[i][t] {
					continue
				}
				if best < 0 || betterReplica(i, best, moving && i == tgt, moving && best == tgt, caughtUp(i, t), caughtUp(best, t),
					lighter(total[i], i, total[best], best), lighter(total[best], best, total[i], i), lag(i, t), lag(best, t)) {
					best = i
				}
			}
			if best < 0 {
				break
			}
			replicas[best][t] = true
			total[best]++
		}
	}

	// 4. Warm-up replicas where moving tasks have none.
	budget := max(in.MaxWarmups, 0)
	for _, mv := range out.Moves {
		i := target[mv.Task]
		if replicas[i][mv.Task] || budget == 0 {
			continue
		}
		replicas[i][mv.Task] = true
		warm[i][mv.Task] = true
		total[i]++
		budget--
	}

	// 5. Threads.
	for i, c := range clients {
		members := append([]AssignmentMember(nil), c.Members...)
		sort.SliceStable(members, func(a, b int) bool { return members[a].ID < members[b].ID })
		var actives, reps []TaskID
		for _, t := range tasks {
			if owner[t] == i {
				actives = append(actives, t)
			}
			if replicas[i][t] {
				reps = append(reps, t)
			}
		}
		act := spreadTasks(actives, members, func(m AssignmentMember) [][]TaskID { return [][]TaskID{m.PrevTasks, m.PrevStandbys} })
		rep := spreadTasks(reps, members, func(m AssignmentMember) [][]TaskID { return [][]TaskID{m.PrevStandbys, m.PrevTasks} })
		for k, m := range members {
			mt := MemberTasks{Active: act[k]}
			for _, t := range rep[k] {
				if warm[i][t] {
					mt.Warmup = append(mt.Warmup, t)
				} else {
					mt.Standby = append(mt.Standby, t)
				}
			}
			out.Members[m.ID] = mt
		}
	}
	return out
}

// betterHome orders processes for a task without an owner: caught up, then least lag,
// then lightest, then the earlier (b is the earlier one).
func betterHome(_, _ int, aCaught, bCaught bool, aLag, bLag int64, aLighter, bLighter bool) bool {
	if aCaught != bCaught {
		return aCaught
	}
	if aLag != bLag {
		return aLag < bLag
	}
	return aLighter && !bLighter
}

// betterMove orders the tasks a loaded process could hand to a lighter one: those the
// lighter one is caught up on, then by its lag; ties keep the first seen (the highest
// task id).
func betterMove(aCaught, bCaught bool, aLag, bLag int64) bool {
	if aCaught != bCaught {
		return aCaught
	}
	return aLag < bLag
}

// betterReplica orders processes for a standby: where the task is moving, then caught
// up, then lightest, then least lag, then the earlier (b).
func betterReplica(_, _ int, aTarget, bTarget, aCaught, bCaught, aLighter, bLighter bool, aLag, bLag int64) bool {
	if aTarget != bTarget {
		return aTarget
	}
	if aCaught != bCaught {
		return aCaught
	}
	if aLighter != bLighter {
		return aLighter
	}
	return aLag < bLag
}

// SortedTasks returns a sorted copy of in without duplicates.
func SortedTasks(in []TaskID) []TaskID {
	out := append([]TaskID(nil), in...)
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	k := 0
	for i, t := range out {
		if i == 0 || t != out[k-1] {
			out[k] = t
			k++
		}
	}
	return out[:k]
}

// spreadTasks gives tasks (sorted) to members evenly: each member first keeps the tasks
// it claims, tier by tier (claims(m) lists them, best tier first), up to an even share;
// the rest go to the least loaded; then loads are evened to within one. The result is
// indexed like members, each list sorted.
func spreadTasks(tasks []TaskID, members []AssignmentMember, claims func(AssignmentMember) [][]TaskID) [][]TaskID {
	out := make([][]TaskID, len(members))
	if len(members) == 0 {
		return out
	}
	in := make(map[TaskID]bool, len(tasks))
	for _, t := range tasks {
		in[t] = true
	}
	share := (len(tasks) + len(members) - 1) / len(members)
	owner := make(map[TaskID]int, len(tasks))
	load := make([]int, len(members))
	tiers := make([][][]TaskID, len(members))
	depth := 0
	for i, m := range members {
		tiers[i] = claims(m)
		depth = max(depth, len(tiers[i]))
	}
	for tier := 0; tier < depth; tier++ {
		for i := range members {
			if tier >= len(tiers[i]) {
				continue
			}
			for _, t := range SortedTasks(tiers[i][tier]) {
				if load[i] >= share {
					break
				}
				if _, taken := owner[t]; taken || !in[t] {
					continue
				}
				owner[t] = i
				load[i]++
			}
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
	for _, t := range tasks {
		if _, ok := owner[t]; ok {
			continue
		}
		i := leastLoaded()
		owner[t] = i
		load[i]++
	}
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
		moved := false
		for j := len(tasks) - 1; j >= 0; j-- {
			if owner[tasks[j]] == hi {
				owner[tasks[j]] = lo
				moved = true
				break
			}
		}
		if !moved {
			break
		}
		load[hi]--
		load[lo]++
	}
	for _, t := range tasks {
		out[owner[t]] = append(out[owner[t]], t)
	}
	return out
}
