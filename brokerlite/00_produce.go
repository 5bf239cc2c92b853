package brokerlite

// Produce (key 0), versions 3-11 (record batches v2 only; v0-v2 carry the old message
// formats, which the log does not store).
//
// The records field of each partition goes to the partition log as it is: the request is
// decoded without copying (UnsafeReadFrom over the frame) and the log validates the
// batches (CRC, sizes, producer sequence) and assigns offsets, so no record is decoded on
// this path.
//
//   - acks=0: no answer. As in Kafka, a request that fails on any partition closes the
//     connection instead, so the producer notices.
//   - acks=1: answered after the append (page cache).
//   - acks=-1: answered after every written partition's log has been fsynced; the logs'
//     group commit lets concurrent producers share one fsync, and the partitions of one
//     request are synced in parallel. The wait happens on the connection's writer
//     (pendingResponse), so requests a producer pipelines on one connection are appended
//     while the previous fsync runs and share the next one; answers stay in order.
//   - any other acks: INVALID_REQUIRED_ACKS.
//
// Per-partition errors: UNKNOWN_TOPIC_OR_PARTITION (topics are not auto-created by
// Produce, as in Kafka; Metadata does that), INVALID_TOPIC_EXCEPTION for an internal topic
// written by a client, and the log's CORRUPT_MESSAGE, MESSAGE_TOO_LARGE,
// RECORD_LIST_TOO_LARGE, INVALID_RECORD, OUT_OF_ORDER_SEQUENCE_NUMBER,
// INVALID_PRODUCER_EPOCH, KAFKA_STORAGE_ERROR. KIP-98: a duplicate batch
// (DUPLICATE_SEQUENCE_NUMBER inside the log) is acknowledged with its original offsets and
// not stored again. LogAppendTime is returned when the topic uses it (-1 otherwise).
//
// Transactions (KIP-98): a request with a transactional id must carry transactional batches
// of the id's current producer and epoch (INVALID_PRODUCER_ID_MAPPING,
// INVALID_PRODUCER_EPOCH otherwise) to partitions added to its ongoing transaction
// (INVALID_TXN_STATE); a transactional batch without a transactional id fails the whole
// request with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as in Kafka.
// The id is held while the request appends, so its transaction cannot end in between.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.Produce, 3, 11, handleProduce) }

func handleProduce(_ context.Context, b *Broker, conn *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))

	var reqErr *kerr.Error
	switch {
	case req.Acks != 0 && req.Acks != 1 && req.Acks != -1:
		reqErr = kerr.InvalidRequiredAcks
	}
	// Transactional batches without the request's transactional id: as Kafka, the whole
	// request is refused.
	txnless := false
	if req.TransactionID == nil {
		for _, rt := range req.Topics {
			for _, rp := range rt.Partitions {
				if anyTxn, _, _, _, _ := batchesProducer(rp.Records); anyTxn {
					txnless = true
				}
			}
		}
	}
	txp := beginTxnProduce(b, req.TransactionID, req.Version)
	defer txp.done()

	var toSync []syncTarget // partitions appended to, for acks=-1
	var syncIdx [][2]int    // their places in the response
	failed := false
	for i, rt := range req.Topics {
		st := &resp.Topics[i]
		// The request aliases the frame buffer, which the next request reuses before a
		// pending answer is encoded: the answer keeps its own copy of the name.
		st.Topic = strings.Clone(rt.Topic)
		st.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		t := b.topics.get(rt.Topic)
		for j, rp := range rt.Partitions {
			sp := &st.Partitions[j]
			sp.Default()
			sp.Partition = rp.Partition
			sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = -1, -1, -1
			setErr := func(code *kerr.Error, msg string) {
				failed = true
				sp.ErrorCode = code.Code
				if msg != "" {
					sp.ErrorMessage = &msg
				}
			}
			if txnless {
				setErr(kerr.TransactionalIDAuthorizationFailed, "a transactional batch needs the request's transactional id")
				continue
			}
			if t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.partitions) {
				setErr(kerr.UnknownTopicOrPartition, "")
				continue
			}
			if code, msg := checkProduceRecords(req.Version, rp.Records); code != nil {
				setErr(code, msg)
				continue
			}
			switch {
			case reqErr != nil:
				setErr(reqErr, "")
				continue
			case t.internal && !conn.internal:
				setErr(kerr.InvalidTopicException, fmt.Sprintf("cannot append to internal topic %s", t.name))
				continue
			}
			if code, msg := txp.checkPartition(t.name, rp.Partition, rp.Records); code != nil {
				setErr(code, msg)
				continue
			}
			p := t.partitions[rp.Partition]
			res, err := p.append(rp.Records)
			if err != nil {
				code, msg := logErrorCode(err)
				setErr(code, msg)
				if code == kerr.KafkaStorageError {
					b.logger.Error("append failed", "topic", t.name, "partition", rp.Partition, "err", err)
				}
				continue
			}
			sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = res.baseOffset, res.logAppendTime, res.logStartOffset
			b.metrics.produced(t.name, len(rp.Records), res.lastOffset-res.baseOffset+1)
			if req.Acks == -1 {
				toSync = append(toSync, syncTarget{p, res.lastOffset + 1})
				syncIdx = append(syncIdx, [2]int{i, j})
			}
		}
	}

	if req.Acks == -1 && len(toSync) > 0 {
		// Answer after the fsync. The wait runs on the connection's writer, so the next
		// request on this connection is appended meanwhile and shares the next fsync.
		return &pendingResponse{Response: resp, wait: func() {
			errs := syncPartitions(toSync)
			for k, err := range errs {
				if err != nil {
					sp := &resp.Topics[syncIdx[k][0]].Partitions[syncIdx[k][1]]
					code, msg := logErrorCode(err)
					sp.ErrorCode, sp.ErrorMessage = code.Code, &msg
					sp.BaseOffset = -1
					b.logger.Error("fsync failed; produce not acknowledged", "partition", toSync[k].p.String(), "err", err)
				}
			}
		}}, nil
	}
	if req.Acks == 0 {
		if failed {
			return nil, errors.New("brokerlite: acks=0 produce failed on at least one partition; closing the connection so the producer notices, as Kafka does")
		}
		return nil, nil
	}
	return resp, nil
}

// syncTarget is a partition and the offset its log must be durable up to.
type syncTarget struct {
	p   *partition
	end int64
}

// syncPartitions makes each partition durable up to its target, in parallel when there are
// several, and returns one error per partition.
func syncPartitions(ts []syncTarget) []error {
	errs := make([]error, len(ts))
	if len(ts) == 1 {
		errs[0] = ts[0].p.syncTo(ts[0].end)
		return errs
	}
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = t.p.syncTo(t.end)
		}()
	}
	wg.Wait()
	return errs
}

// checkProduceRecords checks the records of one partition of a Produce request as Kafka
// does before it appends (ProduceRequest.validateRecords, and the log's check of a
// client's base offset): exactly one batch, of magic 2, with base offset 0, and no zstd
// before version 7. What is not one whole batch at its start is left to the log, which
// answers CORRUPT_MESSAGE.
func checkProduceRecords(version int16, records []byte) (*kerr.Error, string) {
	const (
		offLength     = 8  // after the int64 base offset
		offMagic      = 16 // after the length and the partition leader epoch
		offAttributes = 21 // after the magic and the CRC
		codecZstd     = 4
	)
	if len(records) == 0 {
		return kerr.InvalidRecord, "a Produce request must carry one record batch per partition"
	}
	if len(records) < offAttributes+2 {
		return nil, ""
	}
	size := 12 + int64(int32(binary.BigEndian.Uint32(records[offLength:])))
	if size < offAttributes+2 || size > int64(len(records)) {
		return nil, "" // not a whole batch: the log answers CORRUPT_MESSAGE
	}
	if m := int8(records[offMagic]); m != 2 {
		return kerr.InvalidRecord, fmt.Sprintf("Produce v%d carries record batches of magic 2 only, not %d", version, m)
	}
	if version < 7 && binary.BigEndian.Uint16(records[offAttributes:])&7 == codecZstd {
		return kerr.UnsupportedCompressionType, fmt.Sprintf("Produce v%d may not carry zstd batches (v7 and later may)", version)
	}
	if base := int64(binary.BigEndian.Uint64(records)); base != 0 {
		return kerr.InvalidRecord, fmt.Sprintf("a producer's batch has base offset 0, not %d", base)
	}
	if size < int64(len(records)) {
		return kerr.InvalidRecord, "a Produce request carries exactly one record batch per partition"
	}
	return nil, ""
}
