package streams_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite"
	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// generationLog records the generations brokerlite's group coordinator
// completes ("groupcoord: group joined"), with the member count of each.
type generationLog struct {
	mu      sync.Mutex
	members []int64 // by generation, in order
}

func (g *generationLog) Enabled(context.Context, slog.Level) bool { return true }
func (g *generationLog) WithAttrs([]slog.Attr) slog.Handler       { return g }
func (g *generationLog) WithGroup(string) slog.Handler            { return g }
func (g *generationLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "groupcoord: group joined" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "members" {
			g.mu.Lock()
			g.members = append(g.members, a.Value.Int64())
			g.mu.Unlock()
		}
		return true
	})
	return nil
}

func (g *generationLog) generations() []int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int64(nil), g.members...)
}

// The stream threads an application starts together form the group's first
// generation together, so each gets its tasks at once: no generation with
// some of them only, and no cooperative follow-up moving tasks between them.
func TestThreadsStartedTogetherJoinInOneGeneration(t *testing.T) {
	const threads = 4
	gens := &generationLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := brokerlite.Start(ctx, brokerlite.Config{Logger: slog.New(gens), Properties: map[string]string{
		"listeners":                        "PLAINTEXT://127.0.0.1:0",
		"log.dirs":                         t.TempDir(),
		"group.initial.rebalance.delay.ms": "0",
		"offsets.topic.num.partitions":     "1",
	}})
	must(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b.Close(ctx)
	})
	addrs := []string{b.Addr()}
	createTopic(t, addrs, 4, "cohort-in", "cohort-out")
	app := startApp(t, buildWordCount(t, "cohort-in", "cohort-out"), streams.Properties{
		"application.id":     "cohort",
		"bootstrap.servers":  strings.Join(addrs, ","),
		"num.stream.threads": "4",
		"state.dir":          t.TempDir(),
	})
	// 2 sub-topologies x 4 partitions, one thread each at most 2.
	if !testutil.Poll(20*time.Second, func() bool { return len(app.Tasks()) == 8 }) {
		t.Fatalf("tasks %+v, want 8 (state %s, err %v)", app.Tasks(), app.State(), app.Err())
	}
	perThread := map[string]int{}
	for _, task := range app.Tasks() {
		perThread[task.Thread]++
	}
	if len(perThread) != threads {
		t.Errorf("tasks by thread %v, want all %d threads running tasks", perThread, threads)
	}
	if g := gens.generations(); len(g) != 1 || g[0] != threads {
		t.Errorf("generations completed with members %v, want one generation of %d members", g, threads)
	}
}
