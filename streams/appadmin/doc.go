// Package appadmin acts on a streams application from outside it, through
// the brokers, with no instance running here: DescribeApplication shows its
// group's members, their partitions and tasks, and the lag of every
// partition it committed offsets for; ResetApplication makes it reprocess
// its input, as Kafka's kafka-streams-application-reset tool does.
//
// Read first: ResetApplication and ResetOptions. `rivulet streams reset` and
// `rivulet streams describe` are its command-line front ends. Each
// instance's local state is removed with streams.App.CleanUp.
//
// Not for running or querying an application: that is package streams.
package appadmin
