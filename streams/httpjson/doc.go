// Package httpjson holds the JSON documents a streams application's HTTP
// endpoint serves (rivulet.http.listener): /status (StatusView), /topology
// (TopologyView) and the interactive queries under /stores (StoreRange,
// StoreEntry). Decode them with encoding/json, as the web console does.
//
// It is pure data: the endpoint itself is part of package streams.
package httpjson
