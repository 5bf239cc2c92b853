package assignor

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestPlanAssignmentScripts runs testdata/assign_ha. A "plan" command takes
// arguments tasks=, stateful= (task lists; stateful defaults to every
// task), standbys=, lag= (acceptable.recovery.lag, default 10000) and
// warmups= (max.warmup.replicas, default 2). Input lines are either a
// member, "<process>/<member>: [active=<tasks>] [standby=<tasks>]", or the
// lags of a process's state, "lags <process>: <task>=<lag> ...". The
// output lists each member's active, standby and warm-up tasks, then the
// moves that wait for a warm-up.
func TestPlanAssignmentScripts(t *testing.T) {
	datadriven.RunTest(t, "testdata/assign_ha", func(t *testing.T, d *datadriven.TestData) string {
		if d.Cmd != "plan" {
			d.Fatalf(t, "unknown command %s", d.Cmd)
		}
		in := AssignmentInput{AcceptableRecoveryLag: 10000, MaxWarmups: 2}
		var stateful []TaskID
		statefulSet := false
		for _, arg := range d.CmdArgs {
			switch arg.Key {
			case "tasks":
				for _, v := range arg.Vals {
					in.Tasks = append(in.Tasks, parseTasks(t, v)...)
				}
			case "stateful":
				statefulSet = true
				for _, v := range arg.Vals {
					stateful = append(stateful, parseTasks(t, v)...)
				}
			case "standbys":
				in.NumStandbys = atoiArg(t, d, arg.Vals)
			case "lag":
				in.AcceptableRecoveryLag = int64(atoiArg(t, d, arg.Vals))
			case "warmups":
				in.MaxWarmups = atoiArg(t, d, arg.Vals)
			default:
				d.Fatalf(t, "unknown argument %s", arg.Key)
			}
		}
		if !statefulSet {
			stateful = in.Tasks
		}
		in.Stateful = map[TaskID]bool{}
		for _, tk := range stateful {
			in.Stateful[tk] = true
		}
		clients := map[string]*AssignmentClient{}
		var order []string // members in input order, for the output
		client := func(p string) *AssignmentClient {
			if clients[p] == nil {
				clients[p] = &AssignmentClient{ProcessID: p, Lags: map[TaskID]int64{}}
			}
			return clients[p]
		}
		for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			head, rest, _ := strings.Cut(line, ":")
			if p, ok := strings.CutPrefix(head, "lags "); ok {
				c := client(strings.TrimSpace(p))
				for _, f := range strings.Fields(rest) {
					k, v, _ := strings.Cut(f, "=")
					id, err := parseTaskIDForTest(k)
					if err != nil {
						d.Fatalf(t, "%v", err)
					}
					l, err := strconv.ParseInt(v, 10, 64)
					if err != nil {
						d.Fatalf(t, "%v", err)
					}
					c.Lags[id] = l
				}
				continue
			}
			p, id, ok := strings.Cut(strings.TrimSpace(head), "/")
			if !ok {
				d.Fatalf(t, "want <process>/<member>: %q", line)
			}
			m := AssignmentMember{ID: id}
			for _, f := range strings.Fields(rest) {
				k, v, _ := strings.Cut(f, "=")
				switch k {
				case "active":
					m.PrevTasks = parseTasks(t, v)
				case "standby":
					m.PrevStandbys = parseTasks(t, v)
				default:
					d.Fatalf(t, "unknown member field %q", k)
				}
			}
			c := client(p)
			c.Members = append(c.Members, m)
			order = append(order, p+"/"+id)
		}
		for _, c := range clients {
			in.Clients = append(in.Clients, *c)
		}
		sort.Slice(in.Clients, func(i, j int) bool { return in.Clients[i].ProcessID > in.Clients[j].ProcessID }) // order must not matter
		plan := PlanAssignment(in)
		if again := PlanAssignment(in); !reflect.DeepEqual(plan, again) {
			d.Fatalf(t, "not deterministic:\n%+v\n%+v", plan, again)
		}
		var b strings.Builder
		list := func(name string, ts []TaskID) {
			if len(ts) == 0 {
				return
			}
			s := make([]string, len(ts))
			for i, tk := range ts {
				s[i] = tk.String()
			}
			fmt.Fprintf(&b, " %s=%s", name, strings.Join(s, ","))
		}
		for _, pm := range order {
			_, id, _ := strings.Cut(pm, "/")
			mt := plan.Members[id]
			b.WriteString(pm + ":")
			list("active", mt.Active)
			list("standby", mt.Standby)
			list("warmup", mt.Warmup)
			b.WriteString("\n")
		}
		for _, mv := range plan.Moves {
			fmt.Fprintf(&b, "move %s: stays on %s, warming up on %s\n", mv.Task, mv.From, mv.To)
		}
		return b.String()
	})
}

func atoiArg(t *testing.T, d *datadriven.TestData, vals []string) int {
	if len(vals) != 1 {
		d.Fatalf(t, "want one value, got %v", vals)
	}
	n, err := strconv.Atoi(vals[0])
	if err != nil {
		d.Fatalf(t, "%v", err)
	}
	return n
}

// TestPlanAssignmentProperties checks random inputs against the rules every
// plan must keep: each task active exactly once; no replica on its active's
// process, none twice on one process; every stateful task gets
// min(standbys, processes-1) standbys; warm-ups within max.warmup.replicas;
// a move only away from a process that is not caught up, to one that is (or
// to the least lag); when nothing moves, thread loads within one of each
// other; the same input giving the same plan, whatever the client order.
// The seed is printed on failure.
func TestPlanAssignmentProperties(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 1))
	iters := 2000
	if testing.Short() {
		iters = 300
	}
	for iter := 0; iter < iters; iter++ {
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d iter %d: %s", seed, iter, fmt.Sprintf(format, args...))
		}
		in := AssignmentInput{
			NumStandbys:           r.IntN(3),
			AcceptableRecoveryLag: int64(r.IntN(3)) * 100,
			MaxWarmups:            r.IntN(4),
			Stateful:              map[TaskID]bool{},
		}
		subs, parts := 1+r.IntN(3), 1+r.IntN(8)
		for s := 0; s < subs; s++ {
			for p := 0; p < parts; p++ {
				tk := TaskID{Subtopology: s, Partition: int32(p)}
				in.Tasks = append(in.Tasks, tk)
				if r.IntN(3) > 0 {
					in.Stateful[tk] = true
				}
			}
		}
		allCaught := r.IntN(3) == 0
		nc := 1 + r.IntN(4)
		member := 0
		for c := 0; c < nc; c++ {
			cl := AssignmentClient{ProcessID: fmt.Sprintf("p%d", c), Lags: map[TaskID]int64{}}
			for k := 1 + r.IntN(3); k > 0; k-- {
				m := AssignmentMember{ID: fmt.Sprintf("m%02d", member)}
				member++
				for _, tk := range in.Tasks {
					switch r.IntN(nc * 3) {
					case 0:
						m.PrevTasks = append(m.PrevTasks, tk)
					case 1:
						m.PrevStandbys = append(m.PrevStandbys, tk)
					}
				}
				cl.Members = append(cl.Members, m)
			}
			for _, tk := range in.Tasks {
				switch {
				case allCaught:
					cl.Lags[tk] = 0
				case r.IntN(2) == 0:
					cl.Lags[tk] = int64(r.IntN(400))
				}
			}
			in.Clients = append(in.Clients, cl)
		}
		plan := PlanAssignment(in)
		shuffled := in
		shuffled.Clients = append([]AssignmentClient(nil), in.Clients...)
		r.Shuffle(len(shuffled.Clients), func(i, j int) { shuffled.Clients[i], shuffled.Clients[j] = shuffled.Clients[j], shuffled.Clients[i] })
		if again := PlanAssignment(shuffled); !reflect.DeepEqual(plan, again) {
			fail("client order changed the plan")
		}
		processOf := map[string]string{}
		for _, c := range in.Clients {
			for _, m := range c.Members {
				processOf[m.ID] = c.ProcessID
			}
		}
		activeOn := map[TaskID]string{}
		replicasOn := map[TaskID]map[string]int{}
		standbys := map[TaskID]int{}
		warmups := 0
		minLoad, maxLoad := len(in.Tasks), 0
		for id, mt := range plan.Members {
			p := processOf[id]
			minLoad, maxLoad = min(minLoad, len(mt.Active)), max(maxLoad, len(mt.Active))
			for _, tk := range mt.Active {
				if _, dup := activeOn[tk]; dup {
					fail("%s active twice", tk)
				}
				activeOn[tk] = p
			}
			for _, tk := range append(append([]TaskID(nil), mt.Standby...), mt.Warmup...) {
				if !in.Stateful[tk] {
					fail("replica of stateless %s", tk)
				}
				if replicasOn[tk] == nil {
					replicasOn[tk] = map[string]int{}
				}
				replicasOn[tk][p]++
			}
			for _, tk := range mt.Standby {
				standbys[tk]++
			}
			warmups += len(mt.Warmup)
		}
		if len(activeOn) != len(in.Tasks) {
			fail("%d of %d tasks active", len(activeOn), len(in.Tasks))
		}
		for tk, ps := range replicasOn {
			for p, n := range ps {
				if n > 1 {
					fail("%s replicated twice on %s", tk, p)
				}
				if p == activeOn[tk] {
					fail("%s has a replica on its active process %s", tk, p)
				}
			}
		}
		for tk := range in.Stateful {
			if want := min(in.NumStandbys, nc-1); standbys[tk] != want {
				fail("%s has %d standbys, want %d", tk, standbys[tk], want)
			}
		}
		if warmups > in.MaxWarmups {
			fail("%d warm-ups, max %d", warmups, in.MaxWarmups)
		}
		if allCaught && len(plan.Moves) > 0 {
			fail("moves though every process is caught up: %+v", plan.Moves)
		}
		if len(plan.Moves) == 0 && maxLoad-minLoad > 1 {
			fail("thread loads from %d to %d with no move pending", minLoad, maxLoad)
		}
		for _, mv := range plan.Moves {
			if activeOn[mv.Task] != mv.From {
				fail("move %+v: active on %s", mv, activeOn[mv.Task])
			}
		}
	}
}

// TestPlanAssignmentConverges plays rebalances: after each plan, replicas
// catch up and the next plan starts from it, until no move is pending. A
// new process must receive its share within a few probing rounds, and the
// final plan must be stable.
func TestPlanAssignmentConverges(t *testing.T) {
	var tasks []TaskID
	for p := int32(0); p < 12; p++ {
		tasks = append(tasks, TaskID{Subtopology: 0, Partition: p}, TaskID{Subtopology: 1, Partition: p})
	}
	stateful := map[TaskID]bool{}
	for _, tk := range tasks {
		if tk.Subtopology == 1 {
			stateful[tk] = true
		}
	}
	for _, standbys := range []int{0, 1} {
		t.Run(fmt.Sprintf("standbys=%d", standbys), func(t *testing.T) {
			// One process ran everything; two new ones join, one with two threads.
			members := map[string][]AssignmentMember{
				"A": {{ID: "a1", PrevTasks: tasks}},
				"B": {{ID: "b1"}},
				"C": {{ID: "c1"}, {ID: "c2"}},
			}
			lags := map[string]map[TaskID]int64{"A": {}, "B": {}, "C": {}}
			for _, tk := range tasks {
				lags["B"][tk], lags["C"][tk] = 1e6, 1e6
			}
			var plan AssignmentPlan
			rounds := 0
			for ; rounds < 20; rounds++ {
				in := AssignmentInput{Tasks: tasks, Stateful: stateful, NumStandbys: standbys, AcceptableRecoveryLag: 100, MaxWarmups: 2}
				for _, p := range []string{"A", "B", "C"} {
					in.Clients = append(in.Clients, AssignmentClient{ProcessID: p, Members: members[p], Lags: lags[p]})
				}
				plan = PlanAssignment(in)
				if len(plan.Moves) == 0 {
					break
				}
				// Replicas catch up before the probing rebalance.
				for p, ms := range members {
					for i := range ms {
						mt := plan.Members[ms[i].ID]
						ms[i].PrevTasks = mt.Active
						ms[i].PrevStandbys = append(append([]TaskID(nil), mt.Standby...), mt.Warmup...)
						for _, tk := range ms[i].PrevStandbys {
							lags[p][tk] = 0
						}
					}
				}
			}
			if len(plan.Moves) > 0 {
				t.Fatalf("still moving after %d rounds: %+v", rounds, plan.Moves)
			}
			loads := map[string]int{}
			for id, mt := range plan.Members {
				loads[id] = len(mt.Active)
			}
			for id, n := range loads {
				if n != 6 {
					t.Errorf("%s runs %d tasks, want 6 (24 tasks over 4 threads): %v", id, n, loads)
				}
			}
			t.Logf("converged after %d probing rounds", rounds)
		})
	}
}
