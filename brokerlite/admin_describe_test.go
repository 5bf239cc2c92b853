package brokerlite

import (
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDescribeLogDirs: kadm's DescribeAllLogDirs lists both data directories, each with
// the partitions stored in it and their sizes on disk (what was produced), and the file
// system's space; asking for one topic lists only it.
func TestDescribeLogDirs(t *testing.T) {
	base := t.TempDir()
	d1, d2 := filepath.Join(base, "d1"), filepath.Join(base, "d2")
	b := startBroker(t, "", "log.dirs", d1+","+d2)
	c := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()))
	createTopic(t, c, "ld", 4)
	createTopic(t, c, "other", 1)
	for p := int32(0); p < 4; p++ {
		for i := 0; i < 10; i++ {
			if err := c.ProduceSync(testCtx(t), &kgo.Record{Topic: "ld", Partition: p, Value: make([]byte, 100)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	adm := kadm.NewClient(c)
	all, err := adm.DescribeAllLogDirs(testCtx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	dirs := all[b.NodeID()]
	if len(dirs) != 2 {
		t.Fatalf("got %d log dirs, want 2: %+v", len(dirs), dirs)
	}
	seen := map[int32]string{}
	for name, d := range dirs {
		if d.Err != nil {
			t.Fatalf("dir %s: %v", name, d.Err)
		}
		if name != d1 && name != d2 {
			t.Fatalf("unexpected log dir %q", name)
		}
		if d.TotalBytes <= 0 || d.UsableBytes <= 0 || d.UsableBytes > d.TotalBytes {
			t.Errorf("dir %s: total %d, usable %d bytes", name, d.TotalBytes, d.UsableBytes)
		}
		for p, dp := range d.Topics["ld"] {
			if _, dup := seen[p]; dup {
				t.Fatalf("partition %d listed in two dirs", p)
			}
			seen[p] = name
			if dp.Size < 10*100 {
				t.Errorf("ld-%d in %s: size %d, want at least the 1000 bytes produced", p, name, dp.Size)
			}
		}
	}
	if len(seen) != 4 {
		t.Fatalf("partitions of ld found in the dirs: %v, want all 4", seen)
	}
	one, err := adm.DescribeBrokerLogDirs(testCtx(t), b.NodeID(), kadm.TopicsSet{"other": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	one.EachPartition(func(p kadm.DescribedLogDirPartition) {
		n++
		if p.Topic != "other" || p.Partition != 0 {
			t.Errorf("asked for other-0, got %s-%d", p.Topic, p.Partition)
		}
	})
	if n != 1 {
		t.Fatalf("asked for one partition, got %d", n)
	}
}

// TestDescribeProducers: an idempotent producer shows up in DescribeProducers with its id,
// epoch and last sequence; a partition without producers lists none; an unknown partition
// answers UNKNOWN_TOPIC_OR_PARTITION.
func TestDescribeProducers(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	createTopic(t, c, "dp", 2)
	for i := 0; i < 5; i++ {
		if err := c.ProduceSync(testCtx(t), &kgo.Record{Topic: "dp", Partition: 0, Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	pid, epoch, err := c.ProducerID(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(newClient(t, b))
	described, err := adm.DescribeProducers(testCtx(t), kadm.TopicsSet{"dp": {0: {}, 1: {}}})
	if err != nil {
		t.Fatal(err)
	}
	p0 := described["dp"].Partitions[0]
	if p0.Err != nil || len(p0.ActiveProducers) != 1 {
		t.Fatalf("dp-0: %v, producers %+v; want the one idempotent producer", p0.Err, p0.ActiveProducers)
	}
	got := p0.ActiveProducers[pid]
	if got.ProducerID != pid || got.ProducerEpoch != epoch || got.LastSequence != 4 || got.CurrentTxnStartOffset != -1 {
		t.Fatalf("dp-0 producer %+v, want id %d epoch %d last sequence 4, no transaction", got, pid, epoch)
	}
	if p1 := described["dp"].Partitions[1]; p1.Err != nil || len(p1.ActiveProducers) != 0 {
		t.Fatalf("dp-1: %v, producers %+v; want none", p1.Err, p1.ActiveProducers)
	}

	req := kmsg.NewPtrDescribeProducersRequest()
	rt := kmsg.NewDescribeProducersRequestTopic()
	rt.Topic, rt.Partitions = "dp", []int32{7}
	req.Topics = append(req.Topics, rt)
	// Straight to the broker: kgo would refuse to route a partition that does not exist.
	kresp, err := newClient(t, b).Broker(int(b.NodeID())).Request(testCtx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	resp := kresp.(*kmsg.DescribeProducersResponse)
	wantCode(t, "DescribeProducers dp-7", resp.Topics[0].Partitions[0].ErrorCode, kerr.UnknownTopicOrPartition)
}
