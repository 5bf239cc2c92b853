package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rivulet-io/rivulet/console"
)

func init() { rootCmd.AddCommand(newConsoleCmd()) }

func newConsoleCmd() *cobra.Command {
	var (
		conn   connFlags
		apps   []string
		listen string
	)
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Serve a web console of the cluster and its stream applications",
		Long: `console serves one web page (its assets are in the binary; it works offline) showing:

  - the cluster: topics and partitions with offsets and sizes, topic configs, a message
    browser decoding keys, values and headers as kafka-console-consumer does, and consumer
    groups with members, assignments and lag;
  - each stream application given with --app (the URL of its HTTP endpoint, switched on by
    rivulet.http.listener): its live topology graph with per-node rates, tasks per instance
    and thread with state and lags, standbys, restores with progress, throughput.

The page updates itself every two seconds. The console only reads.`,
		Example: `  rivulet console --bootstrap-server 127.0.0.1:9092
  rivulet console --bootstrap-server 127.0.0.1:9092 --app http://127.0.0.1:7070 --listen 127.0.0.1:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext()
			defer stop()
			props, err := conn.properties(cmd)
			if err != nil {
				return err
			}
			adm, err := conn.openAdminWith(ctx, cmd, props)
			if err != nil {
				return err
			}
			adm.Close()
			srv, err := console.New(console.Config{ClientProperties: props, Apps: apps, Listen: listen, Logger: cliLogger(cmd.ErrOrStderr())})
			if err != nil {
				return usageErrorf(cmd, "%v", err)
			}
			if err := srv.Start(); err != nil {
				return failuref("%v", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "rivulet console on http://%s (Ctrl-C to stop)\n", srv.Addr())
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Close(sctx)
		},
	}
	conn.register(cmd, "command-config", "command-property", "a client property")
	cmd.Flags().StringArrayVar(&apps, "app", nil, "URL of a stream application's HTTP endpoint, http://host:port (repeatable)")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "host:port to serve the console on")
	return cmd
}
