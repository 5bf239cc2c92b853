package brokerlite

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupAPIKeys are the APIs served by the group coordinator's handlers.
var groupAPIKeys = []kmsg.Key{
	kmsg.OffsetCommit, kmsg.OffsetFetch, kmsg.FindCoordinator, kmsg.JoinGroup, kmsg.Heartbeat,
	kmsg.LeaveGroup, kmsg.SyncGroup, kmsg.DescribeGroups, kmsg.ListGroups, kmsg.DeleteGroups,
	kmsg.OffsetDelete,
}

// groupSeedRequests are valid requests of every group API, filled in enough to reach the
// coordinator's paths.
func groupSeedRequests() []kmsg.Request {
	join := rangeJoinReq(0, "fz", 10000, []byte{0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0})
	join.MemberID = "fz-member"
	join.InstanceID = kmsg.StringPtr("inst")

	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.MemberID, sync.Generation = "fz", "fz-member", 1
	a := kmsg.NewSyncGroupRequestGroupAssignment()
	a.MemberID, a.MemberAssignment = "fz-member", []byte{0, 0}
	sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{a}

	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = "fz", "fz-member", 1

	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Group, leave.MemberID = "fz", "fz-member"
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.MemberID, lm.InstanceID = "fz-member", kmsg.StringPtr("inst")
	leave.Members = []kmsg.LeaveGroupRequestMember{lm}

	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.Generation = "fz", -1
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic = "t"
	cp := kmsg.NewOffsetCommitRequestTopicPartition()
	cp.Offset, cp.Metadata = 5, kmsg.StringPtr("m")
	ct.Partitions = []kmsg.OffsetCommitRequestTopicPartition{cp}
	commit.Topics = []kmsg.OffsetCommitRequestTopic{ct}

	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Group = "fz"
	ft := kmsg.NewOffsetFetchRequestTopic()
	ft.Topic, ft.Partitions = "t", []int32{0}
	fetch.Topics = []kmsg.OffsetFetchRequestTopic{ft}
	fg := kmsg.NewOffsetFetchRequestGroup()
	fg.Group = "fz"
	fetch.Groups = []kmsg.OffsetFetchRequestGroup{fg}

	find := kmsg.NewPtrFindCoordinatorRequest()
	find.CoordinatorKey, find.CoordinatorKeys = "fz", []string{"fz", "other"}

	desc := kmsg.NewPtrDescribeGroupsRequest()
	desc.Groups = []string{"fz", "none"}
	list := kmsg.NewPtrListGroupsRequest()
	list.StatesFilter = []string{"Empty"}
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"fz"}
	od := offsetDeleteReq("fz", "t")
	return []kmsg.Request{join, sync, hb, leave, commit, fetch, find, desc, list, del, od}
}

// FuzzGroupHandlers decodes arbitrary request bodies at every served version of the group
// APIs and runs them through their handlers against a live coordinator: no panic, and every
// answer encodes at the request's version.
func FuzzGroupHandlers(f *testing.F) {
	for _, req := range groupSeedRequests() {
		h := handlers[req.Key()]
		for v := h.min; v <= h.max; v++ {
			req.SetVersion(v)
			f.Add(req.Key(), v, req.AppendTo(nil))
		}
	}
	b := startBroker(f, "", "offsets.topic.num.partitions", "2", "group.min.session.timeout.ms", "1")
	createTopic(f, newClient(f, b), "t", 1)
	conn := &ConnInfo{Remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, ClientID: "fuzz"}
	served := map[int16]bool{}
	for _, k := range groupAPIKeys {
		served[int16(k)] = true
	}
	f.Fuzz(func(t *testing.T, key, version int16, body []byte) {
		h, ok := handlers[key]
		if !served[key] || !ok || version < h.min || version > h.max {
			return
		}
		req := kmsg.RequestForKey(key)
		req.SetVersion(version)
		if req.ReadFrom(body) != nil {
			return
		}
		// JoinGroup and SyncGroup may wait for other members; the context bounds that.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		resp, err := h.fn(ctx, b, conn, req)
		if err != nil {
			t.Fatalf("%s v%d: %v", kmsg.NameForKey(key), version, err)
		}
		resp.SetVersion(version)
		out := resp.AppendTo(nil)
		back := req.ResponseKind()
		back.SetVersion(version)
		if err := back.ReadFrom(out); err != nil {
			t.Fatalf("%s v%d: the answer does not decode: %v", kmsg.NameForKey(key), version, err)
		}
	})
}
