package main

// Helpers for tests that run the rivulet binary as a user types it.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

var cliBin struct {
	once sync.Once
	path string
	err  error
}

// cliBinary builds ./cmd/rivulet once per test process into a temp dir.
func cliBinary(t *testing.T) string {
	t.Helper()
	cliBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "rivulet-cli-test-")
		if err != nil {
			cliBin.err = err
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			cliBin.err = fmt.Errorf("the go tool is not on PATH: %v", err)
			return
		}
		cliBin.path = filepath.Join(dir, "rivulet")
		out, err := exec.Command(goTool, "build", "-o", cliBin.path, ".").CombinedOutput()
		if err != nil {
			cliBin.err = fmt.Errorf("go build ./cmd/rivulet: %v\n%s", err, out)
		}
	})
	if cliBin.err != nil {
		t.Fatal(cliBin.err)
	}
	return cliBin.path
}

type cliResult struct {
	stdout, stderr string
	code           int
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// cliTimeout bounds one command, so a hang fails the test instead of the whole run.
const cliTimeout = 90 * time.Second

// runCLI runs `rivulet args...` with stdin and returns what it printed and its exit code.
func runCLI(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cliBinary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("rivulet %s: %v", strings.Join(args, " "), err)
		}
		res.code = ee.ExitCode()
	}
	if ctx.Err() != nil {
		t.Fatalf("rivulet %s: still running after %v\n%s", strings.Join(args, " "), cliTimeout, res)
	}
	return res
}

// mustCLI is runCLI that fails the test on a non-zero exit.
func mustCLI(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	res := runCLI(t, stdin, args...)
	if res.code != 0 {
		t.Fatalf("rivulet %s:\n%s", strings.Join(args, " "), res)
	}
	return res
}

// expectCLI runs a command that must fail with code, printing want on stderr.
func expectCLI(t *testing.T, code int, want string, stdin string, args ...string) cliResult {
	t.Helper()
	res := runCLI(t, stdin, args...)
	if res.code != code || !strings.Contains(res.stderr, want) {
		t.Fatalf("rivulet %s: want exit %d and %q on stderr, got:\n%s", strings.Join(args, " "), code, want, res)
	}
	return res
}

// bgCLI is a rivulet command running in the background (a consumer), its stdout collected
// line by line.
type bgCLI struct {
	cmd    *exec.Cmd
	done   chan struct{}
	mu     sync.Mutex
	lines  []string
	stderr bytes.Buffer
}

func startCLI(t *testing.T, args ...string) *bgCLI {
	t.Helper()
	p := &bgCLI{cmd: exec.Command(cliBinary(t), args...), done: make(chan struct{})}
	p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		_ = p.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	})
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (p *bgCLI) output() ([]string, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string{}, p.lines...), p.stderr.String()
}

// interrupt sends SIGINT (Ctrl-C) and waits for the exit; it returns the exit code.
func (p *bgCLI) interrupt(t *testing.T) int {
	t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(cliTimeout):
		_, errOut := p.output()
		t.Fatalf("rivulet did not exit within %v of SIGINT:\n%s", cliTimeout, errOut)
	}
	return p.cmd.ProcessState.ExitCode()
}

// adminFor is a kadm client for checks made by the test itself.
func adminFor(t *testing.T, bootstrap string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(bootstrap, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	t.Cleanup(adm.Close)
	return adm
}

// waitGroupMembers waits until group has n members that between them own every partition of
// topic (a finished rebalance).
func waitGroupMembers(t *testing.T, adm *kadm.Client, group, topic string, n, partitions int) {
	t.Helper()
	testutil.EventuallyNoError(t, 60*time.Second, fmt.Sprintf("group %s with %d members owning %d partitions", group, n, partitions), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		described, err := adm.DescribeGroups(ctx, group)
		if err != nil {
			return err
		}
		d := described[group]
		owned := 0
		for _, m := range d.Members {
			if c, ok := m.Assigned.AsConsumer(); ok {
				for _, tp := range c.Topics {
					if tp.Topic == topic {
						owned += len(tp.Partitions)
					}
				}
			}
		}
		if d.State != "Stable" || len(d.Members) != n || owned != partitions {
			return fmt.Errorf("state %s, %d members, %d partitions owned", d.State, len(d.Members), owned)
		}
		return nil
	})
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func sortedCopy(xs []string) []string {
	out := append([]string{}, xs...)
	sort.Strings(out)
	return out
}

// lines splits command output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
