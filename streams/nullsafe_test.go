package streams_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// nullCase is one stateless operator applied to the stream of "in"; the
// result is written to "out". calls counts how often a plain user function
// ran.
type nullCase struct {
	name string
	// build adds the operator; it returns false when the operator ends the
	// stream (Foreach), so nothing reaches "out".
	build func(s *streams.Stream[string, string], calls *int) bool
	// want is what "out" holds after piping the tombstone of key "k":
	// "tombstone k", "" for nothing.
	want string
	// noFunc is set for operators without a user function.
	noFunc bool
}

func plainNullCases() []nullCase {
	upper := func(calls *int) func(_, v string) string {
		return func(_, v string) string { *calls++; return strings.ToUpper(v) }
	}
	return []nullCase{
		{"Filter", func(s *streams.Stream[string, string], c *int) bool {
			s.Filter(func(_, v string) bool { *c++; return v != "" }).To("out")
			return true
		}, "tombstone k", false},
		{"FilterNot", func(s *streams.Stream[string, string], c *int) bool {
			s.FilterNot(func(_, v string) bool { *c++; return v == "" }).To("out")
			return true
		}, "tombstone k", false},
		{"Peek", func(s *streams.Stream[string, string], c *int) bool {
			s.Peek(func(_, _ string) { *c++ }).To("out")
			return true
		}, "tombstone k", false},
		{"Foreach", func(s *streams.Stream[string, string], c *int) bool {
			s.Foreach(func(_, _ string) { *c++ })
			return false
		}, "", false},
		{"MapValues", func(s *streams.Stream[string, string], c *int) bool {
			streams.MapValues(s, upper(c)).To("out")
			return true
		}, "tombstone k", false},
		{"MapValues to int64", func(s *streams.Stream[string, string], c *int) bool {
			streams.MapValues(s, func(_, v string) int64 { *c++; return int64(len(v)) }).
				To("out", streams.ProducedWith(ss, streams.Int64Serde()))
			return true
		}, "tombstone k", false},
		{"FlatMapValues", func(s *streams.Stream[string, string], c *int) bool {
			streams.FlatMapValues(s, func(_, v string) []string { *c++; return []string{v, v} }).To("out")
			return true
		}, "tombstone k", false},
		{"Map", func(s *streams.Stream[string, string], c *int) bool {
			streams.Map(s, func(k, v string) (string, string) { *c++; return k + v, v }).To("out")
			return true
		}, "", false},
		{"FlatMap", func(s *streams.Stream[string, string], c *int) bool {
			streams.FlatMap(s, func(k, v string) []streams.KeyValue[string, string] {
				*c++
				return []streams.KeyValue[string, string]{streams.KV(k, v)}
			}).To("out")
			return true
		}, "", false},
		{"SelectKey", func(s *streams.Stream[string, string], c *int) bool {
			streams.SelectKey(s, func(k, v string) string { *c++; return v }).To("out")
			return true
		}, "", false},
		{"Split to a default branch", func(s *streams.Stream[string, string], c *int) bool {
			br := s.Split(streams.Named("split-")).
				Branch(func(_, v string) bool { *c++; return true }, "all").
				DefaultBranch("rest")
			br["split-all"].To("other")
			br["split-rest"].To("out")
			return true
		}, "tombstone k", false},
		{"Split without a default branch", func(s *streams.Stream[string, string], c *int) bool {
			br := s.Split(streams.Named("split-")).
				Branch(func(_, v string) bool { *c++; return true }, "all").
				NoDefaultBranch()
			br["split-all"].To("out")
			return true
		}, "", false},
		{"Merge", func(s *streams.Stream[string, string], c *int) bool {
			s.Merge(nil).To("out")
			return true
		}, "tombstone k", true},
		{"Process", func(s *streams.Stream[string, string], c *int) bool {
			streams.Process(s, streams.ProcessorFunc(func(ctx streams.ProcessorContext[string, string], r streams.Record[string, string]) error {
				return ctx.Forward(r) // a processor sees the Record and its null flag
			})).To("out")
			return true
		}, "tombstone k", true},
		{"GroupBy count", func(s *streams.Stream[string, string], c *int) bool {
			streams.GroupBy(s, func(k, v string) string { *c++; return v }).Count().ToStream().
				To("out", streams.ProducedWith(ss, streams.Int64Serde()))
			return true
		}, "", false},
	}
}

// readOut renders what "out" holds as "tombstone k" or "k=v" lines.
func readOut(t *testing.T, d *streamstest.Driver) string {
	t.Helper()
	out := streamstest.CreateOutputTopic(d, "out", streams.BytesSerde(), streams.BytesSerde())
	recs, err := out.ReadRecordsToList()
	must(t, err)
	var lines []string
	for _, r := range recs {
		if r.ValueNull {
			lines = append(lines, "tombstone "+string(r.Key))
		} else {
			lines = append(lines, fmt.Sprintf("%s=%x", r.Key, r.Value))
		}
	}
	return strings.Join(lines, "\n")
}

// tombstoneThrough builds a topology of a stream read from "in" with add,
// pipes a tombstone of key "k" into it and returns the input topic and
// what "out" then holds (as readOut renders it).
func tombstoneThrough(t *testing.T, add func(*streams.Stream[string, string])) (*streamstest.InputTopic[string, string], string) {
	t.Helper()
	b := streams.NewBuilder()
	add(streams.NewStream(b, "in", streams.ConsumedWith(ss, ss)))
	d := driver(t, build(t, b))
	in := streamstest.CreateInputTopic(d, "in", ss, ss)
	must(t, in.PipeTombstone("k"))
	return in, readOut(t, d)
}

func TestStatelessOperatorsKeepTombstones(t *testing.T) {
	for _, c := range plainNullCases() {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			in, got := tombstoneThrough(t, func(s *streams.Stream[string, string]) { c.build(s, &calls) })
			if got != c.want {
				t.Errorf("output after a tombstone = %q, want %q", got, c.want)
			}
			if calls != 0 {
				t.Errorf("the user function ran %d times for a tombstone", calls)
			}
			// A real value still reaches the function.
			must(t, in.PipeInput("k", "v"))
			if calls == 0 && !c.noFunc {
				t.Error("the user function did not run for a real value")
			}
		})
	}
}

func TestKeyChangingOperatorsCountDroppedTombstones(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	streams.SelectKey(s, func(k, v string) string { return v }).To("out")
	d := driver(t, build(t, b))
	in := streamstest.CreateInputTopic(d, "in", ss, ss)
	must(t, in.PipeTombstone("k"))
	if n := d.Stats().DroppedRecords.Load(); n != 1 {
		t.Fatalf("dropped records = %d, want 1", n)
	}
}

// The Nullable forms receive the tombstone and decide.
func TestNullableFormsSeeTombstones(t *testing.T) {
	type seen struct{ null, value int }
	note := func(s *seen, v streams.Nullable[string]) {
		if v.IsNull() {
			s.null++
		} else {
			s.value++
		}
	}
	cases := []struct {
		name  string
		build func(s *streams.Stream[string, string], sn *seen)
		want  string
	}{
		{"FilterNullable drops tombstones", func(s *streams.Stream[string, string], sn *seen) {
			s.FilterNullable(func(_ string, v streams.Nullable[string]) bool { note(sn, v); return v.Valid }).To("out")
		}, ""},
		{"FilterNotNullable", func(s *streams.Stream[string, string], sn *seen) {
			s.FilterNotNullable(func(_ string, v streams.Nullable[string]) bool { note(sn, v); return false }).To("out")
		}, "tombstone k"},
		{"PeekNullable", func(s *streams.Stream[string, string], sn *seen) {
			s.PeekNullable(func(_ string, v streams.Nullable[string]) { note(sn, v) }).To("out")
		}, "tombstone k"},
		{"ForeachNullable", func(s *streams.Stream[string, string], sn *seen) {
			s.ForeachNullable(func(_ string, v streams.Nullable[string]) { note(sn, v) })
		}, ""},
		{"MapValuesNullable turns a tombstone into a value", func(s *streams.Stream[string, string], sn *seen) {
			streams.MapValuesNullable(s, func(_ string, v streams.Nullable[string]) streams.Nullable[string] {
				note(sn, v)
				if v.IsNull() {
					return streams.NonNull("deleted")
				}
				return v
			}).To("out")
		}, "k=" + fmt.Sprintf("%x", "deleted")},
		{"MapValuesNullable keeps a tombstone", func(s *streams.Stream[string, string], sn *seen) {
			streams.MapValuesNullable(s, func(_ string, v streams.Nullable[string]) streams.Nullable[int64] {
				note(sn, v)
				if v.IsNull() {
					return streams.Null[int64]()
				}
				return streams.NonNull(int64(len(v.V)))
			}).To("out", streams.ProducedWith(ss, streams.Int64Serde()))
		}, "tombstone k"},
		{"MapNullable", func(s *streams.Stream[string, string], sn *seen) {
			streams.MapNullable(s, func(k string, v streams.Nullable[string]) (string, streams.Nullable[string]) {
				note(sn, v)
				return k + "2", v
			}).To("out")
		}, "tombstone k2"},
		{"FlatMapNullable", func(s *streams.Stream[string, string], sn *seen) {
			streams.FlatMapNullable(s, func(k string, v streams.Nullable[string]) []streams.KeyValue[string, streams.Nullable[string]] {
				note(sn, v)
				return []streams.KeyValue[string, streams.Nullable[string]]{streams.KV(k, v), streams.KV(k+"2", v)}
			}).To("out")
		}, "tombstone k\ntombstone k2"},
		{"FlatMapValuesNullable", func(s *streams.Stream[string, string], sn *seen) {
			streams.FlatMapValuesNullable(s, func(_ string, v streams.Nullable[string]) []streams.Nullable[string] {
				note(sn, v)
				return []streams.Nullable[string]{v}
			}).To("out")
		}, "tombstone k"},
		{"SelectKeyNullable", func(s *streams.Stream[string, string], sn *seen) {
			streams.SelectKeyNullable(s, func(k string, v streams.Nullable[string]) string { note(sn, v); return "new-" + k }).To("out")
		}, "tombstone new-k"},
		{"BranchNullable", func(s *streams.Stream[string, string], sn *seen) {
			br := s.Split(streams.Named("split-")).
				Branch(func(_, _ string) bool { return true }, "values").
				BranchNullable(func(_ string, v streams.Nullable[string]) bool { note(sn, v); return v.IsNull() }, "deletes").
				NoDefaultBranch()
			br["split-values"].To("other")
			br["split-deletes"].To("out")
		}, "tombstone k"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var sn seen
			_, got := tombstoneThrough(t, func(s *streams.Stream[string, string]) { c.build(s, &sn) })
			if got != c.want {
				t.Errorf("output after a tombstone = %q, want %q", got, c.want)
			}
			if sn.null != 1 || sn.value != 0 {
				t.Errorf("the function saw %d nulls and %d values, want 1 null", sn.null, sn.value)
			}
		})
	}
}

// A session count's merge deletes the old sessions: their tombstones go
// through ToStream and MapValues as tombstones, never as a count of 0.
func TestSessionMergeTombstoneThroughToStreamMapValues(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.NewStream(b, "clicks", streams.ConsumedWith(ss, ss))
	counts := streams.WindowedBySession(s.GroupByKey(), streams.SessionWindowsOfInactivityGapAndGrace(5*time.Minute, 10*time.Minute)).
		Count(streams.MaterializedAs[string, int64]("sessions").WithCachingDisabled())
	calls := 0
	streams.MapValues(counts.ToStream(), func(_ streams.Windowed[string], n int64) string {
		calls++
		return fmt.Sprintf("%d clicks", n)
	}).To("out", streams.ProducedWith(streams.SessionWindowedSerde(ss), ss))
	d := driver(t, build(t, b))
	in := streamstest.CreateInputTopic(d, "clicks", ss, ss)
	must(t, in.PipeInputAt("alice", "a", 0))
	must(t, in.PipeInputAt("alice", "b", 8*60_000))
	// This click falls within the gap of both sessions and merges them
	// (within the grace period, so the first one is still open).
	must(t, in.PipeInputAt("alice", "c", 4*60_000))
	out := streamstest.CreateOutputTopic(d, "out", streams.SessionWindowedSerde(ss), ss)
	recs, err := out.ReadRecordsToList()
	must(t, err)
	var got []string
	for _, r := range recs {
		w := fmt.Sprintf("%s@[%d,%d]", r.Key.Key, r.Key.Window.Start, r.Key.Window.End)
		if r.ValueNull {
			got = append(got, w+" tombstone")
		} else {
			got = append(got, w+" "+r.Value)
		}
	}
	want := []string{
		"alice@[0,0] 1 clicks",
		"alice@[480000,480000] 1 clicks",
		"alice@[0,0] tombstone",
		"alice@[480000,480000] tombstone",
		"alice@[0,480000] 3 clicks",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if calls != 3 {
		t.Fatalf("MapValues ran %d times, want 3 (never for the tombstones)", calls)
	}
}
