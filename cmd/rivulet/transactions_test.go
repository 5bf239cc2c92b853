package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTransactionsCLI runs `rivulet transactions` and `rivulet consume --isolation-level
// read_committed` against a `rivulet broker` with one committed, one aborted and one open
// transaction.
func TestTransactionsCLI(t *testing.T) {
	bs := startRivuletBroker(t)
	mustCLI(t, "", "topics", "--bootstrap-server", bs, "--create", "--topic", "tx", "--partitions", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bs), kgo.TransactionalID("cli-txn"), kgo.DefaultProduceTopic("tx"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	txn := func(commit bool, vs ...string) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			if err := cl.ProduceSync(ctx, kgo.StringRecord(v)).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	txn(true, "c1", "c2")  // offsets 0-1, marker 2
	txn(false, "a1", "a2") // offsets 3-4, marker 5
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, kgo.StringRecord("open")).FirstErr(); err != nil { // offset 6
		t.Fatal(err)
	}

	res := mustCLI(t, "", "consume", "--bootstrap-server", bs, "--topic", "tx", "--from-beginning",
		"--isolation-level", "read_committed", "--timeout-ms", "1500")
	if got := strings.Fields(res.stdout); strings.Join(got, ",") != "c1,c2" {
		t.Fatalf("read_committed consume printed %q, want c1 and c2 only", res.stdout)
	}
	res = mustCLI(t, "", "consume", "--bootstrap-server", bs, "--topic", "tx", "--from-beginning", "--timeout-ms", "1500")
	if got := strings.Fields(res.stdout); len(got) != 5 {
		t.Fatalf("read_uncommitted consume printed %q, want all 5 records", res.stdout)
	}

	res = mustCLI(t, "", "transactions", "--bootstrap-server", bs, "list")
	if !strings.Contains(res.stdout, "TransactionalId") || !strings.Contains(res.stdout, "cli-txn") || !strings.Contains(res.stdout, "Ongoing") {
		t.Fatalf("list:\n%s", res)
	}
	// --state takes Kafka's state names in any case; the broker's filter wants Kafka's spelling.
	res = mustCLI(t, "", "transactions", "--bootstrap-server", bs, "list", "--state", "ongoing")
	if !strings.Contains(res.stdout, "cli-txn") {
		t.Fatalf("list --state ongoing:\n%s", res)
	}
	res = mustCLI(t, "", "transactions", "--bootstrap-server", bs, "list", "--state", "CompleteCommit")
	if strings.Contains(res.stdout, "cli-txn") {
		t.Fatalf("list --state CompleteCommit listed the open transaction:\n%s", res)
	}
	expectCLI(t, 2, "not a transaction state", "", "transactions", "--bootstrap-server", bs, "list", "--state", "running")
	res = mustCLI(t, "", "transactions", "describe", "--bootstrap-server", bs, "--transactional-id", "cli-txn")
	if !strings.Contains(res.stdout, "Ongoing") || !strings.Contains(res.stdout, "tx-0") {
		t.Fatalf("describe:\n%s", res)
	}
	res = mustCLI(t, "", "transactions", "describe-producers", "--bootstrap-server", bs, "--topic", "tx", "--partition", "0")
	if fields := strings.Fields(lines(res.stdout)[1]); len(fields) != 6 || fields[5] != "6" {
		t.Fatalf("describe-producers: want the open transaction at offset 6:\n%s", res)
	}
	// The open transaction is young and tracked by its coordinator: not hanging.
	res = mustCLI(t, "", "transactions", "find-hanging", "--bootstrap-server", bs, "--broker-id", "0", "--max-transaction-timeout", "1")
	if len(lines(res.stdout)) != 1 {
		t.Fatalf("find-hanging reported a live transaction:\n%s", res)
	}
	expectCLI(t, 1, "no open transaction starting at offset 3", "", "transactions", "abort", "--bootstrap-server", bs, "--topic", "tx", "--partition", "0", "--start-offset", "3")
	expectCLI(t, 2, "--start-offset", "", "transactions", "abort", "--bootstrap-server", bs, "--topic", "tx", "--partition", "0")
	expectCLI(t, 2, "--transactional-id is required", "", "transactions", "describe", "--bootstrap-server", bs)

	// abort ends the open transaction in the partition: read_committed then reads past it.
	mustCLI(t, "", "transactions", "abort", "--bootstrap-server", bs, "--topic", "tx", "--partition", "0", "--start-offset", "6")
	res = mustCLI(t, "", "transactions", "describe-producers", "--bootstrap-server", bs, "--topic", "tx", "--partition", "0")
	if fields := strings.Fields(lines(res.stdout)[1]); fields[5] != "None" {
		t.Fatalf("describe-producers after abort:\n%s", res)
	}
	if err := cl.ProduceSync(ctx, kgo.StringRecord("after")).FirstErr(); err == nil {
		// The producer's transaction goes on at the coordinator; its next record opens a new
		// transaction in the partition, ended when the producer commits.
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
	}
	res = mustCLI(t, "", "consume", "--bootstrap-server", bs, "--topic", "tx", "--from-beginning",
		"--isolation-level", "read_committed", "--timeout-ms", "1500")
	for _, v := range strings.Fields(res.stdout) {
		if v == "open" || v == "a1" || v == "a2" {
			t.Fatalf("read_committed after abort printed %q:\n%s", v, res.stdout)
		}
	}
}

// TestTransactionsFindHangingAndAbort makes a hanging transaction (a transactional batch
// in a partition that no coordinator knows, older than the maximum timeout), finds it with
// find-hanging and ends it with abort.
func TestTransactionsFindHangingAndAbort(t *testing.T) {
	dir := t.TempDir()
	bs, stop := startRivuletBrokerIn(t, dir)
	mustCLI(t, "", "topics", "--bootstrap-server", bs, "--create", "--topic", "hang", "--partitions", "1")
	mustCLI(t, "plain\n", "produce", "--bootstrap-server", bs, "--topic", "hang")
	stop()

	// Written to the partition log directly, as a producer whose coordinator state was lost.
	l, err := partlog.Open(filepath.Join(dir, "hang-0"), partlog.DefaultConfig(), partlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour).UnixMilli()
	batch := partlog.EncodeBatch([]partlog.KV{{Key: []byte("k"), Value: []byte("hanging")}}, old,
		partlog.BatchOptions{ProducerID: 999, ProducerEpoch: 3, Transactional: true})
	if _, err := l.Append(batch); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	bs, _ = startRivuletBrokerIn(t, dir)
	res := mustCLI(t, "", "transactions", "--bootstrap-server", bs, "find-hanging", "--broker-id", "0")
	ls := lines(res.stdout)
	if len(ls) != 2 || !strings.HasPrefix(strings.Join(strings.Fields(ls[1]), " "), "hang 0 999 3 ") {
		t.Fatalf("find-hanging:\n%s", res)
	}
	if f := strings.Fields(ls[1]); f[5] != "1" {
		t.Fatalf("find-hanging start offset %s, want 1:\n%s", f[5], res)
	}
	// read_committed stops at the hanging transaction.
	res = mustCLI(t, "", "consume", "--bootstrap-server", bs, "--topic", "hang", "--from-beginning",
		"--isolation-level", "read_committed", "--timeout-ms", "1000")
	if strings.TrimSpace(res.stdout) != "plain" {
		t.Fatalf("read_committed before the abort: %q", res.stdout)
	}
	res = mustCLI(t, "", "transactions", "--bootstrap-server", bs, "abort", "--topic", "hang", "--partition", "0", "--start-offset", "1")
	if !strings.Contains(res.stdout, "producer 999") {
		t.Fatalf("abort:\n%s", res)
	}
	res = mustCLI(t, "", "transactions", "--bootstrap-server", bs, "find-hanging", "--topic", "hang")
	if len(lines(res.stdout)) != 1 {
		t.Fatalf("find-hanging after the abort:\n%s", res)
	}
	mustCLI(t, "after\n", "produce", "--bootstrap-server", bs, "--topic", "hang")
	res = mustCLI(t, "", "consume", "--bootstrap-server", bs, "--topic", "hang", "--from-beginning",
		"--isolation-level", "read_committed", "--max-messages", "2", "--timeout-ms", "10000")
	if got := strings.Join(strings.Fields(res.stdout), ","); got != "plain,after" {
		t.Fatalf("read_committed after the abort: %q, want plain and after", got)
	}
}
