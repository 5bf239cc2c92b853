package groupcoord

import (
	"unicode/utf16"
)

// javaStringHashCode returns Java's String.hashCode of s: the polynomial
// hash with multiplier 31 over the string's UTF-16 code units, in int32
// arithmetic. Kafka places a group on a __consumer_offsets partition with
// it, so the same group id lands on the same partition number here as on a
// Kafka cluster. Invalid UTF-8 decodes to U+FFFD, as Java's decoder does.
func javaStringHashCode(s string) int32 {
	var h int32
	for _, r := range s {
		if r < 0x10000 {
			h = 31*h + int32(r)
			continue
		}
		r1, r2 := utf16.EncodeRune(r)
		h = 31*h + int32(r1)
		h = 31*h + int32(r2)
	}
	return h
}

// PartitionFor returns the __consumer_offsets partition that holds group's
// commits and metadata when the topic has numPartitions partitions, as
// Kafka computes it: Utils.abs(groupId.hashCode) % numPartitions, where
// Utils.abs maps math.MinInt32 to 0. numPartitions below 1 is treated as 1.
func PartitionFor(group string, numPartitions int32) int32 {
	if numPartitions < 1 {
		return 0
	}
	h := javaStringHashCode(group)
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % numPartitions
}
