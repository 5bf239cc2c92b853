package brokerlite

// Fetch (key 1), versions 4-16.
//
// Returns whole record batches exactly as stored, starting with the batch that holds the
// fetch offset. Limits: max_bytes over the response and partition_max_bytes per
// partition, except that the first batch of the first partition with data is returned
// even when it is larger than both (KIP-74), so a consumer can always make progress.
// Long poll: when fewer than min_bytes (capped at the answer's size limit, as Kafka) were
// read and every partition was read up to its high watermark (last stable offset for
// read_committed), the request waits up to max_wait_ms and is woken by appends to any
// partition it asks for (and by the broker closing). A partition with more to read than
// the answer carries (partition_max_bytes or max_bytes reached, or a read that stopped at
// a segment's end) answers at once, as Kafka's DelayedFetch does when the bytes available
// reach min_bytes or a fetch offset is on an older segment. A fetch none of whose partitions
// exist answers at once; one parked on a topic that is deleted answers at once with
// UNKNOWN_TOPIC_OR_PARTITION. v13+ names topics by id (UNKNOWN_TOPIC_ID for an unknown one).
//
// An offset below the log start offset or above the log end offset gets
// OFFSET_OUT_OF_RANGE, also in a partition left out of the answer for room; the log start
// offset and high watermark are in every answer. On one node the high watermark is the
// log end offset. read_committed (isolation level 1) reads
// only below the last stable offset (the first offset of the oldest open transaction) and
// gets the aborted transactions that overlap the returned batches, from the partition's
// aborted-transaction index, so the client drops their records.
// Current leader epochs are not checked (the epoch is always 0).
//
// Deviation: fetch sessions (KIP-227) are not kept. Every answer says session id 0
// ("no session"), which clients treat as "send full fetch requests", as Kafka does when
// its session cache is full. A request naming a session id gets
// FETCH_SESSION_ID_NOT_FOUND, after which clients fall back to full requests.

import (
	"context"
	"errors"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.Fetch, 4, 16, handleFetch) }

func handleFetch(ctx context.Context, b *Broker, conn *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.FetchRequest)
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	// Whatever path returns, every partition carries a records field, empty when it has no
	// data, never a null one: Kafka never sends null, and sarama (goka) cannot decode it
	// ("invalid byteslice length": it drops the connection and retries 2s later). A
	// partition's records are nil when it errors or is skipped, and also when nothing was
	// read before it and the connection had no recycled buffer (a connection's first Fetch,
	// or the one after an answer above the buffer pool's limit), since buf[n:] of a nil buf
	// is nil.
	defer emptyRecordsNotNull(resp)
	if req.SessionID != 0 {
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		return resp, nil
	}

	// Resolve the partitions once.
	type target struct {
		ti, pi int
		p      *partition
	}
	var targets []target
	resp.Topics = make([]kmsg.FetchResponseTopic, len(req.Topics))
	for i, rt := range req.Topics {
		st := &resp.Topics[i]
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		var t *topic
		unknown := kerr.UnknownTopicOrPartition
		if req.Version >= 13 {
			t = b.topics.getByID(rt.TopicID)
			unknown = kerr.UnknownTopicID
			if t != nil {
				st.Topic = t.name
			}
		} else {
			t = b.topics.get(rt.Topic)
		}
		st.Partitions = make([]kmsg.FetchResponseTopicPartition, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			sp := &st.Partitions[j]
			sp.Default()
			sp.Partition = rp.Partition
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
			if t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.partitions) {
				sp.ErrorCode = unknown.Code
				if t != nil {
					sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				}
				continue
			}
			targets = append(targets, target{ti: i, pi: j, p: t.partitions[rp.Partition]})
		}
	}

	var deadline time.Time
	// A fetch with no known partition answers at once, as Kafka's does: nothing could wake it.
	if req.MaxWaitMillis > 0 && len(targets) > 0 {
		deadline = time.Now().Add(time.Duration(req.MaxWaitMillis) * time.Millisecond)
	}
	// As Kafka, min_bytes is capped at the answer's size limit, or a fetch asking for more
	// than it may carry would always wait out max_wait_ms.
	minBytes := min(req.MinBytes, b.fetchMaxBytes(req.MaxBytes))
	var w *fetchWaiter
	defer func() {
		if w != nil {
			w.unregister()
		}
	}()
	// The records of every partition are read (copied once from the files) into one
	// buffer from the connection's free list; the writer sends them from there without
	// another copy (conn.go splices them into the answer) and then recycles the buffer.
	buf := conn.takeRecordBuf()
	defer func() { conn.heldBuf = buf }()
	var spans []fetchSpan
	final := false // the read after the wait ended without a wake-up
	for {
		// Register before reading, so an append between the read and the wait still wakes us.
		if w == nil && !deadline.IsZero() && minBytes > 0 {
			w = newFetchWaiter()
			for _, tg := range targets {
				w.register(tg.p)
			}
		}
		// Each pass reserves its room in queued.max.response.bytes; a parked fetch keeps only
		// what it has read, so idle long polls do not starve the fetches that have data.
		b.releaseReserved(conn)
		maxBytes := b.fetchBudget(conn, req.MaxBytes)
		total := int32(0)
		failed := false // as Kafka, a partition error answers at once, not after max_wait_ms
		// more is set when a partition has records below its high watermark (last stable
		// offset for read_committed) that this answer leaves out for want of room.
		more := false
		buf = buf[:0]
		// spans[i] is where targets[i]'s records lie in buf: a later read may move buf
		// (grow), so the answer points into the final buf only once all are read.
		spans = spans[:0]
		for _, tg := range targets {
			rp := &req.Topics[tg.ti].Partitions[tg.pi]
			sp := &resp.Topics[tg.ti].Partitions[tg.pi]
			sp.RecordBatches = nil
			sp.ErrorCode = 0
			budget := rp.PartitionMaxBytes
			if rem := maxBytes - total; rem < budget {
				budget = rem
			}
			strict := total > 0 // KIP-74: the first batch of the response is always whole
			if strict && budget <= 0 {
				start, hwm := tg.p.offsets()
				sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = hwm, tg.p.log.LastStableOffset(), start
				// Left out for room, the partition still gets its offset checked, as a
				// read would (Kafka checks it first).
				if rp.FetchOffset < start || rp.FetchOffset > hwm {
					sp.ErrorCode = kerr.OffsetOutOfRange.Code
					failed = true
					continue
				}
				more = more || rp.FetchOffset < readLimit(sp, req.IsolationLevel)
				continue
			}
			before := len(buf)
			rr, aborted, err := tg.p.readIsolated(buf, rp.FetchOffset, budget, strict, req.IsolationLevel)
			sp.AbortedTransactions = aborted
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = rr.highWatermark, rr.lastStableOffset, rr.logStartOffset
			if err != nil {
				sp.ErrorCode = fetchErrorCode(err, b.partitionGone(tg.p), req.Version)
				failed = true
				continue
			}
			buf = rr.records
			spans = append(spans, fetchSpan{sp: sp, from: before, to: len(buf), offset: rp.FetchOffset})
			total += int32(len(buf) - before)
		}
		for _, sn := range spans {
			sn.sp.RecordBatches = buf[sn.from:sn.to]
		}
		if final || total >= minBytes || failed || deadline.IsZero() || !time.Now().Before(deadline) {
			break
		}
		// A partition that has more to read than it returned (its partition_max_bytes or
		// the answer's room ran out, or its read stopped at a segment's end) answers at
		// once: waiting could not add to it. Kafka's DelayedFetch likewise completes when
		// the bytes available reach min_bytes or a fetch offset is on an older segment.
		if more || readStoppedShort(spans, req.IsolationLevel) {
			break
		}
		b.keepReserved(conn, int64(len(buf)))
		// A wake-up reads again; so does the end of the wait, as Kafka's delayed fetch
		// reads when it completes, with the room reserved again.
		final = !w.wait(ctx, deadline)
	}
	b.metrics.fetched(resp)
	return resp, nil
}

// fetchErrorCode is the error code of a partition whose read failed with err. The log of a
// partition whose topic was deleted (gone) is closed: that answers UNKNOWN_TOPIC_OR_PARTITION,
// as Kafka's does for a partition deleted under a waiting fetch, not the
// NOT_LEADER_OR_FOLLOWER of a log closed by a broker shutting down. Fetch v5 and older
// predate KAFKA_STORAGE_ERROR and get NOT_LEADER_OR_FOLLOWER in its place, as from Kafka.
func fetchErrorCode(err error, gone bool, version int16) int16 {
	if gone && errors.Is(err, partlog.ErrClosed) {
		return kerr.UnknownTopicOrPartition.Code
	}
	code, _ := logErrorCode(err)
	if code.Code == kerr.KafkaStorageError.Code && version <= 5 {
		return kerr.NotLeaderForPartition.Code
	}
	return code.Code
}

// partitionGone is true when p is no longer a partition of a published topic (its topic
// was deleted).
func (b *Broker) partitionGone(p *partition) bool {
	cur := b.topics.getByID(p.topic.Load().id)
	return cur == nil || int(p.index) >= len(cur.partitions) || cur.partitions[p.index] != p
}

// emptyRecordsNotNull gives every partition of a Fetch answer without records an empty,
// non-null records field.
func emptyRecordsNotNull(resp *kmsg.FetchResponse) {
	for ti := range resp.Topics {
		for pi := range resp.Topics[ti].Partitions {
			if sp := &resp.Topics[ti].Partitions[pi]; sp.RecordBatches == nil {
				sp.RecordBatches = []byte{}
			}
		}
	}
}

// fetchSpan is where one partition's records lie in a Fetch answer's buffer, and the
// offset they were read from.
type fetchSpan struct {
	sp       *kmsg.FetchResponseTopicPartition
	from, to int
	offset   int64
}

// readLimit is the offset a partition's reads stop at: its high watermark, or its last
// stable offset for read_committed (isolation level 1).
func readLimit(sp *kmsg.FetchResponseTopicPartition, isolation int8) int64 {
	if isolation == 1 {
		return sp.LastStableOffset
	}
	return sp.HighWatermark
}

// readStoppedShort is true when a partition's read ended below its read limit: records
// were left out for room, or the read stopped at the end of a segment.
func readStoppedShort(spans []fetchSpan, isolation int8) bool {
	for _, sn := range spans {
		limit := readLimit(sn.sp, isolation)
		if sn.to == sn.from {
			// Records before it in the answer (from > 0) make the read strict: a first
			// batch that does not fit the room left is left out.
			if sn.offset < limit && sn.from > 0 {
				return true
			}
			continue
		}
		if next, err := nextOffsetAfter(sn.sp.RecordBatches); err == nil && next < limit {
			return true
		}
	}
	return false
}
