package groupcoord

import (
	"context"
	"encoding/binary"
	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"hash/crc32"
	"io"
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzLoadBatch feeds arbitrary bytes to the load path as one stored batch
// of __consumer_offsets: decoding must never panic, and whatever decodes
// must rebuild into groups the coordinator can serve.
func FuzzLoadBatch(f *testing.F) {
	meta := kmsg.NewGroupMetadataValue()
	meta.Version = 3
	meta.ProtocolType = "consumer"
	p, l := "range", "m-1"
	meta.Protocol, meta.Leader = &p, &l
	mm := kmsg.NewGroupMetadataValueMember()
	mm.MemberID, mm.ClientID, mm.SessionTimeoutMillis = "m-1", "c", 10000
	meta.Members = append(meta.Members, mm)
	g := "polygenelubricants" // partition 0 of 1
	f.Add(encodeBatch([]record{
		offsetRecord(g, "t", 0, &offsetEntry{offset: 5, leaderEpoch: -1, expireMs: -1}),
		groupRecord(g, &meta),
	}, 0))
	f.Add(encodeBatch([]record{offsetRecord(g, "t", 0, nil), groupRecord(g, nil)}, 0))
	f.Add(compressedBatch(f, encodeBatch(sampleRecords(), 0), 4))
	f.Add([]byte{})
	// A transactional offset commit and its commit marker.
	tr := offsetRecord(g, "t", 1, &offsetEntry{offset: 9, leaderEpoch: -1, expireMs: -1})
	txnBatch := partlog.EncodeBatch([]partlog.KV{{Key: tr.key, Value: tr.value}}, 0, partlog.BatchOptions{ProducerID: 9, Transactional: true})
	f.Add(append(txnBatch, partlog.EncodeMarker(9, 0, true, 0, 0)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		log := newMemLog()
		// The raw bytes, and a copy with the CRC made valid so that
		// mutations reach the record decoding behind it.
		log.parts[0] = [][]byte{b, fixCRC(b)}
		c, err := Start(context.Background(), Config{
			Log:        log,
			Partitions: 1,
			Clock:      newFakeClock(),
			Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		defer c.Close()
		for _, lg := range c.ListGroups() {
			c.DescribeGroups([]string{lg.Group})
			c.FetchOffsets(lg.Group, nil)
			c.Heartbeat(HeartbeatRequest{Group: lg.Group, MemberID: "m-1", Generation: 0})
		}
	})
}

// fixCRC returns a copy of b whose first batch header carries the CRC32C
// of its contents.
func fixCRC(b []byte) []byte {
	b = append([]byte(nil), b...)
	if len(b) >= batchHeaderLen {
		end := len(b)
		if l := int(int32(binary.BigEndian.Uint32(b[8:]))); l >= 0 && batchLengthStart+l <= len(b) && batchLengthStart+l >= crcStart {
			end = batchLengthStart + l
		}
		binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[crcStart:end], castagnoli))
	}
	return b
}

// FuzzDecodeOffsetsRecord decodes arbitrary keys and values as
// __consumer_offsets records.
func FuzzDecodeOffsetsRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		f.Add(r.key, r.value)
	}
	f.Add([]byte{0, 2, 0, 1, 'g'}, []byte{0, 3, 0, 0})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		_, _ = decodeOffsetsRecord(record{key: key, value: value})
	})
}
