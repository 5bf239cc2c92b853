package streams_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/streams"
)

// versionedWordCount is the word count; addTrim puts one more operator in
// front of the grouping (which renumbers every auto-generated name after
// it), and store pins the count store's name ("" leaves it generated).
func versionedWordCount(t *testing.T, in, out string, addTrim bool, store string) *streams.Topology {
	t.Helper()
	b := streams.NewBuilder()
	lines := streams.NewStream(b, in, streams.ConsumedWith(ss, ss))
	if addTrim {
		lines = streams.MapValues(lines, func(_ string, v string) string { return strings.TrimSpace(v) })
	}
	countWords(lines, out, store)
	return build(t, b)
}

func countStoreName(t *testing.T, topo *streams.Topology) string {
	t.Helper()
	for _, s := range topo.Graph().Stores() {
		if strings.HasPrefix(s.Name, "KSTREAM-AGGREGATE-STATE-STORE-") {
			return s.Name
		}
	}
	t.Fatalf("no count store in %v", topo.Describe())
	return ""
}

// A new version of the app adds an operator before the count, which
// renumbers its auto-generated store (and the store's changelog and
// repartition topic): the start is refused with the old and new names;
// pinned to the old name, the new version starts and the counts continue.
func TestTopologyRenumberingIsRefusedAndPinningKeepsState(t *testing.T) {
	br := startBrokerlite(t)
	id, in, out := uniqTopics(t, br.addrs, "toporec", 1)
	dir := t.TempDir()
	props := streams.Properties{"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": dir, "commit.interval.ms": "100"}
	want := map[string]int64{}
	run := func(topo *streams.Topology, ls ...string) {
		t.Helper()
		runWordCount(t, topo, props, br.addrs, in, out, want, ls, fastGroup)
	}

	v1 := versionedWordCount(t, in, out, false, "")
	oldName := countStoreName(t, v1)
	run(v1, "a b c", "a b", "a")

	v2 := versionedWordCount(t, in, out, true, "")
	newName := countStoreName(t, v2)
	if newName == oldName {
		t.Fatalf("the added operator did not renumber the store (%s)", oldName)
	}
	app, err := streams.New(v2, props, fastGroup)
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = app.Start(ctx)
	var tce *streams.TopologyChangeError
	if !errors.As(err, &tce) {
		t.Fatalf("start of the renumbered topology: got %v, want a *TopologyChangeError", err)
	}
	for _, s := range []string{
		"store " + oldName + " is now " + newName,
		id + "-" + oldName + "-changelog", id + "-" + newName + "-changelog",
		id + "-" + oldName + "-repartition", id + "-" + newName + "-repartition",
		"MaterializedAs", streams.PropTopologyAcceptChanges + "=true",
	} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("refusal does not mention %q: %v", s, err)
		}
	}
	// The refused start created none of the new internal topics.
	adm := adminFor(t, br.addrs)
	td, lerr := adm.ListTopics(ctx)
	must(t, lerr)
	if td.Has(id + "-" + newName + "-changelog") {
		t.Errorf("the refused start created %s", id+"-"+newName+"-changelog")
	}

	// Pinned to the old name, v2 starts and continues the counts.
	run(versionedWordCount(t, in, out, true, oldName), "a c", "b")
}
