package streams_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// sessionEvents is a topology whose input values are lists of "key@time"
// events, each forwarded as its own record at its time, counted in
// sessions of a 10ms inactivity gap and an hour of grace (store
// "sessions"). The driver commits
// after each input record, so the events of one value fall between two
// flushes of the record cache.
func sessionEvents(t *testing.T, cache int64, noCaching bool) (*streamstest.Driver, *streamstest.InputTopic[string, string]) {
	t.Helper()
	b := streams.NewBuilder()
	g := sessionEventStream(b).GroupByKey(streams.GroupedWith(ss, ss))
	m := streams.MaterializedAs[string, int64]("sessions")
	if noCaching {
		m = m.WithCachingDisabled()
	}
	streams.WindowedBySession(g, streams.SessionWindowsOfInactivityGapAndGrace(10*msec, time.Hour)).Count(m).
		ToStream().To("out", streams.ProducedWith(streams.SessionWindowedSerde(ss), streams.Int64Serde()))
	d := driver(t, build(t, b), streamstest.WithCacheMaxBytes(cache), streamstest.WithApplicationID("app"))
	return d, streamstest.CreateInputTopic(d, "in", ss, ss)
}

// readSessions renders the output records: [key@start/end]=count@timestamp,
// a delete as =del.
func readSessions(t *testing.T, d *streamstest.Driver) string {
	t.Helper()
	return renderOut(t, streamstest.CreateOutputTopic(d, "out", streams.SessionWindowedSerde(ss), streams.Int64Serde()),
		func(r streamstest.TestRecord[streams.Windowed[string], int64]) string {
			v := strconv.FormatInt(r.Value, 10)
			if r.ValueNull {
				v = "del"
			}
			return fmt.Sprintf("[%s@%d/%d]=%s@%d", r.Key.Key, r.Key.Window.Start, r.Key.Window.End, v, r.Timestamp)
		})
}

// TestSessionCachingFoldsMergesWithinACommit: with the record cache, the
// sessions a key's events create and merge between two commits reach the
// output once, as their merged session; a session merged away before it was
// ever flushed is not deleted downstream (its delete only reaches the store
// and the changelog, where it deletes nothing).
// A session flushed at one commit and merged at the next is deleted
// downstream at that next commit. Without the cache, every step goes
// downstream, as before.
func TestSessionCachingFoldsMergesWithinACommit(t *testing.T) {
	for _, tc := range []struct {
		name          string
		cache         int64
		noCaching     bool
		first, second string
		logged        int
	}{
		{name: "cached", cache: 10 << 20,
			first:  "[b@100/100]=1@100 [a@100/110]=3@110",
			second: "[a@100/110]=del@110 [a@100/115]=4@115",
			logged: 6},
		{name: "no cache", cache: 0,
			first:  "[a@100/100]=1@100 [a@100/100]=del@100 [a@100/105]=2@105 [b@100/100]=1@100 [a@100/105]=del@105 [a@100/110]=3@110",
			second: "[a@100/110]=del@110 [a@100/115]=4@115",
			logged: 8},
		{name: "caching disabled", cache: 10 << 20, noCaching: true,
			first:  "[a@100/100]=1@100 [a@100/100]=del@100 [a@100/105]=2@105 [b@100/100]=1@100 [a@100/105]=del@105 [a@100/110]=3@110",
			second: "[a@100/110]=del@110 [a@100/115]=4@115",
			logged: 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, in := sessionEvents(t, tc.cache, tc.noCaching)
			// a's three events merge into one session [100,110]; b has one.
			must(t, in.PipeInputAt("", "a@100 a@105 b@100 a@110", 110))
			if got := readSessions(t, d); got != tc.first {
				t.Errorf("first commit: %s\nwant %s", got, tc.first)
			}
			// The next event extends a's session, which the first commit
			// flushed: it is deleted downstream and replaced.
			must(t, in.PipeInputAt("", "a@115", 115))
			if got := readSessions(t, d); got != tc.second {
				t.Errorf("second commit: %s\nwant %s", got, tc.second)
			}
			cl := streamstest.CreateOutputTopic(d, "app-sessions-changelog", streams.BytesSerde(), streams.BytesSerde())
			recs, err := cl.ReadRecordsToList()
			must(t, err)
			if len(recs) != tc.logged {
				t.Errorf("the changelog holds %d records, want %d", len(recs), tc.logged)
			}
			// The store holds a's and b's sessions, read through the cache
			// or not.
			st := checkSessionCounts(t, d, "", storedSession{"a", 100, 115, 4}, storedSession{"b", 100, 100, 1})
			it, err := st.Fetch("a")
			must(t, err)
			var sessions []string
			for it.Next() {
				sessions = append(sessions, fmt.Sprint(it.Key().Window.Start, "/", it.Key().Window.End, "=", it.Value()))
			}
			must(t, it.Close())
			if got := strings.Join(sessions, " "); got != "100/115=4" {
				t.Errorf("a's sessions in the store: %s, want 100/115=4", got)
			}
		})
	}
}

// sessionEventStream reads topic "in", whose values are lists of
// "key@time" events, and forwards each event as its own record at its time.
func sessionEventStream(b *streams.Builder) *streams.Stream[string, string] {
	in := streams.NewStream(b, "in", streams.ConsumedWith(ss, ss))
	return streams.Process(in, streams.ProcessorFunc(func(ctx streams.ProcessorContext[string, string], r streams.Record[string, string]) error {
		for _, ev := range strings.Fields(r.Value) {
			key, at, _ := strings.Cut(ev, "@")
			ts, err := strconv.ParseInt(at, 10, 64)
			if err != nil {
				return err
			}
			if err := ctx.Forward(streams.Record[string, string]{Key: key, Value: ev, Timestamp: ts}); err != nil {
				return err
			}
		}
		return nil
	}))
}

// TestSessionCachingSendsOldValues: a table regrouped from a session count
// subtracts each removed or replaced session's count and adds the new one,
// so the session store's cache must send the count a session held when it
// deletes or replaces it. The running total over all sessions equals the
// number of events, with or without the cache.
func TestSessionCachingSendsOldValues(t *testing.T) {
	for _, cache := range []int64{10 << 20, 0} {
		b := streams.NewBuilder()
		g := sessionEventStream(b).GroupByKey(streams.GroupedWith(ss, ss))
		counts := streams.WindowedBySession(g, streams.SessionWindowsOfInactivityGapAndGrace(10*msec, time.Hour)).
			Count(streams.MaterializedAs[string, int64]("sessions"))
		streams.GroupByTable(counts, func(_ streams.Windowed[string], n int64) (string, int64) { return "all", n },
			streams.GroupedWith(ss, streams.Int64Serde())).
			Reduce(func(a, v int64) int64 { return a + v }, func(a, v int64) int64 { return a - v },
				streams.MaterializedAs[string, int64]("total")).
			ToStream().To("total", streams.ProducedWith(ss, streams.Int64Serde()))
		d := driver(t, build(t, b), streamstest.WithCacheMaxBytes(cache))
		in := streamstest.CreateInputTopic(d, "in", ss, ss)
		events := 0
		// Sessions created, extended and bridged within one commit and
		// across commits.
		for _, v := range []string{"a@100 a@105 b@100", "a@112", "b@130 a@140 a@125", "b@120 a@150 a@118"} {
			must(t, in.PipeInputAt("", v, 150))
			events += len(strings.Fields(v))
		}
		got, err := streamstest.CreateOutputTopic(d, "total", ss, streams.Int64Serde()).ReadValuesToList()
		must(t, err)
		if len(got) == 0 || got[len(got)-1] != int64(events) {
			t.Errorf("cache %d: totals %v, want the last %d", cache, got, events)
		}
		checkSessionCounts(t, d, fmt.Sprintf("cache %d: ", cache),
			storedSession{"a", 100, 125, 5}, storedSession{"a", 140, 150, 2}, storedSession{"b", 100, 100, 1}, storedSession{"b", 120, 130, 2})
	}
}

type storedSession struct {
	key        string
	start, end int64
	n          int64
}

// checkSessionCounts checks the counts the "sessions" store holds for the
// sessions want, and returns the store.
func checkSessionCounts(t *testing.T, d *streamstest.Driver, prefix string, want ...storedSession) streams.ReadOnlySessionStore[string, int64] {
	t.Helper()
	st, err := streams.GetSessionStore[string, int64](d, "sessions")
	must(t, err)
	for _, w := range want {
		if n, ok, err := st.FetchSession(w.key, w.start, w.end); err != nil || !ok || n != w.n {
			t.Errorf("%ssession %s [%d,%d] = %d %v %v, want %d", prefix, w.key, w.start, w.end, n, ok, err, w.n)
		}
	}
	return st
}
