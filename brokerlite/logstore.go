package brokerlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"github.com/twmb/franz-go/pkg/kerr"
)

// logStore is the broker's side of the partition logs: it owns the partlog.Manager (which
// opens and recovers every partition at start, and runs retention, flush.ms and the
// cleaner) and turns topics' configs into partlog configs. Only this file and partition's
// methods touch partlog, so the protocol handlers stay independent of the storage API.
type logStore struct {
	b       *Broker
	m       *partlog.Manager
	base    partlog.Config // the topic defaults from server.properties
	dirLock *dirLock
}

// openLogStore opens the partition logs under log.dirs; topicConfigs gives the overrides of
// each known topic (from rivulet-topics.json) so logs open with their own config.
func openLogStore(ctx context.Context, b *Broker, topicConfigs map[string]map[string]string) (*logStore, error) {
	base, err := partlog.ParseBrokerConfig(b.settings.Explicit)
	if err != nil {
		return nil, fmt.Errorf("brokerlite: config: %w", err)
	}
	s := &logStore{b: b, base: base}
	_ = ctx // partlog recovery is not interruptible; it is bounded by the data on disk
	s.m, err = partlog.OpenManager(partlog.ManagerConfig{
		LogDirs: b.settings.LogDirs,
		TopicConfig: func(topic string) partlog.Config {
			cfg, err := base.With(topicConfigs[topic])
			if err != nil {
				b.logger.Warn("stored topic configs are invalid; using the broker defaults", "topic", topic, "err", err)
				return base
			}
			return cfg
		},
		RetentionCheckInterval: time.Duration(b.settings.RetentionCheckMs) * time.Millisecond,
		CleanerBackoff:         time.Duration(b.settings.CleanerBackoffMs) * time.Millisecond,
		DisableCleaner:         !b.settings.CleanerEnable,
		RecoveryThreads:        int(b.settings.Limits.RecoveryThreadsPerDataDir),
		Options: partlog.Options{
			Logger:                 b.componentLogger("partlog"),
			ProducerIDExpirationMs: b.settings.ProducerIDExpirationMs,
			ObserveFsync:           b.metrics.observeFsync,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("brokerlite: opening logs: %w", err)
	}
	return s, nil
}

// onDisk lists the partitions found in the log dirs.
func (s *logStore) onDisk() []partlog.TopicPartition { return s.m.Partitions() }

// logConfig turns a topic's overrides into the partlog config of its partitions.
func (s *logStore) logConfig(t *topic) (partlog.Config, error) {
	return s.base.With(t.configs)
}

// validateLogConfig checks topic overrides through partlog's own rules.
func validateLogConfig(b *Broker, configs map[string]string) error {
	base := partlog.DefaultConfig()
	if b.logs != nil {
		base = b.logs.base
	}
	_, err := base.With(configs)
	return err
}

// openPartition opens (or creates) a partition's log.
func (s *logStore) openPartition(t *topic, index int32) (*partition, error) {
	cfg, err := s.logConfig(t)
	if err != nil {
		return nil, fmt.Errorf("brokerlite: topic %s: %w", t.name, err)
	}
	l, err := s.m.GetOrCreate(t.name, index, cfg)
	if err != nil {
		return nil, fmt.Errorf("brokerlite: opening %s-%d: %w", t.name, index, err)
	}
	p := &partition{index: index, log: l}
	p.topic.Store(t)
	return p, nil
}

// deletePartition deletes a partition's log (crash-safely: partlog renames the directory
// to <32 hex digits>-delete first), then wakes the fetches waiting on it: their next read
// finds the log closed and they answer at once.
func (s *logStore) deletePartition(p *partition) error {
	err := s.m.Delete(p.topicName(), p.index)
	p.wakeAll()
	return err
}

func (s *logStore) applyConfigs(t *topic) error {
	cfg, err := s.logConfig(t)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range t.partitions {
		if err := p.log.SetConfig(cfg); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// close stops the background work, fsyncs and closes every log (a clean shutdown, so the
// next start skips recovery), then releases the data directory.
func (s *logStore) close() error {
	var err error
	if s.m != nil {
		err = s.m.Close()
	}
	s.dirLock.release()
	return err
}

// partition is one partition of a topic: its log and the fetch requests waiting for data.
type partition struct {
	topic atomic.Pointer[topic] // the current *topic value (replaced when configs change)
	index int32
	log   *partlog.Log

	waitMu  sync.Mutex
	waiters map[*fetchWaiter]struct{}
	nwait   atomic.Int32 // len(waiters), read without the lock on the append path
}

func (p *partition) setTopic(t *topic) { p.topic.Store(t) }
func (p *partition) topicName() string { return p.topic.Load().name }
func (p *partition) String() string    { return fmt.Sprintf("%s-%d", p.topicName(), p.index) }

// appendResult is what a successful append reports to the producer.
type appendResult struct {
	baseOffset     int64
	lastOffset     int64
	logAppendTime  int64 // -1 for CreateTime topics
	logStartOffset int64
}

// append validates and appends a produce request's records field. A duplicate batch
// (KIP-98) is a success with the original offsets.
func (p *partition) append(records []byte) (appendResult, error) {
	res, err := p.log.Append(records)
	if err != nil && !errors.Is(err, partlog.ErrDuplicateSequence) {
		return appendResult{}, err
	}
	out := appendResult{baseOffset: res.BaseOffset, lastOffset: res.LastOffset, logAppendTime: res.LogAppendTime, logStartOffset: res.LogStartOffset}
	if err == nil {
		p.wake()
	}
	return out, nil
}

// syncTo makes the log durable at least up to (not including) offset end. When an fsync
// that started after the append already covered it, it returns at once: an acks=-1 answer
// waits for the fsync that covers its own records, not for one that covers later appends.
func (p *partition) syncTo(end int64) error { return p.log.SyncTo(end) }

// syncShared is syncTo through the log manager's Syncer: callers waiting on different
// partitions share fsync rounds. It returns early, with ctx's error, when ctx ends.
func (s *logStore) syncShared(ctx context.Context, p *partition, end int64) error {
	return s.m.Syncer().SyncTo(ctx, p.log, end)
}

// readResult is one partition's part of a fetch.
type readResult struct {
	records          []byte
	highWatermark    int64
	lastStableOffset int64
	logStartOffset   int64
}

// read appends whole batches from offset to dst, within maxBytes. When strict is false the
// first batch is returned even if it is larger than maxBytes (KIP-74); when strict is true
// a batch that does not fit is left out.
func (p *partition) read(dst []byte, offset int64, maxBytes int32, strict bool) (readResult, error) {
	if maxBytes < 0 {
		maxBytes = 0
	}
	start := len(dst)
	rr, err := p.log.ReadAppend(dst, offset, maxBytes)
	out := readResult{records: rr.Records, highWatermark: rr.HighWatermark, lastStableOffset: rr.LastStableOffset, logStartOffset: rr.LogStartOffset}
	if err == nil && strict && int32(len(rr.Records)-start) > maxBytes {
		out.records = rr.Records[:start]
	}
	return out, err
}

// offsets returns the log start offset and the high watermark (= log end offset).
func (p *partition) offsets() (int64, int64) {
	return p.log.LogStartOffset(), p.log.HighWatermark()
}

// offsetForTimestamp returns the first offset with a timestamp at or after ts and that
// timestamp, or -1, -1 when there is none.
func (p *partition) offsetForTimestamp(ts int64) (int64, int64, error) {
	off, t, ok, err := p.log.OffsetForTimestamp(ts)
	if err != nil || !ok {
		return -1, -1, err
	}
	return off, t, nil
}

// maxTimestamp returns the offset and timestamp of the record with the largest timestamp,
// or -1, -1 for an empty log.
func (p *partition) maxTimestamp() (int64, int64, error) {
	off, t, ok, err := p.log.MaxTimestamp()
	if err != nil || !ok {
		return -1, -1, err
	}
	return off, t, nil
}

func (p *partition) deleteRecords(before int64) (int64, error) {
	return p.log.DeleteRecordsBefore(before)
}

// logErrorCode maps a partition log error to a Kafka error code and a message.
func logErrorCode(err error) (*kerr.Error, string) {
	var te *topicError
	if errors.As(err, &te) {
		return te.code, te.msg
	}
	code := partlog.KafkaErrorCode(err)
	if ke := kerr.ErrorForCode(code); ke != nil {
		var e *kerr.Error
		if errors.As(ke, &e) {
			return e, err.Error()
		}
	}
	return kerr.UnknownServerError, err.Error()
}

// fetchWaiter is a long-polling fetch waiting for appends on any of its partitions.
type fetchWaiter struct {
	ch    chan struct{} // capacity 1: one pending wake-up is enough
	parts []*partition
}

func newFetchWaiter() *fetchWaiter { return &fetchWaiter{ch: make(chan struct{}, 1)} }

func (w *fetchWaiter) register(p *partition) {
	p.waitMu.Lock()
	if p.waiters == nil {
		p.waiters = map[*fetchWaiter]struct{}{}
	}
	if _, ok := p.waiters[w]; !ok {
		p.waiters[w] = struct{}{}
		p.nwait.Add(1)
		w.parts = append(w.parts, p)
	}
	p.waitMu.Unlock()
}

func (w *fetchWaiter) unregister() {
	for _, p := range w.parts {
		p.waitMu.Lock()
		if _, ok := p.waiters[w]; ok {
			delete(p.waiters, w)
			p.nwait.Add(-1)
		}
		p.waitMu.Unlock()
	}
	w.parts = nil
}

// wait blocks until an append wakes the waiter (true), or the deadline passes or ctx ends
// (false).
func (w *fetchWaiter) wait(ctx context.Context, deadline time.Time) bool {
	d := time.Until(deadline)
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.ch:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// wake signals every fetch waiting on p. It costs one atomic load when nobody waits.
func (p *partition) wake() {
	if p.nwait.Load() == 0 {
		return
	}
	p.waitMu.Lock()
	for w := range p.waiters {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
	p.waitMu.Unlock()
}

func (p *partition) wakeAll() { p.wake() }
