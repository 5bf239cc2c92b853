package brokerlite

// ACL checks of the transaction APIs (Kafka's): WRITE on the transactional id for
// AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and TxnOffsetCommit, with WRITE on each topic
// added, READ on the group whose offsets join the transaction and READ on each topic
// committed; DESCRIBE on the transactional id for DescribeTransactions and ListTransactions.
// Broker-to-broker batches (AddPartitionsToTxn v4+) need CLUSTER_ACTION.

import (
	"slices"

	"github.com/rivulet-io/rivulet/brokerlite/auth"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (b *Broker) txnOK(info *ConnInfo, op auth.Operation, id string) bool {
	return b.authorize(info, op, auth.ResourceTransactionalID, id)
}

func authorizeTxnRequest(b *Broker, info *ConnInfo, kreq kmsg.Request) (kmsg.Response, func(kmsg.Response)) {
	switch req := kreq.(type) {
	case *kmsg.AddPartitionsToTxnRequest:
		if req.Version >= 4 {
			return refuseUnless(b.authorizeCluster(info, auth.OpClusterAction), req, func(r *kmsg.AddPartitionsToTxnResponse) { r.ErrorCode = codeClusterAuth })
		}
		txnDenied := !b.txnOK(info, auth.OpWrite, req.TransactionalID)
		deniedTopic := false
		for _, t := range req.Topics {
			if !b.topicOK(info, auth.OpWrite, t.Topic) {
				deniedTopic = true
			}
		}
		if !txnDenied && !deniedTopic {
			return nil, nil
		}
		// Kafka fails the whole request: the denied partitions with their code, the others
		// with OPERATION_NOT_ATTEMPTED.
		resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
		for _, t := range req.Topics {
			code := int16(55) // OPERATION_NOT_ATTEMPTED
			switch {
			case txnDenied:
				code = codeTxnAuth
			case !b.topicOK(info, auth.OpWrite, t.Topic):
				code = codeTopicAuth
			}
			rt := kmsg.NewAddPartitionsToTxnResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil

	case *kmsg.AddOffsetsToTxnRequest:
		resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
		switch {
		case !b.txnOK(info, auth.OpWrite, req.TransactionalID):
			resp.ErrorCode = codeTxnAuth
		case !b.groupOK(info, auth.OpRead, req.Group):
			resp.ErrorCode = codeGroupAuth
		default:
			return nil, nil
		}
		return resp, nil

	case *kmsg.EndTxnRequest:
		return refuseUnless(b.txnOK(info, auth.OpWrite, req.TransactionalID), req, func(r *kmsg.EndTxnResponse) { r.ErrorCode = codeTxnAuth })

	case *kmsg.TxnOffsetCommitRequest:
		code := int16(0)
		switch {
		case !b.txnOK(info, auth.OpWrite, req.TransactionalID):
			code = codeTxnAuth
		case !b.groupOK(info, auth.OpRead, req.Group):
			code = codeGroupAuth
		}
		if code != 0 {
			resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
			for _, t := range req.Topics {
				resp.Topics = append(resp.Topics, txnOffsetCommitAnswer(t, code))
			}
			return resp, nil
		}
		// As Kafka: the topics the principal may read are committed, the others refused.
		denied := keepAllowed(&req.Topics,
			func(t kmsg.TxnOffsetCommitRequestTopic) bool { return b.topicOK(info, auth.OpRead, t.Topic) },
			func(t kmsg.TxnOffsetCommitRequestTopic) kmsg.TxnOffsetCommitResponseTopic {
				return txnOffsetCommitAnswer(t, codeTopicAuth)
			})
		if len(req.Topics) == 0 && len(denied) > 0 {
			resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
			resp.Topics = denied
			return resp, nil
		}
		return nil, appendTo(func(r *kmsg.TxnOffsetCommitResponse) { r.Topics = append(r.Topics, denied...) })

	case *kmsg.DescribeTransactionsRequest:
		denied := keepAllowed(&req.TransactionalIDs,
			func(id string) bool { return b.txnOK(info, auth.OpDescribe, id) },
			func(id string) kmsg.DescribeTransactionsResponseTransactionState {
				st := kmsg.NewDescribeTransactionsResponseTransactionState()
				st.TransactionalID, st.ErrorCode, st.ProducerID, st.ProducerEpoch = id, codeTxnAuth, -1, -1
				return st
			})
		return nil, appendTo(func(r *kmsg.DescribeTransactionsResponse) {
			// As Kafka: a transaction's topics the principal may not describe are left out.
			for i := range r.TransactionStates {
				st := &r.TransactionStates[i]
				st.Topics = slices.DeleteFunc(st.Topics, func(t kmsg.DescribeTransactionsResponseTransactionStateTopic) bool {
					return !b.topicOK(info, auth.OpDescribe, t.Topic)
				})
			}
			r.TransactionStates = append(r.TransactionStates, denied...)
		})

	case *kmsg.ListTransactionsRequest:
		return nil, appendTo(func(r *kmsg.ListTransactionsResponse) {
			r.TransactionStates = slices.DeleteFunc(r.TransactionStates, func(s kmsg.ListTransactionsResponseTransactionState) bool {
				return !b.txnOK(info, auth.OpDescribe, s.TransactionalID)
			})
		})
	}
	return nil, nil
}
