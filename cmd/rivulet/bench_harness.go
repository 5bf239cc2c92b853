package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

func init() { rootCmd.AddCommand(newBenchCmd()) }

// The harness is a main package of its own (benchmarks/bench), so that its peers (goka,
// sarama, kfake) are compiled only for benchmarks and never into this binary.
const (
	benchPackage = "./benchmarks/bench"
	modulePath   = "github.com/rivulet-io/rivulet"
	// sourceEnv names a clone of the repository for `rivulet bench` run outside one.
	sourceEnv = "RIVULET_SOURCE"
)

func newBenchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "bench [broker] [wordcount] [latency] [streams] [flags]",
		Short: "Measure Rivulet side by side with kfake, goka and hand-written franz-go programs, and report the ratios",
		Long: `bench runs the benchmark harness: brokerlite against kfake, Rivulet's word count and
latency against goka, and Kafka Streams' SimpleBenchmark cases against hand-written
franz-go programs and goka, each pair in the same run on the same data.

The harness and its peers (goka, sarama, kfake) are not part of this binary. rivulet bench
must run in a clone of the Rivulet repository (or with ` + sourceEnv + ` set to one): it
builds the main package benchmarks/bench there with the go tool, into the user cache
directory, and runs it with the same arguments in the current directory. The first build
compiles the peers (a minute or more on two cores); later runs reuse it. In the clone,
go run ./benchmarks/bench [suites] [flags] does the same without this binary.

rivulet bench --help prints the harness's own help: the suites, every flag, and where
results are written (stdout only, unless --results FILE).`,
		Example: `  # the suites, their flags and examples
  rivulet bench --help

  # everything at the default sizes (a few minutes on 2 cores)
  rivulet bench --plot bench.svg

  # the word count at 10M words, 8 partitions
  rivulet bench wordcount --words 10000000 --partitions 8

  # from outside the clone
  RIVULET_SOURCE=~/src/rivulet rivulet bench streams --cases streamcount`,
		// Every argument, --help included, is the harness's.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchHarness(cmd, args)
		},
	}
}

// runBenchHarness builds benchmarks/bench from the source tree and runs it with args,
// passing its output, exit code and signals through.
func runBenchHarness(cmd *cobra.Command, args []string) error {
	root, err := findSourceTree()
	if err != nil {
		return failuref("bench: %v", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return failuref("bench: the harness is built with the go tool, which is not on PATH: %v", err)
	}
	bin, err := benchBinaryPath(root)
	if err != nil {
		return failuref("bench: %v", err)
	}
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "rivulet bench: building the harness (go build %s in %s; the first build compiles goka, sarama and kfake)\n", benchPackage, root)
	build := exec.Command(goTool, "build", "-o", bin, benchPackage)
	build.Dir = root
	build.Stdout, build.Stderr = stderr, stderr
	if err := build.Run(); err != nil {
		return failuref("bench: building %s in %s: %v", benchPackage, root, err)
	}

	harness := exec.Command(bin, args...)
	harness.Stdin, harness.Stdout, harness.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), stderr
	// Ctrl-C reaches the harness from the terminal as well; a signal sent to this process
	// alone is passed on, so the harness stops its brokers and apps either way.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := harness.Start(); err != nil {
		return failuref("bench: starting the harness: %v", err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = harness.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = harness.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if code <= 0 {
			code = exitFailure // ended by a signal
		}
		return &exitError{Code: code, Err: errReported}
	}
	if err != nil {
		return failuref("bench: running the harness: %v", err)
	}
	return nil
}

// errReported is the error of a command that has already told the user what went wrong:
// run exits with its code and prints nothing more.
var errReported = errors.New("reported")

// findSourceTree returns the root of the Rivulet repository: $RIVULET_SOURCE if set, else
// the nearest directory at or above the current one whose go.mod is Rivulet's module.
func findSourceTree() (string, error) {
	if dir := os.Getenv(sourceEnv); dir != "" {
		if !isRivuletRoot(dir) {
			return "", fmt.Errorf("%s=%s is not a clone of the Rivulet repository (no go.mod of module %s with %s)", sourceEnv, dir, modulePath, benchPackage)
		}
		return filepath.Abs(dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		if isRivuletRoot(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("the harness is built from Rivulet's source, and %s is not inside a clone of the repository: run rivulet bench in the clone, or set %s to it", wd, sourceEnv)
		}
		dir = parent
	}
}

// isRivuletRoot reports whether dir holds Rivulet's go.mod and the harness package.
func isRivuletRoot(dir string) bool {
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	found := false
	for _, line := range bytes.Split(mod, []byte("\n")) {
		if f := bytes.Fields(line); len(f) == 2 && string(f[0]) == "module" {
			found = string(bytes.Trim(f[1], `"`)) == modulePath
			break
		}
	}
	if !found {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, benchPackage))
	return err == nil && fi.IsDir()
}

// benchBinaryPath is where the harness built from root is kept between runs, so that go
// build, finding it up to date, does not link it again.
func benchBinaryPath(root string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(base, "rivulet", "bench-"+hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("a directory for the harness binary: %w", err)
	}
	return filepath.Join(dir, "rivulet-bench"), nil
}
