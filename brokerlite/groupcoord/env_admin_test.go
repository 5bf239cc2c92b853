package groupcoord

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// describe groups=g1,g2
func (e *env) cmdDescribe(t *testing.T, d *datadriven.TestData) string {
	var b strings.Builder
	for _, g := range e.c.DescribeGroups(strings.Split(strArg(d, "groups", "g"), ",")) {
		b.WriteString(formatDescription(g))
	}
	return b.String()
}

// list
func (e *env) cmdList(t *testing.T, d *datadriven.TestData) string {
	var b strings.Builder
	for _, l := range e.c.ListGroups() {
		fmt.Fprintf(&b, "%s type=%q state=%s\n", l.Group, l.ProtocolType, l.State)
	}
	if b.Len() == 0 {
		return "no groups\n"
	}
	return b.String()
}

// delete groups=g1,g2
func (e *env) cmdDelete(t *testing.T, d *datadriven.TestData) string {
	groups := strings.Split(strArg(d, "groups", "g"), ",")
	var b strings.Builder
	for i, code := range e.c.DeleteGroups(context.Background(), groups) {
		fmt.Fprintf(&b, "%s: %s\n", groups[i], errName(code))
	}
	return b.String()
}

// log [group=G]: the decoded __consumer_offsets records of the group's
// partition (or of every partition), in log order.
func (e *env) cmdLog(t *testing.T, d *datadriven.TestData) string {
	var parts []int32
	if g := strArg(d, "group", ""); g != "" {
		parts = []int32{PartitionFor(g, e.cfg.Partitions)}
	} else {
		for p := int32(0); p < e.cfg.Partitions; p++ {
			parts = append(parts, p)
		}
	}
	var b strings.Builder
	for _, p := range parts {
		e.log.mu.Lock()
		batches := e.log.parts[p]
		e.log.mu.Unlock()
		for _, batch := range batches {
			err := decodeBatches(batch, func(rec record) error {
				r, err := decodeOffsetsRecord(rec)
				if err != nil {
					fmt.Fprintf(&b, "p%d: undecodable: %v\n", p, err)
					return nil
				}
				switch {
				case r.kind == kindOffset && r.offset == nil:
					fmt.Fprintf(&b, "p%d: offset %s %s/%d: tombstone\n", p, r.group, r.topic, r.partition)
				case r.kind == kindOffset:
					fmt.Fprintf(&b, "p%d: offset %s %s/%d: %d", p, r.group, r.topic, r.partition, r.offset.offset)
					if r.offset.expireMs >= 0 {
						fmt.Fprintf(&b, " expires=+%dms", r.offset.expireMs-r.offset.commitMs)
					}
					b.WriteByte('\n')
				case r.kind == kindGroup && r.meta == nil:
					fmt.Fprintf(&b, "p%d: group %s: tombstone\n", p, r.group)
				case r.kind == kindGroup:
					proto, leader := "", ""
					if r.meta.Protocol != nil {
						proto = *r.meta.Protocol
					}
					if r.meta.Leader != nil {
						leader = *r.meta.Leader
					}
					fmt.Fprintf(&b, "p%d: group %s: gen=%d type=%s protocol=%s leader=%s members=[", p, r.group, r.meta.Generation, r.meta.ProtocolType, proto, leader)
					for i, m := range r.meta.Members {
						if i > 0 {
							b.WriteByte(' ')
						}
						fmt.Fprintf(&b, "%s:%q", m.MemberID, m.Assignment)
					}
					b.WriteString("]\n")
				}
				return nil
			})
			if err != nil {
				fmt.Fprintf(&b, "p%d: bad batch: %v\n", p, err)
			}
		}
	}
	if b.Len() == 0 {
		return "empty\n"
	}
	return b.String()
}

// corrupt-log group=G how=garbage|truncate|flip: appends a damaged batch to
// the group's partition, to show that load skips it and keeps the rest.
func (e *env) cmdCorruptLog(t *testing.T, d *datadriven.TestData) string {
	p := PartitionFor(strArg(d, "group", "g"), e.cfg.Partitions)
	good := encodeBatch([]record{offsetRecord(strArg(d, "group", "g"), "bad", 0, &offsetEntry{offset: 999, leaderEpoch: -1, expireMs: -1})}, 0)
	var bad []byte
	switch strArg(d, "how", "garbage") {
	case "garbage":
		bad = []byte("this is not a record batch at all, not even close")
	case "truncate":
		bad = good[:len(good)-5]
	case "flip":
		bad = append([]byte(nil), good...)
		bad[len(bad)-3] ^= 0xff
	case "bad-record":
		// A valid batch whose record key is not a __consumer_offsets key.
		bad = encodeBatch([]record{{key: []byte{0, 1, 0xff}, value: []byte{1}}}, 0)
	}
	e.log.mu.Lock()
	e.log.parts[p] = append(e.log.parts[p], bad)
	e.log.mu.Unlock()
	return ""
}
