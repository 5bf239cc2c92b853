package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

func testLogger() (*slog.Logger, *testutil.Buffer) {
	buf := &testutil.Buffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// recorder is a producer interceptor that logs its calls and can be told to fail.
type recorder struct {
	name     string
	calls    *[]string
	mu       *sync.Mutex
	sendErr  error
	sendPan  bool
	ackPan   bool
	cfgErr   error
	closeErr error
	acks     atomic.Int64
	closed   atomic.Bool
}

func (r *recorder) log(s string) {
	r.mu.Lock()
	*r.calls = append(*r.calls, r.name+":"+s)
	r.mu.Unlock()
}

func (r *recorder) Configure(Properties) error { r.log("configure"); return r.cfgErr }

func (r *recorder) OnSend(rec *kgo.Record) (*kgo.Record, error) {
	r.log("send")
	if r.sendPan {
		panic("boom in " + r.name)
	}
	if r.sendErr != nil {
		// A failing interceptor that changed the record anyway would be a contract breach;
		// this one fails cleanly.
		return nil, r.sendErr
	}
	rec.Value = append(rec.Value, []byte("+"+r.name)...)
	return rec, nil
}

func (r *recorder) OnAcknowledgement(md RecordMetadata, err error) {
	r.acks.Add(1)
	if r.ackPan {
		panic("ack boom in " + r.name)
	}
}

func (r *recorder) Close() error { r.closed.Store(true); r.log("close"); return r.closeErr }

func newRecorders(names ...string) ([]*recorder, *[]string) {
	calls := &[]string{}
	mu := &sync.Mutex{}
	var out []*recorder
	for _, n := range names {
		out = append(out, &recorder{name: n, calls: calls, mu: mu})
	}
	return out, calls
}

func asProducerICs(rs []*recorder) []ProducerInterceptor {
	out := make([]ProducerInterceptor, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out
}

func TestProducerChainOrderErrorsPanics(t *testing.T) {
	rs, calls := newRecorders("a", "b", "c", "d")
	rs[1].sendErr = errors.New("b refuses")
	rs[2].sendPan = true
	rs[0].ackPan = true
	log, logs := testLogger()
	chain, err := buildProducerChain(nil, asProducerICs(rs), base(), log)
	if err != nil {
		t.Fatal(err)
	}
	rec := chain.onSend(&kgo.Record{Topic: "t", Value: []byte("v")})
	if got := string(rec.Value); got != "v+a+d" {
		t.Fatalf("value %q: want a and d applied in order, b and c skipped", got)
	}
	chain.onAck(rec, nil)
	for _, r := range rs {
		if r.acks.Load() != 1 {
			t.Errorf("%s saw %d acks; the chain must go on past a panic", r.name, r.acks.Load())
		}
	}
	chain.close()
	want := "a:configure b:configure c:configure d:configure a:send b:send c:send d:send a:close b:close c:close d:close"
	if got := strings.Join(*calls, " "); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
	out := logs.String()
	for _, want := range []string{"b refuses", "panic: boom in c", "panic: ack boom in a", "OnSend failed; skipped", "OnAcknowledgement failed; skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestProducerChainConfigureFailureClosesEarlierOnes(t *testing.T) {
	rs, _ := newRecorders("a", "b", "c")
	rs[1].cfgErr = errors.New("bad setting")
	log, _ := testLogger()
	_, err := buildProducerChain(nil, asProducerICs(rs), base(), log)
	if err == nil || !strings.Contains(err.Error(), "Configure: bad setting") {
		t.Fatalf("err %v", err)
	}
	if !rs[0].closed.Load() || rs[1].closed.Load() || rs[2].closed.Load() {
		t.Errorf("closed: a=%v b=%v c=%v; want only a", rs[0].closed.Load(), rs[1].closed.Load(), rs[2].closed.Load())
	}
}

type nilReturner struct{ *recorder }

func (n nilReturner) OnSend(*kgo.Record) (*kgo.Record, error) { return nil, nil }

func TestProducerChainNilMeansUnchanged(t *testing.T) {
	rs, _ := newRecorders("a", "nil")
	n := nilReturner{rs[1]}
	chain, err := buildProducerChain(nil, []ProducerInterceptor{n, rs[0]}, base(), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	rec := chain.onSend(&kgo.Record{Value: []byte("v")})
	if string(rec.Value) != "v+a" {
		t.Fatalf("value %q", rec.Value)
	}
}

func TestRegistry(t *testing.T) {
	name := fmt.Sprintf("test-registry-%d", time.Now().UnixNano())
	if err := RegisterProducerInterceptor(name, func() ProducerInterceptor { return &CountingInterceptor{} }); err != nil {
		t.Fatal(err)
	}
	if err := RegisterProducerInterceptor(name, func() ProducerInterceptor { return &CountingInterceptor{} }); err == nil {
		t.Fatal("duplicate registration must fail")
	}
	if err := RegisterProducerInterceptor("", nil); err == nil {
		t.Fatal("empty registration must fail")
	}
	if err := RegisterConsumerInterceptor("x", nil); err == nil {
		t.Fatal("nil factory must fail")
	}
	pname := name + "-panics"
	_ = RegisterProducerInterceptor(pname, func() ProducerInterceptor { panic("factory") })
	if _, err := buildProducerChain([]string{pname}, nil, base(), slog.Default()); err == nil || !strings.Contains(err.Error(), "factory failed: panic: factory") {
		t.Fatalf("err %v", err)
	}
	c, err := buildProducerChain([]string{name, TimestampHeaderName}, nil, base(), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ics) != 2 || c.ics[0].name != name || c.ics[1].name != TimestampHeaderName {
		t.Fatalf("chain %+v", c.ics)
	}
}

func TestTimestampHeaderInterceptor(t *testing.T) {
	ts := &TimestampHeaderInterceptor{Now: func() time.Time { return time.UnixMilli(1700000000123) }}
	if err := ts.Configure(Properties{TimestampHeaderProperty: "sent"}); err != nil {
		t.Fatal(err)
	}
	r, err := ts.OnSend(&kgo.Record{Headers: []kgo.RecordHeader{{Key: "k", Value: []byte("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Headers) != 2 || r.Headers[1].Key != "sent" || string(r.Headers[1].Value) != "1700000000123" {
		t.Fatalf("headers %+v", r.Headers)
	}
	def := &TimestampHeaderInterceptor{}
	_ = def.Configure(nil)
	if def.Header != "rivulet-sent-at" {
		t.Fatal(def.Header)
	}
}

// TestProducerInterceptorsConcurrentSends drives both example interceptors, plus a failing
// and a panicking one, through a real producer against kfake from many goroutines (run it
// with -race). One topic exists and one does not, so both successes and failures arrive.
func TestProducerInterceptorsConcurrentSends(t *testing.T) {
	seeds := kfakeCluster(t, kfake.SeedTopics(3, "good"))
	log, logs := testLogger()

	var reportedOK, reportedFailed atomic.Int64
	counting := &CountingInterceptor{Report: func(ok, failed int64) { reportedOK.Store(ok); reportedFailed.Store(failed) }}
	rs, _ := newRecorders("flaky", "panicky")
	rs[0].sendErr = errors.New("flaky")
	rs[1].sendPan = true
	rs[1].ackPan = true

	props := Properties{
		"bootstrap.servers":            seeds,
		"interceptor.classes":          TimestampHeaderName,
		"interceptor.timestamp.header": "sent-at",
		"linger.ms":                    "1",
		"allow.auto.create.topics":     "false",
	}
	p, err := NewProducer(props,
		WithLogger(log),
		WithProducerInterceptors(rs[0], counting, rs[1]),
		WithKgoOpts(kgo.UnknownTopicRetries(1), kgo.MetadataMinAge(10*time.Millisecond)),
	)
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, perG = 8, 50
	var promised, promisedErr atomic.Int64
	var wg sync.WaitGroup
	ctx := context.Background()
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perG; i++ {
				topic := "good"
				if i%10 == 9 {
					topic = "missing"
				}
				p.Produce(ctx, &kgo.Record{Topic: topic, Value: []byte(strconv.Itoa(i))}, func(r *kgo.Record, err error) {
					promised.Add(1)
					if err != nil {
						promisedErr.Add(1)
					}
				})
			}
		}()
	}
	wg.Wait()
	_ = p.Flush(ctx)
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	total := int64(goroutines * perG)
	sent, ok, failed := counting.Counts()
	if sent != total || ok+failed != total || promised.Load() != total {
		t.Fatalf("sent %d ok %d failed %d promised %d; want %d each", sent, ok, failed, promised.Load(), total)
	}
	if failed != promisedErr.Load() || failed != total/10 {
		t.Fatalf("failed %d, promise errors %d, want %d", failed, promisedErr.Load(), total/10)
	}
	if reportedOK.Load() != ok || reportedFailed.Load() != failed {
		t.Fatalf("Close reported %d/%d, counted %d/%d", reportedOK.Load(), reportedFailed.Load(), ok, failed)
	}
	if n := strings.Count(logs.String(), "panic: boom in panicky"); n != int(total) {
		t.Errorf("%d OnSend panics logged, want %d", n, total)
	}

	// Every stored record carries the timestamp header, added first in the chain.
	cons, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(seeds, ",")...), kgo.ConsumeTopics("good"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	seen := int64(0)
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for seen < ok {
		fs := cons.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatalf("read %d of %d records back", seen, ok)
		}
		fs.EachRecord(func(r *kgo.Record) {
			seen++
			if len(r.Headers) == 0 || r.Headers[0].Key != "sent-at" {
				t.Errorf("record %s lacks the sent-at header: %+v", r.Value, r.Headers)
			}
			if _, err := strconv.ParseInt(string(r.Headers[0].Value), 10, 64); err != nil {
				t.Errorf("header value %q", r.Headers[0].Value)
			}
		})
	}
}

// consumerRecorder is a consumer interceptor that counts and can filter or fail.
type consumerRecorder struct {
	mu        sync.Mutex
	consumed  int
	committed map[string]map[int32]int64
	drop      string // drop records with this value
	fail      bool
	panics    bool
	closed    bool
}

func (c *consumerRecorder) Configure(Properties) error { return nil }
func (c *consumerRecorder) OnConsume(rs []*kgo.Record) ([]*kgo.Record, error) {
	if c.panics {
		panic("consume boom")
	}
	if c.fail {
		return nil, errors.New("consume refused")
	}
	c.mu.Lock()
	c.consumed += len(rs)
	c.mu.Unlock()
	out := rs[:0:0]
	for _, r := range rs {
		if string(r.Value) != c.drop {
			out = append(out, r)
		}
	}
	return out, nil
}
func (c *consumerRecorder) OnCommit(offsets map[string]map[int32]kgo.EpochOffset) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.committed == nil {
		c.committed = map[string]map[int32]int64{}
	}
	for t, ps := range offsets {
		if c.committed[t] == nil {
			c.committed[t] = map[int32]int64{}
		}
		for p, eo := range ps {
			c.committed[t][p] = eo.Offset
		}
	}
}
func (c *consumerRecorder) Close() error { c.mu.Lock(); c.closed = true; c.mu.Unlock(); return nil }

func TestConsumerInterceptors(t *testing.T) {
	seeds := kfakeCluster(t, kfake.SeedTopics(1, "in"))
	produceEach(t, seeds, 10, func(i int) *kgo.Record { return &kgo.Record{Topic: "in", Value: []byte(strconv.Itoa(i))} })
	ctx := context.Background()

	log, logs := testLogger()
	panicky := &consumerRecorder{panics: true}
	failing := &consumerRecorder{fail: true}
	filter := &consumerRecorder{drop: "3"}
	cons, err := NewConsumer(Properties{
		"bootstrap.servers":  seeds,
		"group.id":           "g1",
		"auto.offset.reset":  "earliest",
		"enable.auto.commit": "false",
		"max.poll.records":   "4",
	}, WithTopics("in"), WithLogger(log), WithConsumerInterceptors(panicky, failing, filter))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var last *kgo.Record
	for len(got) < 9 {
		rs, err := cons.Poll(pctx)
		if err != nil {
			t.Fatalf("poll: %v (got %v)", err, got)
		}
		if len(rs) > 4 {
			t.Fatalf("poll returned %d records, above max.poll.records", len(rs))
		}
		for _, r := range rs {
			got = append(got, string(r.Value))
			last = r
		}
	}
	if strings.Join(got, ",") != "0,1,2,4,5,6,7,8,9" {
		t.Fatalf("got %v", got)
	}
	if err := cons.CommitRecords(ctx, last); err != nil {
		t.Fatal(err)
	}
	filter.mu.Lock()
	if filter.committed["in"][0] != 10 || filter.consumed != 10 {
		t.Errorf("committed %v consumed %d", filter.committed, filter.consumed)
	}
	filter.mu.Unlock()
	cons.Close()
	if !filter.closed || !panicky.closed || !failing.closed {
		t.Error("interceptors not closed")
	}
	for _, want := range []string{"panic: consume boom", "consume refused"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestConsumerAutoCommitReachesOnCommit(t *testing.T) {
	seeds := kfakeCluster(t, kfake.SeedTopics(2, "in"))
	produceEach(t, seeds, 20, func(i int) *kgo.Record {
		return &kgo.Record{Topic: "in", Key: []byte(strconv.Itoa(i)), Value: []byte("v")}
	})
	ctx := context.Background()

	rec := &consumerRecorder{}
	cons, err := NewConsumer(Properties{
		"bootstrap.servers":       seeds,
		"group.id":                "g2",
		"auto.offset.reset":       "earliest",
		"auto.commit.interval.ms": "100",
	}, WithTopics("in"), WithConsumerInterceptors(rec))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for n < 20 {
		rs, err := cons.Poll(pctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(rs)
	}
	// Close commits everything polled, as Kafka's consumer does, and OnCommit sees it.
	cons.Close()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	sum := int64(0)
	for _, off := range rec.committed["in"] {
		sum += off
	}
	if sum != 20 {
		t.Fatalf("committed offsets %v sum to %d, want 20", rec.committed, sum)
	}
}

// keyRewriter changes the key in OnSend, which must decide the partition: OnSend runs before
// the partitioner.
type keyRewriter struct{ key string }

func (k keyRewriter) Configure(Properties) error { return nil }
func (k keyRewriter) OnSend(r *kgo.Record) (*kgo.Record, error) {
	r.Key = []byte(k.key)
	return r, nil
}
func (k keyRewriter) OnAcknowledgement(RecordMetadata, error) {}
func (k keyRewriter) Close() error                            { return nil }

func TestOnSendRunsBeforePartitioning(t *testing.T) {
	seeds := kfakeCluster(t, kfake.SeedTopics(8, "parts"))
	ctx := context.Background()
	// Where does "fixed-key" land without an interceptor?
	plain, err := NewProducer(Properties{"bootstrap.servers": seeds})
	if err != nil {
		t.Fatal(err)
	}
	res := plain.ProduceSync(ctx, &kgo.Record{Topic: "parts", Key: []byte("fixed-key")})
	if err := res.FirstErr(); err != nil {
		t.Fatal(err)
	}
	want := res[0].Record.Partition
	_ = plain.Close(ctx)

	p, err := NewProducer(Properties{"bootstrap.servers": seeds}, WithProducerInterceptors(keyRewriter{"fixed-key"}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for i := 0; i < 20; i++ {
		res := p.ProduceSync(ctx, &kgo.Record{Topic: "parts", Key: []byte(strconv.Itoa(i))})
		if err := res.FirstErr(); err != nil {
			t.Fatal(err)
		}
		if got := res[0].Record.Partition; got != want {
			t.Fatalf("record %d went to partition %d; the rewritten key hashes to %d", i, got, want)
		}
	}
}
