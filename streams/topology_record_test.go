package streams

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recordTopology is a count (store named when store is set, generated
// otherwise) behind extra MapValues operators.
func recordTopology(t *testing.T, extra int, store string) *Topology {
	t.Helper()
	b := NewBuilder()
	s := NewStream(b, "in", ConsumedWith(StringSerde(), StringSerde()))
	for i := 0; i < extra; i++ {
		s = MapValues(s, func(_ string, v string) string { return v })
	}
	var m []Materialized[string, int64]
	if store != "" {
		m = append(m, MaterializedAs[string, int64](store))
	}
	GroupBy(s, func(_, v string) string { return v }, GroupedWith(StringSerde(), StringSerde())).Count(m...).ToStream().To("out", ProducedWith(StringSerde(), Int64Serde()))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func recordApp(t *testing.T, dir string, topo *Topology, accept bool) *App {
	t.Helper()
	props := Properties{"application.id": "rec", "bootstrap.servers": "127.0.0.1:1", "state.dir": dir}
	if accept {
		props[PropTopologyAcceptChanges] = "true"
	}
	a, err := New(topo, props, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestTopologyRecordRules(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rec", topologyRecordFile)
	// First run: nothing to compare with; the record is written.
	if err := recordApp(t, dir, recordTopology(t, 0, ""), false).checkTopologyRecord(); err != nil {
		t.Fatalf("first run: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := decodeTopologyRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Stores) != 1 || !strings.HasPrefix(rec.Stores[0], "KSTREAM-AGGREGATE-STATE-STORE-") || len(rec.InternalTopics) != 2 {
		t.Fatalf("record %+v", rec)
	}
	// The same topology again: allowed.
	if err := recordApp(t, dir, recordTopology(t, 0, ""), false).checkTopologyRecord(); err != nil {
		t.Fatalf("same topology: %v", err)
	}
	// Renumbered: refused, and the record stays as it was.
	err = recordApp(t, dir, recordTopology(t, 1, ""), false).checkTopologyRecord()
	var tce *TopologyChangeError
	if !errors.As(err, &tce) || len(tce.Changes) != 3 || tce.Changes[0].What != "store" ||
		tce.Changes[0].Old[0] != rec.Stores[0] || tce.Changes[0].New[0] == rec.Stores[0] {
		t.Fatalf("renumbered: got %v", err)
	}
	if b2, _ := os.ReadFile(path); string(b2) != string(b) {
		t.Fatalf("a refused start rewrote the record")
	}
	// Accepted knowingly: allowed, and the new names are recorded.
	if err := recordApp(t, dir, recordTopology(t, 1, ""), true).checkTopologyRecord(); err != nil {
		t.Fatalf("accepted: %v", err)
	}
	// Now a user-named store replaces the generated one: the generated
	// store went away but no generated one appeared, so it is allowed.
	if err := recordApp(t, dir, recordTopology(t, 2, "counts"), false).checkTopologyRecord(); err != nil {
		t.Fatalf("user-named store: %v", err)
	}
	// A user-named store that goes away, replaced by a generated one of a
	// kind the record does not have: allowed (a deliberate change).
	if err := recordApp(t, dir, recordTopology(t, 0, ""), false).checkTopologyRecord(); err != nil {
		t.Fatalf("user-named store removed: %v", err)
	}
}

func TestTopologyRecordUnreadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "rec"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rec", topologyRecordFile)
	if err := os.WriteFile(path, []byte(`{"version":1,"stores":[`), 0o644); err != nil {
		t.Fatal(err)
	}
	err := recordApp(t, dir, recordTopology(t, 0, ""), false).checkTopologyRecord()
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), PropTopologyAcceptChanges) {
		t.Fatalf("unreadable record: got %v", err)
	}
	if err := recordApp(t, dir, recordTopology(t, 0, ""), true).checkTopologyRecord(); err != nil {
		t.Fatalf("unreadable record, accepted: %v", err)
	}
	b, _ := os.ReadFile(path)
	if _, err := decodeTopologyRecord(b); err != nil {
		t.Fatalf("the record was not replaced: %v", err)
	}
}

func TestGeneratedKind(t *testing.T) {
	for _, c := range []struct{ name, kind string }{
		{"KSTREAM-AGGREGATE-STATE-STORE-0000000003", "KSTREAM-AGGREGATE-STATE-STORE-#"},
		{"app-KSTREAM-AGGREGATE-STATE-STORE-0000000003-changelog", "KSTREAM-AGGREGATE-STATE-STORE-#-changelog"},
		{"app-KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition", "KSTREAM-AGGREGATE-STATE-STORE-#-repartition"},
		{"counts", ""},
		{"app-counts-changelog", ""},
		{"app-counts-123-changelog", ""},
	} {
		k, ok := generatedKind(c.name, "app")
		if k != c.kind || ok != (c.kind != "") {
			t.Errorf("generatedKind(%q) = %q, %v; want %q", c.name, k, ok, c.kind)
		}
	}
}

func FuzzDecodeTopologyRecord(f *testing.F) {
	good, _ := (&topologyRecord{Version: 1, ApplicationID: "a", Stores: []string{"s"}, InternalTopics: []string{"a-s-changelog"}}).encode()
	f.Add(good)
	f.Add([]byte(`{"version":2,"stores":[],"internal_topics":[]}`))
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeTopologyRecord(b)
		if err != nil {
			return
		}
		out, err := r.encode()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := decodeTopologyRecord(out)
		if err != nil {
			t.Fatalf("a decoded record does not decode after encoding: %v", err)
		}
		if len(r2.Stores) != len(r.Stores) || len(r2.InternalTopics) != len(r.InternalTopics) {
			t.Fatalf("round trip changed the record: %+v vs %+v", r, r2)
		}
		if ch := compareRecords(r, r2); len(ch) != 0 {
			t.Fatalf("a record compared with itself shows changes: %v", ch)
		}
	})
}
