package streams

import (
	"fmt"
	"os"
	"path/filepath"
)

// CleanUp deletes this application's local state directory
// (<state.dir>/<application.id>), as Kafka Streams' KafkaStreams.cleanUp:
// the stores are rebuilt from their changelogs on the next start. Only
// while the application is not running (before Start or after Close).
func (a *App) CleanUp() error {
	switch st := a.State(); st {
	case StateCreated, StateNotRunning, StateError:
	default:
		return fmt.Errorf("streams: clean up: the application is %s; call CleanUp before Start or after Close", st)
	}
	dir := filepath.Join(a.cfg.StateDir, a.cfg.ApplicationID)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("streams: clean up %s: %w", dir, err)
	}
	a.cfg.Logger.Info("streams: removed the local state", "application.id", a.cfg.ApplicationID, "dir", dir)
	return nil
}
