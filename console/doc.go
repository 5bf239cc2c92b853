// Package console is Rivulet's web console: one HTTP server and one page,
// its assets embedded in the binary (no CDN; it works offline), showing a
// Kafka-compatible cluster and the stream applications running on it.
//
// The broker side is read through kadm (the Kafka protocol, so it works
// against brokerlite, Apache Kafka or Redpanda): topics and partitions with
// their offsets and sizes, topic configs, a message browser that decodes
// keys, values and headers as kafka-console-consumer does, and consumer
// groups with members, assignments and lag. The application side is read
// from each application's HTTP endpoint (streams' rivulet.http.listener):
// its live topology graph with per-node rates, tasks per instance and
// thread with their state and lags, standbys, restores with progress, and
// its throughput over the last minutes.
//
// The page polls JSON endpoints of this server every two seconds:
//
//	GET /api/cluster                        brokers, topics, partitions (offsets, sizes)
//	GET /api/topics/{topic}/configs         a topic's configs
//	GET /api/topics/{topic}/messages?partition=P&offset=O&limit=N&key=F&value=F
//	GET /api/groups                         groups, members, assignments, lag
//	GET /api/apps                           each application's status and topology
//	GET /api/apps/{i}/topology.svg          application i's topology drawing
//
// Not for: changing anything. The console only reads.
//
// Read first: Config and New.
package console
