package brokerlite

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// codeOf returns the Kafka error code an error carries (0 for nil, -2 for a non-Kafka one).
func codeOf(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return -2
}

func aclBroker(t *testing.T, dir string) *Broker {
	return startBroker(t, dir,
		"listeners", "SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms", "PLAIN",
		"sasl.jaas.config", plainJAAS,
		"authorizer.class.name", StandardAuthorizerClass,
		"super.users", "User:admin")
}

func userClient(t *testing.T, b *Broker, user string, opts ...kgo.Opt) *kgo.Client {
	return newClient(t, b, append([]kgo.Opt{kgo.SASL(plain.Auth{User: user, Pass: user + "-secret"}.AsMechanism())}, opts...)...)
}

// TestACLMatrix: each API's operation on its resource, as alice (granted exactly that ACL)
// and as bob (no ACL), checked against the error code the client gets.
func TestACLMatrix(t *testing.T) {
	dir := t.TempDir()
	b := aclBroker(t, dir)
	ctx := testCtx(t)
	admin := kadm.NewClient(userClient(t, b, "admin"))
	for _, topic := range []string{"t", "alice-old", "bob-old"} {
		if _, err := admin.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	if err := userClient(t, b, "admin").ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	grant := func(acl *kadm.ACLBuilder) {
		t.Helper()
		res, err := admin.CreateACLs(ctx, acl)
		if err != nil || len(res) == 0 {
			t.Fatalf("CreateACLs: %v", err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("CreateACLs: %v", r.Err)
			}
		}
	}
	lit := kadm.ACLPatternLiteral
	grant(kadm.NewACLs().Allow("User:alice").Topics("t").Operations(kadm.OpWrite, kadm.OpRead, kadm.OpDescribeConfigs, kadm.OpAlterConfigs).ResourcePatternType(lit))
	grant(kadm.NewACLs().Allow("User:alice").Groups("g").Operations(kadm.OpRead).ResourcePatternType(lit))
	grant(kadm.NewACLs().Allow("User:alice").Topics("alice-").Operations(kadm.OpCreate, kadm.OpDelete).ResourcePatternType(kadm.ACLPatternPrefixed))
	grant(kadm.NewACLs().Allow("User:alice").TransactionalIDs("tx-alice").Operations(kadm.OpWrite).ResourcePatternType(lit))
	grant(kadm.NewACLs().Allow("User:alice").Clusters().Operations(kadm.OpDescribeConfigs))

	fetchCode := func(cl *kgo.Client) int16 {
		req := kmsg.NewPtrFetchRequest()
		req.Version = 11
		req.ReplicaID, req.MaxBytes = -1, 1<<20
		req.Topics = append(req.Topics, fetchTopic("t", b.topics.get("t").id, 1<<20, 0))
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return codeOf(err)
		}
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	cases := []struct {
		name   string
		do     func(cl *kgo.Client) int16
		denied int16
	}{
		{"produce", func(cl *kgo.Client) int16 {
			return codeOf(cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("x")}).FirstErr())
		}, kerr.TopicAuthorizationFailed.Code},
		{"fetch", fetchCode, kerr.TopicAuthorizationFailed.Code},
		{"list offsets", func(cl *kgo.Client) int16 {
			offs, err := kadm.NewClient(cl).ListEndOffsets(ctx, "t")
			if err != nil {
				return codeOf(err)
			}
			o, _ := offs.Lookup("t", 0)
			return codeOf(o.Err)
		}, kerr.TopicAuthorizationFailed.Code},
		{"join group", func(cl *kgo.Client) int16 {
			req := kmsg.NewPtrJoinGroupRequest()
			req.Group, req.ProtocolType, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = "g", "consumer", 30000, 30000
			p := kmsg.NewJoinGroupRequestProtocol()
			p.Name, p.Metadata = "range", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
			req.Protocols = append(req.Protocols, p)
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				return codeOf(err)
			}
			if resp.ErrorCode == kerr.MemberIDRequired.Code {
				return 0 // admitted: the first join of a member is asked to rejoin with its id
			}
			return resp.ErrorCode
		}, kerr.GroupAuthorizationFailed.Code},
		{"commit offsets", func(cl *kgo.Client) int16 {
			// A raw request: kadm would stop at the topic bob may not describe.
			req := kmsg.NewPtrOffsetCommitRequest()
			req.Group, req.Generation = "g", -1
			rt := kmsg.NewOffsetCommitRequestTopic()
			rt.Topic = "t"
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Offset = 1
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				return codeOf(err)
			}
			return resp.Topics[0].Partitions[0].ErrorCode
		}, kerr.GroupAuthorizationFailed.Code},
		{"fetch offsets", func(cl *kgo.Client) int16 {
			resp, err := kadm.NewClient(cl).FetchOffsets(ctx, "g")
			if err != nil {
				return codeOf(err)
			}
			return codeOf(resp.Error())
		}, kerr.GroupAuthorizationFailed.Code},
		{"create topic", func(cl *kgo.Client) int16 {
			name := "bob-new"
			if cl == nil {
				return 0
			}
			if isAlice(cl) {
				name = "alice-new"
			}
			r, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, name)
			if err != nil {
				return codeOf(err)
			}
			return codeOf(r.Err)
		}, kerr.TopicAuthorizationFailed.Code},
		{"delete topic", func(cl *kgo.Client) int16 {
			name := "bob-old"
			if isAlice(cl) {
				name = "alice-old"
			}
			r, err := kadm.NewClient(cl).DeleteTopic(ctx, name)
			if err != nil {
				return codeOf(err)
			}
			return codeOf(r.Err)
		}, kerr.TopicAuthorizationFailed.Code},
		{"describe topic configs", func(cl *kgo.Client) int16 {
			rcs, err := kadm.NewClient(cl).DescribeTopicConfigs(ctx, "t")
			if err != nil {
				return codeOf(err)
			}
			return codeOf(rcs[0].Err)
		}, kerr.TopicAuthorizationFailed.Code},
		{"alter topic configs", func(cl *kgo.Client) int16 {
			rs, err := kadm.NewClient(cl).AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kmsg.StringPtr("3600000")}}, "t")
			if err != nil {
				return codeOf(err)
			}
			return codeOf(rs[0].Err)
		}, kerr.TopicAuthorizationFailed.Code},
		{"describe broker configs", func(cl *kgo.Client) int16 {
			rcs, err := kadm.NewClient(cl).DescribeBrokerConfigs(ctx)
			if err != nil {
				return codeOf(err)
			}
			return codeOf(rcs[0].Err)
		}, kerr.ClusterAuthorizationFailed.Code},
		{"init transactional producer id", func(cl *kgo.Client) int16 {
			req := kmsg.NewPtrInitProducerIDRequest()
			id := "tx-bob"
			if isAlice(cl) {
				id = "tx-alice"
			}
			req.TransactionalID, req.TransactionTimeoutMillis = &id, 60000
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				return codeOf(err)
			}
			if resp.ErrorCode == kerr.TransactionalIDAuthorizationFailed.Code {
				return resp.ErrorCode
			}
			return 0 // past the ACL check (the answer is the transaction coordinator's)
		}, kerr.TransactionalIDAuthorizationFailed.Code},
		{"create ACLs", func(cl *kgo.Client) int16 {
			res, err := kadm.NewClient(cl).CreateACLs(ctx, kadm.NewACLs().Allow("User:x").Topics("x").Operations(kadm.OpRead).ResourcePatternType(lit))
			if err != nil {
				return codeOf(err)
			}
			return codeOf(res[0].Err)
		}, kerr.ClusterAuthorizationFailed.Code},
	}
	alice, bob := userClient(t, b, "alice"), userClient(t, b, "bob")
	aliceClient = alice
	for _, c := range cases {
		if got := c.do(bob); got != c.denied {
			t.Errorf("%s as bob (no ACL): code %d (%v), want %d (%v)", c.name, got, kerr.ErrorForCode(got), c.denied, kerr.ErrorForCode(c.denied))
		}
		want := int16(0)
		if c.name == "create ACLs" {
			want = c.denied // alice has no ALTER on the cluster
		}
		if got := c.do(alice); got != want {
			t.Errorf("%s as alice (granted): code %d (%v), want %d", c.name, got, kerr.ErrorForCode(got), want)
		}
	}

	// Metadata hides what bob may not describe and shows alice her topic.
	names := func(cl *kgo.Client) []string {
		resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tp := range resp.Topics {
			out = append(out, *tp.Topic)
		}
		return out
	}
	if got := names(bob); len(got) != 0 {
		t.Errorf("bob sees %v", got)
	}
	if got := names(alice); len(got) != 2 { // t and alice-new
		t.Errorf("alice sees %v, want t and alice-new", got)
	}

	// KIP-430: the operations alice may perform on t, and admin on the cluster.
	mreq := kmsg.NewPtrMetadataRequest()
	mreq.IncludeTopicAuthorizedOperations, mreq.IncludeClusterAuthorizedOperations = true, true
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("t")
	mreq.Topics = append(mreq.Topics, mt)
	mresp, err := mreq.RequestWith(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	wantOps := int32(1<<3 | 1<<4 | 1<<8 | 1<<10 | 1<<11) // READ, WRITE, DESCRIBE (implied), DESCRIBE_CONFIGS, ALTER_CONFIGS
	if len(mresp.Topics) != 1 || mresp.Topics[0].AuthorizedOperations != wantOps {
		t.Errorf("alice's operations on t: %+v, want %b", mresp.Topics, wantOps)
	}
	dreq := kmsg.NewPtrDescribeClusterRequest()
	dreq.IncludeClusterAuthorizedOperations = true
	dresp, err := dreq.RequestWith(ctx, userClient(t, b, "admin"))
	if err != nil {
		t.Fatal(err)
	}
	// A super user: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.
	if want := int32(1<<5 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12); dresp.ClusterAuthorizedOperations != want {
		t.Errorf("admin's cluster operations: %b, want %b", dresp.ClusterAuthorizedOperations, want)
	}

	// A DENY wins over the ALLOW.
	grant(kadm.NewACLs().Deny("User:alice").Topics("t").Operations(kadm.OpRead).ResourcePatternType(lit))
	if got := fetchCode(alice); got != kerr.TopicAuthorizationFailed.Code {
		t.Errorf("fetch with a DENY: code %d", got)
	}

	// The ACLs survive a restart.
	closeBroker(t, b)
	b = aclBroker(t, dir)
	alice = userClient(t, b, "alice")
	aliceClient = alice
	if got := codeOf(alice.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("after restart")}).FirstErr()); got != 0 {
		t.Errorf("produce after restart: %v", kerr.ErrorForCode(got))
	}
	if got := fetchCode(alice); got != kerr.TopicAuthorizationFailed.Code {
		t.Errorf("fetch after restart: the DENY is gone (code %d)", got)
	}
	described, err := kadm.NewClient(userClient(t, b, "admin")).DescribeACLs(ctx, kadm.NewACLs().AnyResource().Allow().AllowHosts().Deny().DenyHosts().Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternAny))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range described {
		n += len(d.Described)
	}
	if n != 10 {
		t.Errorf("after restart %d ACLs are described, want 10", n)
	}
}

// aliceClient lets the matrix's cases pick alice's resource names.
var aliceClient *kgo.Client

func isAlice(cl *kgo.Client) bool { return cl == aliceClient }
