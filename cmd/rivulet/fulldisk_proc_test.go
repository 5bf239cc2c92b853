package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// mountTmpfs mounts a tmpfs of size bytes on dir (as root, or through passwordless sudo)
// and unmounts it when the test ends. Without either it skips, outside CI only.
func mountTmpfs(t *testing.T, dir string, size int64) {
	t.Helper()
	run := func(args ...string) error {
		if os.Getuid() != 0 {
			args = append([]string{"-n"}, args...)
			if out, err := exec.Command("sudo", args...).CombinedOutput(); err != nil {
				return fmt.Errorf("sudo %v: %v: %s", args, err, out)
			}
			return nil
		}
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %v: %s", args, err, out)
		}
		return nil
	}
	if err := run("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=1777", size), "tmpfs", dir); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("mounting a tmpfs needs root or passwordless sudo: %v", err)
		}
		t.Fatalf("mounting a tmpfs (CI runs this test as root or with passwordless sudo): %v", err)
	}
	t.Cleanup(func() {
		if err := run("umount", dir); err != nil {
			t.Errorf("unmounting the tmpfs: %v", err)
		}
	})
}

// fillDisk writes a file in dir until the file system is full.
func fillDisk(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return
		}
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}

// TestFullDiskAnswersStorageError: on a full disk (a small tmpfs) produce and InitProducerId
// answer KAFKA_STORAGE_ERROR and offset commits NOT_COORDINATOR, as Kafka's; the broker still shuts down on SIGTERM, and once
// space is freed it starts with every acknowledged record and takes writes again.
func TestFullDiskAnswersStorageError(t *testing.T) {
	dir := t.TempDir()
	mountTmpfs(t, dir, 16<<20)
	p := startBrokerProc(t, dir, "offsets.topic.num.partitions=1", "log.segment.bytes=1048576")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.addr))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "full"); err != nil {
		t.Fatal(err)
	}
	produce := func(value []byte) int16 {
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 10000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "full"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = oneRecordBatch(value)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	value := bytes.Repeat([]byte("v"), 200<<10)
	acked := 0
	for code := int16(0); ; {
		if code = produce(value); code != 0 {
			if code != kerr.KafkaStorageError.Code {
				t.Fatalf("produce on a full disk: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
			}
			break
		}
		if acked++; acked > 200 {
			t.Fatal("the 16 MiB disk never filled")
		}
	}
	fillDisk(t, dir) // whatever is left, so that small files cannot be written either
	if code := produce(value); code != kerr.KafkaStorageError.Code {
		t.Fatalf("produce after the disk filled: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
	}
	pid := kmsg.NewPtrInitProducerIDRequest()
	pid.TransactionTimeoutMillis = 60000
	presp, err := pid.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if presp.ErrorCode != kerr.KafkaStorageError.Code {
		t.Fatalf("InitProducerId on a full disk: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(presp.ErrorCode))
	}
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: "full", Partition: 0, At: 1, LeaderEpoch: -1})
	cresp, err := adm.CommitOffsets(ctx, "g", offs)
	if err != nil {
		t.Fatal(err)
	}
	// The group coordinator answers a failed write as Kafka's does: NOT_COORDINATOR, which
	// consumers retry (KAFKA_STORAGE_ERROR would be fatal to a Java consumer's commit).
	if o, _ := cresp.Lookup("full", 0); !errors.Is(o.Err, kerr.NotCoordinator) {
		t.Fatalf("offset commit on a full disk: %v, want NOT_COORDINATOR", o.Err)
	}
	cl.Close()

	// Shutdown on the full disk, then a start with space again.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the broker did not stop on SIGTERM with a full disk:\n%s", p.out())
	}
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	p = startBrokerProc(t, dir, "offsets.topic.num.partitions=1", "log.segment.bytes=1048576")
	cl, err = kgo.NewClient(kgo.SeedBrokers(p.addr), kgo.ConsumeTopics("full"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pollRecords(ctx, t, cl, acked, "read back %d of %d acknowledged records")
	if code := produce([]byte("after")); code != 0 {
		t.Fatalf("produce after space was freed: %v", kerr.ErrorForCode(code))
	}
	if _, err := kadm.NewClient(cl).CommitOffsets(ctx, "g", offs); err != nil {
		t.Fatalf("offset commit after space was freed: %v", err)
	}
	p.stop(t)
}

// oneRecordBatch returns an uncompressed record batch holding one record with value.
func oneRecordBatch(value []byte) []byte {
	body := []byte{0}                   // attributes
	body = binary.AppendVarint(body, 0) // timestamp delta
	body = binary.AppendVarint(body, 0) // offset delta
	body = binary.AppendVarint(body, -1)
	body = binary.AppendVarint(body, int64(len(value)))
	body = append(body, value...)
	body = binary.AppendVarint(body, 0) // headers
	recs := append(binary.AppendVarint(nil, int64(len(body))), body...)
	now := time.Now().UnixMilli()
	b := make([]byte, 61, 61+len(recs))
	binary.BigEndian.PutUint32(b[8:], uint32(61-12+len(recs)))
	binary.BigEndian.PutUint32(b[12:], 0xffffffff)
	b[16] = 2
	binary.BigEndian.PutUint64(b[27:], uint64(now))
	binary.BigEndian.PutUint64(b[35:], uint64(now))
	binary.BigEndian.PutUint64(b[43:], 0xffffffffffffffff)
	binary.BigEndian.PutUint16(b[51:], 0xffff)
	binary.BigEndian.PutUint32(b[53:], 0xffffffff)
	binary.BigEndian.PutUint32(b[57:], 1)
	b = append(b, recs...)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}
