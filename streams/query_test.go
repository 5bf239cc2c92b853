package streams_test

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// TestQueryKeyValueStore reads the counts of a running word count (two
// threads, four tasks) by key, by range and in full, while other
// goroutines keep querying as input flows (under -race: reads never race
// with processing), and checks the answers against the true counts.
func TestQueryKeyValueStore(t *testing.T) {
	br := startBrokerlite(t)
	in, out := "iq-in", "iq-out"
	topo := exampleWordCount(t, br.addrs, in, out)
	app, err := streams.New(topo, streams.Properties{"application.id": "iq", "bootstrap.servers": br.addrs[0]})
	must(t, err)
	q0, err := streams.QueryKeyValueStore[string, int64](app, "counts")
	must(t, err)
	if _, _, err := q0.Get("x"); !errors.Is(err, streams.ErrNotRunning) {
		t.Fatalf("query before start: %v, want ErrNotRunning", err)
	}
	if _, err := streams.QueryKeyValueStore[string, int64](app, "nope"); err == nil {
		t.Fatal("query of an unknown store: no error")
	}
	app = startApp(t, topo, streams.Properties{
		"application.id": "iq", "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
		"commit.interval.ms": "100", "num.stream.threads": "2",
	})
	q, err := streams.QueryKeyValueStore[string, int64](app, "counts")
	must(t, err)
	qts, err := streams.QueryKeyValueStore[string, streams.ValueAndTimestamp[int64]](app, "counts")
	must(t, err)

	want := map[string]int64{}
	feed := func(n int) {
		var recs []*kgo.Record
		for i := 0; i < n; i++ {
			w := scaleWords[(i*7)%len(scaleWords)]
			want[w]++
			recs = append(recs, &kgo.Record{Topic: in, Value: []byte(w)})
		}
		produce(t, br.addrs, recs...)
	}
	// Concurrent readers while the input is processed.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := q.Get("alpha"); err != nil && !errors.Is(err, streams.ErrStoreNotAvailable) {
					t.Errorf("concurrent get: %v", err)
					return
				}
				if _, _, err := q.All(0); err != nil && !errors.Is(err, streams.ErrStoreNotAvailable) {
					t.Errorf("concurrent all: %v", err)
					return
				}
			}
		}()
	}
	feed(500)
	feed(520)
	if !testutil.Poll(60*time.Second, func() bool {
		for w, n := range want {
			v, found, err := q.Get(w)
			if err != nil && !errors.Is(err, streams.ErrStoreNotAvailable) {
				t.Fatal(err)
			}
			if !found || v != n {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("counts never matched %v", want)
	}
	close(stop)
	wg.Wait()

	if _, found, err := q.Get("absent"); err != nil || found {
		t.Errorf("get of an absent word: %v %v", found, err)
	}
	vt, found, err := qts.Get("alpha")
	if err != nil || !found || vt.Value != want["alpha"] || vt.Timestamp <= 0 {
		t.Errorf("timestamped get: %+v %v %v", vt, found, err)
	}
	var words []string
	for w := range want {
		words = append(words, w)
	}
	sort.Strings(words)
	got, more, err := q.All(0)
	must(t, err)
	if more || len(got) != len(words) {
		t.Fatalf("all: %d entries (more %v), want %d", len(got), more, len(words))
	}
	for i, kv := range got {
		if kv.Key != words[i] || kv.Value != want[kv.Key] {
			t.Fatalf("all[%d] = %+v, want %s=%d", i, kv, words[i], want[words[i]])
		}
	}
	got, more, err = q.Range("charlie", "hotel", 0)
	must(t, err)
	var wantRange []string
	for _, w := range words {
		if w >= "charlie" && w <= "hotel" {
			wantRange = append(wantRange, w)
		}
	}
	if more || fmt.Sprint(keysOf(got)) != fmt.Sprint(wantRange) {
		t.Fatalf("range charlie..hotel = %v (more %v), want %v", keysOf(got), more, wantRange)
	}
	got, more, err = q.Range("charlie", "hotel", 3)
	must(t, err)
	if !more || fmt.Sprint(keysOf(got)) != fmt.Sprint(wantRange[:3]) {
		t.Fatalf("range with limit 3 = %v (more %v)", keysOf(got), more)
	}
	n, err := q.ApproximateNumEntries()
	must(t, err)
	if n < int64(len(words)) {
		t.Errorf("approximate entries %d, want at least %d", n, len(words))
	}
}

func keysOf[K, V any](kvs []streams.KeyValue[K, V]) []K {
	out := make([]K, len(kvs))
	for i, kv := range kvs {
		out[i] = kv.Key
	}
	return out
}
