package brokerlite

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSaramaTransactions: sarama's transactional producer (its own implementation of
// InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn) commits
// and aborts transactions with records and group offsets; a read_committed sarama consumer
// and a read_committed franz-go consumer see the committed records only, and the group has
// the committed transaction's offsets only.
func TestSaramaTransactions(t *testing.T) {
	b := startBroker(t, "")
	admCl := newClient(t, b)
	createTopic(t, admCl, "sarama-txn-out", 2)
	createTopic(t, admCl, "sarama-txn-in", 1)

	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Transaction.ID = "sarama-txn"
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Retry.Backoff = 20 * time.Millisecond
	p, err := sarama.NewSyncProducer([]string{b.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	txn := func(commit bool, tag string, offset int64) {
		t.Helper()
		if err := p.BeginTxn(); err != nil {
			t.Fatalf("BeginTxn: %v", err)
		}
		for i := 0; i < 10; i++ {
			msg := &sarama.ProducerMessage{Topic: "sarama-txn-out", Key: sarama.StringEncoder(fmt.Sprintf("k%d", i)), Value: sarama.StringEncoder(fmt.Sprintf("%s-%d", tag, i))}
			if _, _, err := p.SendMessage(msg); err != nil {
				t.Fatalf("SendMessage %s: %v", tag, err)
			}
		}
		offs := map[string][]*sarama.PartitionOffsetMetadata{"sarama-txn-in": {{Partition: 0, Offset: offset}}}
		if err := p.AddOffsetsToTxn(offs, "sarama-txn-group"); err != nil {
			t.Fatalf("AddOffsetsToTxn %s: %v", tag, err)
		}
		if commit {
			err = p.CommitTxn()
		} else {
			err = p.AbortTxn()
		}
		if err != nil {
			t.Fatalf("end of transaction %s (commit %v): %v", tag, commit, err)
		}
	}
	txn(true, "first", 10)
	txn(false, "aborted", 20)
	txn(true, "second", 30)

	want := []string{}
	for _, tag := range []string{"first", "second"} {
		for i := 0; i < 10; i++ {
			want = append(want, fmt.Sprintf("%s-%d", tag, i))
		}
	}
	sort.Strings(want)

	// sarama, read_committed.
	ccfg := sarama.NewConfig()
	ccfg.Version = sarama.V3_6_0_0
	ccfg.Consumer.IsolationLevel = sarama.ReadCommitted
	ccfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	c, err := sarama.NewConsumer([]string{b.Addr()}, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The aborted transaction lies between the two committed ones in each partition, so the
	// first 20 records read are the committed ones only if the aborted ones are skipped.
	msgs := make(chan string, 64)
	for part := int32(0); part < 2; part++ {
		pc, err := c.ConsumePartition("sarama-txn-out", part, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		go func() {
			for m := range pc.Messages() {
				msgs <- string(m.Value)
			}
		}()
		go func() {
			for err := range pc.Errors() {
				msgs <- "error: " + err.Error()
			}
		}()
	}
	var got []string
	deadline := time.After(30 * time.Second)
	for len(got) < len(want) {
		select {
		case v := <-msgs:
			got = append(got, v)
		case <-deadline:
			t.Fatalf("sarama read %d of %d records within 30s: %v", len(got), len(want), got)
		}
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("sarama read_committed read %d records %v, want %d %v", len(got), got, len(want), want)
	}

	// franz-go, read_committed, as a cross-check of what the log holds.
	fc := newClient(t, b, kgo.ConsumeTopics("sarama-txn-out"), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	got = got[:0]
	for len(got) < len(want) {
		fs := fc.PollFetches(testCtx(t))
		if err := fs.Err(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("franz-go read_committed read %v, want %v", got, want)
	}

	offs, err := kadm.NewClient(admCl).FetchOffsets(testCtx(t), "sarama-txn-group")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup("sarama-txn-in", 0); !ok || o.At != 30 {
		t.Fatalf("group offset of sarama-txn-in/0: %+v (found %v), want 30", o, ok)
	}
}
