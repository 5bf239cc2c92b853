package harness

import (
	"bytes"
	"context"
	"encoding/xml"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/examples/wordcount/wordcount"
	"github.com/rivulet-io/rivulet/internal/testutil"
)

// TestCorpusDeterministicAndSplittable checks that a corpus gives the same
// text every time, that the word count's splitting rule finds exactly the
// generated words in every line, and that Counts adds up to Words.
func TestCorpusDeterministicAndSplittable(t *testing.T) {
	c, err := NewCorpus(CorpusConfig{Words: 5000, Vocabulary: 300, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	var first bytes.Buffer
	var words int64
	err = c.Each(func(line []byte, ranks []int) error {
		first.Write(line)
		first.WriteByte('\n')
		got := wordcount.Words(string(line))
		if len(got) != len(ranks) {
			t.Fatalf("line %q splits into %d words, generated %d", line, len(got), len(ranks))
		}
		for i, r := range ranks {
			if got[i] != c.vocab[r] {
				t.Fatalf("line %q word %d = %q, generated %q", line, i, got[i], c.vocab[r])
			}
		}
		words += int64(len(ranks))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if words != 5000 {
		t.Fatalf("%d words, want 5000", words)
	}
	var second bytes.Buffer
	_ = c.Each(func(line []byte, _ []int) error { second.Write(line); second.WriteByte('\n'); return nil })
	if first.String() != second.String() {
		t.Fatal("the same corpus gave two different texts")
	}
	var sum int64
	counts := c.Counts()
	for _, n := range counts {
		sum += n
	}
	if sum != 5000 {
		t.Fatalf("counts add up to %d, want 5000", sum)
	}
	// Zipf: the most frequent word is far more frequent than the median.
	top := counts[c.vocab[0]]
	if top < 5000/20 {
		t.Errorf("rank 0 occurs %d times in 5000 words; the text is not skewed", top)
	}
}

func TestCorpusRejectsBadConfig(t *testing.T) {
	for _, cfg := range []CorpusConfig{{Words: -1}, {Vocabulary: -1}, {ZipfS: 0.5}, {WordsPerLine: -2}} {
		if _, err := NewCorpus(cfg); err == nil {
			t.Errorf("NewCorpus(%+v): no error", cfg)
		}
	}
}

func TestUpdateResults(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "RESULTS.md")
	const head = "# Benchmark results\n\nintro\n\n## client\n\nclient figures\n"
	if err := os.WriteFile(path, []byte(head), 0o644); err != nil {
		t.Fatal(err)
	}
	sec := ResultsHeading + "\n\nfirst run\n"
	if err := UpdateResults(path, ResultsHeading, sec); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if want := head + "\n" + sec; string(got) != want {
		t.Fatalf("after append:\n%q\nwant\n%q", got, want)
	}
	// A section written by someone else after ours must survive a rewrite.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("\n## broker\n\nbroker figures\n")
	f.Close()
	sec2 := ResultsHeading + "\n\nsecond run\n"
	if err := UpdateResults(path, ResultsHeading, sec2); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	if want := head + "\n" + sec2 + "\n## broker\n\nbroker figures\n"; string(got) != want {
		t.Fatalf("after rewrite:\n%q\nwant\n%q", got, want)
	}
	if err := UpdateResults(filepath.Join(dir, "missing.md"), ResultsHeading, sec); err == nil {
		t.Error("no error for a missing file")
	}
}

func TestRowRatioAndTable(t *testing.T) {
	thr := Row{Bench: "b", Unit: "words/s", Ours: "rivulet", Peer: "goka", OursValue: 500, PeerValue: 100, Goal: 5}
	lat := Row{Bench: "l", Unit: "ms", Ours: "rivulet", Peer: "goka", OursValue: 2, PeerValue: 50, LowerIsBetter: true}
	if thr.Ratio() != 5 || thr.Verdict() != "met" || lat.Ratio() != 25 || lat.Verdict() != "" {
		t.Fatalf("ratios %v %q %v %q", thr.Ratio(), thr.Verdict(), lat.Ratio(), lat.Verdict())
	}
	thr.OursValue = 400
	if thr.Verdict() != "NOT MET" {
		t.Fatalf("verdict %q", thr.Verdict())
	}
	var b bytes.Buffer
	PrintTable(&b, []Row{thr, lat})
	md := MarkdownTable([]Row{thr, lat})
	for _, want := range []string{"4.00x", "25.00x", ">= 5.0x (NOT MET)"} {
		if !strings.Contains(b.String(), want) || !strings.Contains(md, want) {
			t.Errorf("%q missing from\n%s\n%s", want, b.String(), md)
		}
	}
}

// runSuite runs one suite's Run function on cfg within timeout, writing its
// progress to a buffer the test may read, and fails the test, showing that
// progress, when the suite returns an error.
func runSuite[C, R any](t *testing.T, timeout time.Duration, run func(context.Context, C, *Progress) (R, error), cfg C) (R, *testutil.Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out := &testutil.Buffer{}
	res, err := run(ctx, cfg, NewProgress(out, false))
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, out.String())
	}
	return res, out
}

func TestProgressPlainLines(t *testing.T) {
	var b testutil.Buffer
	p := NewProgress(&b, false)
	p.SetPlainInterval(10 * time.Millisecond)
	bar := p.Start("phase", 100, "words")
	bar.Set(40)
	if !testutil.Poll(5*time.Second, func() bool { return strings.Contains(b.String(), "40/100") }) {
		t.Fatalf("no periodic line in %q", b.String())
	}
	bar.Set(100)
	bar.Done()
	bar.Done()
	out := b.String()
	if !strings.HasSuffix(out, "\n") || !strings.Contains(out, "100% 100/100 words") || strings.Contains(out, "\r") {
		t.Fatalf("plain output %q", out)
	}
	var nilP *Progress
	nilP.Start("x", 1, "y").Done() // a nil Progress shows nothing and does not fail
}

func TestPlot(t *testing.T) {
	series := []Series{
		{Bench: "word count", System: "rivulet", Unit: "words/s", Points: []Point{{0.25, 100}, {0.5, 300}, {0.75, 280}}},
		{Bench: "word count", System: "goka", Unit: "words/s", Points: []Point{{0.25, 50}, {0.5, 60}}},
		{Bench: "broker <consume>", System: "kfake", Unit: "records/s", Points: []Point{{0.25, 1e6}}},
		{Bench: "empty", System: "x", Unit: "u"},
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "out.svg")
	if err := Plot(path, series); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName   xml.Name
		Polylines []struct {
			Points string `xml:"points,attr"`
		} `xml:"polyline"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("not well-formed XML: %v\n%s", err, b)
	}
	if doc.XMLName.Local != "svg" || len(doc.Polylines) != 3 {
		t.Fatalf("root %q with %d lines, want svg with 3", doc.XMLName.Local, len(doc.Polylines))
	}
	for _, want := range []string{"word count", "broker &lt;consume&gt;", "rivulet", "goka", "kfake", "words/s", "seconds"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("plot lacks %q", want)
		}
	}
	if err := Plot(filepath.Join(dir, "out.png"), series); err == nil {
		t.Error("no error for .png")
	}
	if err := Plot(filepath.Join(dir, "empty.svg"), nil); err == nil {
		t.Error("no error for no series")
	}
	// Bars (the streams cases) and logarithmic axes (a latency sweep).
	bars := BarChart{Title: "cases", Unit: "records/s", Groups: []string{"count", "join <x>"}, Systems: []string{"rivulet", "franz-go", "goka"},
		Values: [][]float64{{100, 200, 50}, {300, 0, 0}}}
	sweep := Series{Bench: "sweep", System: "rivulet", Unit: "p99 ms", XUnit: "input records/s", LogX: true, LogY: true,
		Points: []Point{{1000, 3}, {10000, 5}, {100000, 900}}}
	path = filepath.Join(dir, "bars.svg")
	if err := Plot(path, []Series{sweep}, bars); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	var doc2 struct {
		Rects []struct {
			Width string `xml:"width,attr"`
		} `xml:"rect"`
		Circles []struct{} `xml:"circle"`
	}
	if err := xml.Unmarshal(b, &doc2); err != nil {
		t.Fatalf("not well-formed XML: %v\n%s", err, b)
	}
	// background, two frames, four bars, three legend swatches
	if len(doc2.Rects) != 10 || len(doc2.Circles) != 3 {
		t.Errorf("%d rects and %d circles, want 10 and 3:\n%s", len(doc2.Rects), len(doc2.Circles), b)
	}
	for _, want := range []string{"join &lt;x&gt;", "franz-go", "input records/s", ">100k<", ">1k<"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("plot lacks %q", want)
		}
	}
	for _, c := range []struct{ max, step float64 }{{0, 1}, {1, 0.2}, {7, 2}, {1234, 500}, {3e6, 1e6}} {
		if got := niceStep(c.max); math.Abs(got-c.step) > 1e-9 {
			t.Errorf("niceStep(%v) = %v, want %v", c.max, got, c.step)
		}
	}
}

func TestMachine(t *testing.T) {
	m := DetectMachine()
	if m.NumCPU < 1 || m.CPUModel == "" || !reflect.DeepEqual(m.OSArch != "", true) {
		t.Fatalf("%+v", m)
	}
	if got := cpuModel("/nonexistent"); got != "unknown" {
		t.Fatalf("cpuModel of a missing file = %q", got)
	}
}

func TestHuman(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{3.04, "3.04"}, {100, "100"}, {999.6, "1k"}, {1000, "1k"}, {19600, "19.6k"}, {2.6e6, "2.6M"}, {1.5e9, "1.5G"}} {
		if got := Human(c.v); got != c.want {
			t.Errorf("Human(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
