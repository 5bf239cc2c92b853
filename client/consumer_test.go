package client

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestConsumerAutoCommitMarksCommitsOnlyMarked(t *testing.T) {
	seeds := kfakeCluster(t, kfake.SeedTopics(1, "in"))
	produceEach(t, seeds, 10, func(i int) *kgo.Record { return &kgo.Record{Topic: "in", Value: []byte(strconv.Itoa(i))} })
	ctx := context.Background()

	rec := &consumerRecorder{}
	props := Properties{"bootstrap.servers": seeds, "group.id": "marks", "auto.offset.reset": "earliest"}
	cons, err := NewConsumer(props, WithTopics("in"), WithAutoCommitMarks(), WithConsumerInterceptors(rec))
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var all []*kgo.Record
	for len(all) < 10 {
		rs, err := cons.Poll(pctx)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rs...)
	}
	cons.MarkCommitRecords(all[:4]...) // handled four records
	cons.Close()
	if got := rec.committed["in"][0]; got != 4 {
		t.Fatalf("committed offset %d, want 4 (only the marked records)", got)
	}

	if _, err := NewConsumer(Properties{"bootstrap.servers": seeds}, WithAutoCommitMarks()); err == nil {
		t.Fatal("WithAutoCommitMarks without a group must fail")
	}
	nog, err := NewConsumer(Properties{"bootstrap.servers": seeds})
	if err != nil {
		t.Fatal(err)
	}
	defer nog.Close()
	if err := nog.CommitOffsets(ctx, map[string]map[int32]kgo.EpochOffset{"in": {0: {Offset: 1}}}); err == nil {
		t.Fatal("commit without a group must fail")
	}
}

func TestPollReturnsContextError(t *testing.T) {
	cons, err := NewConsumer(Properties{"bootstrap.servers": kfakeCluster(t, kfake.SeedTopics(1, "in"))}, WithTopics("in"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	rs, err := cons.Poll(ctx)
	if len(rs) != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %d records, err %v; want none and the deadline", len(rs), err)
	}
	cons.Close()
	if _, err := cons.Poll(context.Background()); !errors.Is(err, kgo.ErrClientClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestPingUnreachable(t *testing.T) {
	// A port nobody listens on: bind one, then close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	adm, err := NewAdmin(Properties{"bootstrap.servers": addr})
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = adm.Ping(ctx)
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Addrs[0] != addr || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(err.Error(), "refused") {
		t.Errorf("error %q should carry the dialer's reason", err)
	}

	ok, err := NewAdmin(Properties{"bootstrap.servers": kfakeCluster(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer ok.Close()
	if err := Ping(ctx, ok.Kgo(), ok.Parsed.BootstrapServers); err != nil {
		t.Fatal(err)
	}
}
