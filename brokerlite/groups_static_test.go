package brokerlite

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// waitGeneration polls cl until it is in a group generation, and returns it.
func waitGeneration(t *testing.T, cl *kgo.Client) (string, int32) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m, g := cl.GroupMetadata(); g > 0 {
			return m, g
		}
		time.Sleep(10 * time.Millisecond) // polling interval; the deadline bounds the wait
	}
	t.Fatal("client never joined its group")
	return "", 0
}

// sameGeneration polls until both clients report the same generation, and returns it.
func sameGeneration(t *testing.T, x, y *kgo.Client) int32 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, gx := x.GroupMetadata()
		_, gy := y.GroupMetadata()
		if gx == gy && gx > 0 {
			return gx
		}
		if time.Now().After(deadline) {
			t.Fatalf("members stay in generations %d and %d", gx, gy)
		}
		time.Sleep(10 * time.Millisecond) // polling interval; the deadline bounds the wait
	}
}

// TestGroupStaticMemberRestart (KIP-345): a franz-go static member (group.instance.id)
// closes without leaving and comes back with the same instance id; it takes its old place
// without a rebalance, whether it was a follower or the leader (JoinGroup v9 tells a
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

// TestGroupSurvivesBrokerRestart: the group's metadata (generation, members, assignment) is
// stored in __consumer_offsets, so a broker restart under a consuming member does not force
// a rebalance: the member keeps heartbeating in the same generation and goes on consuming.
func TestGroupSurvivesBrokerRestart(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	_, port, _ := net.SplitHostPort(b.Addr())
	c := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	createTopic(t, c, "restart-live", 6)
	seen := newConsumedLog()
	gc := startGroupConsumer(t, b, "live-g", "restart-live", "m", seen)
	waitAssigned(t, kadm.NewClient(c), "live-g", "restart-live", 6, []string{"m"})
	memberID, gen := waitGeneration(t, gc.cl)
	all := produceValues(t, c, "restart-live", "before", 60)
	waitConsumed(t, seen, len(all))
	c.Close()
	closeBroker(t, b)

	// The same port, so that the member reconnects to where it was.
	b2 := startBroker(t, dir, "listeners", "PLAINTEXT://127.0.0.1:"+port)
	c2 := newClient(t, b2, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	all = append(all, produceValues(t, c2, "restart-live", "after", 60)...)
	waitConsumed(t, seen, len(all))
	seen.check(t, all)
	if m, g := gc.cl.GroupMetadata(); m != memberID || g != gen {
		t.Fatalf("after the restart the member is %s in generation %d, want %s in %d", m, g, memberID, gen)
	}
	checkCommittedAtEnd(t, kadm.NewClient(c2), "live-g", "restart-live")
}
