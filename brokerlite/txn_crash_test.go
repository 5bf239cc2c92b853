package brokerlite

import (
	"context"
	"fmt"
	"math/rand"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

// txnLedger records what each transaction's producer was told: committed, aborted, or
// nothing (the broker died first).
type txnLedger struct {
	mu      sync.Mutex
	outcome map[string]string // txn key -> "committed", "aborted" or "unknown"
	ended   int
}

func (l *txnLedger) set(key, outcome string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outcome[key] = outcome
	if outcome != "unknown" {
		l.ended++
	}
}

func (l *txnLedger) endedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ended
}

const (
	crashTopic      = "crash"
	crashPartitions = 4
	crashTxnRecords = 8 // records per transaction, spread over every partition
)

// crashProducer runs transactions until ctx ends or a request fails. With hold set it
// leaves its first transaction open and reports on opened.
func crashProducer(ctx context.Context, addr, id string, round, p int, seed int64, hold bool, opened chan<- struct{}, led *txnLedger) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.TransactionalID(id), kgo.TransactionTimeout(2*time.Second),
		kgo.DefaultProduceTopic(crashTopic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.RetryTimeout(3*time.Second), kgo.RecordDeliveryTimeout(3*time.Second))
	if err != nil {
		return
	}
	defer cl.Close()
	rng := rand.New(rand.NewSource(seed))
	for txn := 0; ctx.Err() == nil; txn++ {
		if err := cl.BeginTransaction(); err != nil {
			return
		}
		key := fmt.Sprintf("%d/%d/%d", round, p, txn)
		commit := rng.Intn(3) != 0
		led.set(key, "unknown")
		recs := make([]*kgo.Record, crashTxnRecords)
		for k := range recs {
			recs[k] = kgo.StringRecord(fmt.Sprintf("%s/%d", key, k))
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return
		}
		if hold {
			opened <- struct{}{}
			<-ctx.Done()
			return
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			return
		}
		if commit {
			led.set(key, "committed")
		} else {
			led.set(key, "aborted")
		}
	}
}

// TestTransactionsSurviveKill kills a child broker with SIGKILL while transactions are
// open and while they are being ended (markers being written), over several rounds;
// after each restart a read_committed consumer must see every committed transaction
// whole, nothing of an aborted one, and no part of any transaction without the rest.
func TestTransactionsSurviveKill(t *testing.T) {
	bin := buildRivulet(t)
	dir := t.TempDir()
	// One port for every restart, so that the producers of a round reconnect.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	props := []string{"listeners=PLAINTEXT://" + addr, "transaction.abort.timed.out.transaction.cleanup.interval.ms=200"}
	led := &txnLedger{outcome: map[string]string{}}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))

	bc := runBrokerChild(t, bin, dir, props...)
	adm := kadm.NewClient(newClientAt(t, bc.addr))
	if _, err := adm.CreateTopic(testCtx(t), crashPartitions, 1, nil, crashTopic); err != nil {
		t.Fatal(err)
	}

	const rounds = 4
	for round := 0; round < rounds; round++ {
		hold := round == 0 // round 0: killed with every transaction open
		ctx, cancel := context.WithCancel(context.Background())
		opened := make(chan struct{}, 3)
		var wg sync.WaitGroup
		for p := 0; p < 3; p++ {
			pseed := rng.Int63()
			wg.Add(1)
			go func() {
				defer wg.Done()
				crashProducer(ctx, bc.addr, fmt.Sprintf("crash-p%d", p), round, p, pseed, hold, opened, led)
			}()
		}
		deadline := time.Now().Add(30 * time.Second)
		if hold {
			for i := 0; i < 3; i++ {
				select {
				case <-opened:
				case <-time.After(time.Until(deadline)):
					t.Fatal("producers did not open their transactions within 30s")
				}
			}
		} else {
			// Kill in the middle of the traffic: after a few more transactions ended, at a
			// random moment, most likely while EndTxn writes markers.
			want := led.endedCount() + 3 + rng.Intn(6)
			if !testutil.Poll(time.Until(deadline), func() bool { return led.endedCount() >= want }) {
				t.Fatalf("round %d: only %d transactions ended within 30s", round, led.endedCount())
			}
			time.Sleep(time.Duration(rng.Intn(20)) * time.Millisecond)
		}
		bc.kill(t)
		cancel()
		// Producers blocked on the dead broker finish once it is back (a record they
		// buffered may still land, in a transaction that then times out).
		bc = runBrokerChild(t, bin, dir, props...)
		wg.Wait()
		checkCommittedView(t, bc.addr, round, led)
	}
	bc.stop(t)
}

// newClientAt is a plain client of the broker at addr, closed with the test.
func newClientAt(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// checkCommittedView waits for the transactions the kill left open to be aborted (by
// their timeout), commits one sentinel record per partition, and reads the topic with
// read_committed up to the sentinels.
func checkCommittedView(t *testing.T, addr string, round int, led *txnLedger) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClientAt(t, addr))
	var ls kadm.ListedTransactions
	var err error
	if !testutil.Poll(60*time.Second, func() bool {
		ls, err = adm.ListTransactions(ctx, nil, []string{"Ongoing", "PrepareCommit", "PrepareAbort"})
		return err == nil && len(ls.Sorted()) == 0
	}) {
		t.Fatalf("round %d: transactions still open after the restart: %v %v", round, ls, err)
	}
	sentinel := newClientAt(t, addr, kgo.TransactionalID("crash-sentinel"), kgo.DefaultProduceTopic(crashTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := sentinel.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < crashPartitions; p++ {
		if err := sentinel.ProduceSync(ctx, &kgo.Record{Partition: p, Value: []byte(fmt.Sprintf("S%d", round))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := sentinel.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}

	cons := newClientAt(t, addr, kgo.ConsumeTopics(crashTopic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	seen := map[string]map[string]bool{} // txn key -> record indexes
	sentinels := map[int32]bool{}
	for len(sentinels) < crashPartitions {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("round %d: read_committed did not reach the sentinels (%d of %d)", round, len(sentinels), crashPartitions)
		}
		fs.EachRecord(func(r *kgo.Record) {
			v := string(r.Value)
			if v == fmt.Sprintf("S%d", round) {
				sentinels[r.Partition] = true
				return
			}
			if strings.HasPrefix(v, "S") {
				return
			}
			i := strings.LastIndexByte(v, '/')
			key := v[:i]
			if seen[key] == nil {
				seen[key] = map[string]bool{}
			}
			if seen[key][v[i+1:]] {
				t.Errorf("round %d: record %s read twice", round, v)
			}
			seen[key][v[i+1:]] = true
		})
	}
	led.mu.Lock()
	defer led.mu.Unlock()
	var committed, aborted, unknown int
	for key, outcome := range led.outcome {
		n := len(seen[key])
		switch outcome {
		case "committed":
			committed++
			if n != crashTxnRecords {
				t.Errorf("round %d: committed transaction %s has %d of %d records", round, key, n, crashTxnRecords)
			}
		case "aborted":
			aborted++
			if n != 0 {
				t.Errorf("round %d: aborted transaction %s shows %d records", round, key, n)
			}
		default:
			unknown++
			if n != 0 && n != crashTxnRecords {
				t.Errorf("round %d: transaction %s interrupted by the kill shows %d of %d records", round, key, n, crashTxnRecords)
			}
		}
	}
	for key := range seen {
		if _, ok := led.outcome[key]; !ok {
			t.Errorf("round %d: records of unknown transaction %s", round, key)
		}
	}
	t.Logf("round %d: %d committed, %d aborted, %d interrupted transactions checked", round, committed, aborted, unknown)
}
