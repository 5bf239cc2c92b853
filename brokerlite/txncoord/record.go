package txncoord

import (
	"context"
	"errors"
	"fmt"

	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// __transaction_state records, in Kafka's format: the key is
// TxnMetadataKey v0 (the transactional id); the value is TxnMetadataValue
// v0 (producer id and epoch, timeout, state, partitions, last update and
// start timestamps), or null for a removed id. Values written here are v0
// so that Kafka's own tools read them; the KIP-360 previous producer id and
// epoch are kept in memory only and are -1 after a restart, which at worst
// answers a producer retrying InitProducerId across a restart with
// PRODUCER_FENCED, as Kafka does for unknown epochs.

// errBadRecord is wrapped by every decoding error of this file.
var errBadRecord = errors.New("txncoord: malformed __transaction_state record")

func encodeKey(id string) []byte {
	k := kmsg.NewTxnMetadataKey()
	k.Version = 0
	k.TransactionalID = id
	return k.AppendTo(nil)
}

func encodeValue(m *meta) []byte {
	v := kmsg.NewTxnMetadataValue()
	v.Version = 0
	v.ProducerID = m.pid
	v.ProducerEpoch = m.epoch
	v.TimeoutMillis = m.timeoutMs
	v.State = m.state
	v.LastUpdateTimestamp = m.updateMs
	v.StartTimestamp = m.startMs
	byTopic := map[string]int{}
	for _, tp := range m.partitions() {
		i, ok := byTopic[tp.Topic]
		if !ok {
			i = len(v.Topics)
			byTopic[tp.Topic] = i
			t := kmsg.NewTxnMetadataValueTopic()
			t.Topic = tp.Topic
			v.Topics = append(v.Topics, t)
		}
		v.Topics[i].Partitions = append(v.Topics[i].Partitions, tp.Partition)
	}
	return v.AppendTo(nil)
}

// encodeRecord returns a batch holding the record of id with state m.
func encodeRecord(id string, m *meta, nowMs int64) []byte {
	return partlog.EncodeBatch([]partlog.KV{{Key: encodeKey(id), Value: encodeValue(m)}}, nowMs, partlog.BatchOptions{})
}

// encodeTombstone returns a batch removing id.
func encodeTombstone(id string, nowMs int64) []byte {
	return partlog.EncodeBatch([]partlog.KV{{Key: encodeKey(id)}}, nowMs, partlog.BatchOptions{})
}

// DecodeRecord decodes one __transaction_state record. A nil value is a
// tombstone: ok is true and removed is set. Keys or values of versions this
// coordinator does not know, truncated fields, unknown states and
// impossible numbers are errors wrapping errBadRecord.
func DecodeRecord(key, value []byte) (id string, m meta, removed bool, err error) {
	var k kmsg.TxnMetadataKey
	if err := k.ReadFrom(key); err != nil {
		return "", meta{}, false, fmt.Errorf("%w: key: %v", errBadRecord, err)
	}
	if k.Version != 0 {
		return "", meta{}, false, fmt.Errorf("%w: key version %d", errBadRecord, k.Version)
	}
	if k.TransactionalID == "" {
		return "", meta{}, false, fmt.Errorf("%w: empty transactional id", errBadRecord)
	}
	if value == nil {
		return k.TransactionalID, meta{}, true, nil
	}
	var v kmsg.TxnMetadataValue
	if err := v.ReadFrom(value); err != nil {
		return "", meta{}, false, fmt.Errorf("%w: value: %v", errBadRecord, err)
	}
	if v.Version < 0 || v.Version > 1 {
		return "", meta{}, false, fmt.Errorf("%w: value version %d", errBadRecord, v.Version)
	}
	if v.State < kmsg.TransactionStateEmpty || v.State > kmsg.TransactionStatePrepareEpochFence {
		return "", meta{}, false, fmt.Errorf("%w: state %d", errBadRecord, v.State)
	}
	if v.ProducerID < 0 || v.ProducerEpoch < 0 || v.TimeoutMillis <= 0 {
		return "", meta{}, false, fmt.Errorf("%w: producer %d epoch %d timeout %d", errBadRecord, v.ProducerID, v.ProducerEpoch, v.TimeoutMillis)
	}
	m = meta{
		pid: v.ProducerID, epoch: v.ProducerEpoch, lastPid: -1, lastEpoch: -1,
		timeoutMs: v.TimeoutMillis, state: v.State, startMs: v.StartTimestamp, updateMs: v.LastUpdateTimestamp,
		parts: map[TopicPartition]struct{}{},
	}
	for _, t := range v.Topics {
		if t.Topic == "" {
			return "", meta{}, false, fmt.Errorf("%w: empty topic name", errBadRecord)
		}
		for _, p := range t.Partitions {
			if p < 0 {
				return "", meta{}, false, fmt.Errorf("%w: partition %d", errBadRecord, p)
			}
			m.parts[TopicPartition{t.Topic, p}] = struct{}{}
		}
	}
	return k.TransactionalID, m, false, nil
}

// load replays every __transaction_state partition; the last record of an
// id wins. Malformed batches and records are logged and skipped.
func (c *Coordinator) load(ctx context.Context) error {
	for p := int32(0); p < c.cfg.Partitions; p++ {
		err := c.cfg.Log.Replay(ctx, p, func(batches []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			err := partlog.EachRecord(batches, func(info partlog.BatchInfo, kv partlog.KV) error {
				if info.Control {
					return nil
				}
				id, m, removed, err := DecodeRecord(kv.Key, kv.Value)
				if err != nil {
					c.loadSkipped.Add(1)
					c.logger.Warn("txncoord: skipping a malformed __transaction_state record", "partition", p, "offset", info.BaseOffset, "err", err)
					return nil
				}
				if removed {
					delete(c.txns, id)
					return nil
				}
				c.txns[id] = &txn{id: id, m: m, stored: true}
				return nil
			})
			if err != nil {
				c.loadSkipped.Add(1)
				c.logger.Warn("txncoord: skipping a malformed __transaction_state batch", "partition", p, "err", err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("txncoord: loading __transaction_state-%d: %w", p, err)
		}
	}
	if n := len(c.txns); n > 0 {
		c.logger.Info("txncoord: loaded transactional ids from __transaction_state", "ids", n, "skipped", c.loadSkipped.Load())
	}
	return nil
}
