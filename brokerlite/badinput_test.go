package brokerlite

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawClient speaks the protocol by hand, to send what no client library would.
type rawClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, b *Broker) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", b.Addr(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, c: c, r: bufio.NewReader(c)}
}

func (rc *rawClient) write(frame []byte) {
	rc.t.Helper()
	if _, err := rc.c.Write(frame); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// send encodes req (at its set version) with a request header and writes it.
func (rc *rawClient) send(req kmsg.Request, corr int32) {
	rc.t.Helper()
	rc.write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw-test")).AppendRequest(nil, req, corr))
}

// readFrame reads one response frame, or returns the error (io.EOF when the broker closed).
func (rc *rawClient) readFrame() ([]byte, error) {
	_ = rc.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(rc.r, size[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(rc.r, buf)
	return buf, err
}

// response reads one response and decodes it into resp (header v0 or v1 by flexible).
func (rc *rawClient) response(resp kmsg.Response, corr int32) {
	rc.t.Helper()
	frame, err := rc.readFrame()
	if err != nil {
		rc.t.Fatalf("reading response: %v", err)
	}
	if got := int32(binary.BigEndian.Uint32(frame)); got != corr {
		rc.t.Fatalf("correlation id %d, want %d", got, corr)
	}
	body := frame[4:]
	if resp.IsFlexible() && resp.Key() != int16(kmsg.ApiVersions) {
		rd := kbin.Reader{Src: body}
		kmsg.SkipTags(&rd)
		body = rd.Src
	}
	if err := resp.ReadFrom(body); err != nil {
		rc.t.Fatalf("decoding %s: %v", kmsg.NameForKey(resp.Key()), err)
	}
}

// expectClosed checks that the broker closed the connection.
func (rc *rawClient) expectClosed(what string) {
	rc.t.Helper()
	_, err := rc.readFrame()
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		rc.t.Fatalf("%s: connection still open (err %v)", what, err)
	}
}

// checkHealthy checks the broker still serves other clients.
func checkHealthy(t *testing.T, b *Broker) {
	t.Helper()
	rc := dialRaw(t, b)
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	rc.send(req, 7)
	resp := req.ResponseKind()
	rc.response(resp, 7)
	if len(resp.(*kmsg.MetadataResponse).Brokers) != 1 {
		t.Fatal("broker unhealthy after bad input")
	}
}

func frameOf(body []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	return append(out, body...)
}

func TestBadInputClosesConnection(t *testing.T) {
	b := startBroker(t, "", "socket.request.max.bytes", "4096")
	header := func(key, version int16) []byte {
		h := binary.BigEndian.AppendUint16(nil, uint16(key))
		h = binary.BigEndian.AppendUint16(h, uint16(version))
		h = binary.BigEndian.AppendUint32(h, 1)
		return binary.BigEndian.AppendUint16(h, 0xffff) // null client id
	}
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"header too short", frameOf([]byte{0, 3, 0})},
		{"negative size", []byte{0xff, 0xff, 0xff, 0xf0, 1, 2, 3}},
		{"over socket.request.max.bytes", binary.BigEndian.AppendUint32(nil, 1<<20)},
		{"unknown api key", frameOf(header(999, 0))},
		{"unsupported version", frameOf(header(int16(kmsg.Metadata), 99))},
		{"below the minimum version", frameOf(header(int16(kmsg.Produce), 2))},
		{"truncated body", frameOf(append(header(int16(kmsg.Metadata), 1), 0, 0, 3, 232))}, // 1000 topics, none there
		{"client id longer than the frame", frameOf([]byte{0, 3, 0, 1, 0, 0, 0, 1, 0x7f, 0xff})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, b)
			rc.write(tc.frame)
			rc.expectClosed(tc.name)
			checkHealthy(t, b)
		})
	}
}

func TestApiVersionsUnsupportedVersion(t *testing.T) {
	// KIP-511: an ApiVersions request at a version the broker does not know is answered at
	// v0 with UNSUPPORTED_VERSION and the versions it does support.
	b := startBroker(t, "")
	rc := dialRaw(t, b)
	h := binary.BigEndian.AppendUint16(nil, uint16(kmsg.ApiVersions))
	h = binary.BigEndian.AppendUint16(h, 42)
	h = binary.BigEndian.AppendUint32(h, 5)
	h = binary.BigEndian.AppendUint16(h, 0xffff)
	h = append(h, 0, 1, 2, 3) // a body from the future
	rc.write(frameOf(h))
	resp := kmsg.NewPtrApiVersionsResponse()
	rc.response(resp, 5)
	if resp.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("error %d, want UNSUPPORTED_VERSION", resp.ErrorCode)
	}
	found := false
	for _, k := range resp.ApiKeys {
		if k.ApiKey == int16(kmsg.ApiVersions) && k.MaxVersion == 4 {
			found = true
		}
	}
	if !found {
		t.Fatalf("supported versions missing: %+v", resp.ApiKeys)
	}
	// The connection stays usable: retry at a supported version.
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "raw", "1.0"
	rc.send(req, 6)
	resp2 := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	rc.response(resp2, 6)
	if resp2.ErrorCode != 0 || len(resp2.ApiKeys) < 10 {
		t.Fatalf("retry: %+v", resp2)
	}
}

func TestProduceAcksRaw(t *testing.T) {
	b := startBroker(t, "")
	if _, err := b.topics.create(createTopicOpts{name: "acks", partitions: 1, replication: 1}); err != nil {
		t.Fatal(err)
	}
	produce := func(acks int16, topic string) *kmsg.ProduceRequest {
		req := kmsg.NewPtrProduceRequest()
		req.Version = 9
		req.Acks, req.TimeoutMillis = acks, 1000
		req.Topics = append(req.Topics, produceTopic(topic, 0, buildBatch(-1, -1, -1, "x")))
		return req
	}
	rc := dialRaw(t, b)

	// acks=2 is INVALID_REQUIRED_ACKS.
	req := produce(2, "acks")
	rc.send(req, 1)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	rc.response(resp, 1)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.InvalidRequiredAcks.Code {
		t.Fatalf("acks=2: %s", errName(code))
	}

	// acks=0 gets no answer: the next response on the connection is the next request's.
	rc.send(produce(0, "acks"), 2)
	av := kmsg.NewPtrApiVersionsRequest()
	rc.send(av, 3)
	rc.response(av.ResponseKind(), 3)
	if _, hwm := b.topics.get("acks").partitions[0].offsets(); hwm != 1 {
		t.Fatalf("acks=0 record not appended: end offset %d", hwm)
	}

	// Pipelined requests are answered in order, acks=-1 answers (which wait for an fsync)
	// included, whatever else is between them.
	for i := int32(10); i < 16; i++ {
		if i%3 == 2 {
			rc.send(kmsg.NewPtrApiVersionsRequest(), i)
		} else {
			rc.send(produce(-1, "acks"), i)
		}
	}
	for i := int32(10); i < 16; i++ {
		var resp kmsg.Response = kmsg.NewPtrApiVersionsResponse()
		if i%3 != 2 {
			pr := kmsg.NewPtrProduceResponse()
			pr.Version = 9
			resp = pr
		}
		rc.response(resp, i) // fails on a correlation id out of order
		if pr, ok := resp.(*kmsg.ProduceResponse); ok && pr.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("pipelined produce %d: %s", i, errName(pr.Topics[0].Partitions[0].ErrorCode))
		}
	}

	// A failed acks=0 produce closes the connection so the producer notices (as Kafka).
	rc.send(produce(0, "no-such-topic"), 4)
	rc.expectClosed("failed acks=0 produce")
	checkHealthy(t, b)
}

func TestHandlerPanicClosesOnlyThatConnection(t *testing.T) {
	key := kmsg.ElectLeaders // not served by brokerlite: borrowed for this test
	if _, ok := handlers[int16(key)]; ok {
		t.Fatal("ElectLeaders is served now: borrow another unserved key for this test")
	}
	registerHandler(key, 0, 3, func(context.Context, *Broker, *ConnInfo, kmsg.Request) (kmsg.Response, error) {
		panic("boom")
	})
	b := startBroker(t, "")
	t.Cleanup(func() {
		closeBroker(t, b)
		delete(handlers, int16(key))
	})
	rc := dialRaw(t, b)
	req := kmsg.NewPtrElectLeadersRequest()
	req.Version = 1
	rc.send(req, 1)
	rc.expectClosed("handler panic")
	checkHealthy(t, b)
}
