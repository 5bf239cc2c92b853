package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/client"
)

//go:embed web
var webFS embed.FS

// Config says what the console shows and where it listens.
type Config struct {
	// ClientProperties are the Kafka client properties of the cluster
	// (bootstrap.servers and security settings). Required.
	ClientProperties client.Properties
	// Apps are the base URLs of stream applications' HTTP endpoints
	// (http://host:port). The default value is none.
	Apps []string
	// Listen is host:port to serve on. The default value is
	// "127.0.0.1:8080"; port 0 picks a free port (see Server.Addr).
	Listen string
	// Logger receives the console's logs. The default value is
	// slog.Default().
	Logger *slog.Logger
}

// Server is a running console. Stop it with Close.
type Server struct {
	cfg    Config
	adm    *client.Admin
	props  client.Properties
	apps   []string
	http   *http.Client
	srv    *http.Server
	ln     net.Listener
	done   chan error
	logger *slog.Logger
}

// New checks cfg and builds the console's admin client; it does not
// connect yet. Start serves it.
func New(cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8080"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var apps []string
	for _, a := range cfg.Apps {
		a = strings.TrimRight(strings.TrimSpace(a), "/")
		if a == "" {
			continue
		}
		if !strings.Contains(a, "://") {
			a = "http://" + a
		}
		u, err := url.Parse(a)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("console: app %q: want http://host:port", a)
		}
		apps = append(apps, a)
	}
	adm, err := client.NewAdmin(cfg.ClientProperties, client.WithLogger(cfg.Logger))
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return &Server{cfg: cfg, adm: adm, props: cfg.ClientProperties, apps: apps, logger: cfg.Logger,
		http: &http.Client{Timeout: 5 * time.Second}}, nil
}

// Handler returns the console's HTTP handler: the page and its JSON API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(webFS, "web")
	mux.Handle("GET /", http.FileServerFS(static))
	mux.HandleFunc("GET /api/cluster", s.serveCluster)
	mux.HandleFunc("GET /api/topics/{topic}/configs", s.serveTopicConfigs)
	mux.HandleFunc("GET /api/topics/{topic}/messages", s.serveMessages)
	mux.HandleFunc("GET /api/groups", s.serveGroups)
	mux.HandleFunc("GET /api/apps", s.serveApps)
	mux.HandleFunc("GET /api/apps/{i}/topology.svg", s.serveAppSVG)
	return mux
}

// Start listens on cfg.Listen and serves until Close.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("console: listen on %s: %w", s.cfg.Listen, err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.done = make(chan error, 1)
	go func() { s.done <- s.srv.Serve(ln) }()
	return nil
}

// Addr returns the address the console listens on, once started.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops the server (waiting for requests in flight until ctx ends)
// and the admin client.
func (s *Server) Close(ctx context.Context) error {
	var err error
	if s.srv != nil {
		err = s.srv.Shutdown(ctx)
		if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
	}
	s.adm.Close()
	return err
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

func (s *Server) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 10*time.Second)
}

// newConsumer returns a franz-go client with the cluster's consumer
// properties (no group) and extra options.
func (s *Server) newConsumer(extra ...kgo.Opt) (*kgo.Client, error) {
	props := s.props.Clone()
	delete(props, "group.id")
	p, err := client.Parse(client.RoleConsumer, props.For(client.RoleConsumer))
	if err != nil {
		return nil, fmt.Errorf("console: consumer properties: %w", err)
	}
	return kgo.NewClient(append(p.Opts, extra...)...)
}

// appGet fetches path from application i, with at most 16 MiB read.
func (s *Server) appGet(ctx context.Context, i int, path string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.apps[i]+path, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return b, resp.StatusCode, err
}
