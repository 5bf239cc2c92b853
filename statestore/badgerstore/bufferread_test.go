package badgerstore_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/badgerstore"
)

// A window store reads its write buffer alone when nothing it wrote out to Badger is as
// new as the read; it knows that from the observed stream time it saves on Flush. A store
// left by a stop without that Flush (a crash after the buffer overflowed into Badger)
// holds windows newer than the saved time: its reads must still find them.
func TestWindowsWrittenOutBeforeAnUncleanStopAreRead(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions() // a 512-byte write buffer: puts overflow into Badger
	wopts := statestore.WindowOptions{Retention: time.Hour, SegmentInterval: time.Minute, WindowSize: time.Second}
	st, err := badgerstore.OpenWindowStore(dir, "w", opts, wopts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key := []byte("k")
	const n = 200
	for i := range n {
		if err := st.Put(key, []byte(strconv.Itoa(i)), int64(i)*1000); err != nil {
			t.Fatal(err)
		}
	}
	// The copy is what a crash leaves: Badger's write-ahead log holds the windows written
	// out, and no Flush saved the observed stream time.
	crashed := t.TempDir()
	if err := copyDir(dir, crashed); err != nil {
		t.Fatal(err)
	}
	re, err := badgerstore.OpenWindowStore(crashed, "w", opts, wopts)
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	got := fetchTimes(t, re, key, 0, n*1000)
	if len(got) == 0 || len(got) > n {
		t.Fatalf("the reopened store holds %d windows of %d", len(got), n)
	}
	for i, ts := range got {
		if ts != int64(i)*1000 {
			t.Fatalf("window %d starts at %d, want %d", i, ts, i*1000)
		}
	}
	// The newest windows written out are there too, read with a range that starts after
	// the observed stream time the store opened with (none: it was never flushed).
	last := got[len(got)-1]
	if tail := fetchTimes(t, re, key, last, last); len(tail) != 1 {
		t.Fatalf("Fetch(%d, %d) after reopening = %v, want the window written out at %d (observed stream time %d)",
			last, last, tail, last, re.ObservedStreamTime())
	}
	t.Logf("%d of %d windows were written out before the stop; observed stream time on reopen %d", len(got), n, re.ObservedStreamTime())

	// A write after the reopen goes to the buffer; reads across both parts see both.
	if err := re.Put(key, []byte("new"), n*1000); err != nil {
		t.Fatal(err)
	}
	if all := fetchTimes(t, re, key, 0, n*1000); len(all) != len(got)+1 {
		t.Fatalf("after a new write, the store holds %d windows, want %d", len(all), len(got)+1)
	}
}

func fetchTimes(t *testing.T, st statestore.ReadOnlyWindowStore, key []byte, from, to int64) []int64 {
	t.Helper()
	it, err := st.Fetch(key, from, to)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []int64
	for it.Next() {
		out = append(out, it.Start())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
