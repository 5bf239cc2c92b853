package wordcount_test

import (
	"encoding/binary"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/rivulet-io/rivulet/examples/wordcount/wordcount"
	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// referenceWords is the rule written the obvious way: lower-case the whole
// line, then split on every rune that is not a letter.
func referenceWords(line string) []string {
	return strings.FieldsFunc(strings.ToLower(line), func(r rune) bool { return !unicode.IsLetter(r) })
}

// referenceCounts counts the words of lines independently of the topology.
func referenceCounts(lines []string) map[string]int64 {
	want := map[string]int64{}
	for _, l := range lines {
		for _, w := range referenceWords(l) {
			want[w]++
		}
	}
	return want
}

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"Hello, World!", []string{"hello", "world"}},
		{"Don't stop", []string{"don", "t", "stop"}},
		{"a1b2c3", []string{"a", "b", "c"}},
		{"snake_case and kebab-case", []string{"snake", "case", "and", "kebab", "case"}},
		{"ÉCOLE Straße", []string{"école", "straße"}},
		{"Ünïcödé—dash", []string{"ünïcödé", "dash"}},
		{"İstanbul", referenceWords("İstanbul")}, // lower-casing adds a combining dot, a non-letter
		{"bad\xffbyte", []string{"bad", "byte"}},
		{"ΑΘΗΝΑ", []string{"αθηνα"}},
		{"--leading and trailing--", []string{"leading", "and", "trailing"}},
	} {
		got := wordcount.Words(tc.in)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Words(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzWords checks Words against the obvious rule on any input, including
// invalid UTF-8.
func FuzzWords(f *testing.F) {
	for _, s := range []string{"", "Hello, World!", "İstanbul", "a\xffb", "ÉCOLE_1 x", "\u0130\u0307", "ǅungla"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		got, want := wordcount.Words(line), referenceWords(line)
		if len(got) == 0 && len(want) == 0 {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Words(%q) = %q, want %q", line, got, want)
		}
	})
}

func TestTopologyRejectsSameTopics(t *testing.T) {
	if _, err := wordcount.Topology(wordcount.Options{InputTopic: "t", OutputTopic: "t"}); err == nil {
		t.Fatal("no error for input topic == output topic")
	}
}

// TestTopologyShape checks the sub-topologies and internal topics a Kafka
// Streams user expects from WordCountDemo.
func TestTopologyShape(t *testing.T) {
	topo, err := wordcount.Topology(wordcount.Options{})
	if err != nil {
		t.Fatal(err)
	}
	subs := topo.Subtopologies()
	if len(subs) != 2 {
		t.Fatalf("%d sub-topologies, want 2 (split, then count after the repartition):\n%s", len(subs), topo.Describe())
	}
	if got := subs[0].SourceTopics; !reflect.DeepEqual(got, []string{wordcount.DefaultInputTopic}) {
		t.Errorf("sub-topology 0 reads %v", got)
	}
	if got := subs[1].Stores; !reflect.DeepEqual(got, []string{wordcount.DefaultStoreName}) {
		t.Errorf("sub-topology 1 stores %v", got)
	}
	var names []string
	for _, it := range topo.Graph().InternalTopics("wc", nil) {
		names = append(names, it.Name)
	}
	if want := []string{"wc-counts-changelog", "wc-counts-repartition"}; !reflect.DeepEqual(names, want) {
		t.Errorf("internal topics %v, want %v", names, want)
	}
}

// TestTopologyCounts pipes text through the topology with streamstest and
// checks the output against an independent count: the last count of every
// word is its number of occurrences, counts only grow, and values are
// 8-byte big-endian int64s.
func TestTopologyCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := []string{"the", "The", "THE", "quick", "brown", "fox", "jumps", "Straße", "école", "naïve", "over", "lazy", "dog"}
	seps := []string{" ", ", ", ". ", "—", "  ", "\t", "1", "'", "_"}
	lines := []string{"", "Hello, hello world!", "İstanbul'da"}
	for range 300 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(vocab[rng.IntN(len(vocab))])
			b.WriteString(seps[rng.IntN(len(seps))])
		}
		lines = append(lines, b.String())
	}
	want := referenceCounts(lines)

	for _, cache := range []int64{0, 10 << 20} {
		topo, err := wordcount.Topology(wordcount.Options{})
		if err != nil {
			t.Fatal(err)
		}
		d, err := streamstest.New(topo, streamstest.WithCacheMaxBytes(cache))
		if err != nil {
			t.Fatal(err)
		}
		in := streamstest.CreateInputTopic(d, wordcount.DefaultInputTopic, streams.BytesSerde(), streams.StringSerde())
		out := streamstest.CreateOutputTopic(d, wordcount.DefaultOutputTopic, streams.StringSerde(), streams.BytesSerde())
		for _, l := range lines {
			if err := in.PipeValue(l); err != nil {
				t.Fatal(err)
			}
		}
		recs, err := out.ReadKeyValuesToList()
		if err != nil {
			t.Fatal(err)
		}
		last := map[string]int64{}
		for _, kv := range recs {
			if len(kv.Value) != 8 {
				t.Fatalf("cache %d: value of %q is %d bytes, want 8", cache, kv.Key, len(kv.Value))
			}
			n := int64(binary.BigEndian.Uint64(kv.Value))
			if n <= last[kv.Key] {
				t.Fatalf("cache %d: count of %q went from %d to %d", cache, kv.Key, last[kv.Key], n)
			}
			last[kv.Key] = n
		}
		if !reflect.DeepEqual(last, want) {
			t.Errorf("cache %d: final counts differ\n got %v\nwant %v", cache, last, want)
		}
		kvs, err := streamstest.KeyValueStore[string, int64](d, wordcount.DefaultStoreName)
		if err != nil {
			t.Fatal(err)
		}
		for w, n := range want {
			got, ok, err := kvs.Get(w)
			if err != nil || !ok || got != n {
				t.Errorf("cache %d: store %q = %d, %v, %v; want %d", cache, w, got, ok, err, n)
			}
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
