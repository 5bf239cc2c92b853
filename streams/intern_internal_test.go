package streams

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestStringTable: the table gives strings equal to their bytes, the same
// string again for the same bytes, and copies long or empty ones.
func TestStringTable(t *testing.T) {
	var tab stringTable
	b := []byte("word")
	s1 := tab.get(b)
	b[0] = 'c' // the string must not share the caller's bytes
	if s1 != "word" {
		t.Fatalf("got %q", s1)
	}
	s2 := tab.get([]byte("word"))
	if s2 != "word" || unsafeData(s1) != unsafeData(s2) {
		t.Fatalf("second get: %q, shared %v", s2, unsafeData(s1) == unsafeData(s2))
	}
	if got := tab.get([]byte("cord")); got != "cord" {
		t.Fatalf("got %q", got)
	}
	long := make([]byte, internMaxLen+1)
	for i := range long {
		long[i] = 'x'
	}
	if got := tab.get(long); got != string(long) {
		t.Fatal("long string changed")
	}
	if got := tab.get(nil); got != "" {
		t.Fatalf("empty: %q", got)
	}
	for i := range 10 * internSlots { // every slot replaced many times
		k := "k" + strconv.Itoa(i)
		if got := tab.get([]byte(k)); got != k {
			t.Fatalf("got %q, want %q", got, k)
		}
	}
}

func unsafeData(s string) *byte {
	if len(s) == 0 {
		return nil
	}
	return &[]byte(s[:1])[0]
}

// BenchmarkStringTable compares the table with a plain conversion on
// Zipf-distributed words (s=1.1 over 50,000, as the word count's text) and
// on keys that never repeat.
func BenchmarkStringTable(b *testing.B) {
	zipf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, 49999)
	words := make([][]byte, 1<<16)
	for i := range words {
		words[i] = []byte("w" + strconv.FormatUint(zipf.Uint64()*7919%1000003, 36))
	}
	distinct := make([][]byte, 1<<16)
	for i := range distinct {
		distinct[i] = []byte("user-" + strconv.Itoa(1_000_000+i))
	}
	var sink string
	for _, in := range []struct {
		name string
		keys [][]byte
	}{{"zipf", words}, {"distinct", distinct}} {
		b.Run(in.name+"/string", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				sink = string(in.keys[i&(1<<16-1)])
			}
		})
		b.Run(in.name+"/table", func(b *testing.B) {
			b.ReportAllocs()
			var tab stringTable
			for i := 0; b.Loop(); i++ {
				sink = tab.get(in.keys[i&(1<<16-1)])
			}
		})
	}
	_ = sink
}

// FuzzStringTable: whatever the bytes and their order, the table gives a
// string equal to them, never sharing the caller's slice.
func FuzzStringTable(f *testing.F) {
	f.Add([]byte("word"), []byte("word"))
	f.Add([]byte(""), []byte("x"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var tab stringTable
		for _, in := range [][]byte{a, b, a, b} {
			want := string(in)
			got := tab.get(in)
			for i := range in {
				in[i]++ // later changes to the bytes must not show in the string
			}
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
			for i := range in {
				in[i]--
			}
		}
	})
}
