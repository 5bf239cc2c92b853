// Package kafkajstest runs KafkaJS, a Kafka client written in JavaScript, from tests, so that
// the broker is checked against a client that shares no code with franz-go, sarama or
// librdkafka. The client and its script live in js/; scripts/install-tools.sh installs Node.js
// and the client (npm ci). It is for tests only.
package kafkajstest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Dir returns the directory of the KafkaJS script, with the client installed. In CI (CI set)
// a missing Node.js or client fails the test; elsewhere the test is skipped with how to
// install them.
func Dir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("kafkajstest: cannot find its own source directory")
	}
	dir := filepath.Join(filepath.Dir(file), "js")
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node (Node.js) is not on PATH"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "kafkajs", "package.json")); err != nil {
		missing = "KafkaJS is not installed in " + dir
	}
	if missing == "" {
		return dir
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s; it is required in CI (bash scripts/install-tools.sh installs Node.js and runs npm ci there)", missing)
	}
	t.Skipf("%s: install it with `bash scripts/install-tools.sh` (Debian packages nodejs and npm, then npm ci in internal/kafkajstest/js)", missing)
	return ""
}

// Run runs script (a file in dir) with node and env added to the environment, for timeout
// at most, and returns its combined output and how it ended.
func Run(dir, script string, timeout time.Duration, env ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
