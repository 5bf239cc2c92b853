// Command wordcount is Kafka Streams' WordCountDemo on Rivulet: it reads
// text lines from an input topic, lower-cases them, splits them on anything
// that is not a letter, counts each word, and writes every changed count to
// an output topic (key: the word as UTF-8; value: the count as an 8-byte
// big-endian int64, Kafka's LongSerde). It runs against any Kafka-compatible
// broker: `rivulet broker`, Apache Kafka, Redpanda.
//
//	rivulet broker &
//	go run ./examples/wordcount --bootstrap-server 127.0.0.1:9092 &
//	printf 'all streams lead to kafka\nhello kafka streams\n' |
//	    rivulet produce --bootstrap-server 127.0.0.1:9092 --topic wordcount-input
//	rivulet consume --bootstrap-server 127.0.0.1:9092 --topic wordcount-output \
//	    --from-beginning --property print.key=true --value-deserializer int64
//
// The topology itself is in package examples/wordcount/wordcount, shared
// with `rivulet demo wordcount` and the benchmark harness.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rivulet-io/rivulet/client"
	"github.com/rivulet-io/rivulet/examples/wordcount/wordcount"
	"github.com/rivulet-io/rivulet/streams"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// hook lets an optional file of this program add flags and run beside the
// app without editing main.go: it appends one to hooks from an init
// function. The interactive-query endpoint (http.go) is meant to
// plug in here: its flag sets application.server, and it serves the
// "counts" store of the running app.
type hook struct {
	// flags registers the hook's flags (may be nil).
	flags func(fs *flag.FlagSet)
	// props adds properties once flags are parsed (may be nil).
	props func(p streams.Properties) error
	// start runs once the app has started; the stop it returns is called
	// before the app closes (both may be nil).
	start func(ctx context.Context, app *streams.App, logger *slog.Logger) (stop func(context.Context) error, err error)
}

var hooks []hook

// usageError is a bad flag or argument (exit code 2).
type usageError struct{ error }

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// run is the program: flags in args, logs to logw, until ctx ends or the app
// fails.
func run(ctx context.Context, args []string, logw io.Writer) error {
	fs := flag.NewFlagSet("wordcount", flag.ContinueOnError)
	fs.SetOutput(logw)
	var (
		bootstrap   = fs.String("bootstrap-server", "127.0.0.1:9092", "the broker(s) to connect to, host:port[,host:port...]")
		inputTopic  = fs.String("input-topic", wordcount.DefaultInputTopic, "the topic of text lines to count")
		outputTopic = fs.String("output-topic", wordcount.DefaultOutputTopic, "the topic that receives word -> count (int64)")
		appID       = fs.String("application-id", "wordcount", "application.id: the consumer group, and the prefix of internal topics")
		stateDir    = fs.String("state-dir", "", "state.dir: where the count store lives (default: <tmp>/rivulet-streams)")
		threads     = fs.Int("threads", 1, "num.stream.threads")
		partitions  = fs.Int("partitions", 1, "partitions of the input and output topics when this program creates them")
		create      = fs.Bool("create-topics", true, "create the input and output topics if they do not exist")
		logLevel    = fs.String("log-level", "info", "log level: debug, info, warn or error")
		guarantee   = fs.String("processing-guarantee", streams.AtLeastOnce, "processing.guarantee: at_least_once, or exactly_once_v2 (Kafka transactions: every word counted exactly once, even after a crash)")
		exactlyOnce = fs.Bool("exactly-once", false, "shorthand for --processing-guarantee exactly_once_v2")
		props       stringList
	)
	fs.Var(&props, "property", "any Kafka Streams or client property as key=value (repeatable), e.g. commit.interval.ms=1000")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: wordcount [flags]\n\nKafka Streams' WordCountDemo on Rivulet, against any Kafka-compatible broker.\n\nExample:\n  wordcount --bootstrap-server 127.0.0.1:9092 --threads 2\n  wordcount --bootstrap-server 127.0.0.1:9092 --exactly-once\n\nFlags:\n")
		fs.PrintDefaults()
	}
	for _, h := range hooks {
		if h.flags != nil {
			h.flags(fs)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level %q: use debug, info, warn or error", *logLevel)}
	}
	if *exactlyOnce {
		if *guarantee != streams.AtLeastOnce && *guarantee != streams.ExactlyOnce {
			return usageError{fmt.Errorf("--exactly-once contradicts --processing-guarantee %s", *guarantee)}
		}
		*guarantee = streams.ExactlyOnce
	}
	if *guarantee != streams.AtLeastOnce && *guarantee != streams.ExactlyOnce {
		return usageError{fmt.Errorf("--processing-guarantee %q: use %s or %s", *guarantee, streams.AtLeastOnce, streams.ExactlyOnce)}
	}
	if *threads < 1 || *partitions < 1 {
		return usageError{errors.New("--threads and --partitions must be at least 1")}
	}
	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level}))

	p := streams.Properties{
		streams.PropApplicationID:       *appID,
		streams.PropBootstrapServers:    *bootstrap,
		streams.PropNumStreamThreads:    strconv.Itoa(*threads),
		streams.PropProcessingGuarantee: *guarantee,
	}
	if *stateDir != "" {
		p[streams.PropStateDir] = *stateDir
	}
	for _, kv := range props {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageError{fmt.Errorf("--property %q: want key=value", kv)}
		}
		p[k] = v
	}
	for _, h := range hooks {
		if h.props != nil {
			if err := h.props(p); err != nil {
				return usageError{err}
			}
		}
	}
	if err := setMemoryLimit(p, logger); err != nil {
		return usageError{err}
	}
	topo, err := wordcount.Topology(wordcount.Options{InputTopic: *inputTopic, OutputTopic: *outputTopic})
	if err != nil {
		return usageError{err}
	}
	if *create {
		if err := createTopics(ctx, p, int32(*partitions), logger, *inputTopic, *outputTopic); err != nil {
			return err
		}
	}
	app, err := streams.New(topo, p, streams.WithLogger(logger))
	if err != nil {
		return usageError{err}
	}
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err = app.Start(startCtx)
	cancel()
	if err != nil {
		return err
	}
	var stops []func(context.Context) error
	for _, h := range hooks {
		if h.start == nil {
			continue
		}
		stop, err := h.start(ctx, app, logger)
		if err != nil {
			closeApp(app, stops)
			return err
		}
		if stop != nil {
			stops = append(stops, stop)
		}
	}
	logger.Info("wordcount: running; press Ctrl-C to stop", "input", *inputTopic, "output", *outputTopic, "application.id", *appID)
	select {
	case <-ctx.Done():
		return closeApp(app, stops)
	case <-app.Done():
		closeApp(app, stops)
		return fmt.Errorf("the application stopped: %w", app.Err())
	}
}

// closeApp stops the hooks, then the app, within 30s.
func closeApp(app *streams.App, stops []func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for i := len(stops) - 1; i >= 0; i-- {
		errs = append(errs, stops[i](ctx))
	}
	errs = append(errs, app.Close(ctx))
	return errors.Join(errs...)
}

// createTopics creates the topics that do not exist yet, as a user would
// with kafka-topics.sh before starting WordCountDemo.
// createTopics creates the topics with an admin client built from the app's properties, so
// the same security settings (security.protocol, sasl.*, ssl.*) apply.
func createTopics(ctx context.Context, p streams.Properties, partitions int32, logger *slog.Logger, topics ...string) error {
	adminProps, err := p.ClientProperties("admin")
	if err != nil {
		return usageError{err}
	}
	adm, err := client.NewAdmin(client.Properties(adminProps), client.WithLogger(logger))
	if err != nil {
		return usageError{err}
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopics(ctx, partitions, -1, nil, topics...)
	if err != nil {
		return fmt.Errorf("creating topics %v on %s: %w", topics, p[streams.PropBootstrapServers], err)
	}
	for _, r := range resp.Sorted() {
		switch {
		case r.Err == nil:
			logger.Info("wordcount: created topic", "topic", r.Topic, "partitions", partitions)
		case errors.Is(r.Err, kerr.TopicAlreadyExists):
		default:
			return fmt.Errorf("creating topic %s: %w", r.Topic, r.Err)
		}
	}
	return nil
}

// setMemoryLimit sets Go's soft memory limit from the state memory budget
// (rivulet.state.memory.max.bytes, 128 MiB unless --property sets it) unless
// the environment sets GOMEMLIMIT or the budget is switched off
// (--property rivulet.state.memory.max.bytes=0): the program sizes its
// process, as a Kafka Streams deployment sizes -Xmx; the library never does.
func setMemoryLimit(p streams.Properties, logger *slog.Logger) error {
	if os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	if v, ok := p[streams.PropStateMemoryMaxBytes]; ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n == 0 {
			return nil
		}
	}
	limit, err := streams.RecommendedMemoryLimit(p)
	if err != nil {
		return err
	}
	debug.SetMemoryLimit(limit)
	logger.Info("wordcount: Go soft memory limit set from the state memory budget", "bytes", limit)
	return nil
}
