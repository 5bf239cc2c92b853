package brokerlite

import (
	"encoding/binary"
	"hash/crc32"
	"time"
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// buildBatch encodes an uncompressed record batch (magic 2) with one record per value, as a
// producer would send it. producerID -1 makes a non-idempotent batch.
func buildBatch(producerID int64, epoch int16, baseSeq int32, values ...string) []byte {
	now := time.Now().UnixMilli()
	var recs []byte
	for i, v := range values {
		var body []byte
		body = append(body, 0)                             // attributes
		body = binary.AppendVarint(body, 0)                // timestamp delta
		body = binary.AppendVarint(body, int64(i))         // offset delta
		body = binary.AppendVarint(body, -1)               // null key
		body = binary.AppendVarint(body, int64(len(v)))    // value length
		body = append(body, v...)                          // value
		body = binary.AppendVarint(body, 0)                // no headers
		recs = binary.AppendVarint(recs, int64(len(body))) // record length
		recs = append(recs, body...)
	}
	b := make([]byte, 61, 61+len(recs))
	binary.BigEndian.PutUint64(b[0:], 0)                      // base offset
	binary.BigEndian.PutUint32(b[8:], uint32(49+len(recs)))   // batch length
	binary.BigEndian.PutUint32(b[12:], 0xffffffff)            // partition leader epoch -1
	b[16] = 2                                                 // magic
	binary.BigEndian.PutUint16(b[21:], 0)                     // attributes
	binary.BigEndian.PutUint32(b[23:], uint32(len(values)-1)) // last offset delta
	binary.BigEndian.PutUint64(b[27:], uint64(now))           // first timestamp
	binary.BigEndian.PutUint64(b[35:], uint64(now))           // max timestamp
	binary.BigEndian.PutUint64(b[43:], uint64(producerID))    // producer id
	binary.BigEndian.PutUint16(b[51:], uint16(epoch))         // producer epoch
	binary.BigEndian.PutUint32(b[53:], uint32(baseSeq))       // base sequence
	binary.BigEndian.PutUint32(b[57:], uint32(len(values)))   // record count
	b = append(b, recs...)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32c)) // CRC32C from attributes on
	return b
}

// fixCRC recomputes a batch's CRC32C after a test changed its fields.
func fixCRC(b []byte) {
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32c))
}
