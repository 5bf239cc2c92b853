package console_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/brokerlite"
	"github.com/rivulet-io/rivulet/client"
	"github.com/rivulet-io/rivulet/console"
	"github.com/rivulet-io/rivulet/examples/wordcount/wordcount"
	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/httpjson"
)

// env is a broker with a running word count (HTTP endpoint on) and a
// console pointed at both.
type env struct {
	broker  *brokerlite.Broker
	app     *streams.App
	console *console.Server
	base    string
}

func startEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := brokerlite.Start(ctx, brokerlite.Config{Logger: slog.New(slog.DiscardHandler), Properties: map[string]string{
		"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": t.TempDir(),
		"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "1",
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic(wordcount.DefaultInputTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopics(ctx, 2, 1, nil, wordcount.DefaultInputTopic, wordcount.DefaultOutputTopic); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"all streams lead to kafka", "hello kafka streams", "join kafka summit"} {
		rec := &kgo.Record{Key: []byte(line[:3]), Value: []byte(line), Headers: []kgo.RecordHeader{{Key: "source", Value: []byte("test")}}}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	topo, err := wordcount.Topology(wordcount.Options{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := streams.New(topo, streams.Properties{
		"application.id": "wordcount", "bootstrap.servers": b.Addr(), "state.dir": t.TempDir(),
		"commit.interval.ms": "100", "metrics.recording.level": "DEBUG", streams.PropHTTPListener: "127.0.0.1:0",
	}, streams.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		app.Close(ctx)
	})
	srv, err := console.New(console.Config{
		ClientProperties: client.Properties{"bootstrap.servers": b.Addr()},
		Apps:             []string{"http://" + app.HTTPAddr()},
		Listen:           "127.0.0.1:0",
		Logger:           slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(context.Background()) })
	return &env{broker: b, app: app, console: srv, base: "http://" + srv.Addr()}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return resp.StatusCode
}

// TestConsoleAPI checks the JSON the page is drawn from: topics with
// offsets and sizes, configs, the message browser's decoding, the group
// with its lag reaching 0, and the app's status and topology.
func TestConsoleAPI(t *testing.T) {
	e := startEnv(t)
	var cluster console.ClusterView
	if code := getJSON(t, e.base+"/api/cluster", &cluster); code != http.StatusOK {
		t.Fatalf("/api/cluster: %d", code)
	}
	found := false
	for _, tv := range cluster.Topics {
		if tv.Name == wordcount.DefaultInputTopic {
			found = true
			if len(tv.Partitions) != 2 || tv.Messages != 3 || tv.Size <= 0 {
				t.Errorf("input topic %+v", tv)
			}
		}
	}
	if !found {
		t.Fatalf("no input topic in %+v", cluster.Topics)
	}
	var cfgs struct{ Configs []console.ConfigView }
	getJSON(t, e.base+"/api/topics/"+wordcount.DefaultInputTopic+"/configs", &cfgs)
	if len(cfgs.Configs) == 0 {
		t.Error("no configs")
	}
	// Messages of both partitions: 3 records, headers decoded.
	var all []console.MessageView
	for p := 0; p < 2; p++ {
		var m struct{ Messages []console.MessageView }
		if code := getJSON(t, e.base+"/api/topics/"+wordcount.DefaultInputTopic+"/messages?partition="+strconv.Itoa(p)+"&limit=10", &m); code != http.StatusOK {
			t.Fatalf("messages: %d", code)
		}
		all = append(all, m.Messages...)
	}
	if len(all) != 3 || *all[0].Key == "" || len(all[0].Headers) != 1 || all[0].Headers[0].Value != "test" {
		t.Errorf("messages %+v", all)
	}
	var bad map[string]string
	if code := getJSON(t, e.base+"/api/topics/x/messages?limit=0", &bad); code != http.StatusBadRequest {
		t.Errorf("limit=0: %d %v", code, bad)
	}
	// The output as int64 values (LongDeserializer).
	var groups struct{ Groups []console.GroupView }
	var counts map[string]string
	if !testutil.Poll(30*time.Second, func() bool {
		groups.Groups = nil
		getJSON(t, e.base+"/api/groups", &groups)
		ok := false
		for _, g := range groups.Groups {
			if g.Group == "wordcount" && len(g.Members) == 1 && len(g.Lag) > 0 && g.TotalLag == 0 {
				ok = true
			}
		}
		var m struct{ Messages []console.MessageView }
		getJSON(t, e.base+"/api/topics/"+wordcount.DefaultOutputTopic+"/messages?partition=0&value=int64&limit=100", &m)
		var m1 struct{ Messages []console.MessageView }
		getJSON(t, e.base+"/api/topics/"+wordcount.DefaultOutputTopic+"/messages?partition=1&value=int64&limit=100", &m1)
		counts = map[string]string{}
		for _, r := range append(m.Messages, m1.Messages...) {
			counts[*r.Key] = *r.Value
		}
		return ok && counts["kafka"] == "3" && counts["streams"] == "2"
	}) {
		t.Fatalf("groups %+v, counts %v", groups, counts)
	}
	var apps struct{ Apps []console.AppView }
	getJSON(t, e.base+"/api/apps", &apps)
	var st httpjson.StatusView
	var topo httpjson.TopologyView
	if len(apps.Apps) != 1 || apps.Apps[0].Error != "" || json.Unmarshal(apps.Apps[0].Status, &st) != nil || json.Unmarshal(apps.Apps[0].Topology, &topo) != nil {
		t.Fatalf("apps %+v", apps)
	}
	if st.ApplicationID != "wordcount" || len(st.Instances) != 1 || len(topo.Subtopologies) != 2 {
		t.Errorf("app status %+v, topology %+v", st, topo)
	}
}

// chromium finds the browser, or skips (only outside CI) with how to
// install it.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("chromium is not installed: run `bash scripts/install-tools.sh` (or `apt-get install chromium`) to run the console's browser test")
	}
	t.Fatal("chromium is not installed (scripts/install-tools.sh installs it in CI)")
	return ""
}

// TestConsoleInBrowser loads the console in headless Chromium against a
// running broker and word count, and finds in the rendered page the
// topology graph's nodes, the word count group's lag and the task table.
// It writes a screenshot (path in the log; RIVULET_CONSOLE_SCREENSHOT
// chooses it).
func TestConsoleInBrowser(t *testing.T) {
	exe := chromium(t)
	e := startEnv(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 2000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The first call starts the browser and must not carry a timeout (it
	// would stop the browser); the later ones are bounded.
	if err := chromedp.Do(bctx, chromedp.Navigate(e.base+"/")); err != nil {
		t.Fatalf("loading the console: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.WaitVisible(`svg.topology g.node`),
		chromedp.WaitVisible(`table.tasks tbody tr`),
		chromedp.WaitVisible(`span.lag.total[data-group="wordcount"]`),
	)
	if err != nil {
		t.Fatalf("the console never showed the graph, tasks and group: %v", err)
	}
	eval := func(expr string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return n
	}
	// Poll the rendered page until the word count has caught up (lag 0 and
	// per-node counts drawn).
	var nodes, taskRows, notes int
	var groupLag string
	if !testutil.Poll(60*time.Second, func() bool {
		nodes = eval(`document.querySelectorAll("svg.topology g.node").length`)
		taskRows = eval(`document.querySelectorAll("table.tasks tbody tr").length`)
		notes = eval(`document.querySelectorAll("svg.topology text.note").length`)
		lag, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('span.lag.total[data-group="wordcount"]').textContent`))
		if err != nil {
			t.Fatal(err)
		}
		groupLag = lag
		return nodes > 0 && taskRows == 4 && groupLag == "0" && notes == nodes
	}) {
		t.Fatalf("rendered page: %d graph nodes (%d with counts), %d task rows, group lag %q", nodes, notes, taskRows, groupLag)
	}
	want := 0
	for _, s := range e.app.Topology().Describe().Subtopologies {
		want += len(s.Nodes)
	}
	if nodes != want {
		t.Errorf("%d graph nodes, the topology has %d", nodes, want)
	}
	if n := eval(`document.querySelectorAll('table.topics tr[data-topic="wordcount-input"]').length`); n != 2 {
		t.Errorf("topic table rows of the input topic: %d", n)
	}
	// The message browser reads the input topic, headers decoded.
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById("b-topic").value = "wordcount-input"; document.querySelector("#browse button").click()`),
		chromedp.WaitVisible(`#messages-body tr`),
	); err != nil {
		t.Fatalf("message browser: %v", err)
	}
	var cells string
	cells, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("messages-body").textContent`))
	if err != nil || !strings.Contains(cells, "source:test") || !strings.Contains(cells, "kafka") {
		t.Errorf("message browser shows %q (%v)", cells, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := os.Getenv("RIVULET_CONSOLE_SCREENSHOT")
	if path == "" {
		path = filepath.Join(os.TempDir(), "rivulet-console.png")
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the console: %s (%d bytes)", path, len(png))
}
