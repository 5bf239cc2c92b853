package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rivulet-io/rivulet/benchmarks/harness"

	"github.com/rivulet-io/rivulet/streams"
)

type benchOptions struct {
	cfg       harness.Config
	systems   []string
	cases     []string
	records   int64
	full      bool
	acks      string
	guarantee string
	threads   int
	parts     int32
	plot      string
	results   string
	noResults bool
	verbose   bool
	cpuProf   string
	memProf   string
	args      []string // the command line after "rivulet bench", for the results file
}

// Sizes of `rivulet bench streams --full`: 10M records, 5M distinct keys.
const (
	fullStreamsRecords  = 10_000_000
	fullStreamsDistinct = 5_000_000
)

// newBenchCmd is `rivulet bench`; args is its command line after "bench", recorded in the
// results file.
func newBenchCmd(args []string) *cobra.Command {
	o := benchOptions{args: args}
	cmd := &cobra.Command{
		Use:   "bench [broker] [wordcount] [latency] [streams]",
		Short: "Measure Rivulet side by side with kfake, goka and hand-written franz-go programs, and report the ratios",
		Long: `bench runs the benchmark harness (package benchmarks/harness). Each suite starts its
own brokers in a temporary directory and measures Rivulet's side and a peer in the same
run, on the same data:

  broker     franz-go producing --records records of --value-size bytes to brokerlite (on
             disk) and to franz-go's in-memory kfake, with acks=1 and acks=-1 idempotent,
             then consuming them back; rounds alternate between the two brokers.
  wordcount  the word count of examples/wordcount against an equivalent goka v1.1.14
             program (split processor, counting processor with a group table), on one
             brokerlite, the same seeded Zipf-skewed text of --words words, the same
             partitions, at-least-once; words/s from each app's start to the last correct
             count read from its output.
  latency    a map-only pipeline fed at --rate records/s for --duration, Rivulet and
             goka: p50, p99 and p999 from produce to output consumed; with --sweep,
             the same at input rates from 1,000 records/s up to saturation.
  streams    the cases of Kafka Streams' SimpleBenchmark (consume, consumeproduce,
             streamprocess, streamprocesswithsink, streamprocesswithstatestore,
             streamprocesswithwindowstore, streamcount, streamcountwindowed,
             streamstreamjoin, streamtablejoin, tabletablejoin) and a many-keys count
             (streamcountdistinct, --distinct-keys), on --records records with 100-byte
             values and keys Zipf-distributed over 10,000 keys: Rivulet's streams DSL,
             a hand-written franz-go program (Go maps: the practical bound) and goka
             where it can do the same work; each run's output is checked against the
             output computed from the input. --cases selects cases, --full runs the
             10M-record size.

With --processing-guarantee exactly_once_v2, wordcount and streams run Rivulet twice,
at-least-once and then exactly_once_v2 (system rivulet-eos), and report the ratio.

With no suite named, all four run. A progress bar on stderr follows each phase. The
table of results and ratios goes to stdout; --results FILE also writes it into that
Markdown file (the "Word count and latency", "Latency against input rate" and "Streams
suite" sections, replaced in place; other sections are kept byte for byte). --plot draws throughput over time, the
streams cases side by side and the latency curve to an SVG file.

The harness and its peers (goka, sarama, kfake) are not part of the rivulet binary:
rivulet bench, run in a clone of the Rivulet repository (or with RIVULET_SOURCE set to
one), builds the main package benchmarks/bench there with the go tool and runs it with
the same arguments. The first build compiles the peers (a minute or more on two cores);
later ones reuse Go's build cache. In the clone, go run ./benchmarks/bench [suites]
[flags] does the same without the rivulet binary.`,
		Example: `  # everything at the default sizes (a few minutes on 2 cores)
  rivulet bench --plot bench.svg

  # the word count at 10M words, 8 partitions
  rivulet bench wordcount --words 10000000 --partitions 8

  # the streams suite, recorded in the repository's results
  rivulet bench streams --results benchmarks/RESULTS.md --plot benchmarks/streams.svg

  # streamcount and the word count at-least-once and exactly-once, side by side
  rivulet bench wordcount streams --cases streamcount --processing-guarantee exactly_once_v2

  # two cases at the full size
  rivulet bench streams --full --cases streamcount,streamcountdistinct

  # latency against input rate, Rivulet and goka
  rivulet bench latency --sweep --plot latency.svg

  # a quick look
  rivulet bench --records 100000 --words 200000 --duration 3s`,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if !slices.Contains(harness.AllSuites, a) {
					return usageErrorf(cmd, "unknown suite %q: use %s", a, strings.Join(harness.AllSuites, ", "))
				}
			}
			o.cfg.Suites = args
			if err := o.finish(cmd); err != nil {
				return err
			}
			return runBench(cmd, o)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&o.records, "records", 0, "broker: records per produce case and broker (default 500000); streams: records of the input (default 1000000)")
	f.IntVar(&o.cfg.Broker.ValueSize, "value-size", 100, "broker: bytes per record value")
	f.Int64Var(&o.cfg.WordCount.Corpus.Words, "words", 3_000_000, "wordcount: words in the input text")
	f.IntVar(&o.cfg.WordCount.Corpus.Vocabulary, "vocabulary", 50_000, "wordcount: distinct words in the text")
	f.Float64Var(&o.cfg.WordCount.Corpus.ZipfS, "zipf", 1.1, "wordcount and streams: Zipf exponent of word and key frequencies (> 1; higher is more skewed)")
	f.Uint64Var(&o.cfg.WordCount.Corpus.Seed, "seed", 1, "wordcount and streams: seed of the input")
	f.DurationVar(&o.cfg.WordCount.CommitInterval, "commit-interval", time.Second, "Rivulet's commit.interval.ms (goka commits every 1s) in wordcount (default 1s) and streams (default 100ms, also the franz-go programs')")
	f.Int64Var(&o.cfg.Streams.DistinctKeys, "distinct-keys", 500_000, "streams: distinct keys of the many-keys count (streamcountdistinct)")
	f.StringSliceVar(&o.cases, "cases", nil, "streams: cases to run (default all: "+strings.Join(harness.AllStreamsCases, ",")+")")
	f.BoolVar(&o.full, "full", false, fmt.Sprintf("streams: the full size, %d records and %d distinct keys (overrides --records and --distinct-keys; about 4 GB of disk)", fullStreamsRecords, fullStreamsDistinct))
	f.BoolVar(&o.cfg.Latency.Sweep, "sweep", false, "latency: measure at input rates from 1,000 records/s up to saturation (the latency-versus-rate curve)")
	f.DurationVar(&o.cfg.WordCount.Timeout, "timeout", 10*time.Minute, "wordcount and streams: give up on a system (a streams case) after this long; a streams run that fails is reported as failed and the suite goes on")
	f.IntVar(&o.cfg.Latency.Rate, "rate", 2000, "latency: input records per second")
	f.DurationVar(&o.cfg.Latency.Duration, "duration", 10*time.Second, "latency: how long the measured input lasts")
	f.Int32Var(&o.parts, "partitions", 4, "partitions of every topic in every suite")
	f.IntVar(&o.threads, "threads", 0, "Rivulet's num.stream.threads (default: the number of CPUs)")
	f.StringVar(&o.guarantee, "processing-guarantee", "at_least_once", "wordcount and streams: at_least_once, or exactly_once_v2 to run Rivulet both ways (at-least-once, then exactly-once) and report the ratio")
	f.StringVar(&o.acks, "acks", "1", "wordcount and latency: acks of every producer of both systems, 1 or all")
	f.StringSliceVar(&o.systems, "systems", nil, "which systems to run: rivulet, goka (wordcount, latency, streams) and franz-go (streams) (default all of a suite's)")
	f.StringVar(&o.plot, "plot", "", "draw the curves and bars to this .svg file")
	f.StringVar(&o.results, "results", "", "also write the figures into this Markdown file (its benchmark sections are replaced, others kept); by default they go to stdout only")
	f.BoolVar(&o.noResults, "no-results", false, "do not write a results file (the default; kept for old scripts)")
	_ = f.MarkDeprecated("no-results", "results are written only with --results FILE")
	f.StringVar(&o.cfg.Dir, "dir", "", "keep the brokers' logs and state here (default: a temporary directory, removed at exit)")
	f.BoolVar(&o.verbose, "verbose", false, "show the brokers' and apps' logs on stderr")
	f.StringVar(&o.cpuProf, "cpuprofile", "", "write a CPU profile of the whole run (brokers and apps share the process) to this file, for go tool pprof")
	f.StringVar(&o.memProf, "memprofile", "", "write the allocations of the whole run (go tool pprof -sample_index=alloc_space) to this file at its end")
	return cmd
}

// finish checks the flags and copies the shared ones into every suite.
func (o *benchOptions) finish(cmd *cobra.Command) error {
	if o.plot != "" && !strings.HasSuffix(strings.ToLower(o.plot), ".svg") {
		return usageErrorf(cmd, "--plot %q: use a .svg file name", o.plot)
	}
	if o.acks == "-1" {
		o.acks = "all"
	}
	if o.acks != "1" && o.acks != "all" {
		return usageErrorf(cmd, "--acks %q: use 1 or all", o.acks)
	}
	if o.guarantee != streams.AtLeastOnce && o.guarantee != streams.ExactlyOnce {
		return usageErrorf(cmd, "--processing-guarantee %q: use %s or %s", o.guarantee, streams.AtLeastOnce, streams.ExactlyOnce)
	}
	o.cfg.WordCount.ProcessingGuarantee, o.cfg.Streams.ProcessingGuarantee = o.guarantee, o.guarantee
	if o.records < 0 || (o.records > 0 && o.records < 4) || o.cfg.Streams.DistinctKeys < 1 {
		return usageErrorf(cmd, "sizes must be positive (--records at least 4, --zipf above 1)")
	}
	o.cfg.Broker.Records, o.cfg.Streams.Records = o.records, o.records
	if o.full {
		o.cfg.Streams.Records, o.cfg.Streams.DistinctKeys = fullStreamsRecords, fullStreamsDistinct
	}
	if o.parts < 1 || o.threads < 0 || o.cfg.Broker.ValueSize < 1 || o.cfg.WordCount.Corpus.Words < 1 ||
		o.cfg.WordCount.Corpus.Vocabulary < 1 || !(o.cfg.WordCount.Corpus.ZipfS > 1) || o.cfg.Latency.Rate < 1 ||
		o.cfg.Latency.Duration <= 0 || o.cfg.WordCount.CommitInterval <= 0 || o.cfg.WordCount.Timeout <= 0 {
		return usageErrorf(cmd, "sizes must be positive (--records at least 4, --zipf above 1)")
	}
	var pairSystems []string // the systems of wordcount and latency
	for _, s := range o.systems {
		switch s {
		case harness.SystemRivulet, harness.SystemGoka:
			pairSystems = append(pairSystems, s)
		case harness.SystemFranz:
		default:
			return usageErrorf(cmd, "--systems: unknown system %q (use %s, %s, %s)", s, harness.SystemRivulet, harness.SystemFranz, harness.SystemGoka)
		}
	}
	if len(o.systems) > 0 && len(pairSystems) == 0 {
		pairSystems = []string{harness.SystemRivulet} // franz-go alone: wordcount and latency run Rivulet only
	}
	for _, c := range o.cases {
		if !slices.Contains(harness.AllStreamsCases, c) {
			return usageErrorf(cmd, "--cases: unknown case %q (use %s)", c, strings.Join(harness.AllStreamsCases, ", "))
		}
	}
	o.cfg.Broker.Partitions, o.cfg.WordCount.Partitions, o.cfg.Latency.Partitions, o.cfg.Streams.Partitions = o.parts, o.parts, o.parts, o.parts
	o.cfg.WordCount.Threads, o.cfg.Latency.Threads, o.cfg.Streams.Threads = o.threads, o.threads, o.threads
	o.cfg.WordCount.Acks, o.cfg.Latency.Acks = o.acks, o.acks
	o.cfg.WordCount.Systems, o.cfg.Latency.Systems, o.cfg.Streams.Systems = pairSystems, pairSystems, o.systems
	o.cfg.Streams.Cases = o.cases
	o.cfg.Streams.ZipfS, o.cfg.Streams.Seed = o.cfg.WordCount.Corpus.ZipfS, o.cfg.WordCount.Corpus.Seed
	o.cfg.Streams.Timeout = o.cfg.WordCount.Timeout
	if cmd.Flags().Changed("commit-interval") {
		o.cfg.Streams.CommitInterval = o.cfg.WordCount.CommitInterval
	}
	if o.verbose {
		o.cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return nil
}

func runBench(cmd *cobra.Command, o benchOptions) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	results := o.results
	if results != "" {
		if _, err := os.Stat(results); err != nil {
			return usageErrorf(cmd, "--results: %v (the file must exist: its other sections are kept)", err)
		}
	}
	ctx, stop := signalContext()
	defer stop()
	progress := harness.NewProgress(stderr, harness.IsTerminal(stderr))
	m := harness.DetectMachine()
	fmt.Fprintf(stderr, "rivulet bench on %d CPU(s), %s\n", m.NumCPU, m.CPUModel)
	if o.cpuProf != "" {
		f, err := os.Create(o.cpuProf)
		if err != nil {
			return usageErrorf(cmd, "--cpuprofile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return failuref("bench: %v", err)
		}
		defer pprof.StopCPUProfile()
	}
	res, err := harness.Run(ctx, o.cfg, progress)
	if o.memProf != "" {
		if perr := writeAllocsProfile(o.memProf); perr != nil {
			return usageErrorf(cmd, "--memprofile: %v", perr)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return failuref("bench: interrupted")
		}
		return failuref("bench: %v", err)
	}
	fmt.Fprintln(stdout)
	harness.PrintTable(stdout, res.Rows())
	printBenchDetails(stdout, res)
	if res.Streams != nil {
		fmt.Fprintln(stdout, "\nstreams cases (records/s of input, MB/s of input keys and values):")
		harness.PrintStreams(stdout, res.Streams)
	}
	if results != "" {
		command := strings.Join(append([]string{"rivulet", "bench"}, o.args...), " ")
		plot := ""
		if o.plot != "" {
			// A link relative to the results file, when the plot sits beside it.
			if rel, err := filepath.Rel(filepath.Dir(results), o.plot); err == nil && !strings.HasPrefix(rel, "..") {
				plot = filepath.ToSlash(rel)
			} else {
				plot = o.plot
			}
		}
		for _, sec := range res.Sections(command, plot) {
			if err := harness.UpdateResults(results, sec.Heading, sec.Body); err != nil {
				return failuref("bench: %v", err)
			}
			fmt.Fprintf(stdout, "\nrecorded in %s (section %q)\n", results, strings.TrimPrefix(sec.Heading, "## "))
		}
	}
	if o.plot != "" {
		if err := harness.Plot(o.plot, res.Series(), res.BarCharts()...); err != nil {
			return failuref("bench: %v", err)
		}
		fmt.Fprintf(stdout, "plotted to %s\n", o.plot)
	}
	if res.Streams != nil {
		if failed := res.Streams.FailedRuns(); len(failed) > 0 {
			return failuref("bench: %d streams run(s) failed (the table shows them; the rest of the suite ran)", len(failed))
		}
	}
	return nil
}

func printBenchDetails(w io.Writer, res *harness.Result) {
	if res.WordCount != nil && len(res.WordCount.Runs) > 0 {
		fmt.Fprintln(w, "\nword count runs:")
		for _, r := range res.WordCount.Runs {
			fmt.Fprintf(w, "  %-8s %s words in %s = %s words/s (first count after %s, %d count updates)\n", r.System,
				harness.Human(float64(r.Words)), r.Elapsed.Round(10*time.Millisecond), harness.Human(r.WordsPerSecond()),
				r.FirstOutput.Round(10*time.Millisecond), r.OutputRecords)
			if r.Warning != "" {
				fmt.Fprintf(w, "           warning: %s\n", strings.ReplaceAll(strings.TrimSpace(r.Warning), "\n", " "))
			}
		}
	}
	if res.Latency != nil && len(res.Latency.Runs) > 0 {
		fmt.Fprintln(w, "\nlatency runs:")
		for _, r := range res.Latency.Runs {
			fmt.Fprintf(w, "  %-8s %d records: p50 %s, p99 %s, p999 %s, max %s\n", r.System, r.Records,
				r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.P999.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond))
			for _, p := range r.Curve.Points {
				sat := ""
				if p.Saturated {
					sat = " (saturated)"
				}
				fmt.Fprintf(w, "           at %s records/s (reached %s): p50 %s, p99 %s, p999 %s%s\n", harness.Human(float64(p.Rate)), harness.Human(p.Achieved),
					p.P50.Round(10*time.Microsecond), p.P99.Round(10*time.Microsecond), p.P999.Round(10*time.Microsecond), sat)
			}
			if r.Warning != "" {
				fmt.Fprintf(w, "           warning: %s\n", strings.ReplaceAll(strings.TrimSpace(r.Warning), "\n", " "))
			}
		}
	}
}

// writeAllocsProfile writes the allocations made since the start of the
// process to path.
func writeAllocsProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
