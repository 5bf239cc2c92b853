// Package harness measures Rivulet side by side with its peers, in one run,
// on the same machine and the same data, and reports the ratios:
//
//   - broker throughput: franz-go producing 100-byte records to brokerlite
//     (on disk) and to franz-go's in-memory kfake, with acks=1 and with
//     acks=-1 idempotent, then consuming them back ([RunBroker]);
//   - word count end to end: Rivulet's word count and an equivalent goka
//     v1.1.14 program on the same brokerlite, the same input (a seeded,
//     Zipf-skewed text) and the same partition counts, both at-least-once,
//     timed from the start of each app to the last correct count observed on
//     its output ([RunWordCount]);
//   - latency: p50/p99/p999 from produce to output consumed, for a map-only
//     pipeline at a fixed input rate, or at rates from 1,000 records/s up to
//     saturation, Rivulet and goka ([RunLatency]);
//   - the streams suite: the cases of Kafka Streams' SimpleBenchmark and a
//     many-keys count, each run by Rivulet's streams DSL, by a hand-written
//     franz-go program (the practical bound) and by goka where it can do the
//     same work, each run's output checked against the output computed from
//     the generated input ([RunStreams]).
//
// It draws a progress bar while it runs ([Progress]), prints a table
// ([PrintTable], [PrintStreams]), rewrites its sections of a results file
// when asked ([UpdateResults]) and draws curves and bars as SVG ([Plot]).
// `rivulet bench` is the command line over it; read [Config] first, then
// [Run].
//
// It is not a test suite and not a load generator for production clusters:
// it starts its own brokers in temporary directories and measures them.
package harness
