package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/rivulet-io/rivulet/examples/wordcount/wordcount"
	"github.com/rivulet-io/rivulet/streams"
)

// Systems the word count and latency benchmarks can run.
const (
	SystemRivulet = "rivulet"
	SystemGoka    = "goka"
)

// WordCountConfig sets up the word-count benchmark. Every setting applies to
// both systems alike.
type WordCountConfig struct {
	// Corpus is the input text.
	Corpus CorpusConfig
	// Partitions of the input topic, and so of every topic both systems
	// create (Rivulet's repartition and changelog topics, goka's words
	// stream and table). The default value is 4.
	Partitions int32
	// Threads is Rivulet's num.stream.threads. goka runs one goroutine per
	// assigned partition on its own, so the default value is the number of
	// CPUs, the matching setting for Rivulet.
	Threads int
	// CommitInterval is Rivulet's commit.interval.ms. The default value is
	// 1s: goka (sarama) commits offsets every second (auto-commit interval),
	// and Rivulet's record cache publishes counts at each commit.
	CommitInterval time.Duration
	// Acks of every producer in both systems: "1" (goka's default) or "all".
	// The default value is "1".
	Acks string
	// Systems to run, in order. The default value is rivulet, then goka.
	Systems []string
	// Timeout bounds each system's run. The default value is 10 minutes.
	Timeout time.Duration
	// Dir holds the broker's log and both systems' state. Required.
	Dir string
	// Logger receives the broker's and Rivulet's logs. The default value
	// discards them.
	Logger *slog.Logger
	// ProcessingGuarantee is at_least_once or exactly_once_v2. With
	// exactly_once_v2, Rivulet runs twice, at-least-once and then
	// exactly_once_v2 (system SystemRivuletEOS, producer acks=all), and the
	// ratio of the two is reported. The default value is at_least_once.
	ProcessingGuarantee string
}

func (c *WordCountConfig) ensureDefaults() {
	orDefault(&c.ProcessingGuarantee, streams.AtLeastOnce)
	orDefault(&c.Partitions, 4)
	orDefault(&c.Threads, defaultThreads())
	orDefault(&c.CommitInterval, time.Second)
	orDefault(&c.Acks, "1")
	if len(c.Systems) == 0 {
		c.Systems = []string{SystemRivulet, SystemGoka}
	}
	orDefault(&c.Timeout, 10*time.Minute)
	orDefault(&c.Logger, slog.New(slog.DiscardHandler))
}

func (c *WordCountConfig) validate() error {
	switch {
	case c.Dir == "":
		return errors.New("harness: word count: no directory for the broker and state")
	case c.Partitions < 1 || c.Threads < 1 || c.CommitInterval <= 0 || c.Timeout <= 0:
		return fmt.Errorf("harness: word count: partitions %d, threads %d, commit interval %v, timeout %v: each must be positive",
			c.Partitions, c.Threads, c.CommitInterval, c.Timeout)
	case c.Acks != "1" && c.Acks != "all" && c.Acks != "-1":
		return fmt.Errorf("harness: word count: acks %q: use 1 or all", c.Acks)
	case c.ProcessingGuarantee != streams.AtLeastOnce && c.ProcessingGuarantee != streams.ExactlyOnce:
		return fmt.Errorf("harness: word count: processing guarantee %q: use %s or %s", c.ProcessingGuarantee, streams.AtLeastOnce, streams.ExactlyOnce)
	}
	for _, s := range c.Systems {
		if s != SystemRivulet && s != SystemGoka {
			return fmt.Errorf("harness: word count: unknown system %q (use %s or %s)", s, SystemRivulet, SystemGoka)
		}
	}
	return nil
}

func (c *WordCountConfig) saramaAcks() sarama.RequiredAcks {
	if c.Acks == "1" {
		return sarama.WaitForLocal
	}
	return sarama.WaitForAll
}

// WordCountRun is one system's word count.
type WordCountRun struct {
	System string
	// Words is the number of words in the input.
	Words int64
	// Elapsed runs from the start of the app to the last correct count
	// read from its output.
	Elapsed time.Duration
	// FirstOutput is when the first count appeared, from the start.
	FirstOutput time.Duration
	// OutputRecords is how many count updates the output held.
	OutputRecords int64
	// OverCounts is how many updates showed a count above the truth
	// (possible under at-least-once after a failure; 0 in a clean run).
	OverCounts int
	// Warning is an error seen after the measure, while stopping.
	Warning string
}

// WordsPerSecond is the input words divided by the elapsed time.
func (r WordCountRun) WordsPerSecond() float64 { return float64(r.Words) / r.Elapsed.Seconds() }

// WordCountResult is the outcome of RunWordCount.
type WordCountResult struct {
	Runs   []WordCountRun
	Rows   []Row
	Series []Series
	// Lines is the number of input records.
	Lines int64
}

const wcInputTopic = "wc-input"

// RunWordCount writes the corpus once to an input topic of a fresh
// brokerlite, then runs the word count of each system in turn on that
// broker and that topic, timing each from its start to the moment the last
// count it writes matches the truth.
func RunWordCount(ctx context.Context, cfg WordCountConfig, progress *Progress) (*WordCountResult, error) {
	cfg.ensureDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	corpus, err := NewCorpus(cfg.Corpus)
	if err != nil {
		return nil, err
	}
	bl, err := startBrokerlite(ctx, filepath.Join(cfg.Dir, "broker"), cfg.Logger)
	if err != nil {
		return nil, err
	}
	defer bl.Close(context.Background())
	if err := createTopics(ctx, bl.Addr(), cfg.Partitions, nil, wcInputTopic); err != nil {
		return nil, err
	}
	expected := corpus.Counts()
	bar := progress.Start("word count: writing the input", corpus.Words(), "words")
	lines, err := corpus.Produce(ctx, bl.Addr(), wcInputTopic, bar)
	bar.Done()
	if err != nil {
		return nil, err
	}
	res := &WordCountResult{Lines: lines}
	var systems []string
	for _, sys := range cfg.Systems {
		systems = append(systems, sys)
		if sys == SystemRivulet && cfg.ProcessingGuarantee == streams.ExactlyOnce {
			systems = append(systems, SystemRivuletEOS)
		}
	}
	for _, sys := range systems {
		run, series, err := runWordCountSystem(ctx, cfg, sys, bl.Addr(), corpus.Words(), expected, progress)
		if err != nil {
			return nil, err
		}
		res.Runs = append(res.Runs, run)
		res.Series = append(res.Series, series)
	}
	byName := bySystem(res.Runs, func(r WordCountRun) string { return r.System })
	riv, okR := byName[SystemRivulet]
	gk, okG := byName[SystemGoka]
	if okR && okG {
		c := corpus.Config()
		res.Rows = append(res.Rows, Row{
			Bench: fmt.Sprintf("word count, %s words (vocabulary %d, zipf s=%.2f), %d partitions, at-least-once",
				Human(float64(c.Words)), c.Vocabulary, c.ZipfS, cfg.Partitions),
			Unit: "words/s", Ours: SystemRivulet, Peer: SystemGoka, Goal: 15.0,
			OursValue: riv.WordsPerSecond(), PeerValue: gk.WordsPerSecond(),
		})
	}
	if eos, ok := byName[SystemRivuletEOS]; ok && okR {
		res.Rows = append(res.Rows, Row{
			Bench: "word count, exactly_once_v2 vs at-least-once", Unit: "words/s", Ours: SystemRivuletEOS, Peer: SystemRivulet,
			OursValue: eos.WordsPerSecond(), PeerValue: riv.WordsPerSecond(),
		})
	}
	return res, nil
}

func runWordCountSystem(ctx context.Context, cfg WordCountConfig, sys, addr string, words int64, expected map[string]int64, progress *Progress) (WordCountRun, Series, error) {
	prefix := "wc-" + sys
	series := Series{Bench: "word count", System: sys, Unit: "words/s"}
	var outTopic string
	var topicCfg map[string]string
	switch sys {
	case SystemRivulet, SystemRivuletEOS:
		outTopic = prefix + "-output"
	case SystemGoka:
		var wordsTopic string
		wordsTopic, outTopic = gokaWordCountTopics(prefix)
		// The words stream gets the input's partition count, as Rivulet's
		// repartition topic does; the table is created here the way goka's
		// topic manager would (compacted, same partitions) so both exist
		// before the clock starts.
		if err := createTopics(ctx, addr, cfg.Partitions, nil, wordsTopic); err != nil {
			return WordCountRun{}, series, err
		}
		topicCfg = map[string]string{"cleanup.policy": "compact"}
	}
	if err := createTopics(ctx, addr, cfg.Partitions, topicCfg, outTopic); err != nil {
		return WordCountRun{}, series, err
	}
	w, err := watchCounts(addr, outTopic, expected, sys == SystemRivuletEOS)
	if err != nil {
		return WordCountRun{}, series, err
	}
	defer w.close()

	bar := progress.Start("word count: "+sys, words, "words")
	defer bar.Done()
	start := time.Now()
	sm := startSampler(&series, 0, w.Counted)
	defer sm.stop()
	stopBar := follow(bar, w.Counted)
	defer stopBar()

	var failed func() error
	var stop func() error
	decodeErrs := saramaDecodeErrors.n.Load()
	switch sys {
	case SystemRivulet, SystemRivuletEOS:
		app, err := startRivuletWordCount(ctx, cfg, addr, prefix, outTopic, sys == SystemRivuletEOS)
		if err != nil {
			return WordCountRun{}, series, err
		}
		failed, stop = rivuletControls(app, "harness: rivulet word count stopped")
	case SystemGoka:
		gc := &gokaConfig{brokers: []string{addr}, acks: cfg.saramaAcks(), stateDir: filepath.Join(cfg.Dir, "goka-state")}
		gr, err := startGokaWordCount(gc, wcInputTopic, prefix)
		if err != nil {
			return WordCountRun{}, series, err
		}
		failed = gr.failed
		stop = gr.stop
	}
	err = waitDone(ctx, w.Done(), cfg.Timeout, failed)
	st := w.status()
	sm.stop()
	stopBar()
	// The measure is taken; an error while stopping (goka's consumer group
	// reports the connections it closes) is kept as a warning.
	warnings := []string{decodeWarning(decodeErrs)}
	if serr := stop(); serr != nil {
		warnings = append(warnings, fmt.Sprintf("stopping %s: %v", sys, serr))
	}
	warning := joinWarnings(warnings)
	if err != nil {
		return WordCountRun{}, series, fmt.Errorf("harness: word count on %s: %w (counted %d of %d words; %d words not final; output records %d, unknown words %d, bad values %d, over-counts %d; last fetch error %v)",
			sys, err, w.Counted(), words, st.pending, st.records, st.unknown, st.badValue, st.over, st.err)
	}
	run := WordCountRun{System: sys, Words: words, Elapsed: st.doneAt.Sub(start), OutputRecords: st.records, OverCounts: st.over, Warning: warning}
	if !st.firstAt.IsZero() {
		run.FirstOutput = st.firstAt.Sub(start)
	}
	return run, series, nil
}

// startRivuletWordCount runs the word count of examples/wordcount with
// Rivulet's defaults except: threads, commit interval and acks from cfg,
// state in cfg.Dir. With eos it runs under exactly_once_v2 (acks=all,
// which transactions need).
func startRivuletWordCount(ctx context.Context, cfg WordCountConfig, addr, appID, outTopic string, eos bool) (*streams.App, error) {
	topo, err := wordcount.Topology(wordcount.Options{InputTopic: wcInputTopic, OutputTopic: outTopic})
	if err != nil {
		return nil, err
	}
	props := rivuletProps(appID, addr, cfg.Threads, cfg.Dir)
	props[streams.PropCommitIntervalMs] = strconv.FormatInt(cfg.CommitInterval.Milliseconds(), 10)
	switch {
	case eos:
		props[streams.PropProcessingGuarantee] = streams.ExactlyOnce
	case cfg.Acks == "1":
		props["producer.acks"] = cfg.Acks
		// Idempotence needs acks=all (Kafka refuses the mix).
		props["producer.enable.idempotence"] = "false"
	default:
		props["producer.acks"] = cfg.Acks
	}
	return startRivuletApp(ctx, topo, props, cfg.Logger, "word count")
}

// waitDone waits for done, polling failed every 100ms; it fails after
// timeout or when ctx ends.
func waitDone(ctx context.Context, done <-chan struct{}, timeout time.Duration, failed func() error) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("not done after %v", timeout)
		case <-tick.C:
			if err := failed(); err != nil {
				return err
			}
		}
	}
}

// follow copies counter into bar until the returned stop.
func follow(bar *Bar, counter func() int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				bar.Set(counter())
				return
			case <-t.C:
				bar.Set(counter())
			}
		}
	}()
	var stopped bool
	return func() {
		if !stopped {
			stopped = true
			close(done)
			<-finished
		}
	}
}

// defaultThreads is Rivulet's thread count in the benchmarks: one per CPU,
// the parallelism goka gets from its goroutine per partition.
func defaultThreads() int { return runtime.NumCPU() }

func joinWarnings(ws []string) string {
	var out []string
	for _, w := range ws {
		if w != "" {
			out = append(out, w)
		}
	}
	return strings.Join(out, "; ")
}
