package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestStreamsResetCLI drives `rivulet streams reset` and `describe` as a
// user types them: refused with a message while the application's group
// has a member, a dry run that changes nothing, the reset, and the lag
// before and after.
func TestStreamsResetCLI(t *testing.T) {
	br := startBrokerProc(t, t.TempDir())
	const app, in = "cli-app", "cli-app-input"
	mustCLI(t, "", "topics", "--bootstrap-server", br.addr, "--create", "--topic", in, "--partitions", "1")
	mustCLI(t, "a\nb\nc\n", "produce", "--bootstrap-server", br.addr, "--topic", in)
	mustCLI(t, "", "topics", "--bootstrap-server", br.addr, "--create", "--topic", app+"-counts-changelog", "--partitions", "1")

	// A member of the application's group consumes and commits everything.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(br.addr), kgo.ConsumerGroup(app), kgo.ConsumeTopics(in), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 3; {
		n += len(cl.PollFetches(ctx).Records())
		if ctx.Err() != nil {
			t.Fatal("the member consumed nothing")
		}
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	expectCLI(t, 1, "still active", "", "streams", "reset", "--bootstrap-server", br.addr, "--application-id", app, "--input-topics", in)
	res := mustCLI(t, "", "streams", "describe", "--bootstrap-server", br.addr, "--application-id", app)
	if !strings.Contains(res.stdout, "group state Stable, 1 members") || !strings.Contains(res.stdout, in) {
		t.Fatalf("describe of the running app:\n%s", res)
	}
	cl.Close() // leaves the group

	res = mustCLI(t, "", "streams", "reset", "--bootstrap-server", br.addr, "--application-id", app, "--input-topics", in, "--dry-run")
	if !strings.Contains(res.stdout, "Would reset (dry run) input topic offsets") || !strings.Contains(res.stdout, "Would delete (dry run) internal topics: "+app+"-counts-changelog") {
		t.Fatalf("dry run:\n%s", res)
	}
	res = mustCLI(t, "", "streams", "describe", "--bootstrap-server", br.addr, "--application-id", app)
	if !strings.Contains(res.stdout, "LAG") || !strings.Contains(res.stdout, "3                3                0") {
		t.Fatalf("describe after the dry run (committed 3, end 3, lag 0):\n%s", res)
	}
	res = mustCLI(t, "", "streams", "reset", "--bootstrap-server", br.addr, "--application-id", app, "--input-topics", in)
	if !strings.Contains(res.stdout, "Deleted internal topics: "+app+"-counts-changelog") {
		t.Fatalf("reset:\n%s", res)
	}
	res = mustCLI(t, "", "streams", "describe", "--bootstrap-server", br.addr, "--application-id", app)
	if !strings.Contains(res.stdout, "0                3                3") {
		t.Fatalf("describe after the reset (committed 0, end 3, lag 3):\n%s", res)
	}
	expectCLI(t, 2, "--application-id is required", "", "streams", "reset", "--bootstrap-server", br.addr)
	if res := mustCLI(t, "", "streams", "reset", "--help"); !strings.Contains(res.stdout, "Examples:") {
		t.Errorf("reset --help has no example:\n%s", res)
	}
}
