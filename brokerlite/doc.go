// Package brokerlite is Rivulet's bundled broker: a single-node server that speaks the
// Kafka wire protocol over partition logs on disk, so that franz-go, sarama (goka),
// librdkafka (kcat) and any other Kafka client work against it unchanged, and an app can
// later move to a Kafka cluster without a change.
//
// What it is for: running a real, durable Kafka-compatible broker inside a Go process
// (tests, demos, the word-count example, single-machine deployments) or as
// `rivulet broker`. It serves ApiVersions, Metadata, Produce, Fetch, ListOffsets, the topic
// and config admin APIs, DeleteRecords, InitProducerId and
// DescribeCluster; the group coordinator (package groupcoord, wired in by groups.go) adds
// the consumer-group APIs, and the transaction coordinator (package txncoord, wired in by
// txn.go) Kafka's transactions: transactional producers, markers, read_committed. docs/brokerlite.md lists the versions and every deviation from
// Kafka.
//
// What it is not for: replication, several brokers, ACLs, SASL/TLS or quotas. Replication factor is always 1; asking for more gets
// INVALID_REPLICATION_FACTOR with a pointer to a Kafka cluster. Storage itself (segments,
// indexes, retention, compaction, fsync, recovery, sequence checks) is package partlog.
//
// # Usage
//
// Read [Start] and [Config] first:
//
//	b, err := brokerlite.Start(ctx, brokerlite.Config{Properties: map[string]string{
//		"listeners": "PLAINTEXT://127.0.0.1:0", // any free port
//		"log.dirs":  dir,
//	}})
//	if err != nil { ... }
//	defer b.Close(context.Background())
//	client, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
//
// Inside the package, each Kafka API lives in its own file named by its key
// (00_produce.go, 01_fetch.go, ...), opening with the versions it serves and its
// deviations from Kafka, and registers itself in one handler table (broker.go documents
// the contract). conn.go frames requests; topics.go keeps topics and their configs;
// logstore.go is the bridge to partlog, with txn.go for the transactional reads and
// markers.
package brokerlite
