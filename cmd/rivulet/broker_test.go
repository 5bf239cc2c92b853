package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rivulet-io/rivulet/internal/kcattest"
	"github.com/rivulet-io/rivulet/internal/testutil"
)

// brokerProc is a `rivulet broker` child process.
type brokerProc struct {
	cmd    *exec.Cmd
	addr   string
	done   chan struct{} // closed when the process has exited and its output is drained
	mu     sync.Mutex
	output bytes.Buffer
}

var listeningRe = regexp.MustCompile(`rivulet broker listening on (\S+)`)

// pollRecords consumes with cl until want records have come, failing the test on a fetch
// error or when ctx ends; failMsg, given the count so far and want, says what fell short.
func pollRecords(ctx context.Context, t *testing.T, cl *kgo.Client, want int, failMsg string) {
	t.Helper()
	for n := 0; n < want; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf(failMsg+": %v", n, want, ctx.Err())
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", tp, p, err) })
		n += fs.NumRecords()
	}
}

// startBrokerProc runs `rivulet broker` on a free port with its data in dir, and waits
// until it says where it listens.
func startBrokerProc(t *testing.T, dir string, extra ...string) *brokerProc {
	t.Helper()
	bin := cliBinary(t)
	args := brokerArgs(dir, append([]string{"listeners=PLAINTEXT://127.0.0.1:0"}, extra...)...)
	p := &brokerProc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrCh := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.output.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listeningRe.FindStringSubmatch(line); m != nil {
				select {
				case addrCh <- m[1]:
				default:
				}
			}
		}
		_ = p.cmd.Wait()
	}()
	t.Cleanup(func() { p.kill() })
	select {
	case p.addr = <-addrCh:
	case <-p.done:
		t.Fatalf("rivulet broker exited before listening:\n%s", p.out())
	case <-time.After(60 * time.Second):
		p.kill()
		t.Fatalf("rivulet broker did not start in 60s:\n%s", p.out())
	}
	return p
}

func (p *brokerProc) out() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *brokerProc) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// stop sends SIGTERM and waits for a clean exit.
func (p *brokerProc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill()
		t.Fatalf("rivulet broker did not stop on SIGTERM in 30s:\n%s", p.out())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("rivulet broker exited with %d after SIGTERM:\n%s", code, p.out())
	}
}

func runKcat(t *testing.T, kcat string, stdin string, args ...string) string {
	t.Helper()
	stdout, stderr, err := kcattest.Run(kcat, 60*time.Second, stdin, args...)
	if err != nil {
		t.Fatalf("kcat %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, stdout, stderr)
	}
	return stdout
}

// TestKcatAgainstRivuletBroker drives a `rivulet broker` child process with librdkafka
// through kcat: metadata, produce, consume to the end, then a clean SIGTERM shutdown.
func TestKcatAgainstRivuletBroker(t *testing.T) {
	kcat := kcattest.Path(t)
	p := startBrokerProc(t, t.TempDir(), "num.partitions=3")

	var lines []string
	for i := 0; i < 50; i++ {
		lines = append(lines, fmt.Sprintf("key%d:line %d", i, i))
	}
	runKcat(t, kcat, strings.Join(lines, "\n")+"\n", "-b", p.addr, "-P", "-t", "kcat-topic", "-K", ":", "-X", "topic.request.required.acks=-1")

	meta := runKcat(t, kcat, "", "-b", p.addr, "-L", "-t", "kcat-topic")
	for _, want := range []string{"1 brokers:", `topic "kcat-topic" with 3 partitions`, "leader 0, replicas: 0, isrs: 0"} {
		if !strings.Contains(meta, want) {
			t.Fatalf("kcat -L output lacks %q:\n%s", want, meta)
		}
	}

	out := runKcat(t, kcat, "", "-b", p.addr, "-C", "-t", "kcat-topic", "-o", "beginning", "-e", "-q", "-f", "%k:%s\n")
	got := strings.Split(strings.TrimSpace(out), "\n")
	sort.Strings(got)
	want := append([]string(nil), lines...)
	sort.Strings(want)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("kcat consumed %d records:\n%s\nwant %d", len(got), out, len(want))
	}

	// librdkafka's compressed batches are stored as produced and read back.
	for _, codec := range []string{"gzip", "snappy", "lz4", "zstd"} {
		topic := "kcat-" + codec
		in := strings.Repeat(codec+" compressed line\n", 20)
		runKcat(t, kcat, in, "-b", p.addr, "-P", "-t", topic, "-z", codec)
		out := runKcat(t, kcat, "", "-b", p.addr, "-C", "-t", topic, "-o", "beginning", "-e", "-q")
		if out != in {
			t.Fatalf("%s: kcat read back %q, want %q", codec, out, in)
		}
	}
	p.stop(t)
}

// TestSIGKILLLosesNoAckedRecord kills `rivulet broker` with SIGKILL while idempotent
// producers write with acks=all, several rounds on the same data directory, then reads
// everything back: every acknowledged record is there exactly once, in order per partition.
func TestSIGKILLLosesNoAckedRecord(t *testing.T) {
	dir := t.TempDir()
	const rounds = 3
	const topic = "durable"
	type ack struct {
		partition int32
		offset    int64
	}
	acked := map[string]ack{}
	for round := 0; round < rounds; round++ {
		p := startBrokerProc(t, dir, "num.partitions=2")
		cl, err := kgo.NewClient(kgo.SeedBrokers(p.addr), kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation(),
			kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordRetries(3), kgo.RetryTimeout(5*time.Second),
			kgo.ProducerLinger(0))
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		ackedThisRound := 0
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // the load: produce until cancelled
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				v := fmt.Sprintf("r%d-%07d", round, i)
				cl.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprint(i % 16)), Value: []byte(v)}, func(r *kgo.Record, err error) {
					if err == nil {
						mu.Lock()
						acked[string(r.Value)] = ack{r.Partition, r.Offset}
						ackedThisRound++
						mu.Unlock()
					}
				})
			}
		}()
		// Kill once enough records are acknowledged, so each round kills under load.
		// Within 30s; a round that acknowledges fewer is killed anyway, and checked below.
		testutil.Poll(30*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return ackedThisRound >= 3000
		})
		p.kill()
		cancel()
		wg.Wait()
		cl.Close() // fails whatever was not acknowledged
		mu.Lock()
		if ackedThisRound == 0 {
			t.Fatalf("round %d: nothing was acknowledged:\n%s", round, p.out())
		}
		t.Logf("round %d: %d records acknowledged before SIGKILL", round, ackedThisRound)
		mu.Unlock()
	}

	// Read everything back from a fresh broker on the same directory.
	p := startBrokerProc(t, dir)
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ends, err := listEnds(ctx, cl, topic)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	last := map[int32]string{}
	consumedTo := map[int32]int64{}
	done := func() bool {
		for p, e := range ends {
			if consumedTo[p] < e {
				return false
			}
		}
		return true
	}
	for !done() {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading back: %v (consumed to %v, ends %v)", ctx.Err(), consumedTo, ends)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", tp, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			v := string(r.Value)
			seen[v]++
			// Values sort by round, then by produce order: a partition must hold them sorted.
			if prev, ok := last[r.Partition]; ok && prev >= v {
				t.Fatalf("partition %d out of order: %s after %s", r.Partition, v, prev)
			}
			last[r.Partition] = v
			consumedTo[r.Partition] = r.Offset + 1
		})
	}
	missing := 0
	for v, a := range acked {
		switch seen[v] {
		case 1:
		case 0:
			missing++
			if missing < 10 {
				t.Errorf("acknowledged record %s (partition %d offset %d) is missing", v, a.partition, a.offset)
			}
		default:
			t.Errorf("acknowledged record %s is stored %d times", v, seen[v])
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged records lost", missing, len(acked))
	}
	t.Logf("%d acknowledged records over %d SIGKILL rounds, all present once", len(acked), rounds)
	p.stop(t)
}

// listEnds returns each partition's end offset.
func listEnds(ctx context.Context, cl *kgo.Client, topic string) (map[int32]int64, error) {
	meta := kmsg.NewPtrMetadataRequest()
	meta.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr(topic)}}
	mresp, err := meta.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for _, p := range mresp.Topics[0].Partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = p.Partition, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	for _, p := range resp.Topics[0].Partitions {
		out[p.Partition] = p.Offset
	}
	return out, nil
}

// TestBrokerCommandUsage checks --help and the errors a user meets first.
func TestBrokerCommandUsage(t *testing.T) {
	bin := cliBinary(t)
	run := func(args ...string) (string, int) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	help, code := run("broker", "--help")
	if code != 0 || !strings.Contains(help, "rivulet broker --config config/server.properties") || !strings.Contains(help, "--override") {
		t.Fatalf("broker --help (exit %d):\n%s", code, help)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"broker", "--override", "novalue"}, "not key=value"},
		{[]string{"broker", "--override", "num.partitions=0"}, "num.partitions must be >= 1"},
		{[]string{"broker", "--config", "/no/such/server.properties"}, "--config"},
		{[]string{"broker", "--override", "default.replication.factor=3"}, "Kafka cluster"},
	} {
		out, code := run(tc.args...)
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, output lacks %q:\n%s", tc.args, code, tc.want, out)
		}
	}
	// A busy port names the fix.
	p := startBrokerProc(t, t.TempDir())
	out, code := run("broker", "--override", "listeners=PLAINTEXT://"+p.addr, "--override", "log.dirs="+t.TempDir())
	if code != 1 || !strings.Contains(out, "address already in use") || !strings.Contains(out, "--override listeners=") {
		t.Fatalf("busy port: exit %d:\n%s", code, out)
	}
}
