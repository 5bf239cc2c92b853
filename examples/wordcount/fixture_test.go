package main

import (
	"context"
	"encoding/binary"
	"log/slog"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/brokerlite"
)

// startBroker starts an embedded brokerlite for one test: a plaintext listener on a free
// port, quick first rebalances and one offsets partition, with props added or replacing
// those. It is closed when the test ends.
func startBroker(t *testing.T, ctx context.Context, props map[string]string) *brokerlite.Broker {
	t.Helper()
	all := map[string]string{
		"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": t.TempDir(),
		"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "1",
	}
	maps.Copy(all, props)
	b, err := brokerlite.Start(ctx, brokerlite.Config{Logger: slog.New(slog.DiscardHandler), Properties: all})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	return b
}

// awaitCounts reads the program's output topic through cl until the latest count of every
// word is want; it fails the test when the program stops (done) or ctx ends first.
func awaitCounts(t *testing.T, ctx context.Context, cl *kgo.Client, done <-chan error, logs *lockedBuffer, want map[string]int64) {
	t.Helper()
	got := map[string]int64{}
	for !reflect.DeepEqual(got, want) {
		select {
		case err := <-done:
			t.Fatalf("the program stopped: %v\nlogs:\n%s", err, logs.String())
		default:
		}
		pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		fs := cl.PollFetches(pctx)
		pcancel()
		if ctx.Err() != nil {
			t.Fatalf("counts %v, want %v\nlogs:\n%s", got, want, logs.String())
		}
		fs.EachRecord(func(r *kgo.Record) { got[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value)) })
	}
}
