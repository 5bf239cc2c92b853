package txncoord

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// memLog is __transaction_state in memory.
type memLog struct {
	mu    sync.Mutex
	parts map[int32][][]byte
}

func (l *memLog) Append(_ context.Context, p int32, batch []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.parts == nil {
		l.parts = map[int32][][]byte{}
	}
	l.parts[p] = append(l.parts[p], append([]byte(nil), batch...))
	return nil
}

func (l *memLog) AppendUnsynced(ctx context.Context, p int32, batch []byte) error {
	return l.Append(ctx, p, batch)
}

func (l *memLog) Replay(_ context.Context, p int32, fn func([]byte) error) error {
	l.mu.Lock()
	bs := append([][]byte(nil), l.parts[p]...)
	l.mu.Unlock()
	for _, b := range bs {
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

// marker is one WriteMarkers call.
type marker struct {
	pid    int64
	epoch  int16
	commit bool
	parts  []TopicPartition
}

// fakeBroker records markers; failMarkers makes them fail.
type fakeBroker struct {
	mu          sync.Mutex
	nextPID     int64
	markers     []marker
	failMarkers bool
	// failAfter > 0 writes markers to that many partitions of the next call and then
	// fails, as a crash between markers would.
	failAfter int
	// failPIDs makes producer id allocation fail (a full disk).
	failPIDs bool
}

func (b *fakeBroker) WriteMarkers(_ context.Context, pid int64, epoch int16, commit bool, _ int32, parts []TopicPartition) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failMarkers {
		return errors.New("disk full")
	}
	if b.failAfter > 0 && b.failAfter < len(parts) {
		b.markers = append(b.markers, marker{pid, epoch, commit, parts[:b.failAfter]})
		b.failAfter = 0
		return errors.New("crashed between markers")
	}
	b.markers = append(b.markers, marker{pid, epoch, commit, parts})
	return nil
}

func (b *fakeBroker) PartitionExists(tp TopicPartition) bool { return tp.Topic != "missing" }

func (b *fakeBroker) NewProducerID() (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failPIDs {
		return -1, errors.New("disk full")
	}
	b.nextPID++
	return 1000 + b.nextPID, nil
}

func (b *fakeBroker) OffsetsPartition(group string) TopicPartition {
	return TopicPartition{"__consumer_offsets", int32(len(group) % 3)}
}

func (b *fakeBroker) lastMarker(t *testing.T) marker {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.markers) == 0 {
		t.Fatal("no markers written")
	}
	return b.markers[len(b.markers)-1]
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	log   *memLog
	b     *fakeBroker
	clock *clock
	c     *Coordinator
}

func newEnv(t *testing.T) *env {
	e := &env{log: &memLog{}, b: &fakeBroker{}, clock: &clock{t: time.UnixMilli(1_700_000_000_000)}}
	e.start(t)
	return e
}

func (e *env) start(t *testing.T) {
	t.Helper()
	c, err := Start(context.Background(), Config{
		Log: e.log, Broker: e.b, Partitions: 3,
		PartitionFor:  func(id string) int32 { return int32(len(id) % 3) },
		MaxTimeout:    time.Minute,
		IDExpiration:  time.Hour,
		AbortInterval: time.Hour, RemoveInterval: time.Hour, // driven by hand
		Now:    e.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	e.c = c
}

func (e *env) restart(t *testing.T) {
	t.Helper()
	e.c.Close()
	e.start(t)
}

func wantCode(t *testing.T, what string, got int16, want *kerr.Error) {
	t.Helper()
	var wc int16
	if want != nil {
		wc = want.Code
	}
	if got != wc {
		t.Fatalf("%s: error code %d (%v), want %d (%v)", what, got, kerr.ErrorForCode(got), wc, want)
	}
}

func (e *env) init(t *testing.T, id string, pid int64, epoch int16) InitResult {
	t.Helper()
	return e.c.InitProducerID(InitRequest{TransactionalID: id, TimeoutMs: 10000, ProducerID: pid, ProducerEpoch: epoch})
}

var tp0 = TopicPartition{"orders", 0}

func TestInitFencingAndEndTxn(t *testing.T) {
	e := newEnv(t)
	wantCode(t, "empty id", e.init(t, "", -1, -1).ErrorCode, kerr.InvalidRequest)
	r := e.c.InitProducerID(InitRequest{TransactionalID: "a", TimeoutMs: 61000, ProducerID: -1, ProducerEpoch: -1})
	wantCode(t, "timeout above the maximum", r.ErrorCode, kerr.InvalidTransactionTimeout)

	p1 := e.init(t, "a", -1, -1)
	wantCode(t, "init", p1.ErrorCode, nil)
	if p1.ProducerEpoch != 0 {
		t.Fatalf("first epoch %d, want 0", p1.ProducerEpoch)
	}
	wantCode(t, "end with no transaction", e.c.EndTxn("a", p1.ProducerID, p1.ProducerEpoch, true).ErrorCode, kerr.InvalidTxnState)
	rs := e.c.AddPartitions("a", p1.ProducerID, p1.ProducerEpoch, []TopicPartition{tp0, {"missing", 0}})
	wantCode(t, "existing partition next to a missing one", rs[0].ErrorCode, kerr.OperationNotAttempted)
	wantCode(t, "missing partition", rs[1].ErrorCode, kerr.UnknownTopicOrPartition)
	wantCode(t, "add", e.c.AddPartitions("a", p1.ProducerID, p1.ProducerEpoch, []TopicPartition{tp0})[0].ErrorCode, nil)
	wantCode(t, "add offsets", e.c.AddOffsets("a", p1.ProducerID, p1.ProducerEpoch, "grp").ErrorCode, nil)
	if d, _ := e.c.Describe("a"); d.State != "Ongoing" || len(d.Partitions) != 2 || d.StartMs < 0 {
		t.Fatalf("describe ongoing: %+v", d)
	}

	// A second producer of the id fences the first: its transaction is aborted with a
	// bumped epoch, and the new producer gets the epoch after that.
	p2 := e.init(t, "a", -1, -1)
	wantCode(t, "second init", p2.ErrorCode, nil)
	m := e.b.lastMarker(t)
	if m.commit || m.pid != p1.ProducerID || m.epoch != 1 || len(m.parts) != 2 {
		t.Fatalf("fencing abort marker: %+v", m)
	}
	if p2.ProducerID != p1.ProducerID || p2.ProducerEpoch != 2 {
		t.Fatalf("second producer: %+v", p2)
	}
	wantCode(t, "zombie add", e.c.AddPartitions("a", p1.ProducerID, p1.ProducerEpoch, []TopicPartition{tp0})[0].ErrorCode, kerr.ProducerFenced)
	wantCode(t, "zombie end", e.c.EndTxn("a", p1.ProducerID, p1.ProducerEpoch, true).ErrorCode, kerr.ProducerFenced)
	pc := e.c.BeginProduce("a", p1.ProducerID, p1.ProducerEpoch)
	wantCode(t, "zombie produce", pc.Check(tp0).ErrorCode, kerr.InvalidProducerEpoch)
	pc.Done()
	wantCode(t, "other producer id", e.c.EndTxn("a", 5, p2.ProducerEpoch, true).ErrorCode, kerr.InvalidProducerIDMapping)
	wantCode(t, "unknown id", e.c.EndTxn("nope", 5, 0, true).ErrorCode, kerr.InvalidProducerIDMapping)

	// The new producer's transaction commits; a retry succeeds, an abort after it does not.
	pc = e.c.BeginProduce("a", p2.ProducerID, p2.ProducerEpoch)
	wantCode(t, "produce before add", pc.Check(tp0).ErrorCode, kerr.InvalidTxnState)
	pc.Done()
	wantCode(t, "add", e.c.AddPartitions("a", p2.ProducerID, p2.ProducerEpoch, []TopicPartition{tp0})[0].ErrorCode, nil)
	pc = e.c.BeginProduce("a", p2.ProducerID, p2.ProducerEpoch)
	wantCode(t, "produce after add", pc.Check(tp0).ErrorCode, nil)
	wantCode(t, "produce to a partition not added", pc.Check(TopicPartition{"orders", 1}).ErrorCode, kerr.InvalidTxnState)
	pc.Done()
	wantCode(t, "commit", e.c.EndTxn("a", p2.ProducerID, p2.ProducerEpoch, true).ErrorCode, nil)
	if m := e.b.lastMarker(t); !m.commit || m.epoch != 2 || len(m.parts) != 1 || m.parts[0] != tp0 {
		t.Fatalf("commit marker: %+v", m)
	}
	wantCode(t, "commit retry", e.c.EndTxn("a", p2.ProducerID, p2.ProducerEpoch, true).ErrorCode, nil)
	wantCode(t, "abort after commit", e.c.EndTxn("a", p2.ProducerID, p2.ProducerEpoch, false).ErrorCode, kerr.InvalidTxnState)
	if d, _ := e.c.Describe("a"); d.State != "CompleteCommit" || len(d.Partitions) != 0 || d.StartMs != -1 {
		t.Fatalf("describe after commit: %+v", d)
	}
}

func TestInitKIP360(t *testing.T) {
	e := newEnv(t)
	p := e.init(t, "k", -1, -1)
	q := e.init(t, "k", p.ProducerID, p.ProducerEpoch)
	wantCode(t, "bump with the current epoch", q.ErrorCode, nil)
	if q.ProducerID != p.ProducerID || q.ProducerEpoch != p.ProducerEpoch+1 {
		t.Fatalf("bump: %+v after %+v", q, p)
	}
	// The same request again (its answer was lost) gets the same answer.
	r := e.init(t, "k", p.ProducerID, p.ProducerEpoch)
	if r.ErrorCode != 0 || r.ProducerID != q.ProducerID || r.ProducerEpoch != q.ProducerEpoch {
		t.Fatalf("retry: %+v, want %+v", r, q)
	}
	wantCode(t, "unknown epoch", e.init(t, "k", p.ProducerID, 40).ErrorCode, kerr.ProducerFenced)

	// A plain InitProducerId (a new instance of the app) fences the current producer: the
	// old one cannot retry its way into the new epoch.
	n := e.init(t, "k", -1, -1)
	if n.ProducerEpoch != q.ProducerEpoch+1 {
		t.Fatalf("new instance: %+v", n)
	}
	wantCode(t, "old instance after a plain bump", e.init(t, "k", q.ProducerID, q.ProducerEpoch).ErrorCode, kerr.ProducerFenced)

	// An id the coordinator does not know (here: never seen; in production also one
	// expired after transactional.id.expiration.ms) starts afresh, whatever producer the
	// request names, so that producer recovers as it would with Kafka.
	f := e.init(t, "fresh", 5, 0)
	wantCode(t, "producer id of a new id", f.ErrorCode, nil)
	if f.ProducerID == 5 || f.ProducerID < 0 || f.ProducerEpoch != 0 {
		t.Fatalf("new id named with a producer: %+v, want a new producer id at epoch 0", f)
	}
	if g := e.init(t, "fresh", f.ProducerID, f.ProducerEpoch); g.ErrorCode != 0 || g.ProducerID != f.ProducerID || g.ProducerEpoch != 1 {
		t.Fatalf("bump after starting afresh: %+v", g)
	}
}

func TestEpochExhaustionGivesNewProducerID(t *testing.T) {
	e := newEnv(t)
	p := e.init(t, "x", -1, -1)
	tx := e.c.lookup("x")
	tx.m.epoch = 32766
	tx.mu.Unlock()
	q := e.init(t, "x", p.ProducerID, 32766)
	if q.ErrorCode != 0 || q.ProducerID == p.ProducerID || q.ProducerEpoch != 0 {
		t.Fatalf("after the last epoch: %+v, want a new producer id at epoch 0", q)
	}
}

func TestRestartCompletesPreparedTransaction(t *testing.T) {
	e := newEnv(t)
	p := e.init(t, "r", -1, -1)
	e.c.AddPartitions("r", p.ProducerID, p.ProducerEpoch, []TopicPartition{tp0})
	e.b.failMarkers = true
	wantCode(t, "commit with failing markers", e.c.EndTxn("r", p.ProducerID, p.ProducerEpoch, true).ErrorCode, kerr.ConcurrentTransactions)
	if d, _ := e.c.Describe("r"); d.State != "PrepareCommit" {
		t.Fatalf("state after failed markers: %s", d.State)
	}
	wantCode(t, "add while preparing", e.c.AddPartitions("r", p.ProducerID, p.ProducerEpoch, []TopicPartition{tp0})[0].ErrorCode, kerr.ConcurrentTransactions)
	e.b.failMarkers = false
	e.restart(t)
	d, ok := e.c.Describe("r")
	if !ok || d.State != "CompleteCommit" || d.ProducerID != p.ProducerID || d.ProducerEpoch != p.ProducerEpoch {
		t.Fatalf("after restart: %+v %v", d, ok)
	}
	if m := e.b.lastMarker(t); !m.commit || m.pid != p.ProducerID {
		t.Fatalf("marker after restart: %+v", m)
	}
	wantCode(t, "client retry after restart", e.c.EndTxn("r", p.ProducerID, p.ProducerEpoch, true).ErrorCode, nil)

	// An ongoing transaction survives the restart as it was.
	e.c.AddPartitions("r", p.ProducerID, p.ProducerEpoch, []TopicPartition{{"orders", 2}})
	e.restart(t)
	if d, _ := e.c.Describe("r"); d.State != "Ongoing" || len(d.Partitions) != 1 {
		t.Fatalf("ongoing after restart: %+v", d)
	}
	wantCode(t, "abort after restart", e.c.EndTxn("r", p.ProducerID, p.ProducerEpoch, false).ErrorCode, nil)
}

func TestTimeoutAbortsAndFences(t *testing.T) {
	e := newEnv(t)
	p := e.init(t, "slow", -1, -1)
	e.c.AddPartitions("slow", p.ProducerID, p.ProducerEpoch, []TopicPartition{tp0})
	e.clock.Add(5 * time.Second)
	if n := e.c.AbortTimedOut(); n != 0 {
		t.Fatalf("aborted %d before the timeout", n)
	}
	e.clock.Add(6 * time.Second)
	if n := e.c.AbortTimedOut(); n != 1 {
		t.Fatalf("aborted %d past the timeout, want 1", n)
	}
	if m := e.b.lastMarker(t); m.commit || m.epoch != p.ProducerEpoch+1 {
		t.Fatalf("timeout abort marker: %+v", m)
	}
	wantCode(t, "commit after the timeout", e.c.EndTxn("slow", p.ProducerID, p.ProducerEpoch, true).ErrorCode, kerr.ProducerFenced)
	if d, _ := e.c.Describe("slow"); d.State != "CompleteAbort" {
		t.Fatalf("state after timeout: %s", d.State)
	}
}

func TestExpiredIDsAreRemoved(t *testing.T) {
	e := newEnv(t)
	old := e.init(t, "old", -1, -1)
	p := e.init(t, "busy", -1, -1)
	e.c.AddPartitions("busy", p.ProducerID, p.ProducerEpoch, []TopicPartition{tp0})
	e.clock.Add(2 * time.Hour)
	if n := e.c.RemoveExpired(); n != 1 {
		t.Fatalf("removed %d ids, want 1 (the ongoing one stays)", n)
	}
	e.restart(t)
	if _, ok := e.c.Describe("old"); ok {
		t.Fatal("expired id is back after a restart")
	}
	if _, ok := e.c.Describe("busy"); !ok {
		t.Fatal("id with an ongoing transaction was removed")
	}
	if got := e.c.List(ListFilter{States: []string{"Ongoing"}}); len(got) != 1 || got[0].TransactionalID != "busy" {
		t.Fatalf("list ongoing: %+v", got)
	}
	if got := e.c.List(ListFilter{States: []string{"Empty"}}); len(got) != 0 {
		t.Fatalf("list empty: %+v", got)
	}
	if got := e.c.List(ListFilter{MinDurationMs: 3 * 3600 * 1000}); len(got) != 0 {
		t.Fatalf("list by duration: %+v", got)
	}
	// Its producer, back after the expiry, re-initializes naming the producer it had
	// (KIP-360, as franz-go and the Java client do on INVALID_PRODUCER_ID_MAPPING): it
	// gets a new producer id instead of an error it cannot recover from.
	if r := e.init(t, "old", old.ProducerID, old.ProducerEpoch); r.ErrorCode != 0 || r.ProducerID == old.ProducerID || r.ProducerEpoch != 0 {
		t.Fatalf("producer of an expired id re-initializing: %+v, want a new producer id at epoch 0", r)
	}
}

func TestLoadSkipsMalformedRecords(t *testing.T) {
	e := newEnv(t)
	e.init(t, "ok", -1, -1)
	junk := partlog.EncodeBatch([]partlog.KV{{Key: []byte{0, 0, 0, 2, 'o', 'k'}, Value: []byte{0, 0, 1}}}, 1, partlog.BatchOptions{})
	_ = e.log.Append(context.Background(), 2, junk)
	_ = e.log.Append(context.Background(), 2, []byte("not a batch at all, not even a header of one"))
	e.restart(t)
	if e.c.LoadSkipped() == 0 {
		t.Fatal("malformed records were not counted")
	}
	if d, ok := e.c.Describe("ok"); !ok || d.State != "Empty" {
		t.Fatalf("good id after malformed records: %+v %v", d, ok)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	m := meta{pid: 4, epoch: 2, timeoutMs: 1000, state: kmsg.TransactionStateOngoing, startMs: 5, updateMs: 6,
		parts: map[TopicPartition]struct{}{{"t", 1}: {}, {"u", 0}: {}}}
	f.Add(encodeKey("id"), encodeValue(&m), false)
	f.Add(encodeKey("id"), []byte(nil), true)
	f.Add([]byte{0, 0}, []byte{0, 1, 2}, false)
	f.Fuzz(func(t *testing.T, key, value []byte, tombstone bool) {
		if tombstone {
			value = nil
		} else if value == nil {
			value = []byte{}
		}
		id, m, removed, err := DecodeRecord(key, value)
		if err != nil {
			return
		}
		if removed {
			return
		}
		// A decoded value encodes and decodes to the same state.
		id2, m2, _, err := DecodeRecord(encodeKey(id), encodeValue(&m))
		if err != nil || id2 != id || m2.pid != m.pid || m2.epoch != m.epoch || m2.state != m.state || len(m2.parts) != len(m.parts) {
			t.Fatalf("round trip: %v %q %+v vs %+v", err, id2, m2, m)
		}
	})
}

func TestRefusedInitLeavesNoID(t *testing.T) {
	e := newEnv(t)
	e.b.failPIDs = true
	wantCode(t, "no producer id to give", e.init(t, "ghost", 5, 0).ErrorCode, kerr.UnknownServerError)
	wantCode(t, "no producer id to give", e.init(t, "ghost", -1, -1).ErrorCode, kerr.UnknownServerError)
	e.c.mu.Lock()
	n := len(e.c.txns)
	e.c.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d ids kept after a refused InitProducerId", n)
	}
}

func TestRestartBetweenMarkers(t *testing.T) {
	e := newEnv(t)
	p := e.init(t, "bm", -1, -1)
	parts := []TopicPartition{{"orders", 0}, {"orders", 1}, {"orders", 2}}
	e.c.AddPartitions("bm", p.ProducerID, p.ProducerEpoch, parts)
	e.b.failAfter = 1
	wantCode(t, "commit interrupted between markers", e.c.EndTxn("bm", p.ProducerID, p.ProducerEpoch, true).ErrorCode, kerr.ConcurrentTransactions)
	if m := e.b.lastMarker(t); len(m.parts) != 1 {
		t.Fatalf("markers before the crash: %+v", m)
	}
	e.restart(t)
	m := e.b.lastMarker(t)
	if !m.commit || len(m.parts) != 3 || m.epoch != p.ProducerEpoch {
		t.Fatalf("markers after the restart: %+v, want a commit to all 3 partitions", m)
	}
	if d, _ := e.c.Describe("bm"); d.State != "CompleteCommit" {
		t.Fatalf("state after the restart: %s", d.State)
	}
	// Lost CompleteCommit record (written without its own fsync): the restart finds
	// PrepareCommit and writes the markers again, which changes nothing for the partitions.
	e.c.AddPartitions("bm", p.ProducerID, p.ProducerEpoch, parts[:1])
	wantCode(t, "commit", e.c.EndTxn("bm", p.ProducerID, p.ProducerEpoch, true).ErrorCode, nil)
	e.log.mu.Lock()
	pt := e.c.cfg.PartitionFor("bm")
	e.log.parts[pt] = e.log.parts[pt][:len(e.log.parts[pt])-1] // drop the complete record
	e.log.mu.Unlock()
	e.restart(t)
	if d, _ := e.c.Describe("bm"); d.State != "CompleteCommit" {
		t.Fatalf("state after losing the complete record: %s", d.State)
	}
}

func TestTimedOutProducerCannotReinitializeIntoTheFence(t *testing.T) {
	e := newEnv(t)
	p := e.init(t, "late", -1, -1)
	e.c.AddPartitions("late", p.ProducerID, p.ProducerEpoch, []TopicPartition{tp0})
	e.clock.Add(11 * time.Second)
	if n := e.c.AbortTimedOut(); n != 1 {
		t.Fatalf("aborted %d past the timeout, want 1", n)
	}
	// As Kafka: the abort's epoch was never given to a producer, so the producer whose
	// transaction timed out cannot take it with a KIP-360 InitProducerId naming its own
	// epoch (that is not a retry of a bump it missed): it is fenced.
	r := e.init(t, "late", p.ProducerID, p.ProducerEpoch)
	wantCode(t, "fenced producer re-initializing with its epoch", r.ErrorCode, kerr.ProducerFenced)
	// A new instance of the app (no producer named) gets the epoch after the abort's.
	n := e.init(t, "late", -1, -1)
	if n.ErrorCode != 0 || n.ProducerID != p.ProducerID || n.ProducerEpoch != p.ProducerEpoch+2 {
		t.Fatalf("new instance after the timeout: %+v", n)
	}
}

func TestReinitializingDuringTransactionFencesTheRequest(t *testing.T) {
	e := newEnv(t)
	p := e.init(t, "mid", -1, -1)
	e.c.AddPartitions("mid", p.ProducerID, p.ProducerEpoch, []TopicPartition{tp0})
	// As Kafka: InitProducerId naming the current producer while its transaction is
	// ongoing aborts the transaction with a bumped epoch, which fences that producer (Kafka
	// answers CONCURRENT_TRANSACTIONS first and PRODUCER_FENCED to the retry).
	r := e.init(t, "mid", p.ProducerID, p.ProducerEpoch)
	wantCode(t, "re-initializing during the transaction", r.ErrorCode, kerr.ProducerFenced)
	if m := e.b.lastMarker(t); m.commit || m.epoch != p.ProducerEpoch+1 {
		t.Fatalf("fencing abort marker: %+v", m)
	}
	if d, _ := e.c.Describe("mid"); d.State != "CompleteAbort" || d.ProducerEpoch != p.ProducerEpoch+1 {
		t.Fatalf("after the fence: %+v", d)
	}
	wantCode(t, "the same request again", e.init(t, "mid", p.ProducerID, p.ProducerEpoch).ErrorCode, kerr.ProducerFenced)
}

func TestFenceAtTheLastEpoch(t *testing.T) {
	e := newEnv(t)
	p := e.init(t, "old", -1, -1)
	last := int16(32766)
	tx := e.c.lookup("old")
	tx.m.epoch = last
	tx.mu.Unlock()
	e.c.AddPartitions("old", p.ProducerID, last, []TopicPartition{tp0})
	e.clock.Add(11 * time.Second)
	if n := e.c.AbortTimedOut(); n != 1 {
		t.Fatalf("aborted %d past the timeout, want 1", n)
	}
	// As Kafka: the fence takes epoch 32767, kept for fencing, so the producer at the
	// last epoch it was given is fenced like any other.
	if m := e.b.lastMarker(t); m.commit || m.pid != p.ProducerID || m.epoch != 32767 {
		t.Fatalf("timeout abort marker at the last epoch: %+v", m)
	}
	wantCode(t, "fenced producer adding", e.c.AddPartitions("old", p.ProducerID, last, []TopicPartition{tp0})[0].ErrorCode, kerr.ProducerFenced)
	wantCode(t, "fenced producer ending", e.c.EndTxn("old", p.ProducerID, last, false).ErrorCode, kerr.ProducerFenced)
	// The fenced state is read back after a restart, and the next producer gets a new id.
	e.restart(t)
	if d, ok := e.c.Describe("old"); !ok || d.State != "CompleteAbort" || d.ProducerEpoch != 32767 {
		t.Fatalf("after a restart: %+v %v", d, ok)
	}
	n := e.init(t, "old", -1, -1)
	if n.ErrorCode != 0 || n.ProducerID == p.ProducerID || n.ProducerEpoch != 0 {
		t.Fatalf("next producer after the last epoch: %+v, want a new producer id at epoch 0", n)
	}

	// The same through InitProducerId: a new instance fences the transaction at the last
	// epoch with 32767 and gets a new producer id.
	q := e.init(t, "old2", -1, -1)
	tx = e.c.lookup("old2")
	tx.m.epoch = last
	tx.mu.Unlock()
	e.c.AddPartitions("old2", q.ProducerID, last, []TopicPartition{tp0})
	r := e.init(t, "old2", -1, -1)
	if m := e.b.lastMarker(t); m.commit || m.pid != q.ProducerID || m.epoch != 32767 {
		t.Fatalf("fencing abort marker at the last epoch: %+v", m)
	}
	if r.ErrorCode != 0 || r.ProducerID == q.ProducerID || r.ProducerEpoch != 0 {
		t.Fatalf("new instance at the last epoch: %+v", r)
	}
}

func TestListStateNamesAreKafkas(t *testing.T) {
	e := newEnv(t)
	p := e.init(t, "open", -1, -1)
	e.c.AddPartitions("open", p.ProducerID, p.ProducerEpoch, []TopicPartition{tp0})
	// As Kafka: state filters are matched as Kafka spells its state names, so a filter
	// another spelling is unknown (ListTransactions echoes it) and selects nothing.
	if got := e.c.List(ListFilter{States: []string{"Ongoing"}}); len(got) != 1 {
		t.Fatalf("list Ongoing: %+v", got)
	}
	for _, s := range []string{"ongoing", "ONGOING"} {
		if ValidState(s) {
			t.Fatalf("%q is taken for a state name", s)
		}
		if got := e.c.List(ListFilter{States: []string{s}}); len(got) != 0 {
			t.Fatalf("list %q: %+v", s, got)
		}
	}
	for _, s := range []string{"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"} {
		if !ValidState(s) {
			t.Fatalf("%q is not taken for a state name", s)
		}
	}
}

func TestListDurationFilterIsLongerThan(t *testing.T) {
	e := newEnv(t)
	p := e.init(t, "d", -1, -1)
	e.c.AddPartitions("d", p.ProducerID, p.ProducerEpoch, []TopicPartition{tp0})
	e.clock.Add(5 * time.Second)
	// As Kafka: the filter selects transactions open longer than it, not as long.
	if got := e.c.List(ListFilter{MinDurationMs: 5000}); len(got) != 0 {
		t.Fatalf("open exactly as long as the filter: %+v", got)
	}
	if got := e.c.List(ListFilter{MinDurationMs: 4999}); len(got) != 1 {
		t.Fatalf("open longer than the filter: %+v", got)
	}
}

func TestAddUnknownPartitionBeforeProducerChecks(t *testing.T) {
	e := newEnv(t)
	p := e.init(t, "u", -1, -1)
	e.init(t, "u", -1, -1) // fences p
	parts := []TopicPartition{tp0, {"missing", 0}}
	// As Kafka: partitions that do not exist fail the request before the transactional id
	// and the producer are looked at.
	for _, c := range []struct {
		what  string
		id    string
		pid   int64
		epoch int16
	}{
		{"fenced producer", "u", p.ProducerID, p.ProducerEpoch},
		{"unknown transactional id", "nobody", 7, 0},
	} {
		rs := e.c.AddPartitions(c.id, c.pid, c.epoch, parts)
		wantCode(t, c.what+": existing partition", rs[0].ErrorCode, kerr.OperationNotAttempted)
		wantCode(t, c.what+": missing partition", rs[1].ErrorCode, kerr.UnknownTopicOrPartition)
	}
}
