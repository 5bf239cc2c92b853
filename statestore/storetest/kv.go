package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
)

// RunKeyValue runs the key-value conformance tests and property tests against h.
func RunKeyValue(t *testing.T, h Harness) {
	open := opener(h.kv)
	b := func(s string) []byte { return []byte(s) }

	t.Run("GetPutDelete", func(t *testing.T) {
		s := open(t, statestore.KeyValueOptions{})
		v, err := s.Get(b("a"))
		if err != nil || v != nil {
			t.Fatalf("Get absent = %q, %v; want nil, nil", v, err)
		}
		mustNoErr(t, s.Put(b("a"), b("1")), "put")
		mustNoErr(t, s.Put(b("a"), b("2")), "overwrite")
		v, _ = s.Get(b("a"))
		if string(v) != "2" {
			t.Fatalf("Get = %q, want 2", v)
		}
		old, err := s.Delete(b("a"))
		if err != nil || string(old) != "2" {
			t.Fatalf("Delete = %q, %v; want old value 2", old, err)
		}
		old, err = s.Delete(b("a"))
		if err != nil || old != nil {
			t.Fatalf("Delete absent = %q, %v; want nil, nil", old, err)
		}
		mustNoErr(t, s.Put(b("a"), b("3")), "put")
		mustNoErr(t, s.Put(b("a"), nil), "put nil")
		if v, _ := s.Get(b("a")); v != nil {
			t.Fatalf("Put(nil) did not delete: %q", v)
		}
	})

	t.Run("EmptyKeyAndValue", func(t *testing.T) {
		s := open(t, statestore.KeyValueOptions{})
		mustNoErr(t, s.Put([]byte{}, b("empty key")), "put empty key")
		mustNoErr(t, s.Put(b("k"), []byte{}), "put empty value")
		if v, _ := s.Get([]byte{}); string(v) != "empty key" {
			t.Fatalf("Get(empty key) = %q", v)
		}
		v, err := s.Get(b("k"))
		if err != nil || v == nil || len(v) != 0 {
			t.Fatalf("Get of an empty value = %#v, %v; want a non-nil empty slice", v, err)
		}
		got := drainKV(t)(s.All())
		if len(got) != 2 || len(got[0].Key) != 0 || got[1].Value == nil {
			t.Fatalf("All = %q", got)
		}
	})

	t.Run("NilKey", func(t *testing.T) {
		s := open(t, statestore.KeyValueOptions{})
		checks := map[string]error{}
		_, checks["Get"] = s.Get(nil)
		checks["Put"] = s.Put(nil, b("v"))
		_, checks["PutIfAbsent"] = s.PutIfAbsent(nil, b("v"))
		_, checks["Delete"] = s.Delete(nil)
		checks["PutAll"] = s.PutAll([]statestore.KeyValue{{Key: b("ok"), Value: b("v")}, {Key: nil, Value: b("v")}})
		for op, err := range checks {
			if !errors.Is(err, statestore.ErrNilKey) {
				t.Errorf("%s(nil key) = %v, want ErrNilKey", op, err)
			}
		}
		if v, _ := s.Get(b("ok")); v != nil {
			t.Errorf("a PutAll with a nil key applied part of its batch")
		}
	})

	t.Run("PutIfAbsent", func(t *testing.T) {
		s := open(t, statestore.KeyValueOptions{})
		old, err := s.PutIfAbsent(b("k"), b("1"))
		if err != nil || old != nil {
			t.Fatalf("PutIfAbsent on absent = %q, %v", old, err)
		}
		old, err = s.PutIfAbsent(b("k"), b("2"))
		if err != nil || string(old) != "1" {
			t.Fatalf("PutIfAbsent on present = %q, %v; want 1", old, err)
		}
		if v, _ := s.Get(b("k")); string(v) != "1" {
			t.Fatalf("PutIfAbsent overwrote: %q", v)
		}
	})

	t.Run("PutAllInOrder", func(t *testing.T) {
		s := open(t, statestore.KeyValueOptions{})
		mustNoErr(t, s.PutAll([]statestore.KeyValue{
			{Key: b("a"), Value: b("1")}, {Key: b("b"), Value: b("1")},
			{Key: b("a"), Value: nil}, {Key: b("b"), Value: b("2")}, {Key: b("c"), Value: b("3")},
		}), "put all")
		got := drainKV(t)(s.All())
		want := []statestore.KeyValue{{Key: b("b"), Value: b("2")}, {Key: b("c"), Value: b("3")}}
		if !kvEqual(got, want) {
			t.Fatalf("after PutAll: %q, want %q", got, want)
		}
	})

	t.Run("CopiesArguments", func(t *testing.T) {
		s := open(t, statestore.KeyValueOptions{})
		k, v := b("key"), b("value")
		mustNoErr(t, s.Put(k, v), "put")
		k[0], v[0] = 'X', 'X'
		got, _ := s.Get(b("key"))
		if string(got) != "value" {
			t.Fatalf("store kept the caller's buffer: %q", got)
		}
		mustNoErr(t, s.Put(b("key"), b("other")), "overwrite")
		if string(got) != "value" {
			t.Fatalf("a value returned by Get changed after an overwrite: %q", got)
		}
	})

	t.Run("RangeBoundsAndOrder", func(t *testing.T) {
		s := open(t, statestore.KeyValueOptions{})
		keys := []string{"", "a", "a\x00", "a\xff", "ab", "b", "b\x00\x00", "ba", "c", "\xff", "\xff\xff"}
		for _, k := range keys {
			mustNoErr(t, s.Put(b(k), b("v"+k)), "put")
		}
		sorted := slices.Clone(keys)
		sort.Strings(sorted)
		cases := []struct {
			from, to []byte
		}{
			{nil, nil}, {b("a"), b("b")}, {b("a\x00"), b("ab")}, {nil, b("a")}, {b("b"), nil},
			{b("b"), b("a")}, {b("zz"), nil}, {[]byte{}, []byte{}}, {b("a"), b("a")}, {b("\xff"), b("\xff\xff\xff")},
		}
		for _, c := range cases {
			var want []string
			for _, k := range sorted {
				if (c.from == nil || k >= string(c.from)) && (c.to == nil || k <= string(c.to)) {
					want = append(want, k)
				}
			}
			got := keysOf(drainKV(t)(s.Range(c.from, c.to)))
			if !slices.Equal(got, want) {
				t.Errorf("Range(%q, %q) = %q, want %q", c.from, c.to, got, want)
			}
			rev := keysOf(drainKV(t)(s.ReverseRange(c.from, c.to)))
			slices.Reverse(want)
			if !slices.Equal(rev, want) {
				t.Errorf("ReverseRange(%q, %q) = %q, want %q", c.from, c.to, rev, want)
			}
		}
		for _, p := range []string{"", "a", "b", "\xff", "\xff\xff", "zz"} {
			var want []string
			for _, k := range sorted {
				if bytes.HasPrefix([]byte(k), []byte(p)) {
					want = append(want, k)
				}
			}
			got := keysOf(drainKV(t)(s.PrefixScan(b(p))))
			if !slices.Equal(got, want) {
				t.Errorf("PrefixScan(%q) = %q, want %q", p, got, want)
			}
		}
		if got := keysOf(drainKV(t)(s.All())); !slices.Equal(got, sorted) {
			t.Errorf("All = %q, want %q", got, sorted)
		}
		rev := slices.Clone(sorted)
		slices.Reverse(rev)
		if got := keysOf(drainKV(t)(s.ReverseAll())); !slices.Equal(got, rev) {
			t.Errorf("ReverseAll = %q, want %q", got, rev)
		}
	})

	t.Run("SnapshotIterators", func(t *testing.T) {
		s := open(t, statestore.KeyValueOptions{})
		for i := range 100 {
			mustNoErr(t, s.Put(fmt.Appendf(nil, "k%03d", i), b("old")), "put")
		}
		it, err := s.All()
		mustNoErr(t, err, "all")
		n := 0
		for it.Next() {
			if n == 10 {
				// Writes during iteration: none may show, none may disturb the walk.
				for i := range 100 {
					mustNoErr(t, s.Put(fmt.Appendf(nil, "k%03d", i), b("new")), "put")
					mustNoErr(t, s.Put(fmt.Appendf(nil, "k%03d-extra", i), b("new")), "put")
				}
				_, err := s.Delete(b("k050"))
				mustNoErr(t, err, "delete")
				mustNoErr(t, s.Flush(), "flush")
			}
			if string(it.Value()) != "old" {
				t.Fatalf("iterator saw a later write at %q: %q", it.Key(), it.Value())
			}
			n++
		}
		mustNoErr(t, it.Close(), "close")
		if n != 100 {
			t.Fatalf("iterator returned %d entries, want 100", n)
		}
	})

	t.Run("ApproximateNumEntries", func(t *testing.T) {
		s := open(t, statestore.KeyValueOptions{})
		for i := range 500 {
			mustNoErr(t, s.Put(fmt.Appendf(nil, "k%d", i), b("v")), "put")
		}
		mustNoErr(t, s.Flush(), "flush")
		for i := range 100 {
			mustNoErr(t, s.Put(fmt.Appendf(nil, "k%d", i), b("w")), "overwrite")
		}
		n, err := s.ApproximateNumEntries()
		mustNoErr(t, err, "count")
		if n < 250 || n > 1000 {
			t.Fatalf("ApproximateNumEntries = %d for 500 keys", n)
		}
	})

	t.Run("ChangeLogger", func(t *testing.T) {
		var log []statestore.KeyValue
		s := open(t, statestore.KeyValueOptions{ChangeLogger: func(k, v []byte) error {
			log = append(log, statestore.KeyValue{Key: clone(k), Value: clone(v)})
			return nil
		}})
		mustNoErr(t, s.Put(b("a"), b("1")), "put")
		_, _ = s.PutIfAbsent(b("a"), b("2")) // not written, not logged
		_, _ = s.PutIfAbsent(b("b"), b("2"))
		_, _ = s.Delete(b("a"))
		mustNoErr(t, s.PutAll([]statestore.KeyValue{{Key: b("c"), Value: b("3")}, {Key: b("b")}}), "put all")
		want := []statestore.KeyValue{{Key: b("a"), Value: b("1")}, {Key: b("b"), Value: b("2")}, {Key: b("a")}, {Key: b("c"), Value: b("3")}, {Key: b("b")}}
		if h.Caching {
			// Folded on flush, in the order of each key's last update.
			mustNoErr(t, s.Flush(), "flush")
			want = []statestore.KeyValue{{Key: b("a")}, {Key: b("c"), Value: b("3")}, {Key: b("b")}}
		}
		rs := s.(statestore.Restorable)
		mustNoErr(t, rs.RestoreBatch([]statestore.KeyValue{{Key: b("r"), Value: b("restored")}}), "restore")
		if !kvEqual(log, want) {
			t.Fatalf("logged %q, want %q", log, want)
		}
		boom := errors.New("boom")
		s2 := open(t, statestore.KeyValueOptions{ChangeLogger: func(k, v []byte) error { return boom }})
		err := s2.Put(b("a"), b("1"))
		if h.Caching {
			err = s2.Flush()
		}
		if !errors.Is(err, boom) {
			t.Fatalf("Put with a failing logger = %v, want it wrapped", err)
		}
	})

	t.Run("Restore", func(t *testing.T) {
		s := open(t, statestore.KeyValueOptions{})
		mustNoErr(t, s.Put(b("stale"), b("x")), "put")
		r := statestore.NewRestorer(s.(statestore.Restorable), statestore.RestoreOptions{EndOffset: 4})
		mustNoErr(t, r.Apply([]statestore.ChangelogRecord{
			{Key: b("a"), Value: b("1"), Offset: 0}, {Key: b("b"), Value: b("2"), Offset: 1},
		}), "apply")
		mustNoErr(t, r.Apply([]statestore.ChangelogRecord{{Key: b("a"), Offset: 2}, {Key: b("stale"), Offset: 3}}), "apply")
		p, err := r.Finish()
		mustNoErr(t, err, "finish")
		if p.Restored != 4 || p.Offset != 3 || p.Remaining() != 0 || !p.Done {
			t.Fatalf("progress = %+v", p)
		}
		got := drainKV(t)(s.All())
		if !kvEqual(got, []statestore.KeyValue{{Key: b("b"), Value: b("2")}}) {
			t.Fatalf("after restore: %q", got)
		}
	})

	t.Run("Closed", func(t *testing.T) {
		s := h.kv(t, t.TempDir(), statestore.KeyValueOptions{})
		mustNoErr(t, s.Put(b("a"), b("1")), "put")
		mustNoErr(t, s.Put(b("b"), b("1")), "put")
		it, err := s.All()
		mustNoErr(t, err, "all")
		if !it.Next() {
			t.Fatal("iterator empty")
		}
		mustNoErr(t, s.Close(), "close")
		if it.Next() {
			t.Fatal("iterator went on after Close")
		}
		if !errors.Is(it.Err(), statestore.ErrClosed) {
			t.Fatalf("iterator Err after Close = %v, want ErrClosed", it.Err())
		}
		mustNoErr(t, it.Close(), "closing an iterator ended by Close")
		checks := map[string]error{"Close": s.Close(), "Put": s.Put(b("a"), b("1")), "Flush": s.Flush()}
		_, checks["Get"] = s.Get(b("a"))
		_, checks["Range"] = s.Range(nil, nil)
		_, checks["Count"] = s.ApproximateNumEntries()
		for op, err := range checks {
			if !errors.Is(err, statestore.ErrClosed) {
				t.Errorf("%s after Close = %v, want ErrClosed", op, err)
			}
		}
	})

	if h.Persistent {
		t.Run("Reopen", func(t *testing.T) {
			dir := t.TempDir()
			s := h.kv(t, dir, statestore.KeyValueOptions{})
			mustNoErr(t, s.Put(b("a"), b("1")), "put")
			mustNoErr(t, s.Put(b("b"), b("2")), "put")
			_, err := s.Delete(b("a"))
			mustNoErr(t, err, "delete")
			mustNoErr(t, s.Close(), "close")
			s = h.kv(t, dir, statestore.KeyValueOptions{})
			defer s.Close()
			got := drainKV(t)(s.All())
			if !kvEqual(got, []statestore.KeyValue{{Key: b("b"), Value: b("2")}}) {
				t.Fatalf("after reopen: %q", got)
			}
		})
	}

	t.Run("ConcurrentReadersAndClose", func(t *testing.T) { runConcurrentKV(t, h) })

	t.Run("Properties", func(t *testing.T) {
		runSeeds(t, h, "", func(t *testing.T, seed uint64) { kvProperty(t, h, seed) })
	})
}

func keysOf(kvs []statestore.KeyValue) []string {
	out := make([]string, len(kvs))
	for i, kv := range kvs {
		out[i] = string(kv.Key)
	}
	return out
}

func kvEqual(a, b []statestore.KeyValue) bool {
	return slices.EqualFunc(a, b, func(x, y statestore.KeyValue) bool {
		return bytes.Equal(x.Key, y.Key) && bytes.Equal(x.Value, y.Value) && (x.Value == nil) == (y.Value == nil)
	})
}

// randKey draws keys from a small space full of prefix relations and zero and 0xff bytes.
func randKey(r *rand.Rand) []byte {
	alphabet := []byte{0x00, 'a', 'b', 0xff}
	n := r.IntN(4)
	k := make([]byte, n)
	for i := range k {
		k[i] = alphabet[r.IntN(len(alphabet))]
	}
	return k
}

func randBound(r *rand.Rand) []byte {
	if r.IntN(5) == 0 {
		return nil
	}
	return randKey(r)
}

func kvProperty(t *testing.T, h Harness, seed uint64) {
	p := newPropertyRun(t, h, seed, 0x9e3779b97f4a7c15, statestore.KeyValueOptions{}, h.kv)
	r, fail := p.r, p.fail
	model := map[string][]byte{}
	sortedRange := func(from, to []byte, reverse bool) []statestore.KeyValue {
		var out []statestore.KeyValue
		for k, v := range model {
			if (from == nil || k >= string(from)) && (to == nil || k <= string(to)) {
				out = append(out, statestore.KeyValue{Key: []byte(k), Value: v})
			}
		}
		sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].Key, out[j].Key) < 0 })
		if reverse {
			slices.Reverse(out)
		}
		return out
	}
	for step := range h.ops() {
		s := p.s
		switch op := r.IntN(100); {
		case op < 35:
			k := randKey(r)
			v := fmt.Appendf(nil, "v%d", step)
			if r.IntN(8) == 0 {
				v = nil
			}
			if err := s.Put(k, v); err != nil {
				fail(step, "Put: %v", err)
			}
			if v == nil {
				delete(model, string(k))
			} else {
				model[string(k)] = v
			}
		case op < 42:
			k, v := randKey(r), fmt.Appendf(nil, "pia%d", step)
			old, err := s.PutIfAbsent(k, v)
			if err != nil {
				fail(step, "PutIfAbsent: %v", err)
			}
			if want, ok := model[string(k)]; !bytes.Equal(old, want) || (old == nil) == ok {
				fail(step, "PutIfAbsent(%q) old = %q, want %q", k, old, want)
			}
			if _, ok := model[string(k)]; !ok {
				model[string(k)] = v
			}
		case op < 50:
			k := randKey(r)
			old, err := s.Delete(k)
			if err != nil {
				fail(step, "Delete: %v", err)
			}
			if want := model[string(k)]; !bytes.Equal(old, want) || (old == nil) != (want == nil) {
				fail(step, "Delete(%q) old = %q, want %q", k, old, want)
			}
			delete(model, string(k))
		case op < 55:
			batch := make([]statestore.KeyValue, r.IntN(6))
			for i := range batch {
				batch[i].Key = randKey(r)
				if r.IntN(4) > 0 {
					batch[i].Value = fmt.Appendf(nil, "b%d.%d", step, i)
				}
			}
			if err := s.PutAll(batch); err != nil {
				fail(step, "PutAll: %v", err)
			}
			for _, e := range batch {
				if e.Value == nil {
					delete(model, string(e.Key))
				} else {
					model[string(e.Key)] = e.Value
				}
			}
		case op < 70:
			k := randKey(r)
			v, err := s.Get(k)
			if err != nil {
				fail(step, "Get: %v", err)
			}
			if want, ok := model[string(k)]; !bytes.Equal(v, want) || (v != nil) != ok {
				fail(step, "Get(%q) = %q, want %q", k, v, want)
			}
		case op < 85:
			from, to := randBound(r), randBound(r)
			reverse := r.IntN(2) == 0
			var got []statestore.KeyValue
			if reverse {
				got = drainKV(t)(s.ReverseRange(from, to))
			} else {
				got = drainKV(t)(s.Range(from, to))
			}
			if want := sortedRange(from, to, reverse); !kvEqual(got, want) {
				fail(step, "Range(%q, %q, reverse=%v) = %q, want %q", from, to, reverse, got, want)
			}
		case op < 90:
			p := randKey(r)
			got := drainKV(t)(s.PrefixScan(p))
			var want []statestore.KeyValue
			for _, kv := range sortedRange(nil, nil, false) {
				if bytes.HasPrefix(kv.Key, p) {
					want = append(want, kv)
				}
			}
			if !kvEqual(got, want) {
				fail(step, "PrefixScan(%q) = %q, want %q", p, got, want)
			}
		case op < 95:
			p.flush(step)
		default:
			p.reopen(step)
		}
	}
	if got, want := drainKV(t)(p.s.All()), sortedRange(nil, nil, false); !kvEqual(got, want) {
		t.Fatalf("seed %d: final All = %q, want %q", seed, got, want)
	}
}
