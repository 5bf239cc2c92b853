package main

// Memory bounds of a `rivulet broker` child process, read from /proc/<pid>/status.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

const mib = 1 << 20

// rssOf returns a process's resident set size (VmRSS) in bytes.
func rssOf(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// rssSampler samples a process's RSS every 10ms and keeps the peak.
type rssSampler struct {
	pid  int
	mu   sync.Mutex
	peak int64
	stop chan struct{}
	done chan struct{}
}

func sampleRSS(t *testing.T, pid int) *rssSampler {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/<pid>/status: Linux only")
	}
	s := &rssSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			if n, err := rssOf(pid); err == nil {
				s.mu.Lock()
				s.peak = max(s.peak, n)
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-tk.C:
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *rssSampler) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

func (s *rssSampler) Peak() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// fillPartitions writes perPartition records of size bytes to each of partitions partitions
// of topic (created here), uncompressed, with acks=1.
func fillPartitions(t *testing.T, addr, topic string, partitions, perPartition, size int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.DisableIdempotentWrite(), kgo.RequiredAcks(kgo.LeaderAck()), kgo.ProducerLinger(5*time.Millisecond),
		kgo.ProducerBatchCompression(kgo.NoCompression())) // the bytes on disk are the bytes read
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, int32(partitions), 1, nil, topic); err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
	value := make([]byte, size)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for r := 0; r < perPartition; r++ {
		for p := 0; p < partitions; p++ {
			wg.Add(1)
			cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: int32(p), Value: value}, func(_ *kgo.Record, err error) {
				defer wg.Done()
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("produce to %s: %v", topic, firstErr)
	}
}

// waitRSSBelow polls the process's RSS until it is below limit, failing after within.
func waitRSSBelow(t *testing.T, pid int, limit int64, within time.Duration, what string) int64 {
	t.Helper()
	var n int64
	if !testutil.Poll(within, func() bool {
		var err error
		if n, err = rssOf(pid); err != nil {
			t.Fatal(err)
		}
		return n < limit
	}) {
		t.Fatalf("%s: broker RSS %d MiB, still not below %d MiB after %v", what, n/mib, limit/mib, within)
	}
	return n
}

// TestFetchMemoryBoundedByAnswerSize: a consumer reading 100 MB from 1,000 partitions keeps
// the broker's RSS under 512 MiB (each Fetch answer is at most 50 MiB, as franz-go asks, so
// the broker should hold about that, not partitions times it), and the broker gives the
// memory back once the consumer is done.
func TestFetchMemoryBoundedByAnswerSize(t *testing.T) {
	const (
		partitions   = 1000
		perPartition = 10
		size         = 10 << 10 // 100 KB per partition, 100 MB in all
		limit        = 512 * mib
	)
	p := startBrokerProc(t, t.TempDir())
	pid := p.cmd.Process.Pid
	fillPartitions(t, p.addr, "wide", partitions, perPartition, size)
	before := waitRSSBelow(t, pid, limit, 30*time.Second, "after producing")

	rss := sampleRSS(t, pid)
	parts := map[int32]kgo.Offset{}
	for i := int32(0); i < partitions; i++ {
		parts[i] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"wide": parts}),
		kgo.FetchMaxBytes(50*mib))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var bytes int64
	for n := 0; n < partitions*perPartition; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records: %v", n, partitions*perPartition, ctx.Err())
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", tp, p, err) })
		fs.EachRecord(func(r *kgo.Record) { n++; bytes += int64(len(r.Value)) })
	}
	cl.Close()
	rss.close()
	peak := rss.Peak()
	t.Logf("read %d MB from %d partitions: broker RSS %d MiB before, peak %d MiB during", bytes/1e6, partitions, before/mib, peak/mib)
	if peak >= limit {
		t.Fatalf("broker RSS peaked at %d MiB while a consumer read %d partitions, want < %d MiB", peak/mib, partitions, limit/mib)
	}
	// Given back: down to what it held before the read, with some slack.
	after := waitRSSBelow(t, pid, before+32*mib, 30*time.Second, "after the consumer left")
	t.Logf("broker RSS %d MiB after the consumer left", after/mib)
	p.stop(t)
}

// TestSlowFetchReadersBounded: four connections each pipeline 20 Fetch requests for 50 MiB
// and never read an answer. The broker's RSS stays under 512 MiB, another client keeps
// producing and consuming meanwhile, and the attackers' connections are closed once they
// have read nothing for connections.max.idle.ms.
func TestSlowFetchReadersBounded(t *testing.T) {
	const limit = 512 * mib
	p := startBrokerProc(t, t.TempDir(), "connections.max.idle.ms=5000")
	pid := p.cmd.Process.Pid
	fillPartitions(t, p.addr, "big", 4, 160, 100<<10) // 4 partitions of 16 MB
	rss := sampleRSS(t, pid)

	fetch := kmsg.NewPtrFetchRequest()
	fetch.Version = 11
	fetch.ReplicaID = -1
	fetch.MaxWaitMillis = 0
	fetch.MaxBytes = 50 * mib
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "big"
	for i := int32(0); i < 4; i++ {
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition = i
		fp.PartitionMaxBytes = 50 * mib
		ft.Partitions = append(ft.Partitions, fp)
	}
	fetch.Topics = append(fetch.Topics, ft)
	var frames []byte
	for corr := int32(0); corr < 20; corr++ {
		frames = kmsg.NewRequestFormatter(kmsg.FormatterClientID("slow-reader")).AppendRequest(frames, fetch, corr)
	}
	var attackers []net.Conn
	for i := 0; i < 4; i++ {
		c, err := net.DialTimeout("tcp", p.addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(64 << 10)
		}
		go func() { _, _ = c.Write(frames) }() // may block: the broker stops reading
		attackers = append(attackers, c)
		if st := tcpState(t, c); st != tcpEstablished {
			t.Fatalf("attacker %d: TCP state %q in /proc/net/tcp, want established", i, st)
		}
	}

	// Another client produces and consumes meanwhile.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.addr), kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("other"),
		kgo.ConsumeTopics("other"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const records = 200
	for i := 0; i < records; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("v%d", i))}).FirstErr(); err != nil {
			t.Fatalf("produce during the attack: %v", err)
		}
	}
	pollRecords(ctx, t, cl, records, "consumed %d of %d during the attack")
	t.Logf("another client produced and consumed %d records during the attack; broker RSS peak so far %d MiB", records, rss.Peak()/mib)

	// The attackers are closed once they have read nothing for connections.max.idle.ms:
	// their end of the connection is in CLOSE_WAIT (the broker closed it; they did not read).
	testutil.EventuallyNoError(t, 30*time.Second, "attackers closed", func() error {
		closed := 0
		for _, c := range attackers {
			// The broker resets a connection that reads nothing, which removes the socket.
			if st := tcpState(t, c); st == tcpCloseWait || st == tcpClose || st == "" {
				closed++
			}
		}
		var states []string
		for _, c := range attackers {
			states = append(states, tcpState(t, c))
		}
		if closed != len(attackers) {
			return fmt.Errorf("%d of %d attackers closed (TCP states %v)", closed, len(attackers), states)
		}
		return nil
	})
	rss.close()
	peak := rss.Peak()
	t.Logf("broker RSS peak %d MiB during the attack", peak/mib)
	if peak >= limit {
		t.Fatalf("broker RSS peaked at %d MiB under 4 slow readers, want < %d MiB", peak/mib, limit/mib)
	}
	p.stop(t)
}

// tcpCloseWait is CLOSE_WAIT in /proc/net/tcp: the peer closed the connection.
const tcpCloseWait = "08"

// tcpClose is CLOSE in /proc/net/tcp.
const tcpClose = "07"

// tcpEstablished is ESTABLISHED in /proc/net/tcp.
const tcpEstablished = "01"

// tcpState returns the state of c's end of a loopback IPv4 connection, as /proc/net/tcp
// lists it ("01" established, "08" close wait), or "" when it is not listed.
func tcpState(t *testing.T, c net.Conn) string {
	t.Helper()
	la, ra := c.LocalAddr().(*net.TCPAddr), c.RemoteAddr().(*net.TCPAddr)
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	local, remote := fmt.Sprintf(":%04X", la.Port), fmt.Sprintf(":%04X", ra.Port)
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && strings.HasSuffix(f[1], local) && strings.HasSuffix(f[2], remote) {
			return f[3]
		}
	}
	return ""
}

// gzipBombBatch returns a gzip record batch holding one record with key "k" and a value of
// valueLen zero bytes, built without holding the value.
func gzipBombBatch(t *testing.T, valueLen int) []byte {
	t.Helper()
	var body []byte
	body = append(body, 0)              // attributes
	body = binary.AppendVarint(body, 0) // timestamp delta
	body = binary.AppendVarint(body, 0) // offset delta
	body = binary.AppendVarint(body, 1) // key length
	body = append(body, 'k')            // key
	body = binary.AppendVarint(body, int64(valueLen))
	length := int64(len(body) + valueLen + 1) // + the header count
	var comp bytes.Buffer
	zw := gzip.NewWriter(&comp)
	_, _ = zw.Write(binary.AppendVarint(nil, length))
	_, _ = zw.Write(body)
	zeros := make([]byte, 1<<20)
	for left := valueLen; left > 0; left -= len(zeros) {
		_, _ = zw.Write(zeros[:min(left, len(zeros))])
	}
	_, _ = zw.Write(binary.AppendVarint(nil, 0)) // no headers
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	b := make([]byte, 61, 61+comp.Len())
	binary.BigEndian.PutUint32(b[8:], uint32(61-12+comp.Len())) // batch length
	binary.BigEndian.PutUint32(b[12:], 0xffffffff)              // partition leader epoch
	b[16] = 2                                                   // magic
	binary.BigEndian.PutUint16(b[21:], 1)                       // attributes: gzip
	binary.BigEndian.PutUint64(b[27:], uint64(now))             // first timestamp
	binary.BigEndian.PutUint64(b[35:], uint64(now))             // max timestamp
	binary.BigEndian.PutUint64(b[43:], 0xffffffffffffffff)      // producer id
	binary.BigEndian.PutUint16(b[51:], 0xffff)                  // producer epoch
	binary.BigEndian.PutUint32(b[53:], 0xffffffff)              // base sequence
	binary.BigEndian.PutUint32(b[57:], 1)                       // records
	b = append(b, comp.Bytes()...)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// TestCompressedBombsBounded: four producers each send, at once, a 254 KB gzip batch whose
// one record has a 250 MiB value of zeros to a compacted topic (whose key check decodes the
// records). The broker's RSS stays under 512 MiB, each gets a clear error, and another
// client keeps producing and consuming.
func TestCompressedBombsBounded(t *testing.T) {
	const limit = 512 * mib
	p := startBrokerProc(t, t.TempDir())
	pid := p.cmd.Process.Pid
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.addr), kgo.DefaultProduceTopic("other"), kgo.AllowAutoTopicCreation(),
		kgo.ConsumeTopics("other"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": kmsg.StringPtr("compact")}, "compacted"); err != nil {
		t.Fatal(err)
	}
	bomb := gzipBombBatch(t, 250<<20)
	t.Logf("each batch: %d KB of gzip holding a 250 MiB value", len(bomb)/1000)
	rss := sampleRSS(t, pid)

	errs := make(chan string, 4)
	for i := 0; i < 4; i++ {
		go func() {
			pc, err := kgo.NewClient(kgo.SeedBrokers(p.addr))
			if err != nil {
				errs <- err.Error()
				return
			}
			defer pc.Close()
			req := kmsg.NewPtrProduceRequest()
			req.Acks, req.TimeoutMillis = -1, 30000
			rt := kmsg.NewProduceRequestTopic()
			rt.Topic = "compacted"
			rp := kmsg.NewProduceRequestTopicPartition()
			rp.Records = bomb
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, pc)
			if err != nil {
				errs <- "request failed: " + err.Error()
				return
			}
			sp := resp.Topics[0].Partitions[0]
			msg := ""
			if sp.ErrorMessage != nil {
				msg = *sp.ErrorMessage
			}
			errs <- fmt.Sprintf("%s: %s", kerr.ErrorForCode(sp.ErrorCode), msg)
		}()
	}
	for i := 0; i < 4; i++ {
		got := <-errs
		if !strings.HasPrefix(got, kerr.CorruptMessage.Message) || !strings.Contains(got, "decompress to more than") {
			t.Fatalf("producer %d got %q, want CORRUPT_MESSAGE saying the records decompress to more than the limit", i, got)
		}
		if i == 0 {
			t.Logf("the producers got: %s", got)
		}
	}

	for i := 0; i < 50; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
			t.Fatalf("another producer: %v", err)
		}
	}
	for n := 0; n < 50; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("another consumer read %d of 50: %v", n, ctx.Err())
		}
		n += fs.NumRecords()
	}
	rss.close()
	t.Logf("broker RSS peak %d MiB", rss.Peak()/mib)
	if rss.Peak() >= limit {
		t.Fatalf("broker RSS peaked at %d MiB under four compressed bombs, want < %d MiB", rss.Peak()/mib, limit/mib)
	}
	p.stop(t)
}
