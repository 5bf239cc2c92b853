// Package streams is Rivulet's stream-processing library in the spirit of
// Kafka Streams: a typed DSL that builds a topology of processors over
// partitioned topics, a Processor API for custom steps with state stores and
// punctuations, and a runtime that runs the topology as tasks over stream
// threads, with state in stores backed by changelog topics.
//
// Read [Builder] first (and the Example functions), then [Stream], [Table]
// and [GroupedStream]; for running, [New] and [App]; for testing,
// package streams/streamstest. Both run the same deterministic tasks (one
// sub-topology over one partition number), which are not part of the API.
//
// What it is not for: it is not a Kafka client (it uses franz-go), not a
// broker (see brokerlite), and not a store engine (see statestore).
//
// # Types and serdes
//
// Streams and tables are generic in their key and value types. Operators
// that keep the types are methods (Filter, Peek, To, ...); operators that
// change them are functions (Map, MapValues, FlatMap, SelectKey, GroupBy,
// Aggregate, ...). Serdes are given through option values, as in Kafka
// Streams ([ConsumedWith], [ProducedWith], [GroupedWith],
// [MaterializedAs]); a missing serde is the type's default ([DefaultSerde]):
// string, []byte, int64 (8-byte big-endian), int32, float64, and msgpack for
// everything else. Within a sub-topology records travel as typed values;
// they are serialized only at sinks, repartition topics and changelogs.
//
// Kafka's null has no place in most Go types: a record read with a null key
// or value carries the zero value and reports it ([Record.KeyIsNull],
// [Record.ValueIsNull]); tables treat a null value as a delete. A null
// value (a tombstone) never reaches a plain user function: MapValues,
// FlatMapValues, Filter, Peek and the others forward it as a tombstone (Map,
// FlatMap and SelectKey, which need the value to compute a key, drop and
// count it). Each of them has a null-aware twin with the suffix Nullable
// (MapValuesNullable, FilterNullable, ...) whose function gets the value as
// a [Nullable] and may return one.
//
// # Repartitioning
//
// An operator that may change the key (Map, FlatMap, SelectKey, GroupBy,
// Process) marks the stream; a grouping that follows writes the records to a
// repartition topic "<application.id>-<name>-repartition" and reads them
// back, so that all records of a key meet in one task, as Kafka Streams
// does. Sub-topologies are the parts of the graph between such topics.
//
// # Usage
//
//	b := streams.NewBuilder()
//	lines := streams.NewStream(b, "text", streams.ConsumedWith(streams.StringSerde(), streams.StringSerde()))
//	words := streams.FlatMapValues(lines, func(_, line string) []string { return strings.Fields(line) })
//	counts := streams.GroupBy(words, func(_, w string) string { return w }).Count()
//	counts.ToStream().To("counts", streams.ProducedWith(streams.StringSerde(), streams.Int64Serde()))
//	topo, err := b.Build()
//
//	app, err := streams.New(topo, streams.Properties{
//		"application.id":    "wordcount",
//		"bootstrap.servers": "127.0.0.1:9092",
//	})
//	err = app.Start(ctx)
//	defer app.Close(ctx)
//
// # Processing guarantees
//
// processing.guarantee is at_least_once by default: after a crash, records
// processed since the last commit are processed again. exactly_once_v2 runs
// every thread's output, changelog writes and consumed offsets in Kafka
// transactions (KIP-447), and its key-value stores apply a commit's writes
// only once the transaction committed, so a crash changes neither the
// output nor the state (docs/exactly-once.md).
//
// Next to it: package streams/streamstest drives a topology in users' unit
// tests, package streams/appadmin describes and resets an application from
// outside it, and package streams/httpjson holds the JSON documents of the
// HTTP endpoint.
//
// The design notes (tasks, threads, commits, restore, where the assignor
// plugs in) are in docs/streams-internals.md.
package streams
