package streams

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/client"
	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/topology"
)

// State is an application's state, as Kafka Streams' KafkaStreams.State.
type State int32

const (
	// StateCreated: built, not started.
	StateCreated State = iota
	// StateRebalancing: started; some thread is joining the group or
	// restoring state.
	StateRebalancing
	// StateRunning: every thread is processing.
	StateRunning
	// StatePendingShutdown: Close was called.
	StatePendingShutdown
	// StateNotRunning: closed cleanly.
	StateNotRunning
	// StatePendingError: shutting down after a failure.
	StatePendingError
	// StateError: stopped after a failure (see App.Err).
	StateError
)

// String names the state as Kafka Streams does.
func (s State) String() string {
	switch s {
	case StateCreated:
		return "CREATED"
	case StateRebalancing:
		return "REBALANCING"
	case StateRunning:
		return "RUNNING"
	case StatePendingShutdown:
		return "PENDING_SHUTDOWN"
	case StateNotRunning:
		return "NOT_RUNNING"
	case StatePendingError:
		return "PENDING_ERROR"
	case StateError:
		return "ERROR"
	default:
		return "State(" + strconv.Itoa(int(s)) + ")"
	}
}

// App runs a topology against a Kafka cluster (Kafka Streams'
// KafkaStreams): N stream threads, each a member of the consumer group
// named after application.id with its own franz-go client, running the
// tasks the group assigns it; a global thread for global stores; state in
// state.dir backed by changelog topics.
//
// Build it with New, run it with Start, stop it with Close.
type App struct {
	cfg         *config
	clients     *clientParser // parses client properties once (settings.go)
	topo        *Topology
	processID   [processIDLen]byte
	subOfSource map[string]int
	statsMu     sync.Mutex
	stats       []*taskStats // one per thread ever started, and the global thread
	metrics     *appMetrics
	cache       *statestore.RecordCache
	opener      storeOpener
	eosStores   *eosOpener // under exactly_once_v2 (eos_store.go)
	// stateMemory divides the state memory budget over the persistent
	// stores (state_memory.go); nil when the budget is switched off (0).
	stateMemory *stateMemory
	restores    restoreTracker // store restores in flight (restore.go)
	// standbys holds this instance's standby and warm-up tasks; hosts is
	// the host metadata of the latest assignment (host_metadata.go).
	standbys *standbyManager
	hosts    atomic.Pointer[hostMetadata]

	state             atomic.Int32
	shutdownRequested atomic.Bool
	remoteOnce        sync.Once
	// topicsOnce fails the application once when an assignment says the
	// topics do not fit the topology; leaderTopicsErr is why, when this
	// instance's group leader found it (balancer.go).
	topicsOnce      sync.Once
	leaderTopicsErr atomic.Pointer[error]

	mu        sync.Mutex
	threads   map[int]*streamThread
	global    *globalThread
	adminCl   *kgo.Client
	admin     *kadm.Client
	counts    map[string]int32
	runCtx    context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	done      chan struct{}
	err       error
	listener  func(old, new State)
	closing   bool
	closeOnce sync.Once
	httpState             // the HTTP endpoint (http.go)
	ops       *opsMetrics // metrics by recording level (metrics_levels.go)
}

// New builds an application running topo with props (Kafka Streams' names;
// see config for every setting and its default) and opts.
func New(topo *Topology, props Properties, opts ...Option) (*App, error) {
	if topo == nil {
		return nil, errors.New("streams: new: nil topology")
	}
	cfg, err := parseConfig(props, opts...)
	if err != nil {
		return nil, err
	}
	// Check the client properties now, so a typo fails here, and report
	// every property with no effect once (settings.go).
	clients := newClientParser(cfg.Logger)
	if err := checkClientProperties(cfg, clients); err != nil {
		return nil, err
	}
	logIgnored(cfg)
	a := &App{
		clients:     clients,
		cfg:         cfg,
		topo:        topo.bind(cfg.ApplicationID),
		subOfSource: make(map[string]int),
		threads:     make(map[int]*streamThread),
		done:        make(chan struct{}),
	}
	if _, err := rand.Read(a.processID[:]); err != nil {
		return nil, fmt.Errorf("streams: process id: %w", err)
	}
	for _, s := range topo.subs {
		for _, src := range s.Sources {
			a.subOfSource[src] = s.ID
		}
	}
	if cfg.CacheMaxBytes > 0 {
		a.cache = statestore.NewRecordCache(cfg.CacheMaxBytes)
	}
	a.standbys = newStandbyManager(a)
	a.stateMemory = newStateMemory(cfg.StateMemoryMaxBytes)
	if a.metrics, err = newAppMetrics(a); err != nil {
		return nil, fmt.Errorf("streams: metrics: %w", err)
	}
	if a.ops, err = newOpsMetrics(a); err != nil {
		return nil, fmt.Errorf("streams: metrics: %w", err)
	}
	return a, nil
}

// newStats returns counters for a new thread; they stay counted after the
// thread ends.
func (a *App) newStats() *taskStats {
	s := &taskStats{ops: a.ops}
	a.statsMu.Lock()
	a.stats = append(a.stats, s)
	a.statsMu.Unlock()
	return s
}

func (a *App) allStats() []*taskStats {
	a.statsMu.Lock()
	defer a.statsMu.Unlock()
	return append([]*taskStats(nil), a.stats...)
}

// Config returns the application's effective configuration with Kafka
// Streams' property names: every setting with the value in force, defaults
// included, and the client properties by role ("consumer.", "producer.",
// "admin." prefixes). Secrets (passwords, keys, JAAS configs) are hidden.
// The map is a copy: changing it changes nothing.
func (a *App) Config() Properties { return a.cfg.properties() }

// Topology returns the topology the application runs.
func (a *App) Topology() *Topology { return a.topo }

// Metrics returns the private Prometheus registry holding the application's
// metrics, or nil when they were registered with WithRegisterer.
func (a *App) Metrics() *prometheus.Registry { return a.metrics.registry }

// State returns the application's state.
func (a *App) State() State { return State(a.state.Load()) }

// SetStateListener sets a function called on every state change (from the
// goroutine that changes it). Set it before Start.
func (a *App) SetStateListener(fn func(old, new State)) {
	a.mu.Lock()
	a.listener = fn
	a.mu.Unlock()
}

func (a *App) setState(s State) {
	for {
		old := State(a.state.Load())
		if old == s {
			return
		}
		// Terminal states stay.
		if old == StateNotRunning || old == StateError {
			return
		}
		if (old == StatePendingShutdown || old == StatePendingError) && s < StatePendingShutdown {
			return
		}
		if a.state.CompareAndSwap(int32(old), int32(s)) {
			a.announceState(old, s)
			return
		}
	}
}

// updateState moves between RUNNING and REBALANCING from the threads'
// states.
func (a *App) updateState() {
	a.mu.Lock()
	running := len(a.threads) > 0
	for _, t := range a.threads {
		if t.state.Load() != threadRunning {
			running = false
		}
	}
	a.mu.Unlock()
	if running {
		a.setState(StateRunning)
	} else {
		a.setState(StateRebalancing)
	}
}

// Done is closed when the application has stopped, after Close or a
// failure.
func (a *App) Done() <-chan struct{} { return a.done }

// Err returns the failure that stopped the application, if any.
func (a *App) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// newClient builds a franz-go client from the application's client
// properties for roles, plus extra options. It is the one place clients
// are made. groupMember is set for the stream threads' clients: their
// consumer properties then get group.id = application.id (so group
// settings such as session.timeout.ms apply) and auto-commit off, and a
// group.instance.id gets the thread's suffix, as Kafka Streams does.
func (a *App) newClient(roles []client.Role, groupMember string, extra ...kgo.Opt) (*kgo.Client, error) {
	var opts []kgo.Opt
	names := map[client.Role]string{client.RoleConsumer: "consumer", client.RoleProducer: "producer", client.RoleAdmin: "admin"}
	for _, r := range roles {
		props := client.Properties(a.cfg.ClientProperties[names[r]]).Clone()
		if r == client.RoleConsumer {
			if groupMember != "" {
				props["group.id"] = a.cfg.ApplicationID
				props["enable.auto.commit"] = "false"
				if id, ok := props["group.instance.id"]; ok && id != "" {
					props["group.instance.id"] = id + "-" + groupMember
				}
			} else {
				delete(props, "group.id")
				delete(props, "group.instance.id")
			}
		}
		p, err := a.clients.parse(r, props.For(r), false)
		if err != nil {
			return nil, err
		}
		opts = append(opts, p.Opts...)
		if r == client.RoleConsumer && a.eos() {
			opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		}
	}
	opts = append(opts, kgo.SeedBrokers(a.cfg.BootstrapServers...))
	opts = append(opts, a.cfg.KgoOpts...)
	opts = append(opts, extra...)
	return kgo.NewClient(opts...)
}

// Start creates the internal topics, catches up the global stores and
// starts the stream threads; it returns once they run (not once they have
// their tasks: watch State or Done). ctx bounds the start only.
func (a *App) Start(ctx context.Context) error {
	if !a.state.CompareAndSwap(int32(StateCreated), int32(StateRebalancing)) {
		return fmt.Errorf("streams: start: application is %s, not CREATED", a.State())
	}
	a.announceState(StateCreated, StateRebalancing)
	if err := a.start(ctx); err != nil {
		a.fail(err)
		<-a.done
		return err
	}
	return nil
}

func (a *App) start(ctx context.Context) error {
	if err := a.startOps(); err != nil {
		return err
	}
	a.runCtx, a.cancel = context.WithCancel(context.Background())
	// Before any internal topic is created: a renumbered topology must not
	// leave new, empty changelogs behind (topology_record.go).
	if err := a.checkTopologyRecord(); err != nil {
		return err
	}
	cl, err := a.newClient([]client.Role{client.RoleAdmin}, "", kgo.ClientID(a.cfg.ClientID+"-admin"))
	if err != nil {
		return fmt.Errorf("streams: admin client: %w", err)
	}
	a.mu.Lock()
	a.adminCl, a.admin = cl, kadm.NewClient(cl)
	a.mu.Unlock()
	if a.eos() {
		if err := a.checkTransactions(ctx); err != nil {
			return err
		}
	}
	if err := a.setupTopics(ctx); err != nil {
		return err
	}
	op, err := newDirOpener(a.cfg.StateDir, a.cfg.ApplicationID, a.cfg.Logger)
	if err != nil {
		return err
	}
	a.configureOpener(op)
	var opener storeOpener = op
	if a.eos() {
		// A restarted instance keeps its transactional ids, so its first
		// transactions fence those of its previous life.
		if a.processID, err = loadProcessID(op.root); err != nil {
			return err
		}
		a.eosStores = newEOSOpener(op)
		opener = a.eosStores
	}
	a.opener = a.standbys.wrapOpener(opener)
	if err := a.startGlobal(ctx); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	// The threads started here join the group together (join_cohort.go).
	var cohort *joinCohort
	if a.cfg.NumStreamThreads > 1 {
		cohort = newJoinCohort(a.cfg.NumStreamThreads)
	}
	for i := 0; i < a.cfg.NumStreamThreads; i++ {
		if _, err := a.startThreadLocked(cohort); err != nil {
			return err
		}
	}
	a.warnParallelism(a.cfg.NumStreamThreads, a.counts)
	return nil
}

// ErrInternalTopicPartitions is wrapped by the errors saying that an
// internal topic's partition count is not the one the topology needs.
var ErrInternalTopicPartitions = errors.New("streams: internal topic with the wrong partition count")

// InternalTopicPartitionsError reports an internal topic (repartition or
// changelog) whose partition count is not the one the topology needs: it
// was made for other input topics, or partitions were added to an input
// topic. Kafka Streams stops on it too.
type InternalTopicPartitionsError struct {
	// Topic is the internal topic.
	Topic string
	// Partitions is its partition count; Want the topology's.
	Partitions, Want int32
}

func (e *InternalTopicPartitionsError) Error() string {
	return fmt.Sprintf("streams: internal topic %q has %d partitions, the topology needs %d; delete it (or reset the application) to let it be recreated", e.Topic, e.Partitions, e.Want)
}

// Unwrap lets errors.Is match ErrInternalTopicPartitions.
func (e *InternalTopicPartitionsError) Unwrap() error { return ErrInternalTopicPartitions }

// setupTopics checks the source topics and creates the internal ones, as
// Kafka Streams' InternalTopicManager does.
func (a *App) setupTopics(ctx context.Context) error {
	td, err := a.admin.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("streams: list topics: %w", err)
	}
	existing := make(map[string]int32, len(td))
	for name, t := range td {
		if t.Err == nil {
			existing[name] = int32(len(t.Partitions))
		}
	}
	// Global topics must exist too.
	for _, s := range a.topo.subs {
		if !s.Global {
			continue
		}
		for _, tp := range s.SourceTopics {
			if _, ok := existing[tp]; !ok {
				return &topology.MissingTopicsError{Topics: []string{tp}}
			}
		}
	}
	counts, err := a.topo.names.ResolvePartitions(existing)
	if err != nil {
		return fmt.Errorf("streams: %w", err)
	}
	for _, it := range a.topo.names.InternalTopics(counts) {
		if n, ok := existing[it.Name]; ok {
			if n != it.Partitions {
				return &InternalTopicPartitionsError{Topic: it.Name, Partitions: n, Want: it.Partitions}
			}
			continue
		}
		cfg := make(map[string]*string, len(it.Config))
		for k, v := range it.Config {
			cfg[k] = kadm.StringPtr(v)
		}
		resp, err := a.admin.CreateTopic(ctx, it.Partitions, a.cfg.ReplicationFactor, cfg, it.Name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("streams: create internal topic %q: %w", it.Name, err)
		}
		a.cfg.Logger.Info("streams: created internal topic", "topic", it.Name, "kind", it.Kind.String(), "partitions", it.Partitions)
	}
	a.mu.Lock()
	a.counts = counts
	a.mu.Unlock()
	return nil
}

// sourceTopics returns the broker names of the topics the stream threads
// subscribe to (not the global ones), and whether a pattern is involved.
func (a *App) sourceTopics() ([]string, []string) {
	var topics, patterns []string
	for _, s := range a.topo.subs {
		if s.Global {
			continue
		}
		for _, tp := range s.SourceTopics {
			topics = append(topics, a.topo.names.TopicName(tp))
		}
		for _, p := range s.SourcePatterns {
			patterns = append(patterns, `^(?:`+p.String()+`)$`)
		}
	}
	sort.Strings(topics)
	return topics, patterns
}

// startThreadLocked starts a stream thread numbered with the lowest free
// index (as Kafka Streams names threads, so a replaced or re-added thread
// takes back its name and static group.instance.id) and returns that index.
// cohort, when not nil, is the group of threads started together that
// join the group together.
func (a *App) startThreadLocked(cohort *joinCohort) (int, error) {
	id := 0
	for a.threads[id] != nil {
		id++
	}
	t, err := newStreamThread(a, id, cohort)
	if err != nil {
		return 0, err
	}
	a.threads[id] = t
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer close(t.exited)
		err := t.run()
		a.threadExited(t, err)
	}()
	return id, nil
}

func (a *App) aliveThreads() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.threads)
}

// threadExited handles a thread's end: after Close nothing; after a
// failure, what the uncaught-error handler says.
func (a *App) threadExited(t *streamThread, err error) {
	a.mu.Lock()
	delete(a.threads, t.id)
	closing := a.closing
	a.mu.Unlock()
	if err == nil || closing {
		a.updateState()
		return
	}
	if t.removing.Load() {
		// RemoveStreamThread asked it to stop: not replaced, whatever failed.
		a.cfg.Logger.Warn("streams: stream thread removed with an error", "thread", t.name, "err", err)
		a.updateState()
		return
	}
	if errors.Is(err, errProducerFenced) {
		// Not a failure for the handler (Kafka Streams' TaskMigrated): the
		// thread's tasks were closed without committing; a new thread with
		// a new producer rejoins the group.
		a.cfg.Logger.Warn("streams: transactional producer fenced; the stream thread rejoins the group with a new producer", "thread", t.name, "err", err)
		a.replaceThread("replace fenced thread", err)
		return
	}
	a.metrics.threadFailures.Add(1)
	a.cfg.Logger.Error("streams: stream thread failed", "thread", t.name, "err", err)
	resp := a.cfg.UncaughtErrorHandler(err)
	switch resp {
	case ReplaceThread:
		a.replaceThread("replace thread", err)
	case ShutdownApplication:
		go func() {
			a.signalShutdown()
			a.fail(err)
		}()
	default:
		go a.fail(err)
	}
}

// signalShutdown asks every instance of the application to shut down: a
// short-lived group member joins with the request in its subscription,
// and the group leader answers every member with a shutdown assignment.
func (a *App) signalShutdown() {
	a.shutdownRequested.Store(true)
	a.mu.Lock()
	var alive []*streamThread
	for _, t := range a.threads {
		alive = append(alive, t)
	}
	a.mu.Unlock()
	for _, t := range alive {
		t.cl.ForceRebalance()
	}
	if len(alive) > 0 {
		return
	}
	topics, patterns := a.sourceTopics()
	bal := &taskBalancer{app: a}
	opts := []kgo.Opt{kgo.ConsumerGroup(a.cfg.ApplicationID), kgo.Balancers(bal), kgo.DisableAutoCommit(),
		kgo.ClientID(a.cfg.ClientID + "-shutdown")}
	if len(patterns) > 0 {
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(append(regexQuote(topics), patterns...)...))
	} else {
		opts = append(opts, kgo.ConsumeTopics(topics...))
	}
	cl, err := a.newClient([]client.Role{client.RoleConsumer}, "", opts...)
	if err != nil {
		a.cfg.Logger.Warn("streams: cannot signal the shutdown to other instances", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl.PollRecords(ctx, 1)
	cl.Close()
}

// remoteShutdown is called when the group says an instance asked the
// application to shut down.
func (a *App) remoteShutdown() {
	a.remoteOnce.Do(func() {
		go a.fail(errors.New("streams: an instance of the application asked every instance to shut down (SHUTDOWN_APPLICATION)"))
	})
}

// fail shuts the application down after a failure: state PENDING_ERROR,
// then ERROR once every thread stopped.
func (a *App) fail(err error) {
	a.mu.Lock()
	if a.err == nil {
		a.err = err
	}
	a.mu.Unlock()
	a.setState(StatePendingError)
	a.shutdown(context.Background(), StateError)
}

// Close stops the threads (each commits and leaves the group), the global
// thread and the clients, and waits for them, at most until ctx is done.
// It returns ctx's error if it gave up waiting.
func (a *App) Close(ctx context.Context) error {
	if a.state.CompareAndSwap(int32(StateCreated), int32(StateNotRunning)) {
		a.closeOnce.Do(func() { close(a.done) })
		return nil
	}
	a.setState(StatePendingShutdown)
	go a.shutdown(context.Background(), StateNotRunning)
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("streams: close: %w", ctx.Err())
	}
}

func (a *App) shutdown(ctx context.Context, final State) {
	a.mu.Lock()
	if a.closing {
		a.mu.Unlock()
		<-a.done
		return
	}
	a.closing = true
	if a.cancel != nil {
		a.cancel()
	}
	a.mu.Unlock()
	a.wg.Wait()
	a.stopHTTP()
	a.standbys.close()
	a.mu.Lock()
	g := a.global
	a.mu.Unlock()
	if g != nil {
		g.stop()
	}
	a.mu.Lock()
	if a.adminCl != nil {
		a.adminCl.Close()
	}
	if a.err != nil {
		final = StateError
	}
	a.mu.Unlock()
	a.forceState(final)
	a.closeOnce.Do(func() { close(a.done) })
}

// replaceThread starts a stream thread in place of one that ended with err
// (unless the application is closing); op names the replacement in the
// error that fails the application when the new thread cannot start.
func (a *App) replaceThread(op string, err error) {
	a.mu.Lock()
	if !a.closing {
		a.metrics.threadReplaced.Add(1)
		if _, serr := a.startThreadLocked(nil); serr != nil {
			a.mu.Unlock()
			// Not on this goroutine: fail waits for every thread's
			// goroutine, this one included.
			go a.fail(fmt.Errorf("streams: %s: %w (after %v)", op, serr, err))
			return
		}
	}
	a.mu.Unlock()
	a.updateState()
}

func (a *App) forceState(s State) {
	old := State(a.state.Swap(int32(s)))
	if old == s {
		return
	}
	a.announceState(old, s)
}

// TaskInfo describes a task an instance runs.
type TaskInfo struct {
	ID         TaskID
	Thread     string
	State      TaskState
	Partitions []TopicPartition
}

// threadList returns the instance's stream threads now, in no order.
func (a *App) threadList() []*streamThread {
	a.mu.Lock()
	defer a.mu.Unlock()
	threads := make([]*streamThread, 0, len(a.threads))
	for _, t := range a.threads {
		threads = append(threads, t)
	}
	return threads
}

// Tasks returns the tasks this instance runs now, sorted by id.
func (a *App) Tasks() []TaskInfo {
	var out []TaskInfo
	for _, t := range a.threadList() {
		out = append(out, t.taskInfos()...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID.Less(out[j].ID) })
	return out
}

func regexQuote(topics []string) []string {
	out := make([]string, len(topics))
	for i, t := range topics {
		out[i] = `^` + regexp.QuoteMeta(t) + `$`
	}
	return out
}
