package brokerlite

import (
	"bytes"
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestInternalTopicHooks checks what the group coordinator relies on: an internal,
// compacted __consumer_offsets created by the broker, durable appends by the broker itself,
// reading a partition back from its start, and clients kept from writing it.
func TestInternalTopicHooks(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir, "offsets.topic.num.partitions", "3")
	ctx := context.Background()
	parts := b.settings.OffsetsTopicNumPartitions
	tp, err := b.ensureInternalTopic(consumerOffsetsTopic, parts, map[string]string{"cleanup.policy": "compact"})
	if err != nil || !tp.internal || len(tp.partitions) != 3 {
		t.Fatalf("ensureInternalTopic: %v %+v", err, tp)
	}
	if again, err := b.ensureInternalTopic(consumerOffsetsTopic, 7, nil); err != nil || again != tp {
		t.Fatalf("second ensureInternalTopic: %v", err)
	}
	// The coordinator's records are keyed, as a compacted topic requires; the probe batches
	// here are not, so they go to an internal topic with the delete policy.
	if err := b.appendInternal(ctx, "__missing", 0, buildBatch(-1, -1, -1, "x")); err == nil {
		t.Fatal("append to a missing topic succeeded")
	}
	probe, err := b.ensureInternalTopic("__rivulet_probe", 1, nil)
	if err != nil || !probe.internal {
		t.Fatalf("probe topic: %v", err)
	}
	for i := 0; i < 3; i++ {
		if err := b.appendInternal(ctx, "__rivulet_probe", 0, buildBatch(-1, -1, -1, "x", "y")); err != nil {
			t.Fatalf("appendInternal: %v", err)
		}
	}
	if b.partitionLog("__rivulet_probe", 0) == nil || b.partitionLog("__rivulet_probe", 5) != nil {
		t.Fatal("partitionLog lookup")
	}
	var got int
	err = b.readPartition(ctx, "__rivulet_probe", 0, func(batches []byte) error {
		got += bytes.Count(batches, []byte{2, 0}) // cheap sanity: something came back
		n, err := nextOffsetAfter(batches)
		if err != nil || n <= 0 {
			t.Fatalf("nextOffsetAfter: %d %v", n, err)
		}
		return nil
	})
	if err != nil || got == 0 {
		t.Fatalf("readPartition: %v (saw %d)", err, got)
	}

	// Clients cannot write internal topics, and Metadata flags them.
	c := newClient(t, b)
	req := kmsg.NewPtrProduceRequest()
	req.Acks = 1
	req.Topics = append(req.Topics, produceTopic(consumerOffsetsTopic, 0, buildBatch(-1, -1, -1, "evil")))
	resp, err := req.RequestWith(testCtx(t), c)
	if err != nil || resp.Topics[0].Partitions[0].ErrorCode != kerr.InvalidTopicException.Code {
		t.Fatalf("client produce to internal topic: %v %+v", err, resp)
	}
	meta := kmsg.NewPtrMetadataRequest()
	meta.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr(consumerOffsetsTopic)}}
	mresp, err := meta.RequestWith(testCtx(t), c)
	if err != nil || !mresp.Topics[0].IsInternal || len(mresp.Topics[0].Partitions) != 3 {
		t.Fatalf("metadata of internal topic: %v %+v", err, mresp)
	}
}
