// Package topology is the graph model of a stream-processing application:
// source, processor and sink nodes, the state stores attached to processors,
// the internal topics the application owns (repartition and changelog
// topics), and the sub-topologies the graph falls into once it is cut at
// topics.
//
// It is pure data with no I/O and no dependency beyond the standard library.
// The typed DSL in package streams builds a [Topology]; the runtime reads it
// to create tasks, internal topics and consumer subscriptions; and
// [Topology.Describe] prints it the way Kafka Streams' TopologyDescription
// does, with [Description.Mermaid] and [Description.DOT] for drawing.
//
// What it is not for: it does not run anything, does not know about serdes or
// record types, and does not talk to a broker. Processor, source and sink
// payloads ([Node.Supplier], [Store.Supplier]) are opaque values that the
// package stores and hands back untouched, so that topology stays free of
// the streams package's types.
//
// Read [Topology] first, then [Subtopology] and [Topology.ResolvePartitions].
//
// # Names
//
// Internal topics are named as Kafka Streams names them: a repartition topic
// registered as "counts-repartition" becomes "<application.id>-counts-repartition"
// at run time, and a logged store "counts" gets the changelog topic
// "<application.id>-counts-changelog" ([ChangelogTopicName]). A runtime binds
// the topology to its application id once ([Topology.Bind]) and asks the
// [Bound] topology for broker names, source topics and partition counts.
//
// # Sub-topologies
//
// Sub-topologies are the connected components of the node graph, where two
// processors that share a state store are connected too. A sink writing a
// topic and a source reading it are not connected, so a repartition topic
// always cuts the graph. Sub-topologies are numbered as Kafka Streams numbers
// them: source nodes sorted by name are visited first, and each new component
// met takes the next number. Global-store components share the numbering but
// create no tasks.
package topology
