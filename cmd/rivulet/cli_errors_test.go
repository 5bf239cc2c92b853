package main

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

// TestHelpHasExamples checks every tool documents itself with an example and the default
// broker address, and that --help exits 0.
func TestHelpHasExamples(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"topics", "produce", "consume", "groups"} {
		res := mustCLI(t, "", tool, "--help")
		for _, want := range []string{"Examples:", "rivulet " + tool + " ", "--bootstrap-server", defaultBootstrap, "Exit codes"} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("%s --help lacks %q:\n%s", tool, want, res.stdout)
			}
		}
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"nosuchcommand"}, `unknown command "nosuchcommand"`},
		{[]string{"topics", "--lst"}, "unknown flag: --lst"},
		{[]string{"topics"}, "give exactly one action"},
		{[]string{"topics", "--list", "--describe"}, "give exactly one action"},
		{[]string{"topics", "--create"}, "--topic is required"},
		{[]string{"topics", "--create", "--topic", "x", "--partitions", "0"}, "--partitions must be at least 1"},
		{[]string{"topics", "--alter", "--topic", "x"}, "--alter needs --partitions"},
		{[]string{"topics", "--describe", "--topic", "("}, "not a valid regular expression"},
		{[]string{"topics", "--create", "--topic", "x", "--config", "novalue"}, "want key=value"},
		{[]string{"topics", "--list", "stray"}, `unexpected argument "stray"`},
		{[]string{"topics", "--list", "--command-property", "linger.msx=1"}, `unknown property "linger.msx"`},
		{[]string{"produce"}, "--topic is required"},
		{[]string{"produce", "--topic", "t", "--property", "parse.keys=true"}, `unknown property "parse.keys"`},
		{[]string{"produce", "--topic", "t", "--acks", "2"}, `acks="2": want all, -1, 0 or 1`},
		{[]string{"produce", "--topic", "t", "--compression", "brotli"}, `unknown codec "brotli"`},
		{[]string{"produce", "--topic", "t", "--producer-property", "lingerms=5"}, `did you mean "linger.ms"?`},
		{[]string{"consume"}, "--topic is required"},
		{[]string{"consume", "--topic", "t", "--offset", "5"}, "--offset needs --partition"},
		{[]string{"consume", "--topic", "t", "--group", "g", "--partition", "0"}, "--group and --partition cannot be used together"},
		{[]string{"consume", "--topic", "t", "--partition", "0", "--offset", "x"}, `--offset "x"`},
		{[]string{"consume", "--topic", "t", "--partition", "0", "--offset", "1", "--from-beginning"}, "--from-beginning and --offset"},
		{[]string{"consume", "--topic", "t", "--value-deserializer", "avro"}, `unknown deserializer "avro"`},
		{[]string{"consume", "--topic", "t", "--property", "print.keys=true"}, `unknown property "print.keys"`},
		{[]string{"consume", "--topic", "t", "--from-beginning", "--consumer-property", "auto.offset.reset=latest"}, "disagree"},
		{[]string{"consume", "--topic", "t", "--consumer.config", "/does/not/exist.properties"}, "--consumer.config"},
		{[]string{"groups"}, "give exactly one action"},
		{[]string{"groups", "--describe"}, "--group G (or --all-groups) is required"},
		{[]string{"groups", "--reset-offsets", "--group", "g", "--topic", "t"}, "needs exactly one target"},
		{[]string{"groups", "--reset-offsets", "--group", "g", "--to-earliest"}, "needs --topic"},
		{[]string{"groups", "--reset-offsets", "--group", "g", "--topic", "t", "--to-earliest", "--dry-run", "--execute"}, "not both"},
		{[]string{"groups", "--reset-offsets", "--group", "g", "--topic", "t", "--to-datetime", "yesterday"}, "--to-datetime"},
		{[]string{"groups", "--reset-offsets", "--group", "g", "--topic", "t:x", "--to-earliest"}, "want TOPIC or TOPIC:PARTITION"},
		{[]string{"groups", "--list", "--to-earliest"}, "apply only to --reset-offsets"},
		{[]string{"groups", "--describe", "--group", "g", "--members", "--state"}, "at most one of"},
	}
	for _, tc := range cases {
		// Usage errors come before any connection: point at a closed port to be sure.
		args := append(append([]string{}, tc.args...), "--bootstrap-server", "127.0.0.1:1")
		if tc.args[0] == "nosuchcommand" {
			args = tc.args
		}
		res := expectCLI(t, exitUsage, tc.want, "", args...)
		if strings.Contains(res.stderr, "cannot reach") {
			t.Errorf("%v: a usage error must not try to connect:\n%s", tc.args, res)
		}
	}
}

// TestUnreachableBroker: the error names the address and suggests `rivulet broker`, within
// the connect timeout, for a closed port and for a port that accepts but never answers.
func TestUnreachableBroker(t *testing.T) {
	t.Parallel()
	closed := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	for _, tool := range [][]string{
		{"topics", "--list"},
		{"produce", "--topic", "t"},
		{"consume", "--topic", "t"},
		{"groups", "--list"},
	} {
		args := append(tool, "--bootstrap-server", closed)
		res := expectCLI(t, exitFailure, "cannot reach a Kafka broker at "+closed, "x\n", args...)
		for _, want := range []string{"connection refused", "rivulet broker", "--bootstrap-server"} {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", tool, want, res.stderr)
			}
		}
	}

	// A listener that accepts and stays silent: the bound applies.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	res := expectCLI(t, exitFailure, "cannot reach a Kafka broker at "+l.Addr().String()+" within 1s", "", "topics", "--list", "--bootstrap-server", l.Addr().String(), "--connect-timeout", "1s")
	if !strings.Contains(res.stderr, "no Kafka answer in time") {
		t.Errorf("silent listener:\n%s", res.stderr)
	}
}

// TestUnknownTopics: describe, alter, delete and consume of a missing topic fail with exit 1
// and say so; produce to a missing topic on a broker that does not create topics reports
// each failed line and exits 1.
func TestUnknownTopics(t *testing.T) {
	t.Parallel()
	bs := newKfake(t, 1)
	expectCLI(t, exitFailure, "topic 'nope' does not exist", "", "topics", "--describe", "--topic", "nope", "--bootstrap-server", bs)
	expectCLI(t, exitFailure, "topic 'nope' does not exist", "", "topics", "--delete", "--topic", "nope", "--bootstrap-server", bs)
	expectCLI(t, exitFailure, "topic 'nope' does not exist", "", "topics", "--alter", "--topic", "nope", "--partitions", "3", "--bootstrap-server", bs)
	mustCLI(t, "", "topics", "--delete", "--topic", "nope", "--if-exists", "--bootstrap-server", bs)
	mustCLI(t, "", "topics", "--describe", "--topic", "nope", "--if-exists", "--bootstrap-server", bs)
	expectCLI(t, exitFailure, "topic 'nope' does not exist", "", "consume", "--topic", "nope", "--bootstrap-server", bs)

	res := expectCLI(t, exitFailure, "2 record(s) failed", "a\nb\n", "produce", "--topic", "nope", "--bootstrap-server", bs)
	for _, want := range []string{"line 1 (key null, value 1 bytes): topic 'nope' does not exist", "line 2 ", "0 record(s) sent to topic nope, 2 failed"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("produce stderr lacks %q:\n%s", want, res.stderr)
		}
	}

	mustCLI(t, "", "topics", "--create", "--topic", "t", "--partitions", "2", "--bootstrap-server", bs)
	expectCLI(t, exitFailure, "topic 't' already exists", "", "topics", "--create", "--topic", "t", "--bootstrap-server", bs)
	mustCLI(t, "", "topics", "--create", "--topic", "t", "--if-not-exists", "--bootstrap-server", bs)
	expectCLI(t, exitFailure, "has 2 partition(s); there is no partition 5", "", "consume", "--topic", "t", "--partition", "5", "--bootstrap-server", bs)
	expectCLI(t, exitFailure, "INVALID_PARTITIONS", "", "topics", "--alter", "--topic", "t", "--partitions", "1", "--bootstrap-server", bs)
	expectCLI(t, exitFailure, "consumer group 'nope' does not exist", "", "groups", "--describe", "--group", "nope", "--bootstrap-server", bs)
}
