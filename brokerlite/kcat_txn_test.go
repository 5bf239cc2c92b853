package brokerlite

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/kcattest"
)

// TestKcatIdempotentAndReadCommitted: librdkafka's idempotent producer writes through kcat;
// librdkafka's read_committed consumer skips an aborted transaction with its own filtering,
// and stops at the last stable offset while a transaction is still open.
func TestKcatIdempotentAndReadCommitted(t *testing.T) {
	kcat := kcattest.Path(t)
	b := startBroker(t, "")
	cl := newClient(t, b)
	createTopic(t, cl, "kcat-rc", 1)

	var in []string
	for i := 0; i < 20; i++ {
		in = append(in, fmt.Sprintf("idem-%02d", i))
	}
	if _, stderr, err := kcattest.Run(kcat, 60*time.Second, strings.Join(in, "\n")+"\n",
		"-b", b.Addr(), "-P", "-t", "kcat-rc", "-p", "0", "-X", "enable.idempotence=true"); err != nil {
		t.Fatalf("kcat -P with enable.idempotence: %v\n%s", err, stderr)
	}

	txn := func(id, value, end string) {
		t.Helper()
		tc := newClient(t, b, kgo.TransactionalID(id), kgo.DefaultProduceTopic("kcat-rc"))
		if err := tc.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			if err := tc.ProduceSync(testCtx(t), &kgo.Record{Partition: 0, Value: []byte(fmt.Sprintf("%s-%d", value, i))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if end != "open" {
			if err := tc.EndTransaction(testCtx(t), kgo.TransactionEndTry(end == "commit")); err != nil {
				t.Fatal(err)
			}
			return
		}
		// Left open: the client is closed without ending it (Close would abort it).
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = tc.AbortBufferedRecords(ctx)
		})
	}
	txn("kcat-rc-1", "committed", "commit")
	txn("kcat-rc-2", "aborted", "abort")
	txn("kcat-rc-3", "late", "commit")
	// An open transaction, then a plain record after it: read_committed stops before both.
	txn("kcat-rc-4", "open", "open")
	if err := cl.ProduceSync(testCtx(t), &kgo.Record{Topic: "kcat-rc", Partition: 0, Value: []byte("after-open")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	out, stderr, err := kcattest.Run(kcat, 60*time.Second, "",
		"-b", b.Addr(), "-C", "-t", "kcat-rc", "-o", "beginning", "-e", "-q", "-X", "isolation.level=read_committed")
	if err != nil {
		t.Fatalf("kcat -C read_committed: %v\n%s", err, stderr)
	}
	got := strings.Fields(out)
	want := append([]string(nil), in...)
	for _, v := range []string{"committed", "late"} {
		for i := 0; i < 5; i++ {
			want = append(want, fmt.Sprintf("%s-%d", v, i))
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("kcat read_committed read %d records:\n%v\nwant %d:\n%v", len(got), got, len(want), want)
	}

	// read_uncommitted sees everything, the open transaction and the record after it too.
	out, stderr, err = kcattest.Run(kcat, 60*time.Second, "",
		"-b", b.Addr(), "-C", "-t", "kcat-rc", "-o", "beginning", "-e", "-q", "-X", "isolation.level=read_uncommitted")
	if err != nil {
		t.Fatalf("kcat -C read_uncommitted: %v\n%s", err, stderr)
	}
	if n := len(strings.Fields(out)); n != 20+4*5+1 {
		t.Fatalf("kcat read_uncommitted read %d records, want %d:\n%s", n, 20+4*5+1, out)
	}
}
