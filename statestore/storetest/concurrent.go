package storetest

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
)

// runConcurrentKV runs one writer (puts, deletes, batches, flushes) against two readers
// (Get and iterators, as interactive queries do), then closes the store under the readers.
// Its checks are those the race detector makes, plus: readers never see a torn value,
// iterators stay in order, and every call after Close fails with ErrClosed.
func runConcurrentKV(t *testing.T, h Harness) {
	s := h.kv(t, t.TempDir(), statestore.KeyValueOptions{})
	const keys = 200
	value := func(gen int) []byte { return fmt.Appendf(nil, "gen-%06d-%s", gen, "padding-padding") }
	var wg sync.WaitGroup
	var writes, reads atomic.Int64
	stop := make(chan struct{})
	errs := make(chan error, 3)
	wg.Add(1)
	go func() { // the writer
		defer wg.Done()
		for gen := 0; ; gen++ {
			select {
			case <-stop:
				return
			default:
			}
			k := fmt.Appendf(nil, "k%04d", gen%keys)
			writes.Add(1)
			var err error
			switch gen % 7 {
			case 3:
				_, err = s.Delete(k)
			case 5:
				err = s.PutAll([]statestore.KeyValue{{Key: k, Value: value(gen)}, {Key: fmt.Appendf(nil, "k%04d", (gen+1)%keys), Value: value(gen)}})
			case 6:
				if gen%70 == 6 {
					err = s.Flush()
				} else {
					err = s.Put(k, value(gen))
				}
			default:
				err = s.Put(k, value(gen))
			}
			if err != nil {
				if !errors.Is(err, statestore.ErrClosed) {
					errs <- fmt.Errorf("writer: %w", err)
				}
				return
			}
		}
	}()
	reader := func(id int) {
		defer wg.Done()
		for i := 0; ; i++ {
			reads.Add(1)
			v, err := s.Get(fmt.Appendf(nil, "k%04d", i%keys))
			if err != nil {
				if !errors.Is(err, statestore.ErrClosed) {
					errs <- fmt.Errorf("reader %d: Get: %w", id, err)
				}
				return
			}
			if v != nil && len(v) != len(value(0)) {
				errs <- fmt.Errorf("reader %d: torn value %q", id, v)
				return
			}
			it, err := s.Range(fmt.Appendf(nil, "k%04d", i%keys), nil)
			if err != nil {
				if !errors.Is(err, statestore.ErrClosed) {
					errs <- fmt.Errorf("reader %d: Range: %w", id, err)
				}
				return
			}
			var prev []byte
			for n := 0; n < 50 && it.Next(); n++ {
				if prev != nil && string(prev) >= string(it.Key()) {
					errs <- fmt.Errorf("reader %d: iterator out of order: %q then %q", id, prev, it.Key())
					it.Close()
					return
				}
				prev = append(prev[:0], it.Key()...)
			}
			if err := it.Err(); err != nil && !errors.Is(err, statestore.ErrClosed) {
				errs <- fmt.Errorf("reader %d: iterator: %w", id, err)
			}
			it.Close()
		}
	}
	wg.Add(2)
	go reader(1)
	go reader(2)
	// Let them overlap for a while (a number of operations, with a deadline), then close
	// the store under them.
	deadline := time.Now().Add(20 * time.Second)
	for writes.Load() < 5000 || reads.Load() < 500 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d writes and %d reads before the deadline", writes.Load(), reads.Load())
		}
		if _, err := s.ApproximateNumEntries(); err != nil {
			t.Fatal(err)
		}
		runtime.Gosched()
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close under readers: %v", err)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
