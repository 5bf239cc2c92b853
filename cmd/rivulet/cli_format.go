package main

// Output shapes shared by the tools, kept as close to Kafka's scripts as the data allows so
// that people and scripts that read kafka-topics.sh and kafka-consumer-groups.sh read these.

import (
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// topicView is what --describe prints for one topic.
type topicView struct {
	Name              string
	ID                [16]byte
	PartitionCount    int
	ReplicationFactor int
	Configs           []string // "key=value", sorted
	Partitions        []partitionView
	// PartitionsOnly prints only the partition lines, as kafka-topics.sh does for
	// --under-replicated-partitions and --unavailable-partitions.
	PartitionsOnly bool
}

// partitionView is one partition line; LogStart and LogEnd are -1 when unknown.
type partitionView struct {
	Partition        int32
	Leader           int32
	Replicas, ISR    []int32
	Offline          []int32
	LogStart, LogEnd int64
}

// filterPartitions keeps partitions whose ISR is short (underReplicated) or that have no
// leader (unavailable).
func (v topicView) filterPartitions(underReplicated, unavailable bool) topicView {
	var keep []partitionView
	for _, p := range v.Partitions {
		if (underReplicated && len(p.ISR) < len(p.Replicas)) || (unavailable && p.Leader < 0) {
			keep = append(keep, p)
		}
	}
	v.Partitions = keep
	return v
}

// kafkaUUID prints a topic id as Kafka does (Uuid.toString): URL-safe base64, no padding.
func kafkaUUID(id [16]byte) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

func joinInt32s(xs []int32) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatInt(int64(x), 10)
	}
	return strings.Join(parts, ",")
}

func offsetOrDash(o int64) string {
	if o < 0 {
		return "-"
	}
	return strconv.FormatInt(o, 10)
}

// writeTopicDescription prints a topic in kafka-topics.sh --describe's shape, with the log
// start and end offsets added at the end of each partition line:
//
//	Topic: first	TopicId: ...	PartitionCount: 3	ReplicationFactor: 1	Configs: a=b
//		Topic: first	Partition: 0	Leader: 1	Replicas: 1	Isr: 1	LogStartOffset: 0	LogEndOffset: 5
func writeTopicDescription(w io.Writer, v topicView) {
	if !v.PartitionsOnly {
		fmt.Fprintf(w, "Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n",
			v.Name, kafkaUUID(v.ID), v.PartitionCount, v.ReplicationFactor, strings.Join(v.Configs, ","))
	}
	for _, p := range v.Partitions {
		leader := "none"
		if p.Leader >= 0 {
			leader = strconv.FormatInt(int64(p.Leader), 10)
		}
		fmt.Fprintf(w, "\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s", v.Name, p.Partition, leader, joinInt32s(p.Replicas), joinInt32s(p.ISR))
		if len(p.Offline) > 0 {
			fmt.Fprintf(w, "\tOffline: %s", joinInt32s(p.Offline))
		}
		fmt.Fprintf(w, "\tLogStartOffset: %s\tLogEndOffset: %s\n", offsetOrDash(p.LogStart), offsetOrDash(p.LogEnd))
	}
}

// writeTable prints rows under a header with columns padded to their widest cell, one space
// apart, as kafka-consumer-groups.sh does. Cells must not contain tabs or newlines (callers
// pass names and numbers); a tab would be taken as a column break.
func writeTable(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
}
