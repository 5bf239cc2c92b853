package harness

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rivulet-io/rivulet/streams"
)

// rivuletProps are the properties every suite's rivulet app starts from: its
// application id, the broker, the stream thread count and a state directory
// under dir.
func rivuletProps(appID, addr string, threads int, dir string) streams.Properties {
	return streams.Properties{
		streams.PropApplicationID:    appID,
		streams.PropBootstrapServers: addr,
		streams.PropNumStreamThreads: strconv.Itoa(threads),
		streams.PropStateDir:         filepath.Join(dir, "rivulet-state"),
	}
}

// startRivuletApp creates the app of topo and starts it, giving the start a
// minute. what names the app in errors ("word count", a case's name).
func startRivuletApp(ctx context.Context, topo *streams.Topology, props streams.Properties, logger *slog.Logger, what string) (*streams.App, error) {
	app, err := streams.New(topo, props, streams.WithLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("harness: rivulet %s: %w", what, err)
	}
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := app.Start(sctx); err != nil {
		return nil, fmt.Errorf("harness: starting rivulet %s: %w", what, err)
	}
	return app, nil
}

// rivuletControls returns what a suite run needs of a started rivulet app:
// failed reports the app having stopped on its own (stoppedMsg starts that
// error), and stop closes it, waiting a minute at most.
func rivuletControls(app *streams.App, stoppedMsg string) (failed, stop func() error) {
	failed = func() error {
		select {
		case <-app.Done():
			return fmt.Errorf("%s: state %s: %v", stoppedMsg, app.State(), app.Err())
		default:
			return nil
		}
	}
	stop = func() error {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return app.Close(cctx)
	}
	return failed, stop
}
