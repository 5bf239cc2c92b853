// Command scaleapp runs the word-count topology (examples/wordcount) as one
// instance of a scaled-out application, for the streams package's scaling
// test (scale_test.go): several scaleapp processes join one application,
// threads are added and removed through commands on standard input, and
// instances are killed with SIGKILL.
//
// Commands, one per line on standard input; each answer is one line on
// standard output starting with the command's tag:
//
//	add-thread <tag>      -> "<tag> added <thread name>"
//	remove-thread <tag>   -> "<tag> removed <thread name>"
//	status <tag>          -> "<tag> status <JSON of scaleStatus>"
//
// Errors answer "<tag> error <message>". SIGINT/SIGTERM close the app
// cleanly.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rivulet-io/rivulet/examples/wordcount/wordcount"
	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/internal/appmain"
)

// scaleStatus is what "status" prints: the instance's threads and active
// tasks, from App.Status.
type scaleStatus struct {
	State   string       `json:"state"`
	Threads []string     `json:"threads"`
	Tasks   []statusTask `json:"tasks"`
}

type statusTask struct {
	ID     string `json:"id"`
	Thread string `json:"thread"`
	State  string `json:"state"`
}

func main() {
	common := appmain.CommonFlags("scaleapp", 1, 200)
	in := flag.String("input", "scale-in", "input topic (text lines)")
	out := flag.String("output", "scale-out", "output topic (word -> count)")
	flag.Parse()

	logger := appmain.Logger("SCALEAPP_DEBUG")
	topo, err := wordcount.Topology(wordcount.Options{InputTopic: *in, OutputTopic: *out})
	if err != nil {
		fail(err)
	}
	props := common.Properties(streams.Properties{
		// KIP-441: a stateful task moves to a new instance once a warm-up
		// replica there has caught up; probe for that every second.
		"probing.rebalance.interval.ms": "1000",
	})
	app, err := streams.New(topo, props, streams.WithLogger(logger))
	if err != nil {
		fail(err)
	}
	sig := appmain.Signals()
	appmain.Start("scaleapp", app, nil)
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	say("started")

	// Commands run on their own goroutine, which ends when stdin closes;
	// the process exits after the app closes, so it needs no further owner.
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 2 {
				say("? error want: <command> <tag>")
				continue
			}
			cmd, tag := f[0], f[1]
			answer, err := runCommand(app, cmd)
			if err != nil {
				say("%s error %v", tag, err)
				continue
			}
			say("%s %s", tag, answer)
		}
	}()

	select {
	case <-sig:
	case <-app.Done():
		fail(fmt.Errorf("application stopped: %v", app.Err()))
	}
	appmain.Close("scaleapp", app)
}

func fail(err error) { appmain.Fail("scaleapp", err) }

// runCommand runs one command and returns its answer (after the tag).
func runCommand(app *streams.App, cmd string) (string, error) {
	switch cmd {
	case "add-thread":
		name, err := app.AddStreamThread()
		return "added " + name, err
	case "remove-thread":
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		name, err := app.RemoveStreamThread(ctx)
		return "removed " + name, err
	case "status":
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		full, err := app.Status(ctx)
		if err != nil {
			return "", err
		}
		st := scaleStatus{State: full.State.String()}
		for _, in := range full.Instances {
			if !in.Local {
				continue
			}
			st.Threads = in.Threads
			for _, t := range in.Active {
				st.Tasks = append(st.Tasks, statusTask{ID: t.ID.String(), Thread: strings.Join(t.Threads, ","), State: t.State.String()})
			}
		}
		b, err := json.Marshal(st)
		return "status " + string(b), err
	default:
		return "", fmt.Errorf("unknown command %q", cmd)
	}
}
