package main

import (
	"bytes"
	"testing"
)

func TestWriteTopicDescription(t *testing.T) {
	v := topicView{
		Name:              "first",
		ID:                [16]byte{0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14},
		PartitionCount:    2,
		ReplicationFactor: 3,
		Configs:           []string{"cleanup.policy=compact", "retention.ms=1000"},
		Partitions: []partitionView{
			{Partition: 0, Leader: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, LogStart: 0, LogEnd: 42},
			{Partition: 1, Leader: -1, Replicas: []int32{2, 3, 1}, ISR: []int32{3}, Offline: []int32{2}, LogStart: -1, LogEnd: -1},
		},
	}
	var b bytes.Buffer
	writeTopicDescription(&b, v)
	want := "Topic: first\tTopicId: __4BAgMEBQYHCAkKCwwNDg\tPartitionCount: 2\tReplicationFactor: 3\tConfigs: cleanup.policy=compact,retention.ms=1000\n" +
		"\tTopic: first\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2,3\tLogStartOffset: 0\tLogEndOffset: 42\n" +
		"\tTopic: first\tPartition: 1\tLeader: none\tReplicas: 2,3,1\tIsr: 3\tOffline: 2\tLogStartOffset: -\tLogEndOffset: -\n"
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}

	under := v.filterPartitions(true, false)
	if len(under.Partitions) != 1 || under.Partitions[0].Partition != 1 {
		t.Fatalf("under-replicated: %+v", under.Partitions)
	}
	none := v.filterPartitions(false, true)
	if len(none.Partitions) != 1 || none.Partitions[0].Leader != -1 {
		t.Fatalf("unavailable: %+v", none.Partitions)
	}
	b.Reset()
	under.PartitionsOnly = true
	writeTopicDescription(&b, under)
	if b.String() != "\tTopic: first\tPartition: 1\tLeader: none\tReplicas: 2,3,1\tIsr: 3\tOffline: 2\tLogStartOffset: -\tLogEndOffset: -\n" {
		t.Fatalf("partitions only: %q", b.String())
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	writeTable(&b, []string{"GROUP", "TOPIC", "PARTITION"}, [][]string{
		{"readers", "first", "0"},
		{"g", "a-much-longer-topic", "12"},
		{"tab\there", "new\nline", "1"},
	})
	want := "GROUP    TOPIC               PARTITION\n" +
		"readers  first               0\n" +
		"g        a-much-longer-topic 12\n" +
		"tab here new line            1\n"
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
