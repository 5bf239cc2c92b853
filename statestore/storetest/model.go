package storetest

import (
	"slices"
	"sort"
)

// modelQuery returns the entries of a window or session store's model that a read
// returns, in the store's documented order: the keys keyFrom..keyTo (nil: open), or
// the one key keyFrom when single, among those inTime accepts, sorted by less (then
// reversed when reverse).
func modelQuery[K comparable](model map[K]string, keyOf func(K) string, inTime func(K) bool, less func(a, b K) bool,
	entry func(k K, value string) Entry, keyFrom, keyTo []byte, single, reverse bool) []Entry {
	var ks []K
	for k := range model {
		if !inTime(k) {
			continue
		}
		key := keyOf(k)
		if single && key != string(keyFrom) {
			continue
		}
		if !single && ((keyFrom != nil && key < string(keyFrom)) || (keyTo != nil && key > string(keyTo))) {
			continue
		}
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return less(ks[i], ks[j]) })
	if reverse {
		slices.Reverse(ks)
	}
	out := []Entry{}
	for _, k := range ks {
		out = append(out, entry(k, model[k]))
	}
	return out
}
