package streams_test

// Tests of the stream thread's loop on a broker: back-pressure and the
// periodic offset commits, and the fetch wait.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// TestBackPressurePausesOnlyWhatATaskHoldsBack: a task that cannot process
// its buffered records (it waits, max.task.idle.ms, for its other, empty
// input) has that partition paused once its buffer reaches
// buffered.records.per.partition; when the other input brings later
// records, everything is processed in order and fetching resumes.
func TestBackPressurePausesOnlyWhatATaskHoldsBack(t *testing.T) {
	br := startBrokerlite(t)
	suffix := fmt.Sprint(time.Now().UnixNano())
	a, c, out := "bp-a-"+suffix, "bp-c-"+suffix, "bp-out-"+suffix
	createTopic(t, br.addrs, 1, a, c, out)
	const n = 200
	base := time.UnixMilli(1_700_000_000_000)
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: a, Key: []byte("k"), Value: []byte(fmt.Sprintf("a%03d", i)), Timestamp: base.Add(time.Duration(i) * time.Millisecond)})
	}
	produce(t, br.addrs, recs...)

	ss := streams.StringSerde()
	b := streams.NewBuilder()
	streams.NewStream(b, a, streams.ConsumedWith(ss, ss)).
		Merge([]*streams.Stream[string, string]{streams.NewStream(b, c, streams.ConsumedWith(ss, ss))}).To(out)
	app := startApp(t, build(t, b), streams.Properties{
		"application.id": "bp-" + suffix, "bootstrap.servers": strings.Join(br.addrs, ","), "state.dir": t.TempDir(),
		"num.stream.threads": "1", "commit.interval.ms": "100",
		"max.task.idle.ms":               "600000",
		"buffered.records.per.partition": "10", "max.poll.records": "5",
	})
	pausedA := func() bool {
		return slices.Contains(streams.PausedPartitions(app), streams.TopicPartition{Topic: a})
	}
	if !testutil.Poll(20*time.Second, pausedA) {
		t.Fatalf("%s not paused while its task waits for %s (paused: %v)", a, c, streams.PausedPartitions(app))
	}
	produce(t, br.addrs, &kgo.Record{Topic: c, Key: []byte("k"), Value: []byte("c-late"), Timestamp: base.Add(time.Hour)})
	var got []string
	consumeUntil(t, br.addrs, out, 30*time.Second, func(rs []*kgo.Record) bool {
		got = got[:0] // rs is everything read so far
		for _, r := range rs {
			got = append(got, string(r.Value))
		}
		return len(got) >= n
	})
	if len(got) < n {
		t.Fatalf("%d outputs, want %d", len(got), n)
	}
	for i, v := range got[:n] {
		if want := fmt.Sprintf("a%03d", i); v != want {
			t.Fatalf("output %d is %q, want %q (in timestamp order)", i, v, want)
		}
	}
	if !testutil.Poll(10*time.Second, func() bool { return !pausedA() }) {
		t.Fatalf("%s still paused after its records were processed", a)
	}

}

// TestPeriodicCommitsLandWhileRunning: at-least-once, the periodic commits
// (sent without waiting for their answer) commit every input partition up
// to its end while the application runs, and the answers still drive the
// purge of the repartition topic's consumed records.
func TestPeriodicCommitsLandWhileRunning(t *testing.T) {
	br := startBrokerlite(t)
	id, in, out := uniqTopics(t, br.addrs, "asynccommit", 2)
	app := startApp(t, buildWordCount(t, in, out), streams.Properties{
		"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
		"commit.interval.ms": "50", "repartition.purge.interval.ms": "50", "num.stream.threads": "2",
	}, fastGroup)
	want := map[string]int64{}
	produceWords(t, br.addrs, in, out, want, "a b c", "b c d", "c d e", "d e f", "e f g")
	adm := adminFor(t, br.addrs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, in)
	must(t, err)
	if !testutil.Poll(20*time.Second, func() bool {
		committed, err := adm.FetchOffsets(ctx, id)
		if err != nil {
			return false
		}
		landed := true
		ends.Each(func(e kadm.ListedOffset) {
			c, ok := committed.Lookup(e.Topic, e.Partition)
			landed = landed && ok && c.At == e.Offset
		})
		return landed
	}) {
		t.Fatalf("input offsets not committed up to %v while running", ends)
	}
	if !testutil.Poll(20*time.Second, func() bool {
		return metric(t, app, "rivulet_streams_repartition_purges_total") > 0
	}) {
		t.Fatalf("no repartition partition purged after its offsets were committed")
	}
	if app.State() != streams.StateRunning {
		t.Fatalf("state %s, want RUNNING", app.State())
	}
}

// TestStreamThreadsFetchWaitIsShort: the stream threads' consumers fetch
// with fetch.max.wait.ms 100 ms (franz-go's own default is 5 s, which a
// partition resumed after back-pressure could wait out), unless the
// application's properties set it, for consumers or for every client.
func TestStreamThreadsFetchWaitIsShort(t *testing.T) {
	br := startBrokerlite(t)
	for name, tc := range map[string]struct {
		props streams.Properties
		want  time.Duration
	}{
		"default":           {nil, 100 * time.Millisecond},
		"consumer property": {streams.Properties{"consumer.fetch.max.wait.ms": "50"}, 50 * time.Millisecond},
		"client property":   {streams.Properties{"fetch.max.wait.ms": "70"}, 70 * time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			id, in, out := uniqTopics(t, br.addrs, "fetchwait", 1)
			props := streams.Properties{
				"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
				"num.stream.threads": "2",
			}
			maps.Copy(props, tc.props)
			app := startApp(t, buildWordCount(t, in, out), props)
			got := streams.ThreadFetchMaxWaits(app)
			if len(got) != 2 {
				t.Fatalf("%d stream threads, want 2", len(got))
			}
			for _, d := range got {
				if d != tc.want {
					t.Fatalf("a stream thread fetches with fetch.max.wait.ms %v, want %v", d, tc.want)
				}
			}
		})
	}
}

// TestStreamThreadsProduceUncompressedByDefault: the stream threads'
// producers use Kafka's compression.type none (franz-go's own default is
// snappy) unless the properties set one, for producers or for every client;
// the records on the repartition topic and the output show it.
func TestStreamThreadsProduceUncompressedByDefault(t *testing.T) {
	br := startBrokerlite(t)
	// Record attributes' codec numbers (Kafka's record batch format).
	codecs := map[string]uint8{"none": 0, "snappy": 2, "lz4": 3, "zstd": 4}
	for name, tc := range map[string]struct {
		props streams.Properties
		want  string
	}{
		"default":           {nil, "none"},
		"producer property": {streams.Properties{"producer.compression.type": "lz4"}, "lz4"},
		"client property":   {streams.Properties{"compression.type": "zstd"}, "zstd"},
	} {
		t.Run(name, func(t *testing.T) {
			id, in, out := uniqTopics(t, br.addrs, "compression", 1)
			props := streams.Properties{
				"application.id": id, "bootstrap.servers": br.addrs[0], "state.dir": t.TempDir(),
				"num.stream.threads": "2", "commit.interval.ms": "100",
			}
			maps.Copy(props, tc.props)
			app := startApp(t, buildWordCount(t, in, out), props)
			for _, got := range streams.ThreadCompressions(app) {
				if got != tc.want {
					t.Fatalf("a stream thread produces with compression %s, want %s", got, tc.want)
				}
			}
			// Many records of few words: batches that compress (franz-go sends a batch
			// uncompressed when compressing does not make it smaller).
			ls := slices.Repeat([]string{"the quick brown fox jumps over the lazy dog"}, 200)
			produceWords(t, br.addrs, in, out, map[string]int64{}, ls...)
			topics, err := adminFor(t, br.addrs).ListTopics(context.Background())
			must(t, err)
			checked := 0
			for _, topic := range topics.Names() {
				if topic != out && !(strings.HasPrefix(topic, id) && strings.HasSuffix(topic, "-repartition")) {
					continue
				}
				recs := consumeUntil(t, br.addrs, topic, 10*time.Second, func(rs []*kgo.Record) bool { return len(rs) > 0 })
				if len(recs) == 0 {
					t.Fatalf("%s: no records", topic)
				}
				wanted := 0
				for _, r := range recs {
					switch c := r.Attrs.CompressionType(); c {
					case codecs[tc.want]:
						wanted++
					case codecs["none"]: // a batch too small to gain from compression
					default:
						t.Fatalf("%s: a record batch with codec %d, want %d (%s)", topic, c, codecs[tc.want], tc.want)
					}
				}
				if wanted == 0 {
					t.Fatalf("%s: no record batch with codec %d (%s) in %d records", topic, codecs[tc.want], tc.want, len(recs))
				}
				checked++
			}
			if checked != 2 {
				t.Fatalf("checked %d topics, want the output and the repartition topic", checked)
			}
		})
	}
}
