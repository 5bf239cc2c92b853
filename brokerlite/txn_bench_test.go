package brokerlite

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Transactions, measured side by side in one run on one brokerlite:
//
//	go test ./brokerlite -run '^$' -bench 'BenchmarkTxn' -benchtime 20x -count 3
//
// BenchmarkTxnProduce: one op is 10,000 records of 100 bytes, produced by an idempotent
// producer with acks=all (and flushed) or by a transactional producer in one transaction
// (committed). "txn/idempotent" is the ratio of their throughputs (records/s).
// BenchmarkTxnConsume: one op reads 40,000 committed transactional records from the start
// of the topic with read_committed or read_uncommitted; "committed/uncommitted" is the
// ratio. BenchmarkTxnVisibleLatency: the time from EndTxn(commit) being sent to the
// record being returned to a read_committed consumer that long-polls the partition,
// reported as p50 and p99 in ms.

const txnBenchRecords = 10000

func startBenchBroker(b *testing.B) *Broker {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	br, err := Start(ctx, Config{Logger: testLogger(b), Properties: map[string]string{
		"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": b.TempDir(),
		"offsets.topic.num.partitions": "1", "transaction.state.log.num.partitions": "1",
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Close(context.Background()) })
	return br
}

func benchCreate(b *testing.B, br *Broker, name string, partitions int32) {
	if _, err := br.topics.create(createTopicOpts{name: name, partitions: partitions, replication: 1}); err != nil {
		b.Fatal(err)
	}
}

func benchClient(b *testing.B, br *Broker, opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(br.Addr())}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	return cl
}

// produceBatch produces n records to topic and waits for every ack.
func produceBatch(b *testing.B, cl *kgo.Client, topic string, n int) {
	value := make([]byte, benchValueSize)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for i := 0; i < n; i++ {
		wg.Add(1)
		cl.Produce(context.Background(), &kgo.Record{Topic: topic, Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				once.Do(func() { firstErr = err })
			}
			wg.Done()
		})
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}

func BenchmarkTxnProduce(b *testing.B) {
	br := startBenchBroker(b)
	benchCreate(b, br, "txn-bench-idem", benchPartitions)
	benchCreate(b, br, "txn-bench-txn", benchPartitions)
	idem := benchClient(b, br, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.MaxBufferedRecords(txnBenchRecords))
	txn := benchClient(b, br, kgo.TransactionalID("bench-txn"), kgo.MaxBufferedRecords(txnBenchRecords))
	var idemDur, txnDur time.Duration
	b.SetBytes(txnBenchRecords * benchValueSize)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate the two, so that both see the same machine state.
		start := time.Now()
		produceBatch(b, idem, "txn-bench-idem", txnBenchRecords)
		idemDur += time.Since(start)

		start = time.Now()
		if err := txn.BeginTransaction(); err != nil {
			b.Fatal(err)
		}
		produceBatch(b, txn, "txn-bench-txn", txnBenchRecords)
		if err := txn.EndTransaction(context.Background(), kgo.TryCommit); err != nil {
			b.Fatal(err)
		}
		txnDur += time.Since(start)
	}
	b.StopTimer()
	reportVersus(b, b.N*txnBenchRecords, "idempotent", idemDur, "txn", txnDur)
}

// reportVersus reports the records per second of two ways of handling the same n records,
// base and other ("<name>-rec/s"), and how many times faster other was ("<other>/<base>").
func reportVersus(b *testing.B, n int, base string, baseDur time.Duration, other string, otherDur time.Duration) {
	b.ReportMetric(float64(n)/baseDur.Seconds(), base+"-rec/s")
	b.ReportMetric(float64(n)/otherDur.Seconds(), other+"-rec/s")
	b.ReportMetric(baseDur.Seconds()/otherDur.Seconds(), other+"/"+base)
}

func BenchmarkTxnConsume(b *testing.B) {
	br := startBenchBroker(b)
	const topic, total = "txn-bench-consume", 40000
	benchCreate(b, br, topic, benchPartitions)
	p := benchClient(b, br, kgo.TransactionalID("bench-fill"), kgo.MaxBufferedRecords(txnBenchRecords))
	for i := 0; i < total/txnBenchRecords; i++ {
		if err := p.BeginTransaction(); err != nil {
			b.Fatal(err)
		}
		produceBatch(b, p, topic, txnBenchRecords)
		if err := p.EndTransaction(context.Background(), kgo.TryCommit); err != nil {
			b.Fatal(err)
		}
	}
	consume := func(level kgo.IsolationLevel) time.Duration {
		cl, err := kgo.NewClient(kgo.SeedBrokers(br.Addr()), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(level),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		n := 0
		for n < total {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				b.Fatalf("consumed %d of %d", n, total)
			}
			n += fs.NumRecords()
		}
		return time.Since(start)
	}
	var committed, uncommitted time.Duration
	b.SetBytes(total * benchValueSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate which level goes first, so neither always reads a warmer cache.
		if i%2 == 0 {
			uncommitted += consume(kgo.ReadUncommitted())
			committed += consume(kgo.ReadCommitted())
		} else {
			committed += consume(kgo.ReadCommitted())
			uncommitted += consume(kgo.ReadUncommitted())
		}
	}
	b.StopTimer()
	reportVersus(b, b.N*total, "uncommitted", uncommitted, "committed", committed)
}

func BenchmarkTxnVisibleLatency(b *testing.B) {
	br := startBenchBroker(b)
	const topic = "txn-bench-latency"
	benchCreate(b, br, topic, 1)
	p := benchClient(b, br, kgo.TransactionalID("bench-latency"), kgo.DefaultProduceTopic(topic))
	seen := make(chan string, 1)
	cons := benchClient(b, br, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(5*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			cons.PollFetches(ctx).EachRecord(func(r *kgo.Record) { seen <- string(r.Value) })
		}
	}()
	defer func() { cancel(); wg.Wait() }()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := fmt.Sprint(i)
		if err := p.BeginTransaction(); err != nil {
			b.Fatal(err)
		}
		if err := p.ProduceSync(context.Background(), kgo.StringRecord(v)).FirstErr(); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := p.EndTransaction(context.Background(), kgo.TryCommit); err != nil {
			b.Fatal(err)
		}
		select {
		case got := <-seen:
			if got != v {
				b.Fatalf("read %q, want %q", got, v)
			}
		case <-time.After(30 * time.Second):
			b.Fatal("the committed record was not read within 30s")
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(q float64) float64 {
		return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
