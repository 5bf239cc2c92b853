package streams

import "hash/maphash"

// stringTable turns the bytes of a record's string key or value into a
// string, giving back the string it made last time for the same bytes
// instead of a new one: the keys of a grouped stream repeat (words, user
// ids, product ids), so most records of a hot key cost no allocation. It
// is direct-mapped and bounded (a new string replaces whatever shared its
// slot), so keys that never repeat only cost a hash and a comparison, and
// it holds at most internSlots short strings. One table belongs to one
// source of one task, which only its stream thread uses.
type stringTable struct {
	seed  maphash.Seed
	slots []string // internSlots, made at the first use
}

const (
	internSlots = 1024 // a power of two
	// internMaxLen: longer strings (values, mostly) are copied as they are.
	internMaxLen = 64
)

func (t *stringTable) get(b []byte) string {
	if len(b) > internMaxLen || len(b) == 0 {
		return string(b)
	}
	if t.slots == nil {
		t.seed = maphash.MakeSeed()
		t.slots = make([]string, internSlots)
	}
	slot := &t.slots[maphash.Bytes(t.seed, b)&(internSlots-1)]
	if *slot == string(b) { // compares without allocating
		return *slot
	}
	s := string(b)
	*slot = s
	return s
}
