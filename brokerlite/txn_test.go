package brokerlite

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite/groupcoord"
	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnClient is a transactional producer.
func txnClient(t testing.TB, b *Broker, id string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newClient(t, b, append([]kgo.Opt{kgo.TransactionalID(id), kgo.TransactionTimeout(10 * time.Second),
		kgo.DefaultProduceTopic("tx"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner())}, opts...)...)
}

// runTxn produces values in one transaction and ends it.
func runTxn(t testing.TB, cl *kgo.Client, commit bool, values ...string) {
	t.Helper()
	ctx := testCtx(t)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if err := cl.ProduceSync(ctx, kgo.StringRecord(v)).FirstErr(); err != nil {
			t.Fatalf("produce %s: %v", v, err)
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatalf("end transaction: %v", err)
	}
}

// openTxn begins a transaction and produces value in it, leaving it open.
func openTxn(t testing.TB, cl *kgo.Client, value string) {
	t.Helper()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(testCtx(t), kgo.StringRecord(value)).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// consumeAll reads topic from the start with the isolation level until it has want
// records and the end of every partition (by the level's end offset) is reached.
func consumeAll(t testing.TB, b *Broker, topic string, committed bool, want int) []string {
	t.Helper()
	level := kgo.ReadUncommitted()
	if committed {
		level = kgo.ReadCommitted()
	}
	cl := newClient(t, b, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(level), kgo.FetchMaxWait(100*time.Millisecond))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(testCtx(t), 15*time.Second)
	defer cancel()
	var got []string
	for len(got) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records (read_committed=%v): %v", len(got), want, committed, got)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	// Nothing more arrives.
	short, cancel2 := context.WithTimeout(testCtx(t), 300*time.Millisecond)
	defer cancel2()
	cl.PollFetches(short).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	return got
}

func values(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

func TestTransactionsReadCommitted(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	c := newClient(t, b)
	createTopic(t, c, "tx", 2)
	p := txnClient(t, b, "t1")
	runTxn(t, p, true, values("c1", 10)...)
	runTxn(t, p, false, values("a1", 5)...)
	runTxn(t, p, true, values("c2", 10)...)
	// An open transaction: its records are stored but not readable committed.
	time.Sleep(5 * time.Millisecond)
	openedAt := time.Now().UnixMilli()
	openTxn(t, p, "open")

	check := func(b *Broker) {
		t.Helper()
		got := consumeAll(t, b, "tx", true, 20)
		if len(got) != 20 {
			t.Fatalf("read_committed got %d records: %v", len(got), got)
		}
		for _, v := range got {
			if !strings.HasPrefix(v, "c") {
				t.Fatalf("read_committed returned %q (aborted or open)", v)
			}
		}
		if got := consumeAll(t, b, "tx", false, 26); len(got) != 26 {
			t.Fatalf("read_uncommitted got %d records, want 26", len(got))
		}
		// ListOffsets: latest is the last stable offset for read_committed.
		for _, level := range []int8{0, 1} {
			req := kmsg.NewPtrListOffsetsRequest()
			req.IsolationLevel = level
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = "tx"
			for i := int32(0); i < 2; i++ {
				rp := kmsg.NewListOffsetsRequestTopicPartition()
				rp.Partition, rp.Timestamp = i, -1
				rt.Partitions = append(rt.Partitions, rp)
			}
			req.Topics = append(req.Topics, rt)
			resp := request[*kmsg.ListOffsetsResponse](t, newClient(t, b), req)
			for _, rp := range resp.Topics[0].Partitions {
				pt, _ := b.lookupPartition("tx", rp.Partition)
				want := pt.log.HighWatermark()
				if level == 1 {
					want = pt.log.LastStableOffset()
				}
				if rp.Offset != want {
					t.Fatalf("ListOffsets isolation %d partition %d: %d, want %d", level, rp.Partition, rp.Offset, want)
				}
			}
		}
		// A lookup by time that finds the open transaction's record: its offset for
		// read_uncommitted, none (-1) for read_committed, as Kafka answers; the same for
		// the record with the largest timestamp.
		for i := int32(0); i < 2; i++ {
			pt, _ := b.lookupPartition("tx", i)
			lso := pt.log.LastStableOffset()
			if lso == pt.log.HighWatermark() {
				continue
			}
			for _, ts := range []int64{openedAt, -3} {
				for _, level := range []int8{0, 1} {
					req := kmsg.NewPtrListOffsetsRequest()
					req.IsolationLevel = level
					rt := kmsg.NewListOffsetsRequestTopic()
					rt.Topic = "tx"
					rp := kmsg.NewListOffsetsRequestTopicPartition()
					rp.Partition, rp.Timestamp = i, ts
					rt.Partitions = append(rt.Partitions, rp)
					req.Topics = append(req.Topics, rt)
					got := request[*kmsg.ListOffsetsResponse](t, newClient(t, b), req).Topics[0].Partitions[0]
					want := lso
					if level == 1 {
						want = -1
					}
					if got.ErrorCode != 0 || got.Offset != want {
						t.Fatalf("ListOffsets by time %d, isolation %d, partition %d: offset %d error %d, want offset %d", ts, level, i, got.Offset, got.ErrorCode, want)
					}
				}
			}
		}
	}
	check(b)

	// The open transaction survives a restart and still hides its record; it is then
	// committed by the same producer.
	closeBroker(t, b)
	p.Close()
	b = startBroker(t, dir)
	check(b)
	d := describeTxn(t, b, "t1")
	if d.State != "Ongoing" {
		t.Fatalf("after restart t1 is %s, want Ongoing", d.State)
	}
}

func describeTxn(t testing.TB, b *Broker, id string) kmsg.DescribeTransactionsResponseTransactionState {
	t.Helper()
	req := kmsg.NewPtrDescribeTransactionsRequest()
	req.TransactionalIDs = []string{id}
	resp := request[*kmsg.DescribeTransactionsResponse](t.(*testing.T), newClient(t, b), req)
	return resp.TransactionStates[0]
}

func TestTransactionZombieFenced(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	createTopic(t, c, "tx", 1)
	ctx := testCtx(t)

	zombie := txnClient(t, b, "z")
	openTxn(t, zombie, "zombie-1")
	zpid, zepoch, err := zombie.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// A new producer with the same transactional id fences the zombie.
	fresh := txnClient(t, b, "z")
	runTxn(t, fresh, true, values("fresh", 3)...)
	fpid, fepoch, err := fresh.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fpid != zpid || fepoch <= zepoch {
		t.Fatalf("new producer %d/%d, zombie %d/%d: want the same id with a higher epoch", fpid, fepoch, zpid, zepoch)
	}

	// The zombie's produce and EndTxn fail (sent as raw requests at its old epoch, as a
	// stalled producer would).
	produceErr := zombie.ProduceSync(ctx, kgo.StringRecord("zombie-2")).FirstErr()
	endErr := zombie.EndTransaction(ctx, kgo.TryCommit)
	if produceErr == nil && endErr == nil {
		t.Fatal("the zombie could still produce and commit")
	}
	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = "z", zpid, zepoch, true
	if code := request[*kmsg.EndTxnResponse](t, c, end).ErrorCode; code != kerr.ProducerFenced.Code {
		t.Fatalf("zombie EndTxn: %s, want PRODUCER_FENCED", errName(code))
	}
	add := kmsg.NewPtrAddPartitionsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch = "z", zpid, zepoch
	at := kmsg.NewAddPartitionsToTxnRequestTopic()
	at.Topic, at.Partitions = "tx", []int32{0}
	add.Topics = append(add.Topics, at)
	if code := request[*kmsg.AddPartitionsToTxnResponse](t, c, add).Topics[0].Partitions[0].ErrorCode; code != kerr.ProducerFenced.Code {
		t.Fatalf("zombie AddPartitionsToTxn: %s, want PRODUCER_FENCED", errName(code))
	}

	// The new producer goes on unaffected; committed readers see only its records.
	runTxn(t, fresh, true, values("fresh2", 2)...)
	got := consumeAll(t, b, "tx", true, 5)
	if len(got) != 5 {
		t.Fatalf("read_committed: %v", got)
	}
	for _, v := range got {
		if strings.HasPrefix(v, "zombie") {
			t.Fatalf("read_committed returned the zombie's %q", v)
		}
	}
}

func TestTxnOffsetCommitVisibleOnCommit(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	c := newClient(t, b)
	createTopic(t, c, "tx", 1)
	ctx := testCtx(t)
	p := txnClient(t, b, "offs")

	fetch := func(b *Broker, stable bool) kmsg.OffsetFetchResponseGroupTopicPartition {
		t.Helper()
		req := kmsg.NewPtrOffsetFetchRequest()
		req.RequireStable = stable
		g := kmsg.NewOffsetFetchRequestGroup()
		g.Group = "g1"
		gt := kmsg.NewOffsetFetchRequestGroupTopic()
		gt.Topic, gt.Partitions = "tx", []int32{0}
		g.Topics = append(g.Topics, gt)
		req.Groups = append(req.Groups, g)
		// Sent directly: kgo's sharding would retry UNSTABLE_OFFSET_COMMIT itself.
		resp, err := newClient(t, b).Broker(int(b.NodeID())).Request(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.(*kmsg.OffsetFetchResponse).Groups[0].Topics[0].Partitions[0]
	}
	commitInTxn := func(offset int64, commit bool) {
		t.Helper()
		openTxn(t, p, "x")
		pid, epoch, err := p.ProducerID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ao := kmsg.NewPtrAddOffsetsToTxnRequest()
		ao.TransactionalID, ao.ProducerID, ao.ProducerEpoch, ao.Group = "offs", pid, epoch, "g1"
		if code := request[*kmsg.AddOffsetsToTxnResponse](t, c, ao).ErrorCode; code != 0 {
			t.Fatalf("AddOffsetsToTxn: %s", errName(code))
		}
		oc := kmsg.NewPtrTxnOffsetCommitRequest()
		oc.TransactionalID, oc.Group, oc.ProducerID, oc.ProducerEpoch, oc.Generation = "offs", "g1", pid, epoch, -1
		ot := kmsg.NewTxnOffsetCommitRequestTopic()
		ot.Topic = "tx"
		op := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		op.Partition, op.Offset = 0, offset
		ot.Partitions = append(ot.Partitions, op)
		oc.Topics = append(oc.Topics, ot)
		if code := request[*kmsg.TxnOffsetCommitResponse](t, c, oc).Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("TxnOffsetCommit: %s", errName(code))
		}
		if r := fetch(b, true); r.ErrorCode != kerr.UnstableOffsetCommit.Code {
			t.Fatalf("require_stable while pending: %s, want UNSTABLE_OFFSET_COMMIT", errName(r.ErrorCode))
		}
		if err := p.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	commitInTxn(42, true)
	if r := fetch(b, true); r.ErrorCode != 0 || r.Offset != 42 {
		t.Fatalf("after commit: offset %d %s, want 42", r.Offset, errName(r.ErrorCode))
	}
	commitInTxn(50, false)
	if r := fetch(b, true); r.ErrorCode != 0 || r.Offset != 42 {
		t.Fatalf("after abort: offset %d %s, want 42", r.Offset, errName(r.ErrorCode))
	}
	closeBroker(t, b)
	p.Close()
	b = startBroker(t, dir)
	if r := fetch(b, false); r.Offset != 42 {
		t.Fatalf("after restart: offset %d, want 42", r.Offset)
	}
}

func TestTransactionAPIErrors(t *testing.T) {
	b := startBroker(t, "", "transaction.max.timeout.ms", "5000")
	c := newClient(t, b)
	createTopic(t, c, "tx", 2)
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr("e"), 6000
	if code := request[*kmsg.InitProducerIDResponse](t, c, init).ErrorCode; code != kerr.InvalidTransactionTimeout.Code {
		t.Fatalf("timeout above transaction.max.timeout.ms: %s", errName(code))
	}
	init.TransactionTimeoutMillis = 5000
	ir := request[*kmsg.InitProducerIDResponse](t, c, init)
	if ir.ErrorCode != 0 {
		t.Fatalf("init: %s", errName(ir.ErrorCode))
	}
	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = "e", ir.ProducerID, ir.ProducerEpoch, true
	if code := request[*kmsg.EndTxnResponse](t, c, end).ErrorCode; code != kerr.InvalidTxnState.Code {
		t.Fatalf("EndTxn with no transaction: %s", errName(code))
	}
	end.TransactionalID = "unknown"
	if code := request[*kmsg.EndTxnResponse](t, c, end).ErrorCode; code != kerr.InvalidProducerIDMapping.Code {
		t.Fatalf("EndTxn of an unknown id: %s", errName(code))
	}
	ao := kmsg.NewPtrAddOffsetsToTxnRequest()
	ao.TransactionalID, ao.ProducerID, ao.ProducerEpoch, ao.Group = "e", ir.ProducerID, ir.ProducerEpoch+1, "g"
	if code := request[*kmsg.AddOffsetsToTxnResponse](t, c, ao).ErrorCode; code != kerr.ProducerFenced.Code {
		t.Fatalf("AddOffsetsToTxn with a wrong epoch: %s, want PRODUCER_FENCED", errName(code))
	}
	if got := fencedCode(kerr.ProducerFenced.Code, 1, 2); got != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("PRODUCER_FENCED for a v1 request becomes %s, want INVALID_PRODUCER_EPOCH", errName(got))
	}
	lt := kmsg.NewPtrListTransactionsRequest()
	lt.StateFilters = []string{"Empty", "Bogus"}
	lr := request[*kmsg.ListTransactionsResponse](t, c, lt)
	if len(lr.TransactionStates) != 1 || lr.TransactionStates[0].TransactionalID != "e" || len(lr.UnknownStateFilters) != 1 {
		t.Fatalf("ListTransactions: %+v", lr)
	}
	if d := describeTxn(t, b, "nope"); d.ErrorCode != kerr.TransactionalIDNotFound.Code {
		t.Fatalf("DescribeTransactions of an unknown id: %s", errName(d.ErrorCode))
	}
	// A transactional batch without a transactional id fails the whole request, the
	// partitions with plain batches too, as in Kafka.
	pr := kmsg.NewPtrProduceRequest()
	pr.Acks, pr.TimeoutMillis = 1, 5000
	batch := buildBatch(ir.ProducerID, ir.ProducerEpoch, 0, "v")
	setTransactional(batch)
	pt := produceTopic("tx", 0, batch)
	pt.Partitions = append(pt.Partitions, produceTopic("tx", 1, buildBatch(-1, -1, -1, "plain")).Partitions...)
	pr.Topics = append(pr.Topics, pt)
	for _, p := range request[*kmsg.ProduceResponse](t, c, pr).Topics[0].Partitions {
		if p.ErrorCode != kerr.TransactionalIDAuthorizationFailed.Code {
			t.Fatalf("partition %d of a request with a transactional batch and no transactional id: %s", p.Partition, errName(p.ErrorCode))
		}
	}
	// With the id but without AddPartitionsToTxn: INVALID_TXN_STATE up to Produce v10,
	// TRANSACTION_ABORTABLE from v11 (KIP-890), as Kafka answers.
	pr.TransactionID = kmsg.StringPtr("e")
	rawProduce := func(version int16, req *kmsg.ProduceRequest) int16 {
		t.Helper()
		return requestAt[*kmsg.ProduceResponse](t, b, req, version).Topics[0].Partitions[0].ErrorCode
	}
	if code := rawProduce(10, pr); code != kerr.InvalidTxnState.Code {
		t.Fatalf("produce v10 to a partition not in the transaction: %s, want INVALID_TXN_STATE", errName(code))
	}
	if code := rawProduce(11, pr); code != kerr.TransactionAbortable.Code {
		t.Fatalf("produce v11 to a partition not in the transaction: %s, want TRANSACTION_ABORTABLE", errName(code))
	}
	// The transactional batches of one request must be of one producer: a partition
	// carrying another producer's batch is refused, whatever the first partition's check.
	ap := kmsg.NewPtrAddPartitionsToTxnRequest()
	ap.TransactionalID, ap.ProducerID, ap.ProducerEpoch = "e", ir.ProducerID, ir.ProducerEpoch
	apt := kmsg.NewAddPartitionsToTxnRequestTopic()
	apt.Topic, apt.Partitions = "tx", []int32{0}
	ap.Topics = append(ap.Topics, apt)
	if r := request[*kmsg.AddPartitionsToTxnResponse](t, c, ap); r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("AddPartitionsToTxn: %s", errName(r.Topics[0].Partitions[0].ErrorCode))
	}
	other := buildBatch(ir.ProducerID+1000, 0, 0, "w")
	setTransactional(other)
	two := kmsg.NewPtrProduceRequest()
	two.Acks, two.TimeoutMillis, two.TransactionID = 1, 5000, kmsg.StringPtr("e")
	two.Topics = append(two.Topics, produceTopic("tx", 0, batch))
	two.Topics[0].Partitions = append(two.Topics[0].Partitions, produceTopic("tx", 0, other).Partitions[0])
	two.Topics[0].Partitions[1].Partition = 1
	resp := request[*kmsg.ProduceResponse](t, c, two)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("produce of the transaction's producer: %s", errName(code))
	}
	if code := resp.Topics[0].Partitions[1].ErrorCode; code != kerr.InvalidProducerIDMapping.Code {
		t.Fatalf("another producer's batch in the same request: %s, want INVALID_PRODUCER_ID_MAPPING", errName(code))
	}
}

// setTransactional sets the transactional bit of a batch built by buildBatch and fixes
// its CRC.
func setTransactional(b []byte) {
	binary.BigEndian.PutUint16(b[21:], binary.BigEndian.Uint16(b[21:])|0x10)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32c))
}

// A transactional producer whose id expired (transactional.id.expiration.ms) recovers as
// it would with Kafka: its next transaction fails with INVALID_PRODUCER_ID_MAPPING, the
// client re-initializes naming the producer id it had (KIP-360), gets a new one, and its
// transactions go on.
func TestExpiredTransactionalIDRecovers(t *testing.T) {
	// Long enough that the first transaction's requests never sit this far apart, even
	// under the race detector on a loaded machine.
	b := startBroker(t, "", "transactional.id.expiration.ms", "3000",
		"transaction.remove.expired.transaction.cleanup.interval.ms", "100")
	c := newClient(t, b)
	createTopic(t, c, "tx", 1)
	p := txnClient(t, b, "expiring")
	runTxn(t, p, true, "before")

	deadline := time.Now().Add(15 * time.Second)
	for describeTxn(t, b, "expiring").ErrorCode != kerr.TransactionalIDNotFound.Code {
		if time.Now().After(deadline) {
			t.Fatal("the transactional id did not expire")
		}
		time.Sleep(50 * time.Millisecond)
	}

	ctx := testCtx(t)
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	perr := p.ProduceSync(ctx, kgo.StringRecord("lost")).FirstErr()
	if !errors.Is(perr, kerr.InvalidProducerIDMapping) {
		t.Fatalf("produce after the id expired: %v, want INVALID_PRODUCER_ID_MAPPING", perr)
	}
	// The client recovers by aborting, which re-initializes its producer id.
	if err := p.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatalf("abort after the id expired: %v", err)
	}
	runTxn(t, p, true, "after")
	if got := consumeAll(t, b, "tx", true, 2); len(got) != 2 || got[0] != "before" || got[1] != "after" {
		t.Fatalf("read_committed: %v, want [before after]", got)
	}
}

// A broker that stops after a transaction's PrepareCommit is durable but before its markers
// are written (a crash in the middle of EndTxn) writes the markers when it starts again:
// the transaction's records become readable committed and the id is CompleteCommit.
func TestRestartFinishesPreparedCommit(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	c := newClient(t, b)
	createTopic(t, c, "tx", 2)
	p := txnClient(t, b, "prep")
	openTxn(t, p, "one")
	if err := p.ProduceSync(testCtx(t), kgo.StringRecord("two")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	d := describeTxn(t, b, "prep")
	if d.State != "Ongoing" || len(d.Topics) != 1 || len(d.Topics[0].Partitions) != 2 {
		t.Fatalf("before the stop: %+v", d)
	}
	// The state EndTxn writes first, as the last record of the id.
	key := kmsg.NewTxnMetadataKey()
	key.TransactionalID = "prep"
	val := kmsg.NewTxnMetadataValue()
	val.ProducerID, val.ProducerEpoch, val.TimeoutMillis = d.ProducerID, d.ProducerEpoch, d.TimeoutMillis
	val.State = kmsg.TransactionStatePrepareCommit
	val.StartTimestamp, val.LastUpdateTimestamp = d.StartTimestamp, time.Now().UnixMilli()
	vt := kmsg.NewTxnMetadataValueTopic()
	vt.Topic, vt.Partitions = "tx", d.Topics[0].Partitions
	val.Topics = append(val.Topics, vt)
	st := b.topics.get(transactionStateTopic)
	part := groupcoord.PartitionFor("prep", int32(len(st.partitions)))
	batch := partlog.EncodeBatch([]partlog.KV{{Key: key.AppendTo(nil), Value: val.AppendTo(nil)}}, time.Now().UnixMilli(), partlog.BatchOptions{})
	if err := b.appendInternal(testCtx(t), transactionStateTopic, part, batch); err != nil {
		t.Fatal(err)
	}
	p.Close()
	closeBroker(t, b)

	b = startBroker(t, dir)
	if d := describeTxn(t, b, "prep"); d.State != "CompleteCommit" || d.ProducerEpoch != val.ProducerEpoch {
		t.Fatalf("after the restart: %+v, want CompleteCommit", d)
	}
	got := consumeAll(t, b, "tx", true, 2)
	if len(got) != 2 {
		t.Fatalf("read_committed after the restart: %v, want [one two]", got)
	}
}

// A producer whose transaction outlives transaction.timeout.ms is fenced, as with Kafka:
// the coordinator aborts the transaction with a bumped epoch, the producer's next produce
// is refused, and its attempt to recover by re-initializing with its own epoch (KIP-360)
// is PRODUCER_FENCED, which the client reports.
func TestTimedOutProducerIsFenced(t *testing.T) {
	b := startBroker(t, "", "transaction.abort.timed.out.transaction.cleanup.interval.ms", "50")
	c := newClient(t, b)
	createTopic(t, c, "tx", 1)
	// Long enough that the transaction's first produce is answered before the abort, even
	// under the race detector on a loaded machine.
	p := txnClient(t, b, "slow", kgo.TransactionTimeout(3*time.Second))
	openTxn(t, p, "late")
	deadline := time.Now().Add(20 * time.Second)
	for describeTxn(t, b, "slow").State != "CompleteAbort" {
		if time.Now().After(deadline) {
			t.Fatal("the transaction was not aborted past its timeout")
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx := testCtx(t)
	err := p.ProduceSync(ctx, kgo.StringRecord("after")).FirstErr()
	if err == nil {
		t.Fatal("produce after the timeout abort succeeded")
	}
	// The client aborts and tries again; somewhere on the way it learns it is fenced.
	for _, step := range []func() error{
		func() error { return p.EndTransaction(ctx, kgo.TryAbort) },
		p.BeginTransaction,
		func() error { return p.ProduceSync(ctx, kgo.StringRecord("again")).FirstErr() },
		func() error { return p.EndTransaction(ctx, kgo.TryCommit) },
	} {
		if err = step(); err != nil {
			break
		}
	}
	if !errors.Is(err, kerr.ProducerFenced) {
		t.Fatalf("the timed-out producer went on: %v, want PRODUCER_FENCED", err)
	}
	if got := consumeAll(t, b, "tx", true, 0); len(got) != 0 {
		t.Fatalf("read_committed: %v, want nothing", got)
	}
}
