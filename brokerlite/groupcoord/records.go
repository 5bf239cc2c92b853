package groupcoord

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The __consumer_offsets record schemas are Kafka's, encoded with kmsg:
//
//   - key version 0 or 1: OffsetCommitKey (group, topic, partition), value
//     OffsetCommitValue; written as key v1 with value v3 (v1 when the commit
//     carries an explicit expire timestamp, OffsetCommit v2-v4 retention).
//   - key version 2: GroupMetadataKey (group), value GroupMetadataValue;
//     written as key v2 with value v3 (KIP-345 instance ids).
//   - a null value is a tombstone: the offset, or the whole group's
//     metadata, is deleted; compaction later drops the key.
//
// Later Kafka versions add key versions 3 and up for KIP-848 consumer
// groups and share groups; load skips them.

const (
	offsetKeyVersion   = 1
	offsetValueVersion = 3
	groupKeyVersion    = 2
	groupValueVersion  = 3
)

// offsetEntry is one committed offset.
type offsetEntry struct {
	offset      int64
	leaderEpoch int32
	metadata    string
	commitMs    int64
	expireMs    int64  // -1: expiry follows the group rules (KIP-211)
	seq         uint64 // the group's offsetSeq of the record that wrote it, in log order
}

func offsetRecord(group, topic string, partition int32, e *offsetEntry) record {
	k := kmsg.OffsetCommitKey{Version: offsetKeyVersion, Group: group, Topic: topic, Partition: partition}
	rec := record{key: k.AppendTo(nil)}
	if e == nil {
		return rec
	}
	v := kmsg.NewOffsetCommitValue()
	v.Version = offsetValueVersion
	v.Offset = e.offset
	v.LeaderEpoch = e.leaderEpoch
	v.Metadata = e.metadata
	v.CommitTimestamp = e.commitMs
	if e.expireMs >= 0 {
		v.Version = 1
		v.ExpireTimestamp = e.expireMs
	}
	rec.value = v.AppendTo(nil)
	return rec
}

func groupRecord(group string, v *kmsg.GroupMetadataValue) record {
	k := kmsg.GroupMetadataKey{Version: groupKeyVersion, Group: group}
	rec := record{key: k.AppendTo(nil)}
	if v != nil {
		rec.value = v.AppendTo(nil)
	}
	return rec
}

// recordKind tells what a __consumer_offsets key holds.
type recordKind int8

const (
	kindOffset recordKind = iota
	kindGroup
	kindOther
)

// decodedRecord is a __consumer_offsets record after decoding. Strings are
// copies; nothing aliases the input.
type decodedRecord struct {
	kind      recordKind
	group     string
	topic     string
	partition int32
	offset    *offsetEntry             // kindOffset; nil for a tombstone
	meta      *kmsg.GroupMetadataValue // kindGroup; nil for a tombstone
}

// decodeOffsetsRecord decodes one record of __consumer_offsets. Unknown key
// versions return kindOther and no error.
func decodeOffsetsRecord(rec record) (decodedRecord, error) {
	if len(rec.key) < 2 {
		return decodedRecord{}, fmt.Errorf("groupcoord: __consumer_offsets key of %d bytes", len(rec.key))
	}
	switch v := int16(binary.BigEndian.Uint16(rec.key)); v {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(rec.key); err != nil {
			return decodedRecord{}, fmt.Errorf("groupcoord: offset commit key: %w", err)
		}
		d := decodedRecord{kind: kindOffset, group: k.Group, topic: k.Topic, partition: k.Partition}
		if rec.value == nil {
			return d, nil
		}
		var val kmsg.OffsetCommitValue
		if err := val.ReadFrom(rec.value); err != nil {
			return decodedRecord{}, fmt.Errorf("groupcoord: offset commit value for %q %s[%d]: %w", k.Group, k.Topic, k.Partition, err)
		}
		if val.Version < 0 || val.Version > 4 {
			return decodedRecord{}, fmt.Errorf("groupcoord: offset commit value version %d for %q", val.Version, k.Group)
		}
		e := &offsetEntry{offset: val.Offset, leaderEpoch: -1, metadata: val.Metadata, commitMs: val.CommitTimestamp, expireMs: -1}
		if val.Version >= 3 {
			e.leaderEpoch = val.LeaderEpoch
		}
		if val.Version == 1 {
			e.expireMs = val.ExpireTimestamp
		}
		d.offset = e
		return d, nil
	case 2:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(rec.key); err != nil {
			return decodedRecord{}, fmt.Errorf("groupcoord: group metadata key: %w", err)
		}
		d := decodedRecord{kind: kindGroup, group: k.Group}
		if rec.value == nil {
			return d, nil
		}
		val := new(kmsg.GroupMetadataValue)
		if err := val.ReadFrom(rec.value); err != nil {
			return decodedRecord{}, fmt.Errorf("groupcoord: group metadata value for %q: %w", k.Group, err)
		}
		if val.Version < 0 || val.Version > 4 {
			return decodedRecord{}, fmt.Errorf("groupcoord: group metadata value version %d for %q", val.Version, k.Group)
		}
		d.meta = val
		return d, nil
	default:
		return decodedRecord{kind: kindOther}, nil
	}
}
