package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite"
	"github.com/spf13/cobra"
)

func init() { rootCmd.AddCommand(newBrokerCmd()) }

func newBrokerCmd() *cobra.Command {
	var (
		configPath string
		overrides  []string
		logLevel   string
	)
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run a single-node Kafka-compatible broker in the foreground",
		Long: `broker runs brokerlite, Rivulet's bundled Kafka-compatible broker, until SIGINT or SIGTERM.

Settings use Kafka's server.properties names (listeners, log.dirs, num.partitions,
auto.create.topics.enable, log.retention.hours, ...). config/server.properties documents
every key brokerlite understands. --override key=value wins over the file, as with
kafka-server-start.sh. Unknown keys are reported, never silently dropped.

Security is Kafka's: listeners with PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, TLS from
PEM files, SASL PLAIN and SCRAM, ACLs with authorizer.class.name (docs/security.md). A
security property brokerlite does not implement stops it at start.

Any Kafka client (franz-go, sarama, librdkafka/kcat, the Java client) can connect to the
address it logs.`,
		Example: `  # defaults: 127.0.0.1:9092, data in $TMPDIR/rivulet-logs
  rivulet broker

  rivulet broker --config config/server.properties
  rivulet broker --config config/server.properties --override listeners=PLAINTEXT://127.0.0.1:9093 --override log.dirs=/var/lib/rivulet

  # SASL_SSL with SCRAM users and ACLs (users: rivulet configs; ACLs: rivulet acls)
  rivulet broker --config config/server.properties \
    --override listeners=PLAINTEXT://127.0.0.1:9092,SASL_SSL://0.0.0.0:9094 \
    --override sasl.enabled.mechanisms=SCRAM-SHA-512 \
    --override ssl.keystore.location=/etc/rivulet/server.pem \
    --override authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer \
    --override super.users=User:admin

  # Prometheus metrics and /healthz on their own listener
  rivulet broker --metrics-listener 127.0.0.1:9644`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBroker(cmd.Context(), configPath, overrides, logLevel, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "path to a server.properties file (optional)")
	cmd.Flags().StringArrayVar(&overrides, "override", nil, "a property as key=value, overriding the config file (repeatable)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cmd.Flags().Var(overrideFlag{key: "metrics.listener", overrides: &overrides}, "metrics-listener", "host:port serving /metrics (Prometheus) and /healthz, e.g. 127.0.0.1:9644 (the metrics.listener property; off by default)")
	return cmd
}

func runBroker(ctx context.Context, configPath string, overrides []string, logLevel string, stderr interface{ Write([]byte) (int, error) }) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return &exitError{Code: exitUsage, Err: fmt.Errorf("--log-level %q: use debug, info, warn or error", logLevel)}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	props := map[string]string{}
	if configPath != "" {
		p, err := brokerlite.LoadProperties(configPath)
		if err != nil {
			return &exitError{Code: exitUsage, Err: fmt.Errorf("%w (check the --config path)", err)}
		}
		props = p
	}
	for _, kv := range overrides {
		if err := brokerlite.ApplyOverride(props, kv); err != nil {
			return &exitError{Code: exitUsage, Err: err}
		}
	}
	cfg := brokerlite.Config{Properties: props, Logger: logger}
	if _, _, err := brokerlite.ParseSettings(cfg); err != nil {
		return &exitError{Code: exitUsage, Err: fmt.Errorf("%w (fix it in %s or with --override)", err, orDefault(configPath, "the properties"))}
	}

	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancelStart := context.WithTimeout(sigCtx, 5*time.Minute)
	b, err := brokerlite.Start(startCtx, cfg)
	cancelStart()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "rivulet broker listening on %s (node.id=%d, cluster.id=%s, listeners %s); press Ctrl-C to stop\n",
		b.Addr(), b.NodeID(), b.ClusterID(), strings.Join(b.ListenerAddrs(), ","))
	<-sigCtx.Done()
	stop()
	logger.Info("shutting down")
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Close(closeCtx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
