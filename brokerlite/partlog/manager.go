package partlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ManagerConfig configures a Manager with the broker-level settings Kafka's
// LogManager reads from server.properties.
type ManagerConfig struct {
	// LogDirs are the data directories (log.dirs). Required.
	LogDirs []string
	// TopicConfig returns the config of a topic's partitions when the
	// manager opens them at start. The default value (nil) gives every
	// partition DefaultConfig(); the broker passes its topic store.
	TopicConfig func(topic string) Config
	// RetentionCheckInterval is log.retention.check.interval.ms. The
	// default value is 5 minutes.
	RetentionCheckInterval time.Duration
	// FlushCheckInterval is log.flush.scheduler.interval.ms: how often
	// flush.ms is checked. The default value is 1 second (Kafka's default is
	// "never", which would make flush.ms do nothing).
	FlushCheckInterval time.Duration
	// CleanerBackoff is log.cleaner.backoff.ms: how long the cleaner sleeps
	// when no log needs compaction. The default value is 15 seconds.
	CleanerBackoff time.Duration
	// DisableCleaner turns the log cleaner off (log.cleaner.enable=false).
	// The default value is false: compacted topics are compacted.
	DisableCleaner bool
	// RecoveryThreads is num.recovery.threads.per.data.dir: how many logs
	// of one data directory open (and recover) in parallel. The default
	// value is 1.
	RecoveryThreads int
	// Options are passed to every log (logger, clock).
	Options Options
}

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String returns "<topic>-<partition>", the partition's directory name.
func (tp TopicPartition) String() string {
	return tp.Topic + "-" + strconv.FormatInt(int64(tp.Partition), 10)
}

// Manager owns the partition logs of a broker (Kafka's LogManager): it opens
// every partition directory under the log dirs at start (recovering each),
// creates and deletes logs, and runs retention, flush.ms and the log cleaner
// in background goroutines that Close stops and waits for. Its Syncer shares
// fsyncs between callers waiting on different logs.
type Manager struct {
	cfg    ManagerConfig
	syncer *Syncer

	mu     sync.Mutex
	logs   map[TopicPartition]*Log
	closed bool
	// perDir counts the partitions of each log dir (by filepath.Clean), so
	// placing a new one does not walk every log.
	perDir map[string]int

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// deleteDirSuffix marks a partition directory being deleted. The directory
// is renamed to <unique id>-delete: unlike Kafka's
// <topic>-<partition>.<unique id>-delete, the name fits NAME_MAX for every
// valid topic name (249 characters). Directories named the Kafka way, by
// earlier versions, end with the same suffix and are removed the same way.
const deleteDirSuffix = "-delete"

// newDeleteDirName returns a fresh name for a directory being deleted.
func newDeleteDirName() string {
	var id [16]byte
	_, _ = rand.Read(id[:])
	return hex.EncodeToString(id[:]) + deleteDirSuffix
}

// OpenManager opens every partition log under cfg.LogDirs and starts the
// background work. Directories renamed for deletion are removed. A partition
// found in two log dirs is an error, as in Kafka.
func OpenManager(cfg ManagerConfig) (*Manager, error) {
	if len(cfg.LogDirs) == 0 {
		return nil, errors.New("partlog: ManagerConfig.LogDirs is empty")
	}
	if cfg.RetentionCheckInterval <= 0 {
		cfg.RetentionCheckInterval = 5 * time.Minute
	}
	if cfg.FlushCheckInterval <= 0 {
		cfg.FlushCheckInterval = time.Second
	}
	if cfg.CleanerBackoff <= 0 {
		cfg.CleanerBackoff = 15 * time.Second
	}
	if cfg.RecoveryThreads <= 0 {
		cfg.RecoveryThreads = 1
	}
	if cfg.TopicConfig == nil {
		cfg.TopicConfig = func(string) Config { return DefaultConfig() }
	}
	cfg.Options.fillDefaults()
	m := &Manager{cfg: cfg, logs: map[TopicPartition]*Log{}, perDir: map[string]int{}}
	for _, d := range cfg.LogDirs {
		if err := m.openDir(d); err != nil {
			m.closeLogs()
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.syncer = NewSyncer()
	m.wg.Add(1)
	go m.maintenanceLoop(ctx)
	if !cfg.DisableCleaner {
		m.wg.Add(1)
		go m.cleanerLoop(ctx)
	}
	return m, nil
}

// ParseTopicPartition parses a partition directory name "<topic>-<n>".
func ParseTopicPartition(name string) (TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 || strconv.FormatInt(p, 10) != name[i+1:] {
		return TopicPartition{}, false
	}
	tp := TopicPartition{Topic: name[:i], Partition: int32(p)}
	if ValidateTopicName(tp.Topic) != nil {
		return TopicPartition{}, false
	}
	return tp, true
}

// ValidateTopicName applies Kafka's rules: 1 to 249 characters from
// [a-zA-Z0-9._-], and not "." or "..".
func ValidateTopicName(topic string) error {
	if topic == "" || topic == "." || topic == ".." || len(topic) > 249 {
		return fmt.Errorf("partlog: invalid topic name %q", topic)
	}
	for _, c := range topic {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("partlog: invalid topic name %q: illegal character %q", topic, c)
		}
	}
	return nil
}

func (m *Manager) openDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return storageErr("create log dir", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return storageErr("list log dir", err)
	}
	var todo []TopicPartition
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		if strings.HasSuffix(name, deleteDirSuffix) {
			// A deletion that a crash interrupted: finish it.
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				m.cfg.Options.Logger.Warn("partlog: removing deleted partition dir", "dir", name, "err", err)
			}
			continue
		}
		tp, ok := ParseTopicPartition(name)
		if !ok {
			continue
		}
		if _, dup := m.logs[tp]; dup {
			return fmt.Errorf("partlog: partition %s is in more than one log dir", tp)
		}
		m.logs[tp] = nil
		todo = append(todo, tp)
	}
	// Recover the partitions with RecoveryThreads workers.
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan TopicPartition)
	)
	for i := 0; i < m.cfg.RecoveryThreads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tp := range next {
				l, err := Open(filepath.Join(dir, tp.String()), m.cfg.TopicConfig(tp.Topic), m.cfg.Options)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("partlog: open %s: %w", tp, err)
				}
				if err == nil {
					m.logs[tp] = l
					m.perDir[filepath.Clean(dir)]++
				}
				mu.Unlock()
			}
		}()
	}
	for _, tp := range todo {
		next <- tp
	}
	close(next)
	wg.Wait()
	for tp, l := range m.logs {
		if l == nil {
			delete(m.logs, tp)
		}
	}
	return firstErr
}

// Get returns the log of a partition, if the manager has it.
func (m *Manager) Get(topic string, partition int32) (*Log, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.logs[TopicPartition{topic, partition}]
	return l, ok
}

// GetOrCreate returns the log of a partition, creating it with cfg in the
// log dir holding the fewest partitions when it does not exist. An existing
// log keeps its config (use SetConfig to change it).
func (m *Manager) GetOrCreate(topic string, partition int32, cfg Config) (*Log, error) {
	if err := ValidateTopicName(topic); err != nil {
		return nil, err
	}
	if partition < 0 {
		return nil, fmt.Errorf("partlog: invalid partition %d", partition)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tp := TopicPartition{topic, partition}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if l, ok := m.logs[tp]; ok {
		return l, nil
	}
	dir := m.pickDirLocked()
	pdir := filepath.Join(dir, tp.String())
	_, statErr := os.Stat(pdir)
	l, err := Open(pdir, cfg, m.cfg.Options)
	if err != nil {
		if os.IsNotExist(statErr) {
			// Take back the directory this call made, so a restart does not adopt a
			// partition whose creation failed. A rename needs no file descriptor
			// (the usual cause is running out of them); the next start removes it.
			if rerr := os.Rename(pdir, filepath.Join(dir, newDeleteDirName())); rerr != nil && !os.IsNotExist(rerr) {
				m.cfg.Options.Logger.Warn("partlog: could not take back the directory of a failed create", "dir", pdir, "err", rerr)
			}
		}
		return nil, fmt.Errorf("partlog: create %s: %w", tp, err)
	}
	m.logs[tp] = l
	m.perDir[filepath.Clean(dir)]++
	return l, nil
}

// pickDirLocked chooses the log dir with the fewest partitions (Kafka's
// default placement).
func (m *Manager) pickDirLocked() string {
	best := m.cfg.LogDirs[0]
	for _, d := range m.cfg.LogDirs[1:] {
		if m.perDir[filepath.Clean(d)] < m.perDir[filepath.Clean(best)] {
			best = d
		}
	}
	return best
}

// Delete deletes a partition's log: it closes the log, renames its directory
// to <id>-delete (durably), and removes the files in the
// background; a crash before removal is finished at the next start. Deleting
// an unknown partition is not an error.
func (m *Manager) Delete(topic string, partition int32) error {
	tp := TopicPartition{topic, partition}
	m.mu.Lock()
	l, ok := m.logs[tp]
	if ok {
		delete(m.logs, tp)
		m.perDir[filepath.Dir(l.dir)]--
	}
	m.mu.Unlock()
	if !ok {
		return nil
	}
	if err := l.close(false); err != nil {
		return err
	}
	parent := filepath.Dir(l.dir)
	doomed := filepath.Join(parent, newDeleteDirName())
	if err := os.Rename(l.dir, doomed); err != nil {
		return storageErr("rename deleted partition", err)
	}
	if err := syncDir(parent); err != nil {
		return storageErr("fsync log dir", err)
	}
	m.mu.Lock()
	closed := m.closed
	if !closed {
		m.wg.Add(1) // under m.mu, so Close's Wait cannot have begun
	}
	m.mu.Unlock()
	if closed {
		return os.RemoveAll(doomed)
	}
	go func() {
		defer m.wg.Done()
		if err := os.RemoveAll(doomed); err != nil {
			m.cfg.Options.Logger.Warn("partlog: removing deleted partition", "dir", doomed, "err", err)
		}
	}()
	return nil
}

// Partitions lists the partitions the manager holds, sorted.
func (m *Manager) Partitions() []TopicPartition {
	m.mu.Lock()
	out := make([]TopicPartition, 0, len(m.logs))
	for tp := range m.logs {
		out = append(out, tp)
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

func (m *Manager) snapshot() []*Log {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Collect(maps.Values(m.logs))
}

// RunRetention runs one retention pass over every log (what the background
// loop does every log.retention.check.interval.ms): retention.ms,
// retention.bytes, the log start offset, producer-id expiration and delayed
// file removal. It returns the first error and keeps going past it.
func (m *Manager) RunRetention() error {
	var first error
	for _, l := range m.snapshot() {
		if err := l.Maintain(); err != nil && !errors.Is(err, ErrClosed) && first == nil {
			first = err
		}
	}
	return first
}

func (m *Manager) maintenanceLoop(ctx context.Context) {
	defer m.wg.Done()
	flush := time.NewTicker(m.cfg.FlushCheckInterval)
	defer flush.Stop()
	retention := time.NewTicker(m.cfg.RetentionCheckInterval)
	defer retention.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			for _, l := range m.snapshot() {
				if err := l.flushIfDue(); err != nil && !errors.Is(err, ErrClosed) {
					m.cfg.Options.Logger.Error("partlog: flush.ms flush failed", "log", l.dir, "err", err)
				}
			}
		case <-retention.C:
			if err := m.RunRetention(); err != nil {
				m.cfg.Options.Logger.Error("partlog: retention failed", "err", err)
			}
		}
	}
}

// RunCleaner runs one cleaner pass: every log whose cleanup.policy includes
// compact and that needs cleaning is compacted once. It returns how many
// logs were cleaned and the first error (it goes on past errors).
func (m *Manager) RunCleaner(ctx context.Context) (int, error) {
	var (
		n     int
		first error
	)
	for _, l := range m.snapshot() {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if !l.Config().CleanupPolicy.Compact() {
			continue
		}
		st, err := l.Compact(ctx, CleanerOptions{})
		if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, errCleanerStopped) && first == nil {
			first = fmt.Errorf("partlog: cleaning %s: %w", filepath.Base(l.dir), err)
		}
		if st.Cleaned {
			n++
		}
	}
	return n, first
}

func (m *Manager) cleanerLoop(ctx context.Context) {
	defer m.wg.Done()
	t := time.NewTimer(m.cfg.CleanerBackoff)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := m.RunCleaner(ctx)
		if err != nil && ctx.Err() == nil {
			m.cfg.Options.Logger.Error("partlog: log cleaner", "err", err)
		}
		// Go again at once while there was work, as Kafka's cleaner
		// thread does; back off when every log is clean.
		if n > 0 {
			t.Reset(0)
		} else {
			t.Reset(m.cfg.CleanerBackoff)
		}
	}
}

// Close stops the background work, waits for it, and closes every log
// cleanly.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	if m.syncer != nil {
		m.syncer.Close()
	}
	return m.closeLogs()
}

// Syncer returns the manager's cross-log group commit, which Close stops
// before it closes the logs.
func (m *Manager) Syncer() *Syncer { return m.syncer }

// closeLogs closes every log with RecoveryThreads workers: closing is bound
// by fsync latency, which parallel closes share.
func (m *Manager) closeLogs() error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  = make(chan *Log)
	)
	for i := 0; i < max(1, m.cfg.RecoveryThreads); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range next {
				if err := l.Close(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, l := range m.snapshot() {
		next <- l
	}
	close(next)
	wg.Wait()
	return first
}
