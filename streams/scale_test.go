package streams_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/brokerlite"
	"github.com/rivulet-io/rivulet/examples/wordcount/wordcount"
	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// buildScaleApp builds streams/internal/scaleapp once per test binary.
var buildScaleApp = sync.OnceValues(func() (string, error) { return buildChildApp("scaleapp") })

// exampleWordCount creates in and out with two partitions each on addrs
// and returns the word count of examples/wordcount from in to out.
func exampleWordCount(t testing.TB, addrs []string, in, out string) *streams.Topology {
	t.Helper()
	createTopic(t, addrs, 2, in, out)
	topo, err := wordcount.Topology(wordcount.Options{InputTopic: in, OutputTopic: out})
	must(t, err)
	return topo
}

// scaleChild is one scaleapp process: commands go to its stdin, answers
// come on its stdout, logs on its stderr.
type scaleChild struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   testutil.Buffer
	logs  testutil.Buffer
	tags  atomic.Int64
}

func startScaleChild(t *testing.T, bin, name string, args ...string) *scaleChild {
	t.Helper()
	c := &scaleChild{name: name}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Stdout = &c.out
	c.cmd.Stderr = &c.logs
	stdin, err := c.cmd.StdinPipe()
	must(t, err)
	c.stdin = stdin
	startCmd(t, c.cmd)
	return c
}

func (c *scaleChild) stdout() string { return c.out.String() }

func (c *scaleChild) stderr() string { return c.logs.String() }

// waitLine polls stdout for a line starting with prefix and returns the
// rest of it.
func (c *scaleChild) waitLine(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	var rest string
	if !testutil.Poll(timeout, func() bool {
		sc := bufio.NewScanner(strings.NewReader(c.stdout()))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ok bool
			if rest, ok = strings.CutPrefix(sc.Text(), prefix); ok {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("%s never printed %q; stdout:\n%s\nlogs:\n%s", c.name, prefix, c.stdout(), c.stderr())
	}
	return rest
}

// command sends a command and returns its answer.
func (c *scaleChild) command(t *testing.T, cmd string) string {
	t.Helper()
	tag := fmt.Sprintf("t%d", c.tags.Add(1))
	_, err := fmt.Fprintf(c.stdin, "%s %s\n", cmd, tag)
	must(t, err)
	ans := c.waitLine(t, tag+" ", 90*time.Second)
	if strings.HasPrefix(ans, "error ") {
		t.Fatalf("%s: %s: %s\nlogs:\n%s", c.name, cmd, ans, c.stderr())
	}
	return ans
}

type scaleStatus struct {
	State   string   `json:"state"`
	Threads []string `json:"threads"`
	Tasks   []struct {
		ID     string `json:"id"`
		Thread string `json:"thread"`
		State  string `json:"state"`
	} `json:"tasks"`
}

func (c *scaleChild) status(t *testing.T) scaleStatus {
	t.Helper()
	ans := c.command(t, "status")
	var st scaleStatus
	if err := json.Unmarshal([]byte(strings.TrimPrefix(ans, "status ")), &st); err != nil {
		t.Fatalf("%s: bad status %q: %v", c.name, ans, err)
	}
	return st
}

// running returns the instance's running tasks by thread.
func (st scaleStatus) running() map[string][]string {
	out := map[string][]string{}
	for _, task := range st.Tasks {
		if task.State == "RUNNING" {
			out[task.Thread] = append(out[task.Thread], task.ID)
		}
	}
	return out
}

// waitStatus polls the instances' status until ok accepts it.
func waitStatus(t *testing.T, what string, timeout time.Duration, cs []*scaleChild, ok func([]scaleStatus) bool) []scaleStatus {
	t.Helper()
	var sts []scaleStatus
	if !testutil.Poll(timeout, func() bool {
		sts = make([]scaleStatus, len(cs))
		for i, c := range cs {
			sts[i] = c.status(t)
		}
		return ok(sts)
	}) {
		var b strings.Builder
		for i, c := range cs {
			fmt.Fprintf(&b, "%s: %+v\nlogs:\n%s\n", c.name, sts[i], c.stderr())
		}
		t.Fatalf("never reached: %s\n%s", what, b.String())
	}
	return sts
}

var scaleWords = strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu")

// scaleFeeder writes lines of words to the input topic until stopped and
// keeps the true count of every word acknowledged.
type scaleFeeder struct {
	mu    sync.Mutex
	want  map[string]int64
	lines int
	stop  chan struct{}
	done  chan error
}

func feedWords(addrs []string, topic string) *scaleFeeder {
	f := &scaleFeeder{want: map[string]int64{}, stop: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ProducerLinger(0), kgo.RecordPartitioner(kgo.RoundRobinPartitioner())) // every tick feeds every partition
		if err != nil {
			f.done <- err
			return
		}
		defer cl.Close()
		tick := time.NewTicker(50 * time.Millisecond) // paced, so input flows through every step
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-f.stop:
				f.done <- nil
				return
			case <-tick.C:
			}
			var recs []*kgo.Record
			counts := map[string]int64{}
			for i := 0; i < 20; i++ {
				line := make([]string, 4)
				for j := range line {
					line[j] = scaleWords[(n*7+i*5+j*3)%len(scaleWords)]
					counts[line[j]]++
				}
				recs = append(recs, &kgo.Record{Topic: topic, Value: []byte(strings.Join(line, " "))})
			}
			if err := produceSync(cl, 30*time.Second, recs...); err != nil {
				f.done <- err
				return
			}
			f.mu.Lock()
			for w, c := range counts {
				f.want[w] += c
			}
			f.lines += len(recs)
			f.mu.Unlock()
		}
	}()
	return f
}

func (f *scaleFeeder) finish(t *testing.T) (map[string]int64, int) {
	t.Helper()
	close(f.stop)
	must(t, <-f.done)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.want, f.lines
}

// TestScaleOutAndKill scales word count out under load: it starts with one
// instance; a second and a third instance join and one more thread is added
// while input flows; one instance is killed with SIGKILL. In the end no
// word is under-counted (at-least-once) and the tasks are spread evenly
// over the threads that are left. Then one instance stops cleanly and the
// last one takes its tasks.
func TestScaleOutAndKill(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	bin, err := buildScaleApp()
	must(t, err)
	br := startBrokerlite(t)
	const partitions = 6 // 2 sub-topologies: 12 tasks
	suffix := fmt.Sprint(time.Now().UnixNano())
	in, out, appID := "scale-in-"+suffix, "scale-out-"+suffix, "scale-"+suffix
	createTopic(t, br.addrs, partitions, in, out)
	start := func(name string) *scaleChild {
		c := startScaleChild(t, bin, name, "--bootstrap-server", br.addrs[0], "--application-id", appID,
			"--state-dir", t.TempDir(), "--input", in, "--output", out, "--threads", "1")
		c.waitLine(t, "started", 60*time.Second)
		return c
	}
	totalRunning := func(sts []scaleStatus) int {
		n := 0
		for _, st := range sts {
			for _, ids := range st.running() {
				n += len(ids)
			}
		}
		return n
	}
	// hasRunning: the instance runs a task of each sub-topology, so a
	// stateful one (1_x, the counts) has moved to it with its state.
	hasRunning := func(st scaleStatus) bool {
		subs := map[string]bool{}
		for _, ids := range st.running() {
			for _, id := range ids {
				subs[id[:2]] = true
			}
		}
		return subs["0_"] && subs["1_"]
	}
	feeder := feedWords(br.addrs, in)
	defer func() {
		select {
		case <-feeder.stop:
		default:
			close(feeder.stop)
			<-feeder.done
		}
	}()

	a := start("instance-a")
	waitStatus(t, "instance a runs all 12 tasks", 60*time.Second, []*scaleChild{a}, func(sts []scaleStatus) bool {
		return totalRunning(sts) == 2*partitions
	})
	consumeUntil(t, br.addrs, out, 60*time.Second, func(rs []*kgo.Record) bool { return len(rs) > 0 })

	b := start("instance-b")
	waitStatus(t, "instance b runs stateless and stateful tasks", 60*time.Second, []*scaleChild{a, b}, func(sts []scaleStatus) bool {
		return hasRunning(sts[0]) && hasRunning(sts[1])
	})
	c := start("instance-c")
	waitStatus(t, "instance c runs stateless and stateful tasks", 60*time.Second, []*scaleChild{a, b, c}, func(sts []scaleStatus) bool {
		return hasRunning(sts[2])
	})
	added := strings.TrimPrefix(b.command(t, "add-thread"), "added ")
	waitStatus(t, "the added thread runs tasks", 60*time.Second, []*scaleChild{a, b, c}, func(sts []scaleStatus) bool {
		return len(sts[1].running()[added]) > 0
	})
	// Kill c while it processes: once the output has grown further.
	seen := len(consumeUntil(t, br.addrs, out, 5*time.Second, func([]*kgo.Record) bool { return false }))
	consumeUntil(t, br.addrs, out, 60*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= seen+100 })

	must(t, c.cmd.Process.Signal(syscall.SIGKILL))
	c.cmd.Wait()
	// Input keeps flowing while the group notices the death and moves c's
	// tasks (with their state, restored from the changelogs).
	waitStatus(t, "every task runs on a or b", 90*time.Second, []*scaleChild{a, b}, func(sts []scaleStatus) bool {
		return totalRunning(sts) == 2*partitions
	})
	want, lines := feeder.finish(t)

	var last map[string]int64
	consumeUntil(t, br.addrs, out, 90*time.Second, func(rs []*kgo.Record) bool {
		last = lastValues(rs, i64)
		for w, n := range want {
			if last[w] < n {
				return false
			}
		}
		return true
	})
	over := int64(0)
	for w, n := range want {
		if last[w] < n {
			t.Errorf("count of %q = %d, below the true count %d (lost input)", w, last[w], n)
		}
		over += last[w] - n
	}

	// Tasks spread evenly over the three threads left (a's one, b's two).
	sts := waitStatus(t, "12 tasks spread evenly, 4 per thread", 60*time.Second, []*scaleChild{a, b}, func(sts []scaleStatus) bool {
		if totalRunning(sts) != 2*partitions {
			return false
		}
		threads := 0
		for _, st := range sts {
			for _, th := range st.Threads {
				threads++
				if len(st.running()[th]) != 2*partitions/3 {
					return false
				}
			}
		}
		return threads == 3
	})
	var spread []string
	for i, st := range sts {
		r := st.running()
		names := make([]string, 0, len(r))
		for th := range r {
			names = append(names, th)
		}
		sort.Strings(names)
		for _, th := range names {
			spread = append(spread, fmt.Sprintf("%s/%s=%d", []string{"a", "b"}[i], th, len(r[th])))
		}
	}
	t.Logf("%d lines, %d words; counts over the truth by %d in total (at-least-once duplicates after the kill); final spread %s",
		lines, lines*4, over, strings.Join(spread, " "))
	// A clean leave: a stops (commits, leaves the group) and b's two
	// threads take its tasks, 6 each.
	stopChild := func(ch *scaleChild) {
		must(t, ch.cmd.Process.Signal(syscall.SIGTERM))
		if err := ch.cmd.Wait(); err != nil {
			t.Errorf("%s exited with %v\nlogs:\n%s", ch.name, err, ch.stderr())
		}
	}
	stopChild(a)
	waitStatus(t, "b runs the 12 tasks, 6 per thread, after a leaves", 60*time.Second, []*scaleChild{b}, func(sts []scaleStatus) bool {
		r := sts[0].running()
		return len(sts[0].Threads) == 2 && len(r[sts[0].Threads[0]]) == partitions && len(r[sts[0].Threads[1]]) == partitions
	})
	stopChild(b)
}

// TestAddRemoveStreamThread runs word count in this process, adds a thread
// (the group rebalances and the new thread takes half of the tasks, with
// their state), removes it again (its tasks come back), and checks the
// counts stay exact: nothing is lost or counted twice by a clean move.
func TestAddRemoveStreamThread(t *testing.T) {
	br := startBrokerlite(t)
	in, out := "addrm-in", "addrm-out"
	topo := exampleWordCount(t, br.addrs, in, out)
	app := startApp(t, topo, streams.Properties{
		"application.id": "addrm", "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
		"commit.interval.ms": "100",
	})
	waitState(t, app, streams.StateRunning, 60*time.Second)
	if _, err := app.RemoveStreamThread(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := app.StreamThreads(); len(got) != 0 {
		t.Fatalf("threads after removing the only one: %v", got)
	}
	// Back to one, then two: names reuse the lowest free index.
	name1, err := app.AddStreamThread()
	must(t, err)
	waitState(t, app, streams.StateRunning, 60*time.Second)
	want := map[string]int64{}
	batch := func(n int) {
		var recs []*kgo.Record
		for i := 0; i < n; i++ {
			w := scaleWords[i%len(scaleWords)]
			want[w]++
			recs = append(recs, &kgo.Record{Topic: in, Value: []byte(w)})
		}
		produce(t, br.addrs, recs...)
	}
	exact := func(stage string) {
		t.Helper()
		var last map[string]int64
		consumeUntil(t, br.addrs, out, 60*time.Second, func(rs []*kgo.Record) bool {
			last = lastValues(rs, i64)
			for w, n := range want {
				if last[w] != n {
					return false
				}
			}
			return true
		})
		for w, n := range want {
			if last[w] != n {
				t.Fatalf("%s: count of %q = %d, want %d", stage, w, last[w], n)
			}
		}
	}
	batch(200)
	exact("one thread")
	name2, err := app.AddStreamThread()
	must(t, err)
	if name1 == name2 || !strings.HasSuffix(name1, "-StreamThread-1") || !strings.HasSuffix(name2, "-StreamThread-2") {
		t.Fatalf("thread names %q, %q", name1, name2)
	}
	// 2 partitions, 2 sub-topologies: 4 tasks, 2 per thread.
	if !testutil.Poll(60*time.Second, func() bool {
		per := map[string]int{}
		for _, ti := range app.Tasks() {
			if ti.State == streams.TaskRunning {
				per[ti.Thread]++
			}
		}
		return per[name1] == 2 && per[name2] == 2
	}) {
		t.Fatalf("tasks never spread over two threads: %v", app.Tasks())
	}
	batch(200)
	exact("two threads")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	removed, err := app.RemoveStreamThread(ctx)
	cancel()
	must(t, err)
	if removed != name2 {
		t.Fatalf("removed %q, want the newest thread %q", removed, name2)
	}
	if got := app.StreamThreads(); len(got) != 1 || got[0] != name1 {
		t.Fatalf("threads after remove: %v", got)
	}
	batch(200)
	exact("after removing a thread")
	waitState(t, app, streams.StateRunning, 60*time.Second)
	if n := len(app.Tasks()); n != 4 {
		t.Fatalf("%d tasks on the last thread, want 4", n)
	}
}

// TestRemoveStaticStreamThread removes a thread of an instance with static
// membership: the removed member is taken out of the group at once (a
// static member's client does not leave on close), so its tasks move to
// the other thread long before the 45 s session timeout.
func TestRemoveStaticStreamThread(t *testing.T) {
	br := startBrokerlite(t)
	in, out := "static-in", "static-out"
	topo := exampleWordCount(t, br.addrs, in, out)
	app, err := streams.New(topo, streams.Properties{
		"application.id": "static", "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
		"commit.interval.ms": "100", "num.stream.threads": "2",
		"consumer.group.instance.id": "static-1", "consumer.session.timeout.ms": "45000",
	}, streams.WithLogger(testLogger(t)), streams.WithKgoOpts(kgo.HeartbeatInterval(100*time.Millisecond)))
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	must(t, app.Start(ctx))
	cancel()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		app.Close(ctx)
	})
	perThread := func() map[string]int {
		per := map[string]int{}
		for _, ti := range app.Tasks() {
			if ti.State == streams.TaskRunning {
				per[ti.Thread]++
			}
		}
		return per
	}
	var per map[string]int
	if !testutil.Poll(30*time.Second, func() bool {
		per = perThread()
		return per["static-StreamThread-1"] == 2 && per["static-StreamThread-2"] == 2
	}) {
		t.Fatalf("tasks never spread over both threads: %v", per)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	removed, err := app.RemoveStreamThread(ctx)
	cancel()
	must(t, err)
	if removed != "static-StreamThread-2" {
		t.Fatalf("removed %s", removed)
	}
	// Well under the session timeout: the group rebalanced at once.
	if !testutil.Poll(20*time.Second, func() bool {
		per = perThread()
		return per["static-StreamThread-1"] == 4
	}) {
		t.Fatalf("the removed static member's tasks never moved: %v", per)
	}
}

// TestParallelismCapLogged: more threads than tasks says so in a log line,
// at start and when a thread is added, and MaxParallelism counts the tasks.
func TestParallelismCapLogged(t *testing.T) {
	br := startBrokerlite(t)
	in, out := "cap-in", "cap-out"
	topo := exampleWordCount(t, br.addrs, in, out)
	logs := new(testutil.Buffer)
	app := startApp(t, topo, streams.Properties{
		"application.id": "cap", "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(), "num.stream.threads": "5",
	}, streams.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if n := app.MaxParallelism(); n != 4 {
		t.Errorf("MaxParallelism = %d, want 4 (2 sub-topologies x 2 partitions)", n)
	}
	const line = `msg="streams: more stream threads than tasks; parallelism is capped by the number of input partitions, so the extra threads will idle" threads=%d tasks=4`
	if !strings.Contains(logs.String(), fmt.Sprintf(line, 5)) {
		t.Errorf("no capped-parallelism line at start:\n%s", logs)
	}
	_, err := app.AddStreamThread()
	must(t, err)
	if !strings.Contains(logs.String(), fmt.Sprintf(line, 6)) {
		t.Errorf("no capped-parallelism line on add:\n%s", logs)
	}
}

// generationLog records the generations brokerlite's group coordinator
// completes ("groupcoord: group joined"), with the member count of each.
type generationLog struct {
	mu      sync.Mutex
	members []int64 // by generation, in order
}

func (g *generationLog) Enabled(context.Context, slog.Level) bool { return true }
func (g *generationLog) WithAttrs([]slog.Attr) slog.Handler       { return g }
func (g *generationLog) WithGroup(string) slog.Handler            { return g }
func (g *generationLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "groupcoord: group joined" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "members" {
			g.mu.Lock()
			g.members = append(g.members, a.Value.Int64())
			g.mu.Unlock()
		}
		return true
	})
	return nil
}

func (g *generationLog) generations() []int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int64(nil), g.members...)
}

// The stream threads an application starts together form the group's first
// generation together, so each gets its tasks at once: no generation with
// some of them only, and no cooperative follow-up moving tasks between them.
func TestThreadsStartedTogetherJoinInOneGeneration(t *testing.T) {
	const threads = 4
	gens := &generationLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := brokerlite.Start(ctx, brokerlite.Config{Logger: slog.New(gens), Properties: map[string]string{
		"listeners":                        "PLAINTEXT://127.0.0.1:0",
		"log.dirs":                         t.TempDir(),
		"group.initial.rebalance.delay.ms": "0",
		"offsets.topic.num.partitions":     "1",
	}})
	must(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b.Close(ctx)
	})
	addrs := []string{b.Addr()}
	createTopic(t, addrs, 4, "cohort-in", "cohort-out")
	app := startApp(t, buildWordCount(t, "cohort-in", "cohort-out"), streams.Properties{
		"application.id":     "cohort",
		"bootstrap.servers":  strings.Join(addrs, ","),
		"num.stream.threads": "4",
		"state.dir":          t.TempDir(),
	})
	// 2 sub-topologies x 4 partitions, one thread each at most 2.
	if !testutil.Poll(20*time.Second, func() bool { return len(app.Tasks()) == 8 }) {
		t.Fatalf("tasks %+v, want 8 (state %s, err %v)", app.Tasks(), app.State(), app.Err())
	}
	perThread := map[string]int{}
	for _, task := range app.Tasks() {
		perThread[task.Thread]++
	}
	if len(perThread) != threads {
		t.Errorf("tasks by thread %v, want all %d threads running tasks", perThread, threads)
	}
	if g := gens.generations(); len(g) != 1 || g[0] != threads {
		t.Errorf("generations completed with members %v, want one generation of %d members", g, threads)
	}
}
