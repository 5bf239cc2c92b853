package main

// The interactive-query endpoint (issue 8), as Kafka Streams'
// WordCountInteractiveQueriesExample: when application.server is set
// (--property application.server=host:port), the program serves HTTP on
// that address:
//
//	GET /count/{word}               the word's count, from the instance that
//	                                owns it (asked over HTTP when not this one)
//	GET /counts?from=a&to=m&limit=N counts of the words in [from, to] (both
//	                                optional), gathered from every instance
//	GET /status                     this instance's App.Status as JSON
//
// Add local=1 to /count and /counts to read only this instance's stores
// (what instances use between themselves). Answers are JSON; a word no
// instance counted is 404; a store in the middle of a rebalance is 503 with
// Retry-After.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/rivulet-io/rivulet/examples/wordcount/wordcount"
	"github.com/rivulet-io/rivulet/streams"
)

func init() {
	hooks = append(hooks, hook{start: startHTTP})
}

// countAnswer is the JSON of /count/{word}.
type countAnswer struct {
	Word  string `json:"word"`
	Count int64  `json:"count"`
	// Host is the application.server of the instance that answered.
	Host string `json:"host"`
}

// countsAnswer is the JSON of /counts.
type countsAnswer struct {
	Counts []wordCount `json:"counts"`
	// More is set when limit cut the answer short.
	More bool `json:"more,omitempty"`
}

type wordCount struct {
	Word  string `json:"word"`
	Count int64  `json:"count"`
}

// queryServer answers interactive queries for one app.
type queryServer struct {
	app    *streams.App
	self   string
	store  *streams.KeyValueQuery[string, int64]
	client *http.Client
	logger *slog.Logger
}

// startHTTP serves the endpoint on application.server, when set.
func startHTTP(_ context.Context, app *streams.App, logger *slog.Logger) (func(context.Context) error, error) {
	self := app.Config().ApplicationServer
	if self == "" {
		return nil, nil
	}
	store, err := streams.QueryKeyValueStore[string, int64](app, wordcount.DefaultStoreName)
	if err != nil {
		return nil, err
	}
	qs := &queryServer{app: app, self: self, store: store, client: &http.Client{Timeout: 10 * time.Second}, logger: logger}
	ln, err := net.Listen("tcp", self)
	if err != nil {
		return nil, fmt.Errorf("interactive queries: listen on application.server %s: %w", self, err)
	}
	srv := &http.Server{Handler: qs.handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	logger.Info("wordcount: interactive queries on http://"+ln.Addr().String(), "endpoints", "/count/{word} /counts?from=&to=&limit= /status")
	return func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		return err
	}, nil
}

func (qs *queryServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /count/{word}", qs.count)
	mux.HandleFunc("GET /counts", qs.counts)
	mux.HandleFunc("GET /status", qs.status)
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, streams.ErrStoreNotAvailable) || errors.Is(err, streams.ErrNotRunning) {
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

// count answers GET /count/{word}: locally when this instance owns the
// word's task (or when asked with local=1), else from the owner.
func (qs *queryServer) count(w http.ResponseWriter, r *http.Request) {
	word := r.PathValue("word")
	if r.URL.Query().Get("local") == "" {
		// The store's key serde is StringSerde: the key bytes are the word.
		owner, ok := qs.app.MetadataForKey(wordcount.DefaultStoreName, []byte(word), nil)
		if !ok {
			writeError(w, fmt.Errorf("no instance runs the task of %q now: %w", word, streams.ErrStoreNotAvailable))
			return
		}
		if owner.Endpoint() != qs.self {
			qs.forward(w, r, owner.Endpoint(), "/count/"+url.PathEscape(word))
			return
		}
	}
	n, found, err := qs.store.Get(word)
	if err != nil {
		writeError(w, err)
		return
	}
	if !found {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("%q not counted", word)})
		return
	}
	writeJSON(w, http.StatusOK, countAnswer{Word: word, Count: n, Host: qs.self})
}

// forward relays a local query to another instance.
func (qs *queryServer) forward(w http.ResponseWriter, r *http.Request, endpoint, path string) {
	body, code, err := qs.ask(r.Context(), endpoint, path, r.URL.Query())
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(body)
}

// ask sends GET path?query&local=1 to endpoint.
func (qs *queryServer) ask(ctx context.Context, endpoint, path string, query url.Values) ([]byte, int, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("local", "1")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+endpoint+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := qs.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("asking %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	var buf json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&buf); err != nil {
		return nil, 0, fmt.Errorf("answer of %s: %w", endpoint, err)
	}
	return buf, resp.StatusCode, nil
}

// counts answers GET /counts?from=&to=&limit=: this instance's words, plus
// every other instance's (asked with local=1) unless local=1.
func (qs *queryServer) counts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit: want a number >= 0"})
			return
		}
		limit = n
	}
	from, to := q.Get("from"), q.Get("to")
	var (
		kvs  []streams.KeyValue[string, int64]
		more bool
		err  error
	)
	if from == "" && to == "" {
		kvs, more, err = qs.store.All(limit)
	} else {
		if to == "" {
			to = "\U0010FFFF" // above every word
		}
		kvs, more, err = qs.store.Range(from, to, limit)
	}
	if err != nil && !(errors.Is(err, streams.ErrStoreNotAvailable) && q.Get("local") == "") {
		writeError(w, err) // an instance with no task of the store has nothing local
		return
	}
	ans := countsAnswer{More: more}
	for _, kv := range kvs {
		ans.Counts = append(ans.Counts, wordCount{Word: kv.Key, Count: kv.Value})
	}
	if q.Get("local") == "" {
		for _, m := range qs.app.MetadataForStore(wordcount.DefaultStoreName) {
			if m.Endpoint() == qs.self || len(m.ActiveTasks) == 0 {
				continue
			}
			body, code, err := qs.ask(r.Context(), m.Endpoint(), "/counts", q)
			if err != nil || code != http.StatusOK {
				writeJSON(w, http.StatusBadGateway, map[string]string{"error": fmt.Sprintf("asking %s: %v (HTTP %d: %s)", m.Endpoint(), err, code, body)})
				return
			}
			var part countsAnswer
			if err := json.Unmarshal(body, &part); err != nil {
				writeJSON(w, http.StatusBadGateway, map[string]string{"error": fmt.Sprintf("answer of %s: %v", m.Endpoint(), err)})
				return
			}
			ans.Counts = append(ans.Counts, part.Counts...)
			ans.More = ans.More || part.More
		}
		sort.Slice(ans.Counts, func(i, j int) bool { return ans.Counts[i].Word < ans.Counts[j].Word })
		if limit > 0 && len(ans.Counts) > limit {
			ans.Counts, ans.More = ans.Counts[:limit], true
		}
	}
	if ans.Counts == nil {
		ans.Counts = []wordCount{}
	}
	writeJSON(w, http.StatusOK, ans)
}

// status answers GET /status.
func (qs *queryServer) status(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, err := qs.app.Status(ctx)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, statusJSON(st))
}

// statusView is App.Status as JSON, with states and task ids as text.
type statusView struct {
	ApplicationID string         `json:"application_id"`
	State         string         `json:"state"`
	Instances     []instanceView `json:"instances"`
}

type instanceView struct {
	Endpoint string     `json:"endpoint"`
	Local    bool       `json:"local,omitempty"`
	Threads  []string   `json:"threads,omitempty"`
	Active   []taskView `json:"active"`
	Standby  []taskView `json:"standby"`
}

type taskView struct {
	ID      string   `json:"id"`
	Threads []string `json:"threads,omitempty"`
	State   string   `json:"state,omitempty"`
	// Lags are -1 when unknown (tasks of other instances).
	InputLag     int64 `json:"input_lag"`
	ChangelogLag int64 `json:"changelog_lag"`
}

func statusJSON(st streams.Status) statusView {
	v := statusView{ApplicationID: st.ApplicationID, State: st.State.String(), Instances: []instanceView{}}
	tasks := func(ts []streams.TaskStatus) []taskView {
		out := []taskView{}
		for _, t := range ts {
			tv := taskView{ID: t.ID.String(), Threads: t.Threads, InputLag: t.InputLag, ChangelogLag: t.ChangelogLag}
			if t.State != 0 {
				tv.State = t.State.String()
			}
			out = append(out, tv)
		}
		return out
	}
	for _, in := range st.Instances {
		v.Instances = append(v.Instances, instanceView{Endpoint: in.Endpoint, Local: in.Local, Threads: in.Threads,
			Active: tasks(in.Active), Standby: tasks(in.Standby)})
	}
	return v
}
