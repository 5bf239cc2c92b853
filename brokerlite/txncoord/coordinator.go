package txncoord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Log is the coordinator's view of __transaction_state. The broker owns the
// topic; the coordinator only appends to it and replays it.
type Log interface {
	// Append writes one record batch to a partition and returns once it is
	// durable (fsynced), or with an error.
	Append(ctx context.Context, partition int32, batch []byte) error
	// AppendUnsynced writes one record batch without waiting for it to be
	// durable; the next Append to the partition makes it durable with its
	// own. It is used for records a crash may lose without harm.
	AppendUnsynced(ctx context.Context, partition int32, batch []byte) error
	// Replay calls fn with the stored batches of a partition, from its log
	// start to its end, in order. The slice is valid only during the call.
	Replay(ctx context.Context, partition int32, fn func(batches []byte) error) error
}

// Broker is what the coordinator needs from the broker besides its log.
type Broker interface {
	// WriteMarkers writes a transaction marker (commit when commit is set,
	// abort otherwise) of producer pid at epoch to every partition in
	// parts, and returns once all of them are durable. A partition that
	// no longer exists (its topic was deleted) is skipped. For a
	// __consumer_offsets partition the broker also makes the group
	// coordinator apply or drop the transaction's pending offsets.
	WriteMarkers(ctx context.Context, pid int64, epoch int16, commit bool, coordinatorEpoch int32, parts []TopicPartition) error
	// PartitionExists says whether a partition exists now.
	PartitionExists(tp TopicPartition) bool
	// NewProducerID returns a producer id never handed out before.
	NewProducerID() (int64, error)
	// OffsetsPartition returns the __consumer_offsets partition of a group.
	OffsetsPartition(group string) TopicPartition
}

// Config configures a Coordinator. Start calls EnsureDefaults and Validate.
type Config struct {
	// Log is __transaction_state. Required.
	Log Log
	// Broker writes markers and hands out producer ids. Required.
	Broker Broker
	// Partitions is the partition count of __transaction_state. Required.
	Partitions int32
	// PartitionFor maps a transactional id to its partition of
	// __transaction_state (Kafka: abs(hashCode) % Partitions). Required.
	PartitionFor func(transactionalID string) int32
	// MaxTimeout is transaction.max.timeout.ms: InitProducerId with a
	// larger transaction.timeout.ms gets INVALID_TRANSACTION_TIMEOUT. The
	// default value is 15 minutes.
	MaxTimeout time.Duration
	// IDExpiration is transactional.id.expiration.ms: a transactional id
	// with no transaction in progress and no request for this long is
	// removed. The default value is 7 days.
	IDExpiration time.Duration
	// AbortInterval is
	// transaction.abort.timed.out.transaction.cleanup.interval.ms: how often
	// transactions past their timeout are looked for. The default value is
	// 10 seconds.
	AbortInterval time.Duration
	// RemoveInterval is
	// transaction.remove.expired.transaction.cleanup.interval.ms: how often
	// expired transactional ids are removed. The default value is 1 hour.
	RemoveInterval time.Duration
	// Now is the clock. The default value is time.Now.
	Now func() time.Time
	// Logger receives the coordinator's log lines. The default value is
	// slog.Default().
	Logger *slog.Logger
}

// EnsureDefaults fills in the zero fields that have defaults.
func (c *Config) EnsureDefaults() {
	if c.MaxTimeout <= 0 {
		c.MaxTimeout = 15 * time.Minute
	}
	if c.IDExpiration <= 0 {
		c.IDExpiration = 7 * 24 * time.Hour
	}
	if c.AbortInterval <= 0 {
		c.AbortInterval = 10 * time.Second
	}
	if c.RemoveInterval <= 0 {
		c.RemoveInterval = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate checks the required fields.
func (c *Config) Validate() error {
	switch {
	case c.Log == nil:
		return errors.New("txncoord: Config.Log is required")
	case c.Broker == nil:
		return errors.New("txncoord: Config.Broker is required")
	case c.Partitions < 1:
		return fmt.Errorf("txncoord: Config.Partitions must be >= 1, got %d", c.Partitions)
	case c.PartitionFor == nil:
		return errors.New("txncoord: Config.PartitionFor is required")
	}
	return nil
}

// coordinatorEpoch is written in every marker. brokerlite is one node and
// always coordinates every __transaction_state partition, so the epoch
// never changes.
const coordinatorEpoch = 0

// meta is one transactional id's persisted state: what one
// __transaction_state record holds.
type meta struct {
	pid       int64
	epoch     int16
	lastPid   int64 // KIP-360: the producer id before the last change of id, -1 if none
	lastEpoch int16 // the epoch before the last bump, -1 if none
	timeoutMs int32
	state     kmsg.TransactionState
	parts     map[TopicPartition]struct{}
	startMs   int64 // when the ongoing transaction began, -1 when none
	updateMs  int64
}

func (m meta) clone() meta {
	n := m
	n.parts = make(map[TopicPartition]struct{}, len(m.parts))
	for tp := range m.parts {
		n.parts[tp] = struct{}{}
	}
	return n
}

func (m meta) partitions() []TopicPartition {
	out := make([]TopicPartition, 0, len(m.parts))
	for tp := range m.parts {
		out = append(out, tp)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// txn is one transactional id. Its mutex serializes every request of the
// id, including the log writes they make, so its state changes in the
// order they are made durable.
type txn struct {
	id      string
	mu      sync.Mutex
	m       meta
	stored  bool // a record of it is in __transaction_state
	removed bool // taken out of the coordinator's map (expired)
}

// Coordinator is the transaction coordinator of every __transaction_state
// partition of one broker. Create it with Start and stop it with Close;
// its methods are safe for concurrent use.
type Coordinator struct {
	cfg    Config
	logger *slog.Logger

	// ctx bounds every log and marker write; Close cancels it. Writes do
	// not use the request's context, so a client that goes away in the
	// middle of EndTxn does not leave the transaction half-ended.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool
	once   sync.Once

	mu   sync.Mutex // guards txns; never held while a txn's mu is taken
	txns map[string]*txn

	loadSkipped atomic.Int64
}

// Start loads __transaction_state, completes the transactions a crash left
// in PrepareCommit or PrepareAbort, and starts the background loop that
// aborts timed-out transactions and removes expired ids.
func Start(ctx context.Context, cfg Config) (*Coordinator, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Coordinator{cfg: cfg, logger: cfg.Logger, txns: map[string]*txn{}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if err := c.load(ctx); err != nil {
		c.cancel()
		return nil, err
	}
	for _, t := range c.snapshot() {
		t.mu.Lock()
		if t.m.state == kmsg.TransactionStatePrepareCommit || t.m.state == kmsg.TransactionStatePrepareAbort {
			if err := c.completeLocked(t); err != nil {
				// Left in its Prepare state: the background loop retries.
				c.logger.Warn("txncoord: completing a transaction after restart failed; will retry", "transactional.id", t.id, "err", err)
			} else {
				c.logger.Info("txncoord: completed a transaction interrupted by a restart", "transactional.id", t.id, "state", t.m.state.String())
			}
		}
		t.mu.Unlock()
	}
	c.wg.Add(1)
	go c.background()
	return c, nil
}

// Close stops the background loop and makes later requests answer
// COORDINATOR_NOT_AVAILABLE. Writes in progress see their context
// cancelled. It does not close the Log.
func (c *Coordinator) Close() {
	c.once.Do(func() {
		c.closed.Store(true)
		c.cancel()
		c.wg.Wait()
	})
}

// LoadSkipped returns how many malformed batches and records Start
// skipped while loading.
func (c *Coordinator) LoadSkipped() int64 { return c.loadSkipped.Load() }

func (c *Coordinator) nowMs() int64 { return c.cfg.Now().UnixMilli() }

func (c *Coordinator) snapshot() []*txn {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Collect(maps.Values(c.txns))
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// lookup returns the txn of id locked, or nil. A txn removed between the
// map lookup and the lock is looked up again.
func (c *Coordinator) lookup(id string) *txn {
	for {
		c.mu.Lock()
		t := c.txns[id]
		c.mu.Unlock()
		if t == nil {
			return nil
		}
		t.mu.Lock()
		if !t.removed {
			return t
		}
		t.mu.Unlock()
	}
}

// lookupOrCreate returns the txn of id locked, creating an unstored one.
func (c *Coordinator) lookupOrCreate(id string) *txn {
	for {
		c.mu.Lock()
		t := c.txns[id]
		if t == nil {
			t = &txn{id: id, m: meta{pid: -1, epoch: -1, lastPid: -1, lastEpoch: -1, startMs: -1, state: kmsg.TransactionStateEmpty}}
			c.txns[id] = t
		}
		c.mu.Unlock()
		t.mu.Lock()
		if !t.removed {
			return t
		}
		t.mu.Unlock()
	}
}

// forget removes t (locked) from the map.
func (c *Coordinator) forget(t *txn) {
	t.removed = true
	c.mu.Lock()
	if c.txns[t.id] == t {
		delete(c.txns, t.id)
	}
	c.mu.Unlock()
}

// persist makes m the state of t (locked): it writes the record and, once
// it is durable, applies it.
func (c *Coordinator) persist(t *txn, m meta) error {
	return c.write(t, m, true)
}

// write is persist; with durable false the record is applied once
// appended, without waiting for the fsync.
func (c *Coordinator) write(t *txn, m meta, durable bool) error {
	if c.closed.Load() {
		return errClosed
	}
	batch := encodeRecord(t.id, &m, c.nowMs())
	app := c.cfg.Log.Append
	if !durable {
		app = c.cfg.Log.AppendUnsynced
	}
	if err := app(c.ctx, c.cfg.PartitionFor(t.id), batch); err != nil {
		return fmt.Errorf("txncoord: writing the state of %q: %w", t.id, err)
	}
	t.m = m
	t.stored = true
	return nil
}

var errClosed = errors.New("txncoord: coordinator is closed")
