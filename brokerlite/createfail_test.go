package brokerlite

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFailedCreateLeavesNothingToAdopt: a create that runs out of file descriptors midway
// fails, takes back every partition it made (on disk too), and a restart adopts nothing;
// the same create then succeeds.
func TestFailedCreateLeavesNothingToAdopt(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	props := map[string]string{"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": dir, "group.initial.rebalance.delay.ms": "0"}
	b, err := Start(ctx, Config{Properties: props, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	if _, err := adm.ListTopics(ctx); err != nil { // connect before the limit
		t.Fatal(err)
	}

	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("needs /proc/self/fd: %v", err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	low := lim
	low.Cur = uint64(len(fds) + 60) // room for a few dozen partitions
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	resp, err := adm.CreateTopic(ctx, 200, 1, nil, "wide")
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if err == nil {
		err = resp.Err
	}
	if !errors.Is(err, kerr.KafkaStorageError) || !strings.Contains(resp.ErrMessage, "too many open files") {
		t.Fatalf("creating 200 partitions with descriptors for a few dozen: %v %q, want KAFKA_STORAGE_ERROR saying too many open files", err, resp.ErrMessage)
	}
	cl.Close()
	if err := b.Close(ctx); err != nil {
		t.Logf("close: %v", err)
	}

	b, err = Start(ctx, Config{Properties: props, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker(t, b)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "wide-") {
			t.Fatalf("partition directory %s survived the failed create and a restart", e.Name())
		}
	}
	cl, err = kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm = kadm.NewClient(cl)
	td, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if td.Has("wide") {
		t.Fatalf("the restart adopted the failed topic with %d partitions", len(td["wide"].Partitions))
	}
	if resp, err := adm.CreateTopic(ctx, 200, 1, nil, "wide"); err != nil || resp.Err != nil {
		t.Fatalf("creating it again: %v %v", err, resp.Err)
	}
}
