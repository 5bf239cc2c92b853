package core

import (
	"strconv"
	"testing"
)

// TestKeySpansNeverMissAWrittenWindow: a span answers "miss" only for time ranges
// outside every start written for the key, and says nothing once disabled or full.
func TestKeySpansNeverMissAWrittenWindow(t *testing.T) {
	var k keySpans
	if k.misses([]byte("a"), 0, 10) {
		t.Fatal("a disabled index claimed a miss")
	}
	k.enable()
	k.add([]byte("a"), 100)
	k.add([]byte("a"), 200)
	for _, c := range []struct {
		key      string
		from, to int64
		miss     bool
	}{
		{"a", 0, 99, true}, {"a", 201, 300, true}, {"a", 0, 100, false}, {"a", 200, 250, false},
		{"a", 150, 160, false}, // inside the span: the store decides
		{"b", 0, 1000, true},
	} {
		if got := k.misses([]byte(c.key), c.from, c.to); got != c.miss {
			t.Errorf("misses(%s, %d, %d) = %v, want %v", c.key, c.from, c.to, got, c.miss)
		}
	}
	for i := range keySpanLimit {
		k.add([]byte("k"+strconv.Itoa(i)), int64(i))
	}
	if k.misses([]byte("never-written"), 0, 10) {
		t.Fatal("an index past its key limit still claimed a miss")
	}
}
