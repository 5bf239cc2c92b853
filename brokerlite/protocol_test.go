package brokerlite

import (
	"context"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

// Protocol conformance: each API through franz-go's Client.Request (kmsg requests at the
// version the client and broker agree on), checking error codes and fields.

func request[R kmsg.Response](t *testing.T, c *kgo.Client, req kmsg.Request) R {
	t.Helper()
	resp, err := c.Request(testCtx(t), req)
	if err != nil {
		t.Fatalf("%s: %v", kmsg.NameForKey(req.Key()), err)
	}
	return resp.(R)
}

func errName(code int16) string {
	if code == 0 {
		return "NONE"
	}
	return kerr.ErrorForCode(code).Error()
}

func wantCode(t *testing.T, what string, got int16, want *kerr.Error) {
	t.Helper()
	wantCode := int16(0)
	if want != nil {
		wantCode = want.Code
	}
	if got != wantCode {
		t.Fatalf("%s: got %s, want %s", what, errName(got), errName(wantCode))
	}
}

func TestApiVersions(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	resp := request[*kmsg.ApiVersionsResponse](t, c, kmsg.NewPtrApiVersionsRequest())
	wantCode(t, "ApiVersions", resp.ErrorCode, nil)
	got := map[int16][2]int16{}
	for _, k := range resp.ApiKeys {
		got[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	for key, want := range map[kmsg.Key][2]int16{
		kmsg.Produce: {3, 11}, kmsg.Fetch: {4, 16}, kmsg.ListOffsets: {1, 8}, kmsg.Metadata: {0, 12},
		kmsg.ApiVersions: {0, 4}, kmsg.CreateTopics: {2, 7}, kmsg.DeleteTopics: {1, 6},
		kmsg.DeleteRecords: {0, 2}, kmsg.InitProducerID: {0, 5}, kmsg.DescribeConfigs: {0, 4},
		kmsg.AlterConfigs: {0, 2}, kmsg.CreatePartitions: {0, 3}, kmsg.IncrementalAlterConfigs: {0, 1},
		kmsg.DescribeCluster: {0, 1}, kmsg.DescribeLogDirs: {0, 4}, kmsg.DescribeProducers: {0, 0},
	} {
		if got[int16(key)] != want {
			t.Errorf("%s: advertised %v, want %v", key.Name(), got[int16(key)], want)
		}
	}
}

func TestMetadata(t *testing.T) {
	b := startBroker(t, "", "num.partitions", "4")
	c := newClient(t, b)
	createTopic(t, c, "m1", 2)

	// Auto-creation with num.partitions, and the broker as leader, replica and ISR.
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = true
	req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("auto1")}, {Topic: kmsg.StringPtr("bad/name")}, {Topic: kmsg.StringPtr("m1")}}
	resp := request[*kmsg.MetadataResponse](t, c, req)
	if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != b.NodeID() || resp.ControllerID != b.NodeID() || resp.ClusterID == nil || *resp.ClusterID != b.ClusterID() {
		t.Fatalf("brokers/controller/cluster: %+v", resp)
	}
	host, port := b.advertisedHostPort()
	if resp.Brokers[0].Host != host || resp.Brokers[0].Port != port {
		t.Fatalf("broker address %s:%d, want %s:%d", resp.Brokers[0].Host, resp.Brokers[0].Port, host, port)
	}
	auto := resp.Topics[0]
	wantCode(t, "auto-created topic", auto.ErrorCode, nil)
	if len(auto.Partitions) != 4 || auto.TopicID == ([16]byte{}) {
		t.Fatalf("auto-created topic: %+v", auto)
	}
	for _, p := range auto.Partitions {
		if p.Leader != b.NodeID() || len(p.Replicas) != 1 || len(p.ISR) != 1 || p.LeaderEpoch != 0 {
			t.Fatalf("partition metadata: %+v", p)
		}
	}
	wantCode(t, "invalid name", resp.Topics[1].ErrorCode, kerr.InvalidTopicException)
	if len(resp.Topics[2].Partitions) != 2 {
		t.Fatalf("m1: %+v", resp.Topics[2])
	}

	// No auto-creation when the request says so.
	req2 := kmsg.NewPtrMetadataRequest()
	req2.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("not-there")}}
	resp2 := request[*kmsg.MetadataResponse](t, c, req2)
	wantCode(t, "no auto-create", resp2.Topics[0].ErrorCode, kerr.UnknownTopicOrPartition)

	// All topics, and by id.
	all := request[*kmsg.MetadataResponse](t, c, kmsg.NewPtrMetadataRequest())
	names := map[string]bool{}
	for _, tp := range all.Topics {
		names[*tp.Topic] = true
	}
	if !names["auto1"] || !names["m1"] || names["not-there"] {
		t.Fatalf("all topics: %v", names)
	}
	req3 := kmsg.NewPtrMetadataRequest()
	req3.Topics = []kmsg.MetadataRequestTopic{{TopicID: auto.TopicID}, {TopicID: [16]byte{1}}}
	resp3 := request[*kmsg.MetadataResponse](t, c, req3)
	if resp3.Topics[0].Topic == nil || *resp3.Topics[0].Topic != "auto1" {
		t.Fatalf("by id: %+v", resp3.Topics[0])
	}
	wantCode(t, "unknown id", resp3.Topics[1].ErrorCode, kerr.UnknownTopicID)

	// auto.create.topics.enable=false.
	b2 := startBroker(t, "", "auto.create.topics.enable", "false")
	c2 := newClient(t, b2)
	resp4 := request[*kmsg.MetadataResponse](t, c2, req)
	wantCode(t, "auto-create disabled", resp4.Topics[0].ErrorCode, kerr.UnknownTopicOrPartition)
}

func createTopicsReq(name string, partitions int32, rf int16, configs ...string) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, rf
	for i := 0; i+1 < len(configs); i += 2 {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = configs[i], kmsg.StringPtr(configs[i+1])
		rt.Configs = append(rt.Configs, cfg)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

func TestCreateTopics(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	for _, tc := range []struct {
		name, topic string
		parts       int32
		rf          int16
		configs     []string
		want        *kerr.Error
		msg         string
	}{
		{"ok", "ct-ok", 3, 1, []string{"cleanup.policy", "compact", "retention.ms", "1000"}, nil, ""},
		{"default partitions and rf", "ct-default", -1, -1, nil, nil, ""},
		{"exists", "ct-ok", 1, 1, nil, kerr.TopicAlreadyExists, ""},
		// Existence comes before the arguments, as in Kafka: a create-if-absent client with
		// its own defaults learns the topic is there.
		{"exists, replication factor 3", "ct-ok", 1, 3, nil, kerr.TopicAlreadyExists, ""},
		{"exists, zero partitions", "ct-ok", 0, 1, nil, kerr.TopicAlreadyExists, ""},
		{"exists, bad config", "ct-ok", 1, 1, []string{"min.insync.replicas", "2"}, kerr.TopicAlreadyExists, ""},
		{"replication factor 3", "ct-rf", 1, 3, nil, kerr.InvalidReplicationFactor, "Kafka cluster"},
		{"bad char", "ct bad", 1, 1, nil, kerr.InvalidTopicException, ""},
		{"dot", ".", 1, 1, nil, kerr.InvalidTopicException, ""},
		{"dotdot", "..", 1, 1, nil, kerr.InvalidTopicException, ""},
		{"too long", strings.Repeat("x", 250), 1, 1, nil, kerr.InvalidTopicException, ""},
		{"max length", strings.Repeat("y", 249), 1, 1, nil, nil, ""},
		{"zero partitions", "ct-zero", 0, 1, nil, kerr.InvalidPartitions, ""},
		{"unknown config", "ct-cfg", 1, 1, []string{"no.such.config", "1"}, kerr.InvalidConfig, ""},
		{"bad config value", "ct-cfg2", 1, 1, []string{"retention.ms", "soon"}, kerr.InvalidConfig, ""},
		{"bad cleanup policy", "ct-cfg3", 1, 1, []string{"cleanup.policy", "shred"}, kerr.InvalidConfig, ""},
		{"Kafka configs with no effect here", "ct-cfg4", 1, 1, []string{"compression.zstd.level", "5", "compression.gzip.level", "-1", "local.retention.ms", "-2",
			"remote.storage.enable", "false", "leader.replication.throttled.replicas", "*"}, nil, ""},
		{"tiered storage", "ct-cfg5", 1, 1, []string{"remote.storage.enable", "true"}, kerr.InvalidConfig, "tiered storage"},
		{"compression level out of range", "ct-cfg6", 1, 1, []string{"compression.lz4.level", "18"}, kerr.InvalidConfig, ""},
		// Kafka's ranges: segment.index.bytes from 4, any negative retention.bytes (no limit).
		{"tiny index, negative retention.bytes", "ct-cfg7", 1, 1, []string{"segment.index.bytes", "4", "retention.bytes", "-2"}, nil, ""},
		{"index too small", "ct-cfg8", 1, 1, []string{"segment.index.bytes", "3"}, kerr.InvalidConfig, ""},
		{"internal, existing", "__consumer_offsets", 1, 1, nil, kerr.TopicAlreadyExists, ""},
		{"internal, not created yet", "__transaction_state", 1, 1, nil, kerr.InvalidRequest, ""},
		{"collision base", "ct_col", 1, 1, nil, nil, ""},
		{"metric collision", "ct.col", 1, 1, nil, kerr.InvalidTopicException, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := request[*kmsg.CreateTopicsResponse](t, c, createTopicsReq(tc.topic, tc.parts, tc.rf, tc.configs...))
			rt := resp.Topics[0]
			wantCode(t, tc.name, rt.ErrorCode, tc.want)
			if tc.msg != "" && (rt.ErrorMessage == nil || !strings.Contains(*rt.ErrorMessage, tc.msg)) {
				t.Fatalf("message %v lacks %q", rt.ErrorMessage, tc.msg)
			}
			if tc.want == nil {
				if rt.TopicID == ([16]byte{}) || rt.ReplicationFactor != 1 {
					t.Fatalf("created topic: %+v", rt)
				}
				for _, cfg := range rt.Configs {
					if cfg.Name == "cleanup.policy" && tc.topic == "ct-ok" && (*cfg.Value != "compact" || cfg.Source != int8(kmsg.ConfigSourceDynamicTopicConfig)) {
						t.Fatalf("config in response: %+v", cfg)
					}
				}
			}
		})
	}
	// validate_only creates nothing.
	req := createTopicsReq("ct-validate", 2, 1)
	req.ValidateOnly = true
	resp := request[*kmsg.CreateTopicsResponse](t, c, req)
	wantCode(t, "validate only", resp.Topics[0].ErrorCode, nil)
	if b.topics.get("ct-validate") != nil {
		t.Fatal("validate_only created the topic")
	}
	// A topic named twice in one request.
	dup := createTopicsReq("ct-dup", 1, 1)
	dup.Topics = append(dup.Topics, dup.Topics[0])
	dresp := request[*kmsg.CreateTopicsResponse](t, c, dup)
	wantCode(t, "duplicate in request", dresp.Topics[0].ErrorCode, kerr.InvalidRequest)
}

func TestDeleteTopicsAndPartitions(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	createTopic(t, c, "dt-a", 1)
	createTopic(t, c, "dt-b", 1)
	produceN(t, newClient(t, b, kgo.DefaultProduceTopic("dt-a")), "dt-a", 10)

	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TopicNames = []string{"dt-a", "dt-missing"}
	req.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("dt-a")}, {Topic: kmsg.StringPtr("dt-missing")}, {TopicID: b.topics.get("dt-b").id}}
	resp := request[*kmsg.DeleteTopicsResponse](t, c, req)
	wantCode(t, "delete by name", resp.Topics[0].ErrorCode, nil)
	wantCode(t, "delete missing", resp.Topics[1].ErrorCode, kerr.UnknownTopicOrPartition)
	if len(resp.Topics) > 2 {
		wantCode(t, "delete by id", resp.Topics[2].ErrorCode, nil)
	}
	if b.topics.get("dt-a") != nil {
		t.Fatal("dt-a still exists")
	}
	// Re-creating the name starts empty with a new id.
	createTopic(t, c, "dt-a", 1)
	if _, hwm := b.topics.get("dt-a").partitions[0].offsets(); hwm != 0 {
		t.Fatalf("re-created topic has end offset %d", hwm)
	}

	// CreatePartitions: grow, not shrink.
	cp := kmsg.NewPtrCreatePartitionsRequest()
	cp.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: "dt-a", Count: 3}, {Topic: "dt-nope", Count: 2}}
	cpResp := request[*kmsg.CreatePartitionsResponse](t, c, cp)
	wantCode(t, "grow", cpResp.Topics[0].ErrorCode, nil)
	wantCode(t, "grow missing", cpResp.Topics[1].ErrorCode, kerr.UnknownTopicOrPartition)
	if n := len(b.topics.get("dt-a").partitions); n != 3 {
		t.Fatalf("partitions after grow: %d", n)
	}
	cp2 := kmsg.NewPtrCreatePartitionsRequest()
	cp2.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: "dt-a", Count: 2}}
	wantCode(t, "shrink", request[*kmsg.CreatePartitionsResponse](t, c, cp2).Topics[0].ErrorCode, kerr.InvalidPartitions)
	// An assignment names every new partition, as in Kafka.
	cp3 := kmsg.NewPtrCreatePartitionsRequest()
	one := kmsg.NewCreatePartitionsRequestTopicAssignment()
	one.Replicas = []int32{b.nodeID}
	cp3.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: "dt-a", Count: 5, Assignment: []kmsg.CreatePartitionsRequestTopicAssignment{one}}}
	wantCode(t, "assignment of one partition for two", request[*kmsg.CreatePartitionsResponse](t, c, cp3).Topics[0].ErrorCode, kerr.InvalidReplicaAssignment)
	cp3.Topics[0].Count = 4
	wantCode(t, "assignment of the one new partition", request[*kmsg.CreatePartitionsResponse](t, c, cp3).Topics[0].ErrorCode, nil)
	if n := len(b.topics.get("dt-a").partitions); n != 4 {
		t.Fatalf("partitions after an assigned grow: %d", n)
	}
	produceN(t, newClient(t, b, kgo.DefaultProduceTopic("dt-a")), "dt-a", 30)

	// delete.topic.enable=false.
	b2 := startBroker(t, "", "delete.topic.enable", "false")
	c2 := newClient(t, b2)
	createTopic(t, c2, "keep", 1)
	req2 := kmsg.NewPtrDeleteTopicsRequest()
	req2.TopicNames = []string{"keep"}
	req2.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("keep")}}
	wantCode(t, "deletion disabled", request[*kmsg.DeleteTopicsResponse](t, c2, req2).Topics[0].ErrorCode, kerr.TopicDeletionDisabled)
	// Before the topic is looked up, as in Kafka; v1-v2 clients get INVALID_REQUEST.
	req2.TopicNames = []string{"nope"}
	req2.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("nope")}}
	wantCode(t, "deletion disabled, unknown topic", request[*kmsg.DeleteTopicsResponse](t, c2, req2).Topics[0].ErrorCode, kerr.TopicDeletionDisabled)
	old := kmsg.NewPtrDeleteTopicsRequest()
	old.TopicNames = []string{"keep"}
	wantCode(t, "deletion disabled, v2", requestAt[*kmsg.DeleteTopicsResponse](t, b2, old, 2).Topics[0].ErrorCode, kerr.InvalidRequest)
	if b2.topics.get("keep") == nil {
		t.Fatal("a topic was deleted with delete.topic.enable=false")
	}

	// A topic named twice is deleted under neither mention; a name with an id is refused.
	createTopic(t, c, "dt-twice", 1)
	twice := kmsg.NewPtrDeleteTopicsRequest()
	twice.TopicNames = []string{"dt-twice", "dt-twice"}
	twice.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("dt-twice")}, {Topic: kmsg.StringPtr("dt-twice")}}
	for i, rt := range request[*kmsg.DeleteTopicsResponse](t, c, twice).Topics {
		wantCode(t, "topic named twice, mention "+strconv.Itoa(i), rt.ErrorCode, kerr.InvalidRequest)
	}
	both := kmsg.NewPtrDeleteTopicsRequest()
	both.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("dt-twice"), TopicID: b.topics.get("dt-twice").id}}
	wantCode(t, "name and id", requestAt[*kmsg.DeleteTopicsResponse](t, b, both, 6).Topics[0].ErrorCode, kerr.InvalidRequest)
	if b.topics.get("dt-twice") == nil {
		t.Fatal("a topic named twice was deleted")
	}
}

func describeTopicConfig(t *testing.T, c *kgo.Client, topic string, synonyms bool) map[string]kmsg.DescribeConfigsResponseResourceConfig {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeSynonyms = synonyms
	req.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: topic}}
	resp := request[*kmsg.DescribeConfigsResponse](t, c, req)
	wantCode(t, "DescribeConfigs", resp.Resources[0].ErrorCode, nil)
	out := map[string]kmsg.DescribeConfigsResponseResourceConfig{}
	for _, cfg := range resp.Resources[0].Configs {
		out[cfg.Name] = cfg
	}
	return out
}

func TestConfigsDescribeAlterPersist(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir, "log.retention.hours", "48")
	c := newClient(t, b)
	createTopic(t, c, "cfg", 1, "segment.bytes", "1048576")

	cfgs := describeTopicConfig(t, c, "cfg", true)
	if v := cfgs["segment.bytes"]; *v.Value != "1048576" || v.Source != kmsg.ConfigSourceDynamicTopicConfig || v.IsDefault {
		t.Fatalf("segment.bytes: %+v", v)
	}
	if v := cfgs["retention.ms"]; *v.Value != "172800000" || v.Source != kmsg.ConfigSourceStaticBrokerConfig || len(v.ConfigSynonyms) < 2 {
		t.Fatalf("retention.ms from log.retention.hours: %+v", v)
	}
	if v := cfgs["cleanup.policy"]; *v.Value != "delete" || v.Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("cleanup.policy: %+v", v)
	}

	// Incremental: SET, APPEND to a list, DELETE back to the default.
	inc := kmsg.NewPtrIncrementalAlterConfigsRequest()
	inc.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{
		ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "cfg",
		Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{
			{Name: "retention.ms", Op: kmsg.IncrementalAlterConfigOpSet, Value: kmsg.StringPtr("60000")},
			{Name: "cleanup.policy", Op: kmsg.IncrementalAlterConfigOpAppend, Value: kmsg.StringPtr("compact")},
			{Name: "segment.bytes", Op: kmsg.IncrementalAlterConfigOpDelete},
		},
	}}
	wantCode(t, "incremental alter", request[*kmsg.IncrementalAlterConfigsResponse](t, c, inc).Resources[0].ErrorCode, nil)
	cfgs = describeTopicConfig(t, c, "cfg", false)
	if *cfgs["retention.ms"].Value != "60000" || *cfgs["cleanup.policy"].Value != "delete,compact" || *cfgs["segment.bytes"].Value != "1073741824" {
		t.Fatalf("after incremental alter: retention.ms=%s cleanup.policy=%s segment.bytes=%s",
			*cfgs["retention.ms"].Value, *cfgs["cleanup.policy"].Value, *cfgs["segment.bytes"].Value)
	}
	if got := b.topics.get("cfg").partitions[0].log.Config().RetentionMs; got != 60000 {
		t.Fatalf("log config not applied: retention %d", got)
	}
	// SUBTRACT, an invalid value, APPEND to a non-list, a config named twice.
	for _, tc := range []struct {
		cfg  []kmsg.IncrementalAlterConfigsRequestResourceConfig
		want *kerr.Error
	}{
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "cleanup.policy", Op: kmsg.IncrementalAlterConfigOpSubtract, Value: kmsg.StringPtr("delete")}}, nil},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "retention.ms", Op: kmsg.IncrementalAlterConfigOpSet, Value: kmsg.StringPtr("-5")}}, kerr.InvalidConfig},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "retention.ms", Op: kmsg.IncrementalAlterConfigOpAppend, Value: kmsg.StringPtr("5")}}, kerr.InvalidConfig},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "retention.ms", Op: kmsg.IncrementalAlterConfigOpSet, Value: kmsg.StringPtr("5")}, {Name: "retention.ms", Op: kmsg.IncrementalAlterConfigOpDelete}}, kerr.InvalidRequest},
		// As Kafka: only DELETE goes without a value; deleting a name nothing has is a no-op.
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "retention.ms", Op: kmsg.IncrementalAlterConfigOpSet}}, kerr.InvalidRequest},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "cleanup.policy", Op: kmsg.IncrementalAlterConfigOpAppend}}, kerr.InvalidRequest},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "no.such.config", Op: kmsg.IncrementalAlterConfigOpDelete}}, nil},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "no.such.config", Op: kmsg.IncrementalAlterConfigOpSet, Value: kmsg.StringPtr("1")}}, kerr.InvalidConfig},
	} {
		r := kmsg.NewPtrIncrementalAlterConfigsRequest()
		r.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "cfg", Configs: tc.cfg}}
		wantCode(t, "incremental", request[*kmsg.IncrementalAlterConfigsResponse](t, c, r).Resources[0].ErrorCode, tc.want)
	}
	if v := *describeTopicConfig(t, c, "cfg", false)["cleanup.policy"].Value; v != "compact" {
		t.Fatalf("after SUBTRACT: %s", v)
	}

	// Legacy AlterConfigs replaces all overrides.
	alt := kmsg.NewPtrAlterConfigsRequest()
	alt.Resources = []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "cfg",
		Configs: []kmsg.AlterConfigsRequestResourceConfig{{Name: "max.message.bytes", Value: kmsg.StringPtr("2000000")}}}}
	wantCode(t, "alter", request[*kmsg.AlterConfigsResponse](t, c, alt).Resources[0].ErrorCode, nil)
	altNull := kmsg.NewPtrAlterConfigsRequest()
	altNull.Resources = []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "cfg",
		Configs: []kmsg.AlterConfigsRequestResourceConfig{{Name: "max.message.bytes"}}}}
	wantCode(t, "alter with a null value", request[*kmsg.AlterConfigsResponse](t, c, altNull).Resources[0].ErrorCode, kerr.InvalidRequest)
	// Broker configs are static.
	altB := kmsg.NewPtrAlterConfigsRequest()
	altB.Resources = []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "0"}}
	wantCode(t, "alter broker", request[*kmsg.AlterConfigsResponse](t, c, altB).Resources[0].ErrorCode, kerr.InvalidRequest)

	// Persisted across a restart.
	closeBroker(t, b)
	b2 := startBroker(t, dir)
	c2 := newClient(t, b2)
	cfgs = describeTopicConfig(t, c2, "cfg", false)
	if *cfgs["max.message.bytes"].Value != "2000000" || *cfgs["retention.ms"].Value != "604800000" {
		t.Fatalf("after restart: max.message.bytes=%s retention.ms=%s", *cfgs["max.message.bytes"].Value, *cfgs["retention.ms"].Value)
	}

	// Broker resource.
	br := kmsg.NewPtrDescribeConfigsRequest()
	br.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "0", ConfigNames: []string{"num.partitions", "log.dirs"}}}
	bresp := request[*kmsg.DescribeConfigsResponse](t, c2, br)
	if len(bresp.Resources[0].Configs) != 2 {
		t.Fatalf("broker configs: %+v", bresp.Resources[0])
	}
	for _, cfg := range bresp.Resources[0].Configs {
		if cfg.Name == "log.dirs" && (*cfg.Value != dir || cfg.Source != kmsg.ConfigSourceStaticBrokerConfig) {
			t.Fatalf("log.dirs: %+v", cfg)
		}
		if cfg.Name == "num.partitions" && (*cfg.Value != "1" || cfg.Source != kmsg.ConfigSourceDefaultConfig) {
			t.Fatalf("num.partitions: %+v", cfg)
		}
	}
	// An empty list of names (not null) asks for every config, as in Kafka.
	br.Resources[0].ConfigNames = []string{}
	if all := request[*kmsg.DescribeConfigsResponse](t, c2, br).Resources[0]; all.ErrorCode != 0 || len(all.Configs) < 20 {
		t.Fatalf("broker configs for an empty list of names: %d configs, error %d", len(all.Configs), all.ErrorCode)
	}
	// Unknown topic.
	un := kmsg.NewPtrDescribeConfigsRequest()
	un.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "nope"}}
	wantCode(t, "describe unknown", request[*kmsg.DescribeConfigsResponse](t, c2, un).Resources[0].ErrorCode, kerr.UnknownTopicOrPartition)
}

func produceRaw(t *testing.T, c *kgo.Client, topic string, partition int32, acks int16, batch []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks = acks
	req.TimeoutMillis = 5000
	req.Topics = append(req.Topics, produceTopic(topic, partition, batch))
	resp := request[*kmsg.ProduceResponse](t, c, req)
	return resp.Topics[0].Partitions[0]
}

func TestProduceErrors(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	createTopic(t, c, "pe", 1, "max.message.bytes", "200")
	createTopic(t, c, "pe-lat", 1, "message.timestamp.type", "LogAppendTime")

	wantCode(t, "ok", produceRaw(t, c, "pe", 0, 1, buildBatch(-1, -1, -1, "a")).ErrorCode, nil)
	wantCode(t, "unknown topic", produceRaw(t, c, "pe-none", 0, 1, buildBatch(-1, -1, -1, "a")).ErrorCode, kerr.UnknownTopicOrPartition)
	wantCode(t, "unknown partition", produceRaw(t, c, "pe", 5, 1, buildBatch(-1, -1, -1, "a")).ErrorCode, kerr.UnknownTopicOrPartition)
	bad := buildBatch(-1, -1, -1, "a")
	bad[len(bad)-2] ^= 0xff // corrupt a record byte: the CRC no longer matches
	wantCode(t, "bad CRC", produceRaw(t, c, "pe", 0, 1, bad).ErrorCode, kerr.CorruptMessage)
	wantCode(t, "too large", produceRaw(t, c, "pe", 0, -1, buildBatch(-1, -1, -1, strings.Repeat("z", 300))).ErrorCode, kerr.MessageTooLarge)
	wantCode(t, "garbage records", produceRaw(t, c, "pe", 0, 1, []byte("not a record batch at all, not at all")).ErrorCode, kerr.CorruptMessage)

	// LogAppendTime: the broker stamps the time and returns it.
	before := time.Now().UnixMilli()
	r := produceRaw(t, c, "pe-lat", 0, -1, buildBatch(-1, -1, -1, "t"))
	wantCode(t, "log append time", r.ErrorCode, nil)
	if r.LogAppendTime < before || r.LogAppendTime > time.Now().UnixMilli() {
		t.Fatalf("log append time %d not in [%d, now]", r.LogAppendTime, before)
	}
	if r2 := produceRaw(t, c, "pe", 0, 1, buildBatch(-1, -1, -1, "b")); r2.LogAppendTime != -1 || r2.BaseOffset != 1 {
		t.Fatalf("CreateTime topic: %+v", r2)
	}

	// A transactional id gets a producer id from the transaction coordinator; a timeout
	// above transaction.max.timeout.ms is refused.
	// (Sent by hand: a client would first look for a transaction coordinator.)
	initTxn := func(timeoutMs int32) *kmsg.InitProducerIDResponse {
		ip := kmsg.NewPtrInitProducerIDRequest()
		ip.Version = 4
		ip.TransactionalID = kmsg.StringPtr("tx")
		ip.TransactionTimeoutMillis = timeoutMs
		rc := dialRaw(t, b)
		rc.send(ip, 9)
		ipResp := ip.ResponseKind().(*kmsg.InitProducerIDResponse)
		rc.response(ipResp, 9)
		return ipResp
	}
	wantCode(t, "transactional InitProducerId", initTxn(1000).ErrorCode, nil)
	wantCode(t, "transaction timeout above the maximum", initTxn(900001).ErrorCode, kerr.InvalidTransactionTimeout)
	// An idempotent producer naming a producer id gets a new one at epoch 0, as from
	// Kafka, also when this broker never issued that id (its data directory was wiped).
	ip2 := kmsg.NewPtrInitProducerIDRequest()
	ip2.ProducerID, ip2.ProducerEpoch = 1<<40, 0
	r2 := request[*kmsg.InitProducerIDResponse](t, c, ip2)
	if r2.ErrorCode != 0 || r2.ProducerID < 0 || r2.ProducerID == 1<<40 || r2.ProducerEpoch != 0 {
		t.Fatalf("InitProducerId naming an unknown producer id: %+v", r2)
	}
	ip2.ProducerID, ip2.ProducerEpoch = r2.ProducerID, r2.ProducerEpoch
	if r3 := request[*kmsg.InitProducerIDResponse](t, c, ip2); r3.ErrorCode != 0 || r3.ProducerID == r2.ProducerID || r3.ProducerEpoch != 0 {
		t.Fatalf("InitProducerId naming its own producer id: %+v", r3)
	}
	// A producer id without an epoch, or the reverse, is malformed.
	ip2.ProducerID, ip2.ProducerEpoch = r2.ProducerID, -1
	wantCode(t, "producer id without an epoch", request[*kmsg.InitProducerIDResponse](t, c, ip2).ErrorCode, kerr.InvalidRequest)
	ip2.ProducerID, ip2.ProducerEpoch = -1, 3
	wantCode(t, "epoch without a producer id", request[*kmsg.InitProducerIDResponse](t, c, ip2).ErrorCode, kerr.InvalidRequest)
}

func TestListOffsetsAndDeleteRecords(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	createTopic(t, c, "lo", 1)
	// Batches with known timestamps: batch i has timestamp base+i*1000.
	base := time.Now().Add(-time.Hour).UnixMilli()
	for i := 0; i < 5; i++ {
		batch := buildBatch(-1, -1, -1, "a", "b")
		setBatchTimestamp(batch, base+int64(i)*1000)
		wantCode(t, "produce", produceRaw(t, c, "lo", 0, 1, batch).ErrorCode, nil)
	}
	list := func(ts int64) kmsg.ListOffsetsResponseTopicPartition {
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "lo"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Timestamp = ts
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return request[*kmsg.ListOffsetsResponse](t, c, req).Topics[0].Partitions[0]
	}
	if r := list(-2); r.Offset != 0 || r.ErrorCode != 0 {
		t.Fatalf("earliest: %+v", r)
	}
	if r := list(-1); r.Offset != 10 {
		t.Fatalf("latest: %+v", r)
	}
	if r := list(base + 2500); r.Offset != 6 || r.Timestamp != base+3000 {
		t.Fatalf("by timestamp: %+v", r)
	}
	if r := list(base + 999999); r.Offset != -1 {
		t.Fatalf("after the last timestamp: %+v", r)
	}
	if r := list(-3); r.Timestamp != base+4000 || r.Offset < 8 {
		t.Fatalf("max timestamp: %+v", r)
	}
	// A special timestamp the request's version does not know, or an unknown one, is
	// UNSUPPORTED_VERSION, as in Kafka.
	for _, tc := range []struct {
		ts      int64
		version int16
		want    *kerr.Error
	}{{-3, 6, kerr.UnsupportedVersion}, {-3, 7, nil}, {-4, 7, kerr.UnsupportedVersion}, {-4, 8, nil}, {-5, 8, kerr.UnsupportedVersion}, {-9, 8, kerr.UnsupportedVersion}} {
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "lo"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Timestamp = tc.ts
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := requestAt[*kmsg.ListOffsetsResponse](t, b, req, tc.version)
		wantCode(t, "ListOffsets v"+strconv.Itoa(int(tc.version))+" timestamp "+strconv.Itoa(int(tc.ts)), resp.Topics[0].Partitions[0].ErrorCode, tc.want)
	}

	// DeleteRecords moves the log start offset; fetching below it is out of range.
	dr := kmsg.NewPtrDeleteRecordsRequest()
	dr.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: "lo", Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Partition: 0, Offset: 4}}}}
	drr := request[*kmsg.DeleteRecordsResponse](t, c, dr).Topics[0].Partitions[0]
	if drr.ErrorCode != 0 || drr.LowWatermark != 4 {
		t.Fatalf("delete records: %+v", drr)
	}
	if r := list(-2); r.Offset != 4 {
		t.Fatalf("earliest after delete: %+v", r)
	}
	dr.Topics[0].Partitions[0].Offset = 99
	wantCode(t, "delete past the end", request[*kmsg.DeleteRecordsResponse](t, c, dr).Topics[0].Partitions[0].ErrorCode, kerr.OffsetOutOfRange)
	fr := fetchOnce(t, c, "lo", 0, 2, 0)
	wantCode(t, "fetch below log start", fr.ErrorCode, kerr.OffsetOutOfRange)
	if fr.LogStartOffset != 4 || fr.HighWatermark != 10 {
		t.Fatalf("fetch offsets: %+v", fr)
	}
	wantCode(t, "fetch past the end", fetchOnce(t, c, "lo", 0, 11, 0).ErrorCode, kerr.OffsetOutOfRange)
	if r := fetchOnce(t, c, "lo", 0, 10, 0); r.ErrorCode != 0 || len(r.RecordBatches) != 0 {
		t.Fatalf("fetch at the end: %+v", r)
	}

	// As in Kafka, a client cannot delete records of an internal topic.
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey = "lo-group"
	wantCode(t, "find coordinator", request[*kmsg.FindCoordinatorResponse](t, c, fc).ErrorCode, nil)
	dr.Topics[0].Topic = "__consumer_offsets"
	dr.Topics[0].Partitions[0].Offset = -1
	wantCode(t, "delete records of an internal topic", request[*kmsg.DeleteRecordsResponse](t, c, dr).Topics[0].Partitions[0].ErrorCode, kerr.InvalidTopicException)
}

// TestDeleteRecordsNeedsDeletePolicy: as in Kafka, DeleteRecords on a topic whose
// cleanup.policy does not include delete answers POLICY_VIOLATION and leaves the log
// alone; with compact,delete it moves the log start offset.
func TestDeleteRecordsNeedsDeletePolicy(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	for _, tc := range []struct {
		policy string
		want   *kerr.Error
		low    int64
	}{{"compact", kerr.PolicyViolation, -1}, {"compact,delete", nil, 2}} {
		topic := "dr-" + strings.ReplaceAll(tc.policy, ",", "-")
		createTopic(t, c, topic, 1, "cleanup.policy", tc.policy)
		for i := 0; i < 3; i++ {
			r := &kgo.Record{Topic: topic, Key: []byte(strconv.Itoa(i)), Value: []byte("v")}
			if err := c.ProduceSync(testCtx(t), r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		dr := kmsg.NewPtrDeleteRecordsRequest()
		dr.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: topic, Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Partition: 0, Offset: 2}}}}
		got := request[*kmsg.DeleteRecordsResponse](t, c, dr).Topics[0].Partitions[0]
		wantCode(t, tc.policy, got.ErrorCode, tc.want)
		if got.LowWatermark != tc.low {
			t.Fatalf("%s: low watermark %d, want %d", tc.policy, got.LowWatermark, tc.low)
		}
		want := int64(0)
		if tc.want == nil {
			want = 2
		}
		if start, _ := b.topics.get(topic).partitions[0].offsets(); start != want {
			t.Fatalf("%s: log start offset %d, want %d", tc.policy, start, want)
		}
	}
}

// setBatchTimestamp sets a batch's first and max timestamps (and fixes its CRC).
func setBatchTimestamp(batch []byte, ts int64) {
	for _, off := range []int{27, 35} {
		for i := 0; i < 8; i++ {
			batch[off+i] = byte(uint64(ts) >> (56 - 8*i))
		}
	}
	fixCRC(batch)
}

func fetchOnce(t *testing.T, c *kgo.Client, topic string, partition int32, offset int64, maxWait int32) kmsg.FetchResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis = maxWait
	req.MinBytes = 1
	req.MaxBytes = 1 << 20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	if tp := topicIDFor(t, c, topic); tp != ([16]byte{}) {
		rt.TopicID = tp
	}
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = partition, offset, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := request[*kmsg.FetchResponse](t, c, req)
	wantCode(t, "fetch", resp.ErrorCode, nil)
	return resp.Topics[0].Partitions[0]
}

func topicIDFor(t *testing.T, c *kgo.Client, topic string) [16]byte {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr(topic)}}
	return request[*kmsg.MetadataResponse](t, c, req).Topics[0].TopicID
}

// TestFetchLongPoll: a fetch with nothing to read waits, and an append wakes it before its
// (very long) max wait; the test's own deadline catches a fetch that is never woken.
func TestFetchLongPoll(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	createTopic(t, c, "lp", 2)
	got := make(chan kmsg.FetchResponseTopicPartition, 1)
	go func() {
		req := kmsg.NewPtrFetchRequest()
		req.MaxWaitMillis = 600_000
		req.MinBytes = 1
		req.MaxBytes = 1 << 20
		req.SessionEpoch = -1
		req.Topics = append(req.Topics, fetchTopic("lp", b.topics.get("lp").id, 1<<20, 0, 1))
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, c)
		if err != nil {
			close(got)
			return
		}
		for _, p := range resp.Topics[0].Partitions {
			if len(p.RecordBatches) > 0 {
				got <- p
				return
			}
		}
		close(got)
	}()
	// Wait until the fetch is parked on the partitions, then append to partition 1.
	p1 := b.topics.get("lp").partitions[1]
	testutil.Eventually(t, 30*time.Second, "the fetch waiting", func() bool { return p1.nwait.Load() != 0 })
	wantCode(t, "produce", produceRaw(t, c, "lp", 1, 1, buildBatch(-1, -1, -1, "wake")).ErrorCode, nil)
	select {
	case p, ok := <-got:
		if !ok || p.Partition != 1 || p.HighWatermark != 1 {
			t.Fatalf("woken fetch: %+v ok=%v", p, ok)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the append did not wake the fetch")
	}
}

func TestFetchMaxBytes(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	createTopic(t, c, "mb", 1)
	for i := 0; i < 10; i++ {
		produceRaw(t, c, "mb", 0, 1, buildBatch(-1, -1, -1, strings.Repeat("x", 1000)))
	}
	req := kmsg.NewPtrFetchRequest()
	req.MaxBytes = 10 // smaller than one batch: KIP-74 still returns the first batch whole
	req.SessionEpoch = -1
	req.Topics = append(req.Topics, fetchTopic("mb", b.topics.get("mb").id, 1<<20, 0))
	resp := request[*kmsg.FetchResponse](t, c, req)
	n, _ := nextOffsetAfter(resp.Topics[0].Partitions[0].RecordBatches)
	if n != 1 {
		t.Fatalf("max_bytes=10 returned batches up to offset %d, want exactly the first batch", n)
	}
	req.MaxBytes = 1 << 20
	req.Topics[0].Partitions[0].PartitionMaxBytes = 2500
	resp = request[*kmsg.FetchResponse](t, c, req)
	if n, _ := nextOffsetAfter(resp.Topics[0].Partitions[0].RecordBatches); n != 2 {
		t.Fatalf("partition_max_bytes=2500 returned up to offset %d, want 2 batches", n)
	}
	// A session id brokerlite never gave out.
	req.SessionID = 77
	wantCode(t, "unknown fetch session", request[*kmsg.FetchResponse](t, c, req).ErrorCode, kerr.FetchSessionIDNotFound)
}

func TestDescribeCluster(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	resp := request[*kmsg.DescribeClusterResponse](t, c, kmsg.NewPtrDescribeClusterRequest())
	if resp.ErrorCode != 0 || resp.ClusterID != b.ClusterID() || resp.ControllerID != b.NodeID() || len(resp.Brokers) != 1 {
		t.Fatalf("%+v", resp)
	}
	// KIP-919: a broker asked for controllers answers that it is the wrong kind of
	// endpoint; a type Kafka does not know is unsupported.
	for typ, want := range map[int8]*kerr.Error{2: kerr.MismatchedEndpointType, 0: kerr.UnsupportedEndpointType, 3: kerr.UnsupportedEndpointType} {
		req := kmsg.NewPtrDescribeClusterRequest()
		req.EndpointType = typ
		resp := requestAt[*kmsg.DescribeClusterResponse](t, b, req, 1)
		wantCode(t, "DescribeCluster of endpoint type "+strconv.Itoa(int(typ)), resp.ErrorCode, want)
		if len(resp.Brokers) != 0 || resp.ErrorMessage == nil {
			t.Fatalf("endpoint type %d: %+v", typ, resp)
		}
	}
}

// TestAuthorizedOperationsWithoutAuthorizer: without an authorizer every operation is
// allowed, and Metadata, DescribeCluster and DescribeGroups say so when asked (KIP-430),
// listing every operation Kafka defines for the resource; not asked, the fields keep their
// "not requested" value.
func TestAuthorizedOperationsWithoutAuthorizer(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	createTopic(t, c, "ops", 1)
	const (
		// READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS
		topicOps = int32(1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<10 | 1<<11)
		// CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE
		clusterOps = int32(1<<5 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12)
		// READ, DELETE, DESCRIBE
		groupOps     = int32(1<<3 | 1<<6 | 1<<8)
		notRequested = int32(math.MinInt32)
	)
	for _, ask := range []bool{true, false} {
		want := func(ops int32) int32 {
			if ask {
				return ops
			}
			return notRequested
		}
		md := kmsg.NewPtrMetadataRequest()
		md.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("ops")}}
		md.IncludeTopicAuthorizedOperations, md.IncludeClusterAuthorizedOperations = ask, ask
		mr := requestAt[*kmsg.MetadataResponse](t, b, md, 10) // the last version with the cluster's field
		if len(mr.Topics) != 1 || mr.Topics[0].AuthorizedOperations != want(topicOps) || mr.AuthorizedOperations != want(clusterOps) {
			t.Errorf("Metadata asking %v: topic %b, cluster %b; want %b, %b", ask, mr.Topics[0].AuthorizedOperations, mr.AuthorizedOperations, want(topicOps), want(clusterOps))
		}

		dc := kmsg.NewPtrDescribeClusterRequest()
		dc.IncludeClusterAuthorizedOperations = ask
		if got := request[*kmsg.DescribeClusterResponse](t, c, dc).ClusterAuthorizedOperations; got != want(clusterOps) {
			t.Errorf("DescribeCluster asking %v: %b, want %b", ask, got, want(clusterOps))
		}

		offs := kadm.Offsets{}
		offs.Add(kadm.Offset{Topic: "ops", Partition: 0, At: 1, LeaderEpoch: -1})
		if resp, err := kadm.NewClient(c).CommitOffsets(testCtx(t), "ops-g", offs); err != nil || resp.Error() != nil {
			t.Fatalf("commit: %v %v", err, resp.Error())
		}
		dg := kmsg.NewPtrDescribeGroupsRequest()
		dg.Groups, dg.IncludeAuthorizedOperations = []string{"ops-g"}, ask
		gr := request[*kmsg.DescribeGroupsResponse](t, c, dg)
		if len(gr.Groups) != 1 || gr.Groups[0].ErrorCode != 0 || gr.Groups[0].AuthorizedOperations != want(groupOps) {
			t.Errorf("DescribeGroups asking %v: %+v, want operations %b", ask, gr.Groups, want(groupOps))
		}
	}
}

// TestCloseEndsLongPoll: Close does not wait for a fetch's max wait; the parked fetch
// returns when the broker's context is cancelled.
func TestCloseEndsLongPoll(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	createTopic(t, c, "close-lp", 1)
	rc := dialRaw(t, b)
	req := kmsg.NewPtrFetchRequest()
	req.Version = 12
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.SessionEpoch = 600_000, 1, 1<<20, -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "close-lp"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	rc.send(req, 1)
	p := b.topics.get("close-lp").partitions[0]
	testutil.Eventually(t, 30*time.Second, "the fetch waiting", func() bool { return p.nwait.Load() != 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close with a parked fetch: %v", err)
	}
}

// TestFetchEmptyPartitionsHaveEmptyRecords: a partition with nothing to return carries an
// empty record set, never a null one (Kafka's behaviour; sarama cannot decode null), at
// every Fetch version.
func TestFetchEmptyPartitionsHaveEmptyRecords(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	createTopic(t, c, "empty-recs", 2)
	produceRaw(t, c, "empty-recs", 1, 1, buildBatch(-1, -1, -1, "only partition 1"))
	for v := handlers[int16(kmsg.Fetch)].min; v <= handlers[int16(kmsg.Fetch)].max; v++ {
		rc := dialRaw(t, b) // a fresh connection: its first answer, with no buffer recycled yet
		req := kmsg.NewPtrFetchRequest()
		req.Version = v
		req.MaxBytes, req.SessionEpoch = 1<<20, -1
		req.Topics = append(req.Topics, fetchTopic("empty-recs", b.topics.get("empty-recs").id, 1<<20, 0, 1, 2)) // partition 2 does not exist
		rc.send(req, int32(v))
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		rc.response(resp, int32(v))
		ps := resp.Topics[0].Partitions
		if len(ps[1].RecordBatches) == 0 {
			t.Fatalf("v%d: partition 1 returned no records", v)
		}
		for _, p := range []kmsg.FetchResponseTopicPartition{ps[0], ps[2]} {
			if p.RecordBatches == nil {
				t.Fatalf("v%d: partition %d has a null record set", v, p.Partition)
			}
		}
	}
}

// A Produce request's records are checked as Kafka checks them before the log: one batch
// per partition, magic 2, base offset 0, no zstd before v7; a topic that does not exist is
// named so even when the acks are invalid.
func TestProduceRecordsCheckedAsKafka(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b)
	createTopic(t, c, "pr", 1)
	produce := func(version, acks int16, topic string, records []byte) int16 {
		t.Helper()
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = acks, 5000
		req.Topics = append(req.Topics, produceTopic(topic, 0, records))
		return requestAt[*kmsg.ProduceResponse](t, b, req, version).Topics[0].Partitions[0].ErrorCode
	}
	two := append(buildBatch(-1, -1, -1, "a"), buildBatch(-1, -1, -1, "b")...)
	wantCode(t, "two batches", produce(9, 1, "pr", two), kerr.InvalidRecord)
	magic1 := buildBatch(-1, -1, -1, "a")
	magic1[16] = 1
	wantCode(t, "magic 1", produce(9, 1, "pr", magic1), kerr.InvalidRecord)
	based := buildBatch(-1, -1, -1, "a")
	binary.BigEndian.PutUint64(based, 5)
	wantCode(t, "base offset 5", produce(9, 1, "pr", based), kerr.InvalidRecord)
	zstd := buildBatch(-1, -1, -1, "a")
	binary.BigEndian.PutUint16(zstd[21:], 4)
	fixCRC(zstd)
	wantCode(t, "zstd at v6", produce(6, 1, "pr", zstd), kerr.UnsupportedCompressionType)
	wantCode(t, "unknown topic, invalid acks", produce(9, 2, "pr-none", buildBatch(-1, -1, -1, "a")), kerr.UnknownTopicOrPartition)
	wantCode(t, "invalid acks", produce(9, 2, "pr", buildBatch(-1, -1, -1, "a")), kerr.InvalidRequiredAcks)
	if _, hwm := b.topics.get("pr").partitions[0].offsets(); hwm != 0 {
		t.Fatalf("refused batches appended: end offset %d", hwm)
	}
	wantCode(t, "one batch", produce(9, 1, "pr", buildBatch(-1, -1, -1, "a")), nil)
	if code, _ := checkProduceRecords(7, zstd); code != nil {
		t.Errorf("zstd at v7: %v", code)
	}
}
