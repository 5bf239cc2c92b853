package brokerlite

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/kcattest"
	"github.com/rivulet-io/rivulet/internal/testutil"
)

// repoRoot is the module root, two levels up from this package's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find the source directory")
	}
	return filepath.Dir(filepath.Dir(file))
}

// brokerChild is a `rivulet broker` process.
type brokerChild struct {
	cmd  *exec.Cmd
	addr string
	done chan error
}

var listeningRe = regexp.MustCompile(`listening on (\S+)`)

// startBrokerChild builds cmd/rivulet into a temp dir and runs `rivulet broker` on a free
// loopback port, returning once it logged its address.
func startBrokerChild(t *testing.T) *brokerChild {
	t.Helper()
	return runBrokerChild(t, buildRivulet(t), t.TempDir())
}

// buildRivulet builds cmd/rivulet into a temp dir and returns the binary's path.
func buildRivulet(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rivulet")
	build := exec.Command("go", "build", "-o", bin, "./cmd/rivulet")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/rivulet: %v\n%s", err, out)
	}
	return bin
}

// runBrokerChild runs `rivulet broker` from bin over the data in dir on a free loopback
// port, with extra properties (key=value), returning once it logged its address.
func runBrokerChild(t *testing.T, bin, dir string, props ...string) *brokerChild {
	t.Helper()
	args := []string{"broker",
		"--override", "listeners=PLAINTEXT://127.0.0.1:0",
		"--override", "log.dirs=" + dir,
		"--override", "group.initial.rebalance.delay.ms=0",
		"--override", "offsets.topic.num.partitions=5"}
	for _, p := range props {
		args = append(args, "--override", p)
	}
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting rivulet broker: %v", err)
	}
	bc := &brokerChild{cmd: cmd, done: make(chan error, 1)}
	addrc := make(chan string, 1)
	var logTail []string
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if len(logTail) < 200 {
				logTail = append(logTail, line)
			}
			if m := listeningRe.FindStringSubmatch(line); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		}
		bc.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-bc.done
		}
	})
	select {
	case bc.addr = <-addrc:
	case err := <-bc.done:
		t.Fatalf("rivulet broker exited before listening: %v\n%s", err, strings.Join(logTail, "\n"))
	case <-time.After(60 * time.Second):
		t.Fatal("rivulet broker did not report its address within 60s")
	}
	return bc
}

// stop sends SIGTERM and expects a clean exit.
func (bc *brokerChild) stop(t *testing.T) {
	t.Helper()
	if err := bc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-bc.done:
		if err != nil {
			t.Fatalf("rivulet broker exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("rivulet broker did not stop within 30s of SIGTERM")
	}
}

// kcatGroup runs kcat as a balanced group consumer (-G) and returns the values it printed.
func kcatGroup(t *testing.T, kcat, addr, group, topic string, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"-b", addr, "-G", group, "-q", "-f", "%s\n",
		"-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000", "-X", "log_level=3"}, args...)
	full = append(full, topic)
	cmd := exec.CommandContext(ctx, kcat, full...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat %s: %v\nstderr:\n%s", strings.Join(full, " "), err, stderr.String())
	}
	var vals []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			vals = append(vals, l)
		}
	}
	sort.Strings(vals)
	return vals
}

// TestKcatGroupConsume: kcat (librdkafka) consumes with -G from a `rivulet broker` child
// process; its commits resume a second run where the first stopped, and the group shows
// in ListGroups with its committed offsets.
func TestKcatGroupConsume(t *testing.T) {
	kcat := kcattest.Path(t)
	bc := startBrokerChild(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(bc.addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "kc"); err != nil {
		t.Fatal(err)
	}
	produce := func(prefix string, n int) []string {
		var recs []*kgo.Record
		var vals []string
		for i := 0; i < n; i++ {
			v := fmt.Sprintf("%s-%03d", prefix, i)
			vals = append(vals, v)
			recs = append(recs, &kgo.Record{Topic: "kc", Partition: int32(i % 3), Value: []byte(v)})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		sort.Strings(vals)
		return vals
	}
	want := produce("first", 30)
	if got := kcatGroup(t, kcat, bc.addr, "kcat-group", "kc", "-c", "30"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("kcat -G read %v, want %v", got, want)
	}
	// librdkafka commits on close; the group's offsets are at the end of every partition.
	var offs kadm.OffsetResponses
	if !testutil.Poll(20*time.Second, func() bool {
		offs, err = adm.FetchOffsets(ctx, "kcat-group")
		if err != nil {
			return false
		}
		for p := int32(0); p < 3; p++ {
			if o, found := offs.Lookup("kc", p); !found || o.At != 10 {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("kcat's commits: %v %v", offs, err)
	}
	// A second run of the group reads only what was produced since.
	want = produce("second", 9)
	if got := kcatGroup(t, kcat, bc.addr, "kcat-group", "kc", "-c", "9"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("second kcat -G run read %v, want %v", got, want)
	}
	groups, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := groups["kcat-group"]; !ok {
		t.Fatalf("ListGroups: %v", groups.Groups())
	}
	bc.stop(t)
}

// kill sends SIGKILL and waits for the process to be gone.
func (bc *brokerChild) kill(t *testing.T) {
	t.Helper()
	if err := bc.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-bc.done:
	case <-time.After(30 * time.Second):
		t.Fatal("rivulet broker did not exit within 30s of SIGKILL")
	}
}
