// Command rivulet is the one binary of the Rivulet project: a bundled Kafka-compatible broker,
// Kafka-style tools (topics, produce, consume, groups), the demos, and `rivulet bench`, which
// builds and runs the benchmark harness (benchmarks/bench) from the source tree.
//
// Each subcommand lives in its own file and registers itself with the root command from an
// init function, so that commands can be added without touching this file.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rivulet-io/rivulet/internal/cliexit"
)

// rootCmd is the top of the command tree; subcommands add themselves to it in init functions.
var rootCmd = &cobra.Command{
	Use:   "rivulet",
	Short: "Kafka Streams for Go, with a Kafka-compatible broker in the box",
	Long: `rivulet runs a bundled Kafka-compatible broker, Kafka-style command-line tools
(topics, produce, consume, groups, configs, acls, transactions), the reset and describe
tools of stream applications (streams), a web console, the word-count demo and the benchmark
harness.

Every tool speaks the Kafka wire protocol, so it works against the embedded broker and
against any Kafka or Redpanda cluster alike.`,
	Example: `  rivulet demo wordcount
  rivulet broker --config config/server.properties
  rivulet topics --bootstrap-server 127.0.0.1:9092 --list`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

// exitError carries a specific process exit code out of a command.
type exitError = cliexit.Error

// Exit codes scripts can rely on, the same for `rivulet bench`.
const (
	exitOK      = cliexit.OK
	exitFailure = cliexit.Failure
	exitUsage   = cliexit.Usage
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	rootCmd.SetArgs(args)
	rootCmd.SetFlagErrorFunc(cliexit.FlagError)
	err := rootCmd.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) && errors.Is(ee.Err, errReported) {
		return ee.Code
	}
	fmt.Fprintln(os.Stderr, "rivulet:", err)
	if errors.As(err, &ee) {
		return ee.Code
	}
	if strings.HasPrefix(err.Error(), "unknown command ") {
		return exitUsage // cobra's own usage error, not a typed one
	}
	return exitFailure
}
