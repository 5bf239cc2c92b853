// Package streamstest runs a streams topology with no broker, for users'
// unit tests (Kafka Streams' TopologyTestDriver): pipe typed records into
// input topics, read what the topology wrote from output topics, move the
// wall clock to fire punctuations, and look into state stores.
//
// It drives the same deterministic tasks the runtime's stream threads drive,
// with in-memory stores and a collector that keeps every record sent. Everything happens on the caller's goroutine: piping a record
// returns once the record, and everything it caused, is processed and
// committed.
//
// It is not a broker and does not exercise the runtime's threads, consumer
// groups or changelog restore; test those against a broker (brokerlite).
//
// Read [Driver] first, then [InputTopic] and [OutputTopic].
//
// # Usage
//
//	d, err := streamstest.New(topo)
//	if err != nil { ... }
//	defer d.Close()
//	in := streamstest.CreateInputTopic(d, "input", streams.StringSerde(), streams.StringSerde())
//	out := streamstest.CreateOutputTopic(d, "output", streams.StringSerde(), streams.Int64Serde())
//	err = in.PipeInput("k", "hello world")
//	kvs, err := out.ReadKeyValuesToList()
package streamstest
