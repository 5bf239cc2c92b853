package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rivulet-io/rivulet/benchmarks/harness"
)

func init() { rootCmd.AddCommand(newBenchCmd()) }

// defaultResultsFile is where `rivulet bench` records its figures when run
// from the repository root.
const defaultResultsFile = "benchmarks/RESULTS.md"

type benchOptions struct {
	cfg       harness.Config
	systems   []string
	acks      string
	threads   int
	parts     int32
	plot      string
	results   string
	noResults bool
	verbose   bool
	cpuProf   string
}

func newBenchCmd() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench [broker] [wordcount] [latency]",
		Short: "Measure Rivulet side by side with kfake and goka, and record the ratios",
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
             goka: p50, p99 and p999 from produce to output consumed.

With no suite named, all three run. A progress bar on stderr follows each phase. The
table of results and ratios goes to stdout, and to the "Word count and latency (issue 9)"
section of benchmarks/RESULTS.md (when run from the repository root; see --results).
--plot draws throughput over time per system.`,
		Example: `  # everything at the default sizes (a few minutes on 2 cores)
  rivulet bench --plot bench.svg

  # the issue's word count: 10M words, 8 partitions
  rivulet bench wordcount --words 10000000 --partitions 8

  # a quick look, without touching RESULTS.md
  rivulet bench --records 100000 --words 200000 --duration 3s --no-results`,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if a != harness.SuiteBroker && a != harness.SuiteWordCount && a != harness.SuiteLatency {
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
	f.Int64Var(&o.cfg.Broker.Records, "records", 500_000, "broker: records per produce case and broker")
	f.IntVar(&o.cfg.Broker.ValueSize, "value-size", 100, "broker: bytes per record value")
	f.Int64Var(&o.cfg.WordCount.Corpus.Words, "words", 3_000_000, "wordcount: words in the input text")
	f.IntVar(&o.cfg.WordCount.Corpus.Vocabulary, "vocabulary", 50_000, "wordcount: distinct words in the text")
	f.Float64Var(&o.cfg.WordCount.Corpus.ZipfS, "zipf", 1.1, "wordcount: Zipf exponent of word frequencies (> 1; higher is more skewed)")
	f.Uint64Var(&o.cfg.WordCount.Corpus.Seed, "seed", 1, "wordcount: seed of the text")
	f.DurationVar(&o.cfg.WordCount.CommitInterval, "commit-interval", time.Second, "wordcount: Rivulet's commit.interval.ms (goka commits every 1s)")
	f.DurationVar(&o.cfg.WordCount.Timeout, "timeout", 10*time.Minute, "wordcount: give up on a system after this long")
	f.IntVar(&o.cfg.Latency.Rate, "rate", 2000, "latency: input records per second")
	f.DurationVar(&o.cfg.Latency.Duration, "duration", 10*time.Second, "latency: how long the measured input lasts")
	f.Int32Var(&o.parts, "partitions", 4, "partitions of every topic in every suite")
	f.IntVar(&o.threads, "threads", 0, "Rivulet's num.stream.threads (default: the number of CPUs)")
	f.StringVar(&o.acks, "acks", "1", "wordcount and latency: acks of every producer of both systems, 1 or all")
	f.StringSliceVar(&o.systems, "systems", []string{harness.SystemRivulet, harness.SystemGoka}, "wordcount and latency: which systems to run")
	f.StringVar(&o.plot, "plot", "", "draw throughput over time to this .svg file")
	f.StringVar(&o.results, "results", defaultResultsFile, "the RESULTS.md whose issue-9 section is rewritten")
	f.BoolVar(&o.noResults, "no-results", false, "do not write the results file")
	f.StringVar(&o.cfg.Dir, "dir", "", "keep the brokers' logs and state here (default: a temporary directory, removed at exit)")
	f.BoolVar(&o.verbose, "verbose", false, "show the brokers' and apps' logs on stderr")
	f.StringVar(&o.cpuProf, "cpuprofile", "", "write a CPU profile of the whole run (brokers and apps share the process) to this file, for go tool pprof")
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
	if o.parts < 1 || o.threads < 0 || o.cfg.Broker.Records < 4 || o.cfg.Broker.ValueSize < 1 || o.cfg.WordCount.Corpus.Words < 1 ||
		o.cfg.WordCount.Corpus.Vocabulary < 1 || !(o.cfg.WordCount.Corpus.ZipfS > 1) || o.cfg.Latency.Rate < 1 ||
		o.cfg.Latency.Duration <= 0 || o.cfg.WordCount.CommitInterval <= 0 || o.cfg.WordCount.Timeout <= 0 {
		return usageErrorf(cmd, "sizes must be positive (--records at least 4, --zipf above 1)")
	}
	for _, s := range o.systems {
		if s != harness.SystemRivulet && s != harness.SystemGoka {
			return usageErrorf(cmd, "--systems: unknown system %q (use %s,%s)", s, harness.SystemRivulet, harness.SystemGoka)
		}
	}
	o.cfg.Broker.Partitions, o.cfg.WordCount.Partitions, o.cfg.Latency.Partitions = o.parts, o.parts, o.parts
	o.cfg.WordCount.Threads, o.cfg.Latency.Threads = o.threads, o.threads
	o.cfg.WordCount.Acks, o.cfg.Latency.Acks = o.acks, o.acks
	o.cfg.WordCount.Systems, o.cfg.Latency.Systems = o.systems, o.systems
	if o.verbose {
		o.cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return nil
}

func runBench(cmd *cobra.Command, o benchOptions) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	results := o.results
	if o.noResults {
		results = ""
	} else if _, err := os.Stat(results); err != nil {
		if cmd.Flags().Changed("results") {
			return usageErrorf(cmd, "--results: %v", err)
		}
		fmt.Fprintf(stderr, "rivulet: not recording results: %s not found (run from the repository root, or pass --results FILE)\n", results)
		results = ""
	}
	ctx, stop := signalContext()
	defer stop()
	progress := harness.NewProgress(stderr, isTerminal(stderr))
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
	if err != nil {
		if ctx.Err() != nil {
			return failuref("bench: interrupted")
		}
		return failuref("bench: %v", err)
	}
	fmt.Fprintln(stdout)
	harness.PrintTable(stdout, res.Rows())
	printBenchDetails(stdout, res)
	if results != "" {
		command := "rivulet " + strings.Join(os.Args[1:], " ")
		plot := ""
		if o.plot != "" {
			// A link relative to the results file, when the plot sits beside it.
			if rel, err := filepath.Rel(filepath.Dir(results), o.plot); err == nil && !strings.HasPrefix(rel, "..") {
				plot = filepath.ToSlash(rel)
			} else {
				plot = o.plot
			}
		}
		if err := harness.UpdateResults(results, harness.ResultsHeading, res.Markdown(command, plot)); err != nil {
			return failuref("bench: %v", err)
		}
		fmt.Fprintf(stdout, "\nrecorded in %s (section %q)\n", results, strings.TrimPrefix(harness.ResultsHeading, "## "))
	}
	if o.plot != "" {
		if err := harness.Plot(o.plot, res.Series()); err != nil {
			return failuref("bench: %v", err)
		}
		fmt.Fprintf(stdout, "plotted throughput over time to %s\n", o.plot)
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
			if r.Warning != "" {
				fmt.Fprintf(w, "           warning: %s\n", strings.ReplaceAll(strings.TrimSpace(r.Warning), "\n", " "))
			}
		}
	}
}
