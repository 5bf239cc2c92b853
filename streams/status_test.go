package streams_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// TestStatus checks App.Status on a running word count: this instance,
// its threads, every task running with its partitions, input lags that
// reach 0 once the input is processed, and changelog lags of 0.
func TestStatus(t *testing.T) {
	br := startBrokerlite(t)
	in, out := "status-in", "status-out"
	topo := exampleWordCount(t, br.addrs, in, out)
	app, err := streams.New(topo, streams.Properties{"application.id": "status", "bootstrap.servers": br.addrs[0]})
	must(t, err)
	if _, err := app.Status(context.Background()); err == nil {
		t.Fatal("Status before Start: no error")
	}
	app = startApp(t, topo, streams.Properties{
		"application.id": "status", "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
		"commit.interval.ms": "100", "num.stream.threads": "2", "application.server": "127.0.0.1:7070",
	})
	var recs []*kgo.Record
	for i := 0; i < 300; i++ {
		recs = append(recs, &kgo.Record{Topic: in, Value: []byte(scaleWords[i%len(scaleWords)] + " " + scaleWords[(i*7)%len(scaleWords)])})
	}
	produce(t, br.addrs, recs...)
	var st streams.Status
	if !testutil.Poll(60*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var err error
		st, err = app.Status(ctx)
		cancel()
		must(t, err)
		if len(st.Instances) == 0 || !st.Instances[0].Local {
			t.Fatalf("no local instance first: %+v", st)
		}
		local := st.Instances[0]
		ok := st.State == streams.StateRunning && len(local.Active) == 4 && len(local.Threads) == 2
		var inputLag int64
		for _, ts := range local.Active {
			if ts.State != streams.TaskRunning || ts.ChangelogLag != 0 || len(ts.Partitions) != 1 || len(ts.Threads) != 1 || ts.InputLag < 0 {
				ok = false
			}
			inputLag += ts.InputLag
		}
		return ok && inputLag == 0
	}) {
		t.Fatalf("status never showed 4 running tasks with no lag:\n%s", st)
	}
	if local := st.Instances[0]; local.Endpoint != "127.0.0.1:7070" {
		t.Errorf("endpoint %q", local.Endpoint)
	}
	s := st.String()
	for _, want := range []string{"application status: RUNNING", "instance 127.0.0.1:7070 (this instance, threads status-StreamThread-1, status-StreamThread-2): 4 active", "active  1_1 on status-StreamThread-", "RUNNING, input lag 0, changelog lag 0"} {
		if !strings.Contains(s, want) {
			t.Errorf("status text lacks %q:\n%s", want, s)
		}
	}
}

// TestStatusTwoInstances runs two instances with application.server and
// one standby replica: each one's Status lists itself in detail and the
// other from the assignment metadata, every task is active on exactly one
// of them, and each stateful task has a standby on the instance that does
// not run it, with a known changelog lag.
func TestStatusTwoInstances(t *testing.T) {
	br := startBrokerlite(t)
	in, out := "status2-in", "status2-out"
	topo := exampleWordCount(t, br.addrs, in, out)
	props := func(server string) streams.Properties {
		return streams.Properties{
			"application.id": "status2", "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
			"commit.interval.ms": "100", "application.server": server, "num.standby.replicas": "1",
		}
	}
	apps := []*streams.App{startApp(t, topo, props("127.0.0.1:7001")), startApp(t, topo, props("127.0.0.1:7002"))}
	var recs []*kgo.Record
	for i := 0; i < 200; i++ {
		recs = append(recs, &kgo.Record{Topic: in, Value: []byte(scaleWords[i%len(scaleWords)])})
	}
	produce(t, br.addrs, recs...)
	sts := make([]streams.Status, 2)
	if !testutil.Poll(90*time.Second, func() bool {
		for i, app := range apps {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			st, err := app.Status(ctx)
			cancel()
			must(t, err)
			sts[i] = st
		}
		return statusSettled(sts)
	}) {
		t.Fatalf("status never settled:\n%s%s", sts[0], sts[1])
	}
	t.Logf("%s%s", sts[0], sts[1])
}

// statusSettled checks two instances' views: both RUNNING, each sees both
// instances, the four tasks active once overall and the same on both
// views, and both stateful tasks (sub-topology 1) standing by on the
// instance not running them, with a known lag.
func statusSettled(sts []streams.Status) bool {
	for i, st := range sts {
		if st.State != streams.StateRunning || len(st.Instances) != 2 || !st.Instances[0].Local || st.Instances[1].Local {
			return false
		}
		other := sts[1-i]
		// What this one says about the other matches the other's own view.
		if fmt.Sprint(taskIDs(st.Instances[1].Active)) != fmt.Sprint(taskIDs(other.Instances[0].Active)) ||
			fmt.Sprint(taskIDs(st.Instances[1].Standby)) != fmt.Sprint(taskIDs(other.Instances[0].Standby)) {
			return false
		}
	}
	active := map[string]int{}
	for _, st := range sts {
		local := st.Instances[0]
		for _, ts := range local.Active {
			active[ts.ID.String()]++
			if ts.State != streams.TaskRunning {
				return false
			}
		}
		for _, ts := range local.Standby {
			if ts.ChangelogLag < 0 {
				return false
			}
			for _, a := range local.Active {
				if a.ID == ts.ID {
					return false // never a standby where the task runs
				}
			}
		}
		if len(local.Standby) != 2-countSub(local.Active, 1) {
			return false
		}
	}
	return len(active) == 4 && active["0_0"] == 1 && active["0_1"] == 1 && active["1_0"] == 1 && active["1_1"] == 1
}

func taskIDs(ts []streams.TaskStatus) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID.String()
	}
	return out
}

func countSub(ts []streams.TaskStatus, sub int) int {
	n := 0
	for _, t := range ts {
		if t.ID.Subtopology == sub {
			n++
		}
	}
	return n
}
