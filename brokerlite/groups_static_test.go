package brokerlite

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

// waitGeneration polls cl until it is in a group generation, and returns it.
func waitGeneration(t *testing.T, cl *kgo.Client) (string, int32) {
	t.Helper()
	var m string
	var g int32
	testutil.Eventually(t, 30*time.Second, "client joined its group", func() bool { m, g = cl.GroupMetadata(); return g > 0 })
	return m, g
}

// sameGeneration polls until both clients report the same generation, and returns it.
func sameGeneration(t *testing.T, x, y *kgo.Client) int32 {
	t.Helper()
	var gx, gy int32
	if !testutil.Poll(30*time.Second, func() bool {
		_, gx = x.GroupMetadata()
		_, gy = y.GroupMetadata()
		return gx == gy && gx > 0
	}) {
		t.Fatalf("members stay in generations %d and %d", gx, gy)
	}
	return gx
}

// TestGroupStaticMemberRestart (KIP-345): a franz-go static member (group.instance.id)
// closes without leaving and comes back with the same instance id; it takes its old place
// without a rebalance, whether it was a follower or the group leader (JoinGroup v9 tells a
// returning leader to skip the assignment, KIP-814), and the other member never loses its
// partitions.
func TestGroupStaticMemberRestart(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	adm := kadm.NewClient(c)
	createTopic(t, c, "static", 4)
	revokes := map[*kgo.Client]*atomic.Int32{}
	newMember := func(instance string) *kgo.Client {
		n := new(atomic.Int32)
		cl, err := kgo.NewClient(
			kgo.SeedBrokers(b.Addr()), kgo.ClientID(instance),
			kgo.ConsumerGroup("static-g"), kgo.ConsumeTopics("static"), kgo.InstanceID(instance),
			// The range balancer orders static members by instance id, so the restarted
			// leader's own plan (which franz-go computes despite skip_assignment and
			// compares with what the broker returned) equals the stored one. With
			// cooperative-sticky the restarted leader owns nothing yet, its plan can
			// differ, and franz-go then rejoins by its own choice.
			kgo.Balancers(kgo.RangeBalancer()),
			kgo.SessionTimeout(30*time.Second), kgo.HeartbeatInterval(100*time.Millisecond),
			kgo.OnPartitionsRevoked(func(context.Context, *kgo.Client, map[string][]int32) { n.Add(1) }),
		)
		if err != nil {
			t.Fatal(err)
		}
		revokes[cl] = n
		go func() { // drive the consumer; PollFetches returns once the client is closed
			for {
				if fs := cl.PollFetches(context.Background()); fs.IsClientClosed() {
					return
				}
			}
		}()
		return cl
	}
	members := map[string]*kgo.Client{"inst-a": newMember("inst-a")}
	waitGeneration(t, members["inst-a"])
	members["inst-b"] = newMember("inst-b")
	waitGeneration(t, members["inst-b"])
	waitAssigned(t, adm, "static-g", "static", 4, []string{"inst-a", "inst-b"})
	gen := sameGeneration(t, members["inst-a"], members["inst-b"])

	// inst-a joined first and leads: restart it, then restart inst-b, a follower.
	for _, round := range []struct{ restart, other string }{{"inst-a", "inst-b"}, {"inst-b", "inst-a"}} {
		other := members[round.other]
		before := revokes[other].Load()
		old := members[round.restart]
		oldMember, _ := old.GroupMetadata()
		old.Close() // a static member does not send LeaveGroup
		fresh := newMember(round.restart)
		members[round.restart] = fresh
		member, g := waitGeneration(t, fresh)
		if member == oldMember {
			t.Fatalf("%s: member id %s unchanged; a restarted static member gets a new one", round.restart, member)
		}
		if g != gen {
			t.Fatalf("%s restarted into generation %d, want %d (no rebalance)", round.restart, g, gen)
		}
		waitAssigned(t, adm, "static-g", "static", 4, []string{"inst-a", "inst-b"})
		if g := sameGeneration(t, fresh, other); g != gen {
			t.Fatalf("after %s restarted: generation %d, want %d", round.restart, g, gen)
		}
		if n := revokes[other].Load() - before; n != 0 {
			t.Fatalf("%s lost its partitions %d times while %s restarted", round.other, n, round.restart)
		}
	}
	defer members["inst-a"].Close()
	defer members["inst-b"].Close()
	groups, err := adm.DescribeGroups(testCtx(t), "static-g")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range groups["static-g"].Members {
		if m.InstanceID == nil || *m.InstanceID != m.ClientID {
			t.Fatalf("member %+v has no instance id", m)
		}
	}
}

// TestGroupSurvivesBrokerRestart: the group's metadata (generation, members, leader,
// assignments) is stored in __consumer_offsets, so after a broker restart a member carries
// on in its generation: its heartbeats and commits are accepted and it still gets its
// assignment, with no rebalance. (franz-go may choose to rejoin when its heartbeats fail
// while the broker is down; the raw protocol shows what the broker keeps.)
func TestGroupSurvivesBrokerRestart(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	createTopic(t, newClient(t, b), "restart-live", 2)
	rc := dialGroupRaw(t, b)
	join := rangeJoinReq(5, "live-g", 30000, []byte("sub"))
	jr := rc.do(join).(*kmsg.JoinGroupResponse)
	join.MemberID = jr.MemberID // MEMBER_ID_REQUIRED first
	jr = rc.do(join).(*kmsg.JoinGroupResponse)
	wantGroupCode(t, "join", jr.ErrorCode, nil)
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.SetVersion(3)
	sync.Group, sync.MemberID, sync.Generation = "live-g", jr.MemberID, jr.Generation
	a := kmsg.NewSyncGroupRequestGroupAssignment()
	a.MemberID, a.MemberAssignment = jr.MemberID, []byte("my-partitions")
	sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{a}
	wantGroupCode(t, "sync", rc.do(sync).(*kmsg.SyncGroupResponse).ErrorCode, nil)
	closeBroker(t, b)

	b2 := startBroker(t, dir)
	rc = dialGroupRaw(t, b2)
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.SetVersion(3)
	hb.Group, hb.MemberID, hb.Generation = "live-g", jr.MemberID, jr.Generation
	wantGroupCode(t, "heartbeat after restart", rc.do(hb).(*kmsg.HeartbeatResponse).ErrorCode, nil)
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.SetVersion(7)
	commit.Group, commit.MemberID, commit.Generation = "live-g", jr.MemberID, jr.Generation
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic = "restart-live"
	ct.Partitions = []kmsg.OffsetCommitRequestTopicPartition{kmsg.NewOffsetCommitRequestTopicPartition()}
	commit.Topics = []kmsg.OffsetCommitRequestTopic{ct}
	wantGroupCode(t, "commit after restart", rc.do(commit).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode, nil)
	// A follower-style rejoin with unchanged metadata would rebalance for the group leader, so
	// ask for the assignment the Kafka way: SyncGroup in the Stable generation.
	sync.GroupAssignment = nil
	sr := rc.do(sync).(*kmsg.SyncGroupResponse)
	wantGroupCode(t, "sync after restart", sr.ErrorCode, nil)
	if string(sr.MemberAssignment) != "my-partitions" {
		t.Fatalf("assignment after restart %q", sr.MemberAssignment)
	}
	desc := kmsg.NewPtrDescribeGroupsRequest()
	desc.Groups = []string{"live-g"}
	d := rc.do(desc).(*kmsg.DescribeGroupsResponse).Groups[0]
	if d.State != "Stable" || d.Protocol != "range" || len(d.Members) != 1 || d.Members[0].MemberID != jr.MemberID {
		t.Fatalf("group after restart: %+v", d)
	}
}
