package streams

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/memstore"
)

// TestMergedIteratorMatchesModel checks the store-plus-cache iterator
// against a plain map: random store contents, random pending cache writes
// and deletes, random bounds, both directions. The seed is printed on
// failure.
func TestMergedIteratorMatchesModel(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 1))
	key := func() []byte { return []byte(fmt.Sprintf("k%02d", r.IntN(30))) }
	for iter := 0; iter < 300; iter++ {
		store := memstore.NewKeyValueStore("s", statestore.KeyValueOptions{})
		model := map[string]string{}
		for i := 0; i < r.IntN(20); i++ {
			k, v := key(), fmt.Sprint(r.IntN(100))
			if err := store.Put(k, []byte(v)); err != nil {
				t.Fatal(err)
			}
			model[string(k)] = v
		}
		cache := map[string][]byte{}
		for i := 0; i < r.IntN(20); i++ {
			k := key()
			if r.IntN(3) == 0 {
				cache[string(k)] = nil
				delete(model, string(k))
			} else {
				v := fmt.Sprint(100 + r.IntN(100))
				cache[string(k)] = []byte(v)
				model[string(k)] = v
			}
		}
		var lo, hi []byte
		if r.IntN(2) == 0 {
			lo = key()
		}
		if r.IntN(2) == 0 {
			hi = key()
		}
		reverse := r.IntN(2) == 0
		var entries []statestore.KeyValue
		for k, v := range cache {
			kb := []byte(k)
			if lo != nil && bytes.Compare(kb, lo) < 0 || hi != nil && bytes.Compare(kb, hi) > 0 {
				continue
			}
			entries = append(entries, statestore.KeyValue{Key: kb, Value: v})
		}
		sort.Slice(entries, func(i, j int) bool {
			c := bytes.Compare(entries[i].Key, entries[j].Key)
			if reverse {
				return c > 0
			}
			return c < 0
		})
		var it statestore.KeyValueIterator
		var err error
		if reverse {
			it, err = store.ReverseRange(lo, hi)
		} else {
			it, err = store.Range(lo, hi)
		}
		if err != nil {
			t.Fatal(err)
		}
		m := newMergedIterator(it, entries, reverse)
		var got []string
		for m.Next() {
			got = append(got, string(m.Key())+"="+string(m.Value()))
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		var want []string
		for k, v := range model {
			if lo != nil && k < string(lo) || hi != nil && k > string(hi) {
				continue
			}
			want = append(want, k+"="+v)
		}
		sort.Strings(want)
		if reverse {
			for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
				want[i], want[j] = want[j], want[i]
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seed %d iter %d (lo %q hi %q reverse %v):\n got %v\nwant %v", seed, iter, lo, hi, reverse, got, want)
		}
		store.Close()
	}
}

// TestKeyValueStoreAPI exercises the typed store of the Processor API and
// the table store with its cache, through a task.
func TestKeyValueStoreAPI(t *testing.T) {
	ss := StringSerde()
	b := NewBuilder()
	AddStateStore(b, NewKeyValueStoreBuilder("kv", ss, Int64Serde()))
	in := NewStream(b, "in", ConsumedWith(ss, ss))
	in.GroupByKey().Count(MaterializedAs[string, int64]("counts"))
	Process(in, ProcessorFunc(func(ctx ProcessorContext[string, string], r Record[string, string]) error {
		kv, err := GetKeyValueStore[string, int64](ctx, "kv")
		if err != nil {
			return err
		}
		switch r.Value {
		case "fill":
			for i, k := range []string{"a", "b", "c", "d"} {
				if err := kv.Put(k, int64(i)); err != nil {
					return err
				}
			}
			if old, had, err := kv.PutIfAbsent("a", 99); err != nil || !had || old != 0 {
				return fmt.Errorf("PutIfAbsent existing: %d %v %v", old, had, err)
			}
			if _, had, err := kv.PutIfAbsent("e", 4); err != nil || had {
				return fmt.Errorf("PutIfAbsent new: %v %v", had, err)
			}
			if err := kv.PutAll([]KeyValue[string, int64]{KV("f", int64(5))}); err != nil {
				return err
			}
			if old, had, err := kv.Delete("b"); err != nil || !had || old != 1 {
				return fmt.Errorf("Delete: %d %v %v", old, had, err)
			}
			if _, had, err := kv.Delete("zz"); err != nil || had {
				return fmt.Errorf("Delete absent: %v %v", had, err)
			}
			collect := func(it KeyValueIterator[string, int64], err error) string {
				if err != nil {
					return err.Error()
				}
				defer it.Close()
				var s string
				for it.Next() {
					s += fmt.Sprintf("%s%d ", it.Key(), it.Value())
				}
				return s
			}
			for name, got := range map[string]string{
				"range":   collect(kv.Range("a", "d")),
				"reverse": collect(kv.ReverseRange("a", "d")),
				"prefix":  collect(kv.PrefixScan("c")),
				"all":     collect(kv.All()),
				"rall":    collect(kv.ReverseAll()),
			} {
				want := map[string]string{
					"range": "a0 c2 d3 ", "reverse": "d3 c2 a0 ", "prefix": "c2 ",
					"all": "a0 c2 d3 e4 f5 ", "rall": "f5 e4 d3 c2 a0 ",
				}[name]
				if got != want {
					return fmt.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			if n, err := kv.ApproximateNumEntries(); err != nil || n != 5 {
				return fmt.Errorf("entries %d %v", n, err)
			}
		}
		return nil
	}), WithStores{"kv"})
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	col := &recordingCollector{}
	task, err := newStreamTask(topo, TaskID{}, []TopicPartition{{Topic: "in"}}, taskConfig{
		ApplicationID: "app", Collector: col, Stores: inMemoryStores(), Cache: statestore.NewRecordCache(1 << 20),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close(false)
	if err := task.Initialize(0); err != nil {
		t.Fatal(err)
	}
	if err := task.AddRecords(TopicPartition{Topic: "in"}, []RawRecord{
		{Topic: "in", Offset: 0, Key: []byte("x"), Value: []byte("fill")},
		{Topic: "in", Offset: 1, Key: []byte("y"), Value: []byte("v")},
		{Topic: "in", Offset: 2, Key: []byte("x"), Value: []byte("v")},
	}); err != nil {
		t.Fatal(err)
	}
	drain(t, task, 0)
	// Before the flush, the counts are in the cache: the table store reads
	// and iterates through it.
	st, _ := task.Store("counts")
	counts, err := GetKeyValueStore[string, int64](storeProviderFunc(func(string) (StateStore, error) { return st, nil }), "counts")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := counts.Get("x"); !ok || v != 2 {
		t.Errorf("cached count of x = %d %v", v, ok)
	}
	it, err := counts.All()
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for it.Next() {
		all = append(all, fmt.Sprintf("%s=%d", it.Key(), it.Value()))
	}
	it.Close()
	if fmt.Sprint(all) != "[x=2 y=1]" {
		t.Errorf("iteration through the cache: %v", all)
	}
	changelogBefore := col.count("app-counts-changelog")
	if err := task.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := col.count("app-counts-changelog") - changelogBefore; n != 2 {
		t.Errorf("flush wrote %d changelog records, want 2 (one per key: updates folded)", n)
	}
	if n := col.count("app-kv-changelog"); n != 7 {
		t.Errorf("kv changelog records %d, want 7 (6 writes and a delete)", n)
	}
	if got := task.CommitOffsets()[TopicPartition{Topic: "in"}]; got != 3 {
		t.Errorf("commit offset %d", got)
	}
}

type storeProviderFunc func(string) (StateStore, error)

func (f storeProviderFunc) StateStore(n string) (StateStore, error) { return f(n) }

type recordingCollector struct{ recs []ProducerRecord }

func (c *recordingCollector) Send(r ProducerRecord) error          { c.recs = append(c.recs, r); return nil }
func (c *recordingCollector) PartitionCount(string) (int32, error) { return 1, nil }
func (c *recordingCollector) count(topic string) int {
	n := 0
	for _, r := range c.recs {
		if r.Topic == topic {
			n++
		}
	}
	return n
}
