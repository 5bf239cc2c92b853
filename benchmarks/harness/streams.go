package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/rivulet-io/rivulet/streams"
)

// Systems of the streams suite besides Rivulet and goka.
const SystemFranz = "franz-go"

// SystemRivuletEOS names Rivulet's runs under exactly_once_v2 (suites run
// with ProcessingGuarantee exactly_once_v2 run Rivulet both ways).
const SystemRivuletEOS = "rivulet-eos"

// StreamsConfig sets up the streams suite: the cases of Kafka Streams'
// SimpleBenchmark and a many-keys count, each run by Rivulet, by a
// hand-written franz-go program and (where it can do the same work) by
// goka, on one brokerlite and the same input.
type StreamsConfig struct {
	// Records is the number of records of the main input. The default
	// value is 1000000.
	Records int64
	// DistinctKeys is the number of distinct keys of the many-keys count
	// (which reads about 1.11 records per key). The default value is
	// 500000.
	DistinctKeys int64
	// Keys is the number of distinct keys of the main input, drawn with
	// Zipf frequencies. The default value is 10000.
	Keys int
	// ZipfS is the Zipf exponent of the key frequencies (> 1). The default
	// value is 1.1.
	ZipfS float64
	// ValueSize is the size of each value in bytes (at least 16). The
	// default value is 100.
	ValueSize int
	// Partitions of every topic. The default value is 4.
	Partitions int32
	// Threads is Rivulet's num.stream.threads and the franz-go programs'
	// worker count. The default value is the number of CPUs.
	Threads int
	// CommitInterval is Rivulet's commit.interval.ms and the franz-go
	// programs' commit (and count write) interval; goka commits every
	// second and writes every table update at once. A run of a case with a
	// record cache ends at the first commit after its last record, so the
	// interval must stay small against a run. The default value is 100ms
	// (Kafka Streams' default under exactly-once).
	CommitInterval time.Duration
	// Cases to run, in order. The default value is AllStreamsCases.
	Cases []string
	// Systems to run each case with, in order. The default value is
	// rivulet, franz-go, goka.
	Systems []string
	// Timeout bounds each run of a case. The default value is 10 minutes.
	Timeout time.Duration
	// Seed makes the input reproducible. The default value is 1.
	Seed uint64
	// Dir holds the broker's log and the systems' state. Required.
	Dir string
	// Logger receives the broker's and Rivulet's logs. The default value
	// discards them.
	Logger *slog.Logger
	// ProcessingGuarantee is at_least_once or exactly_once_v2. With
	// exactly_once_v2, Rivulet runs each case twice, at-least-once and then
	// exactly_once_v2 (system SystemRivuletEOS), and the ratio of the two is
	// reported. The default value is at_least_once.
	ProcessingGuarantee string
}

// exactlyOnce reports whether Rivulet also runs under exactly_once_v2.
func (c *StreamsConfig) exactlyOnce() bool { return c.ProcessingGuarantee == streams.ExactlyOnce }

func (c *StreamsConfig) ensureDefaults() {
	orDefault(&c.Records, 1_000_000)
	orDefault(&c.DistinctKeys, 500_000)
	orDefault(&c.Keys, 10_000)
	orDefault(&c.ZipfS, 1.1)
	orDefault(&c.ValueSize, 100)
	orDefault(&c.Partitions, 4)
	orDefault(&c.Threads, defaultThreads())
	orDefault(&c.CommitInterval, 100*time.Millisecond)
	if len(c.Cases) == 0 {
		c.Cases = AllStreamsCases
	}
	if len(c.Systems) == 0 {
		c.Systems = []string{SystemRivulet, SystemFranz, SystemGoka}
	}
	orDefault(&c.Timeout, 10*time.Minute)
	orDefault(&c.Seed, 1)
	orDefault(&c.Logger, slog.New(slog.DiscardHandler))
	orDefault(&c.ProcessingGuarantee, streams.AtLeastOnce)
}

func (c *StreamsConfig) validate() error {
	switch {
	case c.ProcessingGuarantee != streams.AtLeastOnce && c.ProcessingGuarantee != streams.ExactlyOnce:
		return fmt.Errorf("harness: streams: processing guarantee %q: use %s or %s", c.ProcessingGuarantee, streams.AtLeastOnce, streams.ExactlyOnce)
	case c.Dir == "":
		return errors.New("harness: streams: no directory for the broker and state")
	case c.Records < 4 || c.DistinctKeys < 1 || c.Keys < 2 || c.Keys > 99999 || !(c.ZipfS > 1) || c.ValueSize < 16:
		return fmt.Errorf("harness: streams: records %d (>= 4), distinct keys %d (>= 1), keys %d (2 to 99999), zipf %v (> 1), value size %d (>= 16)",
			c.Records, c.DistinctKeys, c.Keys, c.ZipfS, c.ValueSize)
	case c.DistinctKeys > 1<<32-1:
		return fmt.Errorf("harness: streams: distinct keys %d: at most %d", c.DistinctKeys, uint64(1<<32-1))
	case c.Partitions < 1 || c.Threads < 1 || c.CommitInterval <= 0 || c.Timeout <= 0:
		return fmt.Errorf("harness: streams: partitions %d, threads %d, commit interval %v, timeout %v: each must be positive",
			c.Partitions, c.Threads, c.CommitInterval, c.Timeout)
	}
	for _, n := range c.Cases {
		if !slices.Contains(AllStreamsCases, n) {
			return fmt.Errorf("harness: streams: unknown case %q (use %s)", n, strings.Join(AllStreamsCases, ", "))
		}
	}
	for _, s := range c.Systems {
		if s != SystemRivulet && s != SystemFranz && s != SystemGoka {
			return fmt.Errorf("harness: streams: unknown system %q (use %s, %s, %s)", s, SystemRivulet, SystemFranz, SystemGoka)
		}
	}
	return nil
}

// StreamsRun is one system's run of one case.
type StreamsRun struct {
	Case   string
	System string
	// Records and Bytes (keys and values) are what the case reads.
	Records, Bytes int64
	// Elapsed runs from the system's start to the moment its output was
	// complete and right.
	Elapsed time.Duration
	// Warning is an error seen after the measure, while stopping.
	Warning string
	// Failed is why the run failed (a wrong output, a system that
	// stopped, an output still short at the timeout, with what the
	// harness saw of it); empty for a run that completed. A failed run has
	// no figures, and the suite goes on with the next run.
	Failed string
}

// RecordsPerSecond is the input records over the elapsed time.
func (r StreamsRun) RecordsPerSecond() float64 { return float64(r.Records) / r.Elapsed.Seconds() }

// MBPerSecond is the input bytes (10^6) over the elapsed time.
func (r StreamsRun) MBPerSecond() float64 { return float64(r.Bytes) / 1e6 / r.Elapsed.Seconds() }

// StreamsResult is the outcome of RunStreams.
type StreamsResult struct {
	Runs []StreamsRun
	Rows []Row
}

// Run returns the completed run of system on case c, if any.
func (r *StreamsResult) Run(c, system string) (StreamsRun, bool) {
	for _, run := range r.Runs {
		if run.Case == c && run.System == system && run.Failed == "" {
			return run, true
		}
	}
	return StreamsRun{}, false
}

// FailedRuns returns the runs that failed, in the order they ran.
func (r *StreamsResult) FailedRuns() []StreamsRun {
	var out []StreamsRun
	for _, run := range r.Runs {
		if run.Failed != "" {
			out = append(out, run)
		}
	}
	return out
}

// failed reports whether system's run of case c failed.
func (r *StreamsResult) failed(c, system string) bool {
	for _, run := range r.Runs {
		if run.Case == c && run.System == system && run.Failed != "" {
			return true
		}
	}
	return false
}

// RunStreams writes the suite's input once to a fresh brokerlite, then
// runs each case with each system in turn on that broker and that input,
// timing each from its start until its output is complete and right. A run
// that fails (a wrong output, a stopped system, the timeout) is recorded
// with its diagnostic in StreamsRun.Failed and the suite goes on; only a
// broken setup or a cancelled ctx ends it early with an error.
func RunStreams(ctx context.Context, cfg StreamsConfig, progress *Progress) (*StreamsResult, error) {
	cfg.ensureDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	data := &ssbData{records: cfg.Records, keys: cfg.Keys, zipfS: cfg.ZipfS, valueSize: cfg.ValueSize, distinct: cfg.DistinctKeys, seed: cfg.Seed}
	cases := make([]ssbCase, 0, len(cfg.Cases))
	topics := map[string]bool{}
	for _, n := range cfg.Cases {
		c, err := ssbCaseOf(n)
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
		for _, t := range c.inputs {
			topics[t] = true
		}
	}
	bl, err := startBrokerlite(ctx, filepath.Join(cfg.Dir, "broker"), cfg.Logger)
	if err != nil {
		return nil, err
	}
	defer bl.Close(context.Background())
	for t := range topics {
		var tc map[string]string
		if t == ssbTableTopic {
			tc = map[string]string{"cleanup.policy": "compact"} // goka reads tables from compacted topics
		}
		if err := createTopics(ctx, bl.Addr(), cfg.Partitions, tc, t); err != nil {
			return nil, err
		}
	}
	written, err := data.writeInputs(ctx, bl.Addr(), topics, progress)
	if err != nil {
		return nil, err
	}
	res := &StreamsResult{}
	for _, c := range cases {
		var bytes int64
		for _, t := range c.inputs {
			keyLen := int64(len(ssbKey(0)))
			if t == ssbDistinctTopic {
				keyLen = int64(len(distinctKey(0)))
			}
			bytes += written[t] * (keyLen + int64(cfg.ValueSize))
		}
		var systems []string
		for _, sys := range cfg.Systems {
			if sys == SystemGoka && !c.goka {
				continue
			}
			systems = append(systems, sys)
			if sys == SystemRivulet && cfg.exactlyOnce() {
				systems = append(systems, SystemRivuletEOS)
			}
		}
		for _, sys := range systems {
			run, err := runStreamsCase(ctx, cfg, data, c, sys, bl.Addr(), progress)
			if err != nil {
				if ctx.Err() != nil {
					return res, err
				}
				cfg.Logger.Warn("harness: streams run failed", "case", c.name, "system", sys, "err", err)
				run = StreamsRun{Case: c.name, System: sys, Failed: err.Error()}
			}
			run.Bytes = bytes
			res.Runs = append(res.Runs, run)
		}
		riv, ok := res.Run(c.name, SystemRivulet)
		if !ok {
			continue
		}
		if eos, ok := res.Run(c.name, SystemRivuletEOS); ok {
			res.Rows = append(res.Rows, Row{Bench: "streams " + c.name + " exactly_once_v2 vs at_least_once", Unit: "records/s",
				Ours: SystemRivuletEOS, Peer: SystemRivulet, OursValue: eos.RecordsPerSecond(), PeerValue: riv.RecordsPerSecond()})
		}
		for _, peer := range []string{SystemFranz, SystemGoka} {
			if p, ok := res.Run(c.name, peer); ok {
				row := Row{Bench: "streams " + c.name, Unit: "records/s", Ours: SystemRivulet, Peer: peer,
					OursValue: riv.RecordsPerSecond(), PeerValue: p.RecordsPerSecond()}
				if c.name == CaseStreamCount && peer == SystemFranz {
					row.Goal = 0.6
				}
				res.Rows = append(res.Rows, row)
			}
		}
	}
	return res, nil
}

// runStreamsCase runs case c with system sys and checks its output.
func runStreamsCase(ctx context.Context, cfg StreamsConfig, data *ssbData, c ssbCase, sys, addr string, progress *Progress) (StreamsRun, error) {
	chk, inputRecords := data.newChecker(c)
	name := "ssb-" + c.name + "-" + sys
	out := name + "-output"
	if sys == SystemGoka && (c.name == CaseStreamCount || c.name == CaseStreamCountDistinctKey) {
		out = gokaTable(name) // goka writes counts to its group table
	}
	if c.sink {
		var tc map[string]string
		if out == gokaTable(name) {
			tc = map[string]string{"cleanup.policy": "compact"}
		}
		if err := createTopics(ctx, addr, cfg.Partitions, tc, out); err != nil {
			return StreamsRun{}, err
		}
	}
	if sys == SystemGoka && c.name == CaseStreamProcessStore {
		// goka's group table, created before the clock starts.
		if err := createTopics(ctx, addr, cfg.Partitions, map[string]string{"cleanup.policy": "compact"}, gokaTable(name)); err != nil {
			return StreamsRun{}, err
		}
	}
	observe := func([]byte, []byte) {}
	var reader *outputReader
	if c.sink {
		var err error
		if reader, err = readOutput(addr, out, chk, sys == SystemRivuletEOS); err != nil {
			return StreamsRun{}, err
		}
		defer func() {
			if reader != nil {
				reader.close()
			}
		}()
	} else {
		observe = chk.observe
	}

	bar := progress.Start(fmt.Sprintf("streams %s: %s", c.name, sys), chk.total(), "results")
	defer bar.Done()
	start := time.Now()
	var failed, stop func() error
	var app *streams.App
	decodeErrs := saramaDecodeErrors.n.Load()
	switch sys {
	case SystemRivulet, SystemRivuletEOS:
		var err error
		if app, err = startRivuletCase(ctx, cfg, c, addr, name, out, observe, sys == SystemRivuletEOS); err != nil {
			return StreamsRun{}, err
		}
		failed, stop = rivuletControls(app, "rivulet stopped")
	case SystemFranz:
		r, err := startFranzCase(ctx, cfg, c, addr, name, out, observe)
		if err != nil {
			return StreamsRun{}, err
		}
		failed, stop = r.failed, r.stop
	case SystemGoka:
		gc := &gokaConfig{brokers: []string{addr}, acks: sarama.WaitForLocal, stateDir: filepath.Join(cfg.Dir, "goka-state")}
		gr, err := startGokaCase(gc, c, name, out, observe)
		if err != nil {
			return StreamsRun{}, err
		}
		failed, stop = gr.failed, gr.stop
	}
	doneAt, err := waitChecker(ctx, chk, bar, cfg.Timeout, failed)
	if err == nil && app != nil && c.name == CaseStreamProcessStore {
		err = verifyRivuletStore(app, data.lastIDs())
	}
	detail := ""
	if err != nil {
		// Gathered before the system stops, while its state is the one that
		// failed.
		detail = stallDetail(ctx, addr, name, reader, chk, errors.Is(err, errNotDone))
	}
	warnings := []string{decodeWarning(decodeErrs)}
	if serr := stop(); serr != nil {
		warnings = append(warnings, fmt.Sprintf("stopping %s: %v", sys, serr))
	}
	if reader != nil {
		reader.close() // before its topic goes
		reader = nil
	}
	if derr := deleteTopicsWithPrefix(ctx, addr, name+"-"); derr != nil {
		warnings = append(warnings, fmt.Sprintf("removing the topics of %s: %v", name, derr))
	}
	if err != nil {
		return StreamsRun{}, fmt.Errorf("harness: streams %s on %s: %w%s", c.name, sys, err, detail)
	}
	return StreamsRun{Case: c.name, System: sys, Records: inputRecords, Elapsed: doneAt.Sub(start), Warning: joinWarnings(warnings)}, nil
}

// waitChecker polls chk every 5ms until it is done (and returns when), it
// finds a wrong answer, the system fails, or timeout passes.
func waitChecker(ctx context.Context, chk checker, bar *Bar, timeout time.Duration, failed func() error) (time.Time, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-deadline.C:
			p, _, _ := chk.state()
			return time.Time{}, fmt.Errorf("%w after %v (%d of %d results)", errNotDone, timeout, p, chk.total())
		case now := <-tick.C:
			p, done, err := chk.state()
			bar.Set(p)
			if err != nil {
				return time.Time{}, fmt.Errorf("wrong output: %w", err)
			}
			if done {
				return now, nil
			}
			if n%20 == 0 {
				if err := failed(); err != nil {
					return time.Time{}, err
				}
			}
		}
	}
}
