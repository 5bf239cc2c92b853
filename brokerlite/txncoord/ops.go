package txncoord

import (
	"math"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Result is the outcome of a request: a Kafka error code (0 for success)
// and, for errors, a message for the response fields that carry one.
type Result struct {
	ErrorCode int16
	Message   string
}

func ok() Result { return Result{} }

func fail(e *kerr.Error, msg string) Result { return Result{ErrorCode: e.Code, Message: msg} }

// InitRequest is InitProducerId with a transactional id.
type InitRequest struct {
	TransactionalID string
	TimeoutMs       int32
	// ProducerID and ProducerEpoch are the producer's current ones
	// (KIP-360, InitProducerId v3+), or -1 for a new producer.
	ProducerID    int64
	ProducerEpoch int16
}

// InitResult is the answer to InitProducerID.
type InitResult struct {
	Result
	ProducerID    int64
	ProducerEpoch int16
}

// bumpEpoch returns m with the next epoch of its producer, or a new
// producer id at epoch 0 when the epoch is exhausted (KIP-360). The
// previous id and epoch are kept for retries.
func (c *Coordinator) bumpEpoch(m meta) (meta, error) {
	n := m.clone()
	n.lastPid, n.lastEpoch = -1, m.epoch
	if m.pid < 0 || m.epoch >= math.MaxInt16-1 {
		id, err := c.cfg.Broker.NewProducerID()
		if err != nil {
			return m, err
		}
		if m.pid >= 0 {
			n.lastPid = m.pid
		}
		n.pid, n.epoch = id, 0
		return n, nil
	}
	n.epoch = m.epoch + 1
	return n, nil
}

// InitProducerID gives a transactional producer its producer id and epoch.
// A new id gets a fresh producer id at epoch 0; a known one gets its epoch
// bumped, which fences every older producer of the id: an ongoing
// transaction of the id is aborted first (its markers are written with the
// bumped epoch, so a zombie's later writes are refused). KIP-360: a
// producer passing its current id and epoch keeps its id; a retry of a bump
// it did not see the answer of gets the same answer; any other id or epoch
// of a known transactional id is PRODUCER_FENCED, and so is a request naming
// the producer whose ongoing transaction it aborts or whose transaction
// timed out (as Kafka), while an unknown transactional id starts afresh
// whatever producer the request names.
func (c *Coordinator) InitProducerID(req InitRequest) InitResult {
	res := InitResult{ProducerID: -1, ProducerEpoch: -1}
	switch {
	case c.closed.Load():
		res.Result = fail(kerr.CoordinatorNotAvailable, "the transaction coordinator is shutting down")
		return res
	case req.TransactionalID == "":
		res.Result = fail(kerr.InvalidRequest, "the transactional id is empty")
		return res
	case req.TimeoutMs <= 0 || int64(req.TimeoutMs) > c.cfg.MaxTimeout.Milliseconds():
		res.Result = fail(kerr.InvalidTransactionTimeout, "transaction.timeout.ms must be between 1 and transaction.max.timeout.ms ("+itoa(c.cfg.MaxTimeout.Milliseconds())+")")
		return res
	}
	t := c.lookupOrCreate(req.TransactionalID)
	defer func() {
		if !t.stored {
			c.forget(t) // nothing was written: a refused request leaves no trace
		}
		t.mu.Unlock()
	}()
	m := t.m
	if req.ProducerID >= 0 && t.stored {
		retry := m.lastEpoch >= 0 && req.ProducerEpoch == m.lastEpoch &&
			(req.ProducerID == m.lastPid || (m.lastPid < 0 && req.ProducerID == m.pid))
		if retry && (m.state == kmsg.TransactionStateEmpty || m.state == kmsg.TransactionStateCompleteCommit || m.state == kmsg.TransactionStateCompleteAbort) {
			res.ProducerID, res.ProducerEpoch = m.pid, m.epoch
			return res
		}
		if !retry && (req.ProducerID != m.pid || req.ProducerEpoch != m.epoch) {
			res.Result = fail(kerr.ProducerFenced, "producer id "+itoa(req.ProducerID)+" epoch "+itoa(int64(req.ProducerEpoch))+" is not the current producer of this transactional id")
			return res
		}
	}
	// An id the coordinator does not know (never seen, or expired after
	// transactional.id.expiration.ms) gets a new producer id at epoch 0, also when the
	// request names the producer it had (KIP-360): that producer recovers, as with Kafka.
	if r := c.settleLocked(t); r.ErrorCode != 0 {
		res.Result = r
		return res
	}
	if t.m.state == kmsg.TransactionStateOngoing {
		// Fence the current producer: abort its transaction with a bumped
		// epoch.
		if r := c.abortFencingLocked(t); r.ErrorCode != 0 {
			res.Result = r
			return res
		}
		if req.ProducerID >= 0 {
			// The request named the producer just fenced, whose epoch is now stale. Kafka
			// answers CONCURRENT_TRANSACTIONS here and PRODUCER_FENCED to the retry; the
			// retry's answer is given at once.
			res.Result = fail(kerr.ProducerFenced, "producer id "+itoa(req.ProducerID)+" epoch "+itoa(int64(req.ProducerEpoch))+" was fenced by the abort of its ongoing transaction")
			return res
		}
	}
	n, err := c.bumpEpoch(t.m)
	if err != nil {
		c.logger.Error("txncoord: allocating a producer id failed", "err", err)
		res.Result = fail(kerr.UnknownServerError, "allocating a producer id failed")
		return res
	}
	if req.ProducerID < 0 {
		// Only a KIP-360 request (one naming its producer) may retry into this bump: a
		// producer that names the epoch before a plain bump is the one being fenced.
		n.lastPid, n.lastEpoch = -1, -1
	}
	n.state = kmsg.TransactionStateEmpty
	n.parts = map[TopicPartition]struct{}{}
	n.startMs = -1
	n.timeoutMs = req.TimeoutMs
	n.updateMs = c.nowMs()
	if err := c.persist(t, n); err != nil {
		res.Result = c.writeFailure(err)
		return res
	}
	res.ProducerID, res.ProducerEpoch = n.pid, n.epoch
	return res
}

// settleLocked finishes a transaction left in PrepareCommit or
// PrepareAbort (a marker write failed earlier): the id can do nothing else
// until it is complete.
func (c *Coordinator) settleLocked(t *txn) Result {
	if t.m.state != kmsg.TransactionStatePrepareCommit && t.m.state != kmsg.TransactionStatePrepareAbort {
		return ok()
	}
	if err := c.completeLocked(t); err != nil {
		c.logger.Warn("txncoord: completing a transaction failed; will retry", "transactional.id", t.id, "err", err)
		return fail(kerr.ConcurrentTransactions, "the previous transaction of this id is still being completed")
	}
	return ok()
}

// abortFencingLocked aborts t's ongoing transaction with a bumped epoch,
// so that the producer that began it is fenced. The markers carry the
// transaction's producer id, so the epoch is bumped within it: epoch
// math.MaxInt16 is never given to a producer and kept for this (as Kafka),
// and the id's next InitProducerId gets a new producer id.
func (c *Coordinator) abortFencingLocked(t *txn) Result {
	n := t.m.clone()
	if n.epoch < math.MaxInt16 {
		n.epoch++
	}
	// No producer was given the fencing epoch, so none may take it as a retry of a bump it
	// missed (KIP-360): as Kafka, the fenced producer naming its epoch in InitProducerId
	// gets PRODUCER_FENCED.
	n.lastPid, n.lastEpoch = -1, -1
	n.state = kmsg.TransactionStatePrepareAbort
	n.updateMs = c.nowMs()
	if err := c.persist(t, n); err != nil {
		return c.writeFailure(err)
	}
	if err := c.completeLocked(t); err != nil {
		c.logger.Warn("txncoord: aborting a fenced transaction failed; will retry", "transactional.id", t.id, "err", err)
		return fail(kerr.ConcurrentTransactions, "the fenced transaction is still being aborted")
	}
	return ok()
}

// completeLocked writes the markers of t's PrepareCommit or PrepareAbort
// transaction and then its CompleteCommit or CompleteAbort state.
func (c *Coordinator) completeLocked(t *txn) error {
	commit := t.m.state == kmsg.TransactionStatePrepareCommit
	if err := c.cfg.Broker.WriteMarkers(c.ctx, t.m.pid, t.m.epoch, commit, coordinatorEpoch, t.m.partitions()); err != nil {
		return err
	}
	n := t.m.clone()
	n.state = kmsg.TransactionStateCompleteAbort
	if commit {
		n.state = kmsg.TransactionStateCompleteCommit
	}
	n.parts = map[TopicPartition]struct{}{}
	n.updateMs = c.nowMs()
	// The complete state need not be durable before the answer: the markers are, and a
	// crash that loses this record leaves the Prepare state, which the restart completes
	// again (a second marker of an ended transaction changes nothing). The next state
	// write of the partition makes it durable.
	return c.write(t, n, false)
}

// writeFailure maps a failed state write to an error for the client.
func (c *Coordinator) writeFailure(err error) Result {
	if c.closed.Load() {
		return fail(kerr.CoordinatorNotAvailable, "the transaction coordinator is shutting down")
	}
	c.logger.Error("txncoord: writing __transaction_state failed", "err", err)
	return fail(kerr.CoordinatorNotAvailable, "writing the transaction state failed")
}

// checkProducerLocked applies Kafka's checks of a request's producer id
// and epoch against t.
func checkProducerLocked(t *txn, pid int64, epoch int16) Result {
	switch {
	case !t.stored || pid != t.m.pid:
		return fail(kerr.InvalidProducerIDMapping, "producer id "+itoa(pid)+" is not the producer of this transactional id")
	case epoch != t.m.epoch:
		return fail(kerr.ProducerFenced, "producer epoch "+itoa(int64(epoch))+" is not the current epoch "+itoa(int64(t.m.epoch)))
	}
	return ok()
}

// AddPartitions adds partitions to the producer's transaction (starting
// one if none is ongoing). It answers one Result per partition, in order:
// a partition that does not exist gets UNKNOWN_TOPIC_OR_PARTITION and the
// others OPERATION_NOT_ATTEMPTED, whatever the producer; an error of the
// whole request is given for every partition.
func (c *Coordinator) AddPartitions(id string, pid int64, epoch int16, parts []TopicPartition) []Result {
	out := make([]Result, len(parts))
	all := func(r Result) []Result {
		for i := range out {
			out[i] = r
		}
		return out
	}
	if c.closed.Load() {
		return all(fail(kerr.CoordinatorNotAvailable, "the transaction coordinator is shutting down"))
	}
	// As Kafka: partitions that do not exist fail the request before the transactional id
	// and its producer are looked at.
	bad := false
	for i, tp := range parts {
		if !c.cfg.Broker.PartitionExists(tp) {
			out[i] = fail(kerr.UnknownTopicOrPartition, "")
			bad = true
		}
	}
	if bad {
		for i := range out {
			if out[i].ErrorCode == 0 {
				out[i] = fail(kerr.OperationNotAttempted, "")
			}
		}
		return out
	}
	t := c.lookup(id)
	if t == nil {
		return all(fail(kerr.InvalidProducerIDMapping, "unknown transactional id"))
	}
	defer t.mu.Unlock()
	if r := checkProducerLocked(t, pid, epoch); r.ErrorCode != 0 {
		return all(r)
	}
	if r := c.settleLocked(t); r.ErrorCode != 0 {
		return all(r)
	}
	if t.m.state == kmsg.TransactionStatePrepareEpochFence || t.m.state == kmsg.TransactionStateDead {
		return all(fail(kerr.InvalidTxnState, "the transaction is "+t.m.state.String()))
	}
	have := t.m.state == kmsg.TransactionStateOngoing
	for _, tp := range parts {
		if _, in := t.m.parts[tp]; !in {
			have = false
		}
	}
	if have {
		return out
	}
	n := t.m.clone()
	for _, tp := range parts {
		n.parts[tp] = struct{}{}
	}
	now := c.nowMs()
	if n.state != kmsg.TransactionStateOngoing {
		n.state = kmsg.TransactionStateOngoing
		n.startMs = now
	}
	n.updateMs = now
	if err := c.persist(t, n); err != nil {
		return all(c.writeFailure(err))
	}
	return out
}

// AddOffsets adds the group's __consumer_offsets partition to the
// producer's transaction, so that the offsets it commits with
// TxnOffsetCommit are committed or aborted with it.
func (c *Coordinator) AddOffsets(id string, pid int64, epoch int16, group string) Result {
	return c.AddPartitions(id, pid, epoch, []TopicPartition{c.cfg.Broker.OffsetsPartition(group)})[0]
}

// EndTxn commits or aborts the producer's ongoing transaction: it writes
// PrepareCommit or PrepareAbort, the markers to every partition of the
// transaction, then CompleteCommit or CompleteAbort, and answers once all
// of it is durable, so the transaction's records are visible to
// read_committed consumers (or dropped for them) when it returns. A retry
// of an EndTxn that already completed the same way succeeds; ending a
// transaction the other way, or with none ongoing, is INVALID_TXN_STATE.
func (c *Coordinator) EndTxn(id string, pid int64, epoch int16, commit bool) Result {
	if c.closed.Load() {
		return fail(kerr.CoordinatorNotAvailable, "the transaction coordinator is shutting down")
	}
	t := c.lookup(id)
	if t == nil {
		return fail(kerr.InvalidProducerIDMapping, "unknown transactional id")
	}
	defer t.mu.Unlock()
	if r := checkProducerLocked(t, pid, epoch); r.ErrorCode != 0 {
		return r
	}
	wantPrepare, wantComplete := kmsg.TransactionStatePrepareAbort, kmsg.TransactionStateCompleteAbort
	if commit {
		wantPrepare, wantComplete = kmsg.TransactionStatePrepareCommit, kmsg.TransactionStateCompleteCommit
	}
	switch t.m.state {
	case kmsg.TransactionStateOngoing:
	case wantPrepare:
		return c.settleLocked(t)
	case wantComplete:
		return ok() // a retry
	default:
		return fail(kerr.InvalidTxnState, "cannot "+endWord(commit)+" a transaction in state "+t.m.state.String())
	}
	n := t.m.clone()
	n.state = wantPrepare
	n.updateMs = c.nowMs()
	if err := c.persist(t, n); err != nil {
		return c.writeFailure(err)
	}
	if err := c.completeLocked(t); err != nil {
		if c.closed.Load() {
			return fail(kerr.CoordinatorNotAvailable, "the transaction coordinator is shutting down")
		}
		c.logger.Warn("txncoord: writing transaction markers failed; will retry", "transactional.id", id, "err", err)
		return fail(kerr.ConcurrentTransactions, "the transaction's markers are not all written yet; retry")
	}
	return ok()
}

func endWord(commit bool) string {
	if commit {
		return "commit"
	}
	return "abort"
}

// ProduceCheck is returned by BeginProduce: Check answers whether the
// producer may write a transactional batch to a partition, and Done must be
// called once the request's appends are done. Between the two the
// transaction cannot end, so no batch lands after its markers.
type ProduceCheck struct {
	t   *txn
	err Result
}

// BeginProduce checks a transactional Produce request's producer against
// the transactional id. Call Done on the result in every case.
func (c *Coordinator) BeginProduce(id string, pid int64, epoch int16) *ProduceCheck {
	if c.closed.Load() {
		return &ProduceCheck{err: fail(kerr.CoordinatorNotAvailable, "")}
	}
	t := c.lookup(id)
	if t == nil {
		return &ProduceCheck{err: fail(kerr.InvalidProducerIDMapping, "unknown transactional id")}
	}
	pc := &ProduceCheck{t: t}
	switch {
	case pid != t.m.pid:
		pc.err = fail(kerr.InvalidProducerIDMapping, "producer id "+itoa(pid)+" is not the producer of this transactional id")
	case epoch != t.m.epoch:
		pc.err = fail(kerr.InvalidProducerEpoch, "producer epoch "+itoa(int64(epoch))+" is not the current epoch "+itoa(int64(t.m.epoch)))
	}
	return pc
}

// Check returns the error for writing to tp (0 when allowed): the producer
// must be current and tp added to its ongoing transaction.
func (pc *ProduceCheck) Check(tp TopicPartition) Result {
	if pc.err.ErrorCode != 0 {
		return pc.err
	}
	if pc.t.m.state != kmsg.TransactionStateOngoing {
		return fail(kerr.InvalidTxnState, "no transaction is ongoing: call AddPartitionsToTxn first")
	}
	if _, in := pc.t.m.parts[tp]; !in {
		return fail(kerr.InvalidTxnState, "partition "+tp.Topic+"-"+itoa(int64(tp.Partition))+" was not added to the transaction")
	}
	return ok()
}

// Done releases the transactional id.
func (pc *ProduceCheck) Done() {
	if pc.t != nil {
		pc.t.mu.Unlock()
		pc.t = nil
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
