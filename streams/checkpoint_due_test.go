package streams_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/streams"
)

// TestCheckpointWaitsForTenThousandChangelogRecords: under at-least-once a
// commit writes a store's checkpoint (after making the store durable) only
// once its changelog has moved on by more than 10,000 records since the last
// one, as Kafka Streams does; a clean close writes it whatever the distance.
// Offsets are committed at every commit all the same.
func TestCheckpointWaitsForTenThousandChangelogRecords(t *testing.T) {
	br := startBrokerlite(t)
	const in = "ckpt-due"
	createTopic(t, br.addrs, 1, in)
	stateDir := t.TempDir()
	app := startApp(t, countingTopology(t, in), streams.Properties{
		"application.id": "ckpt-due", "bootstrap.servers": strings.Join(br.addrs, ","),
		"state.dir": stateDir, "commit.interval.ms": "50",
	})
	storeDir := filepath.Join(stateDir, "ckpt-due", "0_0", "seen")
	changelog := statestore.TopicPartition{Topic: "ckpt-due-seen-changelog", Partition: 0}
	checkpoint := func() int64 {
		t.Helper()
		cp, err := statestore.ReadCheckpoint(storeDir)
		if err != nil {
			t.Fatalf("read checkpoint: %v", err)
		}
		if off, ok := cp[changelog]; ok {
			return off
		}
		return -1
	}
	committed := func(want int64) {
		t.Helper()
		testutil.Eventually(t, 30*time.Second, fmt.Sprintf("input offset %d committed", want), func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			offs, err := adminFor(t, br.addrs).FetchOffsets(ctx, "ckpt-due")
			if err != nil {
				return false
			}
			o, ok := offs.Lookup(in, 0)
			return ok && o.At == want
		})
	}

	produce(t, br.addrs, keyed(in, 0, 100)...)
	committed(100)
	// Several commits have passed with 100 changelog records: the checkpoint
	// is still the one the store opened with (none, or offset 0).
	if got := checkpoint(); got > 0 {
		t.Fatalf("checkpoint %d written after 100 changelog records, want none before 10,000", got)
	}

	produce(t, br.addrs, keyed(in, 100, 10_000)...)
	committed(10_100)
	testutil.Eventually(t, 30*time.Second, "a checkpoint past 10,000 changelog records while running",
		func() bool { return checkpoint() > 10_000 })

	produce(t, br.addrs, keyed(in, 10_100, 50)...)
	committed(10_150)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, app.Close(ctx))
	if got := checkpoint(); got != 10_150 {
		t.Fatalf("checkpoint after a clean close = %d, want 10150 (the changelog's end)", got)
	}
}
