package streams

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rivulet-io/rivulet/statestore"
)

// exactly_once_v2 (KIP-447), as Kafka Streams runs it: every stream thread
// has one transactional producer (its client, transactional.id =
// <application.id>-<process id>-<thread number>), its consumers read
// committed only, and a commit is: flush the caches and stores (their
// changelog records go into the transaction), flush the producer, add the
// consumed offsets to the transaction with the group's generation and
// member id (TxnOffsetCommit, so a member the group fenced cannot commit),
// and end the transaction with a commit. Only then do the stores apply
// their staged writes and write their checkpoints (eos_store.go).
//
// On an error the transaction is aborted and the thread's tasks are
// revived: closed without committing, their input rewound to the committed
// offsets, and opened again (a persistent store is at its last commit, so
// its restore is the changelog's tail, if anything). A fenced producer (a
// newer producer with the same transactional.id exists) ends the thread,
// and the application starts it again: the new thread rejoins the group
// with a new producer.

// processIDFile holds an instance's process id in its state directory, so
// a restarted instance has the same transactional ids and fences the
// producers of its previous life.
const processIDFile = "process.id"

// eosTransactionTimeout is the default transaction.timeout.ms under
// exactly-once, as Kafka Streams sets it: how long a transaction of a
// crashed instance that does not come back blocks read_committed readers.
const eosTransactionTimeout = 10 * time.Second

// propTransactionTimeoutMs is the producer property of the transaction
// timeout.
const propTransactionTimeoutMs = "transaction.timeout.ms"

// resolveTransactionTimeout sets TransactionTimeout under exactly_once_v2:
// the producers' transaction.timeout.ms when given, else the default, and
// refuses one smaller than the commit interval (a transaction would then
// time out before its commit), as Kafka Streams does.
func (c *config) resolveTransactionTimeout() error {
	if c.ProcessingGuarantee != ExactlyOnce {
		return nil
	}
	if v, ok := c.ClientProperties["producer"][propTransactionTimeoutMs]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 1 || n > math.MaxInt32 {
			return fmt.Errorf("streams: property %s=%q: want milliseconds in [1, %d]", propTransactionTimeoutMs, v, math.MaxInt32)
		}
		c.TransactionTimeout = time.Duration(n) * time.Millisecond
	} else if c.TransactionTimeout <= 0 {
		c.TransactionTimeout = eosTransactionTimeout
	}
	if c.TransactionTimeout < c.CommitInterval {
		return fmt.Errorf("streams: %s=%d is smaller than %s=%d: every transaction would time out before its commit; raise %s or lower %s",
			propTransactionTimeoutMs, c.TransactionTimeout.Milliseconds(), PropCommitIntervalMs, c.CommitInterval.Milliseconds(),
			propTransactionTimeoutMs, PropCommitIntervalMs)
	}
	return nil
}

// errProducerFenced: another producer with the thread's transactional.id
// started (Kafka Streams' TaskMigratedException from a ProducerFenced).
var errProducerFenced = errors.New("streams: transactional producer fenced")

// loadProcessID reads the instance's process id from dir, creating it on
// first use.
func loadProcessID(dir string) ([processIDLen]byte, error) {
	var id [processIDLen]byte
	path := filepath.Join(dir, processIDFile)
	b, err := os.ReadFile(path)
	if err == nil {
		raw, derr := hex.DecodeString(strings.TrimSpace(string(b)))
		if derr == nil && len(raw) == processIDLen {
			copy(id[:], raw)
			return id, nil
		}
		// A damaged file: a new id (the old producers then expire by the
		// transaction timeout instead of being fenced).
	} else if !errors.Is(err, os.ErrNotExist) {
		return id, fmt.Errorf("streams: read process id: %w", err)
	}
	if _, err := rand.Read(id[:]); err != nil {
		return id, fmt.Errorf("streams: process id: %w", err)
	}
	if err := statestore.WriteFileAtomic(path, []byte(hex.EncodeToString(id[:])+"\n")); err != nil {
		return id, fmt.Errorf("streams: write process id: %w", err)
	}
	return id, nil
}

// eos reports whether the application runs exactly_once_v2.
func (a *App) eos() bool { return a.cfg.ProcessingGuarantee == ExactlyOnce }

// transactionalID is thread id's transactional.id.
func (a *App) transactionalID(id int) string {
	return fmt.Sprintf("%s-%s-%d", a.cfg.ApplicationID, hex.EncodeToString(a.processID[:]), id+1)
}

// eosClientOpts are the options of a thread's client under exactly-once.
func (t *streamThread) eosClientOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.TransactionalID(t.app.transactionalID(t.id)),
		// KIP-447's require_stable offset fetches (a new owner of a
		// partition waits for the offsets a pending transaction commits)
		// are always on in franz-go's group consumer.
		kgo.TransactionTimeout(t.app.cfg.TransactionTimeout),
	}
}

// txnFailure reports whether a record failed because its transaction
// cannot commit (the producer was fenced, or the record outlived the
// transaction timeout): the transaction aborts, the production handler is
// not asked.
func txnFailure(err error) bool {
	return fenced(err) || errors.Is(err, kgo.ErrRecordTimeout) || errors.Is(err, kerr.TransactionAbortable) ||
		errors.Is(err, kerr.InvalidProducerIDMapping) || errors.Is(err, kerr.InvalidTxnState)
}

// fenced reports whether err says the producer was fenced.
func fenced(err error) bool {
	return errors.Is(err, errProducerFenced) || errors.Is(err, kerr.ProducerFenced) ||
		errors.Is(err, kerr.InvalidProducerEpoch) || errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// eosInit initializes the thread's producer id: the broker aborts what a
// previous producer with the same transactional.id left open and fences
// it, before this thread restores or processes anything.
func (t *streamThread) eosInit(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	if _, _, err := t.cl.ProducerID(ctx); err != nil {
		if fenced(err) {
			return fmt.Errorf("%w: %w", errProducerFenced, err)
		}
		return fmt.Errorf("streams: thread %s: init transactional producer %s: %w", t.name, t.app.transactionalID(t.id), err)
	}
	return nil
}

// eosBegin begins a transaction unless one is open. Called with t.mu held
// before tasks process.
func (t *streamThread) eosBegin() error {
	if t.inTxn {
		return nil
	}
	if err := t.cl.BeginTransaction(); err != nil {
		return fmt.Errorf("%w: begin transaction: %w", errProducerFenced, err)
	}
	t.collector.producedInTxn.Store(false)
	t.inTxn = true
	return nil
}

// commitEOS commits the thread's transaction: every running task's output,
// changelog records and consumed offsets. On failure the transaction is
// aborted and the tasks revived (errors that only mean "try again" return
// nil after that); a fenced producer or a failure the production handler
// asked for returns an error. Called with t.mu held.
func (t *streamThread) commitEOS(ctx context.Context) error {
	if !t.inTxn {
		return nil
	}
	start := time.Now()
	tasks := t.runningTasks()
	err := t.commitTxn(ctx, tasks)
	if err == nil {
		t.app.metrics.commits.Add(1)
		t.app.metrics.commitLatencySecs.Observe(time.Since(start).Seconds())
		return nil
	}
	t.app.metrics.commitFailures.Add(1)
	return t.abortAndRevive(ctx, err)
}

func (t *streamThread) commitTxn(ctx context.Context, tasks []*streamTask) error {
	for _, task := range tasks {
		if err := task.Flush(); err != nil {
			return err
		}
	}
	// A transaction older than its timeout is aborted by the broker: a
	// flush that takes longer cannot lead to a commit.
	fctx, cancel := context.WithTimeout(ctx, t.app.cfg.TransactionTimeout)
	err := t.collector.flush(fctx)
	cancel()
	if err != nil {
		return err
	}
	offsets := map[string]map[int32]kgo.EpochOffset{}
	for _, task := range tasks {
		if !task.NeedsCommit() {
			continue
		}
		for tp, off := range task.CommitOffsets() {
			if offsets[tp.Topic] == nil {
				offsets[tp.Topic] = map[int32]kgo.EpochOffset{}
			}
			offsets[tp.Topic][tp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
		}
	}
	// franz-go ends a transaction on the broker only when a record was
	// produced in it. A transaction that produced nothing commits its
	// offsets with a plain (generation-checked) offset commit after it: it
	// has no output for them to be atomic with.
	produced := t.collector.producedInTxn.Load()
	if len(offsets) > 0 && produced {
		if err := t.txnOffsetCommit(ctx, offsets); err != nil {
			return err
		}
	}
	if err := t.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("streams: commit transaction: %w", err)
	}
	t.inTxn = false
	t.offsetsAdded = false
	if len(offsets) > 0 && !produced {
		if err := t.plainOffsetCommit(ctx, offsets); err != nil {
			return err
		}
	}
	acked := t.collector.ackedOffsets()
	for _, task := range tasks {
		if err := task.applyStaged(); err != nil {
			return err
		}
		task.MarkCommitted()
		if err := task.Checkpoint(acked); err != nil {
			return err
		}
	}
	t.notePurgeable(offsets)
	return nil
}

// notePurgeable remembers committed offsets of repartition topics for
// purge.
func (t *streamThread) notePurgeable(offsets map[string]map[int32]kgo.EpochOffset) {
	for topic, ps := range offsets {
		if t.app.topo.t.IsRepartitionTopic(t.app.topo.t.RegisteredTopicName(t.app.cfg.ApplicationID, topic)) {
			for p, eo := range ps {
				t.purgeOffsets[TopicPartition{Topic: topic, Partition: p}] = eo.Offset
			}
		}
	}
}

func (t *streamThread) plainOffsetCommit(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset) error {
	var cerr error
	t.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if e := kerr.ErrorForCode(rp.ErrorCode); e != nil && cerr == nil {
					cerr = fmt.Errorf("%s-%d: %w", rt.Topic, rp.Partition, e)
				}
			}
		}
	})
	if cerr != nil {
		return fmt.Errorf("streams: commit offsets: %w", cerr)
	}
	return nil
}

// txnOffsetCommit adds offsets to the open transaction (AddOffsetsToTxn,
// then TxnOffsetCommit with the member's generation, KIP-447).
func (t *streamThread) txnOffsetCommit(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset) error {
	pid, epoch, err := t.cl.ProducerID(ctx)
	if err != nil {
		return fmt.Errorf("streams: producer id: %w", err)
	}
	txnID := t.app.transactionalID(t.id)
	group := t.app.cfg.ApplicationID
	if !t.offsetsAdded {
		err := retryConcurrent(ctx, func() error {
			req := kmsg.NewPtrAddOffsetsToTxnRequest()
			req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group = txnID, pid, epoch, group
			resp, err := req.RequestWith(ctx, t.cl)
			if err != nil {
				return err
			}
			return kerr.ErrorForCode(resp.ErrorCode)
		})
		if err != nil {
			return fmt.Errorf("streams: add offsets to transaction: %w", err)
		}
		t.offsetsAdded = true
	}
	member, gen := t.cl.GroupMetadata()
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = txnID, group, pid, epoch
	req.Generation, req.MemberID = gen, member
	if id := t.instanceID(); id != "" {
		req.InstanceID = &id
	}
	ids, err := t.topicIDs(ctx, offsets)
	if err != nil {
		return err
	}
	for topic, ps := range offsets {
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic, rt.TopicID = topic, ids[topic] // TxnOffsetCommit v6+ names topics by id
		for p, eo := range ps {
			rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch = p, eo.Offset, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	return retryConcurrent(ctx, func() error {
		resp, err := req.RequestWith(ctx, t.cl)
		if err != nil {
			return fmt.Errorf("streams: commit offsets in transaction: %w", err)
		}
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if e := kerr.ErrorForCode(rp.ErrorCode); e != nil {
					return fmt.Errorf("streams: commit offsets in transaction: %s-%d: %w", rt.Topic, rp.Partition, e)
				}
			}
		}
		return nil
	})
}

// topicIDs returns the ids of the topics in offsets, from the thread's
// cache or the cluster's metadata.
func (t *streamThread) topicIDs(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset) (map[string][16]byte, error) {
	if t.topicIDCache == nil {
		t.topicIDCache = map[string][16]byte{}
	}
	var missing []string
	for topic := range offsets {
		if _, ok := t.topicIDCache[topic]; !ok {
			missing = append(missing, topic)
		}
	}
	if len(missing) > 0 {
		td, err := t.app.admin.ListTopics(ctx, missing...)
		if err != nil {
			return nil, fmt.Errorf("streams: topic ids: %w", err)
		}
		for _, d := range td {
			if d.Err == nil {
				t.topicIDCache[d.Topic] = d.ID
			}
		}
	}
	return t.topicIDCache, nil
}

// retryConcurrent retries fn while the coordinator answers
// CONCURRENT_TRANSACTIONS (the previous transaction's markers are still
// being written).
func retryConcurrent(ctx context.Context, fn func() error) error {
	backoff := 10 * time.Millisecond
	for {
		err := fn()
		if !errors.Is(err, kerr.ConcurrentTransactions) {
			return err
		}
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
		backoff = min(backoff*2, 200*time.Millisecond)
	}
}

// instanceID is the thread's group.instance.id, if static membership is on.
func (t *streamThread) instanceID() string {
	props := t.app.cfg.ClientProperties["consumer"]
	if id := props["group.instance.id"]; id != "" {
		return id + "-" + fmt.Sprint(t.id+1)
	}
	return ""
}

// abortAndRevive aborts the open transaction after cause and revives the
// thread's tasks. It returns nil when processing can go on (the cause only
// meant the transaction could not commit), or the error that ends the
// thread: a fenced producer, or a failure the production handler asked
// for. Called with t.mu held.
func (t *streamThread) abortAndRevive(ctx context.Context, cause error) error {
	t.app.cfg.Logger.Warn("streams: aborting the transaction; the thread's tasks go back to their last commit", "thread", t.name, "err", cause)
	aerr := t.abortTxn(ctx)
	t.reviveTasks()
	switch {
	case fenced(cause) || fenced(aerr):
		return fmt.Errorf("%w: %w", errProducerFenced, errors.Join(cause, aerr))
	case errors.Is(cause, ErrProduction):
		return cause
	case aerr != nil:
		// The producer cannot end transactions any more: a new thread
		// gets a new producer.
		return fmt.Errorf("%w: abort transaction: %w (after %w)", errProducerFenced, aerr, cause)
	}
	return nil
}

// abortTxn drops buffered records and aborts the open transaction.
func (t *streamThread) abortTxn(ctx context.Context) error {
	if !t.inTxn {
		return nil
	}
	t.inTxn = false
	t.offsetsAdded = false
	ctx, cancel := context.WithTimeout(ctx, t.app.cfg.TransactionTimeout)
	defer cancel()
	if err := t.cl.AbortBufferedRecords(ctx); err != nil {
		return fmt.Errorf("streams: abort buffered records: %w", err)
	}
	var err error
	for range 3 {
		if err = t.cl.EndTransaction(ctx, kgo.TryAbort); err == nil {
			return nil
		}
		if !errors.Is(err, kerr.OperationNotAttempted) && !errors.Is(err, kerr.TransactionAbortable) {
			break
		}
	}
	return fmt.Errorf("streams: abort transaction: %w", err)
}

// reviveTasks closes every task without committing (their uncommitted
// writes are dropped with the transaction) and asks the next step to
// rewind the thread's input to the committed offsets and open the tasks
// again. Called with t.mu held.
func (t *streamThread) reviveTasks() {
	tasks := make([]*streamTask, 0, len(t.tasks))
	for _, task := range t.tasks {
		tasks = append(tasks, task)
	}
	for _, task := range tasks {
		t.closeTask(task, false)
	}
	t.collector.resetTxn()
	t.needRewind = true
}

// rewind moves the fetch position of every assigned partition back to its
// committed offset (or where consumption starts without one), then opens
// the tasks again. Records polled before it are dropped by the caller.
// Called with t.mu held, from the polling goroutine before AllowRebalance.
func (t *streamThread) rewind(ctx context.Context) error {
	if len(t.assigned) == 0 {
		t.needRewind = false
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	committed, err := t.stableOffsets(ctx)
	if err != nil {
		return err
	}
	topicSet := map[string]bool{}
	for tp := range t.assigned {
		topicSet[tp.Topic] = true
	}
	topics := make([]string, 0, len(topicSet))
	for tp := range topicSet {
		topics = append(topics, tp)
	}
	var resets kadm.ListedOffsets
	if t.app.cfg.AutoOffsetReset == "latest" {
		resets, err = t.app.admin.ListEndOffsets(ctx, topics...)
	} else {
		resets, err = t.app.admin.ListStartOffsets(ctx, topics...)
	}
	if err != nil {
		return fmt.Errorf("streams: list offsets: %w", err)
	}
	set := map[string]map[int32]kgo.EpochOffset{}
	for tp := range t.assigned {
		off := int64(-1)
		if o, ok := committed.Lookup(tp.Topic, tp.Partition); ok && o.At >= 0 {
			off = o.At
		} else if o, ok := resets.Lookup(tp.Topic, tp.Partition); ok && o.Err == nil {
			off = o.Offset
		}
		if off < 0 {
			return fmt.Errorf("streams: no offset to rewind %s to", tp)
		}
		if set[tp.Topic] == nil {
			set[tp.Topic] = map[int32]kgo.EpochOffset{}
		}
		set[tp.Topic][tp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
	}
	t.cl.SetOffsets(set)
	t.needRewind = false
	if err := t.ensureTasks(ctx); err != nil {
		return err
	}
	t.updateRunning()
	return nil
}

// transactionAPIs are the requests exactly_once_v2 needs from every broker.
var transactionAPIs = []kmsg.Key{kmsg.InitProducerID, kmsg.AddPartitionsToTxn, kmsg.AddOffsetsToTxn, kmsg.EndTxn, kmsg.TxnOffsetCommit}

// checkTransactions refuses exactly_once_v2 on a cluster whose brokers do
// not support Kafka's transactions, with an error that says so (rather
// than threads failing one by one).
func (a *App) checkTransactions(ctx context.Context) error {
	vs, err := a.admin.ApiVersions(ctx)
	if err != nil {
		return fmt.Errorf("streams: api versions: %w", err)
	}
	for _, v := range vs {
		if v.Err != nil {
			continue // an unreachable broker: its requests fail later with a clear error
		}
		for _, k := range transactionAPIs {
			if _, _, ok := v.KeyVersions(int16(k)); !ok {
				return fmt.Errorf("streams: processing.guarantee=exactly_once_v2 needs Kafka transactions, and broker %d does not support %s; use at_least_once with this broker", v.NodeID, k.Name())
			}
		}
	}
	return nil
}

// stableOffsets fetches the group's committed offsets with require_stable,
// polling while a partition's offset belongs to a transaction still ending
// (UNSTABLE_OFFSET_COMMIT): rewinding anywhere else would process records
// again that committed state already holds.
func (t *streamThread) stableOffsets(ctx context.Context) (kadm.OffsetResponses, error) {
	backoff := 20 * time.Millisecond
	for {
		committed, err := t.app.admin.FetchOffsets(kadm.RequireStable(ctx), t.app.cfg.ApplicationID)
		if err == nil {
			var perr error
			for tp := range t.assigned {
				if o, ok := committed.Lookup(tp.Topic, tp.Partition); ok && o.Err != nil && perr == nil {
					perr = fmt.Errorf("%s: %w", tp, o.Err)
				}
			}
			if perr == nil {
				return committed, nil
			}
			err = perr
		}
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("streams: fetch committed offsets: %w", err)
		case <-timer.C:
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

// finalCheckpoints writes, after the last commit before a clean close, the
// checkpoints that exactly-once keeps off while tasks process (window and
// session stores), so that a clean restart restores nothing. Called with
// t.mu held.
func (t *streamThread) finalCheckpoints(tasks []*streamTask) {
	acked := t.collector.ackedOffsets()
	for _, task := range tasks {
		if err := t.app.eosStores.finalCheckpoint(task.ID(), func() error { return task.Checkpoint(acked) }); err != nil {
			t.app.cfg.Logger.Warn("streams: checkpoint at close", "thread", t.name, "task", task.ID().String(), "err", err)
		}
	}
}
