package streams_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// TestProductionHandlerConsultedAsRecordsFail: the production handler sees
// a record the broker refuses when it fails (from franz-go's promise), not
// at the next commit: with commit.interval.ms at ten minutes, "continue"
// drops the record and later records flow, and "fail" stops the
// application at its next send, with nothing committed.
func TestProductionHandlerConsultedAsRecordsFail(t *testing.T) {
	refusingBrokerSubtests(t, 60*time.Second, []bool{true, false}, func(t *testing.T, ctx context.Context, br broker, cont bool) {
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
		app := startGrowApp(t, ctx, br, id, in, out, topo, streams.Properties{"commit.interval.ms": "600000"},
			fastGroup, streams.WithLogger(testLogger(t)), streams.WithProductionHandler(handler))
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
			wantSmallThenAfter(t, br.addrs, out)
			if n := metric(t, app, "rivulet_streams_dropped_records_total"); n != 1 {
				t.Errorf("dropped records %v, want 1", n)
			}
			return
		}
		waitProductionFailure(t, ctx, app)
		// Nothing committed: the refused record's input is processed
		// again by the next instance.
		offs, err := adminFor(t, br.addrs).FetchOffsets(ctx, id)
		must(t, err)
		if o, ok := offs.Lookup(in, 0); ok && o.At > 1 {
			t.Errorf("committed offset %d past the refused record (offset 1)", o.At)
		}
	})
}
