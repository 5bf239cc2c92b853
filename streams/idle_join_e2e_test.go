package streams_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/streams"
)

// TestIdleJoinPrefilledTopicsGivesEveryPair: a stream-stream join whose two
// input topics are both written before the application starts finds every
// pair (KIP-695 task idling at the default max.task.idle.ms=0). Without it,
// a task that has fetched orders but not yet payments processes the
// orders alone, stream time runs ahead, and the payments arrive after their
// windows closed: pairs are lost.
func TestIdleJoinPrefilledTopicsGivesEveryPair(t *testing.T) {
	for _, br := range brokers(t) {
		t.Run(br.name, func(t *testing.T) {
			idleJoin(t, br, nil)
		})
	}
}

func idleJoin(t *testing.T, br broker, extra streams.Properties) map[string]string {
	const (
		parts = 3
		n     = 3000
	)
	suffix := fmt.Sprint(time.Now().UnixNano())
	orders, payments, joined := "ij-orders-"+suffix, "ij-payments-"+suffix, "ij-joined-"+suffix
	createTopic(t, br.addrs, parts, orders, payments, joined)
	base := time.UnixMilli(1_700_000_000_000)
	// All orders first, then all payments, each 5 ms after its order:
	// within a 100 ms window with 50 ms grace, while the orders span 30 s.
	var recs []*kgo.Record
	for i := 0; i < n; i++ {
		recs = append(recs, &kgo.Record{Topic: orders, Key: []byte(fmt.Sprintf("k%04d", i)), Value: []byte(fmt.Sprintf("o%d", i)),
			Timestamp: base.Add(time.Duration(i*10) * time.Millisecond)})
	}
	produce(t, br.addrs, recs...)
	recs = recs[:0]
	for i := 0; i < n; i++ {
		recs = append(recs, &kgo.Record{Topic: payments, Key: []byte(fmt.Sprintf("k%04d", i)), Value: []byte(fmt.Sprintf("p%d", i)),
			Timestamp: base.Add(time.Duration(i*10+5) * time.Millisecond)})
	}
	produce(t, br.addrs, recs...)

	ss := streams.StringSerde()
	b := streams.NewBuilder()
	o := streams.NewStream(b, orders, streams.ConsumedWith(ss, ss))
	p := streams.NewStream(b, payments, streams.ConsumedWith(ss, ss))
	streams.Join(o, p, func(_ string, ov, pv string) string { return ov + "+" + pv },
		streams.JoinWindowsOfTimeDifferenceAndGrace(100*time.Millisecond, 50*time.Millisecond),
		streams.StreamJoinedWith(ss, ss, ss).WithStoreName("ij-join")).To(joined)
	props := streams.Properties{
		"application.id":     "ij-" + suffix,
		"bootstrap.servers":  strings.Join(br.addrs, ","),
		"num.stream.threads": "2",
		"commit.interval.ms": "100",
		"state.dir":          t.TempDir(),
	}
	for k, v := range extra {
		props[k] = v
	}
	app := startApp(t, build(t, b), props)

	got := map[string]string{}
	consumeUntil(t, br.addrs, joined, 60*time.Second, func(rs []*kgo.Record) bool {
		for _, r := range rs {
			got[string(r.Key)] = string(r.Value)
		}
		return len(got) >= n
	})
	if extra != nil {
		return got
	}
	var missing []string
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("k%04d", i)
		if want := fmt.Sprintf("o%d+p%d", i, i); got[k] != want {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		if len(missing) > 10 {
			missing = append(missing[:10], "...")
		}
		t.Fatalf("%d of %d pairs missing or wrong (e.g. %v); state %s, err %v, tasks %+v",
			n-len(got), n, missing, app.State(), app.Err(), app.Tasks())
	}
	return got
}
