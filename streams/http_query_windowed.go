package streams

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/rivulet-io/rivulet/streams/httpjson"
)

// The HTTP endpoint's queries of window, session and versioned key-value
// stores (http_query.go has the paths, the key-value stores and the
// forwarding): each typed store adapts itself to jsonQuerier, so the
// handlers stay free of the user's types.

// queryKind is how the endpoint reads a store.
type queryKind uint8

const (
	kindKeyValue queryKind = iota + 1
	kindVersioned
	kindWindow
	kindSession
)

func (k queryKind) String() string {
	switch k {
	case kindKeyValue:
		return "key-value"
	case kindVersioned:
		return "versioned key-value"
	case kindWindow:
		return "window"
	case kindSession:
		return "session"
	}
	return "unknown"
}

// queryParams are a query's time bounds, in ms, inclusive.
type queryParams struct {
	// timeFrom and timeTo bound window starts (window stores), or session
	// ends from below and session starts from above (session stores).
	timeFrom, timeTo int64
	// asOf is the time a versioned store is read at.
	asOf int64
}

// rfc3339Millis formats epoch ms as RFC 3339 with milliseconds, in UTC.
func rfc3339Millis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func storeWindow(w Window) *httpjson.StoreWindow {
	return &httpjson.StoreWindow{Start: w.Start, End: w.End, StartTime: rfc3339Millis(w.Start), EndTime: rfc3339Millis(w.End)}
}

// parseQueryTime reads a time parameter: epoch ms, or an RFC 3339 time.
func parseQueryTime(param, text string) (int64, error) {
	if ms, err := strconv.ParseInt(text, 10, 64); err == nil {
		return ms, nil
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return 0, fmt.Errorf("streams: %s=%q: want epoch milliseconds or an RFC 3339 time (2006-01-02T15:04:05Z)", param, text)
	}
	return t.UnixMilli(), nil
}

// parseQueryParams reads the time parameters a store kind takes on a
// route (keyRoute: /stores/{store}/keys/{key}), refusing the ones that do
// not apply to it.
func parseQueryParams(kind queryKind, keyRoute bool, q url.Values) (queryParams, error) {
	p := queryParams{timeFrom: 0, timeTo: math.MaxInt64, asOf: math.MaxInt64}
	// The time bounds are from/to on a key, timeFrom/timeTo on a range
	// (where from/to bound the keys).
	fromParam, toParam := "timeFrom", "timeTo"
	if keyRoute {
		fromParam, toParam = "from", "to"
	}
	timed := kind == kindWindow || kind == kindSession
	for _, b := range []struct {
		param string
		ok    bool
		dst   *int64
	}{
		{fromParam, timed, &p.timeFrom},
		{toParam, timed, &p.timeTo},
		{"asOf", kind == kindVersioned && keyRoute, &p.asOf},
	} {
		text, set := q.Get(b.param), q.Has(b.param)
		if !set {
			continue
		}
		if !b.ok {
			return p, fmt.Errorf("streams: parameter %s does not apply to a %s store on this path", b.param, kind)
		}
		v, err := parseQueryTime(b.param, text)
		if err != nil {
			return p, err
		}
		*b.dst = v
	}
	if !keyRoute && kind != kindWindow && kind != kindSession {
		for _, param := range []string{"timeFrom", "timeTo"} {
			if q.Has(param) {
				return p, fmt.Errorf("streams: parameter %s does not apply to a %s store", param, kind)
			}
		}
	}
	if p.timeFrom > p.timeTo {
		return p, fmt.Errorf("streams: %s (%d) is after %s (%d)", fromParam, p.timeFrom, toParam, p.timeTo)
	}
	return p, nil
}

// errVersionedRange refuses range queries of versioned stores.
var errVersionedRange = errors.New("streams: a versioned store is read one key at a time: /stores/{store}/keys/{key}?asOf=")

// timedValue is a stored value that carries the timestamp of the record
// that last updated it (the aggregates of DSL windowed aggregations).
type timedValue interface{ shown() (any, int64) }

func (v ValueAndTimestamp[V]) shown() (any, int64) { return v.Value, v.Timestamp }

// windowedEntry makes the JSON entry of a window or session.
func windowedJSON[K, V any](w Windowed[K], v V) httpjson.StoreEntry {
	e := httpjson.StoreEntry{Key: jsonable(w.Key), Value: jsonable(v), Window: storeWindow(w.Window)}
	if tv, ok := any(v).(timedValue); ok {
		val, ts := tv.shown()
		e.Value, e.Timestamp = jsonable(val), &ts
	}
	return e
}

// drainJSON reads it into entries whose serialized key is within
// [from, to] (nil: unbounded) and whose window keep accepts, then closes it.
func drainJSON[K, V any](it WindowIterator[K, V], ser func(K) ([]byte, error), from, to []byte, keep func(Window) bool) ([]scanEntry, error) {
	var out []scanEntry
	var err error
	for it.Next() {
		w := it.Key()
		if keep != nil && !keep(w.Window) {
			continue
		}
		kb, serr := ser(w.Key)
		if serr != nil {
			err = serr
			break
		}
		if (from != nil && bytes.Compare(kb, from) < 0) || (to != nil && bytes.Compare(kb, to) > 0) {
			continue
		}
		out = append(out, scanEntry{kb: bytes.Clone(kb), entry: windowedJSON(w, it.Value())})
	}
	if err == nil {
		err = it.Err()
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return out, err
}

// sortScan orders entries by serialized key, then window start and end,
// and keeps limit+1 of them when limit > 0 (the extra one says more).
func sortScan(es []scanEntry, limit int) []scanEntry {
	sort.SliceStable(es, func(i, j int) bool { return scanLess(es[i], es[j]) })
	if limit > 0 && len(es) > limit+1 {
		es = es[:limit+1]
	}
	return es
}

// scanLess orders by serialized key, then window (entries without one
// first).
func scanLess(a, b scanEntry) bool {
	if c := bytes.Compare(a.kb, b.kb); c != 0 {
		return c < 0
	}
	wa, wb := a.entry.Window, b.entry.Window
	switch {
	case wa == nil || wb == nil:
		return wa == nil && wb != nil
	case wa.Start != wb.Start:
		return wa.Start < wb.Start
	}
	return wa.End < wb.End
}

// windowedQuerier serves a window or session store: a key's windows (get,
// in their order, or sorted when sortGet), and the windows of a key range
// (scan, those inScan accepts when it is set).
type windowedQuerier[K, V any] struct {
	serKey  func(K) ([]byte, error)
	get     func(K, queryParams) (WindowIterator[K, V], error)
	sortGet bool
	scan    func(queryParams) (WindowIterator[K, V], error)
	inScan  func(queryParams) func(Window) bool
}

func (s *windowStore[K, V]) querier() jsonQuerier {
	return windowedQuerier[K, V]{
		serKey: s.serKey,
		get:    func(k K, p queryParams) (WindowIterator[K, V], error) { return s.Fetch(k, p.timeFrom, p.timeTo) },
		scan:   func(p queryParams) (WindowIterator[K, V], error) { return s.FetchAll(p.timeFrom, p.timeTo) },
	}
}

func (s *sessionStore[K, V]) querier() jsonQuerier {
	return windowedQuerier[K, V]{
		serKey:  s.serKey,
		get:     func(k K, p queryParams) (WindowIterator[K, V], error) { return s.FindSessions(k, p.timeFrom, p.timeTo) },
		sortGet: true,
		scan:    func(queryParams) (WindowIterator[K, V], error) { return s.All() },
		inScan: func(p queryParams) func(Window) bool {
			return func(w Window) bool { return w.End >= p.timeFrom && w.Start <= p.timeTo }
		},
	}
}

func (q windowedQuerier[K, V]) queryKey(text string) ([]byte, any, error) {
	return parseAndSerialize(text, q.serKey)
}

func (q windowedQuerier[K, V]) queryGet(key any, p queryParams) ([]httpjson.StoreEntry, error) {
	k, err := queriedKey[K](key)
	if err != nil {
		return nil, err
	}
	it, err := q.get(k, p)
	if err != nil {
		return nil, err
	}
	es, err := drainJSON(it, q.serKey, nil, nil, nil)
	if q.sortGet {
		es = sortScan(es, 0)
	}
	return entriesOf(es), err
}

func (q windowedQuerier[K, V]) queryScan(from, to []byte, p queryParams, limit int) ([]scanEntry, error) {
	it, err := q.scan(p)
	if err != nil {
		return nil, err
	}
	var keep func(Window) bool
	if q.inScan != nil {
		keep = q.inScan(p)
	}
	es, err := drainJSON(it, q.serKey, from, to, keep)
	return sortScan(es, limit), err
}

// queriedKey is key (parsed by queryKey) as a K.
func queriedKey[K any](key any) (K, error) {
	k, ok := key.(K)
	if !ok {
		return k, fmt.Errorf("streams: key of type %T, want %T", key, k)
	}
	return k, nil
}

// versionedQuerier serves a versioned key-value store: one key as of a
// time.
type versionedQuerier[K, V any] struct{ s *versionedStore[K, V] }

func (s *versionedStore[K, V]) querier() jsonQuerier { return versionedQuerier[K, V]{s} }

func (q versionedQuerier[K, V]) queryKey(text string) ([]byte, any, error) {
	return parseAndSerialize(text, func(k K) ([]byte, error) {
		b, err := q.s.keySerde.Serialize(k)
		if b == nil && err == nil {
			b = []byte{}
		}
		return b, err
	})
}

func (q versionedQuerier[K, V]) queryGet(key any, p queryParams) ([]httpjson.StoreEntry, error) {
	k, err := queriedKey[K](key)
	if err != nil {
		return nil, err
	}
	rec, found, err := q.s.GetAsOf(k, p.asOf)
	if err != nil || !found {
		return nil, err
	}
	ts := rec.Timestamp
	return []httpjson.StoreEntry{{Key: jsonable(k), Value: jsonable(rec.Value), Timestamp: &ts}}, nil
}

func (q versionedQuerier[K, V]) queryScan([]byte, []byte, queryParams, int) ([]scanEntry, error) {
	return nil, errVersionedRange
}

// versioned marks the factory of a versioned store (queryKindOf).
func (f *versionedFactory[K, V]) versioned() {}

// parseAndSerialize parses a key's text form and serializes it with ser.
func parseAndSerialize[K any](text string, ser func(K) ([]byte, error)) ([]byte, any, error) {
	k, err := parseKeyText[K](text)
	if err != nil {
		return nil, nil, err
	}
	kb, err := ser(k)
	if err != nil {
		return nil, nil, fmt.Errorf("streams: serialize key %q: %w", text, err)
	}
	return kb, k, nil
}

func entriesOf(es []scanEntry) []httpjson.StoreEntry {
	out := make([]httpjson.StoreEntry, len(es))
	for i := range es {
		out[i] = es[i].entry
	}
	return out
}
