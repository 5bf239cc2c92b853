package brokerlite

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupRawConn speaks the protocol at exactly the version each request carries, which a client
// library would negotiate away; the group APIs are checked at every version they serve.
type groupRawConn struct {
	t    *testing.T
	c    net.Conn
	r    *bufio.Reader
	f    *kmsg.RequestFormatter
	corr int32
}

// rangeJoinReq is a consumer's JoinGroup at version v: group, both timeouts timeoutMs, and
// one protocol, "range", with metadata meta.
func rangeJoinReq(v int16, group string, timeoutMs int32, meta []byte) *kmsg.JoinGroupRequest {
	join := kmsg.NewPtrJoinGroupRequest()
	join.SetVersion(v)
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis, join.ProtocolType = group, timeoutMs, timeoutMs, "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", meta
	join.Protocols = []kmsg.JoinGroupRequestProtocol{p}
	return join
}

// offsetDeleteReq is an OffsetDelete of group's offset for partition 0 of topic.
func offsetDeleteReq(group, topic string) *kmsg.OffsetDeleteRequest {
	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Group = group
	odt := kmsg.NewOffsetDeleteRequestTopic()
	odt.Topic = topic
	odt.Partitions = []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}
	od.Topics = []kmsg.OffsetDeleteRequestTopic{odt}
	return od
}

func dialGroupRaw(t *testing.T, b *Broker) *groupRawConn {
	t.Helper()
	c, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &groupRawConn{t: t, c: c, r: bufio.NewReader(c), f: kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw-client"))}
}

// do sends req at req.GetVersion() and decodes the answer at the same version.
func (rc *groupRawConn) do(req kmsg.Request) kmsg.Response {
	rc.t.Helper()
	rc.corr++
	if err := rc.c.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		rc.t.Fatal(err)
	}
	if _, err := rc.c.Write(rc.f.AppendRequest(nil, req, rc.corr)); err != nil {
		rc.t.Fatalf("%s v%d: write: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	var size [4]byte
	if _, err := io.ReadFull(rc.r, size[:]); err != nil {
		rc.t.Fatalf("%s v%d: read: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(rc.r, body); err != nil {
		rc.t.Fatalf("%s v%d: read: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	if corr := int32(binary.BigEndian.Uint32(body)); corr != rc.corr {
		rc.t.Fatalf("correlation id %d, want %d", corr, rc.corr)
	}
	body = body[4:]
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() {
		body = skipGroupHeaderTags(rc.t, body)
	}
	if err := resp.ReadFrom(body); err != nil {
		rc.t.Fatalf("%s v%d: decoding the response: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp
}

func skipGroupHeaderTags(t *testing.T, b []byte) []byte {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		t.Fatal("bad response header tags")
	}
	b = b[k:]
	for ; n > 0; n-- {
		_, k = binary.Uvarint(b)
		b = b[k:]
		l, k := binary.Uvarint(b)
		b = b[k+int(l):]
	}
	return b
}

func wantGroupCode(t *testing.T, what string, got int16, want error) {
	t.Helper()
	wantGroupCode := int16(0)
	if want != nil {
		wantGroupCode = want.(*kerr.Error).Code
	}
	if got != wantGroupCode {
		t.Fatalf("%s: %v, want %v", what, kerr.ErrorForCode(got), want)
	}
}

// TestGroupAPIsEveryVersion runs a whole membership round (join, sync, heartbeat, commit,
// fetch, describe, leave) at every version of each group API.
func TestGroupAPIsEveryVersion(t *testing.T) {
	b := startBroker(t, "")
	createTopic(t, newClient(t, b), "vt", 2)
	rc := dialGroupRaw(t, b)
	for v := int16(0); v <= 9; v++ {
		group := fmt.Sprintf("jv%d", v)
		join := rangeJoinReq(v, group, 10000, []byte("meta"))
		jr := rc.do(join).(*kmsg.JoinGroupResponse)
		if v >= 4 {
			wantGroupCode(t, fmt.Sprintf("JoinGroup v%d first join", v), jr.ErrorCode, kerr.MemberIDRequired)
			join.MemberID = jr.MemberID
			jr = rc.do(join).(*kmsg.JoinGroupResponse)
		}
		wantGroupCode(t, fmt.Sprintf("JoinGroup v%d", v), jr.ErrorCode, nil)
		if jr.Generation != 1 || jr.LeaderID != jr.MemberID || len(jr.Members) != 1 || string(jr.Members[0].ProtocolMetadata) != "meta" {
			t.Fatalf("JoinGroup v%d: %+v", v, jr)
		}
		if v >= 7 && (jr.ProtocolType == nil || *jr.ProtocolType != "consumer" || jr.Protocol == nil || *jr.Protocol != "range") {
			t.Fatalf("JoinGroup v%d: protocol type/name %v/%v", v, jr.ProtocolType, jr.Protocol)
		}
		if v < 7 && (jr.Protocol == nil || *jr.Protocol != "range") {
			t.Fatalf("JoinGroup v%d: protocol %v", v, jr.Protocol)
		}
		member := jr.MemberID

		sync := kmsg.NewPtrSyncGroupRequest()
		sync.SetVersion(min(v, 5))
		sync.Group, sync.Generation, sync.MemberID = group, jr.Generation, member
		if sync.Version >= 5 {
			sync.ProtocolType, sync.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
		}
		a := kmsg.NewSyncGroupRequestGroupAssignment()
		a.MemberID, a.MemberAssignment = member, []byte("assignment")
		sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{a}
		sr := rc.do(sync).(*kmsg.SyncGroupResponse)
		wantGroupCode(t, fmt.Sprintf("SyncGroup v%d", sync.Version), sr.ErrorCode, nil)
		if string(sr.MemberAssignment) != "assignment" {
			t.Fatalf("SyncGroup v%d: assignment %q", sync.Version, sr.MemberAssignment)
		}

		hb := kmsg.NewPtrHeartbeatRequest()
		hb.SetVersion(min(v, 4))
		hb.Group, hb.Generation, hb.MemberID = group, jr.Generation, member
		wantGroupCode(t, fmt.Sprintf("Heartbeat v%d", hb.Version), rc.do(hb).(*kmsg.HeartbeatResponse).ErrorCode, nil)
		hb.Generation = 7
		wantGroupCode(t, fmt.Sprintf("Heartbeat v%d stale", hb.Version), rc.do(hb).(*kmsg.HeartbeatResponse).ErrorCode, kerr.IllegalGeneration)

		desc := kmsg.NewPtrDescribeGroupsRequest()
		desc.SetVersion(min(v, 6))
		desc.Groups = []string{group}
		dr := rc.do(desc).(*kmsg.DescribeGroupsResponse)
		if len(dr.Groups) != 1 || dr.Groups[0].State != "Stable" || len(dr.Groups[0].Members) != 1 ||
			string(dr.Groups[0].Members[0].MemberAssignment) != "assignment" || dr.Groups[0].Members[0].ClientID != "raw-client" ||
			dr.Groups[0].Members[0].ClientHost != "/127.0.0.1" {
			t.Fatalf("DescribeGroups v%d: %+v", desc.Version, dr.Groups)
		}

		leave := kmsg.NewPtrLeaveGroupRequest()
		leave.SetVersion(min(v, 5))
		leave.Group = group
		if leave.Version < 3 {
			leave.MemberID = member
		} else {
			lm := kmsg.NewLeaveGroupRequestMember()
			lm.MemberID = member
			unknown := kmsg.NewLeaveGroupRequestMember()
			unknown.MemberID = "nobody"
			leave.Members = []kmsg.LeaveGroupRequestMember{lm, unknown}
		}
		lr := rc.do(leave).(*kmsg.LeaveGroupResponse)
		wantGroupCode(t, fmt.Sprintf("LeaveGroup v%d", leave.Version), lr.ErrorCode, nil)
		if leave.Version >= 3 && (len(lr.Members) != 2 || lr.Members[0].ErrorCode != 0 || lr.Members[1].ErrorCode != kerr.UnknownMemberID.Code) {
			t.Fatalf("LeaveGroup v%d: members %+v", leave.Version, lr.Members)
		}
		dr = rc.do(desc).(*kmsg.DescribeGroupsResponse)
		if dr.Groups[0].State != "Empty" {
			t.Fatalf("after LeaveGroup v%d: state %s", leave.Version, dr.Groups[0].State)
		}
	}
	// LeaveGroup v0-v2 report the member's error at the top.
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.SetVersion(1)
	leave.Group, leave.MemberID = "jv1", "nobody"
	wantGroupCode(t, "LeaveGroup v1 unknown member", rc.do(leave).(*kmsg.LeaveGroupResponse).ErrorCode, kerr.UnknownMemberID)
}

// TestOffsetAPIsEveryVersion commits at every OffsetCommit version and reads back at every
// OffsetFetch version.
func TestOffsetAPIsEveryVersion(t *testing.T) {
	b := startBroker(t, "")
	createTopic(t, newClient(t, b), "ot", 2)
	rc := dialGroupRaw(t, b)
	for v := int16(0); v <= 9; v++ {
		commit := kmsg.NewPtrOffsetCommitRequest()
		commit.SetVersion(v)
		commit.Group, commit.Generation = fmt.Sprintf("oc%d", v), -1
		ct := kmsg.NewOffsetCommitRequestTopic()
		ct.Topic = "ot"
		for p := int32(0); p < 3; p++ { // partition 2 does not exist
			cp := kmsg.NewOffsetCommitRequestTopicPartition()
			cp.Partition, cp.Offset, cp.LeaderEpoch, cp.Metadata = p, int64(100*v)+int64(p), 5, kmsg.StringPtr("meta")
			ct.Partitions = append(ct.Partitions, cp)
		}
		commit.Topics = []kmsg.OffsetCommitRequestTopic{ct}
		cr := rc.do(commit).(*kmsg.OffsetCommitResponse)
		if len(cr.Topics) != 1 || len(cr.Topics[0].Partitions) != 3 {
			t.Fatalf("OffsetCommit v%d: %+v", v, cr)
		}
		for i, p := range cr.Topics[0].Partitions {
			want := error(nil)
			if i == 2 {
				want = kerr.UnknownTopicOrPartition
			}
			wantGroupCode(t, fmt.Sprintf("OffsetCommit v%d p%d", v, p.Partition), p.ErrorCode, want)
		}
	}
	for fv := int16(0); fv <= 9; fv++ {
		for v := int16(0); v <= 9; v++ {
			group := fmt.Sprintf("oc%d", v)
			fetch := kmsg.NewPtrOffsetFetchRequest()
			fetch.SetVersion(fv)
			parts := []int32{0, 1}
			var got []kmsg.OffsetFetchResponseTopicPartition
			if fv >= 8 {
				rg := kmsg.NewOffsetFetchRequestGroup()
				rg.Group = group
				if fv%2 == 0 { // even versions ask for all topics (null)
					ft := kmsg.NewOffsetFetchRequestGroupTopic()
					ft.Topic, ft.Partitions = "ot", parts
					rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{ft}
				}
				fetch.Groups = []kmsg.OffsetFetchRequestGroup{rg}
				fr := rc.do(fetch).(*kmsg.OffsetFetchResponse)
				if len(fr.Groups) != 1 || fr.Groups[0].ErrorCode != 0 || len(fr.Groups[0].Topics) != 1 {
					t.Fatalf("OffsetFetch v%d: %+v", fv, fr)
				}
				for _, p := range fr.Groups[0].Topics[0].Partitions {
					got = append(got, kmsg.OffsetFetchResponseTopicPartition{Partition: p.Partition, Offset: p.Offset, LeaderEpoch: p.LeaderEpoch, Metadata: p.Metadata, ErrorCode: p.ErrorCode})
				}
			} else {
				fetch.Group = group
				if fv < 2 || fv%2 == 0 {
					ft := kmsg.NewOffsetFetchRequestTopic()
					ft.Topic, ft.Partitions = "ot", parts
					fetch.Topics = []kmsg.OffsetFetchRequestTopic{ft}
				}
				fr := rc.do(fetch).(*kmsg.OffsetFetchResponse)
				if fr.ErrorCode != 0 || len(fr.Topics) != 1 {
					t.Fatalf("OffsetFetch v%d: %+v", fv, fr)
				}
				got = fr.Topics[0].Partitions
			}
			if len(got) != 2 {
				t.Fatalf("OffsetFetch v%d of %s: %+v", fv, group, got)
			}
			for _, p := range got {
				wantOff := int64(100*v) + int64(p.Partition)
				wantEpoch := int32(-1)
				if v >= 6 {
					wantEpoch = 5
				}
				if p.Offset != wantOff || p.ErrorCode != 0 || p.Metadata == nil || *p.Metadata != "meta" || (fv >= 5 && p.LeaderEpoch != wantEpoch) {
					t.Fatalf("OffsetFetch v%d of %s: partition %+v, want offset %d epoch %d", fv, group, p, wantOff, wantEpoch)
				}
			}
		}
	}
	// v8+: several groups at once, one of them unknown (no offsets, no error).
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.SetVersion(8)
	for _, g := range []string{"oc1", "never-committed", "oc2"} {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = g
		fetch.Groups = append(fetch.Groups, rg)
	}
	fr := rc.do(fetch).(*kmsg.OffsetFetchResponse)
	if len(fr.Groups) != 3 || len(fr.Groups[0].Topics) != 1 || len(fr.Groups[1].Topics) != 0 || fr.Groups[1].ErrorCode != 0 || len(fr.Groups[2].Topics) != 1 {
		t.Fatalf("OffsetFetch v8 batch: %+v", fr.Groups)
	}
	// OffsetCommit v2 with a retention time is accepted.
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.SetVersion(2)
	commit.Group, commit.Generation, commit.RetentionTimeMillis = "retained", -1, 60000
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic = "ot"
	cp := kmsg.NewOffsetCommitRequestTopicPartition()
	cp.Offset = 3
	ct.Partitions = []kmsg.OffsetCommitRequestTopicPartition{cp}
	commit.Topics = []kmsg.OffsetCommitRequestTopic{ct}
	wantGroupCode(t, "OffsetCommit v2 with retention", rc.do(commit).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode, nil)
}

// TestFindCoordinatorEveryVersion: the broker is the coordinator of every group (the empty
// group id too, as in Kafka); v4 batches keys; unknown key types get INVALID_REQUEST.
func TestFindCoordinatorEveryVersion(t *testing.T) {
	b := startBroker(t, "")
	rc := dialGroupRaw(t, b)
	host, port := b.advertisedHostPort()
	for v := int16(0); v <= 4; v++ {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.SetVersion(v)
		if v >= 4 {
			req.CoordinatorKeys = []string{"g1", "", "g2"}
			resp := rc.do(req).(*kmsg.FindCoordinatorResponse)
			if len(resp.Coordinators) != 3 {
				t.Fatalf("v4: %+v", resp)
			}
			for i, c := range resp.Coordinators {
				if c.ErrorCode != 0 || c.NodeID != b.NodeID() || c.Host != host || c.Port != port || c.Key != req.CoordinatorKeys[i] {
					t.Fatalf("v4 key %d: %+v", i, c)
				}
			}
		} else {
			req.CoordinatorKey = "g1"
			resp := rc.do(req).(*kmsg.FindCoordinatorResponse)
			if resp.ErrorCode != 0 || resp.NodeID != b.NodeID() || resp.Host != host || resp.Port != port {
				t.Fatalf("v%d: %+v", v, resp)
			}
		}
	}
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.SetVersion(3)
	req.CoordinatorKey, req.CoordinatorType = "txn-1", 1
	if resp := rc.do(req).(*kmsg.FindCoordinatorResponse); resp.ErrorCode != 0 || resp.NodeID != b.NodeID() {
		t.Fatalf("transaction key: %+v", resp)
	}
	req.CoordinatorType = 2
	wantGroupCode(t, "share-group key type", rc.do(req).(*kmsg.FindCoordinatorResponse).ErrorCode, kerr.InvalidRequest)
}

// TestGroupAdminEveryVersion: ListGroups (state and type filters), DescribeGroups of an
// unknown group (Dead, then GROUP_ID_NOT_FOUND at v6), DeleteGroups and OffsetDelete.
func TestGroupAdminEveryVersion(t *testing.T) {
	b := startBroker(t, "")
	createTopic(t, newClient(t, b), "at", 1)
	rc := dialGroupRaw(t, b)
	// One stable group with a member, one offsets-only group.
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{"at"}
	join := rangeJoinReq(3, "active", 30000, meta.AppendTo(nil))
	jr := rc.do(join).(*kmsg.JoinGroupResponse)
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.SetVersion(3)
	sync.Group, sync.Generation, sync.MemberID = "active", jr.Generation, jr.MemberID
	wantGroupCode(t, "sync", rc.do(sync).(*kmsg.SyncGroupResponse).ErrorCode, nil)
	for _, g := range []string{"active", "idle"} {
		commit := kmsg.NewPtrOffsetCommitRequest()
		commit.SetVersion(8)
		commit.Group, commit.Generation = g, -1
		if g == "active" {
			commit.Generation, commit.MemberID = jr.Generation, jr.MemberID
		}
		ct := kmsg.NewOffsetCommitRequestTopic()
		ct.Topic = "at"
		ct.Partitions = []kmsg.OffsetCommitRequestTopicPartition{kmsg.NewOffsetCommitRequestTopicPartition()}
		commit.Topics = []kmsg.OffsetCommitRequestTopic{ct}
		wantGroupCode(t, "commit "+g, rc.do(commit).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode, nil)
	}
	for v := int16(0); v <= 5; v++ {
		list := kmsg.NewPtrListGroupsRequest()
		list.SetVersion(v)
		lr := rc.do(list).(*kmsg.ListGroupsResponse)
		if lr.ErrorCode != 0 || len(lr.Groups) != 2 || lr.Groups[0].Group != "active" || lr.Groups[0].ProtocolType != "consumer" || lr.Groups[1].Group != "idle" {
			t.Fatalf("ListGroups v%d: %+v", v, lr)
		}
		if v >= 4 {
			if lr.Groups[0].GroupState != "Stable" || lr.Groups[1].GroupState != "Empty" {
				t.Fatalf("ListGroups v%d states: %+v", v, lr.Groups)
			}
			list.StatesFilter = []string{"empty"}
			if lr := rc.do(list).(*kmsg.ListGroupsResponse); len(lr.Groups) != 1 || lr.Groups[0].Group != "idle" {
				t.Fatalf("ListGroups v%d filtered by Empty: %+v", v, lr.Groups)
			}
		}
		if v >= 5 {
			list.StatesFilter = nil
			list.TypesFilter = []string{"consumer"}
			if lr := rc.do(list).(*kmsg.ListGroupsResponse); len(lr.Groups) != 0 {
				t.Fatalf("ListGroups v5 type consumer (KIP-848 groups): %+v", lr.Groups)
			}
			list.TypesFilter = []string{"Classic"}
			if lr := rc.do(list).(*kmsg.ListGroupsResponse); len(lr.Groups) != 2 || lr.Groups[0].GroupType != "classic" {
				t.Fatalf("ListGroups v5 type classic: %+v", lr.Groups)
			}
		}
	}
	for v := int16(0); v <= 6; v++ {
		desc := kmsg.NewPtrDescribeGroupsRequest()
		desc.SetVersion(v)
		desc.Groups = []string{"missing"}
		d := rc.do(desc).(*kmsg.DescribeGroupsResponse).Groups[0]
		want := error(nil)
		if v >= 6 {
			want = kerr.GroupIDNotFound
		}
		wantGroupCode(t, fmt.Sprintf("DescribeGroups v%d of an unknown group", v), d.ErrorCode, want)
		if d.State != "Dead" {
			t.Fatalf("DescribeGroups v%d of an unknown group: state %s", v, d.State)
		}
	}
	// OffsetDelete: the active consumer group subscribes to "at".
	od := offsetDeleteReq("active", "at")
	odr := rc.do(od).(*kmsg.OffsetDeleteResponse)
	wantGroupCode(t, "OffsetDelete subscribed", odr.Topics[0].Partitions[0].ErrorCode, kerr.GroupSubscribedToTopic)
	od.Group = "idle"
	odr = rc.do(od).(*kmsg.OffsetDeleteResponse)
	wantGroupCode(t, "OffsetDelete idle", odr.ErrorCode, nil)
	wantGroupCode(t, "OffsetDelete idle partition", odr.Topics[0].Partitions[0].ErrorCode, nil)
	od.Group = "missing"
	wantGroupCode(t, "OffsetDelete unknown group", rc.do(od).(*kmsg.OffsetDeleteResponse).ErrorCode, kerr.GroupIDNotFound)

	for v := int16(0); v <= 3; v++ {
		del := kmsg.NewPtrDeleteGroupsRequest()
		del.SetVersion(v)
		del.Groups = []string{"active", "missing"}
		dr := rc.do(del).(*kmsg.DeleteGroupsResponse)
		wantGroupCode(t, fmt.Sprintf("DeleteGroups v%d active", v), dr.Groups[0].ErrorCode, kerr.NonEmptyGroup)
		wantGroupCode(t, fmt.Sprintf("DeleteGroups v%d missing", v), dr.Groups[1].ErrorCode, kerr.GroupIDNotFound)
		if v >= 3 && dr.Groups[0].ErrorMessage == nil {
			t.Fatalf("DeleteGroups v3: no error message")
		}
	}
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.SetVersion(2)
	del.Groups = []string{"idle"}
	wantGroupCode(t, "DeleteGroups idle", rc.do(del).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode, nil)
	list := kmsg.NewPtrListGroupsRequest()
	if lr := rc.do(list).(*kmsg.ListGroupsResponse); len(lr.Groups) != 1 {
		t.Fatalf("after DeleteGroups: %+v", lr.Groups)
	}
}

// TestConsumerOffsetsInternalTopic: __consumer_offsets exists, is internal and compacted,
// has offsets.topic.num.partitions partitions, and clients cannot write to it.
func TestConsumerOffsetsInternalTopic(t *testing.T) {
	b := startBroker(t, "", "offsets.topic.num.partitions", "7")
	rc := dialGroupRaw(t, b)
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(9)
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(consumerOffsetsTopic)
	md.Topics = []kmsg.MetadataRequestTopic{mt}
	mr := rc.do(md).(*kmsg.MetadataResponse)
	if len(mr.Topics) != 1 || mr.Topics[0].ErrorCode != 0 || !mr.Topics[0].IsInternal || len(mr.Topics[0].Partitions) != 7 {
		t.Fatalf("metadata of %s: %+v", consumerOffsetsTopic, mr.Topics)
	}
	dc := kmsg.NewPtrDescribeConfigsRequest()
	dc.SetVersion(4)
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName, res.ConfigNames = kmsg.ConfigResourceTypeTopic, consumerOffsetsTopic, []string{"cleanup.policy"}
	dc.Resources = []kmsg.DescribeConfigsRequestResource{res}
	dr := rc.do(dc).(*kmsg.DescribeConfigsResponse)
	if len(dr.Resources) != 1 || len(dr.Resources[0].Configs) != 1 || dr.Resources[0].Configs[0].Value == nil || *dr.Resources[0].Configs[0].Value != "compact" {
		t.Fatalf("cleanup.policy of %s: %+v", consumerOffsetsTopic, dr.Resources)
	}
}
