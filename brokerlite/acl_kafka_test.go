package brokerlite

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestACLsAnswerAsKafka checks the ACL answers where Kafka's differ from a plain
// allow/deny per request: what a denied principal may still learn (nothing of a topic it
// may not describe), what Kafka lets through (DescribeCluster to everyone, DELETE or ALTER
// on the cluster), partial transactional commits, and internal topics that never join a
// transaction.
func TestACLsAnswerAsKafka(t *testing.T) {
	b := aclBroker(t, t.TempDir())
	ctx := testCtx(t)
	adminCl := userClient(t, b, "admin")
	admin := kadm.NewClient(adminCl)
	alice, bob := userClient(t, b, "alice"), userClient(t, b, "bob")
	for _, topic := range []string{"secret", "a", "b", "del"} {
		if _, err := admin.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	lit := kadm.ACLPatternLiteral
	grant := func(acl *kadm.ACLBuilder) {
		t.Helper()
		res, err := admin.CreateACLs(ctx, acl)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
	// Straight to the broker: the client would otherwise look up the topics of some
	// requests (WriteTxnMarkers) first, with the caller's own ACLs.
	send := func(cl *kgo.Client, req kmsg.Request) kmsg.Response {
		t.Helper()
		resp, err := cl.Broker(int(b.nodeID)).Request(ctx, req)
		if err != nil {
			t.Fatalf("%T: %v", req, err)
		}
		return resp
	}

	// DescribeCluster answers everyone; the cluster's operations need DESCRIBE on it.
	dc := kmsg.NewPtrDescribeClusterRequest()
	dc.IncludeClusterAuthorizedOperations = true
	if r := send(bob, dc).(*kmsg.DescribeClusterResponse); r.ErrorCode != 0 || len(r.Brokers) != 1 || r.ClusterAuthorizedOperations != 0 {
		t.Errorf("DescribeCluster without ACLs: error %d, %d brokers, operations %b", r.ErrorCode, len(r.Brokers), r.ClusterAuthorizedOperations)
	}

	// Metadata by topic id does not name a topic the caller may not describe.
	md := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.TopicID = b.topics.get("secret").id
	md.Topics = append(md.Topics, mt)
	if r := send(bob, md).(*kmsg.MetadataResponse); len(r.Topics) != 1 || r.Topics[0].ErrorCode != kerr.TopicAuthorizationFailed.Code || r.Topics[0].Topic != nil {
		t.Errorf("Metadata by id of a denied topic: %+v", r.Topics)
	}

	// Auto-creation by a principal that may describe but not create the topic is refused
	// with TOPIC_AUTHORIZATION_FAILED, and nothing is created; CREATE on the topic is enough.
	grant(kadm.NewACLs().Allow("User:bob").Topics("auto-").Operations(kadm.OpDescribe).ResourcePatternType(kadm.ACLPatternPrefixed))
	grant(kadm.NewACLs().Allow("User:bob").Topics("auto-ok").Operations(kadm.OpCreate).ResourcePatternType(lit))
	md = kmsg.NewPtrMetadataRequest()
	md.AllowAutoTopicCreation = true
	md.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("auto-denied")}, {Topic: kmsg.StringPtr("auto-ok")}}
	ar := send(bob, md).(*kmsg.MetadataResponse)
	if len(ar.Topics) != 2 {
		t.Fatalf("Metadata auto-creating two topics: %+v", ar.Topics)
	}
	for _, mt := range ar.Topics {
		switch *mt.Topic {
		case "auto-denied":
			if mt.ErrorCode != kerr.TopicAuthorizationFailed.Code || mt.TopicID != ([16]byte{}) || len(mt.Partitions) != 0 || b.topics.get("auto-denied") != nil {
				t.Errorf("auto-creation without CREATE: %+v", mt)
			}
		case "auto-ok":
			if mt.ErrorCode != 0 || len(mt.Partitions) != 1 {
				t.Errorf("auto-creation with CREATE on the topic: %+v", mt)
			}
		}
	}

	// OffsetFetch shows nothing of a commit on a topic the caller may not describe.
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Group, oc.Generation = "g", -1
	oct := kmsg.NewOffsetCommitRequestTopic()
	oct.Topic = "secret"
	ocp := kmsg.NewOffsetCommitRequestTopicPartition()
	ocp.Offset, ocp.LeaderEpoch, ocp.Metadata = 5, 7, kmsg.StringPtr("s3cr3t-metadata")
	oct.Partitions = append(oct.Partitions, ocp)
	oc.Topics = append(oc.Topics, oct)
	if r := send(adminCl, oc).(*kmsg.OffsetCommitResponse); r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("commit: %d", r.Topics[0].Partitions[0].ErrorCode)
	}
	grant(kadm.NewACLs().Allow("User:alice").Groups("g").Operations(kadm.OpDescribe).ResourcePatternType(lit))
	of := kmsg.NewPtrOffsetFetchRequest()
	ofg := kmsg.NewOffsetFetchRequestGroup()
	ofg.Group = "g"
	oft := kmsg.NewOffsetFetchRequestGroupTopic()
	oft.Topic, oft.Partitions = "secret", []int32{0}
	ofg.Topics = append(ofg.Topics, oft)
	of.Groups = append(of.Groups, ofg)
	r := send(alice, of).(*kmsg.OffsetFetchResponse)
	if len(r.Groups) != 1 || len(r.Groups[0].Topics) != 1 {
		t.Fatalf("OffsetFetch: %+v", r)
	}
	if p := r.Groups[0].Topics[0].Partitions[0]; p.ErrorCode != kerr.TopicAuthorizationFailed.Code || p.Offset != -1 || p.LeaderEpoch != -1 || (p.Metadata != nil && *p.Metadata != "") {
		t.Errorf("OffsetFetch of a denied topic shows %+v", p)
	}

	// DELETE on the cluster deletes any topic.
	grant(kadm.NewACLs().Allow("User:alice").Clusters().Operations(kadm.OpDelete, kadm.OpAlter))
	dt := kmsg.NewPtrDeleteTopicsRequest()
	dt.TopicNames = []string{"del"}
	dt.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("del")}}
	if r := send(alice, dt).(*kmsg.DeleteTopicsResponse); r.Topics[0].ErrorCode != 0 || b.topics.get("del") != nil {
		t.Errorf("DeleteTopics with DELETE on the cluster: %d", r.Topics[0].ErrorCode)
	}

	// WriteTxnMarkers needs ALTER (or CLUSTER_ACTION) on the cluster.
	wm := kmsg.NewPtrWriteTxnMarkersRequest()
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.ProducerEpoch = 424242, 0
	mtt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
	mtt.Topic, mtt.Partitions = "a", []int32{0}
	m.Topics = append(m.Topics, mtt)
	wm.Markers = append(wm.Markers, m)
	if r := send(bob, wm).(*kmsg.WriteTxnMarkersResponse); len(r.Markers) != 1 || r.Markers[0].Topics[0].Partitions[0].ErrorCode != kerr.ClusterAuthorizationFailed.Code {
		t.Errorf("WriteTxnMarkers without ACLs: %+v", r.Markers)
	}
	if r := send(alice, wm).(*kmsg.WriteTxnMarkersResponse); len(r.Markers) != 1 || r.Markers[0].Topics[0].Partitions[0].ErrorCode == kerr.ClusterAuthorizationFailed.Code {
		t.Errorf("WriteTxnMarkers with ALTER on the cluster: %+v", r.Markers)
	}

	// Internal topics never join a transaction, even a super user's.
	ip := kmsg.NewPtrInitProducerIDRequest()
	ip.TransactionalID, ip.TransactionTimeoutMillis = kmsg.StringPtr("tx-admin"), 60000
	pid := send(adminCl, ip).(*kmsg.InitProducerIDResponse)
	addParts := func(topics ...string) *kmsg.AddPartitionsToTxnResponse {
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch = "tx-admin", pid.ProducerID, pid.ProducerEpoch
		for _, topic := range topics {
			rt := kmsg.NewAddPartitionsToTxnRequestTopic()
			rt.Topic, rt.Partitions = topic, []int32{0}
			req.Topics = append(req.Topics, rt)
		}
		return send(adminCl, req).(*kmsg.AddPartitionsToTxnResponse)
	}
	codes := map[string]int16{}
	for _, rt := range addParts("__consumer_offsets", "a").Topics {
		codes[rt.Topic] = rt.Partitions[0].ErrorCode
	}
	if codes["__consumer_offsets"] != kerr.TopicAuthorizationFailed.Code || codes["a"] != kerr.OperationNotAttempted.Code {
		t.Errorf("AddPartitionsToTxn of an internal topic: %v", codes)
	}

	// DescribeTransactions leaves out the topics the caller may not describe.
	if r := addParts("secret"); r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("AddPartitionsToTxn: %d", r.Topics[0].Partitions[0].ErrorCode)
	}
	grant(kadm.NewACLs().Allow("User:alice").TransactionalIDs("tx-admin").Operations(kadm.OpDescribe).ResourcePatternType(lit))
	dtx := kmsg.NewPtrDescribeTransactionsRequest()
	dtx.TransactionalIDs = []string{"tx-admin"}
	if st := send(adminCl, dtx).(*kmsg.DescribeTransactionsResponse).TransactionStates[0]; len(st.Topics) != 1 {
		t.Errorf("the super user's view of the transaction: %+v", st)
	}
	if st := send(alice, dtx).(*kmsg.DescribeTransactionsResponse).TransactionStates[0]; st.ErrorCode != 0 || len(st.Topics) != 0 {
		t.Errorf("DescribeTransactions shows a denied topic: %+v", st)
	}

	// TxnOffsetCommit commits the topics the caller may read and refuses the others.
	grant(kadm.NewACLs().Allow("User:alice").TransactionalIDs("tx-alice").Operations(kadm.OpWrite).ResourcePatternType(lit))
	grant(kadm.NewACLs().Allow("User:alice").Groups("g2").Operations(kadm.OpRead).ResourcePatternType(lit))
	grant(kadm.NewACLs().Allow("User:alice").Topics("a").Operations(kadm.OpRead).ResourcePatternType(lit))
	ip.TransactionalID = kmsg.StringPtr("tx-alice")
	apid := send(alice, ip).(*kmsg.InitProducerIDResponse)
	ao := kmsg.NewPtrAddOffsetsToTxnRequest()
	ao.TransactionalID, ao.ProducerID, ao.ProducerEpoch, ao.Group = "tx-alice", apid.ProducerID, apid.ProducerEpoch, "g2"
	if r := send(alice, ao).(*kmsg.AddOffsetsToTxnResponse); r.ErrorCode != 0 {
		t.Fatalf("AddOffsetsToTxn: %d", r.ErrorCode)
	}
	tc := kmsg.NewPtrTxnOffsetCommitRequest()
	tc.TransactionalID, tc.Group, tc.ProducerID, tc.ProducerEpoch, tc.Generation = "tx-alice", "g2", apid.ProducerID, apid.ProducerEpoch, -1
	for _, topic := range []string{"a", "b"} {
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Offset = 1
		rt.Partitions = append(rt.Partitions, rp)
		tc.Topics = append(tc.Topics, rt)
	}
	codes = map[string]int16{}
	for _, rt := range send(alice, tc).(*kmsg.TxnOffsetCommitResponse).Topics {
		codes[rt.Topic] = rt.Partitions[0].ErrorCode
	}
	if codes["a"] != 0 || codes["b"] != kerr.TopicAuthorizationFailed.Code {
		t.Errorf("TxnOffsetCommit of an allowed and a denied topic: %v", codes)
	}
}

// An acks=0 produce has no answer to carry a refusal: as in Kafka, the allowed topics are
// appended and the connection is closed (the handler's error), so the producer notices.
func TestACLRefusedAcksZeroProduceClosesTheConnection(t *testing.T) {
	b := aclBroker(t, t.TempDir())
	ctx := testCtx(t)
	admin := kadm.NewClient(userClient(t, b, "admin"))
	for _, topic := range []string{"open", "secret"} {
		if _, err := admin.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	res, err := admin.CreateACLs(ctx, kadm.NewACLs().Allow("User:alice").Topics("open").Operations(kadm.OpWrite).ResourcePatternType(kadm.ACLPatternLiteral))
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	info := &ConnInfo{}
	info.sec.principal, info.sec.host = "User:alice", "127.0.0.1"
	produce := func(acks int16, txnID *string, topics ...string) error {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks, req.TimeoutMillis, req.TransactionID = 9, acks, 1000, txnID
		for _, topic := range topics {
			req.Topics = append(req.Topics, produceTopic(topic, 0, buildBatch(-1, -1, -1, "x")))
		}
		_, err := b.callSecured(ctx, handlers[int16(kmsg.Produce)].fn, info, req)
		return err
	}
	end := func(topic string) int64 { _, hwm := b.topics.get(topic).partitions[0].offsets(); return hwm }

	if err := produce(0, nil, "open"); err != nil {
		t.Fatalf("allowed acks=0 produce: %v", err)
	}
	if err := produce(0, nil, "open", "secret"); err == nil {
		t.Fatal("acks=0 produce to a denied topic kept the connection")
	}
	if err := produce(0, kmsg.StringPtr("tx"), "open"); err == nil {
		t.Fatal("acks=0 produce with a denied transactional id kept the connection")
	}
	if err := produce(1, nil, "open", "secret"); err != nil {
		t.Fatalf("acks=1 produce to a denied topic is answered, not closed: %v", err)
	}
	if o, s := end("open"), end("secret"); o != 3 || s != 0 {
		t.Fatalf("end offsets: open %d (want 3: the allowed topic is appended), secret %d (want 0)", o, s)
	}
}

// A created topic's configs, partitions and replication factor are shown only to a
// principal that may describe its configs, as in Kafka.
func TestACLCreatedTopicConfigsNeedDescribeConfigs(t *testing.T) {
	b := aclBroker(t, t.TempDir())
	ctx := testCtx(t)
	admin := kadm.NewClient(userClient(t, b, "admin"))
	lit := kadm.ACLPatternLiteral
	for _, acl := range []*kadm.ACLBuilder{
		kadm.NewACLs().Allow("User:alice").Topics("plain", "shown").Operations(kadm.OpCreate).ResourcePatternType(lit),
		kadm.NewACLs().Allow("User:alice").Topics("shown").Operations(kadm.OpDescribeConfigs).ResourcePatternType(lit),
	} {
		if res, err := admin.CreateACLs(ctx, acl); err != nil || res[0].Err != nil {
			t.Fatal(err, res)
		}
	}
	alice := userClient(t, b, "alice")
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 5000
	for _, name := range []string{"plain", "shown"} {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 2, 1
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]kmsg.CreateTopicsResponseTopic{}
	for _, rt := range resp.Topics {
		got[rt.Topic] = rt
	}
	if p := got["plain"]; p.ErrorCode != 0 || p.ConfigErrorCode != kerr.TopicAuthorizationFailed.Code || len(p.Configs) != 0 || p.NumPartitions != -1 || p.ReplicationFactor != -1 {
		t.Errorf("created without DESCRIBE_CONFIGS: error %d, config error %d, %d configs, %d partitions, RF %d", p.ErrorCode, p.ConfigErrorCode, len(p.Configs), p.NumPartitions, p.ReplicationFactor)
	}
	if s := got["shown"]; s.ErrorCode != 0 || s.ConfigErrorCode != 0 || len(s.Configs) == 0 || s.NumPartitions != 2 || s.ReplicationFactor != 1 {
		t.Errorf("created with DESCRIBE_CONFIGS: error %d, config error %d, %d configs, %d partitions, RF %d", s.ErrorCode, s.ConfigErrorCode, len(s.Configs), s.NumPartitions, s.ReplicationFactor)
	}
	if b.topics.get("plain") == nil || len(b.topics.get("plain").partitions) != 2 {
		t.Error("topic plain not created with 2 partitions")
	}
}
