package brokerlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestCompressionCodecs produces and consumes with every codec franz-go supports; the log
// keeps batches compressed as produced and consumers decompress them.
func TestCompressionCodecs(t *testing.T) {
	b := startBroker(t, "")
	codecs := map[string]kgo.CompressionCodec{
		"none":   kgo.NoCompression(),
		"gzip":   kgo.GzipCompression(),
		"snappy": kgo.SnappyCompression(),
		"lz4":    kgo.Lz4Compression(),
		"zstd":   kgo.ZstdCompression(),
	}
	for name, codec := range codecs {
		t.Run(name, func(t *testing.T) {
			topic := "codec-" + name
			c := newClient(t, b, kgo.ProducerBatchCompression(codec), kgo.AllowAutoTopicCreation())
			const n = 500
			recs := make([]*kgo.Record, n)
			for i := range recs {
				// Repetitive values so every codec actually compresses.
				recs[i] = &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("value-%d-%0100d", i, 0))}
			}
			if err := c.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
			got := consumeN(t, b, topic, n)
			for i, r := range got {
				if want := fmt.Sprintf("value-%d-%0100d", i, 0); string(r.Value) != want || r.Offset != int64(i) {
					t.Fatalf("record %d: value %q offset %d", i, r.Value, r.Offset)
				}
			}
		})
	}
}

// TestIdempotentProduceFranz produces with franz-go's idempotent producer (the default) at
// acks=all and reads everything back once.
func TestIdempotentProduceFranz(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.AllowAutoTopicCreation())
	var recs []*kgo.Record
	for i := 0; i < 2000; i++ {
		recs = append(recs, &kgo.Record{Topic: "idem", Value: []byte(fmt.Sprint(i))})
	}
	if err := c.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	got := consumeN(t, b, "idem", len(recs))
	for i, r := range got {
		if string(r.Value) != fmt.Sprint(i) {
			t.Fatalf("record %d = %s", i, r.Value)
		}
	}
}

// TestIdempotentDuplicateAndGap drives the sequence checks with raw requests: a resent
// batch is acknowledged with its original offset and stored once (KIP-98); a gap is
// OUT_OF_ORDER_SEQUENCE_NUMBER; an old epoch is INVALID_PRODUCER_EPOCH.
func TestIdempotentDuplicateAndGap(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	ctx := testCtx(t)
	createTopic(t, c, "dup", 1)

	ipid := kmsg.NewPtrInitProducerIDRequest()
	ipid.TransactionTimeoutMillis = 60000
	ipidResp, err := ipid.RequestWith(ctx, c)
	if err != nil || ipidResp.ErrorCode != 0 {
		t.Fatalf("InitProducerID: %v %v", err, ipidResp)
	}
	pid, epoch := ipidResp.ProducerID, ipidResp.ProducerEpoch

	produce := func(batch []byte) kmsg.ProduceResponseTopicPartition {
		t.Helper()
		req := kmsg.NewPtrProduceRequest()
		req.Acks = -1
		req.TimeoutMillis = 5000
		req.Topics = append(req.Topics, produceTopic("dup", 0, batch))
		resp, err := req.RequestWith(ctx, c)
		if err != nil {
			t.Fatalf("produce: %v", err)
		}
		return resp.Topics[0].Partitions[0]
	}

	first := produce(buildBatch(pid, epoch, 0, "a", "b", "c"))
	second := produce(buildBatch(pid, epoch, 3, "d", "e"))
	if first.ErrorCode != 0 || second.ErrorCode != 0 || first.BaseOffset != 0 || second.BaseOffset != 3 {
		t.Fatalf("first=%+v second=%+v", first, second)
	}
	// Resend the second batch, as a producer does after a lost response.
	dup := produce(buildBatch(pid, epoch, 3, "d", "e"))
	if dup.ErrorCode != 0 || dup.BaseOffset != 3 {
		t.Fatalf("duplicate batch: error %v base offset %d, want success at the original offset 3", kerr.ErrorForCode(dup.ErrorCode), dup.BaseOffset)
	}
	// A gap in the sequence.
	gap := produce(buildBatch(pid, epoch, 9, "x"))
	if gap.ErrorCode != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("gap: got %v, want OUT_OF_ORDER_SEQUENCE_NUMBER", kerr.ErrorForCode(gap.ErrorCode))
	}
	// KIP-360: the producer re-initializes naming its producer id and gets a new one at
	// epoch 0 (as from Kafka), whose sequence starts at 0.
	bump := kmsg.NewPtrInitProducerIDRequest()
	bump.Version = 4
	bump.ProducerID, bump.ProducerEpoch = pid, epoch
	bumpResp, err := bump.RequestWith(ctx, c)
	if err != nil || bumpResp.ErrorCode != 0 || bumpResp.ProducerID == pid || bumpResp.ProducerEpoch != 0 {
		t.Fatalf("re-initializing: %v %+v", err, bumpResp)
	}
	if r := produce(buildBatch(bumpResp.ProducerID, 0, 0, "f")); r.ErrorCode != 0 || r.BaseOffset != 5 {
		t.Fatalf("new producer id from sequence 0: %+v", r)
	}
	// A bumped epoch of the same producer id also starts from sequence 0 (the Java client
	// bumps the epoch of an idempotent producer itself), and fences the older epoch.
	if r := produce(buildBatch(pid, epoch+1, 0, "g")); r.ErrorCode != 0 || r.BaseOffset != 6 {
		t.Fatalf("bumped epoch from sequence 0: %+v", r)
	}
	if r := produce(buildBatch(pid, epoch, 5, "old")); r.ErrorCode != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("old epoch: got %v, want INVALID_PRODUCER_EPOCH", kerr.ErrorForCode(r.ErrorCode))
	}

	// Stored once: a, b, c, d, e, f, g.
	got := consumeN(t, b, "dup", 7)
	var vals []string
	for _, r := range got {
		vals = append(vals, string(r.Value))
	}
	if fmt.Sprint(vals) != "[a b c d e f g]" {
		t.Fatalf("log holds %v", vals)
	}
	_, hwm := b.topics.get("dup").partitions[0].offsets()
	if hwm != 7 {
		t.Fatalf("high watermark %d, want 7", hwm)
	}
}

// createTopic creates a topic through the protocol and fails the test on error.
func createTopic(t testing.TB, c *kgo.Client, name string, partitions int32, configs ...string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, 1
	for i := 0; i+1 < len(configs); i += 2 {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = configs[i], kmsg.StringPtr(configs[i+1])
		rt.Configs = append(rt.Configs, cfg)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), c)
	if err != nil {
		t.Fatalf("CreateTopics: %v", err)
	}
	if code := resp.Topics[0].ErrorCode; code != 0 {
		t.Fatalf("CreateTopics %s: %v %v", name, kerr.ErrorForCode(code), resp.Topics[0].ErrorMessage)
	}
}

// TestRestartKeepsData produces, restarts the broker on the same directory, and consumes
// everything; topics keep their ids and configs.
func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	c := newClient(t, b, kgo.RequiredAcks(kgo.AllISRAcks()))
	createTopic(t, c, "keep", 3, "retention.ms", "123456789")
	var recs []*kgo.Record
	for i := 0; i < 3000; i++ {
		recs = append(recs, &kgo.Record{Topic: "keep", Key: []byte(fmt.Sprint(i % 7)), Value: []byte(fmt.Sprint(i))})
	}
	if err := c.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	id := b.topics.get("keep").id
	clusterID := b.ClusterID()
	c.Close()
	closeBroker(t, b)

	b2 := startBroker(t, dir)
	if b2.ClusterID() != clusterID {
		t.Fatalf("cluster id changed: %s -> %s", clusterID, b2.ClusterID())
	}
	tp := b2.topics.get("keep")
	if tp == nil || tp.id != id || len(tp.partitions) != 3 || tp.configs["retention.ms"] != "123456789" {
		t.Fatalf("topic after restart: %+v", tp)
	}
	got := consumeN(t, b2, "keep", len(recs))
	seen := map[string]bool{}
	for _, r := range got {
		if seen[string(r.Value)] {
			t.Fatalf("duplicate %s", r.Value)
		}
		seen[string(r.Value)] = true
	}
	if len(seen) != len(recs) {
		t.Fatalf("got %d distinct records, want %d", len(seen), len(recs))
	}
	// New producer ids never repeat across restarts.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c2 := newClient(t, b2)
	r, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctx, c2)
	if err != nil || r.ErrorCode != 0 || r.ProducerID < producerIDBlock {
		t.Fatalf("producer id after restart: %v %+v (want >= %d)", err, r, producerIDBlock)
	}
}

// TestTopicChangesSurviveRestart: deletions, added partitions and altered configs are
// persisted; partition directories missing from rivulet-topics.json are adopted, not lost.
func TestTopicChangesSurviveRestart(t *testing.T) {
	dir, dir2 := t.TempDir(), t.TempDir()
	logDirs := dir + "," + dir2
	b := startBroker(t, dir, "log.dirs", logDirs)
	c := newClient(t, b)
	createTopic(t, c, "gone", 2)
	createTopic(t, c, "grow", 1)
	createTopic(t, c, "data", 4)
	produceN(t, newClient(t, b, kgo.DefaultProduceTopic("data")), "data", 200)
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TopicNames = []string{"gone"}
	del.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("gone")}}
	if r, err := del.RequestWith(testCtx(t), c); err != nil || r.Topics[0].ErrorCode != 0 {
		t.Fatalf("delete: %v %+v", err, r)
	}
	if err := b.topics.addPartitions("grow", 3, false); err != nil {
		t.Fatal(err)
	}
	c.Close()
	closeBroker(t, b)

	b2 := startBroker(t, dir, "log.dirs", logDirs)
	if b2.topics.get("gone") != nil {
		t.Fatal("deleted topic came back")
	}
	if n := len(b2.topics.get("grow").partitions); n != 3 {
		t.Fatalf("grow has %d partitions after restart", n)
	}
	// Partitions were spread over both log dirs.
	used := map[string]bool{}
	for _, p := range b2.topics.get("data").partitions {
		used[filepath.Dir(p.log.Dir())] = true
	}
	if len(used) != 2 {
		t.Fatalf("partitions of data use log dirs %v, want both", used)
	}
	id := b2.topics.get("data").id
	closeBroker(t, b2)

	// Lose rivulet-topics.json: the partition directories are adopted with their data.
	if err := os.Remove(filepath.Join(dir, topicsFile)); err != nil {
		t.Fatal(err)
	}
	b3 := startBroker(t, dir, "log.dirs", logDirs)
	tp := b3.topics.get("data")
	if tp == nil || len(tp.partitions) != 4 || tp.id == id {
		t.Fatalf("adopted topic: %+v", tp)
	}
	if got := consumeN(t, b3, "data", 200); len(got) != 200 {
		t.Fatalf("adopted topic has %d records", len(got))
	}
}
