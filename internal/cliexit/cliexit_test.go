package cliexit

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestFlagErrorIsAUsageErrorPointingToHelp(t *testing.T) {
	root := &cobra.Command{Use: "rivulet"}
	sub := &cobra.Command{Use: "topics"}
	root.AddCommand(sub)
	cause := errors.New("unknown flag: --nope")
	err := FlagError(sub, cause)
	var e *Error
	if !errors.As(err, &e) || e.Code != Usage {
		t.Fatalf("FlagError = %#v, want an *Error with code %d", err, Usage)
	}
	if !errors.Is(err, cause) {
		t.Errorf("FlagError does not wrap its cause")
	}
	if want := "unknown flag: --nope\nRun 'rivulet topics --help' for usage"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	if !strings.Contains((&Error{Code: Failure, Err: cause}).Error(), "--nope") {
		t.Errorf("Error does not show its cause")
	}
}
