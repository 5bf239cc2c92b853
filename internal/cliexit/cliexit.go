// Package cliexit is what the rivulet binary and the benchmark tool (benchmarks/bench, run
// as `rivulet bench`) share about how a command ends: the exit codes scripts rely on and
// the error that carries one out of a cobra command.
package cliexit

import (
	"fmt"

	"github.com/spf13/cobra"
)

// Exit codes scripts can rely on.
const (
	OK      = 0
	Failure = 1 // the command ran and failed (unreachable broker, unknown topic, a failed benchmark, ...)
	Usage   = 2 // bad flags or arguments
)

// Error carries a specific process exit code out of a command.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// FlagError is the flag error function of both command trees (cobra's SetFlagErrorFunc): a
// bad flag exits with Usage and points to the command's --help.
func FlagError(c *cobra.Command, err error) error {
	return &Error{Code: Usage, Err: fmt.Errorf("%w\nRun '%s --help' for usage", err, c.CommandPath())}
}
