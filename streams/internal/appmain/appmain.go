// Package appmain is what the commands of the streams package's
// process-level tests share: the common flags of those running a stream
// application (testapp, scaleapp) and the properties made of them, their
// logger, and how they start, fail and stop (brokerapp too). It is not for
// applications outside these tests.
package appmain

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rivulet-io/rivulet/streams"
)

// Flags are the flags every test application takes.
type Flags struct {
	bootstrap, appID, stateDir *string
	threads, commitMs          *int
}

// CommonFlags registers the common flags on the command line, with the
// command's defaults for application.id, the thread count and the commit
// interval.
func CommonFlags(appID string, threads, commitMs int) Flags {
	return Flags{
		bootstrap: flag.String("bootstrap-server", "127.0.0.1:9092", "brokers"),
		appID:     flag.String("application-id", appID, "application.id"),
		stateDir:  flag.String("state-dir", "", "state.dir"),
		threads:   flag.Int("threads", threads, "num.stream.threads"),
		commitMs:  flag.Int("commit-interval-ms", commitMs, "commit.interval.ms"),
	}
}

// Properties returns the application's properties: those of the flags,
// quick expiry of a killed instance's members, and extra.
func (f Flags) Properties(extra streams.Properties) streams.Properties {
	props := streams.Properties{
		"application.id":     *f.appID,
		"bootstrap.servers":  *f.bootstrap,
		"state.dir":          *f.stateDir,
		"num.stream.threads": fmt.Sprint(*f.threads),
		"commit.interval.ms": fmt.Sprint(*f.commitMs),
		// A killed instance's members expire quickly.
		"consumer.session.timeout.ms":    "6000",
		"consumer.heartbeat.interval.ms": "200",
		// A rebalance waits at most this long for members that died
		// without leaving (some brokers wait this long rather than the
		// session timeout).
		"consumer.max.poll.interval.ms": "10000",
	}
	for k, v := range extra {
		props[k] = v
	}
	return props
}

// Logger logs text to standard error at INFO, at DEBUG when the
// environment variable debugEnv is set.
func Logger(debugEnv string) *slog.Logger {
	level := slog.LevelInfo
	if os.Getenv(debugEnv) != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// Fail prints err, prefixed with the command's name, and exits with
// status 1.
func Fail(name string, err error) {
	fmt.Fprintln(os.Stderr, name+":", err)
	os.Exit(1)
}

// Close closes app within 30 seconds, failing the command (name) when it
// cannot.
func Close(name string, app *streams.App) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Close(ctx); err != nil {
		Fail(name, err)
	}
}

// Signals returns a channel that receives SIGINT and SIGTERM.
func Signals() chan os.Signal {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	return sig
}

// Start starts app within 60 seconds, failing the command (name) when it
// cannot. With stop set (from Signals), a signal during Start stops it
// cleanly and is put back on stop for the caller to see.
func Start(name string, app *streams.App, stop chan os.Signal) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	if stop != nil {
		go func() {
			select {
			case <-stop:
				cancel()
				stop <- syscall.SIGTERM // seen again by the caller
			case <-ctx.Done():
			}
		}()
	}
	err := app.Start(ctx)
	cancel()
	if err != nil {
		Fail(name, err)
	}
}
