package streams_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

const msec = time.Millisecond

func TestTimeWindowsFor(t *testing.T) {
	w := streams.TimeWindowsOfSizeWithNoGrace(10 * msec).AdvanceBy(3 * msec)
	got := fmt.Sprint(w.WindowsFor(7))
	// Windows start at multiples of 3, hold 7 and start >= 0.
	if want := "[[0,10) [3,13) [6,16)]"; got != want {
		t.Errorf("hopping windows for 7: %s, want %s", got, want)
	}
	if got := fmt.Sprint(streams.TimeWindowsOfSizeWithNoGrace(10 * msec).WindowsFor(25)); got != "[[20,30)]" {
		t.Errorf("tumbling windows for 25: %s", got)
	}
	if got := len(streams.TimeWindowsOfSizeWithNoGrace(10 * msec).AdvanceBy(2 * msec).WindowsFor(100)); got != 5 {
		t.Errorf("a record is in size/advance = 5 hopping windows, got %d", got)
	}
}

func TestWindowBuildErrors(t *testing.T) {
	cases := []struct {
		name string
		add  func(b *streams.Builder, g *streams.GroupedStream[string, string])
		want string
	}{
		{"zero size", func(b *streams.Builder, g *streams.GroupedStream[string, string]) {
			streams.WindowedBy(g, streams.TimeWindowsOfSizeWithNoGrace(0)).Count()
		}, "size 0s must be at least 1ms"},
		{"advance above size", func(b *streams.Builder, g *streams.GroupedStream[string, string]) {
			streams.WindowedBy(g, streams.TimeWindowsOfSizeWithNoGrace(10*msec).AdvanceBy(11*msec)).Count()
		}, "advance 11ms must be at least 1ms and at most the window size"},
		{"negative grace", func(b *streams.Builder, g *streams.GroupedStream[string, string]) {
			streams.WindowedBy(g, streams.TimeWindowsOfSizeAndGrace(10*msec, -msec)).Count()
		}, "grace period -1ms must not be negative"},
		{"negative sliding difference", func(b *streams.Builder, g *streams.GroupedStream[string, string]) {
			streams.WindowedBy(g, streams.SlidingWindowsOfTimeDifferenceWithNoGrace(-msec)).Count()
		}, "time difference -1ms must not be negative"},
		{"zero session gap", func(b *streams.Builder, g *streams.GroupedStream[string, string]) {
			streams.WindowedBySession(g, streams.SessionWindowsOfInactivityGapWithNoGrace(0)).Count()
		}, "inactivity gap 0s must be at least 1ms"},
		{"retention below size plus grace", func(b *streams.Builder, g *streams.GroupedStream[string, string]) {
			streams.WindowedBy(g, streams.TimeWindowsOfSizeAndGrace(10*msec, 5*msec)).Count(streams.MaterializedAs[string, int64]("s").WithRetention(14 * msec))
		}, `windowed store "s": retention 14ms must be at least the window size plus the grace period (15ms)`},
		{"sliding retention", func(b *streams.Builder, g *streams.GroupedStream[string, string]) {
			streams.WindowedBy(g, streams.SlidingWindowsOfTimeDifferenceAndGrace(10*msec, 5*msec)).Count(streams.MaterializedAs[string, int64]("s").WithRetention(20 * msec))
		}, "twice the time difference plus the grace period (25ms)"},
		{"session retention", func(b *streams.Builder, g *streams.GroupedStream[string, string]) {
			streams.WindowedBySession(g, streams.SessionWindowsOfInactivityGapAndGrace(10*msec, 5*msec)).Count(streams.MaterializedAs[string, int64]("s").WithRetention(time.Millisecond))
		}, "the inactivity gap plus the grace period (15ms)"},
		{"until window closes on a table", func(b *streams.Builder, g *streams.GroupedStream[string, string]) {
			g.Count().Suppress(streams.UntilWindowCloses(streams.Unbounded()))
		}, "UntilWindowCloses needs a windowed table"},
		{"until window closes with emit early", func(b *streams.Builder, g *streams.GroupedStream[string, string]) {
			streams.WindowedBy(g, streams.TimeWindowsOfSizeWithNoGrace(10*msec)).Count().Suppress(streams.UntilWindowCloses(streams.MaxRecords(5)))
		}, "UntilWindowCloses needs a buffer that never emits early"},
		{"bad buffer", func(b *streams.Builder, g *streams.GroupedStream[string, string]) {
			g.Count().Suppress(streams.UntilTimeLimit(time.Second, streams.MaxBytes(0)))
		}, "max bytes 0 must be positive"},
		{"join windows", func(b *streams.Builder, g *streams.GroupedStream[string, string]) {
			s := streams.NewStream(b, "other", streams.ConsumedWith(ss, ss))
			streams.Join(s, s, func(_, a, b string) string { return a + b }, streams.JoinWindowsOfTimeDifferenceWithNoGrace(5*msec).Before(-6*msec))
		}, "the window size (before -6ms + after 5ms) must not be negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := streams.NewBuilder()
			s := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
			c.add(b, s.GroupByKey())
			_, err := b.Build()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("build error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestWindowedSerdesUseKafkaLayout(t *testing.T) {
	tw := streams.TimeWindowedSerde(ss, 10*msec)
	b, err := tw.Serialize(streams.Windowed[string]{Key: "ab", Window: streams.Window{Start: 260, End: 270}})
	must(t, err)
	// Kafka's TimeWindowedSerializer: key bytes, then the start as 8 bytes.
	if want := append([]byte("ab"), 0, 0, 0, 0, 0, 0, 1, 4); string(b) != string(want) {
		t.Fatalf("time windowed bytes %x, want %x", b, want)
	}
	w, err := tw.Deserialize(b)
	must(t, err)
	if w.Key != "ab" || w.Window != (streams.Window{Start: 260, End: 270}) {
		t.Fatalf("decoded %+v", w)
	}
	sw := streams.SessionWindowedSerde(ss)
	b, err = sw.Serialize(streams.Windowed[string]{Key: "ab", Window: streams.Window{Start: 3, End: 9}})
	must(t, err)
	// Kafka's session key: key bytes, end, start.
	want := append([]byte("ab"), 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 3)
	if string(b) != string(want) {
		t.Fatalf("session windowed bytes %x, want %x", b, want)
	}
	if _, err := sw.Deserialize([]byte("short")); err == nil {
		t.Fatal("decoded a 5-byte session key")
	}
	var se *streams.SerdeError
	if _, err := tw.Deserialize([]byte{1, 2}); !errors.As(err, &se) {
		t.Fatalf("short time windowed key: %v, want a SerdeError", err)
	}
}

// TestWindowedAggregationsAndStores covers Reduce and AggregateWindowed on
// time windows, session Reduce and AggregateSession with a merger, and
// reading the window and session stores back.
func TestWindowedAggregationsAndStores(t *testing.T) {
	b := streams.NewBuilder()
	in := streams.NewStream(b, "in", streams.ConsumedWith(ss, streams.Int64Serde()))
	g := in.GroupByKey()
	streams.WindowedBy(g, streams.TimeWindowsOfSizeAndGrace(10*msec, 5*msec)).
		Reduce(func(a, v int64) int64 { return a + v }, streams.MaterializedAs[string, int64]("sums")).
		ToStream().To("sums")
	streams.AggregateWindowed(streams.WindowedBy(g, streams.TimeWindowsOfSizeAndGrace(10*msec, 5*msec)),
		func() string { return "" }, func(_ string, v int64, agg string) string { return agg + fmt.Sprint(v) },
		streams.MaterializedWith[string, string](ss, ss).WithStoreName("concat")).ToStream().To("concat")
	sess := streams.WindowedBySession(g, streams.SessionWindowsOfInactivityGapWithNoGrace(5*msec))
	sess.Reduce(func(a, v int64) int64 { return max(a, v) }, streams.MaterializedAs[string, int64]("maxes")).ToStream().To("maxes")
	streams.AggregateSession(sess, func() string { return "<" }, func(_ string, v int64, agg string) string { return agg + fmt.Sprint(v) },
		func(_ string, a, b string) string { return a + "|" + b }, streams.MaterializedWith[string, string](ss, ss).WithStoreName("sessions")).
		ToStream().To("sessions")
	d := driver(t, build(t, b))
	input := streamstest.CreateInputTopic(d, "in", ss, streams.Int64Serde())
	for _, r := range []struct{ ts, v int64 }{{1, 1}, {2, 2}, {12, 3}, {8, 4}, {14, 5}} {
		must(t, input.PipeInputAt("a", r.v, r.ts))
	}
	read := func(topic string, ks streams.Serde[streams.Windowed[string]]) string {
		return renderOut(t, streamstest.CreateOutputTopic(d, topic, ks, streams.StringSerde()), func(r streamstest.TestRecord[streams.Windowed[string], string]) string {
			return fmt.Sprintf("%s=%q", r.Key, r.Value)
		})
	}
	readInt := func(topic string, ks streams.Serde[streams.Windowed[string]]) string {
		return renderOut(t, streamstest.CreateOutputTopic(d, topic, ks, streams.Int64Serde()), func(r streamstest.TestRecord[streams.Windowed[string], int64]) string {
			if r.ValueNull {
				return fmt.Sprintf("%s=null", r.Key)
			}
			return fmt.Sprintf("%s=%d", r.Key, r.Value)
		})
	}
	tw := streams.TimeWindowedSerde(ss, 10*msec)
	if got, want := readInt("sums", tw), "[a@0/10]=1 [a@0/10]=3 [a@10/20]=3 [a@0/10]=7 [a@10/20]=8"; got != want {
		t.Errorf("sums: %s\nwant %s", got, want)
	}
	if got, want := read("concat", tw), `[a@0/10]="1" [a@0/10]="12" [a@10/20]="3" [a@0/10]="124" [a@10/20]="35"`; got != want {
		t.Errorf("concat: %s\nwant %s", got, want)
	}
	sw := streams.SessionWindowedSerde(ss)
	// 1,2 -> [1,2]; 12 -> [12,12]; 8 bridges? 8-2 > 5: joins [12] only; 14 extends it.
	if got, want := readInt("maxes", sw), "[a@1/1]=1 [a@1/1]=null [a@1/2]=2 [a@12/12]=3 [a@12/12]=null [a@8/12]=4 [a@8/12]=null [a@8/14]=5"; got != want {
		t.Errorf("maxes: %s\nwant %s", got, want)
	}
	if got, want := read("sessions", sw), `[a@1/1]="<1" [a@1/1]="" [a@1/2]="<|<12" [a@12/12]="<3" [a@12/12]="" [a@8/12]="<|<34" [a@8/12]="" [a@8/14]="<|<|<345"`; got != want {
		t.Errorf("sessions: %s\nwant %s", got, want)
	}

	ws, err := streams.GetWindowStore[string, int64](d, "sums")
	must(t, err)
	v, ok, err := ws.FetchOne("a", 10)
	must(t, err)
	if !ok || v != 8 {
		t.Errorf("sums [10,20) = %d %v, want 8", v, ok)
	}
	it, err := ws.Fetch("a", 0, 100)
	must(t, err)
	var got []string
	for it.Next() {
		got = append(got, fmt.Sprintf("%s=%d", it.Key(), it.Value()))
	}
	must(t, it.Close())
	if fmt.Sprint(got) != "[[a@0/10]=7 [a@10/20]=8]" {
		t.Errorf("fetch: %v", got)
	}
	ts, err := streams.GetWindowStore[string, streams.ValueAndTimestamp[int64]](d, "sums")
	must(t, err)
	vt, _, err := ts.FetchOne("a", 0)
	must(t, err)
	if vt.Value != 7 || vt.Timestamp != 8 {
		t.Errorf("timestamped [0,10) = %+v, want 7 at 8", vt)
	}
	ss2, err := streams.GetSessionStore[string, int64](d, "maxes")
	must(t, err)
	sv, ok, err := ss2.FetchSession("a", 8, 14)
	must(t, err)
	if !ok || sv != 5 {
		t.Errorf("session [8,14] = %d %v, want 5", sv, ok)
	}
	if _, err := streams.GetSessionStore[string, int64](d, "sums"); err == nil {
		t.Error("a window store was returned as a session store")
	}
}

// TestWindowStoreChangelog checks the changelog records of a window store
// (Kafka's window key schema: key, 8-byte start, 4-byte sequence number)
// and the changelog topic's configs.
func TestWindowStoreChangelog(t *testing.T) {
	b := streams.NewBuilder()
	in := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	streams.WindowedBy(in.GroupByKey(), streams.TimeWindowsOfSizeAndGrace(time.Minute, 30*time.Second)).
		Count(streams.MaterializedAs[string, int64]("counts")).Suppress(streams.UntilWindowCloses(streams.Unbounded()).WithName("final")).
		ToStream().To("out")
	topo := build(t, b)
	for _, it := range topo.Graph().InternalTopics("app", nil) {
		switch it.Name {
		case "app-counts-changelog":
			// retention = size + grace + windowstore.changelog.additional.retention.ms (1 day)
			if it.Config["retention.ms"] != fmt.Sprint((90*time.Second+24*time.Hour).Milliseconds()) || it.Config["cleanup.policy"] != "compact,delete" {
				t.Errorf("window changelog configs %v", it.Config)
			}
		case "app-final-store-changelog":
			if it.Config["cleanup.policy"] != "compact" {
				t.Errorf("suppression buffer changelog configs %v", it.Config)
			}
		default:
			t.Errorf("unexpected internal topic %s", it.Name)
		}
	}
	d := driver(t, topo, streamstest.WithApplicationID("app"))
	must(t, streamstest.CreateInputTopic(d, "in", ss, ss).PipeInputAt("k", "v", 61_000))
	cl := streamstest.CreateOutputTopic(d, "app-counts-changelog", streams.BytesSerde(), streams.BytesSerde())
	r, err := cl.ReadRecord()
	must(t, err)
	want := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64([]byte("k"), 60_000), 0)
	if string(r.Key) != string(want) {
		t.Fatalf("changelog key %x, want %x", r.Key, want)
	}
	// The value: the record timestamp (8 bytes) then the count.
	if binary.BigEndian.Uint64(r.Value) != 61_000 || binary.BigEndian.Uint64(r.Value[8:]) != 1 {
		t.Fatalf("changelog value %x", r.Value)
	}
	if buf := streamstest.CreateOutputTopic(d, "app-final-store-changelog", streams.BytesSerde(), streams.BytesSerde()); buf.QueueSize() != 1 {
		t.Fatalf("suppression buffer changelog holds %d records, want 1", buf.QueueSize())
	}
}

// TestWindowedCachingFoldsUpdatesWithinACommit: a windowed aggregation keeps
// its updates in the record cache until the commit, as Kafka Streams'
// caching window store does. One input line repeats a word three times:
// with the cache each window is written, logged and forwarded once (its
// count 3, at the time of the record), without it three times.
func TestWindowedCachingFoldsUpdatesWithinACommit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cache     int64
		noCaching bool
		hopping   string
		sliding   string
		logged    int
	}{
		{name: "cached", cache: 10 << 20,
			hopping: "[go@0/10]=3@107 [go@5/15]=3@107", sliding: "[go@97/107]=3@107", logged: 2},
		{name: "no cache", cache: 0,
			hopping: "[go@0/10]=1@107 [go@5/15]=1@107 [go@0/10]=2@107 [go@5/15]=2@107 [go@0/10]=3@107 [go@5/15]=3@107",
			sliding: "[go@97/107]=1@107 [go@97/107]=2@107 [go@97/107]=3@107", logged: 6},
		{name: "caching disabled", cache: 10 << 20, noCaching: true,
			hopping: "[go@0/10]=1@107 [go@5/15]=1@107 [go@0/10]=2@107 [go@5/15]=2@107 [go@0/10]=3@107 [go@5/15]=3@107",
			sliding: "[go@97/107]=1@107 [go@97/107]=2@107 [go@97/107]=3@107", logged: 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := streams.NewBuilder()
			lines := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
			words := streams.FlatMapValues(lines, func(_ string, line string) []string { return strings.Fields(line) })
			g := streams.GroupBy(words, func(_, w string) string { return w }, streams.GroupedWith(ss, ss))
			hm := streams.MaterializedAs[string, int64]("hopping")
			sm := streams.MaterializedAs[string, int64]("sliding")
			if tc.noCaching {
				hm, sm = hm.WithCachingDisabled(), sm.WithCachingDisabled()
			}
			// Windows of 10ms advancing by 5ms hold the record at 107 in
			// [100,110) and [105,115), rendered below relative to 100; its
			// sliding window is [97,107].
			streams.WindowedBy(g, streams.TimeWindowsOfSizeWithNoGrace(10*msec).AdvanceBy(5*msec)).Count(hm).
				ToStream().To("hopping", streams.ProducedWith(streams.TimeWindowedSerde(ss, 10*msec), streams.Int64Serde()))
			streams.WindowedBy(g, streams.SlidingWindowsOfTimeDifferenceAndGrace(10*msec, time.Hour)).Count(sm).
				ToStream().To("sliding", streams.ProducedWith(streams.TimeWindowedSerde(ss, 10*msec), streams.Int64Serde()))
			d := driver(t, build(t, b), streamstest.WithCacheMaxBytes(tc.cache), streamstest.WithApplicationID("app"))
			must(t, streamstest.CreateInputTopic(d, "in", ss, ss).PipeInputAt("", "go go go", 107))
			read := func(topic string, shift int64) string {
				return renderOut(t, streamstest.CreateOutputTopic(d, topic, streams.TimeWindowedSerde(ss, 10*msec), streams.Int64Serde()),
					func(r streamstest.TestRecord[streams.Windowed[string], int64]) string {
						return fmt.Sprintf("[%s@%d/%d]=%d@%d", r.Key.Key, r.Key.Window.Start-shift, r.Key.Window.End-shift, r.Value, r.Timestamp)
					})
			}
			if got := read("hopping", 100); got != tc.hopping {
				t.Errorf("hopping windows: %s\nwant %s", got, tc.hopping)
			}
			if got := read("sliding", 0); got != tc.sliding {
				t.Errorf("sliding windows: %s\nwant %s", got, tc.sliding)
			}
			cl := streamstest.CreateOutputTopic(d, "app-hopping-changelog", streams.BytesSerde(), streams.BytesSerde())
			recs, err := cl.ReadRecordsToList()
			must(t, err)
			if len(recs) != tc.logged {
				t.Fatalf("hopping changelog holds %d records, want %d", len(recs), tc.logged)
			}
			for _, r := range recs {
				if r.Timestamp != 107 || binary.BigEndian.Uint64(r.Value) != 107 {
					t.Errorf("changelog record at %d with value time %d, want 107", r.Timestamp, binary.BigEndian.Uint64(r.Value))
				}
			}
			last := recs[len(recs)-1]
			if n := binary.BigEndian.Uint64(last.Value[8:]); n != 3 {
				t.Errorf("last changelog count %d, want 3", n)
			}
			// The store holds the counts, read through the cache or not.
			ws, err := streams.GetWindowStore[string, int64](d, "hopping")
			must(t, err)
			for _, start := range []int64{100, 105} {
				if v, ok, err := ws.FetchOne("go", start); err != nil || !ok || v != 3 {
					t.Errorf("hopping window at %d = %d %v %v, want 3", start, v, ok, err)
				}
			}
		})
	}
}

// TestWindowedCachingSendsOldValues: a table regrouped from a windowed
// count subtracts each window's old count and adds its new one, so the
// windowed store's cache must send the count each window held before the
// flush. The running total over all windows equals the number of records,
// with or without the cache.
func TestWindowedCachingSendsOldValues(t *testing.T) {
	for _, cache := range []int64{10 << 20, 0} {
		b := streams.NewBuilder()
		lines := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
		words := streams.FlatMapValues(lines, func(_ string, line string) []string { return strings.Fields(line) })
		g := streams.GroupBy(words, func(_, w string) string { return w }, streams.GroupedWith(ss, ss))
		counts := streams.WindowedBy(g, streams.TimeWindowsOfSizeAndGrace(10*msec, time.Hour)).Count(streams.MaterializedAs[string, int64]("counts"))
		total := streams.GroupByTable(counts, func(_ streams.Windowed[string], n int64) (string, int64) { return "all", n },
			streams.GroupedWith(ss, streams.Int64Serde())).
			Reduce(func(a, v int64) int64 { return a + v }, func(a, v int64) int64 { return a - v },
				streams.MaterializedAs[string, int64]("total"))
		total.ToStream().To("total", streams.ProducedWith(ss, streams.Int64Serde()))
		d := driver(t, build(t, b), streamstest.WithCacheMaxBytes(cache))
		in := streamstest.CreateInputTopic(d, "in", ss, ss)
		records := 0
		for _, l := range []struct {
			line string
			ts   int64
		}{{"a a", 1}, {"a b", 2}, {"a", 12}, {"b b b", 5}} {
			must(t, in.PipeInputAt("", l.line, l.ts))
			records += len(strings.Fields(l.line))
		}
		got, err := streamstest.CreateOutputTopic(d, "total", ss, streams.Int64Serde()).ReadValuesToList()
		must(t, err)
		if len(got) == 0 || got[len(got)-1] != int64(records) {
			t.Errorf("cache %d: totals %v, want the last %d", cache, got, records)
		}
		ws, err := streams.GetWindowStore[string, int64](d, "counts")
		must(t, err)
		for _, w := range []struct {
			key   string
			start int64
			n     int64
		}{{"a", 0, 3}, {"b", 0, 4}, {"a", 10, 1}} {
			if n, ok, err := ws.FetchOne(w.key, w.start); err != nil || !ok || n != w.n {
				t.Errorf("cache %d: %s@%d = %d %v %v, want %d", cache, w.key, w.start, n, ok, err, w.n)
			}
		}
	}
}

// TestWindowedCachingEvictsThroughASmallCache: with a cache far smaller than
// one commit's windows, evictions write windows through and forward them in
// the middle of processing; the last output of every window, and the store,
// still hold the true counts.
func TestWindowedCachingEvictsThroughASmallCache(t *testing.T) {
	b := streams.NewBuilder()
	lines := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	words := streams.FlatMapValues(lines, func(_ string, line string) []string { return strings.Fields(line) })
	g := streams.GroupBy(words, func(_, w string) string { return w }, streams.GroupedWith(ss, ss))
	streams.WindowedBy(g, streams.TimeWindowsOfSizeAndGrace(10*msec, time.Hour).AdvanceBy(5*msec)).
		Count(streams.MaterializedAs[string, int64]("counts")).
		ToStream().To("out", streams.ProducedWith(streams.TimeWindowedSerde(ss, 10*msec), streams.Int64Serde()))
	d := driver(t, build(t, b), streamstest.WithCacheMaxBytes(2<<10))
	in := streamstest.CreateInputTopic(d, "in", ss, ss)
	type win struct {
		key   string
		start int64
	}
	want := map[win]int64{}
	for i := 0; i < 40; i++ {
		ts := int64(i * 3)
		var line []string
		for j := 0; j < 60; j++ {
			w := fmt.Sprintf("w%d", (i*7+j*j)%50)
			line = append(line, w)
			for start := ts - ts%5 - 5; start <= ts; start += 5 {
				if start >= 0 && ts < start+10 {
					want[win{w, start}]++
				}
			}
		}
		must(t, in.PipeInputAt("", strings.Join(line, " "), ts))
	}
	recs, err := streamstest.CreateOutputTopic(d, "out", streams.TimeWindowedSerde(ss, 10*msec), streams.Int64Serde()).ReadRecordsToList()
	must(t, err)
	last := map[win]int64{}
	for _, r := range recs {
		k := win{r.Key.Key, r.Key.Window.Start}
		if r.Value <= last[k] || r.Value > want[k] {
			t.Fatalf("window %v went from %d to %d (true count %d)", k, last[k], r.Value, want[k])
		}
		last[k] = r.Value
	}
	ws, err := streams.GetWindowStore[string, int64](d, "counts")
	must(t, err)
	for k, n := range want {
		if last[k] != n {
			t.Errorf("window %v: last output %d, want %d", k, last[k], n)
		}
		if v, ok, err := ws.FetchOne(k.key, k.start); err != nil || !ok || v != n {
			t.Errorf("window %v: store %d %v %v, want %d", k, v, ok, err, n)
		}
	}
	if len(recs) >= 2*40*60 {
		t.Errorf("%d outputs for %d window updates: nothing was folded", len(recs), 2*40*60)
	}
	t.Logf("%d window updates, %d outputs, %d windows", 2*40*60, len(recs), len(want))
}
