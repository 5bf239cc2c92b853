package streams_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// TestExactlyOnceTransactionTimeoutFencesAndRecovers: a stream thread stalls in a processor
// for longer than its transaction.timeout.ms. The broker aborts the open transaction and
// fences the producer, as Kafka does; the thread finds itself fenced, the application
// replaces it, and the replacement reprocesses from the committed offsets. A read_committed
// reader sees every count exactly once.
func TestExactlyOnceTransactionTimeoutFencesAndRecovers(t *testing.T) {
	br := startBrokerliteWith(t, map[string]string{
		"transaction.abort.timed.out.transaction.cleanup.interval.ms": "50",
	})
	in, out := "eos-ttl-in", "eos-ttl-out"
	createTopic(t, br.addrs, 2, in, out)

	var stalls atomic.Int32
	b := streams.NewBuilder()
	lines := streams.NewStream(b, in, streams.ConsumedWith(ss, ss))
	words := streams.FlatMapValues(lines, func(_ string, line string) []string { return strings.Fields(line) })
	words = words.Peek(func(_, w string) {
		// The first time only: the replacement thread reprocesses this record without
		// stalling again.
		if w == "stall" && stalls.Add(1) == 1 {
			time.Sleep(3 * time.Second) // the transaction times out after 1 s
		}
	})
	streams.GroupBy(words, func(_, w string) string { return w }, streams.GroupedWith(ss, ss)).
		Count().ToStream().To(out, streams.ProducedWith(ss, streams.Int64Serde()))
	topo := build(t, b)

	var logs testutil.Buffer
	startApp(t, topo, streams.Properties{
		"application.id":                  "eos-ttl",
		"bootstrap.servers":               strings.Join(br.addrs, ","),
		"processing.guarantee":            "exactly_once_v2",
		"producer.transaction.timeout.ms": "1000",
		"statestore.cache.max.bytes":      "0",
		"state.dir":                       t.TempDir(),
	}, streams.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))))

	want := map[string]int64{}
	for batch := 0; batch < 10; batch++ {
		var recs []*kgo.Record
		for i := 0; i < 20; i++ {
			n := batch*20 + i
			line := fmt.Sprintf("w%c w%c", 'a'+rune(n%5), 'a'+rune(n%3))
			if batch == 3 && i == 0 {
				line += " stall"
			}
			for _, w := range strings.Fields(line) {
				want[w]++
			}
			recs = append(recs, &kgo.Record{Topic: in, Key: []byte(fmt.Sprint(n)), Value: []byte(line)})
		}
		produce(t, br.addrs, recs...)
		time.Sleep(50 * time.Millisecond) // pace the input so that transactions commit between batches
	}
	checkCommittedCounts(t, br.addrs, out, want)
	if stalls.Load() < 1 {
		t.Fatal("the stalling record was never processed")
	}
	if !strings.Contains(logs.String(), "transactional producer fenced") {
		t.Fatalf("the stalled thread was not fenced and replaced; log:\n%s", logs.String())
	}
}
