package streams_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// TestPeriodicCommitsLandWhileRunning: at-least-once, the periodic commits
// (sent without waiting for their answer) commit every input partition up
// to its end while the application runs, and the answers still drive the
// purge of the repartition topic's consumed records.
func TestPeriodicCommitsLandWhileRunning(t *testing.T) {
	br := startBrokerlite(t)
	id, in, out := uniqTopics(t, br.addrs, "asynccommit", 2)
	app := startApp(t, buildWordCount(t, in, out), streams.Properties{
		"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
		"commit.interval.ms": "50", "repartition.purge.interval.ms": "50", "num.stream.threads": "2",
	}, fastGroup)
	want := map[string]int64{}
	produceWords(t, br.addrs, in, out, want, "a b c", "b c d", "c d e", "d e f", "e f g")
	adm := adminFor(t, br.addrs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, in)
	must(t, err)
	if !testutil.Poll(20*time.Second, func() bool {
		committed, err := adm.FetchOffsets(ctx, id)
		if err != nil {
			return false
		}
		landed := true
		ends.Each(func(e kadm.ListedOffset) {
			c, ok := committed.Lookup(e.Topic, e.Partition)
			landed = landed && ok && c.At == e.Offset
		})
		return landed
	}) {
		t.Fatalf("input offsets not committed up to %v while running", ends)
	}
	if !testutil.Poll(20*time.Second, func() bool {
		return metric(t, app, "rivulet_streams_repartition_purges_total") > 0
	}) {
		t.Fatalf("no repartition partition purged after its offsets were committed")
	}
	if app.State() != streams.StateRunning {
		t.Fatalf("state %s, want RUNNING", app.State())
	}
}
