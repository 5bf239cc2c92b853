package streams_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/httpjson"
)

// windowedQueryTopology counts records per key in one-minute windows
// ("per-minute") and in sessions with a five-minute gap ("sessions"), and,
// when prices is set, keeps a versioned table of it ("prices").
func windowedQueryTopology(t *testing.T, in, prices string) *streams.Topology {
	b := streams.NewBuilder()
	grouped := streams.NewStream(b, in, streams.ConsumedWith(ss, ss)).GroupByKey()
	streams.WindowedBy(grouped, streams.TimeWindowsOfSizeWithNoGrace(time.Minute)).
		Count(streams.MaterializedAs[string, int64]("per-minute").WithRetention(time.Hour))
	streams.WindowedBySession(grouped, streams.SessionWindowsOfInactivityGapWithNoGrace(5*time.Minute)).
		Count(streams.MaterializedAs[string, int64]("sessions").WithRetention(time.Hour))
	if prices != "" {
		streams.NewTable(b, prices, streams.ConsumedWith(ss, ss),
			streams.MaterializedAs[string, string]("prices").WithVersioning(time.Hour))
		streams.NewTable(b, prices+"-by-id", streams.ConsumedWith(streams.Int64Serde(), ss),
			streams.MaterializedAs[int64, string]("by-id"))
	}
	return build(t, b)
}

// windowedRecords are the records of the window and session queries:
// alice at 1s, 30s, 70s and 1000s, bob at 45s and 400s.
func windowedRecords(in string) []*kgo.Record {
	at := func(key string, ms int64) *kgo.Record {
		return &kgo.Record{Topic: in, Key: []byte(key), Value: []byte("x"), Timestamp: time.UnixMilli(ms)}
	}
	return []*kgo.Record{at("alice", 1_000), at("alice", 30_000), at("bob", 45_000),
		at("alice", 70_000), at("bob", 400_000), at("alice", 1_000_000)}
}

// renderEntries writes entries as key@start-end=value(timestamp), checking
// that the RFC 3339 bounds match the epoch ms ones.
func renderEntries(t *testing.T, es []httpjson.StoreEntry) string {
	t.Helper()
	var parts []string
	for _, e := range es {
		if e.Window == nil {
			t.Fatalf("entry without a window: %+v", e)
		}
		for _, b := range []struct {
			ms   int64
			text string
		}{{e.Window.Start, e.Window.StartTime}, {e.Window.End, e.Window.EndTime}} {
			tm, err := time.Parse(time.RFC3339Nano, b.text)
			if err != nil || tm.UnixMilli() != b.ms {
				t.Fatalf("window bound %d shown as %q", b.ms, b.text)
			}
		}
		s := fmt.Sprintf("%v@%d-%d=%v", e.Key, e.Window.Start, e.Window.End, e.Value)
		if e.Timestamp != nil {
			s += fmt.Sprintf("(%d)", *e.Timestamp)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// getRange answers GET url as a httpjson.StoreRange, with its status code.
func getRange(t *testing.T, u string) (int, httpjson.StoreRange, string) {
	t.Helper()
	code, body := httpGet(t, u)
	var r httpjson.StoreRange
	if code == http.StatusOK {
		must(t, json.Unmarshal([]byte(body), &r))
	}
	return code, r, body
}

// TestHTTPWindowSessionVersionedQueries queries a windowed count, a
// session count and a versioned table through the HTTP endpoint: a key's
// windows and sessions in a time range given in ms or RFC 3339, key ranges
// with time ranges and a limit, a key as of a time, and 400s for bad
// parameters.
func TestHTTPWindowSessionVersionedQueries(t *testing.T) {
	br := startBrokerlite(t)
	id := uniq("http-iqw")
	in, prices := id+"-in", id+"-prices"
	createTopic(t, br.addrs, 2, in, prices, prices+"-by-id")
	app := startApp(t, windowedQueryTopology(t, in, prices), streams.Properties{
		"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
		"commit.interval.ms": "100", streams.PropHTTPListener: "127.0.0.1:0",
	})
	base := "http://" + app.HTTPAddr()
	produce(t, br.addrs, windowedRecords(in)...)
	price := func(v string, ms int64) *kgo.Record {
		return &kgo.Record{Topic: prices, Key: []byte("apple"), Value: []byte(v), Timestamp: time.UnixMilli(ms)}
	}
	produce(t, br.addrs, price("1.10", 1_000), price("1.25", 5_000))

	want := "alice@0-60000=2(30000) alice@60000-120000=1(70000) alice@960000-1020000=1(1000000) bob@0-60000=1(45000) bob@360000-420000=1(400000)"
	var code int
	var body string
	if !testutil.Poll(30*time.Second, func() bool {
		var r httpjson.StoreRange
		code, r, body = getRange(t, base+"/stores/per-minute")
		if code == http.StatusOK && renderEntries(t, r.Entries) == want {
			vcode, vbody := httpGet(t, base+"/stores/prices/keys/apple")
			return vcode == http.StatusOK && strings.Contains(vbody, "1.25")
		}
		return false
	}) {
		t.Fatalf("/stores/per-minute = %d %s, want %s", code, body, want)
	}

	for _, c := range []struct{ path, want string }{
		// A key's windows by start, in ms and in RFC 3339.
		{"/stores/per-minute/keys/alice?from=0&to=60000", "alice@0-60000=2(30000) alice@60000-120000=1(70000)"},
		{"/stores/per-minute/keys/alice?from=1970-01-01T00:01:00Z", "alice@60000-120000=1(70000) alice@960000-1020000=1(1000000)"},
		{"/stores/per-minute/keys/bob", "bob@0-60000=1(45000) bob@360000-420000=1(400000)"},
		{"/stores/per-minute/keys/bob?from=100000&to=200000", ""},
		{"/stores/per-minute/keys/nobody", ""},
		// Key ranges with time ranges.
		{"/stores/per-minute?from=alice&to=bob&timeFrom=0&timeTo=100000", "alice@0-60000=2(30000) alice@60000-120000=1(70000) bob@0-60000=1(45000)"},
		{"/stores/per-minute?from=b&timeTo=1970-01-01T00:10:00Z", "bob@0-60000=1(45000) bob@360000-420000=1(400000)"},
		// A key's sessions, all or within times.
		{"/stores/sessions/keys/alice", "alice@1000-70000=3 alice@1000000-1000000=1"},
		{"/stores/sessions/keys/alice?from=80000", "alice@1000000-1000000=1"},
		{"/stores/sessions/keys/bob?from=0&to=100000", "bob@45000-45000=1"},
		{"/stores/sessions", "alice@1000-70000=3 alice@1000000-1000000=1 bob@45000-45000=1 bob@400000-400000=1"},
		{"/stores/sessions?from=alice&to=alice&timeFrom=100000", "alice@1000000-1000000=1"},
		{"/stores/sessions?timeFrom=0&timeTo=100000", "alice@1000-70000=3 bob@45000-45000=1"},
	} {
		code, r, body := getRange(t, base+c.path)
		if code != http.StatusOK || renderEntries(t, r.Entries) != c.want {
			t.Errorf("%s = %d %s, want %s", c.path, code, body, c.want)
		}
	}
	code, r, body := getRange(t, base+"/stores/per-minute?timeFrom=0&timeTo=100000&limit=2")
	if code != http.StatusOK || renderEntries(t, r.Entries) != "alice@0-60000=2(30000) alice@60000-120000=1(70000)" || !r.More {
		t.Errorf("limit 2: %d %s", code, body)
	}

	// A versioned table: a key now and as of a time.
	for _, c := range []struct {
		query string
		code  int
		value string
		ts    int64
	}{
		{"", http.StatusOK, "1.25", 5_000},
		{"?asOf=3000", http.StatusOK, "1.10", 1_000},
		{"?asOf=" + url.QueryEscape("1970-01-01T00:00:04.999Z"), http.StatusOK, "1.10", 1_000},
		{"?asOf=5000", http.StatusOK, "1.25", 5_000},
		{"?asOf=999", http.StatusNotFound, "", 0},
	} {
		code, body := httpGet(t, base+"/stores/prices/keys/apple"+c.query)
		var e httpjson.StoreEntry
		if code == http.StatusOK {
			must(t, json.Unmarshal([]byte(body), &e))
		}
		if code != c.code || (code == http.StatusOK && (e.Value != c.value || e.Timestamp == nil || *e.Timestamp != c.ts)) {
			t.Errorf("prices/keys/apple%s = %d %s, want %d %s@%d", c.query, code, body, c.code, c.value, c.ts)
		}
	}

	// Bad parameters: 400 with a message naming the parameter.
	for path, word := range map[string]string{
		"/stores/per-minute/keys/alice?from=yesterday":   "from",
		"/stores/per-minute/keys/alice?from=10&to=5":     "after",
		"/stores/per-minute/keys/alice?asOf=5":           "asOf",
		"/stores/per-minute?timeFrom=x":                  "timeFrom",
		"/stores/per-minute?limit=-1":                    "limit",
		"/stores/sessions/keys/alice?to=2026-13-01":      "to",
		"/stores/prices/keys/apple?asOf=noon":            "asOf",
		"/stores/prices/keys/apple?from=0":               "from",
		"/stores/prices":                                 "one key at a time",
		"/stores/prices?from=a":                          "one key at a time",
		"/stores/KSTREAM-AGGREGATE-STATE-STORE-x/keys/a": "no store",
	} {
		code, body := httpGet(t, base+path)
		wantCode := http.StatusBadRequest
		if strings.Contains(path, "KSTREAM") {
			wantCode = http.StatusNotFound
		}
		if code != wantCode || !strings.Contains(body, word) {
			t.Errorf("%s = %d %s, want %d naming %q", path, code, body, wantCode, word)
		}
	}
	// A key that does not parse as the store's key type, in a range: 400.
	if !testutil.Poll(30*time.Second, func() bool {
		code, body = httpGet(t, base+"/stores/by-id?from=first")
		if code == http.StatusBadRequest && strings.Contains(body, "from") {
			return true
		}
		if code != http.StatusServiceUnavailable {
			t.Fatalf("/stores/by-id?from=first = %d %s, want 400 naming from", code, body)
		}
		return false
	}) {
		t.Fatalf("/stores/by-id?from=first = %d %s, want 400 naming from", code, body)
	}
	if _, body := httpGet(t, base+"/stores"); strings.Count(body, `"queryable": true`) != 4 || !strings.Contains(body, `"kind": "session"`) {
		t.Errorf("/stores: %s", body)
	}
}

// serveAppAt serves app's HTTP endpoint on ln until the test ends.
func serveAppAt(t *testing.T, app *streams.App, ln net.Listener) {
	srv := &http.Server{Handler: app.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
}

// TestHTTPForwardsWindowQueries runs two instances with application.server
// set to their endpoints: every key's windows and sessions are answered by
// both, each forwarding to the instance that owns the key, and a key range
// is gathered from both.
func TestHTTPForwardsWindowQueries(t *testing.T) {
	br := startBrokerlite(t)
	id := uniq("http-iqfw")
	in := id + "-in"
	createTopic(t, br.addrs, 2, in)
	topo := windowedQueryTopology(t, in, "")
	var apps []*streams.App
	var bases []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		app := startApp(t, topo, streams.Properties{
			"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
			"commit.interval.ms": "100", streams.PropApplicationServer: ln.Addr().String(),
		})
		serveAppAt(t, app, ln)
		apps = append(apps, app)
		bases = append(bases, "http://"+ln.Addr().String())
	}
	produce(t, br.addrs, windowedRecords(in)...)

	wantWindows := map[string]string{
		"alice": "alice@0-60000=2(30000) alice@60000-120000=1(70000) alice@960000-1020000=1(1000000)",
		"bob":   "bob@0-60000=1(45000) bob@360000-420000=1(400000)",
	}
	wantSessions := map[string]string{
		"alice": "alice@1000-70000=3 alice@1000000-1000000=1",
		"bob":   "bob@45000-45000=1 bob@400000-400000=1",
	}
	// Settled: each instance runs one of the two tasks, and both answer
	// every key from its owner.
	var hosts map[string]bool
	if !testutil.Poll(60*time.Second, func() bool {
		settled := true
		hosts = map[string]bool{}
		for _, app := range apps {
			st := app.State()
			if st != streams.StateRunning {
				settled = false
			}
		}
		for key := range wantWindows {
			owner, ok := apps[0].MetadataForKey("per-minute", []byte(key), nil)
			if !ok {
				settled = false
				continue
			}
			for _, base := range bases {
				for store, want := range map[string]string{"per-minute": wantWindows[key], "sessions": wantSessions[key]} {
					code, r, _ := getRange(t, base+"/stores/"+store+"/keys/"+key)
					if code != http.StatusOK || renderEntries(t, r.Entries) != want || r.Host != owner.Endpoint() {
						settled = false
					}
					hosts[r.Host] = true
				}
			}
		}
		for _, app := range apps {
			if len(app.MetadataForStore("per-minute")) != 2 {
				settled = false
			}
		}
		return settled && len(hosts) == 2
	}) {
		for _, base := range bases {
			for key := range wantWindows {
				code, body := httpGet(t, base+"/stores/per-minute/keys/"+key)
				t.Logf("%s %s: %d %s", base, key, code, body)
			}
		}
		t.Fatalf("the instances never answered every key from its owner (hosts seen %v)", hosts)
	}
	// The time range goes with a forwarded query.
	for _, base := range bases {
		for path, want := range map[string]string{
			"/stores/per-minute/keys/alice?from=60000":            "alice@60000-120000=1(70000) alice@960000-1020000=1(1000000)",
			"/stores/per-minute/keys/bob?to=1970-01-01T00:01:00Z": "bob@0-60000=1(45000)",
			"/stores/sessions/keys/alice?to=100000":               "alice@1000-70000=3",
			"/stores/sessions/keys/bob?from=100000":               "bob@400000-400000=1",
		} {
			code, r, body := getRange(t, base+path)
			if code != http.StatusOK || renderEntries(t, r.Entries) != want {
				t.Errorf("%s%s = %d %s, want %s", base, path, code, body, want)
			}
		}
		if code, body := httpGet(t, base+"/stores/per-minute/keys/bob?from=x"); code != http.StatusBadRequest {
			t.Errorf("%s: bad from: %d %s", base, code, body)
		}
	}
	// A key range with a time range, gathered from both instances.
	for _, base := range bases {
		code, r, body := getRange(t, base+"/stores/per-minute?timeFrom=0&timeTo=100000")
		if code != http.StatusOK || renderEntries(t, r.Entries) != "alice@0-60000=2(30000) alice@60000-120000=1(70000) bob@0-60000=1(45000)" {
			t.Errorf("%s range: %d %s", base, code, body)
		}
		code, r, body = getRange(t, base+"/stores/sessions?from=b")
		if code != http.StatusOK || renderEntries(t, r.Entries) != wantSessions["bob"] {
			t.Errorf("%s sessions range: %d %s", base, code, body)
		}
	}
}
