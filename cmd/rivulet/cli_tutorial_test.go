package main

// The classic Kafka quickstart, typed into the rivulet CLI: against franz-go's kfake (one
// broker, and three brokers with replication factor 3) and against a `rivulet broker` child.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

func newKfake(t *testing.T, brokers int) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return strings.Join(c.ListenAddrs(), ",")
}

func TestTutorialKfake(t *testing.T) {
	t.Parallel()
	tutorial(t, newKfake(t, 1), 1)
}

// TestTutorialKfakeThreeBrokers runs the same walk with replication factor 3: describe shows
// three replicas and a full ISR for every partition, and the group coordinator may be any
// of the brokers.
func TestTutorialKfakeThreeBrokers(t *testing.T) {
	t.Parallel()
	tutorial(t, newKfake(t, 3), 3)
}

// TestTutorialRivuletBroker runs the walk against `rivulet broker` in a child process, as a
// user would after `rivulet broker &`.
func TestTutorialRivuletBroker(t *testing.T) {
	t.Parallel()
	bootstrap := startRivuletBroker(t)
	tutorial(t, bootstrap, 1)
}

// startRivuletBroker runs `rivulet broker` on a free port with a temp log.dirs and waits until
// it answers; the broker is stopped with SIGTERM when the test ends.
func startRivuletBroker(t *testing.T) string {
	t.Helper()
	addr, _ := startRivuletBrokerIn(t, t.TempDir())
	return addr
}

// startRivuletBrokerIn is startRivuletBroker over the data in dir; stop ends it early
// (SIGTERM, waiting for a clean exit).
func startRivuletBrokerIn(t *testing.T, dir string) (addr string, stop func()) {
	t.Helper()
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	return addr, runRivuletBroker(t, addr, dir, "listeners=PLAINTEXT://"+addr)
}

// startRivuletBrokerWith runs `rivulet broker` over a temp log.dirs with the overrides
// (key=value) and returns once addr accepts connections.
func startRivuletBrokerWith(t *testing.T, addr string, overrides ...string) {
	t.Helper()
	runRivuletBroker(t, addr, t.TempDir(), overrides...)
}

// brokerArgs are the arguments of a `rivulet broker` child for tests: its data in dir, the
// first rebalance without delay, then the overrides (key=value).
func brokerArgs(dir string, overrides ...string) []string {
	args := []string{"broker", "--override", "log.dirs=" + dir, "--override", "group.initial.rebalance.delay.ms=0"}
	for _, o := range overrides {
		args = append(args, "--override", o)
	}
	return args
}

// runRivuletBroker runs `rivulet broker` over the data in dir with the overrides and returns
// once addr accepts connections; stop ends it early (SIGTERM, waiting for a clean exit).
func runRivuletBroker(t *testing.T, addr, dir string, overrides ...string) (stop func()) {
	t.Helper()
	bin := cliBinary(t)
	cmd := exec.Command(bin, brokerArgs(dir, overrides...)...)
	var logs testutil.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
				t.Errorf("rivulet broker did not stop on SIGTERM:\n%s", logs.String())
			}
		})
	}
	t.Cleanup(stop)
	testutil.EventuallyNoError(t, 60*time.Second, "rivulet broker answering on "+addr, func() error {
		select {
		case <-exited:
			t.Fatalf("rivulet broker exited:\n%s", logs.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		c.Close()
		return nil
	})
	return stop
}

var partitionLineRE = regexp.MustCompile(`^\tTopic: first\tPartition: (\d)\tLeader: (\d+)\tReplicas: ([\d,]+)\tIsr: ([\d,]+)\tLogStartOffset: (\d+)\tLogEndOffset: (\d+)$`)

// tutorial walks the Kafka quickstart: create, list, describe, produce, consume from the
// beginning, share the topic between two consumers of one group, inspect the group, delete.
func tutorial(t *testing.T, bootstrap string, rf int) {
	bs := []string{"--bootstrap-server", bootstrap}
	cli := func(stdin string, args ...string) cliResult {
		t.Helper()
		return mustCLI(t, stdin, append(args, bs...)...)
	}

	// 1. Create the topic.
	res := cli("", "topics", "--create", "--topic", "first", "--partitions", "3", "--replication-factor", strconv.Itoa(rf))
	if res.stdout != "Created topic first.\n" {
		t.Fatalf("create printed %q", res.stdout)
	}

	// 2. List it.
	if res = cli("", "topics", "--list"); !contains(lines(res.stdout), "first") {
		t.Fatalf("--list lacks first:\n%s", res.stdout)
	}

	// 3. Describe it.
	res = cli("", "topics", "--describe", "--topic", "first")
	out := lines(res.stdout)
	if len(out) != 4 {
		t.Fatalf("describe: want a topic line and 3 partition lines:\n%s", res.stdout)
	}
	head := fmt.Sprintf("Topic: first\tTopicId: \\S+\tPartitionCount: 3\tReplicationFactor: %d\tConfigs: ", rf)
	if !regexp.MustCompile("^" + head).MatchString(out[0]) {
		t.Fatalf("describe header %q does not match %q", out[0], head)
	}
	for i, l := range out[1:] {
		m := partitionLineRE.FindStringSubmatch(l)
		if m == nil || m[1] != strconv.Itoa(i) {
			t.Fatalf("partition line %q", l)
		}
		replicas, isr := strings.Split(m[3], ","), strings.Split(m[4], ",")
		if len(replicas) != rf || len(isr) != rf || !contains(replicas, m[2]) {
			t.Fatalf("partition %d: leader %s, replicas %v, ISR %v; want %d replicas, all in sync", i, m[2], replicas, isr, rf)
		}
	}

	// 4. Produce some events.
	var events []string
	for i := 0; i < 20; i++ {
		events = append(events, fmt.Sprintf("This is event %02d", i))
	}
	res = cli(strings.Join(events, "\n")+"\n", "produce", "--topic", "first")
	if !strings.Contains(res.stderr, "20 record(s) sent to topic first, 0 failed") {
		t.Fatalf("produce report:\n%s", res)
	}

	// 5. Read them from the beginning.
	res = cli("", "consume", "--topic", "first", "--from-beginning", "--max-messages", "20", "--timeout-ms", "30000")
	if got := sortedCopy(lines(res.stdout)); strings.Join(got, "\n") != strings.Join(events, "\n") {
		t.Fatalf("consumed:\n%s\nwant the 20 events", res.stdout)
	}
	if !strings.Contains(res.stderr, "Processed a total of 20 messages") {
		t.Fatalf("consume report:\n%s", res)
	}

	// 6. Two consumers in one group: each new event reaches exactly one of them.
	const group = "tutorial-group"
	adm := adminFor(t, bootstrap)
	consumerArgs := append([]string{"consume", "--topic", "first", "--group", group}, bs...)
	c1 := startCLI(t, consumerArgs...)
	waitGroupMembers(t, adm, group, "first", 1, 3)
	c2 := startCLI(t, consumerArgs...)
	waitGroupMembers(t, adm, group, "first", 2, 3)

	before := endOffsets(t, adm, "first")
	var keyed []string
	var want []string
	for i := 0; i < 30; i++ {
		keyed = append(keyed, fmt.Sprintf("user%02d:shared event %02d", i, i))
		want = append(want, fmt.Sprintf("shared event %02d", i))
	}
	cli(strings.Join(keyed, "\n")+"\n", "produce", "--topic", "first", "--property", "parse.key=true", "--property", "key.separator=:")
	testutil.EventuallyNoError(t, 60*time.Second, "both consumers together printing the 30 shared events", func() error {
		l1, _ := c1.output()
		l2, _ := c2.output()
		if len(l1)+len(l2) < 30 {
			return fmt.Errorf("consumer 1: %q\nconsumer 2: %q", l1, l2)
		}
		return nil
	})
	if code := c1.interrupt(t); code != 0 {
		_, e := c1.output()
		t.Fatalf("consumer 1 exited %d after Ctrl-C:\n%s", code, e)
	}
	if code := c2.interrupt(t); code != 0 {
		_, e := c2.output()
		t.Fatalf("consumer 2 exited %d after Ctrl-C:\n%s", code, e)
	}
	l1, e1 := c1.output()
	l2, e2 := c2.output()
	if len(l1) == 0 || len(l2) == 0 {
		t.Fatalf("the group did not share the work: consumer 1 got %d, consumer 2 got %d", len(l1), len(l2))
	}
	if got := sortedCopy(append(append([]string{}, l1...), l2...)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("each event must reach exactly one consumer:\nconsumer 1: %q\nconsumer 2: %q", l1, l2)
	}
	for i, e := range []string{e1, e2} {
		n := []int{len(l1), len(l2)}[i]
		if !strings.Contains(e, fmt.Sprintf("Processed a total of %d messages", n)) {
			t.Fatalf("consumer %d report:\n%s", i+1, e)
		}
	}

	// 7. The group, now empty, committed everything its members printed.
	res = cli("", "groups", "--list")
	if !contains(lines(res.stdout), group) {
		t.Fatalf("groups --list lacks %s:\n%s", group, res.stdout)
	}
	res = cli("", "groups", "--describe", "--group", group)
	if !strings.Contains(res.stdout, "Consumer group '"+group+"' has no active members.") {
		t.Fatalf("describe of an empty group:\n%s", res.stdout)
	}
	after := endOffsets(t, adm, "first")
	rows, grown := 0, int64(0)
	for _, l := range lines(res.stdout) {
		f := strings.Fields(l)
		if len(f) != 9 || f[0] != group || f[1] != "first" {
			continue
		}
		rows++
		p, _ := strconv.Atoi(f[2])
		grown += after[int32(p)] - before[int32(p)]
		if after[int32(p)] == before[int32(p)] {
			continue // no shared event landed here; there may be nothing to commit
		}
		if f[3] != strconv.FormatInt(after[int32(p)], 10) || f[5] != "0" {
			t.Fatalf("partition %s: committed %s, lag %s; want %d and 0 (everything printed was committed):\n%s", f[2], f[3], f[5], after[int32(p)], res.stdout)
		}
	}
	if rows == 0 || grown != 30 {
		t.Fatalf("describe: want a row per committed partition covering 30 new events, got %d rows, %d events:\n%s", rows, grown, res.stdout)
	}

	// 8. Delete the topic.
	cli("", "topics", "--delete", "--topic", "first")
	testutil.EventuallyNoError(t, 30*time.Second, "topic first gone", func() error {
		res := cli("", "topics", "--list")
		if contains(lines(res.stdout), "first") {
			return fmt.Errorf("topics:\n%s", res.stdout)
		}
		return nil
	})
	expectCLI(t, 1, "topic 'first' does not exist", "", append([]string{"topics", "--describe", "--topic", "first"}, bs...)...)
}

func endOffsets(t *testing.T, adm *kadm.Client, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TestMain lets the binary-driven tests share one build; it changes nothing else.
func TestMain(m *testing.M) {
	code := m.Run()
	if cliBin.path != "" {
		_ = os.RemoveAll(strings.TrimSuffix(cliBin.path, "/rivulet"))
	}
	os.Exit(code)
}
