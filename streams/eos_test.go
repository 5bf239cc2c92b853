package streams_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/streams"
)

// kfakeCluster3 is the stand-in for a Kafka cluster: three kfake brokers.
func kfakeCluster3(t testing.TB) broker {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.DefaultNumPartitions(1))
	must(t, err)
	t.Cleanup(c.Close)
	return broker{name: "kfake3", addrs: c.ListenAddrs()}
}

// consumeCommitted reads topic from the start with isolation read_committed
// until done says so or the deadline passes.
func consumeCommitted(t testing.TB, addrs []string, topic string, timeout time.Duration, done func([]*kgo.Record) bool) []*kgo.Record {
	t.Helper()
	return consumeWith(t, addrs, topic, timeout, done, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
}

// checkCommittedCounts reads topic with read_committed until every count
// of want is there (for up to 90 s), then checks what it read with
// checkCounts.
func checkCommittedCounts(t testing.TB, addrs []string, topic string, want map[string]int64) {
	t.Helper()
	counts := consumeCommitted(t, addrs, topic, 90*time.Second, func(rs []*kgo.Record) bool {
		last := lastValues(rs, i64)
		for k, n := range want {
			if last[k] != n {
				return false
			}
		}
		return true
	})
	checkCounts(t, counts, want)
}

// checkCounts checks a read_committed view of a count topic: for every
// key, the counts come in the order 1, 2, 3, ... with no value repeated or
// above the truth (exactly-once), and the last one is the truth.
func checkCounts(t testing.TB, recs []*kgo.Record, want map[string]int64) {
	t.Helper()
	prev := map[string]int64{}
	bad := 0
	for _, r := range recs {
		k, n := string(r.Key), i64(r.Value)
		if n > want[k] || n <= prev[k] {
			if bad < 10 {
				t.Errorf("count of %q went from %d to %d (true count %d)", k, prev[k], n, want[k])
			}
			bad++
		}
		prev[k] = n
	}
	for k, n := range want {
		if prev[k] != n {
			t.Errorf("final count of %q = %d, want %d", k, prev[k], n)
		}
	}
	if bad > 0 {
		t.Errorf("%d count updates out of order or above the truth", bad)
	}
}

// TestExactlyOnceWordCount runs the word count with exactly_once_v2 on a
// three-broker kfake cluster and on brokerlite, with caching off so that
// every update reaches the output: a read_committed reader sees each
// word's counts exactly once, in order.
func TestExactlyOnceWordCount(t *testing.T) {
	for _, br := range []broker{kfakeCluster3(t), startBrokerlite(t)} {
		t.Run(br.name, func(t *testing.T) {
			requireTransactions(t, br)
			in, out := "eos-wc-in", "eos-wc-out"
			createTopic(t, br.addrs, 3, in, out)
			topo := buildWordCount(t, in, out)
			startApp(t, topo, streams.Properties{
				"application.id":             "eos-wc",
				"bootstrap.servers":          strings.Join(br.addrs, ","),
				"num.stream.threads":         "2",
				"processing.guarantee":       "exactly_once_v2",
				"statestore.cache.max.bytes": "0",
				"state.dir":                  t.TempDir(),
			})
			want := map[string]int64{}
			var recs []*kgo.Record
			for i := 0; i < 300; i++ {
				line := fmt.Sprintf("w%c w%c", 'a'+rune(i%7), 'a'+rune(i%11))
				for _, w := range strings.Fields(line) {
					want[w]++
				}
				recs = append(recs, &kgo.Record{Topic: in, Key: []byte(fmt.Sprint(i)), Value: []byte(line)})
			}
			produce(t, br.addrs, recs...)
			total := int64(0)
			for _, n := range want {
				total += n
			}
			got := consumeCommitted(t, br.addrs, out, 60*time.Second, func(rs []*kgo.Record) bool { return int64(len(rs)) >= total })
			checkCounts(t, got, want)
		})
	}
}

// requireTransactions fails t when the broker does not advertise Kafka's
// transaction APIs (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
// EndTxn, TxnOffsetCommit): both brokers the tests run on (brokerlite and
// kfake) have them, so a missing one is a regression, not a reason to skip.
func requireTransactions(t testing.TB, br broker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	vs, err := adminFor(t, br.addrs).ApiVersions(ctx)
	must(t, err)
	for _, v := range vs {
		must(t, v.Err)
		for _, key := range []int16{22, 24, 25, 26, 28} {
			if _, _, ok := v.KeyVersions(key); !ok {
				t.Fatalf("%s does not advertise the transaction API with key %d: exactly_once_v2 needs Kafka transactions", br.name, key)
			}
		}
	}
}

// TestExactlyOnceRefusedWithoutTransactions: a cluster that does not
// support Kafka's transactions (here a kfake speaking Kafka 0.10.2) gets a
// clear refusal at Start, not threads failing one by one.
func TestExactlyOnceRefusedWithoutTransactions(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.MaxVersions(kversion.V0_10_2()))
	must(t, err)
	t.Cleanup(c.Close)
	createTopic(t, c.ListenAddrs(), 1, "old-in", "old-out")
	app, err := streams.New(buildWordCount(t, "old-in", "old-out"), streams.Properties{
		"application.id":       "old",
		"bootstrap.servers":    strings.Join(c.ListenAddrs(), ","),
		"processing.guarantee": "exactly_once_v2",
		"state.dir":            t.TempDir(),
	}, streams.WithLogger(testLogger(t)))
	must(t, err)
	err = startWithin(app, 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "needs Kafka transactions") {
		t.Fatalf("start: %v, want a refusal naming Kafka transactions", err)
	}
}

// TestExactlyOnceAbortRevives makes the broker refuse every fourth offset
// commit of a transaction (REBALANCE_IN_PROGRESS, as a group that moved on
// answers): each refusal aborts the transaction and revives the tasks
// (closed, their input rewound to the committed offsets, their stores back
// at their last commit). The output stays exact.
func TestExactlyOnceAbortRevives(t *testing.T) {
	addrs, refusals := refusingCluster(t)
	in, out := "eos-abort-in", "eos-abort-out"
	createTopic(t, addrs, 3, in, out)
	startApp(t, buildWordCount(t, in, out), streams.Properties{
		"application.id":             "eos-abort",
		"bootstrap.servers":          strings.Join(addrs, ","),
		"num.stream.threads":         "2",
		"processing.guarantee":       "exactly_once_v2",
		"statestore.cache.max.bytes": "0",
		"state.dir":                  t.TempDir(),
	})
	want := map[string]int64{}
	for batch := 0; batch < 20; batch++ {
		var recs []*kgo.Record
		for i := 0; i < 25; i++ {
			n := batch*25 + i
			line := fmt.Sprintf("w%c w%c", 'a'+rune(n%7), 'a'+rune(n%11))
			for _, w := range strings.Fields(line) {
				want[w]++
			}
			recs = append(recs, &kgo.Record{Topic: in, Key: []byte(fmt.Sprint(n)), Value: []byte(line)})
		}
		produce(t, addrs, recs...)
		time.Sleep(100 * time.Millisecond) // pace the input so that commits (and refusals) interleave with it
	}
	checkCommittedCounts(t, addrs, out, want)
	refusals()
}

// TestExactlyOnceWindowedCountThroughCacheAbortRevives is
// TestExactlyOnceAbortRevives for a windowed count with the record cache
// on: the counts a refused transaction flushed are aborted with it, those
// still cached are dropped with the revived tasks' stores, and every
// window's counts still come 1, 2, 3, ... (some folded) up to the truth.
func TestExactlyOnceWindowedCountThroughCacheAbortRevives(t *testing.T) {
	addrs, refusals := refusingCluster(t)
	in, out := "eos-wabort-in", "eos-wabort-out"
	createTopic(t, addrs, 3, in, out)
	wks := streams.TimeWindowedSerde(ss, time.Second)
	b := streams.NewBuilder()
	events := streams.NewStream(b, in, streams.ConsumedWith(ss, ss))
	streams.WindowedBy(events.GroupByKey(), streams.TimeWindowsOfSizeAndGrace(time.Second, time.Hour)).Count().
		ToStream().To(out, streams.ProducedWith(wks, streams.Int64Serde()))
	startEOSApp(t, b, addrs, "eos-wabort")
	base := int64(1_700_000_000_000)
	want := map[string]int64{}
	for batch := 0; batch < 20; batch++ {
		var recs []*kgo.Record
		for i := 0; i < 25; i++ {
			n := int64(batch*25 + i)
			key, ts := fmt.Sprintf("k%d", n%7), base+n*10
			start := ts - ts%1000
			wk, err := wks.Serialize(streams.Windowed[string]{Key: key, Window: streams.Window{Start: start, End: start + 1000}})
			must(t, err)
			want[string(wk)]++
			recs = append(recs, &kgo.Record{Topic: in, Key: []byte(key), Value: []byte("e"), Timestamp: time.UnixMilli(ts)})
		}
		produce(t, addrs, recs...)
		time.Sleep(100 * time.Millisecond)
	}
	checkCommittedCounts(t, addrs, out, want)
	refusals()
}

// TestExactlyOnceSessionCountThroughCacheAbortRevives is the same for a
// session count through the record cache: each key's events, 70ms apart,
// grow one session, replaced downstream (a delete and the longer session)
// at each flush. Under aborts and revivals, the committed output never
// holds a count above the truth, never deletes a session it did not send,
// and ends with each key's whole session and its count.
func TestExactlyOnceSessionCountThroughCacheAbortRevives(t *testing.T) {
	addrs, refusals := refusingCluster(t)
	in, out := "eos-sabort-in", "eos-sabort-out"
	createTopic(t, addrs, 3, in, out)
	sks := streams.SessionWindowedSerde(ss)
	b := streams.NewBuilder()
	events := streams.NewStream(b, in, streams.ConsumedWith(ss, ss))
	streams.WindowedBySession(events.GroupByKey(), streams.SessionWindowsOfInactivityGapAndGrace(time.Second, time.Hour)).Count().
		ToStream().To(out, streams.ProducedWith(sks, streams.Int64Serde()))
	startEOSApp(t, b, addrs, "eos-sabort")
	base := int64(1_700_000_000_000)
	type session struct{ start, end, n int64 }
	want := map[string]session{}
	for batch := 0; batch < 20; batch++ {
		var recs []*kgo.Record
		for i := 0; i < 25; i++ {
			n := int64(batch*25 + i)
			key, ts := fmt.Sprintf("k%d", n%7), base+n*10
			w, ok := want[key]
			if !ok {
				w.start = ts
			}
			w.end, w.n = ts, w.n+1
			want[key] = w
			recs = append(recs, &kgo.Record{Topic: in, Key: []byte(key), Value: []byte("e"), Timestamp: time.UnixMilli(ts)})
		}
		produce(t, addrs, recs...)
		time.Sleep(100 * time.Millisecond)
	}
	// latest is each key's session with the latest end among the sessions
	// the output has and has not deleted.
	latest := func(rs []*kgo.Record) map[string]session {
		live := map[string]map[streams.Window]int64{}
		for _, r := range rs {
			k, err := sks.Deserialize(r.Key)
			must(t, err)
			if live[k.Key] == nil {
				live[k.Key] = map[streams.Window]int64{}
			}
			if r.Value == nil {
				delete(live[k.Key], k.Window)
			} else {
				live[k.Key][k.Window] = i64(r.Value)
			}
		}
		out := map[string]session{}
		for key, ws := range live {
			for w, n := range ws {
				if cur, ok := out[key]; !ok || w.End > cur.end {
					out[key] = session{w.Start, w.End, n}
				}
			}
		}
		return out
	}
	recs := consumeCommitted(t, addrs, out, 90*time.Second, func(rs []*kgo.Record) bool {
		got := latest(rs)
		for k, w := range want {
			if got[k] != w {
				return false
			}
		}
		return true
	})
	sent := map[string]bool{}
	for _, r := range recs {
		k, err := sks.Deserialize(r.Key)
		must(t, err)
		switch {
		case r.Value == nil && !sent[string(r.Key)]:
			t.Errorf("a delete of session %v [%d,%d], never sent", k.Key, k.Window.Start, k.Window.End)
		case r.Value != nil && i64(r.Value) > want[k.Key].n:
			t.Errorf("session %v [%d,%d] counted %d, above the truth %d", k.Key, k.Window.Start, k.Window.End, i64(r.Value), want[k.Key].n)
		}
		sent[string(r.Key)] = r.Value != nil
	}
	if got := latest(recs); len(got) != len(want) {
		t.Errorf("the output ends with sessions of %d keys, want %d", len(got), len(want))
	}
	for k, w := range latest(recs) {
		if w != want[k] {
			t.Errorf("%s ends with session [%d,%d] counted %d, want [%d,%d] counted %d", k, w.start, w.end, w.n, want[k].start, want[k].end, want[k].n)
		}
	}
	refusals()
}

// startEOSApp runs b's topology as application appID on addrs with
// exactly_once_v2 and two stream threads.
func startEOSApp(t *testing.T, b *streams.Builder, addrs []string, appID string) {
	t.Helper()
	startApp(t, build(t, b), streams.Properties{
		"application.id":       appID,
		"bootstrap.servers":    strings.Join(addrs, ","),
		"num.stream.threads":   "2",
		"processing.guarantee": "exactly_once_v2",
		"state.dir":            t.TempDir(),
	})
}

// refusingCluster starts a kfake cluster that refuses every fourth
// transactional offset commit (REBALANCE_IN_PROGRESS, as a group that moved
// on answers): each refusal aborts the transaction and revives the tasks
// (closed, their input rewound to the committed offsets, their stores back
// at their last commit). Call the returned function at the end: it fails
// the test when nothing was refused, and logs the counts.
func refusingCluster(t *testing.T) ([]string, func()) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.DefaultNumPartitions(1))
	must(t, err)
	t.Cleanup(c.Close)
	var mu sync.Mutex
	seen, refused := 0, 0
	c.ControlKey(int16(kmsg.TxnOffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		mu.Lock()
		defer mu.Unlock()
		seen++
		if seen%4 != 0 {
			return nil, nil, false
		}
		refused++
		r := req.(*kmsg.TxnOffsetCommitRequest)
		resp := r.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewTxnOffsetCommitResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, kerr.RebalanceInProgress.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	return c.ListenAddrs(), func() {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if refused == 0 {
			t.Fatalf("no offset commit was refused (%d seen): the abort path did not run", seen)
		}
		t.Logf("%d transactional offset commits, %d refused (each an abort and a revival)", seen, refused)
	}
}

// TestExactlyOnceWindowStoreCheckpointsEveryCommit: under exactly_once_v2
// a window store stages its writes and applies them once its transaction
// committed, so it has a checkpoint while its task processes (written
// after each commit), and a clean restart restores nothing.
func TestExactlyOnceWindowStoreCheckpointsEveryCommit(t *testing.T) {
	br := kfakeCluster3(t)
	createTopic(t, br.addrs, 1, "eosw-events", "eosw-out")
	topo := func() *streams.Topology {
		b := streams.NewBuilder()
		events := streams.NewStream(b, "eosw-events", streams.ConsumedWith(ss, ss))
		streams.WindowedBy(events.GroupByKey(), streams.TimeWindowsOfSizeAndGrace(time.Second, time.Hour)).Count().
			ToStream().To("eosw-out")
		return build(t, b)
	}
	dir := t.TempDir()
	props := streams.Properties{
		"application.id":       "eosw",
		"bootstrap.servers":    strings.Join(br.addrs, ","),
		"processing.guarantee": "exactly_once_v2",
		"state.dir":            dir,
	}
	app := startAppNoCleanup(t, topo(), props)
	now := time.UnixMilli(1_700_000_000_000)
	var recs []*kgo.Record
	for i := 0; i < 50; i++ {
		recs = append(recs, &kgo.Record{Topic: "eosw-events", Key: []byte(fmt.Sprint(i % 5)), Value: []byte("e"), Timestamp: now.Add(time.Duration(i) * 100 * time.Millisecond)})
	}
	produce(t, br.addrs, recs...)
	consumeCommitted(t, br.addrs, "eosw-out", 30*time.Second, func(rs []*kgo.Record) bool { return len(rs) > 0 })
	checkpoints := func() []string {
		m, err := filepath.Glob(filepath.Join(dir, "eosw", "*", "*", statestore.CheckpointFileName))
		must(t, err)
		return m
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(checkpoints()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no window store checkpoint while processing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	closeApp(t, app)
	if len(checkpoints()) == 0 {
		t.Fatal("no window store checkpoint after a clean close")
	}
	app = startApp(t, topo(), props)
	waitState(t, app, streams.StateRunning, 30*time.Second)
	if n := metricValue(t, app, "rivulet_streams_restore_records_total"); n != 0 {
		t.Errorf("a clean restart restored %v changelog records, want 0", n)
	}
}
