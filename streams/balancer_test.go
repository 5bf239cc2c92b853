package streams

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rivulet-io/rivulet/streams/internal/assignor"
	"github.com/rivulet-io/rivulet/topology"
)

// balanceApp is an App (not started) running a count over topic "in" with
// 4 partitions: tasks 0_0..0_3, each with the "counts" store.
func balanceApp(t *testing.T, props Properties) *App {
	t.Helper()
	b := NewBuilder()
	NewStream(b, "in", ConsumedWith(StringSerde(), StringSerde())).GroupByKey().
		Count(MaterializedAs[string, int64]("counts")).ToStream().To("out", ProducedWith(StringSerde(), Int64Serde()))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	all := Properties{"application.id": "bal", "bootstrap.servers": "127.0.0.1:1", "state.dir": t.TempDir()}
	for k, v := range props {
		all[k] = v
	}
	app, err := New(topo, all, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return app
}

type testMember struct {
	id   string
	info []byte // subscription user data
}

// balance runs the group leader's side for members and returns each member's
// partitions of "in" and decoded assignment info.
func balance(t *testing.T, app *App, members []testMember) (map[string][]int32, map[string]assignor.AssignmentInfo) {
	t.Helper()
	parts, infos, _ := balanceTopics(t, app, members, map[string]int32{"in": 4})
	return parts, infos
}

// balanceTopics runs the group leader's side for members subscribed to
// topics (with those partition counts) and returns each member's
// partitions (of every topic), decoded assignment info, and raw
// assignment.
func balanceTopics(t *testing.T, app *App, members []testMember, topics map[string]int32) (map[string][]int32, map[string]assignor.AssignmentInfo, map[string][]byte) {
	t.Helper()
	var jms []kmsg.JoinGroupResponseMember
	for _, m := range members {
		meta := kmsg.NewConsumerMemberMetadata()
		meta.Version = 3
		for tp := range topics {
			meta.Topics = append(meta.Topics, tp)
		}
		meta.UserData = m.info
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID = m.id
		jm.ProtocolMetadata = meta.AppendTo(nil)
		jms = append(jms, jm)
	}
	bal := &taskBalancer{app: app, cooperative: true}
	mb, _, err := bal.MemberBalancer(jms)
	if err != nil {
		t.Fatal(err)
	}
	into, err := mb.(kgo.GroupMemberBalancerOrError).BalanceOrError(topics)
	if err != nil {
		t.Fatal(err)
	}
	sync := into.IntoSyncAssignment()
	parts, infos, raw := map[string][]int32{}, map[string]assignor.AssignmentInfo{}, map[string][]byte{}
	for _, s := range sync {
		raw[s.MemberID] = s.MemberAssignment
		var a kmsg.ConsumerMemberAssignment
		if err := a.ReadFrom(s.MemberAssignment); err != nil {
			t.Fatal(err)
		}
		for _, tp := range a.Topics {
			parts[s.MemberID] = append(parts[s.MemberID], tp.Partitions...)
		}
		info, err := assignor.DecodeAssignmentInfo(a.UserData)
		if err != nil {
			t.Fatalf("member %s: %v", s.MemberID, err)
		}
		infos[s.MemberID] = info
	}
	return parts, infos, raw
}

func sub(process byte, endpoint string, prev []TaskID, sums ...assignor.TaskOffsetSum) []byte {
	s := assignor.SubscriptionInfo{PrevTasks: prev, OffsetSums: sums, Endpoint: endpoint}
	s.ProcessID[0] = process
	return assignor.EncodeSubscriptionInfo(s)
}

// TestBalanceHostsAndStandbys runs the group leader for two instances with
// application.server and num.standby.replicas=1: tasks spread two and two,
// each member gets standbys of the other's tasks, and every member gets
// the same host map.
func TestBalanceHostsAndStandbys(t *testing.T) {
	app := balanceApp(t, Properties{"num.standby.replicas": "1"})
	tk := func(p int32) TaskID { return TaskID{Subtopology: 0, Partition: p} }
	// b holds nothing: without end offsets (no broker here) it is not
	// caught up, so everything stays on a (KIP-441), b warms up standbys of
	// every task, and a probing rebalance is asked of one member.
	parts, infos := balance(t, app, []testMember{
		{"m-a", sub(1, "a:1", []TaskID{tk(0), tk(1), tk(2), tk(3)})},
		{"m-b", sub(2, "b:2", nil)},
	})
	if fmt.Sprint(parts["m-a"]) != "[0 1 2 3]" || len(parts["m-b"]) != 0 {
		t.Fatalf("partitions %v", parts)
	}
	if !reflect.DeepEqual(infos["m-b"].Standbys, []TaskID{tk(0), tk(1), tk(2), tk(3)}) || infos["m-a"].ProbeAfter != app.cfg.ProbingRebalanceInterval || infos["m-b"].ProbeAfter != 0 {
		t.Fatalf("assignment infos %+v", infos)
	}
	// b advertises state of tasks 2 and 3 (caught up: end offsets unknown
	// mean stickiness to state): the split is immediate.
	parts, infos = balance(t, app, []testMember{
		{"m-a", sub(1, "a:1", []TaskID{tk(0), tk(1), tk(2), tk(3)})},
		{"m-b", sub(2, "b:2", nil, assignor.TaskOffsetSum{Task: tk(2), Sum: 10}, assignor.TaskOffsetSum{Task: tk(3), Sum: 10})},
	})
	if fmt.Sprint(parts["m-a"]) != "[0 1]" || fmt.Sprint(parts["m-b"]) != "[2 3]" {
		t.Fatalf("partitions %v", parts)
	}
	wantHosts := []assignor.HostTasks{
		{Endpoint: "a:1", Active: []TaskID{tk(0), tk(1)}, Standby: []TaskID{tk(2), tk(3)}},
		{Endpoint: "b:2", Active: []TaskID{tk(2), tk(3)}, Standby: []TaskID{tk(0), tk(1)}},
	}
	for id, info := range infos {
		if info.Version != 2 || !reflect.DeepEqual(info.Hosts, wantHosts) {
			t.Errorf("%s: %+v", id, info)
		}
	}
	if !reflect.DeepEqual(infos["m-a"].Standbys, []TaskID{tk(2), tk(3)}) || !reflect.DeepEqual(infos["m-b"].Standbys, []TaskID{tk(0), tk(1)}) {
		t.Errorf("standbys %+v / %+v", infos["m-a"].Standbys, infos["m-b"].Standbys)
	}
	if infos["m-a"].ProbeAfter != 0 || infos["m-b"].ProbeAfter != 0 {
		t.Errorf("probing rebalance asked for with no move pending")
	}

	// The metadata API answers from the host map.
	app.setHosts(infos["m-b"].Hosts)
	app.counts = map[string]int32{"in": 4}
	md := app.Metadata()
	if len(md) != 2 || md[0].Endpoint() != "a:1" || md[0].Port != 1 || !reflect.DeepEqual(md[0].StateStores, []string{"counts"}) ||
		!reflect.DeepEqual(md[0].ActivePartitions, []TopicPartition{{Topic: "in", Partition: 0}, {Topic: "in", Partition: 1}}) {
		t.Fatalf("metadata %+v", md)
	}
	for _, key := range []string{"x", "y", "zz", ""} {
		p := DefaultKeyPartitioner([]byte(key), 4)
		m, ok := app.MetadataForKey("counts", []byte(key), nil)
		want := "a:1"
		if p >= 2 {
			want = "b:2"
		}
		if !ok || m.Endpoint() != want {
			t.Errorf("key %q (partition %d): %+v %v", key, p, m, ok)
		}
	}
	fixed := func([]byte, int32) int32 { return 3 }
	if q, ok := app.QueryMetadataForKey("counts", []byte("x"), fixed); !ok || q.Partition != 3 || q.Active.Endpoint() != "b:2" || len(q.Standbys) != 1 || q.Standbys[0].Endpoint() != "a:1" {
		t.Errorf("query metadata %+v %v", q, ok)
	}
	bad := func([]byte, int32) int32 { return 9 }
	if _, ok := app.MetadataForKey("counts", []byte("x"), bad); ok {
		t.Errorf("a partitioner out of range was accepted")
	}
}

// TestBalanceVersion1Member: while a member sends version 1 (an instance
// not yet upgraded), the group leader answers every member in version 1, which
// the old decoder reads.
func TestBalanceVersion1Member(t *testing.T) {
	app := balanceApp(t, Properties{"num.standby.replicas": "1"})
	old := assignor.SubscriptionInfo{Version: 1, PrevTasks: []TaskID{{Subtopology: 0, Partition: 0}}}
	old.ProcessID[0] = 9
	parts, infos := balance(t, app, []testMember{
		{"m-new", sub(1, "a:1", nil)},
		{"m-old", assignor.EncodeSubscriptionInfo(old)},
	})
	for id, info := range infos {
		if info.Version != 1 || len(info.Hosts) != 0 || len(info.Standbys) != 0 {
			t.Errorf("%s: %+v", id, info)
		}
	}
	if len(parts["m-new"])+len(parts["m-old"]) == 0 {
		t.Errorf("nothing assigned: %v", parts)
	}
}

// TestScalingConfig: the scaling settings' defaults (Kafka Streams') and
// their validation.
func TestScalingConfig(t *testing.T) {
	base := Properties{"application.id": "a", "bootstrap.servers": "x:1"}
	cfg, err := parseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NumStandbyReplicas != 0 || cfg.AcceptableRecoveryLag != 10000 || cfg.MaxWarmupReplicas != 2 ||
		cfg.ProbingRebalanceInterval != 10*time.Minute || cfg.ApplicationServer != "" {
		t.Errorf("defaults %+v", cfg)
	}
	with := func(k, v string) Properties {
		p := Properties{k: v}
		for k, v := range base {
			p[k] = v
		}
		return p
	}
	cfg, err = parseConfig(with("num.standby.replicas", "2"))
	if err != nil || cfg.NumStandbyReplicas != 2 {
		t.Errorf("num.standby.replicas=2: %v %+v", err, cfg)
	}
	cfg, err = parseConfig(with("application.server", " [::1]:8080 "))
	if err != nil || cfg.ApplicationServer != "[::1]:8080" {
		t.Errorf("application.server: %v %+v", err, cfg)
	}
	for _, bad := range []Properties{
		with("num.standby.replicas", "-1"),
		with("acceptable.recovery.lag", "-5"),
		with("max.warmup.replicas", "0"),
		with("probing.rebalance.interval.ms", "0"),
		with("application.server", "localhost"),
		with("application.server", "localhost:http"),
		with("application.server", "localhost:70000"),
	} {
		if _, err := parseConfig(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// FuzzParseSyncAssignment feeds arbitrary assignment bytes to the
// balancer, as a broker (or a bad member) could send them.
func FuzzParseSyncAssignment(f *testing.F) {
	a := kmsg.NewConsumerMemberAssignment()
	at := kmsg.NewConsumerMemberAssignmentTopic()
	at.Topic, at.Partitions = "t", []int32{0, 2}
	a.Topics = append(a.Topics, at)
	a.UserData = assignor.EncodeAssignmentInfo(assignor.AssignmentInfo{Version: 1, Followup: true})
	f.Add(a.AppendTo(nil))
	a.UserData = assignor.EncodeAssignmentInfo(assignor.AssignmentInfo{Standbys: []TaskID{{Subtopology: 0, Partition: 1}}, Hosts: []assignor.HostTasks{{Endpoint: "h:1", Active: []TaskID{{Subtopology: 0, Partition: 0}}}}})
	f.Add(a.AppendTo(nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		app := &App{cfg: &config{Logger: slog.New(slog.DiscardHandler)}, threads: map[int]*streamThread{}, done: make(chan struct{})}
		bal := &taskBalancer{app: app}
		out, err := bal.ParseSyncAssignment(b)
		if err == nil && out == nil {
			t.Fatalf("nil map without an error")
		}
	})
}

// TestBalanceRefusesTopicsNotCopartitioned: when partitions were added to
// one side of a join after the start, the group leader assigns nothing and
// tells every member, which stops the application with the leader's
// reason, as Kafka Streams' leader fails on topics not co-partitioned.
func TestBalanceRefusesTopicsNotCopartitioned(t *testing.T) {
	b := NewBuilder()
	ss := StringSerde()
	left := NewStream(b, "left", ConsumedWith(ss, ss))
	right := NewTable(b, "right", ConsumedWith(ss, ss))
	JoinWithTable(left, right, func(_ string, l, r string) string { return l + r }).To("joined", ProducedWith(ss, ss))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app, err := New(topo, Properties{"application.id": "cop", "bootstrap.servers": "127.0.0.1:1", "state.dir": t.TempDir()},
		WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	members := []testMember{{"m-a", sub(1, "", nil)}, {"m-b", sub(2, "", nil)}}
	parts, infos, _ := balanceTopics(t, app, members, map[string]int32{"left": 4, "right": 4})
	if len(parts["m-a"])+len(parts["m-b"]) != 8 || infos["m-a"].TopicsError != assignor.TopicsFit {
		t.Fatalf("co-partitioned topics: partitions %v, infos %+v", parts, infos)
	}

	parts, infos, raw := balanceTopics(t, app, members, map[string]int32{"left": 4, "right": 6})
	for _, m := range members {
		if len(parts[m.id]) != 0 || infos[m.id].TopicsError != assignor.TopicsNotCopartitioned {
			t.Fatalf("%s: partitions %v, info %+v; want none and the topics error", m.id, parts[m.id], infos[m.id])
		}
	}
	bal := &taskBalancer{app: app}
	if _, err := bal.ParseSyncAssignment(raw["m-a"]); err != nil {
		t.Fatal(err)
	}
	select {
	case <-app.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the application did not stop")
	}
	var cop *topology.CopartitionError
	if !errors.As(app.Err(), &cop) || cop.Partitions["left"] != 4 || cop.Partitions["right"] != 6 {
		t.Fatalf("error %v, want the topics not co-partitioned", app.Err())
	}
	if app.State() != StateError {
		t.Fatalf("state %s, want ERROR", app.State())
	}
}
