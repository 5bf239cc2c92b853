package streams_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/statestore"
)

// eosInput produces total lines of two words each ("wNN wMM") to topic,
// paced, numbering them in their values ("idNNNNN" first): the ids let a
// reader check that every line shows exactly once in the copy topic. It
// returns the true word counts, the ids, and a channel with the producer's
// result.
func eosInput(t *testing.T, addrs []string, topic string, total int, pace time.Duration, stop <-chan struct{}) (map[string]int64, map[string]bool, <-chan error) {
	want := map[string]int64{}
	ids := map[string]bool{}
	lines := make([]string, total)
	for i := range lines {
		a, b := fmt.Sprintf("w%02d", i%17), fmt.Sprintf("w%02d", (i*7)%23)
		lines[i] = fmt.Sprintf("id%05d %s %s", i, a, b)
		want[a]++
		want[b]++
		want[fmt.Sprintf("id%05d", i)]++
		ids[strings.ToUpper(lines[i])] = true
	}
	done := make(chan error, 1)
	go func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ProducerLinger(0))
		if err != nil {
			done <- err
			return
		}
		defer cl.Close()
		const per = 20
		for i := 0; i < total; i += per {
			var recs []*kgo.Record
			for j := i; j < min(i+per, total); j++ {
				recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint(j)), Value: []byte(lines[j])})
			}
			if err := produceSync(cl, 30*time.Second, recs...); err != nil {
				done <- err
				return
			}
			select {
			case <-stop:
				done <- fmt.Errorf("producer stopped at line %d", i)
				return
			case <-time.After(pace): // pace the input so the kills land mid-stream
			}
		}
		done <- nil
	}()
	return want, ids, done
}

// checkExactlyOnce reads the copy and count topics read_committed until the
// counts reach the truth, and checks: every input line once in the copy
// topic, and every word's counts increasing, never above the truth, ending
// at it.
func checkExactlyOnce(t *testing.T, addrs []string, idsTopic, countsTopic string, want map[string]int64, ids map[string]bool, report func() string) {
	t.Helper()
	copies := consumeCommitted(t, addrs, idsTopic, 90*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= len(ids) })
	seen := map[string]int{}
	for _, r := range copies {
		seen[string(r.Value)]++
	}
	missing, dup := 0, 0
	for id := range ids {
		switch n := seen[id]; {
		case n == 0:
			missing++
		case n > 1:
			dup++
		}
	}
	if missing > 0 || dup > 0 || len(copies) != len(ids) {
		t.Errorf("copy topic: %d records for %d input lines, %d lines missing, %d more than once", len(copies), len(ids), missing, dup)
	}
	checkCommittedCounts(t, addrs, countsTopic, want)
	if t.Failed() {
		t.Fatalf("%s", report())
	}
}

// killOnTransactionalBrokers builds the test app and runs run with it
// against kfake and brokerlite (each a subtest, skipped where transactions
// are missing); it skips where SIGKILL is missing.
func killOnTransactionalBrokers(t *testing.T, run func(t *testing.T, bin string, br broker)) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	bin, err := buildTestApp()
	must(t, err)
	for _, br := range []broker{kfakeCluster3(t), startBrokerlite(t)} {
		t.Run(br.name, func(t *testing.T) {
			requireTransactions(t, br)
			run(t, bin, br)
		})
	}
}

// TestExactlyOnceKillAndRestart runs the word count (through a repartition
// topic) with exactly_once_v2 in a child process and kills it with SIGKILL
// at random moments (commits run every 100ms, so many kills land in one)
// ten times while input flows, restarting it on the same state directory
// each time. A read_committed reader then sees every input line exactly
// once and every word's counts rising to exactly its true count.
func TestExactlyOnceKillAndRestart(t *testing.T) { killOnTransactionalBrokers(t, eosKillAndRestart) }

func eosKillAndRestart(t *testing.T, bin string, br broker) {
	const kills = 10
	suffix := fmt.Sprint(time.Now().UnixNano())
	in, ids, counts := "eos-in-"+suffix, "eos-ids-"+suffix, "eos-counts-"+suffix
	createTopic(t, br.addrs, 3, in, ids, counts)
	stateDir := t.TempDir()
	// Static membership: kfake keeps a dynamic member killed in a join for
	// good (see TestKillAndRestartLosesNothing).
	args := []string{"--bootstrap-server", br.addrs[0], "--application-id", "eos-" + suffix, "--state-dir", stateDir,
		"--input", in, "--ids-output", ids, "--counts-output", counts, "--threads", "2",
		"--processing-guarantee", "exactly_once_v2", "--wordcount", "--instance-id", "eos-" + suffix}
	killWhileProducing(t, br, bin, args, in, ids, counts, kills, 2, nil)
}

// killWhileProducing writes eosInput to in while it starts the test app
// with args and kills it with SIGKILL kills times, each at a random moment
// after its start (delays drawn from a logged seed and stream); beforeKill,
// if not nil, runs before kill i. Then it starts the app once more, checks
// ids and counts with checkExactlyOnce, and stops the app.
func killWhileProducing(t *testing.T, br broker, bin string, args []string, in, ids, counts string, kills int, stream uint64, beforeKill func(i int, r *rand.Rand)) {
	t.Helper()
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	want, wantIDs, prodDone := eosInput(t, br.addrs, in, 2400, 150*time.Millisecond, stop)

	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, stream))
	t.Logf("kill delays from seed %d", seed)
	var c *child
	for i := 0; i < kills; i++ {
		c = startChild(t, bin, args...)
		c.waitOutput(t, "started")
		// A random moment after the start: before, during or after the
		// restore, the first transactions and the commits.
		time.Sleep(time.Duration(200+r.IntN(1500)) * time.Millisecond)
		if beforeKill != nil {
			beforeKill(i, r)
		}
		c.kill(t)
	}
	c = startChild(t, bin, args...)
	c.waitOutput(t, "started")
	must(t, <-prodDone)
	checkExactlyOnce(t, br.addrs, ids, counts, want, wantIDs, func() string { return "last instance's output:\n" + c.output() })
	c.stop(t)
}

// childMetric asks the child for its metrics (SIGUSR1) and returns the
// value of rivulet_streams_<name>.
func childMetric(t testing.TB, c *child, name string) int64 {
	t.Helper()
	before := strings.Count(c.output(), "testapp: end of state")
	must(t, c.cmd.Process.Signal(syscall.SIGUSR1))
	if !testutil.Poll(20*time.Second, func() bool { return strings.Count(c.output(), "testapp: end of state") != before }) {
		t.Fatalf("no state report:\n%s", c.output())
	}
	re := regexp.MustCompile(`testapp: metric rivulet_streams_` + name + `\{[^}]*\} (\S+)`)
	ms := re.FindAllStringSubmatch(c.output(), -1)
	if len(ms) == 0 {
		t.Fatalf("no %s in the state report:\n%s", name, c.output())
	}
	n, err := strconv.ParseFloat(ms[len(ms)-1][1], 64)
	must(t, err)
	return int64(n)
}

// restoredRecords returns the changelog records the child restored.
func restoredRecords(t testing.TB, c *child) int64 { return childMetric(t, c, "restore_records_total") }

// TestExactlyOnceCrashRestoresOnlyTheTail kills the application with
// SIGKILL while it processes under exactly_once_v2 (persistent stores: a
// count, a windowed count and a session count), and checks what the
// restarted instance restores: at most the changelog records written after
// the stores' checkpoints (which follow every commit), not the stores,
// which hold thousands of keys by then.
func TestExactlyOnceCrashRestoresOnlyTheTail(t *testing.T) {
	killOnTransactionalBrokers(t, crashRestoresOnlyTheTail)
}

func crashRestoresOnlyTheTail(t *testing.T, bin string, br broker) {
	suffix := fmt.Sprint(time.Now().UnixNano())
	in, ids, counts := "eosr-in-"+suffix, "eosr-ids-"+suffix, "eosr-counts-"+suffix
	appID := "eosr-" + suffix
	createTopic(t, br.addrs, 2, in, ids, counts)
	stateDir := t.TempDir()
	args := []string{"--bootstrap-server", br.addrs[0], "--application-id", appID, "--state-dir", stateDir,
		"--input", in, "--ids-output", ids, "--counts-output", counts, "--threads", "1",
		"--processing-guarantee", "exactly_once_v2", "--wordcount", "--windowed", "--instance-id", appID}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	// Every line has its own id word: each store grows by a key per line.
	want, wantIDs, prodDone := eosInput(t, br.addrs, in, 3000, 40*time.Millisecond, stop)
	c := startChild(t, bin, args...)
	c.waitOutput(t, "started")
	var seenCopies atomic.Int64
	consumeCommitted(t, br.addrs, ids, 60*time.Second, func(rs []*kgo.Record) bool {
		seenCopies.Store(int64(len(rs)))
		return len(rs) >= 2000
	})
	if seenCopies.Load() < 2000 {
		t.Fatalf("no progress: %d lines processed\n%s", seenCopies.Load(), c.output())
	}
	c.kill(t) // mid-stream: the input is still flowing

	// What was written after the checkpoints, per changelog partition.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var tail, stored int64
	for _, store := range []string{"counts", "wcounts", "sessions"} {
		changelog := appID + "-" + store + "-changelog"
		dirs, err := filepath.Glob(filepath.Join(stateDir, appID, "*", store))
		must(t, err)
		if len(dirs) == 0 {
			t.Fatalf("no directories of store %s under %s", store, stateDir)
		}
		ends, err := adminFor(t, br.addrs).ListEndOffsets(ctx, changelog)
		must(t, err)
		var storeTail, storeStored int64
		for _, dir := range dirs {
			cp, err := statestore.ReadCheckpoint(dir)
			must(t, err)
			if cp == nil {
				t.Fatalf("no checkpoint in %s after commits", dir)
			}
			for tp, off := range cp {
				end, ok := ends.Lookup(tp.Topic, tp.Partition)
				if !ok {
					t.Fatalf("no end offset for %s-%d", tp.Topic, tp.Partition)
				}
				storeTail += end.Offset - off
				storeStored += off
			}
		}
		if storeStored < 2000 {
			t.Fatalf("checkpoints of store %s cover %d changelog records, want the thousands the store holds", store, storeStored)
		}
		t.Logf("store %s: changelog records covered by the checkpoints %d, written after them %d", store, storeStored, storeTail)
		tail += storeTail
		stored += storeStored
	}

	c = startChild(t, bin, args...)
	c.waitOutput(t, "to=RUNNING")
	restored := restoredRecords(t, c)
	t.Logf("changelog records covered by the checkpoints %d, written after them %d, restored after kill -9: %d", stored, tail, restored)
	if restored > tail {
		t.Errorf("restored %d changelog records after kill -9, more than the %d written since the last checkpoint", restored, tail)
	}
	must(t, <-prodDone)
	checkExactlyOnce(t, br.addrs, ids, counts, want, wantIDs, func() string { return "instance output:\n" + c.output() })
	c.stop(t)
}

// TestExactlyOnceZombieIsFenced starts a second instance with the same
// identity (process id, so the same transactional ids, and
// group.instance.id) while the first one is alive but stalled (SIGSTOP), as
// a paused process or a partitioned host comes back. The second one fences
// the first one's producer (its open transaction is aborted) and takes its
// place in the group. When the first one resumes, the two race for the one
// identity: the group keeps whichever joined last, and the other is fenced
// (FENCED_INSTANCE_ID, or its producer epoch) and stops. Whichever survives,
// the output stays exact: nothing the loser did after the takeover commits.
func TestExactlyOnceZombieIsFenced(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGSTOP")
	}
	bin, err := buildTestApp()
	must(t, err)
	br := kfakeCluster3(t)
	suffix := fmt.Sprint(time.Now().UnixNano())
	in, ids, counts := "eosz-in-"+suffix, "eosz-ids-"+suffix, "eosz-counts-"+suffix
	appID := "eosz-" + suffix
	createTopic(t, br.addrs, 3, in, ids, counts)
	dirA, dirB := t.TempDir(), t.TempDir()
	// One thread: one transactional id and one static member per instance,
	// so one of the two instances loses the race as a whole.
	args := func(dir string) []string {
		return []string{"--bootstrap-server", br.addrs[0], "--application-id", appID, "--state-dir", dir,
			"--input", in, "--ids-output", ids, "--counts-output", counts, "--threads", "1",
			"--processing-guarantee", "exactly_once_v2", "--wordcount", "--instance-id", appID}
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	want, wantIDs, prodDone := eosInput(t, br.addrs, in, 2000, 100*time.Millisecond, stop)
	a := startChild(t, bin, args(dirA)...)
	a.waitOutput(t, "to=RUNNING")
	consumeCommitted(t, br.addrs, ids, 60*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= 200 })

	// The same identity: the process id in the state directory.
	pid, err := os.ReadFile(filepath.Join(dirA, appID, "process.id"))
	must(t, err)
	must(t, os.MkdirAll(filepath.Join(dirB, appID), 0o755))
	must(t, os.WriteFile(filepath.Join(dirB, appID, "process.id"), pid, 0o644))

	must(t, a.cmd.Process.Signal(syscall.SIGSTOP))
	b := startChild(t, bin, args(dirB)...)
	b.waitOutput(t, "to=RUNNING")
	before := len(consumeCommitted(t, br.addrs, ids, time.Second, func([]*kgo.Record) bool { return false }))
	if got := consumeCommitted(t, br.addrs, ids, 60*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= min(before+100, len(wantIDs)) }); len(got) <= before && before < len(wantIDs) {
		t.Fatalf("the second instance makes no progress:\n%s", b.output())
	}
	must(t, a.cmd.Process.Signal(syscall.SIGCONT))

	// One of the two is fenced and stops; the other goes on.
	exited := make(chan *child, 2)
	for _, c := range []*child{a, b} {
		go func() { c.cmd.Wait(); exited <- c }()
	}
	var loser, survivor *child
	select {
	case loser = <-exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("neither instance was fenced\nfirst instance:\n%s\nsecond instance:\n%s", a.output(), b.output())
	}
	survivor = a
	if loser == a {
		survivor = b
	}
	if out := loser.output(); !strings.Contains(out, "FENCED_INSTANCE_ID") && !strings.Contains(out, "fenced") {
		t.Fatalf("an instance stopped without saying it was fenced:\n%s", out)
	}
	must(t, <-prodDone)
	checkExactlyOnce(t, br.addrs, ids, counts, want, wantIDs, func() string {
		return "first instance:\n" + a.output() + "\nsecond instance:\n" + b.output()
	})
	select {
	case c := <-exited:
		t.Fatalf("both instances stopped:\n%s", c.output())
	default:
	}
	must(t, survivor.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("the surviving instance did not stop:\n%s", survivor.output())
	}
	if survivor.cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("the surviving instance exited with %v:\n%s", survivor.cmd.ProcessState, survivor.output())
	}
}

// buildBrokerApp builds streams/internal/brokerapp once per test binary.
var buildBrokerApp = sync.OnceValues(func() (string, error) { return buildChildApp("brokerapp") })

// freeAddr returns a local address nothing listens on (for a broker that
// must come back on the same address after a kill).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	must(t, ln.Close())
	return addr
}

// TestExactlyOnceKillAppAndBroker runs the exactly_once_v2 word count on
// brokerlite in a child process, and kills both with SIGKILL while input
// flows: the application ten times at random moments, the broker three
// times (restarted on the same address and log directory). A
// read_committed reader then sees every input line exactly once and every
// count rising to exactly its truth.
func TestExactlyOnceKillAppAndBroker(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	appBin, err := buildTestApp()
	must(t, err)
	brokerBin, err := buildBrokerApp()
	must(t, err)
	addr, logDir := freeAddr(t), t.TempDir()
	startBroker := func() *child {
		bc := startChild(t, brokerBin, "--listen", addr, "--log-dir", logDir)
		bc.waitOutput(t, "listening")
		return bc
	}
	bc := startBroker()
	br := broker{name: "brokerlite", addrs: []string{addr}}
	requireTransactions(t, br)

	const kills, brokerKills = 10, 3
	suffix := fmt.Sprint(time.Now().UnixNano())
	in, ids, counts := "eosb-in-"+suffix, "eosb-ids-"+suffix, "eosb-counts-"+suffix
	createTopic(t, br.addrs, 3, in, ids, counts)
	args := []string{"--bootstrap-server", addr, "--application-id", "eosb-" + suffix, "--state-dir", t.TempDir(),
		"--input", in, "--ids-output", ids, "--counts-output", counts, "--threads", "2",
		"--processing-guarantee", "exactly_once_v2", "--wordcount"}
	killWhileProducing(t, br, appBin, args, in, ids, counts, kills, 3, func(i int, r *rand.Rand) {
		if i%3 == 1 && i/3 < brokerKills {
			// The broker dies under the running application, then comes
			// back; the application rides it out before its own kill.
			bc.kill(t)
			bc = startBroker()
			time.Sleep(time.Duration(500+r.IntN(1000)) * time.Millisecond)
		}
	})
	bc.stop(t)
}
