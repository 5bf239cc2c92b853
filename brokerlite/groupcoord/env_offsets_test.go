package groupcoord

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// commit group=G [member=M] [gen=N] [instance=I] [retention=D] [meta=S]
//
//	[at=MS] [v=N] offsets=t/0=5,t/1=7
//
// gen defaults to -1 (a standalone commit), v (the OffsetCommit version) to 8.
func (e *env) cmdCommit(t *testing.T, d *datadriven.TestData) string {
	req := CommitRequest{
		Group:      strArg(d, "group", "g"),
		MemberID:   strArg(d, "member", ""),
		InstanceID: strArg(d, "instance", ""),
		Generation: int32(intArg(t, d, "gen", -1)),
		Retention:  durArg(t, d, "retention", 0),
		Version:    int16(intArg(t, d, "v", 8)),
	}
	meta := strArg(d, "meta", "")
	if n := intArg(t, d, "meta-bytes", 0); n > 0 {
		meta = strings.Repeat("x", n)
	}
	idx := map[string]int{}
	for _, spec := range strings.Split(strArg(d, "offsets", ""), ",") {
		tp, off, ok := strings.Cut(spec, "=")
		topic, ps, ok2 := strings.Cut(tp, "/")
		if !ok || !ok2 {
			d.Fatalf(t, "bad offset spec %q", spec)
		}
		p, _ := strconv.Atoi(ps)
		o, _ := strconv.ParseInt(off, 10, 64)
		i, seen := idx[topic]
		if !seen {
			i = len(req.Topics)
			idx[topic] = i
			req.Topics = append(req.Topics, CommitTopic{Topic: topic})
		}
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, CommitPartition{
			Partition: int32(p), Offset: o, LeaderEpoch: int32(intArg(t, d, "epoch", -1)), Metadata: meta, TimestampMs: int64(intArg(t, d, "at", -1)),
		})
	}
	return formatTopicErrors(e.c.CommitOffsets(context.Background(), req))
}

func formatTopicErrors(ts []TopicErrors) string {
	var b strings.Builder
	for _, t := range ts {
		for _, p := range t.Partitions {
			fmt.Fprintf(&b, "%s/%d: %s\n", t.Topic, p.Partition, errName(p.ErrorCode))
		}
	}
	return b.String()
}

// fetch group=G [partitions=t/0,t/1]  (all partitions when omitted)
func (e *env) cmdFetch(t *testing.T, d *datadriven.TestData) string {
	var topics []FetchTopic
	if s := strArg(d, "partitions", ""); s != "" {
		topics = parseTPs(t, d, s)
	}
	res := e.c.FetchOffsets(strArg(d, "group", "g"), topics)
	var b strings.Builder
	if res.ErrorCode != 0 {
		fmt.Fprintf(&b, "error %s\n", errName(res.ErrorCode))
	}
	for _, tp := range res.Topics {
		for _, p := range tp.Partitions {
			fmt.Fprintf(&b, "%s/%d: offset=%d epoch=%d", tp.Topic, p.Partition, p.Offset, p.LeaderEpoch)
			if p.Metadata != "" {
				if len(p.Metadata) > 20 {
					fmt.Fprintf(&b, " metadata=<%d bytes>", len(p.Metadata))
				} else {
					fmt.Fprintf(&b, " metadata=%q", p.Metadata)
				}
			}
			if p.ErrorCode != 0 {
				fmt.Fprintf(&b, " err=%s", errName(p.ErrorCode))
			}
			b.WriteByte('\n')
		}
	}
	if b.Len() == 0 {
		return "no offsets\n"
	}
	return b.String()
}

// offset-delete group=G partitions=t/0,t/1
func (e *env) cmdOffsetDelete(t *testing.T, d *datadriven.TestData) string {
	code, res := e.c.DeleteOffsets(context.Background(), strArg(d, "group", "g"), parseTPs(t, d, strArg(d, "partitions", "")))
	if code != 0 {
		return errName(code) + "\n"
	}
	return formatTopicErrors(res)
}
