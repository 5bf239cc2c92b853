package httpjson

// StoreEntry is one entry of a store as the HTTP endpoint serves it.
type StoreEntry struct {
	Key   any `json:"key"`
	Value any `json:"value"`
	// Timestamp is the timestamp of the record that last updated it
	// (tables and aggregations).
	Timestamp *int64 `json:"timestamp,omitempty"`
	// Host is the application.server of the instance that answered (key
	// lookups).
	Host string `json:"host,omitempty"`
	// Window is the entry's window (window stores) or session (session
	// stores).
	Window *StoreWindow `json:"window,omitempty"`
	// KeyBytes is the serialized key, in answers between instances
	// (local=1), so the asking instance merges ranges in key byte order.
	KeyBytes []byte `json:"key_bytes,omitempty"`
}

// StoreRange is the answer of a range query, and of a key's query of a
// window or session store (its windows or sessions).
type StoreRange struct {
	Store string `json:"store"`
	// Host is the application.server of the instance that answered (a
	// key's windows or sessions).
	Host    string       `json:"host,omitempty"`
	Entries []StoreEntry `json:"entries"`
	// More is set when limit cut the answer short.
	More bool `json:"more,omitempty"`
}

// StoreWindow is the window of a window store's entry or the session of a
// session store's entry: bounds in epoch ms and as RFC 3339 times (UTC).
// A window's end is exclusive; a session's end is its last record's time.
type StoreWindow struct {
	Start     int64  `json:"start"`
	End       int64  `json:"end"`
	StartTime string `json:"start_time"`
	EndTime   string `json:"end_time"`
}
