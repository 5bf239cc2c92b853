package brokerlite

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// seedRequests are valid requests of every served API, the fuzzers' starting points.
func seedRequests() []kmsg.Request {
	var out []kmsg.Request
	meta := kmsg.NewPtrMetadataRequest()
	meta.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("fz")}}
	meta.AllowAutoTopicCreation = true
	out = append(out, meta, kmsg.NewPtrApiVersionsRequest())

	prod := kmsg.NewPtrProduceRequest()
	prod.Acks = 1
	prod.Topics = append(prod.Topics, produceTopic("fz", 0, buildBatch(-1, -1, -1, "a", "b")))
	out = append(out, prod)

	fetch := kmsg.NewPtrFetchRequest()
	fetch.MaxWaitMillis, fetch.MinBytes, fetch.MaxBytes, fetch.SessionEpoch = 10, 1, 1<<20, -1
	fetch.Topics = append(fetch.Topics, fetchTopic("fz", [16]byte{}, 1<<20, 0))
	out = append(out, fetch)

	lo := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = "fz"
	lt.Partitions = []kmsg.ListOffsetsRequestTopicPartition{{Timestamp: -1}, {Timestamp: 5}}
	lo.Topics = append(lo.Topics, lt)
	out = append(out, lo)

	out = append(out, createTopicsReq("fz2", 2, 1, "cleanup.policy", "compact"))
	dt := kmsg.NewPtrDeleteTopicsRequest()
	dt.TopicNames = []string{"fz2"}
	dt.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("fz2")}}
	out = append(out, dt)

	dr := kmsg.NewPtrDeleteRecordsRequest()
	dr.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: "fz", Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Offset: 1}}}}
	out = append(out, dr, kmsg.NewPtrInitProducerIDRequest())

	dc := kmsg.NewPtrDescribeConfigsRequest()
	dc.IncludeSynonyms = true
	dc.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "fz"}, {ResourceType: kmsg.ConfigResourceTypeBroker}}
	out = append(out, dc)

	ac := kmsg.NewPtrAlterConfigsRequest()
	ac.Resources = []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "fz",
		Configs: []kmsg.AlterConfigsRequestResourceConfig{{Name: "retention.ms", Value: kmsg.StringPtr("1000")}}}}
	out = append(out, ac)

	iac := kmsg.NewPtrIncrementalAlterConfigsRequest()
	iac.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "fz",
		Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "cleanup.policy", Op: kmsg.IncrementalAlterConfigOpAppend, Value: kmsg.StringPtr("compact")}}}}
	out = append(out, iac)

	cp := kmsg.NewPtrCreatePartitionsRequest()
	cp.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: "fz", Count: 2}}
	out = append(out, cp, kmsg.NewPtrDescribeClusterRequest())

	ld := kmsg.NewPtrDescribeLogDirsRequest()
	ld.Topics = []kmsg.DescribeLogDirsRequestTopic{{Topic: "fz", Partitions: []int32{0, 9}}}
	out = append(out, ld, kmsg.NewPtrDescribeLogDirsRequest()) // the second: every partition

	dp := kmsg.NewPtrDescribeProducersRequest()
	dp.Topics = []kmsg.DescribeProducersRequestTopic{{Topic: "fz", Partitions: []int32{0, -1}}}
	out = append(out, dp)
	return out
}

// FuzzRequestFrame feeds arbitrary request frames (the bytes after the size prefix) to the
// broker's decode-and-dispatch path, including every handler: it must never panic (handler
// panics are not recovered here, so they fail the fuzzer), and whatever it answers must be
// a well-formed response frame.
func FuzzRequestFrame(f *testing.F) {
	for _, req := range seedRequests() {
		for v := int16(0); v <= req.MaxVersion(); v++ {
			h, ok := handlers[req.Key()]
			if !ok || v < h.min || v > h.max {
				continue
			}
			req.SetVersion(v)
			frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz")).AppendRequest(nil, req, 1)
			f.Add(frame[4:])
		}
	}
	f.Add([]byte{0, 18, 0, 99, 0, 0, 0, 1, 255, 255})
	f.Add([]byte{})

	b := startBroker(f, "", "num.partitions", "1", "offsets.topic.num.partitions", "1")
	maxPartitionsPerTopic = 4 // keep topic creation cheap under fuzzing
	recoverHandlerPanics = false
	f.Cleanup(func() { recoverHandlerPanics = true; maxPartitionsPerTopic = 10000 })
	info := &ConnInfo{Remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}}

	f.Fuzz(func(t *testing.T, frame []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		out, err := b.handleFrame(ctx, info, frame, nil)
		if err != nil || out == nil {
			return
		}
		if len(out) < 8 || int(binary.BigEndian.Uint32(out)) != len(out)-4 {
			t.Fatalf("bad response frame of %d bytes", len(out))
		}
		if !bytes.Equal(out[4:8], frame[4:8]) {
			t.Fatalf("correlation id %x, want %x", out[4:8], frame[4:8])
		}
	})
}

// FuzzReadFrame checks the framing layer against arbitrary byte streams.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0, 0, 0, 8, 0, 18, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 2, 1})
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := bufioReader(stream)
		for i := 0; i < 4; i++ {
			frame, err := readFrame(r, nil, 1<<16)
			if err != nil {
				return
			}
			if len(frame) < 8 || len(frame) > 1<<16 {
				t.Fatalf("frame of %d bytes accepted", len(frame))
			}
		}
	})
}

// FuzzParseProperties checks the server.properties parser and the settings validation.
func FuzzParseProperties(f *testing.F) {
	f.Add("broker.id=0\nlisteners=PLAINTEXT://127.0.0.1:9092\nlog.dirs=/tmp/x\n")
	f.Add("# comment\n! also\nnum.partitions : 3\nlog.retention.hours=1\\\n0\n")
	f.Add("log.retention.ms=-1\nlog.cleanup.policy=compact,delete\nauto.create.topics.enable=false")
	f.Add("listeners=SSL://x:1\n=novalue\nnokey")
	f.Fuzz(func(t *testing.T, text string) {
		props, err := ParseProperties(bytes.NewReader([]byte(text)))
		if err != nil {
			return
		}
		s, _, err := ParseSettings(Config{Properties: props})
		if err == nil && (len(s.LogDirs) == 0 || s.NumPartitions < 1 || s.DefaultReplication != 1) {
			t.Fatalf("invalid settings accepted: %+v", s)
		}
	})
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
