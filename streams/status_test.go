package streams_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/examples/wordcount/wordcount"
	"github.com/rivulet-io/rivulet/streams"
)

// TestStatus checks App.Status on a running word count: this instance,
// its threads, every task running with its partitions, input lags that
// reach 0 once the input is processed, and changelog lags of 0.
func TestStatus(t *testing.T) {
	br := startBrokerlite(t)
	in, out := "status-in", "status-out"
	createTopic(t, br.addrs, 2, in, out)
	topo, err := wordcount.Topology(wordcount.Options{InputTopic: in, OutputTopic: out})
	must(t, err)
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
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, err := app.Status(ctx)
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
		if ok && inputLag == 0 {
			if local.Endpoint != "127.0.0.1:7070" {
				t.Errorf("endpoint %q", local.Endpoint)
			}
			s := st.String()
			for _, want := range []string{"application status: RUNNING", "instance 127.0.0.1:7070 (this instance, threads status-StreamThread-1, status-StreamThread-2): 4 active", "active  1_1 on status-StreamThread-", "RUNNING, input lag 0, changelog lag 0"} {
				if !strings.Contains(s, want) {
					t.Errorf("status text lacks %q:\n%s", want, s)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed 4 running tasks with no lag:\n%s", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
