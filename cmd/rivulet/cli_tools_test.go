package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

// onBothBrokers runs a test against a one-broker kfake cluster and a `rivulet broker` child.
func onBothBrokers(t *testing.T, test func(t *testing.T, bootstrap string)) {
	t.Run("kfake", func(t *testing.T) {
		t.Parallel()
		test(t, newKfake(t, 1))
	})
	t.Run("rivulet-broker", func(t *testing.T) {
		t.Parallel()
		test(t, startRivuletBroker(t))
	})
}

// cliAgainst is mustCLI with --bootstrap-server bs added to every command.
func cliAgainst(t *testing.T, bs string) func(stdin string, args ...string) cliResult {
	return func(stdin string, args ...string) cliResult {
		t.Helper()
		return mustCLI(t, stdin, append(args, "--bootstrap-server", bs)...)
	}
}

// TestProduceConsumeFormats covers the line reader and the message formatter end to end.
func TestProduceConsumeFormats(t *testing.T) {
	t.Parallel()
	onBothBrokers(t, testProduceConsumeFormats)
}

func testProduceConsumeFormats(t *testing.T, bs string) {
	b := []string{"--bootstrap-server", bs}
	cli := cliAgainst(t, bs)
	cli("", "topics", "--create", "--topic", "fmt", "--partitions", "1")

	// Headers, keys, a null key and value by marker, CRLF line ends, a file as input.
	input := "h1:v1,h2:v2\tk1:v1\r\n\tk2:v2\n\tNULL:NULL\n"
	file := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(file, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	res := cli("", "produce", "--topic", "fmt", "--file", file, "--acks", "1", "--compression", "zstd",
		"--property", "parse.headers=true", "--property", "parse.key=true", "--property", "key.separator=:", "--property", "null.marker=NULL")
	if !strings.Contains(res.stderr, "3 record(s) sent to topic fmt, 0 failed (end of input)") {
		t.Fatalf("produce:\n%s", res)
	}
	res = cli("", "consume", "--topic", "fmt", "--from-beginning", "--max-messages", "3",
		"--property", "print.key=true", "--property", "print.headers=true", "--property", "print.partition=true",
		"--property", "print.offset=true", "--property", "key.separator=|")
	want := "Partition:0|Offset:0|h1:v1,h2:v2|k1|v1\n" +
		"Partition:0|Offset:1|NO_HEADERS|k2|v2\n" +
		"Partition:0|Offset:2|NO_HEADERS|null|null\n"
	if res.stdout != want {
		t.Fatalf("consume printed:\n%q\nwant:\n%q", res.stdout, want)
	}
	res = cli("", "consume", "--topic", "fmt", "--from-beginning", "--max-messages", "1", "--property", "print.timestamp=true")
	if !strings.HasPrefix(res.stdout, "CreateTime:") || !strings.HasSuffix(res.stdout, "\tv1\n") {
		t.Fatalf("timestamp line %q", res.stdout)
	}

	// A bad line is reported and skipped; the others are sent; the exit code says so.
	res = runCLI(t, "good:1\nbad-line\nalso:2\n", append([]string{"produce", "--topic", "fmt", "--property", "parse.key=true", "--property", "key.separator=:"}, b...)...)
	if res.code != exitFailure || !strings.Contains(res.stderr, "line 2: no key separator") || !strings.Contains(res.stderr, "2 record(s) sent to topic fmt, 1 failed") {
		t.Fatalf("bad line:\n%s", res)
	}

	// --partition and --offset, and --timeout-ms ending a quiet wait with exit 0.
	res = cli("", "consume", "--topic", "fmt", "--partition", "0", "--offset", "3", "--timeout-ms", "1500", "--property", "print.offset=true")
	if res.stdout != "Offset:3\t1\nOffset:4\t2\n" || !strings.Contains(res.stderr, "Processed a total of 2 messages") {
		t.Fatalf("partition/offset:\n%s", res)
	}
	res = cli("", "consume", "--topic", "fmt", "--partition", "0", "--offset", "latest", "--timeout-ms", "300")
	if res.stdout != "" || !strings.Contains(res.stderr, "Processed a total of 0 messages") {
		t.Fatalf("latest:\n%s", res)
	}

	// Binary values: int64 (Kafka's LongSerde, as word count writes), and a value that is not
	// 8 bytes stops the tool unless told to skip it.
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(bs, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cli("", "topics", "--create", "--topic", "counts", "--partitions", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, n := range []int64{42, -7} {
		v := make([]byte, 8)
		binary.BigEndian.PutUint64(v, uint64(n))
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "counts", Key: []byte("w" + strconv.Itoa(i)), Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "counts", Key: []byte("bad"), Value: []byte("xyz")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	res = runCLI(t, "", append([]string{"consume", "--topic", "counts", "--from-beginning", "--timeout-ms", "1500", "--value-deserializer", "int64", "--property", "print.key=true"}, b...)...)
	if res.code != exitFailure || res.stdout != "w0\t42\nw1\t-7\n" || !strings.Contains(res.stderr, "counts[0] offset 2: value: int64: want 8 bytes, got 3") {
		t.Fatalf("int64 with a bad record:\n%s", res)
	}
	res = cli("", "consume", "--topic", "counts", "--from-beginning", "--timeout-ms", "1500", "--value-deserializer", "int64", "--skip-message-on-error")
	if res.stdout != "42\n-7\n" || !strings.Contains(res.stderr, "skipped") {
		t.Fatalf("int64 skipping:\n%s", res)
	}
}

// TestGroupsOffsets covers describe, reset (every target, dry run and execute), the refusal
// to reset an active group, members and state, offset deletion and group deletion.
func TestGroupsOffsets(t *testing.T) {
	t.Parallel()
	onBothBrokers(t, testGroupsOffsets)
}

func testGroupsOffsets(t *testing.T, bs string) {
	b := []string{"--bootstrap-server", bs}
	cli := cliAgainst(t, bs)
	cli("", "topics", "--create", "--topic", "g", "--partitions", "1")
	var in []string
	for i := 0; i < 10; i++ {
		in = append(in, fmt.Sprintf("r%d", i))
	}
	before := time.Now()
	cli(strings.Join(in, "\n")+"\n", "produce", "--topic", "g")

	// A group member reads four records and commits exactly those.
	res := cli("", "consume", "--topic", "g", "--group", "readers", "--from-beginning", "--max-messages", "4")
	if res.stdout != "r0\nr1\nr2\nr3\n" {
		t.Fatalf("consume:\n%s", res)
	}
	checkDescribe := func(current, lag string) {
		t.Helper()
		res := cli("", "groups", "--describe", "--group", "readers")
		got := lines(res.stdout)
		if len(got) != 3 || got[0] != "Consumer group 'readers' has no active members." {
			t.Fatalf("describe:\n%s", res.stdout)
		}
		if f := strings.Fields(got[1]); strings.Join(f, " ") != "GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID" {
			t.Fatalf("header %q", got[1])
		}
		if f := strings.Fields(got[2]); strings.Join(f, " ") != "readers g 0 "+current+" 10 "+lag+" - - -" {
			t.Fatalf("row %q, want current %s lag %s", got[2], current, lag)
		}
	}
	checkDescribe("4", "6")

	// The next member of the group goes on from there.
	res = cli("", "consume", "--topic", "g", "--group", "readers", "--max-messages", "2")
	if res.stdout != "r4\nr5\n" {
		t.Fatalf("second consume:\n%s", res)
	}
	checkDescribe("6", "4")

	reset := func(target ...string) string {
		t.Helper()
		args := append([]string{"groups", "--reset-offsets", "--group", "readers", "--topic", "g"}, target...)
		res := cli("", args...)
		got := lines(res.stdout)
		if len(got) != 2 || strings.Join(strings.Fields(got[0]), " ") != "GROUP TOPIC PARTITION NEW-OFFSET" {
			t.Fatalf("reset %v printed:\n%s", target, res.stdout)
		}
		f := strings.Fields(got[1])
		return f[len(f)-1]
	}
	if got := reset("--to-earliest"); got != "0" {
		t.Fatalf("dry run plan %s", got)
	}
	checkDescribe("6", "4") // a dry run changes nothing
	for _, tc := range []struct {
		target []string
		want   string
	}{
		{[]string{"--to-earliest", "--execute"}, "0"},
		{[]string{"--shift-by", "3", "--execute"}, "3"},
		{[]string{"--shift-by", "-100", "--execute"}, "0"},
		{[]string{"--to-offset", "7", "--execute"}, "7"},
		{[]string{"--to-offset", "100", "--execute"}, "10"},
		{[]string{"--to-latest", "--execute"}, "10"},
		{[]string{"--to-datetime", before.Add(-time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"), "--execute"}, "0"},
		{[]string{"--by-duration", "PT1H", "--execute"}, "0"},
		{[]string{"--to-datetime", time.Now().Add(time.Hour).Format("2006-01-02T15:04:05.000"), "--execute"}, "10"},
		{[]string{"--to-offset", "5", "--execute"}, "5"},
		{[]string{"--to-current", "--execute"}, "5"},
	} {
		if got := reset(tc.target...); got != tc.want {
			t.Fatalf("reset %v: %s, want %s", tc.target, got, tc.want)
		}
	}
	checkDescribe("5", "5")
	res = cli("", "consume", "--topic", "g", "--group", "readers", "--max-messages", "1")
	if res.stdout != "r5\n" {
		t.Fatalf("after reset:\n%s", res)
	}

	// An active group cannot be reset; members and state show it.
	adm := adminFor(t, bs)
	member := startCLI(t, append([]string{"consume", "--topic", "g", "--group", "readers"}, b...)...)
	waitGroupMembers(t, adm, "readers", "g", 1, 1)
	expectCLI(t, exitFailure, "has no active members, but its state is Stable", "", append([]string{"groups", "--reset-offsets", "--group", "readers", "--topic", "g", "--to-earliest", "--execute"}, b...)...)
	expectCLI(t, exitFailure, "has active members", "", append([]string{"groups", "--delete", "--group", "readers"}, b...)...)
	res = cli("", "groups", "--describe", "--group", "readers", "--members", "--verbose")
	if got := lines(res.stdout); len(got) != 2 || !strings.HasSuffix(strings.Join(strings.Fields(got[1]), " "), " rivulet-consume 1 g(0)") {
		t.Fatalf("members:\n%s", res.stdout)
	}
	res = cli("", "groups", "--describe", "--group", "readers", "--state")
	if got := lines(res.stdout); len(got) != 2 || !strings.Contains(got[1], " Stable ") || !strings.HasSuffix(got[1], " 1") {
		t.Fatalf("state:\n%s", res.stdout)
	}
	res = cli("", "groups", "--describe", "--group", "readers")
	if got := lines(res.stdout); len(got) != 2 || strings.Fields(got[1])[6] == "-" {
		t.Fatalf("describe with a member must name it:\n%s", res.stdout)
	}
	if code := member.interrupt(t); code != 0 {
		t.Fatalf("member exited %d", code)
	}

	res = cli("", "groups", "--list", "--state")
	if got := lines(res.stdout); len(got) != 2 || strings.Join(strings.Fields(got[1]), " ") != "readers Empty" {
		t.Fatalf("list --state:\n%s", res.stdout)
	}
	res = cli("", "groups", "--delete-offsets", "--group", "readers", "--topic", "g")
	if got := lines(res.stdout); len(got) != 2 || strings.Join(strings.Fields(got[1]), " ") != "g 0 Successful" {
		t.Fatalf("delete offsets:\n%s", res.stdout)
	}
	res = cli("", "groups", "--delete", "--group", "readers")
	if res.stdout != "Deletion of requested consumer groups ('readers') was successful.\n" {
		t.Fatalf("delete:\n%s", res.stdout)
	}
	expectCLI(t, exitFailure, "consumer group 'readers' does not exist", "", append([]string{"groups", "--describe", "--group", "readers"}, b...)...)
}

// TestProduceInterceptorsAndSync: interceptor.classes works from the command line (the
// counting interceptor reports on close, the timestamp header reaches the consumer), and
// --sync sends line by line.
func TestProduceInterceptorsAndSync(t *testing.T) {
	t.Parallel()
	bs := newKfake(t, 1)
	b := []string{"--bootstrap-server", bs}
	mustCLI(t, "", append([]string{"topics", "--create", "--topic", "ic", "--partitions", "1"}, b...)...)
	res := mustCLI(t, "a\nb\nc\n", append([]string{"produce", "--topic", "ic", "--sync",
		"--producer-property", "interceptor.classes=timestamp-header,counting",
		"--producer-property", "interceptor.timestamp.header=sent"}, b...)...)
	if !strings.Contains(res.stderr, "rivulet: client: producer acknowledgements sent=3 succeeded=3 failed=0") {
		t.Fatalf("counting report missing:\n%s", res)
	}
	res = mustCLI(t, "", append([]string{"consume", "--topic", "ic", "--from-beginning", "--max-messages", "3", "--property", "print.headers=true"}, b...)...)
	got := lines(res.stdout)
	if len(got) != 3 {
		t.Fatalf("consume:\n%s", res)
	}
	for i, l := range got {
		h, v, _ := strings.Cut(l, "\t")
		ms, err := strconv.ParseInt(strings.TrimPrefix(h, "sent:"), 10, 64)
		if !strings.HasPrefix(h, "sent:") || err != nil || time.Since(time.UnixMilli(ms)) > time.Hour || v != []string{"a", "b", "c"}[i] {
			t.Fatalf("line %q: want sent:<unix ms>\\t<value>", l)
		}
	}
	expectCLI(t, exitUsage, `no producer interceptor named "nope"`, "", append([]string{"produce", "--topic", "ic", "--producer-property", "interceptor.classes=nope"}, b...)...)
}

// TestProduceInterrupted: Ctrl-C while reading stdin delivers what was read, reports it, and
// exits 0.
func TestProduceInterrupted(t *testing.T) {
	t.Parallel()
	bs := newKfake(t, 1)
	mustCLI(t, "", "topics", "--create", "--topic", "intr", "--partitions", "1", "--bootstrap-server", bs)
	cmd := exec.Command(cliBinary(t), "produce", "--topic", "intr", "--bootstrap-server", bs)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testutil.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	if _, err := io.WriteString(stdin, "one\ntwo\n"); err != nil {
		t.Fatal(err)
	}
	adm := adminFor(t, bs)
	testutil.EventuallyNoError(t, 60*time.Second, "two records in topic intr", func() error {
		if ends := endOffsets(t, adm, "intr"); ends[0] != 2 {
			return fmt.Errorf("end offsets %v", ends)
		}
		return nil
	})
	_ = cmd.Process.Signal(os.Interrupt) // stdin stays open: the read is blocked
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("produce after Ctrl-C: %v\n%s", err, stderr.String())
		}
	case <-time.After(cliTimeout):
		t.Fatalf("produce did not exit after Ctrl-C:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "2 record(s) sent to topic intr, 0 failed (interrupted)") {
		t.Fatalf("report:\n%s", stderr.String())
	}
}
