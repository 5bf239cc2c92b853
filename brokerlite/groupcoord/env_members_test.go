package groupcoord

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// join group=G [member=M] [instance=I] [client=C] [type=consumer]
//
//	[protocols=range:meta,sticky] [topics=a,b] [owned=0,1] [session=10s] [rebalance=20s]
//	[v=N] [tag=T] [reason=R]
//
// v>=4 makes a new dynamic member get MEMBER_ID_REQUIRED (KIP-394); v>=9
// marks the client as supporting skip-assignment (KIP-814). topics makes
// every protocol's metadata a consumer subscription to those topics.
func (e *env) cmdJoin(t *testing.T, d *datadriven.TestData) {
	req := JoinRequest{
		Group:            strArg(d, "group", "g"),
		MemberID:         strArg(d, "member", ""),
		InstanceID:       strArg(d, "instance", ""),
		ClientID:         strArg(d, "client", "c"),
		ClientHost:       "/127.0.0.1",
		ProtocolType:     strArg(d, "type", "consumer"),
		SessionTimeout:   durArg(t, d, "session", 0),
		RebalanceTimeout: durArg(t, d, "rebalance", 0),
		Reason:           strArg(d, "reason", ""),
	}
	if req.SessionTimeout == 0 {
		req.SessionTimeout = 10e9
	}
	if req.RebalanceTimeout == 0 {
		req.RebalanceTimeout = 20e9
	}
	v := intArg(t, d, "v", 5)
	req.RequireKnownMemberID = v >= 4
	req.SupportsSkipAssignment = v >= 9
	var meta []byte
	if topics := strArg(d, "topics", ""); topics != "" {
		cm := kmsg.NewConsumerMemberMetadata()
		cm.Topics = strings.Split(topics, ",")
		if owned := strArg(d, "owned", ""); owned != "" {
			// Cooperative clients list the partitions they own (v1+).
			cm.Version = 1
			op := kmsg.NewConsumerMemberMetadataOwnedPartition()
			op.Topic = cm.Topics[0]
			for _, p := range strings.Split(owned, ",") {
				var n int32
				fmt.Sscan(p, &n)
				op.Partitions = append(op.Partitions, n)
			}
			cm.OwnedPartitions = append(cm.OwnedPartitions, op)
		}
		meta = cm.AppendTo(nil)
	}
	if ps := strArg(d, "protocols", "range"); ps != "" {
		for _, p := range strings.Split(ps, ",") {
			name, m, hasMeta := strings.Cut(p, ":")
			pm := meta
			if hasMeta {
				pm = []byte(m)
			}
			if pm == nil {
				pm = []byte{}
			}
			req.Protocols = append(req.Protocols, Protocol{Name: name, Metadata: pm})
		}
	}
	tag := strArg(d, "tag", "")
	if tag == "" {
		tag = req.MemberID
		if tag == "" {
			tag = req.ClientID
			if req.InstanceID != "" {
				tag = req.InstanceID
			}
		}
	}
	e.c.JoinGroup(req, func(res JoinResult) { e.emit("join %s: %s", tag, formatJoin(res)) })
}

func formatJoin(r JoinResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s member=%s", errName(r.ErrorCode), r.MemberID)
	if r.ErrorCode != 0 {
		return b.String()
	}
	fmt.Fprintf(&b, " gen=%d type=%s protocol=%s leader=%s", r.Generation, r.ProtocolType, r.Protocol, r.LeaderID)
	if r.SkipAssignment {
		b.WriteString(" skip-assignment")
	}
	if r.Members != nil {
		b.WriteString(" members=[")
		for i, m := range r.Members {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(m.MemberID)
			if m.InstanceID != "" {
				fmt.Fprintf(&b, "(%s)", m.InstanceID)
			}
			if len(m.Metadata) > 0 {
				fmt.Fprintf(&b, ":%s", formatMetadata(m.Metadata))
			}
		}
		b.WriteByte(']')
	}
	return b.String()
}

// sync group=G member=M gen=N [instance=I] [assign=m1:a,m2:b] [ptype=T] [proto=P]
func (e *env) cmdSync(t *testing.T, d *datadriven.TestData) {
	req := SyncRequest{
		Group:      strArg(d, "group", "g"),
		MemberID:   strArg(d, "member", ""),
		InstanceID: strArg(d, "instance", ""),
		Generation: int32(intArg(t, d, "gen", 0)),
	}
	if d.HasArg("ptype") {
		s := strArg(d, "ptype", "")
		req.ProtocolType = &s
	}
	if d.HasArg("proto") {
		s := strArg(d, "proto", "")
		req.Protocol = &s
	}
	if as := strArg(d, "assign", ""); as != "" {
		for _, a := range strings.Split(as, ",") {
			m, v, _ := strings.Cut(a, ":")
			req.Assignments = append(req.Assignments, MemberAssignment{MemberID: m, Assignment: []byte(v)})
		}
	}
	tag := req.MemberID
	e.c.SyncGroup(req, func(res SyncResult) {
		if res.ErrorCode != 0 {
			e.emit("sync %s: %s", tag, errName(res.ErrorCode))
			return
		}
		e.emit("sync %s: NONE protocol=%s/%s assignment=%q", tag, res.ProtocolType, res.Protocol, res.Assignment)
	})
}

// heartbeat group=G member=M gen=N [instance=I]
func (e *env) cmdHeartbeat(t *testing.T, d *datadriven.TestData) string {
	code := e.c.Heartbeat(HeartbeatRequest{
		Group:      strArg(d, "group", "g"),
		MemberID:   strArg(d, "member", ""),
		InstanceID: strArg(d, "instance", ""),
		Generation: int32(intArg(t, d, "gen", 0)),
	})
	return errName(code) + "\n"
}

// leave group=G members=m1,m2 [instances=i1,-] — instances pair with members
// by position ("-" for none); members may be "-" for an instance-only leave.
func (e *env) cmdLeave(t *testing.T, d *datadriven.TestData) string {
	ms := strings.Split(strArg(d, "members", ""), ",")
	var insts []string
	if s := strArg(d, "instances", ""); s != "" {
		insts = strings.Split(s, ",")
	}
	var lms []LeaveMember
	for i, m := range ms {
		lm := LeaveMember{MemberID: m}
		if m == "-" {
			lm.MemberID = ""
		}
		if i < len(insts) && insts[i] != "-" {
			lm.InstanceID = insts[i]
		}
		lms = append(lms, lm)
	}
	res := e.c.LeaveGroup(strArg(d, "group", "g"), lms)
	var b strings.Builder
	fmt.Fprintf(&b, "%s", errName(res.ErrorCode))
	for i, code := range res.Members {
		fmt.Fprintf(&b, " %s=%s", ms[i], errName(code))
	}
	b.WriteByte('\n')
	return b.String()
}
