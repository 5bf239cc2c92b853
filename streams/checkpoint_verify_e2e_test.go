package streams_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// checkpointRun runs a word count on br until its output shows want, then
// closes it; it returns the app's logs.
func checkpointRun(t *testing.T, br broker, id, stateDir string, want map[string]int64, ls ...string) string {
	t.Helper()
	in, out := id+"-in", id+"-out"
	logs := new(testutil.Buffer)
	runWordCount(t, buildWordCount(t, in, out), streams.Properties{
		"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": stateDir,
		"commit.interval.ms": "100",
	}, br.addrs, in, out, want, ls, fastGroup, streams.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	return logs.String()
}

// firstCheckpointRun starts a broker with the topics of a word count whose
// application id is prefix made unique, and runs the word count once on a
// new state directory (checkpointRun with the lines "a b c", "a b", "a");
// it returns the broker, the id, the directory and the counts.
func firstCheckpointRun(t *testing.T, prefix string) (broker, string, string, map[string]int64) {
	t.Helper()
	br := startBrokerlite(t)
	id := uniq(prefix)
	createTopic(t, br.addrs, 1, id+"-in", id+"-out")
	dir := t.TempDir()
	want := map[string]int64{}
	checkpointRun(t, br, id, dir, want, "a b c", "a b", "a")
	return br, id, dir, want
}

const checkpointMismatch = `msg="streams: store checkpoint does not match; wiping the store to restore it from its changelog"`

func wantMismatchLog(t *testing.T, logs, reason string) {
	t.Helper()
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, checkpointMismatch) && strings.Contains(l, "level=WARN") && strings.Contains(l, reason) {
			return
		}
	}
	t.Errorf("no WARN line %s with reason %q; logs:\n%s", checkpointMismatch, reason, logs)
}

// Deleting a store's Badger files while its checkpoint stays: the restart
// notices, wipes the store, restores it from the changelog, and the counts
// continue from where they were.
func TestCheckpointOfDeletedStoreDataIsDistrusted(t *testing.T) {
	br, id, dir, want := firstCheckpointRun(t, "ckdel")
	data, _ := filepath.Glob(filepath.Join(dir, id, "*", "counts", "badger"))
	ckpts, _ := filepath.Glob(filepath.Join(dir, id, "*", "counts", ".checkpoint"))
	if len(data) != 1 || len(ckpts) != 1 {
		t.Fatalf("store files: data %v, checkpoints %v", data, ckpts)
	}
	must(t, os.RemoveAll(data[0]))
	logs := checkpointRun(t, br, id, dir, want, "a c", "b")
	wantMismatchLog(t, logs, "no data id")
	if !strings.Contains(logs, `msg="streams: restored store"`) {
		t.Errorf("the store was not restored; logs:\n%s", logs)
	}
}

// A state directory left from a run against another broker: the
// checkpoint's offset is beyond the new changelog's end, so the store is
// wiped; the counts are those of the new broker's input only.
func TestCheckpointFromAnotherBrokerIsDistrusted(t *testing.T) {
	_, id, dir, _ := firstCheckpointRun(t, "ckbroker")

	br2 := startBrokerlite(t)
	createTopic(t, br2.addrs, 1, id+"-in", id+"-out")
	logs := checkpointRun(t, br2, id, dir, map[string]int64{}, "a c", "b")
	wantMismatchLog(t, logs, "beyond the changelog's end")
}

// The application reset as Kafka's reset tool does it without cleaning the
// local state: internal topics deleted and recreated, committed offsets
// gone. The input is processed again from the start; the old store, whose
// checkpoint points past the recreated changelog's end, is wiped, so no
// word is counted twice.
func TestCheckpointOfRecreatedChangelogIsDistrusted(t *testing.T) {
	br, id, dir, want := firstCheckpointRun(t, "ckrecreate")

	adm := adminFor(t, br.addrs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dr, err := adm.DeleteTopics(ctx, id+"-counts-changelog", id+"-counts-repartition")
	must(t, err)
	for _, r := range dr {
		must(t, r.Err)
	}
	gr, err := adm.DeleteGroups(ctx, id)
	must(t, err)
	for _, r := range gr {
		must(t, r.Err)
	}
	logs := checkpointRun(t, br, id, dir, want, "b")
	wantMismatchLog(t, logs, "beyond the changelog's end")
}

// A store whose changelog lost records past its checkpoint while its
// instance was away (retention of a changelog with the delete policy, or
// DeleteRecords, as here): the restart wipes it and restores what the
// changelog holds, as any other instance restoring it would, rather than
// keeping what the deleted records changed. Here the changelog is emptied,
// so the counts start again.
func TestCheckpointBelowChangelogStartIsDistrusted(t *testing.T) {
	br, id, dir, want := firstCheckpointRun(t, "ckstart")
	// Another instance, on its own state directory, counts one more word:
	// the changelog moves past the first directory's checkpoint.
	checkpointRun(t, br, id, t.TempDir(), want, "c")

	changelog := id + "-counts-changelog"
	adm := adminFor(t, br.addrs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ac, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "cleanup.policy", Value: kadm.StringPtr("compact,delete")}}, changelog)
	must(t, err)
	for _, r := range ac {
		must(t, r.Err)
	}
	ends, err := adm.ListEndOffsets(ctx, changelog)
	must(t, err)
	dr, err := adm.DeleteRecords(ctx, ends.Offsets())
	must(t, err)
	must(t, dr.Error())

	// The output's last counts of b and c stay those of before; a starts
	// again.
	again := map[string]int64{"b": want["b"], "c": want["c"]}
	logs := checkpointRun(t, br, id, dir, again, "a")
	wantMismatchLog(t, logs, "below the changelog's log start offset")
}
