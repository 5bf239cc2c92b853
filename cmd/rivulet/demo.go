package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/brokerlite"
	"github.com/rivulet-io/rivulet/examples/wordcount/wordcount"
	"github.com/rivulet-io/rivulet/internal/term"
	"github.com/rivulet-io/rivulet/streams"
)

func init() { rootCmd.AddCommand(newDemoCmd()) }

func newDemoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a demo stream app on an embedded broker",
		Long: `demo runs a stream app end to end on an embedded broker that lives in a temporary
directory: nothing to install or start first.`,
		Example: `  rivulet demo wordcount`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErrorf(cmd, "name a demo: wordcount")
		},
	}
	cmd.AddCommand(newDemoWordCountCmd())
	return cmd
}

// demoOptions are the flags of `rivulet demo wordcount`.
type demoOptions struct {
	dataDir        string
	input          string
	top            int
	threads        int
	partitions     int
	rate           float64
	commitInterval time.Duration
	timeout        time.Duration
	verbose        bool
	guarantee      string
	exactlyOnce    bool
}

// builtinRate paces the built-in text so that the live table has time to
// change; --input is fed as fast as the broker takes it unless --rate says
// otherwise.
const builtinRate = 25

func newDemoWordCountCmd() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "wordcount",
		Short: "Count words on an embedded broker and show the top words as they change",
		Long: `wordcount runs Kafka Streams' WordCountDemo on Rivulet, on an embedded broker:

  1. starts brokerlite in a temporary directory (or --data-dir, kept afterwards),
  2. creates the topics wordcount-input and wordcount-output,
  3. feeds a built-in text (the opening of A Tale of Two Cities), or --input FILE,
     or standard input with --input -, one record per line,
  4. runs the word count (lower-case, split on non-letters, group by word, count),
  5. shows the top words and their counts as they change (a live table on a terminal,
     a line per second otherwise), until every word fed has been counted,
  6. prints a summary: records in and out, throughput, the app's state and tasks, and
     the final top words.

Like the word-count program, the demo sets Go's soft memory limit from the app's state
memory budget and record cache (streams.RecommendedMemoryLimit), plus 256 MiB for the
embedded broker and the demo's table of counts; GOMEMLIMIT overrides it.

The program is examples/wordcount; run it against any broker with
'go run ./examples/wordcount --bootstrap-server host:port'.`,
		Example: `  rivulet demo wordcount
  rivulet demo wordcount --input README.md --top 20
  cat *.txt | rivulet demo wordcount --input - --threads 2 --partitions 4
  rivulet demo wordcount --data-dir /tmp/wc    # keep the broker's log and the state
  rivulet demo wordcount --exactly-once        # processing.guarantee=exactly_once_v2`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.top < 0 || o.threads < 1 || o.partitions < 1 || o.commitInterval <= 0 || o.timeout <= 0 {
				return usageErrorf(cmd, "--top must be 0 or more; --threads, --partitions, --commit-interval and --timeout must be positive")
			}
			if o.exactlyOnce {
				if cmd.Flags().Changed("processing-guarantee") && o.guarantee != streams.ExactlyOnce {
					return usageErrorf(cmd, "--exactly-once contradicts --processing-guarantee %s", o.guarantee)
				}
				o.guarantee = streams.ExactlyOnce
			}
			if o.guarantee != streams.AtLeastOnce && o.guarantee != streams.ExactlyOnce {
				return usageErrorf(cmd, "--processing-guarantee %q: use %s or %s", o.guarantee, streams.AtLeastOnce, streams.ExactlyOnce)
			}
			if cmd.Flags().Changed("rate") && o.rate < 0 {
				return usageErrorf(cmd, "--rate must be 0 (no limit) or more")
			}
			if !cmd.Flags().Changed("rate") {
				o.rate = 0
				if o.input == "" {
					o.rate = builtinRate
				}
			}
			ctx, stop := signalContext()
			defer stop()
			return runDemoWordCount(ctx, o, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", "", "keep the broker's log and the app's state here (default: a temporary directory, removed at exit)")
	f.StringVar(&o.input, "input", "", "a text file to count, or - for standard input (default: the built-in text)")
	f.IntVar(&o.top, "top", 10, "how many words the table shows; 0 shows every word")
	f.IntVar(&o.threads, "threads", 1, "num.stream.threads of the app")
	f.IntVar(&o.partitions, "partitions", 2, "partitions of the input and output topics")
	f.Float64Var(&o.rate, "rate", builtinRate, "input lines per second, 0 for no limit (default: 25 for the built-in text, no limit for --input)")
	f.DurationVar(&o.commitInterval, "commit-interval", 200*time.Millisecond, "commit.interval.ms of the app: how often counts are published")
	f.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up if the counts are not complete by then")
	f.BoolVar(&o.verbose, "verbose", false, "show the broker's and the app's logs on stderr")
	f.StringVar(&o.guarantee, "processing-guarantee", streams.AtLeastOnce, "processing.guarantee of the app: at_least_once, or exactly_once_v2 (Kafka transactions)")
	f.BoolVar(&o.exactlyOnce, "exactly-once", false, "shorthand for --processing-guarantee exactly_once_v2")
	return cmd
}

// demoInput opens the text to feed and names it.
func demoInput(o demoOptions, stdin io.Reader) (io.ReadCloser, string, error) {
	switch o.input {
	case "":
		return io.NopCloser(strings.NewReader(demoText)), "the built-in text (A Tale of Two Cities, opening)", nil
	case "-":
		return io.NopCloser(stdin), "standard input", nil
	default:
		f, err := os.Open(o.input)
		if err != nil {
			return nil, "", &exitError{Code: exitUsage, Err: fmt.Errorf("demo wordcount: --input: %w", err)}
		}
		return f, o.input, nil
	}
}

func runDemoWordCount(ctx context.Context, o demoOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	in, inputName, err := demoInput(o, stdin)
	if err != nil {
		return err
	}
	defer in.Close()

	logger := slog.New(slog.DiscardHandler)
	if o.verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	defer demoMemoryLimit(stdout)()
	dir := o.dataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "rivulet-demo-"); err != nil {
			return failuref("demo wordcount: %v", err)
		}
		defer os.RemoveAll(dir)
	}
	started := time.Now()
	b, err := brokerlite.Start(ctx, brokerlite.Config{Logger: logger, Properties: map[string]string{
		"listeners":                        "PLAINTEXT://127.0.0.1:0",
		"log.dirs":                         filepath.Join(dir, "broker"),
		"offsets.topic.num.partitions":     "1",
		"group.initial.rebalance.delay.ms": "0", // one app joins once; no need to wait for others
	}})
	if err != nil {
		return failuref("demo wordcount: starting the embedded broker: %v", err)
	}
	defer b.Close(context.Background())
	fmt.Fprintf(stdout, "embedded broker on %s, data in %s\n", b.Addr(), dir)

	if err := demoTopics(ctx, b.Addr(), int32(o.partitions), stdout); err != nil {
		return err
	}
	keep := o.top
	if keep > 0 {
		keep = max(keep, 20) // the live table on a terminal shows 20
	}
	w, err := newCountWatcher(ctx, b.Addr(), wordcount.DefaultOutputTopic, keep)
	if err != nil {
		return err
	}
	defer w.close()

	topo, err := wordcount.Topology(wordcount.Options{})
	if err != nil {
		return failuref("demo wordcount: %v", err)
	}
	app, err := streams.New(topo, streams.Properties{
		streams.PropApplicationID:       "wordcount-demo",
		streams.PropBootstrapServers:    b.Addr(),
		streams.PropNumStreamThreads:    strconv.Itoa(o.threads),
		streams.PropCommitIntervalMs:    strconv.FormatInt(o.commitInterval.Milliseconds(), 10),
		streams.PropProcessingGuarantee: o.guarantee,
		streams.PropStateDir:            filepath.Join(dir, "state"),
	}, streams.WithLogger(logger))
	if err != nil {
		return failuref("demo wordcount: %v", err)
	}
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = app.Start(sctx)
	cancel()
	if err != nil {
		return failuref("demo wordcount: starting the app: %v", err)
	}
	closeApp := func() error {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return app.Close(cctx)
	}
	fmt.Fprintf(stdout, "word count app started (application.id wordcount-demo, %d thread(s), %d partitions)\n", o.threads, o.partitions)
	rateText := "as fast as the broker takes it"
	if o.rate > 0 {
		rateText = fmt.Sprintf("at %g lines/s", o.rate)
	}
	fmt.Fprintf(stdout, "feeding %s to %s, %s\n", inputName, wordcount.DefaultInputTopic, rateText)

	f := newDemoFeeder(b.Addr(), o.rate)
	feedDone := make(chan error, 1)
	go func() { feedDone <- f.feed(ctx, in) }()

	view := newLiveView(stdout, term.IsTerminal(stdout), o.top)
	res, runErr := demoWait(ctx, o, app, f, feedDone, w, view)
	elapsed := time.Since(f.startedAt())
	view.finish()
	state, tasks := app.State(), app.Tasks() // before Close, which ends them
	stctx, stcancel := context.WithTimeout(context.Background(), 5*time.Second)
	status, statusErr := app.Status(stctx)
	stcancel()
	if statusErr != nil {
		logger.Warn("demo wordcount: app status", "err", statusErr)
	}
	closeErr := closeApp()
	printDemoSummary(stdout, o, f, w, state, tasks, status, elapsed, time.Since(started))
	if runErr != nil {
		return runErr
	}
	if res == demoInterrupted {
		fmt.Fprintln(stdout, "interrupted: the counts above are those published so far")
	}
	if closeErr != nil {
		return failuref("demo wordcount: closing the app: %v", closeErr)
	}
	return nil
}

// demoBrokerMemory is what the demo adds to the application's recommended
// memory limit for the rest of its process: the embedded broker (whose
// answers in flight are bounded at 128 MiB, docs/brokerlite.md) and the
// demo's reader of the counts, whose table holds every distinct word.
const demoBrokerMemory = 256 << 20

// demoMemoryLimit sets Go's soft memory limit for the demo's process as the
// word-count program does (streams.RecommendedMemoryLimit, the app's state
// memory budget and record cache), plus demoBrokerMemory, unless GOMEMLIMIT
// is set; it returns the function that puts the previous limit back.
// Without it Go lets the heap grow to about twice its live size: 4M
// distinct words took the demo to about 1.4 GB of RSS.
func demoMemoryLimit(stdout io.Writer) (restore func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	limit, err := streams.RecommendedMemoryLimit(streams.Properties{
		streams.PropApplicationID: "wordcount-demo", streams.PropBootstrapServers: "127.0.0.1:0",
	})
	if err != nil {
		return func() {}
	}
	limit += demoBrokerMemory
	prev := debug.SetMemoryLimit(limit)
	fmt.Fprintf(stdout, "Go soft memory limit %d MiB (the app's state memory budget and record cache, and the broker; GOMEMLIMIT overrides)\n", limit>>20)
	return func() { debug.SetMemoryLimit(prev) }
}

type demoEnd int

const (
	demoComplete demoEnd = iota
	demoInterrupted
)

// demoWait redraws the view until every word fed has been counted, the user
// interrupts, the app fails or the timeout passes.
func demoWait(ctx context.Context, o demoOptions, app *streams.App, f *demoFeeder, feedDone chan error, w *countWatcher, view *liveView) (demoEnd, error) {
	refresh := time.Second
	if view.tty {
		refresh = 250 * time.Millisecond
	}
	tick := time.NewTicker(refresh)
	defer tick.Stop()
	deadline := time.NewTimer(o.timeout)
	defer deadline.Stop()
	fed := false
	for {
		if fed && w.counted() >= w.baseline+f.words.Load() {
			view.draw(w, f, true)
			return demoComplete, nil
		}
		select {
		case err := <-feedDone:
			if err != nil && ctx.Err() == nil {
				return 0, failuref("demo wordcount: feeding the input: %v", err)
			}
			fed = true
			feedDone = nil
			continue
		case <-ctx.Done():
			return demoInterrupted, nil
		case <-app.Done():
			return 0, failuref("demo wordcount: the app stopped (%s): %v", app.State(), app.Err())
		case <-deadline.C:
			return 0, failuref("demo wordcount: not every word was counted within --timeout %v (%d of %d counted)",
				o.timeout, w.counted()-w.baseline, f.words.Load())
		case <-w.changed():
		case <-tick.C:
			view.draw(w, f, false)
		}
	}
}

// demoTopics creates the demo's topics unless they exist (a reused
// --data-dir).
func demoTopics(ctx context.Context, addr string, partitions int32, stdout io.Writer) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return failuref("demo wordcount: %v", err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, 1, nil, wordcount.DefaultInputTopic, wordcount.DefaultOutputTopic)
	if err != nil {
		return failuref("demo wordcount: creating topics: %v", err)
	}
	for _, r := range resp.Sorted() {
		switch {
		case r.Err == nil:
			fmt.Fprintf(stdout, "created topic %s (%d partitions)\n", r.Topic, partitions)
		case errors.Is(r.Err, kerr.TopicAlreadyExists):
			fmt.Fprintf(stdout, "topic %s exists already (from an earlier run in --data-dir): its counts carry on\n", r.Topic)
		default:
			return failuref("demo wordcount: creating topic %s: %v", r.Topic, r.Err)
		}
	}
	return nil
}

// demoFeeder produces the input, one record per line, with null keys.
type demoFeeder struct {
	addr  string
	rate  float64
	lines atomic.Int64
	words atomic.Int64
	start atomic.Int64 // unix nanos of the first record
	end   atomic.Int64 // unix nanos when every record was acknowledged
}

func newDemoFeeder(addr string, rate float64) *demoFeeder { return &demoFeeder{addr: addr, rate: rate} }

func (f *demoFeeder) startedAt() time.Time {
	if n := f.start.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Now()
}

func (f *demoFeeder) feed(ctx context.Context, in io.Reader) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.addr), kgo.DefaultProduceTopic(wordcount.DefaultInputTopic))
	if err != nil {
		return err
	}
	defer cl.Close()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	f.start.Store(time.Now().UnixNano())
	var (
		errMu    sync.Mutex
		firstErr error
		n        int64
	)
	for sc.Scan() {
		if f.rate > 0 {
			due := f.startedAt().Add(time.Duration(float64(n) / f.rate * float64(time.Second)))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Until(due)): // pacing the input at --rate
			}
		}
		line := sc.Text()
		words := int64(len(wordcount.Words(line)))
		n++
		cl.Produce(ctx, &kgo.Record{Value: []byte(line)}, func(_ *kgo.Record, err error) {
			if err != nil {
				errMu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				errMu.Unlock()
				return
			}
			f.lines.Add(1)
			f.words.Add(words)
		})
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	f.end.Store(time.Now().UnixNano())
	errMu.Lock()
	defer errMu.Unlock()
	return firstErr
}

// countWatcher follows the output topic: the last count of every word.
//
// The counts are kept by a 128-bit hash of the word (a table with no
// pointers, which the garbage collector does not scan, and no string per
// word); the words themselves only for the top of the table (keep words,
// or every word when keep is 0, as --top 0 asks). Millions of distinct
// words thus cost the demo about 40 bytes each (a string per word and its
// map slot took about 60), and nothing the collector has to scan. Two words
// whose 128-bit hashes collide would share a count: about one chance in
// 10^25 at 10M words.
type countWatcher struct {
	cl       *kgo.Client
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	baseline int64 // counted before this run fed anything (a reused --data-dir)
	seeds    [2]maphash.Seed
	keep     int // words kept for the top; 0: all

	mu      sync.Mutex
	counts  map[[2]uint64]int64
	top     map[string]int64 // words that may be in the top keep
	floor   int64            // with keep > 0: a count below it cannot reach the top
	sum     int64
	records int64
	notify  chan struct{}
}

// newCountTable returns a watcher's table of counts, not yet following a
// topic: keep is as countWatcher.keep.
func newCountTable(keep int) *countWatcher {
	return &countWatcher{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, keep: keep,
		counts: map[[2]uint64]int64{}, top: map[string]int64{}, notify: make(chan struct{}, 1)}
}

// newCountWatcher reads topic up to its current end (counts left by an
// earlier run in --data-dir form the baseline), then follows it. It reads
// committed records only (under exactly_once_v2 the counts of an aborted
// transaction never count), and keeps transaction markers to know where
// the end is.
func newCountWatcher(ctx context.Context, addr, topic string, keep int) (*countWatcher, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		return nil, failuref("demo wordcount: output consumer: %v", err)
	}
	w := newCountTable(keep)
	w.cl = cl
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	ends, err2 := adm.ListCommittedOffsets(ctx, topic)
	if err == nil {
		err = errors.Join(err2, ends.Error())
	}
	if err != nil {
		cl.Close()
		return nil, failuref("demo wordcount: reading %s: %v", topic, err)
	}
	// Read until every partition's position reaches its end (offsets, not
	// record counts: aborted records are skipped, markers are not counted).
	behind := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if s, ok := starts.Lookup(o.Topic, o.Partition); ok && o.Offset > s.Offset {
			behind[o.Partition] = o.Offset
		}
	})
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for len(behind) > 0 {
		fs := cl.PollFetches(rctx)
		if rctx.Err() != nil {
			cl.Close()
			return nil, failuref("demo wordcount: reading the counts already in %s: %v", topic, rctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := behind[r.Partition]; ok && r.Offset+1 >= end {
				delete(behind, r.Partition)
			}
			w.apply(r)
		})
	}
	w.baseline = w.sum
	wctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			fs := cl.PollFetches(wctx)
			if wctx.Err() != nil {
				return
			}
			w.mu.Lock()
			fs.EachRecord(w.apply)
			w.mu.Unlock()
			select {
			case w.notify <- struct{}{}:
			default:
			}
		}
	}()
	return w, nil
}

// apply takes one count; w.mu is held (or the watcher is not shared yet).
func (w *countWatcher) apply(r *kgo.Record) {
	if r.Attrs.IsControl() {
		return // a transaction marker
	}
	w.records++
	if len(r.Value) != 8 {
		return // not a count; the app never writes one
	}
	n := int64(binary.BigEndian.Uint64(r.Value))
	h := [2]uint64{maphash.Bytes(w.seeds[0], r.Key), maphash.Bytes(w.seeds[1], r.Key)}
	w.sum += n - w.counts[h]
	w.counts[h] = n
	w.noteTop(r.Key, n)
}

// noteTop keeps word among the candidates for the top when it may belong
// there. Counts only grow, so a word refused (its count below the floor)
// has at least keep words with higher counts: it cannot be in the top keep
// until a later count of it, which comes here again.
func (w *countWatcher) noteTop(word []byte, n int64) {
	if _, ok := w.top[string(word)]; ok || w.keep == 0 || n >= w.floor {
		w.top[string(word)] = n
	}
	if w.keep == 0 || len(w.top) <= 2*w.keep {
		return
	}
	all := make([]wordCount, 0, len(w.top))
	for k, v := range w.top {
		all = append(all, wordCount{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return ranksBefore(all[i], all[j]) })
	for _, wc := range all[w.keep:] {
		delete(w.top, wc.word)
	}
	w.floor = all[w.keep-1].count
}

func (w *countWatcher) changed() <-chan struct{} { return w.notify }

func (w *countWatcher) counted() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sum
}

type wordCount struct {
	word  string
	count int64
}

// snapshot returns the top n words (all if n is 0), by count then word, and
// the number of distinct words and count updates read. n is at most the
// watcher's keep (when keep is not 0). For n > 0 it keeps n candidates while
// it walks the words, rather than sorting them all at every redraw.
func (w *countWatcher) snapshot(n int) (top []wordCount, distinct int, records int64) {
	w.mu.Lock()
	distinct, records = len(w.counts), w.records
	if n <= 0 || n >= len(w.top) {
		top = make([]wordCount, 0, len(w.top))
		for k, v := range w.top {
			top = append(top, wordCount{k, v})
		}
		w.mu.Unlock() // the sort of a copy need not hold up the reader
		sort.Slice(top, func(i, j int) bool { return ranksBefore(top[i], top[j]) })
		return top, distinct, records
	}
	defer w.mu.Unlock()
	top = make([]wordCount, 0, n+1)
	for k, v := range w.top {
		wc := wordCount{k, v}
		if len(top) == n && !ranksBefore(wc, top[n-1]) {
			continue
		}
		i := sort.Search(len(top), func(i int) bool { return ranksBefore(wc, top[i]) })
		top = slices.Insert(top, i, wc)
		if len(top) > n {
			top = top[:n]
		}
	}
	return top, distinct, records
}

// ranksBefore orders words by count, highest first, then by word.
func ranksBefore(a, b wordCount) bool {
	if a.count != b.count {
		return a.count > b.count
	}
	return a.word < b.word
}

func (w *countWatcher) close() {
	if w.cancel != nil {
		w.cancel()
	}
	w.wg.Wait()
	w.cl.Close()
}

// liveView draws the top words: redrawn in place on a terminal, a line per
// refresh otherwise.
type liveView struct {
	out   io.Writer
	tty   bool
	top   int
	drawn int // lines drawn last time (terminal)
}

func newLiveView(out io.Writer, tty bool, top int) *liveView {
	return &liveView{out: out, tty: tty, top: top}
}

func (v *liveView) draw(w *countWatcher, f *demoFeeder, final bool) {
	n := v.top
	switch {
	case v.tty && (n == 0 || n > 20):
		n = 20 // the live table stays small; the summary lists them all
	case !v.tty && (n == 0 || n > 5):
		n = 5 // the progress line shows five
	}
	top, distinct, _ := w.snapshot(n)
	counted := w.counted() - w.baseline
	if !v.tty {
		if final {
			return // the summary follows
		}
		var b strings.Builder
		fmt.Fprintf(&b, "counted %d of %d words fed (%d lines), %d distinct; top:", counted, f.words.Load(), f.lines.Load(), distinct)
		for _, wc := range top {
			fmt.Fprintf(&b, " %s=%d", wc.word, wc.count)
		}
		fmt.Fprintln(v.out, b.String())
		return
	}
	var table strings.Builder
	fmt.Fprintf(&table, "counted %d of %d words fed (%d lines), %d distinct\n", counted, f.words.Load(), f.lines.Load(), distinct)
	writeTop(&table, top)
	if v.drawn > 0 {
		fmt.Fprintf(v.out, "\033[%dF\033[J", v.drawn) // back to the table's first line, clear below
	}
	io.WriteString(v.out, table.String())
	v.drawn = strings.Count(table.String(), "\n")
}

func (v *liveView) finish() {
	if v.tty && v.drawn > 0 {
		fmt.Fprintln(v.out)
	}
}

func writeTop(w io.Writer, top []wordCount) {
	width := 4
	for _, wc := range top {
		width = max(width, len(wc.word))
	}
	fmt.Fprintf(w, "  %4s  %-*s  %8s\n", "rank", width, "word", "count")
	for i, wc := range top {
		fmt.Fprintf(w, "  %4d  %-*s  %8d\n", i+1, width, wc.word, wc.count)
	}
}

func printDemoSummary(out io.Writer, o demoOptions, f *demoFeeder, w *countWatcher, state streams.State, tasks []streams.TaskInfo, status streams.Status, elapsed, total time.Duration) {
	top, distinct, records := w.snapshot(o.top)
	counted := w.counted() - w.baseline
	fmt.Fprintf(out, "\nsummary\n")
	fmt.Fprintf(out, "  records in:   %d lines, %d words\n", f.lines.Load(), f.words.Load())
	fmt.Fprintf(out, "  records out:  %d count updates, %d distinct words, %d words counted\n", records, distinct, counted)
	rate := float64(counted) / elapsed.Seconds()
	note := ""
	if o.rate > 0 {
		note = fmt.Sprintf(" (input paced at %g lines/s; --rate 0 feeds at full speed)", o.rate)
	}
	fmt.Fprintf(out, "  throughput:   %.0f words/s from the first line fed to the last count%s\n", rate, note)
	fmt.Fprintf(out, "  elapsed:      %s (%s with start-up and shutdown)\n", elapsed.Round(time.Millisecond), total.Round(time.Millisecond))
	fmt.Fprintf(out, "  app:          %s, %d task(s)\n", state, len(tasks))
	// Lags from App.Status: input lag = end offset - next offset
	// to process; changelog lag = what a restore still has to read.
	lags := map[streams.TaskID]streams.TaskStatus{}
	var standbys []streams.TaskStatus
	for _, in := range status.Instances {
		if !in.Local {
			continue
		}
		for _, ts := range in.Active {
			lags[ts.ID] = ts
		}
		standbys = in.Standby
	}
	lagText := func(n int64) string {
		if n < 0 {
			return "?"
		}
		return strconv.FormatInt(n, 10)
	}
	for _, t := range tasks {
		parts := make([]string, len(t.Partitions))
		for i, p := range t.Partitions {
			parts[i] = fmt.Sprintf("%s-%d", p.Topic, p.Partition)
		}
		lag := ""
		if ts, ok := lags[t.ID]; ok {
			lag = fmt.Sprintf(" (input lag %s, changelog lag %s)", lagText(ts.InputLag), lagText(ts.ChangelogLag))
		}
		fmt.Fprintf(out, "    task %s on %s, %s: %s%s\n", t.ID, t.Thread, t.State, strings.Join(parts, ", "), lag)
	}
	for _, ts := range standbys {
		fmt.Fprintf(out, "    standby %s on %s (changelog lag %s)\n", ts.ID, strings.Join(ts.Threads, ", "), lagText(ts.ChangelogLag))
	}
	if o.top == 0 {
		fmt.Fprintf(out, "\nall %d words:\n", len(top))
	} else {
		fmt.Fprintf(out, "\ntop %d words:\n", len(top))
	}
	writeTop(out, top)
}
