package streams

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/memstore"
)

func collect(t *testing.T, it statestore.KeyValueIterator, err error) []string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for it.Next() {
		out = append(out, string(it.Key())+"="+string(it.Value()))
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStagedKVMatchesPlainStore runs one seeded random sequence of writes,
// deletes and commits against a staged store and a plain one: every read
// (gets, ranges both ways, prefix scans) must agree, and after each commit
// the staged store's base must hold exactly what the plain store holds.
func TestStagedKVMatchesPlainStore(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 1))
	base := memstore.NewKeyValueStore("s", statestore.KeyValueOptions{})
	staged := &stagedKV{base: base, pending: map[string][]byte{}}
	plain := memstore.NewKeyValueStore("p", statestore.KeyValueOptions{})
	committed := memstore.NewKeyValueStore("c", statestore.KeyValueOptions{}) // what base must hold
	key := func() []byte { return []byte(fmt.Sprintf("k%02d", r.IntN(40))) }
	// sameAnswer calls op on both stores with k: both must succeed and
	// return the same value.
	sameAnswer := func(step int, name string, k []byte, op func(statestore.KeyValueStore, []byte) ([]byte, error)) {
		t.Helper()
		a, err1 := op(staged, k)
		b, err2 := op(plain, k)
		mustOK(t, err1)
		mustOK(t, err2)
		if !bytes.Equal(a, b) {
			t.Fatalf("seed %d step %d: %s %s = %q, plain %q", seed, step, name, k, a, b)
		}
	}
	for step := 0; step < 3000; step++ {
		switch op := r.IntN(10); {
		case op < 4:
			k, v := key(), []byte(fmt.Sprint(step))
			mustOK(t, staged.Put(k, v))
			mustOK(t, plain.Put(k, v))
		case op < 6:
			sameAnswer(step, "delete", key(), statestore.KeyValueStore.Delete)
		case op < 7:
			mustOK(t, staged.apply())
			it, err := plain.All()
			mustOK(t, err)
			var all []statestore.KeyValue
			for it.Next() {
				all = append(all, statestore.KeyValue{Key: bytes.Clone(it.Key()), Value: bytes.Clone(it.Value())})
			}
			mustOK(t, it.Close())
			committed = memstore.NewKeyValueStore("c", statestore.KeyValueOptions{})
			mustOK(t, committed.PutAll(all))
		default:
			sameAnswer(step, "get", key(), statestore.KeyValueStore.Get)
		}
		if step%50 != 0 {
			continue
		}
		from, to := key(), key()
		p := []byte(fmt.Sprintf("k%d", r.IntN(4)))
		checks := []struct {
			name string
			a, b func() (statestore.KeyValueIterator, error)
		}{
			{"all", staged.All, plain.All},
			{"reverse all", staged.ReverseAll, plain.ReverseAll},
			{"range", func() (statestore.KeyValueIterator, error) { return staged.Range(from, to) }, func() (statestore.KeyValueIterator, error) { return plain.Range(from, to) }},
			{"reverse range", func() (statestore.KeyValueIterator, error) { return staged.ReverseRange(from, to) }, func() (statestore.KeyValueIterator, error) { return plain.ReverseRange(from, to) }},
			{"prefix", func() (statestore.KeyValueIterator, error) { return staged.PrefixScan(p) }, func() (statestore.KeyValueIterator, error) { return plain.PrefixScan(p) }},
			{"base", base.All, committed.All},
		}
		for _, c := range checks {
			ga, err := c.a()
			a := collect(t, ga, err)
			gb, err := c.b()
			b := collect(t, gb, err)
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Fatalf("seed %d step %d: %s:\n staged %v\n plain  %v", seed, step, c.name, a, b)
			}
		}
		n1, err := staged.ApproximateNumEntries()
		mustOK(t, err)
		n2, err := plain.ApproximateNumEntries()
		mustOK(t, err)
		if n1 != n2 {
			t.Fatalf("seed %d step %d: %d entries, plain %d", seed, step, n1, n2)
		}
	}
}

// TestStagedKVDropsUncommittedWrites: writes never applied never reach the
// base store, and a restore into a store with staged writes is refused.
func TestStagedKVDropsUncommittedWrites(t *testing.T) {
	base := memstore.NewKeyValueStore("s", statestore.KeyValueOptions{})
	mustOK(t, base.Put([]byte("a"), []byte("1")))
	s := &stagedKV{base: base, pending: map[string][]byte{}}
	mustOK(t, s.Put([]byte("a"), []byte("2")))
	mustOK(t, s.Put([]byte("b"), []byte("3")))
	if v, _ := base.Get([]byte("a")); string(v) != "1" {
		t.Fatalf("base holds %q before the commit", v)
	}
	if err := s.RestoreBatch([]statestore.KeyValue{{Key: []byte("c"), Value: []byte("x")}}); err == nil {
		t.Fatal("restore into a store with staged writes was accepted")
	}
	mustOK(t, s.apply())
	if v, _ := base.Get([]byte("a")); string(v) != "2" {
		t.Fatalf("base holds %q after the commit, want 2", v)
	}
	mustOK(t, s.Put([]byte("a"), []byte("9")))
	mustOK(t, s.Close())
	if _, err := base.Get([]byte("a")); err == nil {
		t.Fatal("base still open after Close")
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzLoadProcessID: whatever a state directory's process id file holds,
// loading gives an id (the stored one when the file is valid, else a new
// one written back), never an error or a panic.
func FuzzLoadProcessID(f *testing.F) {
	f.Add([]byte("00112233445566778899aabbccddeeff\n"))
	f.Add([]byte(""))
	f.Add([]byte("zz"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		mustOK(t, os.WriteFile(filepath.Join(dir, processIDFile), data, 0o644))
		id, err := loadProcessID(dir)
		mustOK(t, err)
		if raw, err := hex.DecodeString(strings.TrimSpace(string(data))); err == nil && len(raw) == processIDLen && !bytes.Equal(raw, id[:]) {
			t.Fatalf("valid id %x loaded as %x", raw, id)
		}
		again, err := loadProcessID(dir)
		mustOK(t, err)
		if again != id {
			t.Fatalf("second load %x, first %x", again, id)
		}
	})
}
