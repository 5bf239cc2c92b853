package brokerlite

// ListOffsets (key 2), versions 1-8.
//
// Timestamps: -2 earliest (the log start offset), -1 latest (the high watermark, which on
// one node is the log end offset; with no transactions it is also the last stable offset,
// so read_committed gets the same answer), -3 the record with the largest timestamp
// (KIP-734, v7+), -4 earliest local (KIP-405, v8+; all data is local, so the log start
// offset). Any other timestamp finds the first offset whose record timestamp is at or after
// it, or offset -1 when there is none. A partition named twice gets INVALID_REQUEST. The
// leader epoch is always 0.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.ListOffsets, 1, 8, handleListOffsets) }

func handleListOffsets(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	type tp struct {
		t string
		p int32
	}
	seen := map[tp]int{}
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			seen[tp{rt.Topic, rp.Partition}]++
		}
	}
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		t := b.topics.get(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.Timestamp, sp.Offset, sp.LeaderEpoch = -1, -1, -1
			switch {
			case seen[tp{rt.Topic, rp.Partition}] > 1:
				sp.ErrorCode = kerr.InvalidRequest.Code
			case t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.partitions):
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				p := t.partitions[rp.Partition]
				var err error
				sp.Offset, sp.Timestamp, err = listOffset(p, rp.Timestamp, req.IsolationLevel)
				if err != nil {
					code, _ := logErrorCode(err)
					sp.ErrorCode = code.Code
					sp.Offset, sp.Timestamp = -1, -1
				} else {
					sp.LeaderEpoch = 0
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// listOffset resolves one ListOffsets timestamp to (offset, timestamp).
func listOffset(p *partition, ts int64, isolation int8) (int64, int64, error) {
	switch ts {
	case -1: // latest (high watermark / last stable offset)
		return p.latestOffset(isolation), -1, nil
	case -2, -4: // earliest, earliest local
		start, _ := p.offsets()
		return start, -1, nil
	case -3: // max timestamp
		return p.maxTimestamp()
	}
	if ts < 0 {
		return -1, -1, newTopicError(kerr.InvalidRequest, "unknown special timestamp %d", ts)
	}
	return p.offsetForTimestamp(ts)
}
