package streams_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

// buildTestApp builds streams/internal/testapp once per test binary.
var buildTestApp = sync.OnceValues(func() (string, error) { return buildChildApp("testapp") })

type child struct {
	cmd *exec.Cmd
	out testutil.Buffer
}

func (c *child) output() string { return c.out.String() }

// startCmd starts cmd and, at the end of the test, kills it if it has not
// been waited for.
func startCmd(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	must(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
}

func startChild(t testing.TB, bin string, args ...string) *child {
	t.Helper()
	c := new(child)
	c.cmd = exec.Command(bin, args...)
	// Debug logs (rebalances, assignments, restores) for the failure
	// report; nothing is logged per record.
	c.cmd.Env = append(os.Environ(), "TESTAPP_DEBUG=1")
	c.cmd.Stdout = &c.out
	c.cmd.Stderr = &c.out
	startCmd(t, c.cmd)
	return c
}

// waitOutput polls the child's output until it contains s.
func (c *child) waitOutput(t testing.TB, s string) {
	t.Helper()
	if !testutil.Poll(60*time.Second, func() bool { return strings.Contains(c.output(), s) }) {
		t.Fatalf("testapp never printed %q:\n%s", s, c.output())
	}
}

func (c *child) kill(t testing.TB) {
	t.Helper()
	must(t, c.cmd.Process.Signal(syscall.SIGKILL))
	c.cmd.Wait()
	if testing.Verbose() {
		t.Logf("killed testapp; its output:\n%s", c.output())
	}
}

func (c *child) stop(t testing.TB) {
	t.Helper()
	must(t, c.cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("testapp exited with %v:\n%s", err, c.output())
		}
	case <-time.After(60 * time.Second):
		c.cmd.Process.Kill()
		t.Fatalf("testapp did not stop:\n%s", c.output())
	}
}

// TestKillAndRestartLosesNothing runs the test application in a child
// process, kills it with SIGKILL twice while input flows, restarts it each
// time on the same state directory, and checks at-least-once: every input
// record shows in the output, and no count is ever below the true count
// once the application has caught up.
func TestKillAndRestartLosesNothing(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	bin, err := buildTestApp()
	must(t, err)
	// Persistent (Badger, checkpoints) stores on brokerlite, in-memory
	// stores (full restore from the changelog) on kfake; static membership
	// on one of them so that both paths run.
	//
	// Dynamic membership runs on brokerlite only: kfake keeps a dynamic
	// member that is killed while it waits in JoinGroup for good (it arms
	// no session timer for a member waiting in a join, and its SyncGroup
	// deadline is dropped once the group leader syncs), so the partitions
	// assigned to the dead member are never processed again. brokerlite,
	// as Kafka, starts every member's session timer when a join completes.
	for _, br := range brokers(t) {
		inMemory := br.name == "kfake"
		if testing.Short() && inMemory {
			continue
		}
		name := br.name + "/persistent"
		if inMemory {
			name = br.name + "/in-memory"
		}
		t.Run(name, func(t *testing.T) {
			killAndRestart(t, bin, br, inMemory, br.name == "kfake")
		})
	}
}

func killAndRestart(t *testing.T, bin string, br broker, inMemory, static bool) {
	const (
		keys    = 20
		total   = 4000
		batches = 40
	)
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	in, ids, counts := "crash-in-"+suffix, "crash-ids-"+suffix, "crash-counts-"+suffix
	createTopic(t, br.addrs, 3, in, ids, counts)
	stateDir := t.TempDir()
	args := []string{"--bootstrap-server", br.addrs[0], "--application-id", "crash-" + suffix, "--state-dir", stateDir,
		"--input", in, "--ids-output", ids, "--counts-output", counts, "--threads", "2", "--commit-interval-ms", "200"}
	if inMemory {
		args = append(args, "--in-memory")
	}
	if static {
		args = append(args, "--instance-id", "crash-"+suffix)
	}

	// The producer writes paced batches in three stages, one per instance,
	// so that each kill lands while its instance has input to process.
	want := map[string]int64{}
	for i := 0; i < total; i++ {
		want[fmt.Sprintf("k%02d", i%keys)]++
	}
	release := make(chan int, 3) // how many more batches the producer may write
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	prodDone := make(chan error, 1)
	go func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(br.addrs...))
		if err != nil {
			prodDone <- err
			return
		}
		defer cl.Close()
		per := total / batches
		for b := 0; b < batches; {
			var n int
			select {
			case n = <-release:
			case <-stop:
				prodDone <- fmt.Errorf("producer stopped at batch %d", b)
				return
			}
			for end := min(b+n, batches); b < end; b++ {
				var recs []*kgo.Record
				for i := b * per; i < (b+1)*per; i++ {
					recs = append(recs, &kgo.Record{Topic: in, Key: []byte(fmt.Sprintf("k%02d", i%keys)), Value: []byte(fmt.Sprintf("id%05d", i))})
				}
				if err := produceSync(cl, 20*time.Second, recs...); err != nil {
					prodDone <- err
					return
				}
				time.Sleep(150 * time.Millisecond) // pace the input so the kills land mid-stream
			}
		}
		prodDone <- nil
	}()

	// Watch the counts topic; an instance is killed once it runs and the
	// output shows progress.
	seen := 0 // count updates seen so far
	progress := func(c *child, more int) {
		t.Helper()
		c.waitOutput(t, "to=RUNNING")
		want := seen + more
		rs := consumeUntil(t, br.addrs, counts, 60*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= want })
		if len(rs) < want {
			t.Fatalf("no progress: %d count updates, want %d; app output:\n%s", len(rs), want, c.output())
		}
		seen = len(rs)
	}
	release <- 15
	c := startChild(t, bin, args...)
	progress(c, 1)
	c.kill(t)
	c = startChild(t, bin, args...)
	release <- 15
	progress(c, 5)
	c.kill(t)
	c = startChild(t, bin, args...)
	release <- batches - 30
	c.waitOutput(t, "started")
	must(t, <-prodDone)

	// Every input id must show in the copy topic.
	wantIDs := map[string]bool{}
	for i := 0; i < total; i++ {
		wantIDs[fmt.Sprintf("ID%05d", i)] = true
	}
	seenIDs := map[string]bool{}
	consumeUntil(t, br.addrs, ids, 90*time.Second, func(rs []*kgo.Record) bool {
		for _, r := range rs {
			seenIDs[string(r.Value)] = true
		}
		for id := range wantIDs {
			if !seenIDs[id] {
				return false
			}
		}
		return true
	})
	missing := 0
	for id := range wantIDs {
		if !seenIDs[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d input records never reached the output\n%s\nlast instance's output:\n%s",
			missing, total, crashReport(t, br.addrs, "crash-"+suffix, in, ids, wantIDs, seenIDs, c), c.output())
	}
	// Final counts: never below the truth.
	var last map[string]int64
	countRecs := consumeUntil(t, br.addrs, counts, 90*time.Second, func(rs []*kgo.Record) bool {
		last = lastValues(rs, i64)
		for k, n := range want {
			if last[k] < n {
				return false
			}
		}
		return true
	})
	low := false
	for k, n := range want {
		if last[k] < n {
			low = true
			t.Errorf("count of %s = %d, below the true count %d", k, last[k], n)
		}
	}
	if low {
		t.Fatalf("%d count updates read\n%s\nlast instance's output:\n%s", len(countRecs),
			crashReport(t, br.addrs, "crash-"+suffix, in, ids, wantIDs, seenIDs, c), c.output())
	}
	over := int64(0)
	for k, n := range want {
		over += last[k] - n
	}
	t.Logf("%s: %d records, %d keys; counts over the truth by %d in total (at-least-once duplicates after the kills)", br.name, total, keys, over)
	c.stop(t)
}

// crashReport explains a failed kill-and-restart run: where the missing
// input records are (partition and offsets), the group's committed offsets
// against the input's end offsets (records behind a committed offset were
// acknowledged as processed: lost; records after it were never processed:
// a stuck instance), the group's members and assignment, and the running
// instance's own view (its tasks, their states and its metrics, which it
// prints on SIGUSR1).
func crashReport(t *testing.T, addrs []string, group, in, ids string, wantIDs, seenIDs map[string]bool, c *child) string {
	t.Helper()
	var b strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := adminFor(t, addrs)

	// Where each input id sits.
	ends, err := adm.ListEndOffsets(ctx, in, ids)
	if err != nil {
		fmt.Fprintf(&b, "end offsets: %v\n", err)
	}
	inputLen := int64(0)
	ends.Each(func(o kadm.ListedOffset) {
		if o.Topic == in {
			inputLen += o.Offset
		}
	})
	type pos struct {
		p   int32
		off int64
	}
	where := map[string]pos{}
	consumeUntil(t, addrs, in, 20*time.Second, func(rs []*kgo.Record) bool {
		for _, r := range rs {
			where[strings.ToUpper(string(r.Value))] = pos{r.Partition, r.Offset}
		}
		return int64(len(rs)) >= inputLen
	})
	type span struct {
		n        int
		lo, hi   int64
		examples []string
	}
	missingBy := map[int32]*span{}
	for id := range wantIDs {
		if seenIDs[id] {
			continue
		}
		w, ok := where[id]
		if !ok {
			w = pos{-1, -1}
		}
		s := missingBy[w.p]
		if s == nil {
			s = &span{lo: w.off, hi: w.off}
			missingBy[w.p] = s
		}
		s.n++
		s.lo, s.hi = min(s.lo, w.off), max(s.hi, w.off)
		if len(s.examples) < 5 {
			s.examples = append(s.examples, id)
		}
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		fmt.Fprintf(&b, "committed offsets: %v\n", err)
	}
	fmt.Fprintf(&b, "input %s, %d records; per partition: missing ids (partition -1: not found in the input), committed offset, end offset:\n", in, len(where))
	for p := int32(-1); p < 8; p++ {
		s := missingBy[p]
		end, hasEnd := ends.Lookup(in, p)
		if s == nil && !hasEnd {
			continue
		}
		com := int64(-1)
		if o, ok := committed.Lookup(in, p); ok {
			com = o.At
		}
		if s == nil {
			fmt.Fprintf(&b, "  p%d: none missing; committed %d, end %d\n", p, com, end.Offset)
			continue
		}
		verdict := "never processed (stuck)"
		if com > s.lo {
			verdict = "some behind the committed offset (LOST)"
		}
		fmt.Fprintf(&b, "  p%d: %d missing at offsets %d..%d (e.g. %v); committed %d, end %d: %s\n",
			p, s.n, s.lo, s.hi, s.examples, com, end.Offset, verdict)
	}
	if o, ok := ends.Lookup(ids, 0); ok {
		fmt.Fprintf(&b, "output %s: %d ids read, end offsets:", ids, len(seenIDs))
		ends.Each(func(lo kadm.ListedOffset) {
			if lo.Topic == ids {
				fmt.Fprintf(&b, " p%d=%d", lo.Partition, lo.Offset)
			}
		})
		_ = o
		b.WriteString("\n")
	}
	if gs, err := adm.DescribeGroups(ctx, group); err != nil {
		fmt.Fprintf(&b, "describe group: %v\n", err)
	} else {
		for _, g := range gs {
			fmt.Fprintf(&b, "group %s: state %s, %d members, err %v\n", g.Group, g.State, len(g.Members), g.Err)
			for _, m := range g.Members {
				a, _ := m.Assigned.AsConsumer()
				var parts []string
				if a != nil {
					for _, tp := range a.Topics {
						parts = append(parts, fmt.Sprintf("%s%v", tp.Topic, tp.Partitions))
					}
				}
				fmt.Fprintf(&b, "  member %s (client %s, %s): %v\n", m.MemberID, m.ClientID, m.ClientHost, parts)
			}
		}
	}
	// The instance's own view.
	if c.cmd.ProcessState == nil && c.cmd.Process.Signal(syscall.SIGUSR1) == nil {
		// A report that does not come in time is left out; the rest is still worth printing.
		testutil.Poll(10*time.Second, func() bool { return strings.Contains(c.output(), "testapp: end of state") })
		b.WriteString("(the instance's tasks and metrics are at the end of its output)\n")
	}
	return b.String()
}
