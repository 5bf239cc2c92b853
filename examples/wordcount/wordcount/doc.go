// Package wordcount is the canonical word count of Kafka Streams'
// WordCountDemo, built with Rivulet's streams DSL: text lines in, lower-cased
// and split on anything that is not a letter, grouped by word, counted, and
// every changed count written out with the word as the key (UTF-8) and the
// count as the value (8-byte big-endian int64, Kafka's LongSerde).
//
// It is shared by the runnable program in examples/wordcount, by
// `rivulet demo wordcount` and by the benchmark harness, so that all three
// run exactly the same topology. It is not a library for text processing:
// [Words] is the one splitting rule the demo needs, nothing more.
//
// Read [Topology] first.
//
// # Usage
//
//	topo, err := wordcount.Topology(wordcount.Options{})
//	app, err := streams.New(topo, streams.Properties{
//		"application.id":    "wordcount",
//		"bootstrap.servers": "127.0.0.1:9092",
//	})
package wordcount
