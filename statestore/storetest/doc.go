// Package storetest is the conformance and property suite every statestore
// implementation must pass: statestore/memstore and statestore/badgerstore run it, and any
// other implementation can (pass a Harness to RunKeyValue, RunWindow and RunSession).
//
// The conformance tests check the written contracts one by one (bounds, ordering, nil
// keys and values, ownership of slices, snapshot iterators, closed stores, change
// logging, restore, retention). The property tests run seeded random operation
// sequences against a plain model (a map sorted on demand) and compare every read; a
// failure prints the seed, and STORETEST_SEED=<seed> replays it.
//
// It is not for benchmarks (see the benchmarks in badgerstore) and it is not imported by
// production code.
//
// Read Harness first.
package storetest
