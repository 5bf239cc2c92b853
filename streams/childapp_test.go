package streams_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// childAppDir holds the child-process programs the tests build (crash_test.go,
// scale_test.go); TestMain removes it when the tests end.
var childAppDir = sync.OnceValues(func() (string, error) { return os.MkdirTemp("", "rivulet-streams-apps") })

// buildChildApp builds streams/internal/<name> into childAppDir.
func buildChildApp(name string) (string, error) {
	dir, err := childAppDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, "./internal/"+name)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", name, err, out)
	}
	return bin, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := childAppDir(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}
