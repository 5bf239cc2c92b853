package assignor

import (
	"fmt"
	"testing"
)

// BenchmarkPlanAssignment measures the group leader's computation alone for 100
// instances of 2 threads and 1000 tasks (half stateful, one standby each),
// against AssignTasks (the plain sticky spread) on the same members as
// the baseline.
//
//	go test ./streams/internal/assignor/ -run '^$' -bench BenchmarkPlanAssignment
func BenchmarkPlanAssignment(b *testing.B) {
	var tasks []TaskID
	stateful := map[TaskID]bool{}
	for s := 0; s < 2; s++ {
		for p := int32(0); p < 500; p++ {
			t := TaskID{Subtopology: s, Partition: p}
			tasks = append(tasks, t)
			if s == 1 {
				stateful[t] = true
			}
		}
	}
	in := AssignmentInput{Tasks: tasks, Stateful: stateful, NumStandbys: 1, AcceptableRecoveryLag: 10000, MaxWarmups: 2}
	var flat []AssignmentMember
	for c := 0; c < 100; c++ {
		cl := AssignmentClient{ProcessID: fmt.Sprintf("p%03d", c), Lags: map[TaskID]int64{}}
		for th := 0; th < 2; th++ {
			m := AssignmentMember{ID: fmt.Sprintf("p%03d-t%d", c, th)}
			for i := c*10 + th*5; i < c*10+th*5+5; i++ {
				m.PrevTasks = append(m.PrevTasks, tasks[i])
			}
			cl.Members = append(cl.Members, m)
			flat = append(flat, m)
		}
		for i := 500 + c*5; i < 500+c*5+5; i++ {
			cl.Lags[tasks[i]] = 0
		}
		in.Clients = append(in.Clients, cl)
	}
	b.Run("AssignTasks-baseline", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			AssignTasks(tasks, flat)
		}
	})
	b.Run("PlanAssignment", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			PlanAssignment(in)
		}
	})
}
