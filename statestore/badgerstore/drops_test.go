package badgerstore

import (
	"bytes"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/internal/core"
)

// TestExpiredSegmentsAreDroppedLaterButNeverRead expires window segments and checks that
// reads stop returning them at once, that a Flush leaves them in Badger until enough was
// written since (or enough time passed), and that a store reopened after a crash with them
// still on disk never reads them and drops them the same way, and that Close drops them.
func TestExpiredSegmentsAreDroppedLaterButNeverRead(t *testing.T) {
	dir := t.TempDir()
	wopts := statestore.WindowOptions{Retention: time.Second, SegmentInterval: 500 * time.Millisecond}
	wopts.EnsureDefaults()
	open := func() (*engine, *core.WindowStore) {
		t.Helper()
		eng, _, err := openEngine(dir, "w", loadTestOptions())
		must(t, err)
		ws, err := core.NewWindowStore(eng, wopts)
		must(t, err)
		return eng, ws
	}
	// rawWindows counts the windows of key k in Badger, expired segments included.
	rawWindows := func(eng *engine, k string) int {
		t.Helper()
		n := 0
		must(t, eng.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{dataPrefix}})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				if bytes.Contains(it.Item().Key(), []byte(k)) {
					n++
				}
			}
			return nil
		}))
		return n
	}
	eng, ws := open()
	for ts := int64(0); ts < 1000; ts += 100 {
		must(t, ws.Put([]byte("old"), []byte("v"), ts))
	}
	must(t, ws.Flush())
	if n := rawWindows(eng, "old"); n != 10 {
		t.Fatalf("%d windows of old in Badger before expiry, want 10", n)
	}
	// Stream time moves to 10 s: every segment of "old" expires.
	must(t, ws.Put([]byte("new"), []byte("v"), 10_000))
	must(t, ws.Flush())
	got := 0
	it, err := ws.Fetch([]byte("old"), 0, 10_000)
	must(t, err)
	for it.Next() {
		got++
	}
	must(t, it.Close())
	if got != 0 {
		t.Fatalf("fetch of expired windows returned %d", got)
	}
	if n := rawWindows(eng, "old"); n != 10 {
		t.Fatalf("%d windows of old in Badger right after expiry, want 10 (dropped later)", n)
	}
	// Enough written since the expiry (as if): the next Flush drops them.
	flushWhenDue(t, eng, ws)
	if n := rawWindows(eng, "old"); n != 0 {
		t.Fatalf("%d windows of old in Badger after the drop, want 0", n)
	}

	// Expired again, then a crash (no Flush, no Close): the reopened store drops them.
	for ts := int64(10_000); ts < 10_500; ts += 100 {
		must(t, ws.Put([]byte("mid"), []byte("v"), ts))
	}
	must(t, ws.Flush())
	must(t, ws.Put([]byte("new"), []byte("v"), 20_000))
	must(t, ws.Flush())
	if n := rawWindows(eng, "mid"); n != 5 {
		t.Fatalf("%d windows of mid in Badger right after expiry, want 5", n)
	}
	must(t, eng.db.Close()) // as a crash leaves it: the engine never closed
	eng, ws = open()
	it, err = ws.Fetch([]byte("mid"), 0, 20_000)
	must(t, err)
	if it.Next() {
		t.Fatal("a reopened store returned an expired window")
	}
	must(t, it.Close())
	flushWhenDue(t, eng, ws)
	if n := rawWindows(eng, "mid"); n != 0 {
		t.Fatalf("%d windows of mid in Badger after reopening and a due Flush, want 0", n)
	}
	if n := rawWindows(eng, "new"); n != 1 { // the window at 20 s; the one at 10 s expired
		t.Fatalf("%d windows of new in Badger after reopening, want 1", n)
	}

	// Expired, then closed: Close drops them.
	must(t, ws.Put([]byte("late"), []byte("v"), 20_100))
	must(t, ws.Put([]byte("new"), []byte("v"), 30_000))
	must(t, ws.Close())
	eng, ws = open()
	defer ws.Close()
	if n := rawWindows(eng, "late"); n != 0 {
		t.Fatalf("%d windows of late in Badger after a close, want 0", n)
	}
}

// flushWhenDue flushes ws after making its engine's pending drops due, as 64 MiB of writes
// since the first of them would.
func flushWhenDue(t *testing.T, eng *engine, ws *core.WindowStore) {
	t.Helper()
	eng.mu.Lock()
	eng.dropsWritten = dropsBytes
	eng.mu.Unlock()
	must(t, ws.Flush())
}
