package txncoord

import (
	"slices"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// background runs the timeout aborter and the expiration of idle ids
// until Close.
func (c *Coordinator) background() {
	defer c.wg.Done()
	abort := time.NewTicker(c.cfg.AbortInterval)
	defer abort.Stop()
	remove := time.NewTicker(c.cfg.RemoveInterval)
	defer remove.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-abort.C:
			c.AbortTimedOut()
		case <-remove.C:
			c.RemoveExpired()
		}
	}
}

// AbortTimedOut aborts every ongoing transaction older than its
// transaction.timeout.ms, fencing its producer with an epoch bump (the
// producer's next request gets PRODUCER_FENCED or INVALID_PRODUCER_EPOCH,
// as with Kafka), and retries the completion of transactions whose markers
// could not be written earlier. It returns how many it aborted. The
// background loop calls it every AbortInterval.
func (c *Coordinator) AbortTimedOut() int {
	now := c.nowMs()
	n := 0
	for _, t := range c.snapshot() {
		if c.closed.Load() {
			return n
		}
		t.mu.Lock()
		switch {
		case t.removed:
		case t.m.state == kmsg.TransactionStatePrepareCommit || t.m.state == kmsg.TransactionStatePrepareAbort:
			c.settleLocked(t)
		case t.m.state == kmsg.TransactionStateOngoing && t.m.startMs >= 0 && now-t.m.startMs > int64(t.m.timeoutMs):
			c.logger.Info("txncoord: aborting a transaction past its timeout", "transactional.id", t.id,
				"producer.id", t.m.pid, "epoch", t.m.epoch, "transaction.timeout.ms", t.m.timeoutMs)
			if r := c.abortFencingLocked(t); r.ErrorCode == 0 {
				n++
			}
		}
		t.mu.Unlock()
	}
	return n
}

// RemoveExpired removes the transactional ids with no ongoing transaction
// whose last request is older than transactional.id.expiration.ms: a
// tombstone goes to __transaction_state and the id is forgotten. It returns
// how many it removed. The background loop calls it every RemoveInterval.
func (c *Coordinator) RemoveExpired() int {
	cutoff := c.nowMs() - c.cfg.IDExpiration.Milliseconds()
	n := 0
	for _, t := range c.snapshot() {
		if c.closed.Load() {
			return n
		}
		t.mu.Lock()
		idle := t.m.state == kmsg.TransactionStateEmpty || t.m.state == kmsg.TransactionStateCompleteCommit || t.m.state == kmsg.TransactionStateCompleteAbort
		if !t.removed && idle && t.m.updateMs < cutoff {
			if !t.stored {
				c.forget(t)
			} else if err := c.cfg.Log.Append(c.ctx, c.cfg.PartitionFor(t.id), encodeTombstone(t.id, c.nowMs())); err != nil {
				c.logger.Warn("txncoord: removing an expired transactional id failed", "transactional.id", t.id, "err", err)
			} else {
				c.forget(t)
				n++
			}
		}
		t.mu.Unlock()
	}
	return n
}

// Description is one transactional id as DescribeTransactions reports it.
type Description struct {
	TransactionalID string
	State           string // Kafka's state name: Empty, Ongoing, PrepareCommit, ...
	ProducerID      int64
	ProducerEpoch   int16
	TimeoutMs       int32
	StartMs         int64 // -1 when no transaction is ongoing
	Partitions      []TopicPartition
}

// Describe returns the state of an id, or false when it is unknown.
func (c *Coordinator) Describe(id string) (Description, bool) {
	t := c.lookup(id)
	if t == nil || !t.stored {
		if t != nil {
			t.mu.Unlock()
		}
		return Description{}, false
	}
	defer t.mu.Unlock()
	return describeLocked(t), true
}

func describeLocked(t *txn) Description {
	d := Description{TransactionalID: t.id, State: t.m.state.String(), ProducerID: t.m.pid, ProducerEpoch: t.m.epoch,
		TimeoutMs: t.m.timeoutMs, StartMs: -1, Partitions: t.m.partitions()}
	if t.m.state == kmsg.TransactionStateOngoing || t.m.state == kmsg.TransactionStatePrepareCommit || t.m.state == kmsg.TransactionStatePrepareAbort {
		d.StartMs = t.m.startMs
	}
	return d
}

// ListFilter selects transactions for List. Empty fields select all.
type ListFilter struct {
	// States are Kafka's state names, spelled as Kafka spells them (Ongoing,
	// CompleteCommit, ...); another spelling matches nothing, as in Kafka.
	States []string
	// ProducerIDs select transactions of these producers.
	ProducerIDs []int64
	// MinDurationMs selects transactions in progress for longer than this
	// (ListTransactions v1, KIP-994); 0 or less selects all.
	MinDurationMs int64
}

// List returns the transactions matching f, sorted by transactional id.
func (c *Coordinator) List(f ListFilter) []Description {
	now := c.nowMs()
	var out []Description
	for _, t := range c.snapshot() {
		t.mu.Lock()
		if t.removed || !t.stored {
			t.mu.Unlock()
			continue
		}
		d := describeLocked(t)
		t.mu.Unlock()
		if len(f.States) > 0 && !slices.Contains(f.States, d.State) {
			continue
		}
		if len(f.ProducerIDs) > 0 && !containsInt(f.ProducerIDs, d.ProducerID) {
			continue
		}
		if f.MinDurationMs > 0 && (d.StartMs < 0 || now-d.StartMs <= f.MinDurationMs) {
			continue
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TransactionalID < out[j].TransactionalID })
	return out
}

// ValidState reports whether s is one of Kafka's transaction state names,
// spelled as Kafka spells it.
func ValidState(s string) bool {
	for st := kmsg.TransactionStateEmpty; st <= kmsg.TransactionStatePrepareEpochFence; st++ {
		if st.String() == s {
			return true
		}
	}
	return false
}

func containsInt(xs []int64, x int64) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
