package streams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/rivulet-io/rivulet/streams/httpjson"
	"github.com/rivulet-io/rivulet/topology"
)

// Interactive queries over HTTP (see http.go for the paths): a store is
// read by name with the serdes it was built with, so the endpoint needs no
// types from the user. Keys in URLs are parsed into the store's key type
// (text for string and []byte keys, JSON for others), serialized with the
// store's key serde to find the owning task, and values are written as
// JSON. Key-value stores (the DSL's tables and aggregations and the
// processor API's key-value stores), versioned key-value stores, window
// stores and session stores are served (http_query_windowed.go has the
// last three).

// jsonQuerier is what a typed store offers the HTTP endpoint.
type jsonQuerier interface {
	// queryKey parses a key from its text form and serializes it.
	queryKey(text string) (kb []byte, key any, err error)
	// queryGet reads one key (typed, as queryKey returned it): its value
	// (none or one entry) from a key-value store, its value as of p.asOf
	// from a versioned store, its windows or sessions within p's times from
	// a window or session store.
	queryGet(key any, p queryParams) ([]httpjson.StoreEntry, error)
	// queryScan returns the entries with from <= serialized key <= to
	// (nil: unbounded) within p's times, in key byte order (then window
	// start and end), at most limit+1 when limit > 0.
	queryScan(from, to []byte, p queryParams, limit int) ([]scanEntry, error)
}

type scanEntry struct {
	kb    []byte
	entry httpjson.StoreEntry
}

// typedQuerier adapts a typed store; conv turns a stored value into the
// value and timestamp to show.
type typedQuerier[K, V any] struct {
	store ReadOnlyKeyValueStore[K, V]
	ser   func(K) ([]byte, error)
	conv  func(V) (any, *int64)
}

func (s *kvStore[K, V]) querier() jsonQuerier {
	return &typedQuerier[K, V]{store: s, ser: s.serKey, conv: func(v V) (any, *int64) { return v, nil }}
}

func (s *tsStore[K, V]) querier() jsonQuerier {
	return &typedQuerier[K, ValueAndTimestamp[V]]{store: s, ser: s.serKey,
		conv: func(v ValueAndTimestamp[V]) (any, *int64) { ts := v.Timestamp; return v.Value, &ts }}
}

// parseKeyText reads a key of type K from text: the text itself for string
// and []byte keys, JSON otherwise.
func parseKeyText[K any](text string) (K, error) {
	var k K
	switch p := any(&k).(type) {
	case *string:
		*p = text
		return k, nil
	case *[]byte:
		*p = []byte(text)
		return k, nil
	}
	if err := json.Unmarshal([]byte(text), &k); err != nil {
		return k, fmt.Errorf("streams: key %q is not a %T in JSON: %w", text, k, err)
	}
	return k, nil
}

// jsonable makes bytes readable: UTF-8 text as a string (JSON would
// base64 it).
func jsonable(v any) any {
	if b, ok := v.([]byte); ok && utf8.Valid(b) {
		return string(b)
	}
	return v
}

func (q *typedQuerier[K, V]) entry(k K, v V) httpjson.StoreEntry {
	val, ts := q.conv(v)
	return httpjson.StoreEntry{Key: jsonable(k), Value: jsonable(val), Timestamp: ts}
}

func (q *typedQuerier[K, V]) queryKey(text string) ([]byte, any, error) {
	return parseAndSerialize(text, q.ser)
}

func (q *typedQuerier[K, V]) queryGet(key any, _ queryParams) ([]httpjson.StoreEntry, error) {
	k, err := queriedKey[K](key)
	if err != nil {
		return nil, err
	}
	v, found, err := q.store.Get(k)
	if err != nil || !found {
		return nil, err
	}
	return []httpjson.StoreEntry{q.entry(k, v)}, nil
}

func (q *typedQuerier[K, V]) queryScan(from, to []byte, _ queryParams, limit int) ([]scanEntry, error) {
	it, err := q.store.All()
	if err != nil {
		return nil, err
	}
	var out []scanEntry
	for it.Next() {
		k := it.Key()
		kb, err := q.ser(k)
		if err != nil {
			it.Close()
			return nil, err
		}
		if from != nil && bytes.Compare(kb, from) < 0 {
			continue
		}
		if to != nil && bytes.Compare(kb, to) > 0 {
			break // entries come in key byte order
		}
		out = append(out, scanEntry{kb: bytes.Clone(kb), entry: q.entry(k, it.Value())})
		if limit > 0 && len(out) > limit {
			break
		}
	}
	return out, it.Close()
}

// eachLocalStore calls fn with the store name of every running local task
// that has it, holding the task's thread lock (as KeyValueQuery does).
func (a *App) eachLocalStore(name string, fn func(TaskID, jsonQuerier) (stop bool, err error)) error {
	return eachLocalStore(a, name, func(id TaskID, st StateStore) (bool, error) {
		jq, ok := st.(interface{ querier() jsonQuerier })
		if !ok {
			return true, fmt.Errorf("streams: store %q (%s) cannot be queried over HTTP", name, describeStore(st))
		}
		return fn(id, jq.querier())
	})
}

// queryableStore checks that name is a store of the tasks, and says how
// it is read.
func (a *App) queryableStore(name string) (queryKind, int, error) {
	spec := a.topo.t.Store(name)
	if spec == nil {
		return 0, http.StatusNotFound, fmt.Errorf("streams: the topology has no store %q", name)
	}
	for _, s := range a.topo.subs {
		if s.Global {
			for _, st := range s.Stores {
				if st == name {
					return 0, http.StatusBadRequest, fmt.Errorf("streams: store %q is a global store; read it in a processor", name)
				}
			}
		}
	}
	switch spec.Kind {
	case topology.KeyValueStoreKind:
		if _, ok := spec.Supplier.(interface{ versioned() }); ok {
			return kindVersioned, 0, nil
		}
		return kindKeyValue, 0, nil
	case topology.WindowStoreKind:
		return kindWindow, 0, nil
	case topology.SessionStoreKind:
		return kindSession, 0, nil
	}
	return 0, http.StatusBadRequest, fmt.Errorf("streams: store %q is a %s store, which the HTTP endpoint does not serve", name, storeKindName(spec.Kind))
}

// serveStores lists the topology's stores.
func (a *App) serveStores(w http.ResponseWriter, _ *http.Request) {
	type storeInfo struct {
		Name      string `json:"name"`
		Kind      string `json:"kind"`
		Queryable bool   `json:"queryable"`
	}
	out := []storeInfo{}
	for _, s := range a.topo.t.Stores() {
		_, _, err := a.queryableStore(s.Name)
		out = append(out, storeInfo{Name: s.Name, Kind: storeKindName(s.Kind), Queryable: err == nil})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, map[string]any{"stores": out})
}

// storeQuery reads what a query of store name starts with: the store's
// kind and the query's parameters, for a key (keyRoute) or a range (which
// a versioned store refuses). It answers an error itself and then returns
// false.
func (a *App) storeQuery(w http.ResponseWriter, r *http.Request, name string, keyRoute bool) (queryKind, url.Values, queryParams, bool) {
	kind, code, err := a.queryableStore(name)
	if err != nil {
		writeHTTPError(w, code, err)
		return kind, nil, queryParams{}, false
	}
	if kind == kindVersioned && !keyRoute {
		writeHTTPError(w, http.StatusBadRequest, errVersionedRange)
		return kind, nil, queryParams{}, false
	}
	q := r.URL.Query()
	params, err := parseQueryParams(kind, keyRoute, q)
	if err != nil {
		writeHTTPError(w, http.StatusBadRequest, err)
		return kind, nil, queryParams{}, false
	}
	return kind, q, params, true
}

// serveStoreKey answers one key: locally when this instance runs the
// key's task (or with local=1), else from the owner.
func (a *App) serveStoreKey(w http.ResponseWriter, r *http.Request) {
	name, text := r.PathValue("store"), r.PathValue("key")
	kind, q, params, ok := a.storeQuery(w, r, name, true)
	if !ok {
		return
	}
	var (
		kb  []byte
		key any
	)
	// Parse with any local task's store; without one, the key cannot be
	// serialized here, so ask the instances that hold the store.
	perr := a.eachLocalStore(name, func(_ TaskID, q jsonQuerier) (bool, error) {
		var err error
		kb, key, err = q.queryKey(text)
		return true, err
	})
	if perr != nil && !errors.Is(perr, ErrStoreNotAvailable) && !errors.Is(perr, ErrNotRunning) {
		writeHTTPError(w, http.StatusBadRequest, perr)
		return
	}
	self := a.cfg.ApplicationServer
	if q.Get("local") == "" && self != "" {
		if kb != nil {
			owner, ok := a.MetadataForKey(name, kb, nil)
			if !ok {
				writeHTTPError(w, http.StatusServiceUnavailable, fmt.Errorf("streams: no instance runs the task of key %q of store %q now: %w", text, name, ErrStoreNotAvailable))
				return
			}
			if owner.Endpoint() != self {
				a.relay(w, r, owner.Endpoint(), url.Values{"local": {"1"}})
				return
			}
		} else if q.Get("hop") == "" {
			// No local task to serialize the key: an instance holding the
			// store can, and asks the owner (once: hop=1).
			for _, m := range a.MetadataForStore(name) {
				if m.Endpoint() != self && len(m.ActiveTasks) > 0 {
					a.relay(w, r, m.Endpoint(), url.Values{"hop": {"1"}})
					return
				}
			}
		}
	}
	if perr != nil {
		writeHTTPError(w, errorCode(perr), perr)
		return
	}
	// The key's task holds all of it: the first task with entries answers.
	var entries []httpjson.StoreEntry
	err := a.eachLocalStore(name, func(_ TaskID, q jsonQuerier) (bool, error) {
		es, err := q.queryGet(key, params)
		if len(es) > 0 {
			entries = es
		}
		return len(es) > 0, err
	})
	if err != nil {
		writeHTTPError(w, errorCode(err), err)
		return
	}
	if kind == kindWindow || kind == kindSession {
		// No windows or sessions in the time range is an answer.
		writeJSON(w, http.StatusOK, httpjson.StoreRange{Store: name, Host: self, Entries: append([]httpjson.StoreEntry{}, entries...)})
		return
	}
	if len(entries) == 0 {
		writeHTTPError(w, http.StatusNotFound, fmt.Errorf("streams: store %q has no key %q", name, text))
		return
	}
	entry := entries[0]
	entry.Host = self
	writeJSON(w, http.StatusOK, entry)
}

// serveStoreRange answers from/to/limit over this instance's tasks, plus
// every other instance's unless local=1.
func (a *App) serveStoreRange(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("store")
	_, q, params, ok := a.storeQuery(w, r, name, false)
	if !ok {
		return
	}
	limit := 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			writeHTTPError(w, http.StatusBadRequest, errors.New("streams: limit: want a number >= 0"))
			return
		}
		limit = n
	}
	local := q.Get("local") != ""
	var all []scanEntry
	more, badKey := false, false
	err := a.eachLocalStore(name, func(id TaskID, sq jsonQuerier) (bool, error) {
		var from, to []byte
		for _, b := range []struct {
			param string
			dst   *[]byte
		}{{"from", &from}, {"to", &to}} {
			if text := q.Get(b.param); text != "" {
				kb, _, err := sq.queryKey(text)
				if err != nil {
					badKey = true
					return true, fmt.Errorf("streams: %s: %w", b.param, err)
				}
				*b.dst = kb
			}
		}
		es, err := sq.queryScan(from, to, params, limit)
		if err != nil {
			return true, fmt.Errorf("streams: query store %q (task %s): %w", name, id, err)
		}
		all = append(all, es...)
		return false, nil
	})
	// An instance with no task of the store has nothing local.
	if err != nil && !(errors.Is(err, ErrStoreNotAvailable) && !local) {
		code := errorCode(err)
		if badKey {
			code = http.StatusBadRequest
		}
		writeHTTPError(w, code, err)
		return
	}
	if !local && a.cfg.ApplicationServer != "" {
		for _, m := range a.MetadataForStore(name) {
			if m.Endpoint() == a.cfg.ApplicationServer || len(m.ActiveTasks) == 0 {
				continue
			}
			aq := url.Values{}
			for k, v := range q {
				aq[k] = v
			}
			aq.Set("local", "1")
			body, code, err := a.get(r.Context(), m.Endpoint(), r.URL.Path, aq)
			if err != nil || code != http.StatusOK {
				writeHTTPError(w, http.StatusBadGateway, fmt.Errorf("streams: asking %s: %v (HTTP %d: %s)", m.Endpoint(), err, code, bytes.TrimSpace(body)))
				return
			}
			var part httpjson.StoreRange
			if err := json.Unmarshal(body, &part); err != nil {
				writeHTTPError(w, http.StatusBadGateway, fmt.Errorf("streams: answer of %s: %w", m.Endpoint(), err))
				return
			}
			for _, e := range part.Entries {
				all = append(all, scanEntry{kb: e.KeyBytes, entry: e})
			}
			more = more || part.More
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return scanLess(all[i], all[j]) })
	ans := httpjson.StoreRange{Store: name, Entries: []httpjson.StoreEntry{}, More: more}
	for _, e := range all {
		e.entry.KeyBytes = nil
		if local {
			e.entry.KeyBytes = e.kb
		}
		ans.Entries = append(ans.Entries, e.entry)
	}
	if limit > 0 && len(ans.Entries) > limit {
		ans.Entries, ans.More = ans.Entries[:limit], true
	}
	writeJSON(w, http.StatusOK, ans)
}

// relay answers with another instance's answer to the request, its
// parameters set as in extra.
func (a *App) relay(w http.ResponseWriter, r *http.Request, endpoint string, extra url.Values) {
	q := r.URL.Query()
	for k, v := range extra {
		q[k] = v
	}
	body, code, err := a.get(r.Context(), endpoint, r.URL.Path, q)
	if err != nil {
		writeHTTPError(w, http.StatusBadGateway, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(body)
}

func (a *App) get(ctx context.Context, endpoint, path string, q url.Values) ([]byte, int, error) {
	u := "http://" + endpoint + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := a.httpClient.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("streams: asking %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("streams: answer of %s: %w", endpoint, err)
	}
	return body, resp.StatusCode, nil
}
