package badgerstore_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/badgerstore"
)

func TestOptionsForBudgetFits(t *testing.T) {
	for _, share := range []int64{badgerstore.MinStoreBudget, 16 << 20, 24 << 20, 32 << 20, 40 << 20, 48 << 20, 64 << 20, 100 << 20, 128 << 20, 141 << 20, 1 << 30} {
		o, err := badgerstore.OptionsForBudget(share)
		if err != nil {
			t.Fatalf("OptionsForBudget(%d): %v", share, err)
		}
		if err := o.Validate(); err != nil {
			t.Fatalf("OptionsForBudget(%d) gives invalid options: %v", share, err)
		}
		if got := o.BudgetedMemory(); got > share {
			t.Errorf("OptionsForBudget(%d).BudgetedMemory() = %d, over the share", share, got)
		}
		// The options use most of the share, not a fixed floor.
		if got := o.BudgetedMemory(); got < share*9/10 && share > badgerstore.MinStoreBudget {
			t.Errorf("OptionsForBudget(%d).BudgetedMemory() = %d, under 90%% of the share", share, got)
		}
		// What the budget leaves out is the compactions' buffers, nothing else.
		// compressed tables: 4 × BaseTableSize per builder, 8 + 6 builders per compactor.
		if got, want := o.PeakMemory()-o.BudgetedMemory(), int64(o.NumCompactors)*(8+6)*4*o.BaseTableSize; got != want {
			t.Errorf("OptionsForBudget(%d): PeakMemory - BudgetedMemory = %d, want the compactions' buffers %d", share, got, want)
		}
	}
	small, _ := badgerstore.OptionsForBudget(24 << 20)
	large, _ := badgerstore.OptionsForBudget(256 << 20)
	if small.MemoryBound() >= large.MemoryBound() || small.FilterBound() >= large.FilterBound() {
		t.Errorf("a smaller budget should give smaller buffers: %d vs %d", small.MemoryBound(), large.MemoryBound())
	}
}

func TestOptionsForBudgetRefusesTooSmall(t *testing.T) {
	_, err := badgerstore.OptionsForBudget(badgerstore.MinStoreBudget - 1)
	if !errors.Is(err, statestore.ErrInvalidOptions) {
		t.Fatalf("err = %v, want ErrInvalidOptions", err)
	}
	if !strings.Contains(err.Error(), "below the minimum") {
		t.Errorf("err = %q does not say the budget is below the minimum", err)
	}
}

// TestOptionsForBudgetSmallestStoreWorks: a store sized at MinStoreBudget opens and
// takes writes.
func TestOptionsForBudgetSmallestStoreWorks(t *testing.T) {
	o, err := badgerstore.OptionsForBudget(badgerstore.MinStoreBudget)
	if err != nil {
		t.Fatal(err)
	}
	if badgerstore.MinStoreBudget > 16<<20 {
		t.Errorf("MinStoreBudget = %d, want at most 16 MiB", badgerstore.MinStoreBudget)
	}
	s, err := badgerstore.OpenKeyValueStore(t.TempDir(), "small", o, statestore.KeyValueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20000 {
		k := []byte(fmt.Sprintf("key-%06d", i))
		if err := s.Put(k, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get([]byte("key-012345")); err != nil || string(v) != "key-012345" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOptionsForBudgetCompresses(t *testing.T) {
	o, err := badgerstore.OptionsForBudget(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if o.Compression != badgerstore.CompressionSnappy {
		t.Errorf("Compression = %v, want snappy", o.Compression)
	}
	var def badgerstore.Options
	def.EnsureDefaults()
	if def.Compression != badgerstore.CompressionNone {
		t.Errorf("default Compression = %v, want none", def.Compression)
	}
}

func TestParseCompression(t *testing.T) {
	for in, want := range map[string]badgerstore.Compression{"none": badgerstore.CompressionNone, "Snappy": badgerstore.CompressionSnappy, " zstd ": badgerstore.CompressionZSTD} {
		got, err := badgerstore.ParseCompression(in)
		if err != nil || got != want {
			t.Errorf("ParseCompression(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, err := badgerstore.ParseCompression(got.String()); err != nil || back != got {
			t.Errorf("ParseCompression(%q.String()) = %v, %v", got, back, err)
		}
	}
	if _, err := badgerstore.ParseCompression("lz4"); !errors.Is(err, statestore.ErrInvalidOptions) {
		t.Errorf("ParseCompression(lz4): err = %v, want ErrInvalidOptions", err)
	}
	o := badgerstore.Options{Compression: badgerstore.CompressionZSTD + 1}
	o.EnsureDefaults()
	if err := o.Validate(); !errors.Is(err, statestore.ErrInvalidOptions) {
		t.Errorf("Validate of an unknown compression: err = %v, want ErrInvalidOptions", err)
	}
}

// TestCompressedStoreReopens: every compression writes tables that a reopened store
// (with the same or another compression: Badger records it per table) reads back.
func TestCompressedStoreReopens(t *testing.T) {
	for _, c := range []badgerstore.Compression{badgerstore.CompressionNone, badgerstore.CompressionSnappy, badgerstore.CompressionZSTD} {
		t.Run(c.String(), func(t *testing.T) {
			dir := t.TempDir()
			o := testOptions()
			o.WriteBufferSize = 64 << 10
			o.BaseTableSize = 64 << 10
			o.Compression = c
			s := openKV(t, dir, "s", o)
			const n = 60000
			for i := range n {
				k := fmt.Appendf(nil, "user-%07d", i*7919%n)
				if err := s.Put(k, k[5:]); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			o.Compression = badgerstore.CompressionZSTD - c // another one, or none
			s = openKV(t, dir, "s", o)
			defer s.Close()
			for i := 0; i < n; i += 97 {
				k := fmt.Appendf(nil, "user-%07d", i)
				if v, err := s.Get(k); err != nil || string(v) != string(k[5:]) {
					t.Fatalf("Get(%s) = %q, %v", k, v, err)
				}
			}
		})
	}
}
