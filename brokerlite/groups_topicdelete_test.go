package brokerlite

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// commitAt commits offset at for every partition of each topic, for group (a standalone
// commit, as kadm sends it), and fails the test on any error.
func commitAt(t *testing.T, adm *kadm.Client, group string, at int64, parts int32, topics ...string) {
	t.Helper()
	os := kadm.Offsets{}
	for _, tp := range topics {
		for p := int32(0); p < parts; p++ {
			os.Add(kadm.Offset{Topic: tp, Partition: p, At: at, LeaderEpoch: -1})
		}
	}
	resp, err := adm.CommitOffsets(testCtx(t), group, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("commit %s: %v", group, err)
	}
}

// startWithTopics starts a broker in a new directory and creates topics (name: partition
// count) through a client, which it returns with an admin client on it.
func startWithTopics(t *testing.T, topics map[string]int32) (string, *Broker, *kgo.Client, *kadm.Client) {
	t.Helper()
	dir := t.TempDir()
	b := startBroker(t, dir)
	c := newClient(t, b)
	for _, name := range slices.Sorted(maps.Keys(topics)) {
		createTopic(t, c, name, topics[name])
	}
	return dir, b, c, kadm.NewClient(c)
}

// committedTopics returns the topics group has committed offsets for, with their count.
func committedTopics(t *testing.T, adm *kadm.Client, group string) map[string]int {
	t.Helper()
	fetched, err := adm.FetchOffsets(testCtx(t), group)
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	out := map[string]int{}
	fetched.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil {
			t.Fatalf("fetch offsets of %s: %s-%d: %v", group, o.Topic, o.Partition, o.Err)
		}
		out[o.Topic]++
	})
	return out
}

// TestDeleteTopicRemovesCommittedOffsets: DeleteTopics removes every group's committed
// offsets for the topic (Kafka's behaviour), and only those: other topics' offsets stay, a
// topic created again under the same name starts with nothing committed, and the removal
// is durable (tombstones in __consumer_offsets) across a restart.
func TestDeleteTopicRemovesCommittedOffsets(t *testing.T) {
	dir, b, c, adm := startWithTopics(t, map[string]int32{"doomed": 3, "kept": 2})
	commitAt(t, adm, "g-both", 7, 2, "doomed", "kept")
	commitAt(t, adm, "g-doomed", 9, 3, "doomed")
	commitAt(t, adm, "g-kept", 5, 2, "kept")

	resp, err := adm.DeleteTopics(testCtx(t), "doomed")
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Error(); err != nil {
		t.Fatal(err)
	}
	check := func(adm *kadm.Client, when string) {
		t.Helper()
		if got := committedTopics(t, adm, "g-both"); len(got) != 1 || got["kept"] != 2 {
			t.Fatalf("%s: g-both has offsets for %v, want only kept's 2 partitions", when, got)
		}
		if got := committedTopics(t, adm, "g-doomed"); len(got) != 0 {
			t.Fatalf("%s: g-doomed has offsets for %v, want none", when, got)
		}
		if got := committedTopics(t, adm, "g-kept"); len(got) != 1 || got["kept"] != 2 {
			t.Fatalf("%s: g-kept has offsets for %v, want kept's 2 partitions", when, got)
		}
	}
	check(adm, "after DeleteTopics")

	// The same name again: nothing committed (no stale offset 9 to resume from).
	createTopic(t, c, "doomed", 3)
	fetched, err := adm.FetchOffsets(testCtx(t), "g-doomed")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := fetched.Lookup("doomed", 0); ok && o.At >= 0 {
		t.Fatalf("recreated topic: g-doomed committed %+v, want nothing", o)
	}

	// The tombstones are in __consumer_offsets: a restart rebuilds the same state.
	c.Close()
	closeBroker(t, b)
	b2 := startBroker(t, dir)
	check(kadm.NewClient(newClient(t, b2)), "after restart")
}

// TestConcurrentCommitsDurable: committers with their own connections commit in parallel,
// to one group and to several (their writes share fsync rounds across __consumer_offsets
// partitions, and a group's commits wait for their fsync without holding the group); every
// answer comes after its commit is durable, so a restart finds the last offset of each.
func TestConcurrentCommitsDurable(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	createTopic(t, newClient(t, b), "cc", 8)
	const committers, rounds = 8, 20
	group := func(i int) string {
		if i%2 == 0 {
			return "cc-shared"
		}
		return fmt.Sprintf("cc-own-%d", i)
	}
	var wg sync.WaitGroup
	for i := 0; i < committers; i++ {
		adm := kadm.NewClient(newClient(t, b))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := int64(1); r <= rounds; r++ {
				os := kadm.Offsets{}
				os.Add(kadm.Offset{Topic: "cc", Partition: int32(i), At: r, LeaderEpoch: -1})
				resp, err := adm.CommitOffsets(testCtx(t), group(i), os)
				if err == nil {
					err = resp.Error()
				}
				if err != nil {
					t.Errorf("committer %d round %d: %v", i, r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	check := func(b *Broker, when string) {
		adm := kadm.NewClient(newClient(t, b))
		for i := 0; i < committers; i++ {
			fetched, err := adm.FetchOffsets(testCtx(t), group(i))
			if err != nil {
				t.Fatal(err)
			}
			if o, ok := fetched.Lookup("cc", int32(i)); !ok || o.At != rounds {
				t.Errorf("%s: %s partition %d committed %+v, want %d", when, group(i), i, o, rounds)
			}
		}
	}
	check(b, "before restart")
	closeBroker(t, b)
	check(startBroker(t, dir), "after restart")
}

// TestStartRemovesOffsetsOfDeletedTopics: offsets left behind by a crash between a topic's
// deletion and the removal of its offsets (simulated by deleting the topic without the
// coordinator hook) are removed when the broker starts.
func TestStartRemovesOffsetsOfDeletedTopics(t *testing.T) {
	dir, b, c, adm := startWithTopics(t, map[string]int32{"ghost": 1, "alive": 1})
	commitAt(t, adm, "g", 4, 1, "ghost", "alive")
	if err := b.topics.delete(b.topics.get("ghost")); err != nil { // the topic goes, the hook does not run
		t.Fatal(err)
	}
	if got := committedTopics(t, adm, "g"); got["ghost"] != 1 {
		t.Fatalf("setup: offsets %v, want ghost's still there", got)
	}
	c.Close()
	closeBroker(t, b)
	b2 := startBroker(t, dir)
	if got := committedTopics(t, kadm.NewClient(newClient(t, b2)), "g"); len(got) != 1 || got["alive"] != 1 {
		t.Fatalf("after restart: offsets %v, want only alive's", got)
	}
}
