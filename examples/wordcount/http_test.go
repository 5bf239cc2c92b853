package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams/httpjson"
)

// countAnswer is the JSON of /stores/counts/keys/{word}.
type countAnswer struct {
	Word  string `json:"key"`
	Count int64  `json:"value"`
	Host  string `json:"host"`
}

// countsAnswer is the JSON of /stores/counts.
type countsAnswer struct {
	Counts []countAnswer `json:"entries"`
	More   bool          `json:"more"`
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decode: %v", url, err)
	}
	return resp.StatusCode
}

// TestInteractiveQueries runs two instances of the program with
// application.server set, so each serves the query endpoint; a word's
// count is answered by either instance (by the owner, forwarded when the
// word's task runs on the other one), /counts gathers every instance's
// words, and /status lists both instances.
func TestInteractiveQueries(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := startBroker(t, ctx, nil)

	type instance struct {
		addr string
		logs *testutil.Buffer
		done chan error
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	start := func() *instance {
		in := &instance{addr: freePort(t), logs: new(testutil.Buffer), done: make(chan error, 1)}
		go func() {
			in.done <- run(runCtx, []string{"--bootstrap-server", b.Addr(), "--state-dir", t.TempDir(), "--partitions", "2",
				"--application-id", "wc-iq", "--property", "commit.interval.ms=100",
				"--property", "application.server=" + in.addr}, in.logs)
		}()
		awaitLog(t, ctx, in.done, in.logs, "interactive queries on", "the program never served queries")
		return in
	}
	insts := []*instance{start(), start()}

	lines := []string{"all streams lead to Kafka", "hello kafka streams", "join kafka summit", "zebra apple mango kiwi"}
	want := map[string]int64{}
	for _, l := range lines {
		for _, w := range strings.Fields(strings.ToLower(l)) {
			want[w]++
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic("wordcount-input"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produceLines(t, ctx, cl, lines...)

	// Both instances run tasks, and every word is answered by both.
	forwarded := map[string]bool{}
	var st httpjson.StatusView
	end, _ := ctx.Deadline()
	if !testutil.Poll(time.Until(end), func() bool {
		ok := true
		st = httpjson.StatusView{}
		if getJSON(t, "http://"+insts[0].addr+"/status", &st) != http.StatusOK || len(st.Instances) != 2 ||
			len(st.Instances[0].Active) == 0 || len(st.Instances[1].Active) == 0 {
			ok = false
		}
		for w, n := range want {
			for _, in := range insts {
				var ans countAnswer
				if getJSON(t, "http://"+in.addr+"/stores/counts/keys/"+w, &ans) != http.StatusOK || ans.Count != n {
					ok = false
					continue
				}
				if ans.Host != in.addr {
					forwarded[in.addr] = true
				}
			}
		}
		return ok
	}) {
		t.Fatalf("never answered every word on both instances; status %+v\nlogs:\n%s\n%s", st, insts[0].logs, insts[1].logs)
	}
	if len(forwarded) != 2 {
		t.Errorf("queries forwarded by %v, want both instances (the words spread over both)", forwarded)
	}
	var miss map[string]string
	if code := getJSON(t, "http://"+insts[1].addr+"/stores/counts/keys/nosuchword", &miss); code != http.StatusNotFound {
		t.Errorf("absent word: HTTP %d %v", code, miss)
	}

	var words []string
	for w := range want {
		words = append(words, w)
	}
	sort.Strings(words)
	var all countsAnswer
	if code := getJSON(t, "http://"+insts[1].addr+"/stores/counts", &all); code != http.StatusOK {
		t.Fatalf("/stores/counts: HTTP %d", code)
	}
	if len(all.Counts) != len(words) || all.More {
		t.Fatalf("/stores/counts = %+v, want %v", all, want)
	}
	for i, wc := range all.Counts {
		if wc.Word != words[i] || wc.Count != want[wc.Word] {
			t.Fatalf("/stores/counts[%d] = %+v, want %s=%d", i, wc, words[i], want[words[i]])
		}
	}
	var part countsAnswer
	getJSON(t, "http://"+insts[0].addr+"/stores/counts?from=b&to=l&limit=2", &part)
	var inRange []string
	for _, w := range words {
		if w >= "b" && w <= "l" {
			inRange = append(inRange, w)
		}
	}
	if len(part.Counts) != 2 || !part.More || part.Counts[0].Word != inRange[0] || part.Counts[1].Word != inRange[1] {
		t.Errorf("/stores/counts?from=b&to=l&limit=2 = %+v, want the first two of %v and more", part, inRange)
	}
	var local countsAnswer
	getJSON(t, "http://"+insts[0].addr+"/stores/counts?local=1", &local)
	if len(local.Counts) == 0 || len(local.Counts) >= len(words) {
		t.Errorf("local counts of one instance: %d words of %d", len(local.Counts), len(words))
	}
	var bad map[string]string
	if code := getJSON(t, "http://"+insts[0].addr+"/stores/counts?limit=x", &bad); code != http.StatusBadRequest {
		t.Errorf("bad limit: HTTP %d", code)
	}

	stop()
	for _, in := range insts {
		if err := <-in.done; err != nil {
			t.Fatalf("run: %v\nlogs:\n%s", err, in.logs)
		}
	}
}
