package main

// Shared plumbing for the Kafka-style tools (topics, produce, consume, groups): connection
// flags, property assembly, a bounded first connect, usage errors and error wording.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rivulet-io/rivulet/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// defaultBootstrap is where `rivulet broker` listens by default.
const defaultBootstrap = "127.0.0.1:9092"

// defaultConnectTimeout bounds the wait for the first broker answer, so a wrong address fails
// in seconds rather than after franz-go's retries.
const defaultConnectTimeout = 5 * time.Second

// connFlags are the connection flags every tool has. configFlag and propFlag are the names
// Kafka's script uses (--command-config, --producer.config, --consumer-property, ...).
type connFlags struct {
	bootstrap      string
	connectTimeout time.Duration
	configFile     string
	props          []string

	configFlag, propFlag string
}

func (f *connFlags) register(cmd *cobra.Command, configFlag, propFlag, propHelp string) {
	f.configFlag, f.propFlag = configFlag, propFlag
	fl := cmd.Flags()
	fl.StringVar(&f.bootstrap, "bootstrap-server", defaultBootstrap, "the broker(s) to connect to, host:port[,host:port...]; overrides bootstrap.servers from a config file")
	fl.DurationVar(&f.connectTimeout, "connect-timeout", defaultConnectTimeout, "how long to wait for the first broker answer before giving up")
	fl.StringVar(&f.configFile, configFlag, "", "a Kafka .properties file with client settings (security.protocol, sasl.*, ...)")
	fl.StringArrayVar(&f.props, propFlag, nil, propHelp+" as key=value (repeatable); wins over the config file")
}

// registerAdmin registers the connection flags of the admin tools, named as Kafka's
// kafka-topics.sh and kafka-configs.sh name them.
func (f *connFlags) registerAdmin(cmd *cobra.Command) {
	f.register(cmd, "command-config", "command-property", "an admin client property")
}

// registerProducer and registerConsumer register the connection flags of the console
// producer and consumer, named as Kafka's kafka-console-producer.sh and
// kafka-console-consumer.sh name them.
func (f *connFlags) registerProducer(cmd *cobra.Command) {
	f.register(cmd, "producer.config", "producer-property", "a producer property")
}

func (f *connFlags) registerConsumer(cmd *cobra.Command) {
	f.register(cmd, "consumer.config", "consumer-property", "a consumer property")
}

// toolCmd completes c as one of the Kafka-style tools (topics, groups, configs, acls,
// produce, consume): it takes no positional arguments, runs run, and has the connection
// flags register adds. It returns c and its flag set, for the tool's own flags.
func toolCmd(c *cobra.Command, register func(*cobra.Command), run func(*cobra.Command) error) (*cobra.Command, *pflag.FlagSet) {
	c.Args = noArgs
	c.RunE = func(cmd *cobra.Command, _ []string) error { return run(cmd) }
	register(c)
	return c, c.Flags()
}

// properties assembles client properties as Kafka's tools do: the config file, then the
// key=value flags, then the dedicated flags that were given explicitly. --bootstrap-server
// applies when given, or when nothing else names the brokers.
func (f *connFlags) properties(cmd *cobra.Command) (client.Properties, error) {
	props := client.Properties{}
	if f.configFile != "" {
		file, err := os.Open(f.configFile)
		if err != nil {
			return nil, usageErrorf(cmd, "--%s: %v", f.configFlag, err)
		}
		loaded, err := client.LoadProperties(file)
		file.Close()
		if err != nil {
			return nil, usageErrorf(cmd, "--%s %s: %v", f.configFlag, f.configFile, err)
		}
		props = loaded
	}
	extra, err := client.ParseKeyValues(f.props)
	if err != nil {
		return nil, usageErrorf(cmd, "--%s: %v", f.propFlag, err)
	}
	props = props.Merge(extra)
	if _, ok := props["client.id"]; !ok {
		// Names the tool in group descriptions and broker logs, as Kafka's
		// console-consumer does.
		props["client.id"] = "rivulet-" + cmd.Name()
	}
	if cmd.Flags().Changed("bootstrap-server") || props["bootstrap.servers"] == "" {
		props["bootstrap.servers"] = f.bootstrap
	}
	if f.connectTimeout <= 0 {
		return nil, usageErrorf(cmd, "--connect-timeout must be positive")
	}
	return props, nil
}

// usageErrorf is a bad-flag error: exit code 2, with a pointer to --help.
func usageErrorf(cmd *cobra.Command, format string, args ...any) error {
	return &exitError{Code: exitUsage, Err: fmt.Errorf("%s: %s\nRun '%s --help' for usage", cmd.Name(), fmt.Sprintf(format, args...), cmd.CommandPath())}
}

// failuref is a command that ran and failed: exit code 1.
func failuref(format string, args ...any) error {
	return &exitError{Code: exitFailure, Err: fmt.Errorf(format, args...)}
}

// noArgs rejects positional arguments with a usage error (cobra's own check exits 1).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf(cmd, "unexpected argument %q (flags start with --)", args[0])
	}
	return nil
}

// propertyError turns a client property error into a usage error (the user typed it).
func propertyError(cmd *cobra.Command, err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return usageErrorf(cmd, "%v", err)
}

// signalContext is cancelled by SIGINT or SIGTERM, so Ctrl-C ends a tool cleanly.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// connect checks that the brokers answer within --connect-timeout and words the failure for a
// person: the address, the reason, and how to get a broker.
func (f *connFlags) connect(ctx context.Context, cl *kgo.Client, seeds []string) error {
	cctx, cancel := context.WithTimeout(ctx, f.connectTimeout)
	defer cancel()
	err := client.Ping(cctx, cl, seeds)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ue *client.UnreachableError
	if errors.As(err, &ue) {
		return failuref("cannot reach a Kafka broker at %s within %v: %v\n"+
			"Is a broker running there? Start one with 'rivulet broker' (it listens on %s), "+
			"or point --bootstrap-server at your cluster.", strings.Join(ue.Addrs, ","), f.connectTimeout, ue.Err, defaultBootstrap)
	}
	return failuref("%v", err)
}

// openAdmin builds an admin client from the flags and checks the cluster answers.
func (f *connFlags) openAdmin(ctx context.Context, cmd *cobra.Command) (*client.Admin, error) {
	props, err := f.properties(cmd)
	if err != nil {
		return nil, err
	}
	return f.openAdminWith(ctx, cmd, props)
}

// openAdminWith is openAdmin with properties the caller assembled.
func (f *connFlags) openAdminWith(ctx context.Context, cmd *cobra.Command, props client.Properties) (*client.Admin, error) {
	adm, err := client.NewAdmin(props, client.WithLogger(cliLogger(cmd.ErrOrStderr())))
	if err != nil {
		return nil, propertyError(cmd, err)
	}
	if err := f.connect(ctx, adm.Kgo(), adm.Parsed.BootstrapServers); err != nil {
		adm.Close()
		return nil, err
	}
	return adm, nil
}

// withAdmin opens an admin client from the flags and runs fn with it; ctx ends on Ctrl-C.
func (f *connFlags) withAdmin(cmd *cobra.Command, fn func(ctx context.Context, adm *client.Admin, out io.Writer) error) error {
	ctx, stop := signalContext()
	defer stop()
	adm, err := f.openAdmin(ctx, cmd)
	if err != nil {
		return err
	}
	defer adm.Close()
	return fn(ctx, adm, cmd.OutOrStdout())
}

// withAdminTimeout is withAdmin with fn bounded by the client's API timeout
// (default.api.timeout.ms).
func (f *connFlags) withAdminTimeout(cmd *cobra.Command, fn func(ctx context.Context, adm *client.Admin, out io.Writer) error) error {
	return f.withAdmin(cmd, func(ctx context.Context, adm *client.Admin, out io.Writer) error {
		ctx, cancel := context.WithTimeout(ctx, adm.Parsed.APITimeout)
		defer cancel()
		return fn(ctx, adm, out)
	})
}

// countSet counts the flags that are set, for "give exactly one action" checks.
func countSet(flags ...bool) int {
	n := 0
	for _, f := range flags {
		if f {
			n++
		}
	}
	return n
}

// topicsResult is the outcome of a request answered per topic: the request's own error
// (reqErr), then a line for each name missing from the answer or failed in it. errOf returns
// an entry's broker message and error.
func topicsResult[R any](what string, names []string, resps map[string]R, reqErr error, errOf func(R) (string, error)) error {
	if reqErr != nil {
		return failuref("%s: %v", what, reqErr)
	}
	var failed []string
	for _, name := range names {
		r, ok := resps[name]
		if !ok {
			failed = append(failed, fmt.Sprintf("topic %s: not in the broker's answer", name))
			continue
		}
		if msg, err := errOf(r); err != nil {
			failed = append(failed, fmt.Sprintf("topic %s: %s", name, kafkaError(err, msg)))
		}
	}
	if len(failed) > 0 {
		return failuref("%s failed:\n  %s", what, strings.Join(failed, "\n  "))
	}
	return nil
}

// kafkaError words a Kafka error code with the broker's message when it sent one.
func kafkaError(err error, msg string) string {
	if msg != "" {
		return fmt.Sprintf("%s (%v)", msg, err)
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return fmt.Sprintf("%s: %s", ke.Message, ke.Description)
	}
	return err.Error()
}

// cliLogger writes slog records as "rivulet: warning: message key=value" lines, the shape
// of the tools' other messages, instead of slog's timestamped text. It also becomes the
// process's default logger, so that interceptors built by name (which log to slog.Default,
// as the counting interceptor's report does) print the same way; a tool is one process.
func cliLogger(w io.Writer) *slog.Logger {
	l := slog.New(&lineHandler{w: w, mu: &sync.Mutex{}, level: slog.LevelInfo})
	slog.SetDefault(l)
	return l
}

type lineHandler struct {
	w     io.Writer
	mu    *sync.Mutex
	level slog.Level
	attrs []slog.Attr
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("rivulet: ")
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("error: ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("warning: ")
	}
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &c
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }
