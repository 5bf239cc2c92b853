package brokerlite

// ListOffsets (key 2), versions 1-8.
//
// Timestamps: -2 earliest (the log start offset), -1 latest (the high watermark, which on
// one node is the log end offset; with no transactions it is also the last stable offset,
// so read_committed gets the same answer), -3 the record with the largest timestamp
// (KIP-734, v7+), -4 earliest local (KIP-405, v8+; all data is local, so the log start
// offset). Any other timestamp finds the first offset whose record timestamp is at or after
// it, or offset -1 when there is none or when it is not below the last stable offset for
// read_committed (as Kafka). A special timestamp the request's version does not know, or
// an unknown negative one, gets UNSUPPORTED_VERSION. A partition named twice gets
// INVALID_REQUEST. The leader epoch is always 0.

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
				if unsupportedTimestamp(rp.Timestamp, req.Version) {
					sp.ErrorCode = kerr.UnsupportedVersion.Code
					break
				}
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

// unsupportedTimestamp reports whether a special (negative) timestamp is unknown, or newer
// than the request's version: Kafka answers those UNSUPPORTED_VERSION.
func unsupportedTimestamp(ts int64, version int16) bool {
	switch ts {
	case -1, -2:
		return false
	case -3: // max timestamp, KIP-734
		return version < 7
	case -4: // earliest local, KIP-405
		return version < 8
	}
	return ts < 0
}

// listOffset resolves one ListOffsets timestamp to (offset, timestamp).
func listOffset(p *partition, ts int64, isolation int8) (int64, int64, error) {
	var off, at int64
	var err error
	switch ts {
	case -1: // latest (high watermark / last stable offset)
		return p.latestOffset(isolation), -1, nil
	case -2, -4: // earliest, earliest local
		start, _ := p.offsets()
		return start, -1, nil
	case -3: // max timestamp
		off, at, err = p.maxTimestamp()
	default:
		off, at, err = p.offsetForTimestamp(ts)
	}
	if err == nil && off >= 0 && off >= p.latestOffset(isolation) {
		// As Kafka: a lookup by time answers only offsets the reader may fetch, so for
		// read_committed one inside an open transaction is "none" (-1).
		return -1, -1, nil
	}
	return off, at, err
}
