// Package memstore holds the in-memory key-value, window and session stores: the twins of
// package badgerstore, with the same contracts (package statestore) and the same
// semantics, since both run the same store logic over a different byte map.
//
// Data lives in a copy-on-write B-tree; iterators walk an O(1) snapshot of it, so writes
// made while an iterator is open never disturb it. Expired window and session segments
// are deleted at once. Nothing survives Close or a restart: an in-memory store is rebuilt
// from its changelog from the beginning every time its task starts (Persistent reports
// false), as Kafka Streams' in-memory stores are.
//
// It is for small state, tests, and stores whose restore is cheap; it is not for state
// larger than memory, and it does not bound its memory (put a statestore.RecordCache in
// front for that kind of bound on writes, not on the data).
//
// Read NewKeyValueStore first.
package memstore
