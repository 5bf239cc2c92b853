package brokerlite

// TxnOffsetCommit (key 28), versions 0-3.
//
// Commits consumer offsets inside a transaction. The producer must be the transactional
// id's current one (INVALID_PRODUCER_ID_MAPPING, INVALID_PRODUCER_EPOCH otherwise; before
// v2 PRODUCER_FENCED does not exist) and the group must have been added with
// AddOffsetsToTxn (INVALID_TXN_STATE). v3+ carry the group member, generation and
// instance id (KIP-447): UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION and FENCED_INSTANCE_ID as
// for OffsetCommit. The offsets are written durably to __consumer_offsets as the
// producer's transactional batch and stay pending (OffsetFetch does not return them; with
// require_stable it answers UNSTABLE_OFFSET_COMMIT) until the transaction's marker. Per
// partition: UNKNOWN_TOPIC_OR_PARTITION and OFFSET_METADATA_TOO_LARGE. v4-v5 are not
// served.

import (
	"context"

	"github.com/rivulet-io/rivulet/brokerlite/groupcoord"
	"github.com/rivulet-io/rivulet/brokerlite/txncoord"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.TxnOffsetCommit, 0, 3, handleTxnOffsetCommit) }

func handleTxnOffsetCommit(ctx context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.TxnOffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	answerAll := func(code int16) (kmsg.Response, error) {
		for _, t := range req.Topics {
			resp.Topics = append(resp.Topics, txnOffsetCommitAnswer(t, code))
		}
		return resp, nil
	}
	gc, tc := b.coordinator(), b.txnCoordinator()
	if gc == nil || tc == nil {
		return answerAll(kerr.CoordinatorNotAvailable.Code)
	}
	// The transactional id stays locked until the offsets are written, so the
	// transaction cannot end between the check and the write.
	pc := tc.BeginProduce(req.TransactionalID, req.ProducerID, req.ProducerEpoch)
	defer pc.Done()
	op := txnBroker{b}.OffsetsPartition(req.Group)
	if r := pc.Check(txncoord.TopicPartition{Topic: op.Topic, Partition: op.Partition}); r.ErrorCode != 0 {
		return answerAll(r.ErrorCode)
	}
	cr := groupcoord.TxnCommitRequest{
		Group: req.Group, ProducerID: req.ProducerID, ProducerEpoch: req.ProducerEpoch,
		Generation: -1,
	}
	if req.Version >= 3 {
		cr.MemberID, cr.Generation, cr.InstanceID = req.MemberID, req.Generation, strOrEmpty(req.InstanceID)
	}
	for _, t := range req.Topics {
		ct := groupcoord.CommitTopic{Topic: t.Topic}
		for _, p := range t.Partitions {
			cp := groupcoord.CommitPartition{Partition: p.Partition, Offset: p.Offset, LeaderEpoch: -1, Metadata: strOrEmpty(p.Metadata), TimestampMs: -1}
			if req.Version >= 2 {
				cp.LeaderEpoch = p.LeaderEpoch
			}
			ct.Partitions = append(ct.Partitions, cp)
		}
		cr.Topics = append(cr.Topics, ct)
	}
	for _, t := range gc.TxnCommitOffsets(ctx, cr) {
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, fencedCode(p.ErrorCode, req.Version, 2)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// txnOffsetCommitAnswer answers every partition of a requested topic with code.
func txnOffsetCommitAnswer(t kmsg.TxnOffsetCommitRequestTopic, code int16) kmsg.TxnOffsetCommitResponseTopic {
	rt := kmsg.NewTxnOffsetCommitResponseTopic()
	rt.Topic = t.Topic
	for _, p := range t.Partitions {
		rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
		rp.Partition, rp.ErrorCode = p.Partition, code
		rt.Partitions = append(rt.Partitions, rp)
	}
	return rt
}
