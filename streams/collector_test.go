package streams_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// TestProductionHandlerConsultedAsRecordsFail: the production handler sees
// a record the broker refuses when it fails (from franz-go's promise), not
// at the next commit: with commit.interval.ms at ten minutes, "continue"
// drops the record and later records flow, and "fail" stops the
// application at its next send, with nothing committed.
func TestProductionHandlerConsultedAsRecordsFail(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	br := startBrokerliteWith(t, map[string]string{"message.max.bytes": refusingBrokerMaxBytes})
	for _, cont := range []bool{true, false} {
		t.Run(fmt.Sprintf("continue=%v", cont), func(t *testing.T) {
			id, in, out, topo := growTopology(t, br, "prodh")
			var calls atomic.Int64
			var seenTopic atomic.Value
			handler := func(rec *streams.ProducerRecord, err error) streams.ProductionResponse {
				calls.Add(1)
				seenTopic.Store(rec.Topic)
				if cont {
					return streams.ProductionContinue
				}
				return streams.ProductionFail
			}
			app, err := streams.New(topo, streams.Properties{
				"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
				"commit.interval.ms": "600000", "producer.max.request.size": "1048576",
			}, fastGroup, streams.WithLogger(testLogger(t)), streams.WithProductionHandler(handler))
			must(t, err)
			must(t, app.Start(ctx))
			defer app.Close(ctx)
			produce(t, br.addrs, lines(in, "small")...)
			consumeUntil(t, br.addrs, out, 30*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= 1 })
			produce(t, br.addrs, lines(in, "grow")...)
			// The check below reports the calls made within the wait.
			testutil.Poll(30*time.Second, func() bool { return calls.Load() != 0 })
			if calls.Load() != 1 || seenTopic.Load() != out {
				t.Fatalf("handler calls %d (topic %v), want 1 for %s", calls.Load(), seenTopic.Load(), out)
			}
			if n := metric(t, app, "rivulet_streams_commit_total"); n != 0 {
				t.Fatalf("%v commits before the handler's call; want it consulted as the record failed", n)
			}
			if n := metric(t, app, "rivulet_streams_production_errors_total"); n != 1 {
				t.Errorf("production errors %v, want 1", n)
			}
			produce(t, br.addrs, lines(in, "after")...)
			if cont {
				rs := consumeUntil(t, br.addrs, out, 30*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= 2 })
				if len(rs) != 2 || string(rs[0].Value) != "small" || string(rs[1].Value) != "after" {
					t.Fatalf("output %v", rs)
				}
				if n := metric(t, app, "rivulet_streams_dropped_records_total"); n != 1 {
					t.Errorf("dropped records %v, want 1", n)
				}
				return
			}
			select {
			case <-app.Done():
			case <-ctx.Done():
				t.Fatalf("app did not fail at its next send; state %s", app.State())
			}
			if !errors.Is(app.Err(), streams.ErrProduction) {
				t.Fatalf("err %v, want ErrProduction", app.Err())
			}
			// Nothing committed: the refused record's input is processed
			// again by the next instance.
			offs, err := adminFor(t, br.addrs).FetchOffsets(ctx, id)
			must(t, err)
			if o, ok := offs.Lookup(in, 0); ok && o.At > 1 {
				t.Errorf("committed offset %d past the refused record (offset 1)", o.At)
			}
		})
	}
}
