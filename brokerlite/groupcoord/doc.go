// Package groupcoord is brokerlite's group coordinator for Kafka's classic
// consumer-group protocol: it runs the rebalances of JoinGroup, SyncGroup,
// Heartbeat and LeaveGroup, stores committed offsets and group metadata in
// the compacted internal topic __consumer_offsets, in Kafka's record
// format, and rebuilds both from that topic when the broker restarts.
//
// It is pure Go with no sockets: the broker's request handlers translate
// each protocol version to the version-independent requests here, and the
// answers back. Time comes from an injected Clock and storage from an
// injected Log, so the whole state machine runs deterministically in
// tests (see the scripted tests under testdata/).
//
// It is not the KIP-848 consumer-group protocol (ConsumerGroupHeartbeat),
// nor a transaction coordinator, and it never assigns partitions itself:
// the group leader's client-side assignor (range, round-robin, sticky,
// cooperative-sticky, anything) decides, and the coordinator relays.
//
// Read Coordinator first, then the group type in group.go and
// membership.go for the rebalance state machine (Empty,
// PreparingRebalance, CompletingRebalance, Stable, Dead).
//
// # Usage
//
//	c, err := groupcoord.Start(ctx, groupcoord.Config{Log: myLog, Partitions: 50})
//	if err != nil { ... }
//	defer c.Close()
//	res, err := c.Join(ctx, groupcoord.JoinRequest{Group: "g", ...}) // blocks until the rebalance completes
//	errs := c.CommitOffsets(ctx, groupcoord.CommitRequest{...})     // durable when it returns
package groupcoord
