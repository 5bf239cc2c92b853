package brokerlite

// How the API handlers and the coordinators plug into the broker:
//
//   - Handlers register themselves in one table from an init function:
//
//     func init() { registerHandler(kmsg.JoinGroup, 0, 9, handleJoinGroup) }
//
//     with the signature of handlerFunc. min/max are the versions ApiVersions advertises; a
//     request outside them never reaches the handler. A nil response means "no reply"
//     (acks=0); a non-nil error closes the connection after a log line. Handlers may block
//     (JoinGroup waits for a rebalance, Fetch long-polls) and must return when ctx is done
//     (the broker is closing). Like Kafka, one connection runs one request at a time and
//     answers in order. The request is decoded with kmsg's ReadFrom (it owns its strings)
//     except Produce, which aliases the frame buffer; byte-slice fields (JoinGroup protocol
//     metadata, SyncGroup assignments, ...) alias the frame buffer in every request, so a
//     handler that keeps one past its return must copy it.
//
//   - The group coordinator (package groupcoord, wired in by groups.go) is the typed field
//     b.groups. Start starts it (startGroupCoordinator) after the topics are loaded and
//     before the listener accepts clients (an error aborts Start); Close stops it
//     (stopGroupCoordinator) after the listener and every connection have stopped and
//     before the logs are closed. DeleteTopics calls groupsTopicDeleted after a topic is
//     gone, before it answers, so that the coordinator drops the topic's committed offsets.
//     Handlers reach it through b.coordinator().
//
//   - What the coordinator may call on the broker: b.appendInternal (durable append to an
//     internal topic, returns after fsync), b.readPartition (all batches of a partition from
//     its start, for the load on restart), b.ensureInternalTopic (create __consumer_offsets
//     with its partitions and configs), b.NodeID(), b.advertisedHostPort(), and b.settings
//     for group.* and offsets.* settings, b.logger for log lines.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite/groupcoord"
	"github.com/rivulet-io/rivulet/brokerlite/txncoord"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handlerFunc answers one decoded request. See the contract at the top of this file.
type handlerFunc func(ctx context.Context, b *Broker, conn *ConnInfo, req kmsg.Request) (kmsg.Response, error)

// handlerEntry is one row of the handler table.
type handlerEntry struct {
	min, max int16
	fn       handlerFunc
}

// handlers is the one table of API handlers, indexed by API key. It is written only by init
// functions (registerHandler) and read-only afterwards.
var handlers = map[int16]handlerEntry{}

// registerHandler adds an API to the table; it is called from init functions only. A second
// registration of the same key is a programming error caught by TestHandlerTable.
func registerHandler(key kmsg.Key, minVersion, maxVersion int16, fn handlerFunc) {
	handlers[int16(key)] = handlerEntry{min: minVersion, max: maxVersion, fn: fn}
}

// ConnInfo describes the client connection a request came in on.
type ConnInfo struct {
	// Remote is the client's address.
	Remote net.Addr
	// ClientID is the client id of the request being handled (from the request header).
	ClientID string
	// internal is true for requests the broker makes of itself (never for a network client);
	// such requests may write to internal topics.
	internal bool
	// recordBufs are free buffers for the records of Fetch answers; heldBuf is the buffer
	// the current answer's records live in, which the connection's writer owns until the
	// answer is written (see takeRecordBuf and conn.go).
	recordBufs chan []byte
	heldBuf    []byte
	// reserved is what the request being handled reserved of queued.max.response.bytes.
	reserved int64
	// sec is the connection's listener, principal and SASL state (listeners.go).
	sec connSecurity
}

// takeRecordBuf returns an empty buffer for a Fetch answer's records and marks it held by
// the answer being built.
func (c *ConnInfo) takeRecordBuf() []byte {
	select {
	case b := <-c.recordBufs:
		return b[:0]
	default:
		return nil
	}
}

// recycleRecordBuf returns a written answer's records buffer to the free list.
func (c *ConnInfo) recycleRecordBuf(b []byte) {
	if b == nil || cap(b) > maxPooledFrame {
		return
	}
	select {
	case c.recordBufs <- b[:0]:
	default:
	}
}

// Broker is a running single-node Kafka-compatible broker. Create it with Start, stop it with
// Close. Its methods are safe for concurrent use.
type Broker struct {
	// metrics are the broker's Prometheus metrics (metrics.go); root is
	// the logger given to Start, for componentLogger (logging.go).
	metrics *brokerMetrics
	root    *slog.Logger

	settings  Settings
	logger    *slog.Logger
	clusterID string
	nodeID    int32

	ln       net.Listener
	host     string // advertised host
	port     int32  // advertised port
	metaDir  string // the first log dir: meta.properties, topics.json, producer ids
	topics   *topicRegistry
	pids     *producerIDManager
	logs     *logStore
	limits   *limiter
	started  time.Time
	ctx      context.Context // cancelled by Close: every handler's context derives from it
	cancel   context.CancelFunc
	wg       sync.WaitGroup // accept loop and connections
	connMu   sync.Mutex
	conns    map[net.Conn]struct{}
	closing  bool
	closeErr error
	closed   chan struct{}
	once     sync.Once

	// listeners are every listener (ln, host and port are the first one's); auth holds the
	// credentials and the authorizer (listeners.go, security.go).
	listeners []*listener
	auth      *brokerAuth

	// groups is the group coordinator (groups.go); nil before Start starts it and after
	// Close stops it.
	groups *groupcoord.Coordinator
	// txn is the transaction coordinator (txn.go); nil until it starts.
	txn *txncoord.Coordinator
}

// Start opens (or creates) the broker's data in log.dirs, binds the listener and serves
// clients until Close. The context bounds only the start-up (loading logs), not the broker's
// life.
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	settings, unknown, err := ParseSettings(cfg)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	root := logger
	logger = logger.With("component", "brokerlite")
	for _, k := range unknown {
		logger.Warn("ignoring unknown broker property", "key", k, "value", cfg.Properties[k])
	}
	b := &Broker{
		settings: settings,
		logger:   logger,
		root:     root,
		conns:    map[net.Conn]struct{}{},
		closed:   make(chan struct{}),
		started:  time.Now(),
		limits:   newLimiter(settings.Limits),
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.metrics = newBrokerMetrics(b)
	b.metaDir = settings.LogDirs[0]
	for _, d := range settings.LogDirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("brokerlite: creating log dir: %w (check log.dirs)", err)
		}
	}
	lock, err := lockDir(b.metaDir)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Broker, error) {
		if b.logs != nil {
			_ = b.logs.close()
		}
		lock.release()
		b.cancel()
		return nil, err
	}
	meta, err := loadOrCreateMeta(b.metaDir, settings)
	if err != nil {
		return fail(err)
	}
	b.clusterID, b.nodeID = meta.clusterID, meta.nodeID
	if b.pids, err = openProducerIDs(b.metaDir); err != nil {
		return fail(err)
	}
	records, err := readTopicsFile(b.metaDir)
	if err != nil {
		return fail(err)
	}
	topicConfigs := map[string]map[string]string{}
	for _, rec := range records {
		topicConfigs[rec.Name] = rec.Configs
	}
	if b.logs, err = openLogStore(ctx, b, topicConfigs); err != nil {
		return fail(err)
	}
	b.logs.dirLock = lock
	if b.topics, err = loadTopics(b, records); err != nil {
		return fail(err)
	}

	if b.auth, err = openBrokerAuth(b); err != nil {
		return fail(err)
	}
	if err := b.bindListeners(); err != nil {
		return fail(err)
	}

	if err := startGroupCoordinator(ctx, b); err != nil {
		b.closeListeners()
		return fail(fmt.Errorf("brokerlite: starting group coordinator: %w", err))
	}
	if err := startTxnCoordinator(ctx, b); err != nil {
		b.closeListeners()
		stopGroupCoordinator(b)
		return fail(err)
	}

	b.wg.Add(1)
	go b.releaseMemoryAfterBursts()
	for _, l := range b.listeners {
		b.wg.Add(1)
		go b.acceptLoop(l)
	}
	logger.Info("broker started", "addr", b.ln.Addr().String(), "listeners", b.listenerSummary(), "advertised", net.JoinHostPort(b.host, strconv.Itoa(int(b.port))),
		"node.id", b.nodeID, "cluster.id", b.clusterID, "log.dirs", settings.LogDirs, "topics", b.topics.count())

	if err := b.startMetricsListener(); err != nil {
		_ = b.Close(context.Background())
		return nil, err
	}
	return b, nil
}

// Addr returns the address the broker listens on (host:port), useful with port 0.
func (b *Broker) Addr() string { return b.ln.Addr().String() }

// NodeID returns the broker's node id (broker.id / node.id).
func (b *Broker) NodeID() int32 { return b.nodeID }

// ClusterID returns the cluster id kept in meta.properties.
func (b *Broker) ClusterID() string { return b.clusterID }

// Settings returns the parsed settings the broker runs with.
func (b *Broker) Settings() Settings { return b.settings }

// advertisedHostPort is the host and port clients are told to connect to (Metadata,
// FindCoordinator, DescribeCluster).
func (b *Broker) advertisedHostPort() (string, int32) { return b.host, b.port }

// Close stops accepting clients, closes every connection (in-flight handlers see their
// context cancelled), stops the group coordinator, then flushes and closes every partition
// log. It waits for all of the broker's goroutines: handlers return promptly once their
// context is cancelled, but an answer already waiting for an fsync still gets it, so that
// what was acknowledged is durable. If ctx expires first, Close logs it, still finishes the
// shutdown, and returns ctx's error. Close is safe to call more than once.
func (b *Broker) Close(ctx context.Context) error {
	b.once.Do(func() {
		b.stopMetricsListener()
		b.connMu.Lock()
		b.closing = true
		for c := range b.conns {
			_ = c.Close()
		}
		b.connMu.Unlock()
		b.closeListeners()
		b.cancel()
		done := make(chan struct{})
		go func() { b.wg.Wait(); close(done) }()
		var errs []error
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("brokerlite: close: waiting for connections: %w", ctx.Err()))
			b.logger.Warn("close: connections still finishing after the close deadline; waiting for them", "err", ctx.Err())
			<-done
		}
		stopTxnCoordinator(b)
		stopGroupCoordinator(b)
		b.groups = nil
		if err := b.logs.close(); err != nil {
			errs = append(errs, err)
		}
		b.closeErr = errors.Join(errs...)
		b.logger.Info("broker stopped")
		close(b.closed)
	})
	<-b.closed
	return b.closeErr
}

// Done is closed once Close has finished.
func (b *Broker) Done() <-chan struct{} { return b.closed }

func nextPort(addr string) string {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	n, _ := strconv.Atoi(p)
	return net.JoinHostPort(h, strconv.Itoa(n+1))
}
