package streams_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rivulet-io/rivulet/streams"
)

// TestExactlyOnceTransactionTimeoutConfig: under exactly_once_v2 the
// producers' transaction.timeout.ms defaults to 10s, a user's value (plain
// or producer.-prefixed) is kept, and one smaller than commit.interval.ms
// is refused.
func TestExactlyOnceTransactionTimeoutConfig(t *testing.T) {
	base := func(extra streams.Properties) streams.Properties {
		p := streams.Properties{"application.id": "txt", "bootstrap.servers": "127.0.0.1:9092", "processing.guarantee": "exactly_once_v2"}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		props streams.Properties
		want  time.Duration
		err   string
	}{
		{"default", base(nil), 10 * time.Second, ""},
		{"set", base(streams.Properties{"transaction.timeout.ms": "30000"}), 30 * time.Second, ""},
		{"producer prefix wins", base(streams.Properties{"transaction.timeout.ms": "30000", "producer.transaction.timeout.ms": "20000"}), 20 * time.Second, ""},
		{"equal to the commit interval", base(streams.Properties{"transaction.timeout.ms": "5000", "commit.interval.ms": "5000"}), 5 * time.Second, ""},
		{"below the commit interval", base(streams.Properties{"transaction.timeout.ms": "1000", "commit.interval.ms": "5000"}), 0, "smaller than commit.interval.ms"},
		{"below the default commit interval", base(streams.Properties{"transaction.timeout.ms": "50"}), 0, "smaller than commit.interval.ms=100"},
		{"default below a long commit interval", base(streams.Properties{"commit.interval.ms": "60000"}), 0, "transaction.timeout.ms=10000 is smaller"},
		{"not a number", base(streams.Properties{"transaction.timeout.ms": "ten"}), 0, "want milliseconds"},
		{"at_least_once ignores it", streams.Properties{"application.id": "txt", "bootstrap.servers": "127.0.0.1:9092", "transaction.timeout.ms": "50"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := streams.TransactionTimeout(tc.props)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one containing %q", err, tc.err)
				}
				return
			}
			must(t, err)
			if got != tc.want {
				t.Fatalf("transaction timeout %v, want %v", got, tc.want)
			}
		})
	}
}

// TestExactlyOnceTransactionTimeoutReachesTheBroker: the threads'
// transactional producers register the user's transaction.timeout.ms with
// the transaction coordinator (InitProducerID), not the default.
func TestExactlyOnceTransactionTimeoutReachesTheBroker(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	must(t, err)
	t.Cleanup(c.Close)
	var mu sync.Mutex
	timeouts := map[string]int32{}
	c.ControlKey(int16(kmsg.InitProducerID), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.InitProducerIDRequest)
		if r.TransactionalID != nil {
			mu.Lock()
			timeouts[*r.TransactionalID] = r.TransactionTimeoutMillis
			mu.Unlock()
		}
		return nil, nil, false
	})
	addrs := c.ListenAddrs()
	createTopic(t, addrs, 1, "txt-in", "txt-out")
	app := startApp(t, buildWordCount(t, "txt-in", "txt-out"), streams.Properties{
		"application.id":         "txt",
		"bootstrap.servers":      strings.Join(addrs, ","),
		"processing.guarantee":   "exactly_once_v2",
		"transaction.timeout.ms": "25000",
		"state.dir":              t.TempDir(),
	})
	waitState(t, app, streams.StateRunning, 30*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(timeouts) == 0 {
		t.Fatal("no transactional producer initialized")
	}
	for id, ms := range timeouts {
		if ms != 25000 {
			t.Errorf("producer %s registered transaction.timeout.ms=%d, want 25000", id, ms)
		}
	}
}
