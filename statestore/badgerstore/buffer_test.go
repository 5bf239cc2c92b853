package badgerstore_test

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/badgerstore"
)

// TestReadersSeeAcknowledgedWritesAcrossBufferFlushes writes keys one at a time (through
// the write buffer's hash-indexed tail, into a buffer small enough to be written to
// Badger every few dozen puts) while readers use Get and iterators (which move the tail
// into the ordered buffer, possibly while the writer is writing it to Badger). Every write
// acknowledged before a read started must be visible to it: nothing is lost between the
// tail, the tree and Badger, and no read uses a Badger transaction older than the data
// that left the buffer.
func TestReadersSeeAcknowledgedWritesAcrossBufferFlushes(t *testing.T) {
	o := testOptions()
	o.WriteBufferSize = 2 << 10
	s, err := badgerstore.OpenKeyValueStore(t.TempDir(), "s", o, statestore.KeyValueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const keys, writes = 64, 6000
	key := func(i int) []byte { return fmt.Appendf(nil, "key-%03d", i%keys) }
	// The value of write i is i; acked holds the index of the last acknowledged write.
	var acked atomic.Int64
	acked.Store(-1)
	// lastBefore is the index of the last write to key k at or before write n.
	lastBefore := func(k, n int) int {
		if n < k {
			return -1
		}
		return n - (n-k)%keys
	}
	seen := func(v []byte) int {
		if len(v) != 8 {
			return -2
		}
		return int(binary.BigEndian.Uint64(v))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	done := make(chan struct{})
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				n := int(acked.Load())
				if r == 0 || i%4 == 0 {
					it, err := s.All()
					if err != nil {
						errs <- err
						return
					}
					got := map[int]int{}
					for it.Next() {
						var k int
						fmt.Sscanf(string(it.Key()), "key-%d", &k)
						got[k] = seen(it.Value())
					}
					if err := it.Close(); err != nil {
						errs <- err
						return
					}
					for k := range keys {
						want := lastBefore(k, n)
						if g, ok := got[k]; (want >= 0 && !ok) || (ok && g < want) {
							errs <- fmt.Errorf("iterator after write %d: key %d holds write %d (present %v), want at least %d", n, k, g, ok, want)
							return
						}
					}
					continue
				}
				k := i % keys
				v, err := s.Get(key(k))
				if err != nil {
					errs <- err
					return
				}
				if want := lastBefore(k, n); want >= 0 && (v == nil || seen(v) < want) {
					errs <- fmt.Errorf("Get after write %d: key %d holds write %d, want at least %d", n, k, seen(v), want)
					return
				}
			}
		}()
	}
	var val [8]byte
	for i := range writes {
		binary.BigEndian.PutUint64(val[:], uint64(i))
		if err := s.Put(key(i), val[:]); err != nil {
			t.Fatal(err)
		}
		acked.Store(int64(i))
		if i%1000 == 999 {
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSnapshotsKeepTheirViewWhenLaterSnapshotsMoveWrites: an iterator reads the write
// buffer's tree itself, not a copy, until a write must change that tree while the
// iterator is open. Writes made while iterators are open (each later iterator moving them
// into the tree) must never show in an earlier iterator, and every iterator must see
// every write made before it opened.
func TestSnapshotsKeepTheirViewWhenLaterSnapshotsMoveWrites(t *testing.T) {
	o := testOptions()
	o.WriteBufferSize = 1 << 20 // every write stays in the buffer until the Flush at the end
	s, err := badgerstore.OpenKeyValueStore(t.TempDir(), "s", o, statestore.KeyValueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put := func(k, v string) {
		t.Helper()
		if err := s.Put([]byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	// want is what an iterator opened now must return, in key order.
	model := map[string]string{}
	want := func() []string {
		var out []string
		for k, v := range model {
			out = append(out, k+"="+v)
		}
		slices.Sort(out)
		return out
	}
	type open struct {
		it   statestore.KeyValueIterator
		want []string
		got  []string
	}
	step := func(o *open, n int) {
		for ; n > 0 && o.it.Next(); n-- {
			o.got = append(o.got, string(o.it.Key())+"="+string(o.it.Value()))
		}
	}
	var its []*open
	openIt := func() *open {
		it, err := s.All()
		if err != nil {
			t.Fatal(err)
		}
		o := &open{it: it, want: want()}
		its = append(its, o)
		return o
	}
	finish := func(o *open) {
		t.Helper()
		step(o, 1<<30)
		if err := o.it.Close(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(o.got, o.want) {
			t.Fatalf("an iterator returned %d entries %v..., want %d %v...", len(o.got), head(o.got), len(o.want), head(o.want))
		}
	}
	for round := range 6 {
		for i := range 50 {
			k, v := fmt.Sprintf("k%03d", (i*7+round*13)%120), fmt.Sprintf("r%d", round)
			put(k, v)
			model[k] = v
		}
		o := openIt()
		step(o, 10+round)
		switch round % 3 {
		case 0:
			// Close the newest at once: the next round's writes go into the tree in place
			// unless an older iterator is still open.
			finish(o)
		case 1:
			// Leave it open across the next round's writes and iterator.
		case 2:
			// Close every open one, oldest first.
			for _, o := range its {
				if o.it != nil {
					finish(o)
					o.it = nil
				}
			}
		}
		if round%3 == 0 {
			o.it = nil
		}
	}
	for _, o := range its {
		if o.it != nil {
			finish(o)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	finish(openIt())
}

func head(s []string) []string { return s[:min(len(s), 3)] }
