// Command brokerapp runs brokerlite for the streams package's process-level
// tests, so that a test can kill the broker with SIGKILL and start it again
// on the same address and log directory. It prints "listening <addr>" once
// the broker serves, and stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite"
	"github.com/rivulet-io/rivulet/streams/internal/appmain"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "host:port to listen on")
	logDir := flag.String("log-dir", "", "log.dirs")
	flag.Parse()
	if *logDir == "" {
		fmt.Fprintln(os.Stderr, "brokerapp: --log-dir is required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	b, err := brokerlite.Start(ctx, brokerlite.Config{
		Properties: map[string]string{
			"listeners":                        "PLAINTEXT://" + *listen,
			"log.dirs":                         *logDir,
			"group.initial.rebalance.delay.ms": "0",
			"offsets.topic.num.partitions":     "4",
		},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	cancel()
	if err != nil {
		appmain.Fail("brokerapp", err)
	}
	fmt.Println("listening", b.Addr())
	<-appmain.Signals()
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		appmain.Fail("brokerapp", err)
	}
}
