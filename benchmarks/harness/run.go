package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rivulet-io/rivulet/streams"
)

// Suites of the harness, as `rivulet bench` names them.
const (
	SuiteBroker    = "broker"
	SuiteWordCount = "wordcount"
	SuiteLatency   = "latency"
	SuiteStreams   = "streams"
)

// AllSuites lists every suite in the order Run runs them.
var AllSuites = []string{SuiteBroker, SuiteWordCount, SuiteLatency, SuiteStreams}

// Config is a whole harness run.
type Config struct {
	// Suites to run. The default value is AllSuites.
	Suites []string
	// Broker, WordCount, Latency and Streams configure the suites; their
	// Dir and Logger are filled in by Run.
	Broker    BrokerConfig
	WordCount WordCountConfig
	Latency   LatencyConfig
	Streams   StreamsConfig
	// Dir is where brokers and state live during the run; each suite gets
	// a fresh subdirectory. The default value is a new temporary directory,
	// removed at the end.
	Dir string
	// Logger receives the brokers' and apps' logs. The default value
	// discards them.
	Logger *slog.Logger
}

// Result is a whole harness run.
type Result struct {
	Machine   Machine
	Elapsed   time.Duration
	Broker    *BrokerResult
	WordCount *WordCountResult
	Latency   *LatencyResult
	Streams   *StreamsResult
	// BrokerSettings, WordCountSettings, LatencySettings and
	// StreamsSettings are the suites' configurations with defaults filled
	// in.
	BrokerSettings    BrokerConfig
	WordCountSettings WordCountConfig
	LatencySettings   LatencyConfig
	StreamsSettings   StreamsConfig
}

// orDefault sets *v to def when *v is the zero value: a configuration field
// left unset takes its documented default.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// bySystem indexes a suite's runs by the system each measured.
func bySystem[R any](runs []R, system func(R) string) map[string]R {
	m := make(map[string]R, len(runs))
	for _, r := range runs {
		m[system(r)] = r
	}
	return m
}

// Rows returns every result row, suite by suite.
func (r *Result) Rows() []Row {
	var rows []Row
	if r.Broker != nil {
		rows = append(rows, r.Broker.Rows...)
	}
	if r.WordCount != nil {
		rows = append(rows, r.WordCount.Rows...)
	}
	if r.Latency != nil {
		rows = append(rows, r.Latency.Rows...)
	}
	if r.Streams != nil {
		rows = append(rows, r.Streams.Rows...)
	}
	return rows
}

// Series returns every throughput curve.
func (r *Result) Series() []Series {
	var s []Series
	if r.Broker != nil {
		s = append(s, r.Broker.Series...)
	}
	if r.WordCount != nil {
		s = append(s, r.WordCount.Series...)
	}
	if r.Latency != nil {
		s = append(s, r.Latency.Series()...)
	}
	return s
}

// BarCharts returns the streams cases side by side: records/s of each
// system per case.
func (r *Result) BarCharts() []BarChart {
	if r.Streams == nil || len(r.Streams.Runs) == 0 {
		return nil
	}
	c := BarChart{Title: "streams cases (input records/s)", Unit: "input records/s", Systems: streamsSystems}
	for _, run := range r.Streams.Runs {
		if len(c.Groups) > 0 && c.Groups[len(c.Groups)-1] == run.Case {
			continue
		}
		c.Groups = append(c.Groups, run.Case)
		vals := make([]float64, len(streamsSystems))
		for i, sys := range streamsSystems {
			if x, ok := r.Streams.Run(run.Case, sys); ok {
				vals[i] = x.RecordsPerSecond()
			}
		}
		c.Values = append(c.Values, vals)
	}
	return []BarChart{c}
}

// Run runs the suites of cfg, one after the other, each on its own broker.
func Run(ctx context.Context, cfg Config, progress *Progress) (*Result, error) {
	if len(cfg.Suites) == 0 {
		cfg.Suites = AllSuites
	}
	for _, s := range cfg.Suites {
		if !slices.Contains(AllSuites, s) {
			return nil, fmt.Errorf("harness: unknown suite %q (use %s)", s, strings.Join(AllSuites, ", "))
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "rivulet-bench-")
		if err != nil {
			return nil, fmt.Errorf("harness: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	}
	res := &Result{Machine: DetectMachine()}
	start := time.Now()
	var err error
	for _, s := range cfg.Suites {
		dir := filepath.Join(cfg.Dir, s)
		if mkErr := os.MkdirAll(dir, 0o755); mkErr != nil {
			return nil, fmt.Errorf("harness: %w", mkErr)
		}
		switch s {
		case SuiteBroker:
			c := cfg.Broker
			c.Dir, c.Logger = dir, cfg.Logger
			c.ensureDefaults()
			res.BrokerSettings = c
			res.Broker, err = RunBroker(ctx, c, progress)
		case SuiteWordCount:
			c := cfg.WordCount
			c.Dir, c.Logger = dir, cfg.Logger
			c.ensureDefaults()
			c.Corpus.ensureDefaults()
			res.WordCountSettings = c
			res.WordCount, err = RunWordCount(ctx, c, progress)
		case SuiteLatency:
			c := cfg.Latency
			c.Dir, c.Logger = dir, cfg.Logger
			c.ensureDefaults()
			res.LatencySettings = c
			res.Latency, err = RunLatency(ctx, c, progress)
		case SuiteStreams:
			c := cfg.Streams
			c.Dir, c.Logger = dir, cfg.Logger
			c.ensureDefaults()
			res.StreamsSettings = c
			res.Streams, err = RunStreams(ctx, c, progress)
		}
		if err != nil {
			return res, err
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// ResultsHeading is the heading of the section of RESULTS.md the broker,
// word count and latency suites write.
const ResultsHeading = "## Word count and latency"

// StreamsResultsHeading is the heading of the streams suite's section.
const StreamsResultsHeading = "## Streams suite (SimpleBenchmark cases)"

// Section is one section of RESULTS.md, starting with its heading line.
type Section struct {
	Heading string
	Body    string
}

// Sections returns the sections of RESULTS.md this run fills: the word
// count and latency section when the broker, word count or (single-rate)
// latency suite ran, the latency sweep's own section, and the streams
// section when the streams suite ran.
func (r *Result) Sections(command, plot string) []Section {
	var out []Section
	sweep := r.Latency != nil && r.LatencySettings.Sweep
	if r.Broker != nil || r.WordCount != nil || (r.Latency != nil && !sweep) {
		out = append(out, Section{ResultsHeading, r.Markdown(command, plot)})
	}
	if sweep {
		out = append(out, Section{LatencySweepHeading, r.LatencySweepMarkdown(command, plot)})
	}
	if r.Streams != nil {
		out = append(out, Section{StreamsResultsHeading, r.StreamsMarkdown(command, plot)})
	}
	return out
}

// header writes what every section starts with: the command, the machine
// and the rows.
func (r *Result) header(b *strings.Builder, heading, command, plot string, rows []Row) {
	m := r.Machine
	fmt.Fprintf(b, "%s\n\n", heading)
	b.WriteString("Written by `rivulet bench` (package `benchmarks/harness`); rerun it to refresh this section.\n")
	b.WriteString("Figures from a shared, busy machine are noisy: compare the ratios, which come from one run.\n\n")
	fmt.Fprintf(b, "- Command: `%s`\n", command)
	fmt.Fprintf(b, "- Machine: `nproc` = %d, CPU \"%s\" (/proc/cpuinfo), %s, %s\n", m.NumCPU, m.CPUModel, m.OSArch, m.GoVersion)
	if m.LoadAvg != "" {
		fmt.Fprintf(b, "- Load average at the start (/proc/loadavg, 1, 5 and 15 minutes): %s\n", m.LoadAvg)
	}
	fmt.Fprintf(b, "- Date: %s; the whole run took %s\n", m.Date.UTC().Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second))
	if plot != "" {
		fmt.Fprintf(b, "- Plot: [%s](%s)\n", filepath.Base(plot), plot)
	}
	b.WriteString("\n")
	b.WriteString(MarkdownTable(rows))
	b.WriteString("\n")
}

// Markdown returns the word count and latency section of RESULTS.md: the
// command, the machine, the table, each run's details and every setting of
// both sides. plot, when not empty, is the file the run's curves were drawn
// to.
func (r *Result) Markdown(command, plot string) string {
	var b strings.Builder
	var rows []Row
	if r.Broker != nil {
		rows = append(rows, r.Broker.Rows...)
	}
	if r.WordCount != nil {
		rows = append(rows, r.WordCount.Rows...)
	}
	if r.Latency != nil && !r.LatencySettings.Sweep {
		rows = append(rows, r.Latency.Rows...)
	}
	r.header(&b, ResultsHeading, command, plot, rows)
	if r.Broker != nil {
		c := r.BrokerSettings
		b.WriteString("### Broker throughput: brokerlite vs kfake\n\n")
		fmt.Fprintf(&b, "franz-go v1.22.3 producing %d records of %d random bytes (no key) per case to each broker, "+
			"one topic of %d partitions per case, in %d rounds that alternate between the brokers; "+
			"producer options as franz-go's defaults (linger 10ms, 1 MB batches, default partitioner) with compression off, "+
			"the same on both. brokerlite writes to disk (acks=-1 is answered after fsync); kfake keeps everything in memory. "+
			"Consume reads the acks=1 topic back with a new consumer per round (fetch max wait 100ms).\n\n",
			c.Records, c.ValueSize, c.Partitions, c.Rounds)
	}
	if r.WordCount != nil {
		c := r.WordCountSettings
		b.WriteString("### Word count: Rivulet vs goka v1.1.14\n\n")
		fmt.Fprintf(&b, "Input: %d words in %d lines (vocabulary %d pseudo-words, Zipf s=%.2f, seed %d, ~%d words per line), "+
			"written once to a %d-partition topic of one brokerlite; both systems then read that same topic from the start, one after the other, "+
			"and each is timed from its start to the moment the harness's consumer reads, on the system's output, the true count of every word.\n\n",
			c.Corpus.Words, r.WordCount.Lines, c.Corpus.Vocabulary, c.Corpus.ZipfS, c.Corpus.Seed, c.Corpus.WordsPerLine, c.Partitions)
		b.WriteString("| system | elapsed | words/s | first count seen after | count updates written |\n|---|---|---|---|---|\n")
		for _, run := range r.WordCount.Runs {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %d |\n", run.System, run.Elapsed.Round(10*time.Millisecond),
				Human(run.WordsPerSecond()), run.FirstOutput.Round(10*time.Millisecond), run.OutputRecords)
		}
		for _, run := range r.WordCount.Runs {
			if run.Warning != "" {
				fmt.Fprintf(&b, "\nWarning (%s): %s\n", run.System, oneLine(run.Warning))
			}
		}
		b.WriteString("\nSettings (everything else is each system's default):\n\n")
		fmt.Fprintf(&b, "- Both: at-least-once; producer acks=%s; %d partitions on every topic (input, Rivulet's repartition topic and changelog, goka's words stream and table); state on disk under one temporary directory; same split rule (`wordcount.Words`: lower-case, split on non-letters); word as the key and the count as an 8-byte big-endian int64 on the output.\n", c.Acks, c.Partitions)
		fmt.Fprintf(&b, "- Rivulet: `examples/wordcount/wordcount.Topology` (flatMapValues -> groupBy -> count -> to), num.stream.threads=%d, commit.interval.ms=%d (goka's sarama commits every 1s), record cache 10 MiB (default), Badger stores, franz-go producer without compression and without linger (runtime defaults), idempotence off with acks=1.\n",
			c.Threads, c.CommitInterval.Milliseconds())
		if c.ProcessingGuarantee == streams.ExactlyOnce {
			b.WriteString("- Rivulet exactly_once_v2 (rivulet-eos): the same application under processing.guarantee=exactly_once_v2 (transactions, idempotent producer with acks=all, the same commit interval), run right after the at-least-once run; the harness reads its output read_committed.\n")
		}
		b.WriteString("- goka: a split processor (emits each word keyed by the word, value the word, to a words stream) and a counting processor (adds one to the word's value in its group table); `goka.DefaultConfig()` (sarama, Kafka 2.0.0 protocol, snappy, producer flush every 100ms or 64 KiB) with streams read from the oldest offset; LevelDB storage (goka's default); an 8-byte big-endian int64 codec for the table; one goroutine per partition (goka's own parallelism).\n\n")
	}
	if r.Latency != nil && !r.LatencySettings.Sweep {
		r.latencyMarkdown(&b)
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func msText(d time.Duration) string { return fmt.Sprintf("%.1f ms", ms(d)) }

// UpdateResults replaces the section that starts with the line heading in
// the Markdown file at path (up to the next "## " heading) with section, or
// appends section when the file has no such heading. Other sections are
// kept byte for byte.
func UpdateResults(path, heading, section string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("harness: results: %w", err)
	}
	if !strings.HasPrefix(section, heading+"\n") {
		return errors.New("harness: results: the section must start with its heading")
	}
	section = strings.TrimRight(section, "\n") + "\n"
	lines := strings.SplitAfter(string(old), "\n")
	start, end := -1, len(lines)
	for i, l := range lines {
		t := strings.TrimRight(l, "\r\n")
		if start < 0 && t == heading {
			start = i
			continue
		}
		if start >= 0 && strings.HasPrefix(t, "## ") {
			end = i
			break
		}
	}
	var out string
	if start < 0 {
		body := strings.TrimRight(string(old), "\n")
		out = body + "\n\n" + section
	} else {
		before := strings.Join(lines[:start], "")
		after := strings.Join(lines[end:], "")
		if after != "" {
			section += "\n"
		}
		out = before + section + after
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(out), 0o644); err != nil {
		return fmt.Errorf("harness: results: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("harness: results: %w", err)
	}
	return nil
}

// latencyMarkdown writes the latency suite's details.
func (r *Result) latencyMarkdown(b *strings.Builder) {
	c := r.LatencySettings
	b.WriteString("### Latency: map-only pipeline\n\n")
	input := fmt.Sprintf("%d records/s of %d bytes for %s", c.Rate, c.ValueSize, c.Duration)
	if c.Sweep {
		input = fmt.Sprintf("records of %d bytes at each rate of the sweep for %s", c.ValueSize, c.SweepStep)
	}
	fmt.Fprintf(b, "Each system reads its own %d-partition input topic and writes every value unchanged to an output topic. "+
		"The harness produces %s (franz-go, linger 0, acks=1) after a warm-up, "+
		"stamping each value with its send time; its consumer (fetch max wait 500ms, long poll) stamps arrival. "+
		"Rivulet: num.stream.threads=%d, runtime defaults (no producer linger). goka: `goka.DefaultConfig()` (producer flush every 100ms).\n\n",
		c.Partitions, input, c.Threads)
	if c.Sweep {
		fmt.Fprintf(b, "At %d records/s:\n\n", c.Rate)
	}
	b.WriteString("| system | records | p50 | p99 | p999 | max |\n|---|---|---|---|---|---|\n")
	for _, run := range r.Latency.Runs {
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s |\n", run.System, run.Records, msText(run.P50), msText(run.P99), msText(run.P999), msText(run.Max))
	}
	if c.Sweep {
		fmt.Fprintf(b, "\nLatency against input rate (each rate for %s; a system is saturated at the first rate where its p99 is above %s or its output is not complete %s after the input ended; the sweep stops there):\n\n",
			c.SweepStep, sweepSaturatedP99, sweepDrain)
		b.WriteString("| system | input records/s asked | reached | records | p50 | p99 | p999 | max | |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, run := range r.Latency.Runs {
			for _, p := range run.Curve.Points {
				sat := ""
				if p.Saturated {
					sat = "saturated"
				}
				fmt.Fprintf(b, "| %s | %s | %s | %d | %s | %s | %s | %s | %s |\n", run.System, Human(float64(p.Rate)), Human(p.Achieved), p.Records,
					msText(p.P50), msText(p.P99), msText(p.P999), msText(p.Max), sat)
			}
		}
	}
	for _, run := range r.Latency.Runs {
		if run.Warning != "" {
			fmt.Fprintf(b, "\nWarning (%s): %s\n", run.System, oneLine(run.Warning))
		}
	}
	b.WriteString("\n")
}

// LatencySweepHeading is the heading of the section of a latency sweep.
const LatencySweepHeading = "## Latency against input rate"

// LatencySweepMarkdown returns the section of a latency sweep.
func (r *Result) LatencySweepMarkdown(command, plot string) string {
	var b strings.Builder
	r.header(&b, LatencySweepHeading, command, plot, r.Latency.Rows)
	r.latencyMarkdown(&b)
	return b.String()
}
