package brokerlite

// DeleteRecords (key 21), versions 0-2.
//
// Moves a partition's log start offset forward to the given offset (-1 means the high
// watermark): records before it are no longer readable and whole segments below it are
// deleted by the log. An offset above the high watermark gets OFFSET_OUT_OF_RANGE; an
// offset below the current log start offset changes nothing and reports the current one,
// as in Kafka. As in Kafka, clients cannot truncate internal topics
// (INVALID_TOPIC_EXCEPTION): the coordinators' state lives there; and a topic whose
// cleanup.policy does not include delete answers POLICY_VIOLATION, as Kafka's partition
// does.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.DeleteRecords, 0, 2, handleDeleteRecords) }

func handleDeleteRecords(_ context.Context, b *Broker, conn *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DeleteRecordsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		t := b.topics.get(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LowWatermark = -1
			switch {
			case t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.partitions):
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case t.internal && !conn.internal:
				sp.ErrorCode = kerr.InvalidTopicException.Code
			case !t.partitions[rp.Partition].log.Config().CleanupPolicy.Delete():
				sp.ErrorCode = kerr.PolicyViolation.Code
			default:
				p := t.partitions[rp.Partition]
				start, hwm := p.offsets()
				off := rp.Offset
				if off == -1 {
					off = hwm
				}
				if off < 0 || off > hwm {
					sp.ErrorCode = kerr.OffsetOutOfRange.Code
					sp.LowWatermark = start
					break
				}
				low, err := p.deleteRecords(off)
				if err != nil {
					code, _ := logErrorCode(err)
					sp.ErrorCode = code.Code
					break
				}
				sp.LowWatermark = low
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
