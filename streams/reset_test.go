package streams_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/appadmin"
)

// TestResetReprocess runs a word count, resets it (refused while it runs,
// with a message), cleans its local state up and runs it again: the second
// run's output gives the same counts as the first, the internal topics were
// deleted and recreated, and DescribeApplication shows the committed
// offsets caught up.
func TestResetReprocess(t *testing.T) {
	br := startBrokerlite(t)
	in, out, appID := "reset-in", "reset-out", "reset-wc"
	createTopic(t, br.addrs, 2, in, out)
	ls := []string{"a b c", "b c", "c", "d a"}
	want := map[string]int64{}
	addWords(want, ls...)
	produce(t, br.addrs, lines(in, ls...)...)
	stateDir := t.TempDir()
	props := streams.Properties{
		"application.id":     appID,
		"bootstrap.servers":  strings.Join(br.addrs, ","),
		"commit.interval.ms": "100",
		"state.dir":          stateDir,
	}
	newApp := func() *streams.App {
		return startApp(t, buildWordCount(t, in, out), props)
	}
	app := newApp()
	waitCounts(t, br.addrs, out, want)
	adm := adminFor(t, br.addrs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Refused while the app runs, and CleanUp too.
	_, err := appadmin.ResetApplication(ctx, adm, appadmin.ResetOptions{ApplicationID: appID, InputTopics: []string{in}})
	var active *appadmin.ActiveMembersError
	if !errors.As(err, &active) || !strings.Contains(err.Error(), "still active") || !strings.Contains(err.Error(), "stop every instance") {
		t.Fatalf("reset of a running app: %v", err)
	}
	if err := app.CleanUp(); err == nil {
		t.Fatal("CleanUp of a running app succeeded")
	}
	d, err := appadmin.DescribeApplication(ctx, adm, appID)
	must(t, err)
	if len(d.Members) != 1 || d.State != "Stable" || !strings.Contains(d.String(), in) {
		t.Errorf("describe of the running app:\n%s", d)
	}
	must(t, app.Close(ctx))
	must(t, app.CleanUp())

	// The end of the output after the first run: the second run's output
	// starts there.
	ends, err := adm.ListEndOffsets(ctx, out)
	must(t, err)
	firstEnd := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { firstEnd[o.Partition] = o.Offset })

	// A dry run changes nothing; the real one resets and deletes.
	dry, err := appadmin.ResetApplication(ctx, adm, appadmin.ResetOptions{ApplicationID: appID, InputTopics: []string{in}, DryRun: true})
	must(t, err)
	internal := fmt.Sprint(dry.InternalTopics)
	if internal != "["+appID+"-counts-changelog "+appID+"-counts-repartition]" {
		t.Fatalf("internal topics %s", internal)
	}
	moved := int64(0)
	for _, r := range dry.Inputs {
		if r.To != 0 {
			t.Errorf("dry-run plan %+v, want to 0", r)
		}
		moved += r.From - r.To
	}
	if len(dry.Inputs) != 2 || moved != int64(len(ls)) {
		t.Errorf("dry-run plan %+v: want both partitions back by %d records in all", dry.Inputs, len(ls))
	}
	topics, err := adm.ListTopics(ctx)
	must(t, err)
	if !topics.Has(appID + "-counts-changelog") {
		t.Fatal("the dry run deleted a topic")
	}
	res, err := appadmin.ResetApplication(ctx, adm, appadmin.ResetOptions{ApplicationID: appID, InputTopics: []string{in}})
	must(t, err)
	if fmt.Sprint(res.InternalTopics) != internal {
		t.Fatalf("deleted %v", res.InternalTopics)
	}
	committed, err := adm.FetchOffsets(ctx, appID)
	must(t, err)
	for p := int32(0); p < 2; p++ {
		if c, ok := committed.Lookup(in, p); !ok || c.At != 0 {
			t.Errorf("committed offset of %s-%d after reset: %+v", in, p, c)
		}
	}

	// Reprocess: the second run's records give the same counts.
	newApp()
	cl, err := kgo.NewClient(kgo.SeedBrokers(br.addrs...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		out: {0: kgo.NewOffset().At(firstEnd[0]), 1: kgo.NewOffset().At(firstEnd[1])},
	}))
	must(t, err)
	defer cl.Close()
	got := map[string]int64{}
	for fmt.Sprint(sortedMap(got)) != fmt.Sprint(sortedMap(want)) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reprocessed counts %v, want %v", sortedMap(got), sortedMap(want))
		}
		for _, r := range fs.Records() {
			got[string(r.Key)] = i64(r.Value)
		}
	}
	topics, err = adm.ListTopics(ctx)
	must(t, err)
	if !topics.Has(appID+"-counts-changelog") || !topics.Has(appID+"-counts-repartition") {
		t.Error("the internal topics were not recreated")
	}
}
