package brokerlite

// AddPartitionsToTxn (key 24), versions 0-3.
//
// Adds partitions to the producer's transaction (starting one when none is ongoing); the
// producer may then write transactional batches to them. Errors per partition, as Kafka:
// INVALID_PRODUCER_ID_MAPPING for an unknown transactional id or another producer id,
// PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v2, KIP-588) for an older or newer epoch,
// CONCURRENT_TRANSACTIONS while the previous transaction's markers are still being
// written, UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist (the others
// then get OPERATION_NOT_ATTEMPTED), TOPIC_AUTHORIZATION_FAILED for an internal topic (the
// others then get OPERATION_NOT_ATTEMPTED; as Kafka, whatever the ACLs),
// COORDINATOR_NOT_AVAILABLE when the coordinator cannot write its state. v4 (the brokers'
// batched form of KIP-890) is not served.

import (
	"context"
	"slices"

	"github.com/rivulet-io/rivulet/brokerlite/txncoord"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.AddPartitionsToTxn, 0, 3, handleAddPartitionsToTxn) }

func handleAddPartitionsToTxn(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.AddPartitionsToTxnRequest)
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	var parts []txncoord.TopicPartition
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			parts = append(parts, txncoord.TopicPartition{Topic: t.Topic, Partition: p})
		}
	}
	var results []txncoord.Result
	if slices.ContainsFunc(parts, func(tp txncoord.TopicPartition) bool { return isInternalTopicName(tp.Topic) }) {
		// As Kafka: the coordinators' topics never join a transaction, whatever the ACLs;
		// the request fails as a whole.
		results = make([]txncoord.Result, 0, len(parts))
		for _, tp := range parts {
			code := int16(55) // OPERATION_NOT_ATTEMPTED
			if isInternalTopicName(tp.Topic) {
				code = kerr.TopicAuthorizationFailed.Code
			}
			results = append(results, txncoord.Result{ErrorCode: code})
		}
	} else if c := b.txnCoordinator(); c == nil {
		results = make([]txncoord.Result, len(parts))
		for i := range results {
			results[i].ErrorCode = kerr.CoordinatorNotAvailable.Code
		}
	} else {
		results = c.AddPartitions(req.TransactionalID, req.ProducerID, req.ProducerEpoch, parts)
	}
	i := 0
	for _, t := range req.Topics {
		rt := kmsg.NewAddPartitionsToTxnResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition = p
			rp.ErrorCode = fencedCode(results[i].ErrorCode, req.Version, 2)
			i++
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// txnResultCode is the error code of what fn does on the transaction coordinator, with
// PRODUCER_FENCED spelled as requests before v2 know it (see fencedCode), or
// COORDINATOR_NOT_AVAILABLE when the coordinator is not running. AddOffsetsToTxn and EndTxn
// answer with it.
func txnResultCode(b *Broker, version int16, fn func(*txncoord.Coordinator) txncoord.Result) int16 {
	c := b.txnCoordinator()
	if c == nil {
		return kerr.CoordinatorNotAvailable.Code
	}
	return fencedCode(fn(c).ErrorCode, version, 2)
}

// fencedCode turns PRODUCER_FENCED into INVALID_PRODUCER_EPOCH for request versions
// older than since, which predate the code (KIP-588).
func fencedCode(code int16, version, since int16) int16 {
	if code == kerr.ProducerFenced.Code && version < since {
		return kerr.InvalidProducerEpoch.Code
	}
	return code
}
