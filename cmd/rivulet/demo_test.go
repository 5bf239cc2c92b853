package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/twmb/franz-go/pkg/kgo"
)

// independentCounts counts words the obvious way, without the word-count
// package: lower-case everything, split on every rune that is not a letter.
func independentCounts(text string) map[string]int64 {
	out := map[string]int64{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) }) {
		out[w]++
	}
	return out
}

// demoTable reads the word table the demo prints after its summary
// ("all N words:" or "top N words:"), in order.
func demoTable(t *testing.T, stdout string) (words []string, counts map[string]int64) {
	t.Helper()
	_, after, ok := strings.Cut(stdout, "\nsummary\n")
	if !ok {
		t.Fatalf("no summary in:\n%s", stdout)
	}
	lines := strings.Split(after, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "all ") || strings.HasPrefix(l, "top ") {
			start = i + 2 // skip the header row
			break
		}
	}
	if start < 0 {
		t.Fatalf("no word table in:\n%s", stdout)
	}
	counts = map[string]int64{}
	for _, l := range lines[start:] {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		n, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Fatalf("bad table row %q", l)
		}
		words = append(words, f[1])
		counts[f[1]] = n
	}
	return words, counts
}

// TestDemoWordCountBuiltinText runs `rivulet demo wordcount` as a user types
// it (the built binary) and checks every count it prints for its built-in
// text against an independent count.
func TestDemoWordCountBuiltinText(t *testing.T) {
	res := mustCLI(t, "", "demo", "wordcount", "--top", "0", "--rate", "0")
	_, got := demoTable(t, res.stdout)
	want := independentCounts(demoText)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("counts differ from an independent count\n got %v\nwant %v\n%s", got, want, res)
	}
	var words int64
	for _, n := range want {
		words += n
	}
	lines := strings.Count(demoText, "\n")
	for _, s := range []string{
		"records in:   " + strconv.Itoa(lines) + " lines, " + strconv.FormatInt(words, 10) + " words",
		strconv.Itoa(len(want)) + " distinct words, " + strconv.FormatInt(words, 10) + " words counted",
		"app:          RUNNING, 4 task(s)", // 2 sub-topologies x 2 partitions
		"task 1_1 on ",
	} {
		if !strings.Contains(res.stdout, s) {
			t.Errorf("summary lacks %q:\n%s", s, res.stdout)
		}
	}
}

// TestDemoWordCountExactlyOnce runs the demo with exactly_once_v2 twice on
// one --data-dir: the counts are exact, and the second run carries on from
// the first (its transactions and markers included).
func TestDemoWordCountExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	want := independentCounts(demoText)
	for run := 1; run <= 2; run++ {
		res := mustCLI(t, "", "demo", "wordcount", "--top", "0", "--rate", "0", "--exactly-once", "--data-dir", dir)
		_, got := demoTable(t, res.stdout)
		for w, n := range want {
			if got[w] != int64(run)*n {
				t.Fatalf("run %d: %s = %d, want %d\n%s", run, w, got[w], int64(run)*n, res)
			}
		}
	}
}

// TestDemoWordCountDefault runs the README's command unchanged: paced input,
// a live view (plain lines here: stdout is not a terminal), the top 10.
func TestDemoWordCountDefault(t *testing.T) {
	res := mustCLI(t, "", "demo", "wordcount")
	words, got := demoTable(t, res.stdout)
	want := independentCounts(demoText)
	if len(words) != 10 {
		t.Fatalf("%d rows, want 10:\n%s", len(words), res.stdout)
	}
	for i, w := range words {
		if got[w] != want[w] {
			t.Errorf("%s = %d, want %d", w, got[w], want[w])
		}
		if i > 0 && got[words[i-1]] < got[w] {
			t.Errorf("table not sorted by count at %s", w)
		}
	}
	if words[0] != "the" {
		t.Errorf("top word %q, want \"the\"", words[0])
	}
	if !strings.Contains(res.stdout, "counted ") || !strings.Contains(res.stdout, "top: the=") {
		t.Errorf("no live progress lines:\n%s", res.stdout)
	}
}

// TestDemoWordCountInputs feeds a file and standard input, and reuses a
// --data-dir: the second run's counts carry on from the first.
func TestDemoWordCountInputs(t *testing.T) {
	dir := t.TempDir()
	text := "Hello, hello WORLD.\nbonjour le monde -- hello\n\nnaïve café, NAÏVE\n"
	file := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	want := independentCounts(text)
	res := mustCLI(t, "", "demo", "wordcount", "--input", file, "--top", "0", "--partitions", "3", "--threads", "2")
	if _, got := demoTable(t, res.stdout); !reflect.DeepEqual(got, want) {
		t.Fatalf("file: got %v want %v\n%s", got, want, res)
	}

	data := filepath.Join(dir, "data")
	res = mustCLI(t, text, "demo", "wordcount", "--input", "-", "--top", "0", "--data-dir", data)
	if _, got := demoTable(t, res.stdout); !reflect.DeepEqual(got, want) {
		t.Fatalf("stdin: got %v want %v\n%s", got, want, res)
	}
	res = mustCLI(t, text, "demo", "wordcount", "--input", "-", "--top", "0", "--data-dir", data)
	if !strings.Contains(res.stdout, "exists already") {
		t.Errorf("second run did not notice the existing topics:\n%s", res.stdout)
	}
	_, got := demoTable(t, res.stdout)
	for w, n := range want {
		if got[w] != 2*n {
			t.Errorf("after two runs %s = %d, want %d", w, got[w], 2*n)
		}
	}
}

func TestDemoUsageErrors(t *testing.T) {
	expectCLI(t, exitUsage, "no such file", "", "demo", "wordcount", "--input", "/nonexistent/file.txt")
	expectCLI(t, exitUsage, "--threads", "", "demo", "wordcount", "--threads", "0")
	expectCLI(t, exitUsage, "--rate", "", "demo", "wordcount", "--rate", "-1")
	expectCLI(t, exitUsage, "name a demo", "", "demo")
	expectCLI(t, exitUsage, "unknown flag", "", "demo", "wordcount", "--nope")
	expectCLI(t, exitUsage, "--processing-guarantee", "", "demo", "wordcount", "--processing-guarantee", "exactly_once")
	expectCLI(t, exitUsage, "contradicts", "", "demo", "wordcount", "--exactly-once", "--processing-guarantee", "at_least_once")
	res := mustCLI(t, "", "demo", "wordcount", "--help")
	if !strings.Contains(res.stdout, "Examples:") || !strings.Contains(res.stdout, "rivulet demo wordcount --input") {
		t.Errorf("help lacks examples:\n%s", res.stdout)
	}
}

// TestCountWatcherTopIsExact: the watcher keeps only candidates for the top
// words, yet at every point of a stream of updates its top n (ties by word),
// its sum and its distinct count match a table of every word's last count.
func TestCountWatcherTopIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 40 {
		keep := 1 + rng.IntN(12)
		w := newCountTable(keep)
		truth := map[string]int64{}
		words := 1 + rng.IntN(200)
		for i := range 3000 {
			word := fmt.Sprintf("w%d", int(float64(words)*rng.Float64()*rng.Float64()))
			n := truth[word] + 1 + int64(rng.IntN(2)) // counts only grow; many ties
			truth[word] = n
			w.apply(&kgo.Record{Key: []byte(word), Value: binary.BigEndian.AppendUint64(nil, uint64(n))})
			if i%7 != 0 {
				continue
			}
			var want []wordCount
			var sum int64
			for k, v := range truth {
				want = append(want, wordCount{k, v})
				sum += v
			}
			sort.Slice(want, func(i, j int) bool { return ranksBefore(want[i], want[j]) })
			for _, n := range []int{1, (keep + 1) / 2, keep} {
				top, distinct, _ := w.snapshot(n)
				if wantN := want[:min(n, len(want))]; !slices.Equal(top, wantN) {
					t.Fatalf("round %d (keep %d), update %d: top %d = %v, want %v", round, keep, i, n, top, wantN)
				}
				if distinct != len(truth) || w.counted() != sum {
					t.Fatalf("round %d: distinct %d, counted %d; want %d, %d", round, distinct, w.counted(), len(truth), sum)
				}
			}
			if len(w.top) > 2*keep {
				t.Fatalf("round %d: %d candidates kept for a top of %d", round, len(w.top), keep)
			}
		}
	}
}
