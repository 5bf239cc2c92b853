package brokerlite

// WriteTxnMarkers (key 27), versions 0-1.
//
// Writes commit or abort markers for a producer to partitions. In a Kafka cluster the
// transaction coordinator sends it to partition leaders; brokerlite's coordinator writes
// its markers directly, so this request comes from administrators: `kafka-transactions.sh
// abort` (and `rivulet transactions abort`) ends a hanging transaction, one whose
// coordinator no longer knows it, by writing an abort marker with the producer's epoch.
// Per partition: UNKNOWN_TOPIC_OR_PARTITION, INVALID_PRODUCER_EPOCH when the partition has
// seen a newer epoch of the producer, and the log's storage errors. A marker written to a
// __consumer_offsets partition also completes the producer's pending transactional offsets
// there. Answered once every marker is durable.

import (
	"context"

	"github.com/rivulet-io/rivulet/brokerlite/txncoord"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.WriteTxnMarkers, 0, 1, handleWriteTxnMarkers) }

func handleWriteTxnMarkers(ctx context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.WriteTxnMarkersRequest)
	return markersAnswer(req, func(m kmsg.WriteTxnMarkersRequestMarker, topic string, p int32) int16 {
		tp := txncoord.TopicPartition{Topic: topic, Partition: p}
		switch {
		case m.ProducerID < 0 || m.ProducerEpoch < 0:
			return kerr.InvalidRequest.Code
		case topic == transactionStateTopic:
			return kerr.InvalidTopicException.Code
		case !(txnBroker{b}).PartitionExists(tp):
			return kerr.UnknownTopicOrPartition.Code
		}
		if err := (txnBroker{b}).WriteMarkers(ctx, m.ProducerID, m.ProducerEpoch, m.Committed, m.CoordinatorEpoch, []txncoord.TopicPartition{tp}); err != nil {
			code, _ := logErrorCode(err)
			b.logger.Warn("writing a transaction marker failed", "topic", topic, "partition", p, "producer.id", m.ProducerID, "err", err)
			return code.Code
		}
		return 0
	}), nil
}

// markersAnswer answers every partition of every marker of req with the code code gives
// it (code is called in request order).
func markersAnswer(req *kmsg.WriteTxnMarkersRequest, code func(m kmsg.WriteTxnMarkersRequestMarker, topic string, partition int32) int16) *kmsg.WriteTxnMarkersResponse {
	resp := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	for _, m := range req.Markers {
		rm := kmsg.NewWriteTxnMarkersResponseMarker()
		rm.ProducerID = m.ProducerID
		for _, t := range m.Topics {
			rt := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
				rp.Partition, rp.ErrorCode = p, code(m, t.Topic, p)
				rt.Partitions = append(rt.Partitions, rp)
			}
			rm.Topics = append(rm.Topics, rt)
		}
		resp.Markers = append(resp.Markers, rm)
	}
	return resp
}
