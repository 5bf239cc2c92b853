package core

import "sync"

// keySpanLimit is how many keys a window store's key span index holds before it gives up
// (about 80 bytes each with a short key): past it, reads go to the engine as before.
const keySpanLimit = 1 << 17

// keySpans remembers, per key, the smallest and largest window start a window store has
// written, so a single-key fetch whose time range misses that span returns nothing
// without opening an engine iterator. It is the read of a stream-stream join: each record
// looks for the other side's records of its key within a short window, and most keys
// have none there. Kept only while complete: from a store that opened empty, through
// every write and restore, up to keySpanLimit keys. Entries are never removed (expired
// or deleted windows keep their key's span), so a span may be wider than the store's
// contents, never narrower.
type keySpans struct {
	mu    sync.Mutex
	on    bool
	spans map[string][2]int64
}

func (k *keySpans) enable() {
	k.on = true
	k.spans = make(map[string][2]int64)
}

// add widens key's span to ts. Call with the store's writers' lock held.
func (k *keySpans) add(key []byte, ts int64) {
	if !k.on {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if sp, ok := k.spans[string(key)]; ok {
		if ts < sp[0] || ts > sp[1] {
			k.spans[string(key)] = [2]int64{min(sp[0], ts), max(sp[1], ts)}
		}
		return
	}
	if len(k.spans) >= keySpanLimit {
		k.on = false
		k.spans = nil
		return
	}
	k.spans[string(key)] = [2]int64{ts, ts}
}

// misses reports whether the store surely holds no window of key starting in [from, to].
func (k *keySpans) misses(key []byte, from, to int64) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.on {
		return false
	}
	sp, ok := k.spans[string(key)]
	return !ok || sp[1] < from || sp[0] > to
}
