package brokerlite

// txn.go wires the transaction coordinator (package txncoord) into the broker: it keeps
// __transaction_state (compacted, internal, transaction.state.log.num.partitions partitions,
// created on the first transactional write, as Kafka does), starts the coordinator over it
// after the group coordinator (markers to
// __consumer_offsets complete the group coordinator's pending offsets), and stops it before
// the group coordinator when the broker closes. The transaction API handlers (22 with a
// transactional id, 24, 25, 26, 28, 65, 66) reach it through b.txnCoordinator(); Produce,
// Fetch and ListOffsets use the helpers at the end of this file.
//
// Settings: transaction.state.log.num.partitions and transaction.state.log.segment.bytes
// (when the topic is created), transaction.max.timeout.ms, transactional.id.expiration.ms,
// transaction.abort.timed.out.transaction.cleanup.interval.ms and
// transaction.remove.expired.transaction.cleanup.interval.ms.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite/groupcoord"
	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"github.com/rivulet-io/rivulet/brokerlite/txncoord"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnSettings are the transaction settings, read from the broker's properties.
type txnSettings struct {
	partitions     int32
	segmentBytes   int64
	maxTimeout     time.Duration
	idExpiration   time.Duration
	abortInterval  time.Duration
	removeInterval time.Duration
}

// parseTxnSettings reads and checks the transaction settings; an invalid value stops the
// broker from starting, with the key named.
func parseTxnSettings(s *Settings) (txnSettings, error) {
	var out txnSettings
	var errs []error
	num := func(key string, min int64) int64 {
		v, _ := s.value(key)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min {
			errs = append(errs, fmt.Errorf("brokerlite: %s=%q must be an integer >= %d", key, v, min))
		}
		return n
	}
	ms := func(key string) time.Duration { return time.Duration(num(key, 1)) * time.Millisecond }
	out.partitions = int32(num("transaction.state.log.num.partitions", 1))
	out.segmentBytes = num("transaction.state.log.segment.bytes", 14)
	out.maxTimeout = ms("transaction.max.timeout.ms")
	out.idExpiration = ms("transactional.id.expiration.ms")
	out.abortInterval = ms("transaction.abort.timed.out.transaction.cleanup.interval.ms")
	out.removeInterval = ms("transaction.remove.expired.transaction.cleanup.interval.ms")
	if out.partitions > 1<<20 {
		errs = append(errs, fmt.Errorf("brokerlite: transaction.state.log.num.partitions=%d is too large", out.partitions))
	}
	return out, errors.Join(errs...)
}

// txnStateLog is the coordinator's view of __transaction_state. As in Kafka, the topic is
// created when the first transactional producer needs it, not at start, so a broker that
// never sees a transaction has no such topic.
type txnStateLog struct {
	b  *Broker
	ts txnSettings
}

// ensure creates __transaction_state if it does not exist yet.
func (l txnStateLog) ensure() error {
	if l.b.topics.get(transactionStateTopic) != nil {
		return nil
	}
	if _, err := l.b.ensureInternalTopic(transactionStateTopic, l.ts.partitions, map[string]string{
		"cleanup.policy": "compact",
		"segment.bytes":  strconv.FormatInt(l.ts.segmentBytes, 10),
	}); err != nil {
		return fmt.Errorf("brokerlite: creating %s: %w", transactionStateTopic, err)
	}
	return nil
}

func (l txnStateLog) Append(ctx context.Context, partition int32, batch []byte) error {
	if err := l.ensure(); err != nil {
		return err
	}
	return l.b.appendInternal(ctx, transactionStateTopic, partition, batch)
}

func (l txnStateLog) AppendUnsynced(ctx context.Context, partition int32, batch []byte) error {
	if err := l.ensure(); err != nil {
		return err
	}
	_, err := l.b.appendInternalAsync(ctx, transactionStateTopic, partition, batch)
	return err
}

func (l txnStateLog) Replay(ctx context.Context, partition int32, fn func(batches []byte) error) error {
	if l.b.topics.get(transactionStateTopic) == nil {
		return nil // not created yet: nothing to load
	}
	return l.b.readPartition(ctx, transactionStateTopic, partition, fn)
}

// txnBroker is what the coordinator asks of the broker.
type txnBroker struct{ b *Broker }

func (tb txnBroker) NewProducerID() (int64, error) { return tb.b.pids.allocate() }

func (tb txnBroker) PartitionExists(tp txncoord.TopicPartition) bool {
	_, err := tb.b.lookupPartition(tp.Topic, tp.Partition)
	return err == nil
}

func (tb txnBroker) OffsetsPartition(group string) txncoord.TopicPartition {
	n := tb.b.settings.OffsetsTopicNumPartitions
	if t := tb.b.topics.get(consumerOffsetsTopic); t != nil {
		n = int32(len(t.partitions))
	}
	return txncoord.TopicPartition{Topic: consumerOffsetsTopic, Partition: groupcoord.PartitionFor(group, n)}
}

// WriteMarkers appends a marker to every partition, waits until all are durable (the
// partitions are synced in parallel), then completes the group coordinator's pending
// offsets of the __consumer_offsets partitions among them.
func (tb txnBroker) WriteMarkers(ctx context.Context, pid int64, epoch int16, commit bool, coordinatorEpoch int32, parts []txncoord.TopicPartition) error {
	b := tb.b
	var targets []syncTarget
	var offsetParts []int32
	now := time.Now().UnixMilli()
	for _, tp := range parts {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("brokerlite: writing markers: %w", err)
		}
		p, err := b.lookupPartition(tp.Topic, tp.Partition)
		if err != nil {
			continue // the topic was deleted: nothing to mark, as Kafka skips it
		}
		res, err := p.log.AppendWith(partlog.EncodeMarker(pid, epoch, commit, coordinatorEpoch, now), partlog.AppendOptions{Origin: partlog.OriginCoordinator})
		if err != nil {
			return fmt.Errorf("brokerlite: writing a marker to %s: %w", p, err)
		}
		p.wake()
		targets = append(targets, syncTarget{p, res.LastOffset + 1})
		if tp.Topic == consumerOffsetsTopic {
			offsetParts = append(offsetParts, tp.Partition)
		}
	}
	for i, err := range syncPartitions(targets) {
		if err != nil {
			return fmt.Errorf("brokerlite: fsync of a marker in %s: %w", targets[i].p, err)
		}
	}
	if gc := b.coordinator(); gc != nil {
		for _, p := range offsetParts {
			gc.CompleteTxn(p, pid, commit)
		}
	}
	return nil
}

func startTxnCoordinator(ctx context.Context, b *Broker) error {
	ts, err := parseTxnSettings(&b.settings)
	if err != nil {
		return err
	}
	n := ts.partitions
	if t := b.topics.get(transactionStateTopic); t != nil {
		n = int32(len(t.partitions))
		if n != ts.partitions {
			b.logger.Warn("__transaction_state exists with another partition count than transaction.state.log.num.partitions; using the existing count",
				"partitions", n, "transaction.state.log.num.partitions", ts.partitions)
		}
		ts.partitions = n
	}
	c, err := txncoord.Start(ctx, txncoord.Config{
		Log:            txnStateLog{b, ts},
		Broker:         txnBroker{b},
		Partitions:     n,
		PartitionFor:   func(id string) int32 { return groupcoord.PartitionFor(id, n) },
		MaxTimeout:     ts.maxTimeout,
		IDExpiration:   ts.idExpiration,
		AbortInterval:  ts.abortInterval,
		RemoveInterval: ts.removeInterval,
		Logger:         b.logger.With("component", "txncoord"),
	})
	if err != nil {
		return fmt.Errorf("brokerlite: starting the transaction coordinator: %w", err)
	}
	b.txn = c
	return nil
}

func stopTxnCoordinator(b *Broker) {
	if b.txn != nil {
		b.txn.Close()
	}
}

// txnCoordinator returns the running transaction coordinator, or nil.
func (b *Broker) txnCoordinator() *txncoord.Coordinator { return b.txn }

// appendCoordinator appends batches the broker writes itself (internal topics, markers):
// producer sequences are not checked, epochs are.
func (p *partition) appendCoordinator(records []byte) (appendResult, error) {
	res, err := p.log.AppendWith(records, partlog.AppendOptions{Origin: partlog.OriginCoordinator})
	if err != nil {
		return appendResult{}, err
	}
	p.wake()
	return appendResult{baseOffset: res.BaseOffset, lastOffset: res.LastOffset, logAppendTime: res.LogAppendTime, logStartOffset: res.LogStartOffset}, nil
}

// readIsolated is partition.read for a Fetch: read_committed (isolation level 1) reads
// below the last stable offset and returns the aborted transactions of the range.
func (p *partition) readIsolated(dst []byte, offset int64, maxBytes int32, strict bool, isolation int8) (readResult, []kmsg.FetchResponseTopicPartitionAbortedTransaction, error) {
	if isolation != 1 {
		rr, err := p.read(dst, offset, maxBytes, strict)
		return rr, nil, err
	}
	if maxBytes < 0 {
		maxBytes = 0
	}
	start := len(dst)
	rr, err := p.log.ReadCommitted(dst, offset, maxBytes)
	out := readResult{records: rr.Records, highWatermark: rr.HighWatermark, lastStableOffset: rr.LastStableOffset, logStartOffset: rr.LogStartOffset}
	if err != nil {
		return out, nil, err
	}
	if strict && int32(len(rr.Records)-start) > maxBytes {
		out.records = rr.Records[:start]
		return out, nil, nil
	}
	var aborted []kmsg.FetchResponseTopicPartitionAbortedTransaction
	for _, a := range rr.AbortedTransactions {
		at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
		at.ProducerID, at.FirstOffset = a.ProducerID, a.FirstOffset
		aborted = append(aborted, at)
	}
	return out, aborted, nil
}

// latestOffset is ListOffsets' "latest": the high watermark, or the last stable offset for
// read_committed (isolation level 1).
func (p *partition) latestOffset(isolation int8) int64 {
	if isolation == 1 {
		return p.log.LastStableOffset()
	}
	return p.log.HighWatermark()
}

// txnProduce checks the transactional side of a Produce request: with a transactional id,
// every batch must be transactional, of the id's current producer and epoch, to a
// partition added to its ongoing transaction; without one, no batch may be
// transactional. The transactional id stays locked (its transaction cannot end) until
// done is called, so no batch lands after the transaction's markers.
type txnProduce struct {
	b       *Broker
	id      *string
	version int16 // the Produce request's
	check   *txncoord.ProduceCheck
	// pid and epoch are the producer check was begun for (the request's first
	// transactional batch): every other batch of the request must be of the same producer.
	pid   int64
	epoch int16
}

func beginTxnProduce(b *Broker, id *string, version int16) *txnProduce {
	return &txnProduce{b: b, id: id, version: version}
}

func (tp *txnProduce) done() {
	if tp.check != nil {
		tp.check.Done()
	}
}

// checkPartition returns nil when the partition's records may be appended, or the error
// code and message for it.
func (tp *txnProduce) checkPartition(topic string, partition int32, records []byte) (*kerr.Error, string) {
	if tp.id == nil {
		// Transactional batches without the id were refused with the whole request
		// (handleProduce); malformed batches are refused by the log with its own error.
		return nil, ""
	}
	_, allTxn, pid, epoch, ok := batchesProducer(records)
	if !ok || !allTxn {
		return kerr.InvalidRecord, "a request with a transactional id must carry transactional batches of one producer"
	}
	c := tp.b.txnCoordinator()
	if c == nil {
		return kerr.CoordinatorNotAvailable, "the transaction coordinator is not running"
	}
	if tp.check == nil {
		tp.check = c.BeginProduce(*tp.id, pid, epoch)
		tp.pid, tp.epoch = pid, epoch
	} else if pid != tp.pid || epoch != tp.epoch {
		// As Kafka: the transactional records of one request are of one producer.
		return kerr.InvalidProducerIDMapping, "the transactional batches of one request must be of one producer id and epoch"
	}
	r := tp.check.Check(txncoord.TopicPartition{Topic: topic, Partition: partition})
	if r.ErrorCode != 0 {
		if r.ErrorCode == kerr.InvalidTxnState.Code && tp.version >= 11 {
			// Produce v11 clients (KIP-890) take TRANSACTION_ABORTABLE for a partition
			// outside the transaction, as Kafka answers them; older ones INVALID_TXN_STATE.
			return kerr.TransactionAbortable, r.Message
		}
		return codeError(r.ErrorCode), r.Message
	}
	return nil, ""
}

// codeError returns kerr's error for a code.
func codeError(code int16) *kerr.Error {
	var e *kerr.Error
	if errors.As(kerr.ErrorForCode(code), &e) {
		return e
	}
	return kerr.UnknownServerError
}

// batchesProducer reads the producer of the batches of a records field: whether any and
// whether all of them are transactional, and the first batch's producer id and epoch. ok
// is false when the headers are cut short or the batches name different producers.
func batchesProducer(records []byte) (anyTxn, allTxn bool, pid int64, epoch int16, ok bool) {
	allTxn = true
	first := true
	for len(records) > 0 {
		if len(records) < 61 {
			return anyTxn, false, pid, epoch, false
		}
		length := int32(be32(records[8:12]))
		attrs := uint16(records[21])<<8 | uint16(records[22])
		t := attrs&0x10 != 0
		id := int64(be64(records[43:51]))
		ep := int16(uint16(records[51])<<8 | uint16(records[52]))
		anyTxn = anyTxn || t
		allTxn = allTxn && t
		if first {
			pid, epoch, first = id, ep, false
		} else if id != pid || ep != epoch {
			return anyTxn, allTxn, pid, epoch, false
		}
		if length < 49 || int(length)+12 > len(records) {
			return anyTxn, allTxn, pid, epoch, false
		}
		records = records[12+int(length):]
	}
	return anyTxn, allTxn && !first, pid, epoch, !first
}
