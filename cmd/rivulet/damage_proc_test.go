package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

// segmentFiles lists a partition directory's .log files, oldest first.
func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".log") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// TestOldSegmentDamageKeptAndReported: 4 zeroed bytes in an old, flushed segment, then
// kill -9 and a restart. Every segment is still there and every undamaged batch readable;
// the damaged batch answers CORRUPT_MESSAGE with an ERROR line in the broker's log; and
// `rivulet consume` stops at it with one error naming topic, partition and offset, exiting
// non-zero (or, with --skip-corrupt, skips it with a warning and reads the rest).
func TestOldSegmentDamageKeptAndReported(t *testing.T) {
	dir := t.TempDir()
	const topic = "damaged"
	p := startBrokerProc(t, dir, "log.segment.bytes=16384")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.addr), kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation(),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	const n = 1500
	for i := 0; i < n; i += 10 {
		var rs []*kgo.Record
		for j := i; j < i+10; j++ {
			rs = append(rs, &kgo.Record{Value: []byte(fmt.Sprintf("record-%05d-%s", j, strings.Repeat("x", 80)))})
		}
		if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil { // acks=all: fsynced
			t.Fatal(err)
		}
	}
	cl.Close()
	p.kill()

	pdir := filepath.Join(dir, topic+"-0")
	segs := segmentFiles(t, pdir)
	if len(segs) < 4 {
		t.Fatalf("%d segments; the test needs at least 4", len(segs))
	}
	// Damage the first batch of the second segment, inside its records.
	path := filepath.Join(pdir, segs[1])
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	damagedBase := int64(binary.BigEndian.Uint64(data))
	damagedNext := damagedBase + int64(binary.BigEndian.Uint32(data[23:])) + 1
	copy(data[61+10:], []byte{0, 0, 0, 0})
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}

	p = startBrokerProc(t, dir)
	if got := segmentFiles(t, pdir); strings.Join(got, ",") != strings.Join(segs, ",") {
		t.Fatalf("segments after recovery %v, want %v\n%s", got, segs, p.out())
	}
	cl, err = kgo.NewClient(kgo.SeedBrokers(p.addr), kgo.MaxVersions(kversion.V2_8_0())) // Fetch by topic name
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	fetch := func(offset int64) kmsg.FetchResponseTopicPartition {
		req := kmsg.NewPtrFetchRequest()
		req.Version = 11
		req.ReplicaID, req.MaxBytes = -1, 1<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.FetchOffset, rp.PartitionMaxBytes = offset, 1<<20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0]
	}
	if sp := fetch(damagedBase); sp.ErrorCode != 2 {
		t.Fatalf("fetch of the damaged batch at %d: error code %d, want CORRUPT_MESSAGE (2)", damagedBase, sp.ErrorCode)
	}
	// The broker logs the damage while it answers; the line reaches the test through a pipe,
	// possibly after the answer.
	testutil.EventuallyNoError(t, 10*time.Second, "an ERROR line about the damaged batch", func() error {
		out := p.out()
		if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "corrupt batch") {
			return fmt.Errorf("broker output:\n%s", out)
		}
		return nil
	})
	// Everything else reads: before the damage, and from the batch after it to the end.
	var read int64
	for off := int64(0); off < n; {
		if off == damagedBase {
			off = damagedNext
			continue
		}
		sp := fetch(off)
		if sp.ErrorCode != 0 || len(sp.RecordBatches) == 0 {
			t.Fatalf("fetch at %d: error %d, %d bytes", off, sp.ErrorCode, len(sp.RecordBatches))
		}
		for b := sp.RecordBatches; len(b) >= 61; {
			size := int(binary.BigEndian.Uint32(b[8:])) + 12
			base := int64(binary.BigEndian.Uint64(b))
			last := base + int64(binary.BigEndian.Uint32(b[23:]))
			if base >= off {
				read += last - base + 1
			}
			off = last + 1
			b = b[size:]
		}
	}
	if want := n - (damagedNext - damagedBase); read != want {
		t.Fatalf("read %d undamaged records, want %d", read, want)
	}

	// The console consumer stops at the damage with one clear error.
	res := runCLI(t, "", "consume", "--bootstrap-server", p.addr, "--topic", topic, "--from-beginning", "--timeout-ms", "4000")
	want := fmt.Sprintf("corrupt record batch in topic %s partition 0 at offset %d", topic, damagedBase)
	if res.code != 1 || strings.Count(res.stderr, want) != 1 || strings.Count(res.stderr, "rivulet: ") != 1 {
		t.Fatalf("rivulet consume: want exit 1 and one error %q, got:\n%s", want, res)
	}
	if got := len(lines(res.stdout)); int64(got) != damagedBase {
		t.Fatalf("rivulet consume printed %d records before the damage, want %d", got, damagedBase)
	}
	// With --skip-corrupt it warns and reads the rest.
	res = runCLI(t, "", "consume", "--bootstrap-server", p.addr, "--topic", topic, "--from-beginning", "--timeout-ms", "4000", "--skip-corrupt")
	if res.code != 0 || !strings.Contains(res.stderr, "WARN: skipping a corrupt record") {
		t.Fatalf("rivulet consume --skip-corrupt:\n%s", res)
	}
	if got := len(lines(res.stdout)); int64(got) != n-(damagedNext-damagedBase) {
		t.Fatalf("rivulet consume --skip-corrupt printed %d records, want %d", got, n-(damagedNext-damagedBase))
	}
	p.stop(t)
}
