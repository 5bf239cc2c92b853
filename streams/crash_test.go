package streams_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// buildTestApp builds streams/internal/testapp once per test binary.
var buildTestApp = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "rivulet-testapp")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "testapp")
	cmd := exec.Command("go", "build", "-o", bin, "./internal/testapp")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build testapp: %v\n%s", err, out)
	}
	return bin, nil
})

type child struct {
	cmd *exec.Cmd
	out *bytes.Buffer
	mu  *sync.Mutex
}

func (c *child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func startChild(t *testing.T, bin string, args ...string) *child {
	t.Helper()
	c := &child{out: new(bytes.Buffer), mu: new(sync.Mutex)}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Stdout = lockedWriter{c.mu, c.out}
	c.cmd.Stderr = lockedWriter{c.mu, c.out}
	must(t, c.cmd.Start())
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	return c
}

// waitOutput polls the child's output until it contains s.
func (c *child) waitOutput(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(c.output(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("testapp never printed %q:\n%s", s, c.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *child) kill(t *testing.T) {
	t.Helper()
	must(t, c.cmd.Process.Signal(syscall.SIGKILL))
	c.cmd.Wait()
	if testing.Verbose() {
		t.Logf("killed testapp; its output:\n%s", c.output())
	}
}

func (c *child) stop(t *testing.T) {
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
	// on one of them so that restarts are quick and both paths run.
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
			killAndRestart(t, bin, br, inMemory, br.name == "brokerlite")
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

	// The producer writes batches in the background while the app is
	// killed and restarted.
	want := map[string]int64{}
	for i := 0; i < total; i++ {
		want[fmt.Sprintf("k%02d", i%keys)]++
	}
	prodDone := make(chan error, 1)
	go func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(br.addrs...))
		if err != nil {
			prodDone <- err
			return
		}
		defer cl.Close()
		per := total / batches
		for b := 0; b < batches; b++ {
			var recs []*kgo.Record
			for i := b * per; i < (b+1)*per; i++ {
				recs = append(recs, &kgo.Record{Topic: in, Key: []byte(fmt.Sprintf("k%02d", i%keys)), Value: []byte(fmt.Sprintf("id%05d", i))})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			err := cl.ProduceSync(ctx, recs...).FirstErr()
			cancel()
			if err != nil {
				prodDone <- err
				return
			}
			time.Sleep(150 * time.Millisecond) // pace the input so the kills land mid-stream
		}
		prodDone <- nil
	}()

	// Watch the counts topic; the kills happen once output shows progress.
	seen := 0 // count updates seen so far
	progress := func(c *child, more int) {
		t.Helper()
		want := seen + more
		rs := consumeUntil(t, br.addrs, counts, 60*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= want })
		if len(rs) < want {
			t.Fatalf("no progress: %d count updates, want %d; app output:\n%s", len(rs), want, c.output())
		}
		seen = len(rs)
	}
	c := startChild(t, bin, args...)
	progress(c, 1)
	c.kill(t)
	c = startChild(t, bin, args...)
	c.waitOutput(t, "started")
	progress(c, 5)
	c.kill(t)
	c = startChild(t, bin, args...)
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
		t.Fatalf("%d of %d input records never reached the output (lost)\napp output:\n%s", missing, total, c.output())
	}
	// Final counts: never below the truth.
	var last map[string]int64
	consumeUntil(t, br.addrs, counts, 90*time.Second, func(rs []*kgo.Record) bool {
		last = lastValues(rs, i64)
		for k, n := range want {
			if last[k] < n {
				return false
			}
		}
		return true
	})
	for k, n := range want {
		if last[k] < n {
			t.Errorf("count of %s = %d, below the true count %d", k, last[k], n)
		}
	}
	over := int64(0)
	for k, n := range want {
		over += last[k] - n
	}
	t.Logf("%s: %d records, %d keys; counts over the truth by %d in total (at-least-once duplicates after the kills)", br.name, total, keys, over)
	c.stop(t)
}
