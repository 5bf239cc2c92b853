package assignor

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// TestAssignTasksScripts runs testdata/assign: each "assign" command lists
// the tasks ("tasks=0_0,0_1") and, one per line, the members in group order
// with the tasks they ran before ("a: 0_0 1_0"); the output is the
// assignment.
func TestAssignTasksScripts(t *testing.T) {
	datadriven.RunTest(t, "testdata/assign", func(t *testing.T, d *datadriven.TestData) string {
		switch d.Cmd {
		case "assign":
			var tasks []TaskID
			for _, arg := range d.CmdArgs {
				if arg.Key != "tasks" {
					d.Fatalf(t, "unknown argument %s", arg.Key)
				}
				for _, v := range arg.Vals {
					tasks = append(tasks, parseTasks(t, v)...)
				}
			}
			var members []AssignmentMember
			for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
				if line == "" {
					continue
				}
				id, prev, _ := strings.Cut(line, ":")
				members = append(members, AssignmentMember{ID: strings.TrimSpace(id), PrevTasks: parseTasks(t, prev)})
			}
			out := AssignTasks(tasks, members)
			var b strings.Builder
			for _, m := range members {
				fmt.Fprintf(&b, "%s:", m.ID)
				for _, id := range out[m.ID] {
					fmt.Fprintf(&b, " %s", id)
				}
				b.WriteString("\n")
			}
			return b.String()
		default:
			d.Fatalf(t, "unknown command %s", d.Cmd)
			return ""
		}
	})
}

func parseTasks(t *testing.T, s string) []TaskID {
	var out []TaskID
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		id, err := parseTaskIDForTest(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

func parseTaskIDForTest(s string) (TaskID, error) {
	var id TaskID
	_, err := fmt.Sscanf(s, "%d_%d", &id.Subtopology, &id.Partition)
	return id, err
}

// TestAssignTasksProperties checks random inputs: every task assigned once,
// loads within one of each other, previous owners kept when that keeps the
// balance, and the same input giving the same output. The seed is printed
// on failure.
func TestAssignTasksProperties(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 0))
	for iter := 0; iter < 500; iter++ {
		var tasks []TaskID
		subs, parts := 1+r.IntN(4), 1+r.IntN(8)
		for s := 0; s < subs; s++ {
			for p := 0; p < parts; p++ {
				tasks = append(tasks, TaskID{Subtopology: s, Partition: int32(p)})
			}
		}
		nm := 1 + r.IntN(6)
		members := make([]AssignmentMember, nm)
		for i := range members {
			members[i].ID = fmt.Sprintf("m%d", i)
			for _, tk := range tasks {
				if r.IntN(nm+1) == 0 {
					members[i].PrevTasks = append(members[i].PrevTasks, tk)
				}
			}
			// Sometimes a stale task that no longer exists.
			if r.IntN(5) == 0 {
				members[i].PrevTasks = append(members[i].PrevTasks, TaskID{Subtopology: 99, Partition: 1})
			}
		}
		out := AssignTasks(tasks, members)
		again := AssignTasks(tasks, members)
		if !reflect.DeepEqual(out, again) {
			t.Fatalf("seed %d iter %d: not deterministic", seed, iter)
		}
		seen := map[TaskID]string{}
		min, max := len(tasks), 0
		for _, m := range members {
			n := len(out[m.ID])
			if n < min {
				min = n
			}
			if n > max {
				max = n
			}
			for _, tk := range out[m.ID] {
				if o, dup := seen[tk]; dup {
					t.Fatalf("seed %d iter %d: %s given to %s and %s", seed, iter, tk, o, m.ID)
				}
				seen[tk] = m.ID
			}
		}
		if len(seen) != len(tasks) {
			t.Fatalf("seed %d iter %d: %d of %d tasks assigned", seed, iter, len(seen), len(tasks))
		}
		if max-min > 1 {
			t.Fatalf("seed %d iter %d: loads from %d to %d", seed, iter, min, max)
		}
		// Stickiness: a member that had no more previous tasks than the
		// smallest fair share keeps all of them when nobody else claimed them.
		floor := len(tasks) / nm
		claims := map[TaskID]int{}
		for _, m := range members {
			for _, tk := range m.PrevTasks {
				claims[tk]++
			}
		}
		for _, m := range members {
			exclusive := 0
			for _, tk := range m.PrevTasks {
				if claims[tk] == 1 && tk.Subtopology != 99 {
					exclusive++
				}
			}
			if exclusive > floor || exclusive != len(m.PrevTasks) {
				continue
			}
			for _, tk := range m.PrevTasks {
				if seen[tk] != m.ID {
					t.Fatalf("seed %d iter %d: %s lost %s though it fits its share", seed, iter, m.ID, tk)
				}
			}
		}
	}
}

func TestSubscriptionInfoRoundTrip(t *testing.T) {
	in := SubscriptionInfo{
		Version:           subscriptionVersion,
		ShutdownRequested: true,
		PrevTasks:         []TaskID{{Subtopology: 0, Partition: 1}, {Subtopology: 3, Partition: 200}},
		Rejoins:           7,
		PrevStandbys:      []TaskID{{Subtopology: 1, Partition: 4}},
		OffsetSums:        []TaskOffsetSum{{Task: TaskID{Subtopology: 0, Partition: 1}, Sum: OffsetSumRunning}, {Task: TaskID{Subtopology: 1, Partition: 4}, Sum: 1 << 40}},
		Endpoint:          "host-1:8080",
	}
	copy(in.ProcessID[:], "0123456789abcdef")
	out, err := DecodeSubscriptionInfo(EncodeSubscriptionInfo(in))
	if err != nil || !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	// Version 1 (a member not yet upgraded) still decodes.
	old := in
	old.Version = 1
	v1, err := DecodeSubscriptionInfo(EncodeSubscriptionInfo(old))
	if err != nil || v1.Version != 1 || !reflect.DeepEqual(v1.PrevTasks, in.PrevTasks) || v1.Rejoins != 7 || !v1.ShutdownRequested || v1.ProcessID != in.ProcessID {
		t.Fatalf("version 1: %+v, %v", v1, err)
	}
	enc := EncodeSubscriptionInfo(in)
	for _, bad := range [][]byte{nil, {1}, {2, 0}, append(enc, 0), enc[:len(enc)-1], append([]byte{3}, enc[1:]...)} {
		if _, err := DecodeSubscriptionInfo(bad); err == nil {
			t.Errorf("decoded %x", bad)
		}
	}
}

func TestAssignmentInfoRoundTrip(t *testing.T) {
	in := AssignmentInfo{
		Version:    AssignmentVersion,
		Followup:   true,
		ProbeAfter: 1500 * time.Millisecond,
		Standbys:   []TaskID{{Subtopology: 1, Partition: 2}},
		Hosts: []HostTasks{
			{Endpoint: "a:1", Active: []TaskID{{Subtopology: 0, Partition: 0}}, Standby: []TaskID{{Subtopology: 1, Partition: 2}}},
			{Endpoint: "b:2", Active: []TaskID{{Subtopology: 1, Partition: 2}}, Standby: []TaskID{}},
		},
	}
	out, err := DecodeAssignmentInfo(EncodeAssignmentInfo(in))
	if err != nil || !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	v1 := EncodeAssignmentInfo(AssignmentInfo{Version: 1, ShutdownApp: true, Followup: true, Standbys: in.Standbys})
	if !reflect.DeepEqual(v1, []byte{1, assignErrShutdownApp, flagFollowup}) {
		t.Fatalf("version 1 encoding %x", v1)
	}
	if got, err := DecodeAssignmentInfo(v1); err != nil || !got.ShutdownApp || !got.Followup || got.Version != 1 {
		t.Fatalf("version 1: %+v, %v", got, err)
	}
	enc := EncodeAssignmentInfo(in)
	for _, bad := range [][]byte{nil, {2, 0}, append(enc, 0), enc[:len(enc)-1], {9, 0, 0}, {1, 0, 0, 0}} {
		if _, err := DecodeAssignmentInfo(bad); err == nil {
			t.Errorf("decoded %x", bad)
		}
	}
}

func FuzzDecodeSubscriptionInfo(f *testing.F) {
	f.Add(EncodeSubscriptionInfo(SubscriptionInfo{}))
	f.Add(EncodeSubscriptionInfo(SubscriptionInfo{PrevTasks: []TaskID{{Subtopology: 1, Partition: 2}, {Subtopology: 0, Partition: 0}}, Rejoins: 3,
		PrevStandbys: []TaskID{{Subtopology: 2, Partition: 1}}, OffsetSums: []TaskOffsetSum{{Task: TaskID{Subtopology: 2, Partition: 1}, Sum: 99}}, Endpoint: "h:1"}))
	f.Add(EncodeSubscriptionInfo(SubscriptionInfo{Version: 1, PrevTasks: []TaskID{{Subtopology: 1, Partition: 2}}}))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSubscriptionInfo(b)
		if err != nil {
			return
		}
		back, err := DecodeSubscriptionInfo(EncodeSubscriptionInfo(s))
		if err != nil {
			t.Fatalf("%x: re-encoded %+v does not decode: %v", b, s, err)
		}
		back.Version = s.Version
		if s.Version == 1 {
			back.PrevStandbys, back.OffsetSums = s.PrevStandbys, s.OffsetSums
		}
		if !reflect.DeepEqual(s, back) {
			t.Fatalf("%x: %+v then %+v", b, s, back)
		}
	})
}

func FuzzDecodeAssignmentInfo(f *testing.F) {
	f.Add(EncodeAssignmentInfo(AssignmentInfo{}))
	f.Add(EncodeAssignmentInfo(AssignmentInfo{Version: 1, Followup: true}))
	f.Add(EncodeAssignmentInfo(AssignmentInfo{ProbeAfter: time.Second, Standbys: []TaskID{{Subtopology: 1, Partition: 0}},
		Hosts: []HostTasks{{Endpoint: "x:9", Active: []TaskID{{Subtopology: 0, Partition: 3}}}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAssignmentInfo(b)
		if err != nil {
			return
		}
		back, err := DecodeAssignmentInfo(EncodeAssignmentInfo(a))
		if err != nil || back.Version != a.Version || back.Followup != a.Followup || back.ShutdownApp != a.ShutdownApp || len(back.Hosts) != len(a.Hosts) {
			t.Fatalf("%x: %+v then %+v, %v", b, a, back, err)
		}
	})
}
