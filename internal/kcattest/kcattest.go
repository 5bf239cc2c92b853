// Package kcattest runs kcat (librdkafka's command-line client) from tests, so that the
// broker and the tools are checked against a client that is not franz-go. It is for tests
// only.
package kcattest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Path returns kcat's path. In CI (CI set) a missing kcat fails the test; elsewhere the
// test is skipped with how to install it.
func Path(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("kcat is required in CI: %v (bash scripts/install-tools.sh installs it)", err)
	}
	t.Skip("kcat not found: install it with `bash scripts/install-tools.sh` (Debian package kcat)")
	return ""
}

// Run runs kcat with args and stdin, for timeout at most, and returns its stdout, its
// stderr and how it ended.
func Run(kcat string, timeout time.Duration, stdin string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}
