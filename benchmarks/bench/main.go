// Command bench is the benchmark harness's command line, `rivulet bench`: it measures
// Rivulet side by side with its peers (kfake, goka, hand-written franz-go programs) through
// package benchmarks/harness and prints the ratios.
//
// It is a program of its own so that the peers and their dependencies (goka, sarama, kfake)
// are compiled only for benchmarks: `rivulet bench` builds this package from the source
// tree with the go tool and runs it with the same arguments. In a clone of the repository,
// `go run ./benchmarks/bench [suites] [flags]` runs it directly; `--help` lists the suites
// and flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rivulet-io/rivulet/internal/cliexit"
)

// exitError carries a specific process exit code out of the command.
type exitError = cliexit.Error

// Exit codes, the same as the rivulet binary's.
const (
	exitOK      = cliexit.OK
	exitFailure = cliexit.Failure // the benchmark ran and failed
	exitUsage   = cliexit.Usage
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	// The command tree is "rivulet bench", so that help, usage errors and the command line
	// recorded in a results file read as the user typed them.
	root := &cobra.Command{Use: "rivulet", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newBenchCmd(args))
	root.SetArgs(append([]string{"bench"}, args...))
	root.SetFlagErrorFunc(cliexit.FlagError)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "rivulet:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return exitFailure
}

// usageErrorf is a bad-flag error: exit code 2, with a pointer to --help.
func usageErrorf(cmd *cobra.Command, format string, args ...any) error {
	return &exitError{Code: exitUsage, Err: fmt.Errorf("%s: %s\nRun '%s --help' for usage", cmd.Name(), fmt.Sprintf(format, args...), cmd.CommandPath())}
}

// failuref is a benchmark that ran and failed: exit code 1.
func failuref(format string, args ...any) error {
	return &exitError{Code: exitFailure, Err: fmt.Errorf(format, args...)}
}

// signalContext is cancelled by SIGINT or SIGTERM, so Ctrl-C ends a run cleanly.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
