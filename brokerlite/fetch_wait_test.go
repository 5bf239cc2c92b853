package brokerlite

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// longPollReq is a sessionless Fetch of topic's partitions from offset 0.
func longPollReq(topic string, maxWait, minBytes, maxBytes, partMax int32, parts ...int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.SessionEpoch = maxWait, minBytes, maxBytes, -1
	req.Topics = append(req.Topics, fetchTopic(topic, [16]byte{}, partMax, parts...))
	return req
}

// A long poll whose min_bytes is not reached only because the answer has no room for more
// (partition_max_bytes, or max_bytes below min_bytes) or because the read stopped at the
// end of a segment answers at once with the records, as Kafka's does, instead of waiting
// out max_wait_ms while data is there.
func TestFetchMinBytesAnswersWhenMoreCannotFit(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	createTopic(t, c, "fit", 1)
	createTopic(t, c, "segs", 1, "segment.bytes", "4096")
	for i := 0; i < 12; i++ {
		produceRaw(t, c, "fit", 0, 1, buildBatch(-1, -1, -1, strings.Repeat("x", 1000)))
		produceRaw(t, c, "segs", 0, 1, buildBatch(-1, -1, -1, strings.Repeat("z", 1000)))
	}
	for _, tc := range []struct {
		name, topic                 string
		minBytes, maxBytes, partMax int32
	}{
		{"partition_max_bytes equals min_bytes", "fit", 4000, 1 << 20, 4000},
		{"min_bytes above max_bytes", "fit", 8000, 4000, 1 << 20},
		{"read stops at a segment's end", "segs", 5000, 1 << 20, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			resp := requestAt[*kmsg.FetchResponse](t, b, longPollReq(tc.topic, 20000, tc.minBytes, tc.maxBytes, tc.partMax, 0), 12)
			took := time.Since(start)
			p := resp.Topics[0].Partitions[0]
			if p.ErrorCode != 0 || len(p.RecordBatches) == 0 {
				t.Fatalf("code %d, %d bytes of records; want records", p.ErrorCode, len(p.RecordBatches))
			}
			if took > 10*time.Second {
				t.Fatalf("answered after %v with %d bytes (max_wait_ms 20000): it waited though no more could come", took, len(p.RecordBatches))
			}
		})
	}
}

// Parked long polls hold no part of queued.max.response.bytes while they wait: with
// consumers asking for 50 MiB each parked on an idle topic, a fetch of another topic still
// gets all its records, not its first batch only.
func TestParkedFetchesLeaveResponseBudget(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	createTopic(t, c, "idle", 1)
	createTopic(t, c, "busy", 1)
	for i := 0; i < 20; i++ {
		produceRaw(t, c, "busy", 0, 1, buildBatch(-1, -1, -1, strings.Repeat("y", 1000)))
	}
	for i := 0; i < 3; i++ {
		rc := dialRaw(t, b)
		req := longPollReq("idle", 20000, 1, 50<<20, 1<<20, 0)
		req.Version = 12
		rc.send(req, 1)
	}
	p := b.topics.get("idle").partitions[0]
	testutil.Eventually(t, 10*time.Second, "three fetches parked", func() bool { return p.nwait.Load() == 3 })
	resp := requestAt[*kmsg.FetchResponse](t, b, longPollReq("busy", 0, 1, 50<<20, 1<<20, 0), 12)
	n, err := nextOffsetAfter(resp.Topics[0].Partitions[0].RecordBatches)
	if err != nil || n != 20 {
		t.Fatalf("fetch with three long polls parked read up to offset %d (%v); want all 20 batches", n, err)
	}
}

// A long poll none of whose partitions exist answers at once with their errors.
func TestFetchOfUnknownPartitionsAnswersAtOnce(t *testing.T) {
	b := startBroker(t, "")
	for _, version := range []int16{12, 13} {
		start := time.Now()
		resp := requestAt[*kmsg.FetchResponse](t, b, longPollReq("nope", 20000, 1, 1<<20, 1<<20, 0), version)
		want := kerr.UnknownTopicOrPartition.Code
		if version >= 13 {
			want = kerr.UnknownTopicID.Code
		}
		if got := resp.Topics[0].Partitions[0].ErrorCode; got != want {
			t.Fatalf("v%d: code %d, want %d", version, got, want)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("v%d: answered after %v (max_wait_ms 20000); want at once", version, took)
		}
	}
}

// A partition left out of an answer because max_bytes is used up still gets
// OFFSET_OUT_OF_RANGE for a fetch offset outside its log.
func TestFetchPartitionLeftOutForRoomChecksOffset(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	createTopic(t, c, "skip", 2)
	produceRaw(t, c, "skip", 0, 1, buildBatch(-1, -1, -1, strings.Repeat("x", 2000)))
	req := longPollReq("skip", 0, 1, 100, 1<<20, 0, 1)
	req.Topics[0].Partitions[1].FetchOffset = 999
	resp := requestAt[*kmsg.FetchResponse](t, b, req, 12)
	p0, p1 := resp.Topics[0].Partitions[0], resp.Topics[0].Partitions[1]
	if p0.ErrorCode != 0 || len(p0.RecordBatches) == 0 {
		t.Fatalf("partition 0: code %d, %d bytes; want its first batch", p0.ErrorCode, len(p0.RecordBatches))
	}
	if p1.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("partition 1 at offset 999 of an empty log: code %d, want OFFSET_OUT_OF_RANGE", p1.ErrorCode)
	}
}

// A long poll parked on a topic that is then deleted answers at once with
// UNKNOWN_TOPIC_OR_PARTITION, as Kafka's does.
func TestFetchParkedOnDeletedTopicAnswersUnknown(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	createTopic(t, c, "gone", 1)
	p := b.topics.get("gone").partitions[0]
	rc := dialRaw(t, b)
	req := longPollReq("gone", 20000, 1, 1<<20, 1<<20, 0)
	req.Version = 12
	start := time.Now()
	rc.send(req, 1)
	testutil.Eventually(t, 10*time.Second, "fetch parked", func() bool { return p.nwait.Load() != 0 })
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TopicNames = []string{"gone"}
	del.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("gone")}}
	request[*kmsg.DeleteTopicsResponse](t, c, del)
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	rc.response(resp, 1)
	took := time.Since(start)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("code %d, want UNKNOWN_TOPIC_OR_PARTITION", code)
	}
	if took > 10*time.Second {
		t.Fatalf("answered after %v (max_wait_ms 20000); want at once", took)
	}
}

// A storage error is KAFKA_STORAGE_ERROR from Fetch v6 and NOT_LEADER_OR_FOLLOWER before,
// as Kafka sends it; a closed log is UNKNOWN_TOPIC_OR_PARTITION once its topic is deleted.
func TestFetchErrorCode(t *testing.T) {
	storage := fmt.Errorf("%w: read: disk gone", partlog.ErrStorage)
	for _, tc := range []struct {
		err     error
		gone    bool
		version int16
		want    int16
	}{
		{storage, false, 5, kerr.NotLeaderForPartition.Code},
		{storage, false, 6, kerr.KafkaStorageError.Code},
		{storage, false, 16, kerr.KafkaStorageError.Code},
		{partlog.ErrClosed, false, 12, kerr.NotLeaderForPartition.Code},
		{partlog.ErrClosed, true, 12, kerr.UnknownTopicOrPartition.Code},
		{partlog.ErrClosed, true, 4, kerr.UnknownTopicOrPartition.Code},
	} {
		if got := fetchErrorCode(tc.err, tc.gone, tc.version); got != tc.want {
			t.Errorf("fetchErrorCode(%v, gone %v, v%d) = %d, want %d", tc.err, tc.gone, tc.version, got, tc.want)
		}
	}
}

// A long poll parked with records already read counts those records toward
// queued.max.response.bytes while it waits, and only those.
func TestParkedFetchReservesWhatItRead(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	createTopic(t, c, "some", 1)
	produceRaw(t, c, "some", 0, 1, buildBatch(-1, -1, -1, strings.Repeat("s", 1000)))
	rc := dialRaw(t, b)
	req := longPollReq("some", 20000, 1<<20, 50<<20, 50<<20, 0)
	req.Version = 12
	rc.send(req, 1)
	p := b.topics.get("some").partitions[0]
	testutil.Eventually(t, 10*time.Second, "fetch parked", func() bool { return p.nwait.Load() == 1 })
	testutil.Eventually(t, 10*time.Second, "parked fetch holds its records only", func() bool {
		q := b.limits.respQueued.Load()
		return q >= 1000 && q < 1<<20
	})
}
