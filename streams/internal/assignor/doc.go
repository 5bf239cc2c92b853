// Package assignor decides which stream thread runs which task, and holds the
// wire format the members of a streams application exchange while the group
// rebalances.
//
// It is pure: no goroutines, no I/O. The streams runtime's group balancer
// (a kgo.GroupBalancer in package streams) gathers the input from the
// members' subscriptions and the changelogs' end offsets, calls PlanAssignment,
// and turns its result into partitions and assignment user data.
//
// Read first: PlanAssignment (the high-availability assignor of KIP-441) and
// AssignmentInput; then SubscriptionInfo and AssignmentInfo (the user data
// of the JoinGroup and SyncGroup requests, with their encoders and decoders).
//
// Not for users: package streams is the public surface.
package assignor

import "github.com/rivulet-io/rivulet/topology"

// TaskID names a task: a sub-topology and a partition.
type TaskID = topology.TaskID
