package partlog

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const killChildEnv = "PARTLOG_KILL9_DIR"

// TestKill9 runs appenders in a child process that acknowledges a batch
// only after Sync returned (acks=-1), SIGKILLs the child at a random moment,
// and checks that every acknowledged record is in the recovered log at its
// acknowledged offset. Three rounds, each continuing the same log.
func TestKill9(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		kill9Child(dir)
		return
	}
	dir := t.TempDir()
	acked := map[int64]string{} // offset -> value
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKill9$", "-test.count=1")
		cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		want := 100 + round*137
		sc := bufio.NewScanner(out)
		n := 0
		deadline := time.Now().Add(60 * time.Second)
		for n < want && sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 3 || f[0] != "acked" {
				continue
			}
			off, _ := strconv.ParseInt(f[1], 10, 64)
			acked[off] = f[2]
			n++
			if time.Now().After(deadline) {
				break
			}
		}
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if n < want {
			t.Fatalf("round %d: child acknowledged only %d batches", round, n)
		}
		l, err := Open(dir, smallConfig(), testOpts(nil))
		if err != nil {
			t.Fatalf("round %d: open after kill -9: %v", round, err)
		}
		got := map[int64]string{}
		for _, r := range readAll(t, l, 0) {
			got[r.Offset] = string(r.Value)
		}
		for off, v := range acked {
			if got[off] != v {
				t.Fatalf("round %d: acknowledged record at %d is %q after kill -9, want %q", round, off, got[off], v)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d acknowledged records survived 3 SIGKILLs", len(acked))
}

// kill9Child appends from 8 goroutines, each Sync-ing and printing
// "acked <offset> <value>" after its Sync returns, until killed.
func kill9Child(dir string) {
	l, err := Open(dir, smallConfig(), Options{Logger: quietLogger()})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	start := l.LogEndOffset()
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				v := fmt.Sprintf("g%d-i%d-from%d", g, i, start)
				b, err := mkBatchErr(batchOpt{}, rec{key: []byte(strconv.Itoa(g)), value: []byte(v), ts: time.Now().UnixMilli()})
				if err != nil {
					os.Exit(3)
				}
				res, err := l.Append(b)
				if err != nil {
					fmt.Fprintln(os.Stderr, "child append:", err)
					os.Exit(4)
				}
				if err := l.Sync(); err != nil {
					fmt.Fprintln(os.Stderr, "child sync:", err)
					os.Exit(5)
				}
				mu.Lock()
				fmt.Fprintf(w, "acked %d %s\n", res.BaseOffset, v)
				w.Flush()
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
}
