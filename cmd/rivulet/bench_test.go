package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var harnessBuild struct {
	once sync.Once
	err  error
}

// buildHarness compiles benchmarks/bench once per test process before the first `rivulet
// bench`, so that compiling the peers (a minute or more with a cold build cache) does not
// count against one command's cliTimeout; rivulet bench then finds everything compiled.
func buildHarness(t *testing.T) {
	t.Helper()
	harnessBuild.once.Do(func() {
		out, err := exec.Command("go", "build", "-o", os.DevNull, "github.com/rivulet-io/rivulet/benchmarks/bench").CombinedOutput()
		if err != nil {
			harnessBuild.err = errors.New("go build ./benchmarks/bench: " + err.Error() + "\n" + string(out))
		}
	})
	if harnessBuild.err != nil {
		t.Fatal(harnessBuild.err)
	}
}

// TestBenchSmall runs `rivulet bench` (the built binary) with the broker,
// word count and latency suites at tiny sizes: it prints the table with
// ratios, rewrites its section of a RESULTS.md copy (keeping the other
// sections) and draws the plot.
func TestBenchSmall(t *testing.T) {
	buildHarness(t)
	dir := t.TempDir()
	results := filepath.Join(dir, "RESULTS.md")
	const other = "# Benchmark results\n\n## client\n\nclient figures\n"
	if err := os.WriteFile(results, []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	plot := filepath.Join(dir, "bench.svg")
	res := mustCLI(t, "", "bench", "broker", "wordcount", "latency", "--records", "4000", "--words", "20000", "--vocabulary", "300",
		"--rate", "300", "--duration", "1s", "--partitions", "2", "--threads", "1", "--commit-interval", "200ms",
		"--results", results, "--plot", plot)
	for _, want := range []string{
		"produce, acks=1", "produce, acks=-1 idempotent", "consume", "word count, 20k words", "p50", "p999",
		"brokerlite", "kfake", "rivulet", "goka", ">= 15.0x", "word count runs:", "latency runs:",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res)
		}
	}
	for _, want := range []string{"broker: produce, acks=1", "word count: writing the input", "word count: goka", "latency: rivulet"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("no progress for %q on stderr:\n%s", want, res.stderr)
		}
	}
	b, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	if !strings.HasPrefix(md, other) || !strings.Contains(md, "## Word count and latency\n") ||
		!strings.Contains(md, "- Command: `rivulet bench broker wordcount latency --records 4000") || !strings.Contains(md, "nproc") {
		t.Errorf("RESULTS.md:\n%s", md)
	}
	if b, err := os.ReadFile(plot); err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("plot: %v", err)
	}
}

// TestBenchStreamsSmall runs two cases of `rivulet bench streams` with
// every system, prints the per-case table to stdout only (no results file
// is written unless asked), and with --results writes the streams section.
func TestBenchStreamsSmall(t *testing.T) {
	buildHarness(t)
	dir := t.TempDir()
	res := mustCLI(t, "", "bench", "streams", "--cases", "streamcount,streamtablejoin", "--records", "2000",
		"--partitions", "2", "--threads", "1", "--commit-interval", "100ms", "--plot", filepath.Join(dir, "s.svg"))
	for _, want := range []string{"streams streamcount", "rivulet / franz-go", "franz-go", "goka", "MB/s", ">= 0.6x"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res)
		}
	}
	if strings.Contains(res.stdout, "recorded in") {
		t.Errorf("results written without --results:\n%s", res.stdout)
	}
	if !strings.Contains(res.stderr, "streams streamtablejoin: goka") {
		t.Errorf("no progress on stderr:\n%s", res.stderr)
	}
	results := filepath.Join(dir, "RESULTS.md")
	if err := os.WriteFile(results, []byte("# Benchmark results\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, "", "bench", "streams", "--cases", "consume", "--records", "1000", "--partitions", "1", "--threads", "1",
		"--systems", "rivulet,franz-go", "--results", results)
	b, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	if md := string(b); !strings.Contains(md, "## Streams suite (SimpleBenchmark cases)") || !strings.Contains(md, "| consume |") ||
		!strings.Contains(md, "Load average") {
		t.Errorf("RESULTS.md:\n%s", md)
	}
}

func TestBenchUsage(t *testing.T) {
	buildHarness(t)
	expectCLI(t, exitUsage, "unknown suite", "", "bench", "nosuch")
	expectCLI(t, exitUsage, "--plot", "", "bench", "--plot", "x.png")
	expectCLI(t, exitUsage, "--acks", "", "bench", "--acks", "2")
	expectCLI(t, exitUsage, "--systems", "", "bench", "--systems", "flink")
	expectCLI(t, exitUsage, "sizes must be positive", "", "bench", "--words", "0")
	expectCLI(t, exitUsage, "--results", "", "bench", "broker", "--results", "/nonexistent/RESULTS.md")
	expectCLI(t, exitUsage, "--cases", "", "bench", "streams", "--cases", "nosuch")
	expectCLI(t, exitUsage, "sizes must be positive", "", "bench", "streams", "--distinct-keys", "0")
	res := mustCLI(t, "", "bench", "--help")
	if !strings.Contains(res.stdout, "Examples:") || !strings.Contains(res.stdout, "rivulet bench wordcount --words 10000000") {
		t.Errorf("help lacks examples:\n%s", res.stdout)
	}
}

// TestBenchNeedsSourceTree runs `rivulet bench` outside a clone of the repository: it fails
// with exit code 1 and says how to point it at one, and RIVULET_SOURCE must name a clone.
func TestBenchNeedsSourceTree(t *testing.T) {
	bin := cliBinary(t)
	run := func(env ...string) (int, string) {
		cmd := exec.Command(bin, "bench", "--help")
		cmd.Dir = t.TempDir()
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, sourceEnv+"=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("rivulet bench outside the source tree: want a failure, got %v\n%s", err, stderr.String())
		}
		return ee.ExitCode(), stderr.String()
	}
	if code, stderr := run(); code != exitFailure || !strings.Contains(stderr, "not inside a clone") || !strings.Contains(stderr, sourceEnv) {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	if code, stderr := run(sourceEnv + "=" + t.TempDir()); code != exitFailure || !strings.Contains(stderr, "is not a clone") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}
