package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rivulet-io/rivulet/streams/httpjson"
)

// The application's HTTP endpoint, off unless rivulet.http.listener is set:
//
//	GET /metrics                    Prometheus text of the app's metrics
//	GET /healthz                    200 while the app is alive (not ERROR, not NOT_RUNNING)
//	GET /readyz                     200 when RUNNING and the local input lag is at most rivulet.http.ready.max.lag
//	GET /status                     App.Status as JSON, with restores in flight
//	GET /topology?format=F          text (Kafka Streams' describe), mermaid, dot, svg or json
//	GET /stores                     the topology's stores
//	GET /stores/{store}/keys/{key}  one key's value, from the instance that owns it
//	    ?asOf=T                     versioned stores: the value at time T
//	    ?from=T&to=T                window stores: the key's windows starting in [from, to];
//	                                session stores: its sessions ending at or after from and starting at or before to
//	GET /stores/{store}?from=&to=&limit=  a key range gathered from every instance
//	    &timeFrom=T&timeTo=T        window and session stores: the time bounds as above
//
// Keys in URLs are text: as they are for string and []byte keys, JSON for
// other key types (numbers, structs). Times T are epoch milliseconds or
// RFC 3339. Values come back as JSON, windows and sessions with their
// bounds in epoch ms and RFC 3339. Add
// local=1 to the store queries to read only this instance's tasks (what
// instances use between themselves when they forward a query). A store in
// the middle of a rebalance answers 503 with Retry-After.
//
// Forwarding uses application.server: set it to the address other
// instances reach this endpoint at (usually the listener's).

// httpServer is a running endpoint.
type httpServer struct {
	srv  *http.Server
	addr string
	done chan error
}

// HTTPHandler returns the application's HTTP endpoint as a handler, for
// mounting in a server of one's own (the listener property starts one).
func (a *App) HTTPHandler() http.Handler {
	a.httpOnce.Do(func() { a.httpMux = a.newHTTPMux() })
	return a.httpMux
}

// HTTPAddr returns the address the HTTP endpoint listens on ("" when it
// is off).
func (a *App) HTTPAddr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.http == nil {
		return ""
	}
	return a.http.addr
}

// startHTTP starts the endpoint when a listener is configured.
func (a *App) startHTTP() error {
	addr := a.cfg.Ops.HTTPListener
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("streams: http endpoint: listen on %s: %w", addr, err)
	}
	s := &httpServer{
		srv:  &http.Server{Handler: a.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second},
		addr: ln.Addr().String(),
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	a.mu.Lock()
	a.http = s
	a.mu.Unlock()
	a.cfg.Logger.Info("streams: http endpoint", "application.id", a.cfg.ApplicationID, "url", "http://"+s.addr,
		"paths", "/metrics /healthz /readyz /status /topology /stores")
	return nil
}

// stopHTTP stops the endpoint, waiting at most 5s for requests in flight.
func (a *App) stopHTTP() {
	a.mu.Lock()
	s := a.http
	a.mu.Unlock()
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	if err := <-s.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.cfg.Logger.Warn("streams: http endpoint stopped", "err", err)
	}
}

// httpState holds the endpoint's lazily built handler.
type httpState struct {
	httpOnce sync.Once
	httpMux  *http.ServeMux
	http     *httpServer
	// httpClient asks other instances (forwarded queries).
	httpClient *http.Client
}

func (a *App) newHTTPMux() *http.ServeMux {
	a.httpClient = &http.Client{Timeout: 10 * time.Second}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metricsHandler())
	mux.HandleFunc("GET /healthz", a.serveHealthz)
	mux.HandleFunc("GET /readyz", a.serveReadyz)
	mux.HandleFunc("GET /status", a.serveStatus)
	mux.HandleFunc("GET /topology", a.serveTopology)
	mux.HandleFunc("GET /stores", a.serveStores)
	mux.HandleFunc("GET /stores/{store}", a.serveStoreRange)
	mux.HandleFunc("GET /stores/{store}/keys/{key}", a.serveStoreKey)
	return mux
}

func (a *App) metricsHandler() http.Handler {
	var g prometheus.Gatherer
	switch r := a.cfg.Registerer.(type) {
	case nil:
		g = a.metrics.registry
	case prometheus.Gatherer:
		g = r
	}
	if g == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeHTTPError(w, http.StatusNotFound, errors.New("streams: the metrics went to a Registerer that cannot be gathered; serve them where that registry is served"))
		})
	}
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeHTTPError(w http.ResponseWriter, code int, err error) {
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

// errorCode maps query errors to HTTP codes.
func errorCode(err error) int {
	if errors.Is(err, ErrStoreNotAvailable) || errors.Is(err, ErrNotRunning) {
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// serveHealthz: alive unless stopped or failed.
func (a *App) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	st := a.State()
	code := http.StatusOK
	switch st {
	case StateError, StatePendingError, StateNotRunning, StatePendingShutdown:
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"state": st.String(), "alive_stream_threads": a.aliveThreads()})
}

// serveReadyz: RUNNING and caught up within rivulet.http.ready.max.lag.
func (a *App) serveReadyz(w http.ResponseWriter, r *http.Request) {
	st := a.State()
	ans := map[string]any{"state": st.String(), "max_lag": a.cfg.Ops.ReadyMaxLag}
	if st != StateRunning {
		ans["ready"] = false
		ans["reason"] = "state is " + st.String()
		writeJSON(w, http.StatusServiceUnavailable, ans)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	status, err := a.Status(ctx)
	if err != nil {
		ans["ready"] = false
		ans["reason"] = err.Error()
		writeJSON(w, http.StatusServiceUnavailable, ans)
		return
	}
	var lag, restoring int64
	for _, in := range status.Instances {
		if !in.Local {
			continue
		}
		for _, t := range in.Active {
			if t.InputLag < 0 {
				ans["ready"] = false
				ans["reason"] = "the input lag of task " + t.ID.String() + " is unknown"
				writeJSON(w, http.StatusServiceUnavailable, ans)
				return
			}
			lag += t.InputLag
			if t.ChangelogLag > 0 {
				restoring += t.ChangelogLag
			}
		}
	}
	ans["input_lag"], ans["restore_remaining"] = lag, restoring
	if restoring > 0 {
		ans["ready"] = false
		ans["reason"] = fmt.Sprintf("restoring: %d changelog records left", restoring)
		writeJSON(w, http.StatusServiceUnavailable, ans)
		return
	}
	if lag > a.cfg.Ops.ReadyMaxLag {
		ans["ready"] = false
		ans["reason"] = fmt.Sprintf("input lag %d is above %d", lag, a.cfg.Ops.ReadyMaxLag)
		writeJSON(w, http.StatusServiceUnavailable, ans)
		return
	}
	ans["ready"] = true
	writeJSON(w, http.StatusOK, ans)
}

// serveStatus: App.Status as JSON, with the restores in flight.
func (a *App) serveStatus(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, err := a.Status(ctx)
	if err != nil {
		writeHTTPError(w, errorCode(err), err)
		return
	}
	v := st.View()
	for _, rs := range a.restoreStatuses() {
		v.Restores = append(v.Restores, httpjson.RestoreView{
			Thread: rs.Thread, Task: rs.Task.String(), Store: rs.Store, Changelog: rs.Changelog.String(),
			StartOffset: rs.StartOffset, EndOffset: rs.EndOffset, Restored: rs.Restored, Remaining: rs.Remaining,
			RecordsPerSecond: rs.RecordsPerSecond,
		})
	}
	writeJSON(w, http.StatusOK, v)
}

// serveTopology: Kafka Streams' describe text, Mermaid, DOT, SVG or JSON.
func (a *App) serveTopology(w http.ResponseWriter, r *http.Request) {
	d := a.topo.Describe()
	text := func(ct, s string) {
		w.Header().Set("Content-Type", ct)
		w.Write([]byte(s))
	}
	switch f := r.URL.Query().Get("format"); f {
	case "", "text":
		text("text/plain; charset=utf-8", d.String())
	case "mermaid":
		text("text/plain; charset=utf-8", d.Mermaid())
	case "dot":
		text("text/vnd.graphviz; charset=utf-8", d.DOT())
	case "svg":
		text("image/svg+xml", d.SVG(a.nodeLabels()))
	case "json":
		writeJSON(w, http.StatusOK, a.topologyView())
	default:
		writeHTTPError(w, http.StatusBadRequest, fmt.Errorf("streams: topology format %q: want text, mermaid, dot, svg or json", f))
	}
}
