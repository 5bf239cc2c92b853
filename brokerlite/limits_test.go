package brokerlite

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

// apiVersionsOK checks that rc gets an answer to ApiVersions.
func apiVersionsOK(t *testing.T, rc *rawClient, corr int32) {
	t.Helper()
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "raw", "1"
	rc.send(req, corr)
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	rc.response(resp, corr)
	if resp.ErrorCode != 0 || len(resp.ApiKeys) == 0 {
		t.Fatalf("ApiVersions: error %d, %d keys", resp.ErrorCode, len(resp.ApiKeys))
	}
}

// apiVersionsErr is apiVersionsOK for a goroutine other than the test's.
func apiVersionsErr(rc *rawClient, corr int32) error {
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "raw", "1"
	if _, err := rc.c.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw-test")).AppendRequest(nil, req, corr)); err != nil {
		return err
	}
	frame, err := rc.readFrame()
	if err != nil {
		return err
	}
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if err := resp.ReadFrom(frame[4:]); err != nil {
		return err
	}
	if resp.ErrorCode != 0 {
		return fmt.Errorf("ApiVersions error %d", resp.ErrorCode)
	}
	return nil
}

// TestMaxConnectionsRefusesOneOverLimit: with max.connections=4 the fifth connection is closed
// at once, the four established ones keep working, and a slot freed by a closed connection
// is taken by the next one.
func TestMaxConnectionsRefusesOneOverLimit(t *testing.T) {
	b := startBroker(t, "", "max.connections", "4")
	var rcs []*rawClient
	for i := 0; i < 4; i++ {
		rc := dialRaw(t, b)
		apiVersionsOK(t, rc, int32(i))
		rcs = append(rcs, rc)
	}
	over := dialRaw(t, b)
	over.expectClosed("fifth connection over max.connections=4")
	for i, rc := range rcs {
		apiVersionsOK(t, rc, int32(10+i))
	}
	// A closed connection frees its slot (the broker notices the close asynchronously).
	_ = rcs[0].c.Close()
	testutil.Eventually(t, 10*time.Second, "a connection admitted after one of four was closed", func() bool {
		rc := dialRaw(t, b)
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = 3
		req.ClientSoftwareName, req.ClientSoftwareVersion = "raw", "1"
		rc.send(req, 1)
		_, err := rc.readFrame()
		return err == nil
	})
}

// TestMaxConnectionsPerIP: max.connections.per.ip limits the connections from one address,
// and max.connections.per.ip.overrides raises it for a named address.
func TestMaxConnectionsPerIP(t *testing.T) {
	for _, tc := range []struct {
		name    string
		props   []string
		allowed int
	}{
		{"limit", []string{"max.connections.per.ip", "2"}, 2},
		{"override", []string{"max.connections.per.ip", "2", "max.connections.per.ip.overrides", "127.0.0.1:3,[::1]:5"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t, "", tc.props...)
			var rcs []*rawClient
			for i := 0; i < tc.allowed; i++ {
				rc := dialRaw(t, b)
				apiVersionsOK(t, rc, int32(i))
				rcs = append(rcs, rc)
			}
			dialRaw(t, b).expectClosed("connection over the per-IP limit")
			for i, rc := range rcs {
				apiVersionsOK(t, rc, int32(10+i))
			}
		})
	}
}

func TestLimitSettingsValidated(t *testing.T) {
	for _, kv := range [][2]string{
		{"max.connections.per.ip.overrides", "localhost:3"},
		{"max.connections.per.ip.overrides", "127.0.0.1"},
		{"max.connections.per.ip.overrides", "127.0.0.1:-2"},
		{"max.connections", "0"},
		{"connections.max.idle.ms", "0"},
		{"queued.max.request.bytes", "0"},
		{"fetch.max.bytes", "10"},
		{"connection.queued.max.response.bytes", "0"},
	} {
		_, _, err := ParseSettings(Config{Properties: map[string]string{kv[0]: kv[1]}})
		if err == nil || !strings.Contains(err.Error(), kv[0]) {
			t.Errorf("%s=%s: error %v, want one naming the key", kv[0], kv[1], err)
		}
	}
	s, unknown, err := ParseSettings(Config{Properties: map[string]string{
		"max.connections.per.ip.overrides": "10.0.0.1:7, [::1]:2", "queued.max.request.bytes": "1048576",
	}})
	if err != nil || len(unknown) != 0 {
		t.Fatalf("ParseSettings: %v (unknown %v)", err, unknown)
	}
	if got := s.Limits.MaxConnectionsPerIPOverrides; got["10.0.0.1"] != 7 || got["::1"] != 2 {
		t.Fatalf("overrides %v", got)
	}
	if s.Limits.ConnectionsMaxIdleMs != 600000 || s.Limits.QueuedMaxRequestBytes != 1<<20 {
		t.Fatalf("limits %+v", s.Limits)
	}
}

// TestIdleConnectionsClosed: 2,000 connections that send nothing are closed once
// connections.max.idle.ms has passed, a connection whose request frame stops halfway is
// closed after request.read.timeout.ms, and a client that keeps working is not disturbed.
func TestIdleConnectionsClosed(t *testing.T) {
	const idle = 1500 * time.Millisecond
	b := startBroker(t, "", "connections.max.idle.ms", "1500", "request.read.timeout.ms", "300")
	const n = 2000
	start := time.Now()
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.DialTimeout("tcp", b.Addr(), 10*time.Second)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns[i] = c
		defer c.Close()
	}
	// A frame that announces 100 bytes and sends 10.
	half, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	halfStart := time.Now()
	if _, err := half.Write(append([]byte{0, 0, 0, 100}, make([]byte, 10)...)); err != nil {
		t.Fatal(err)
	}

	// An active client keeps working meanwhile, across several idle periods.
	active := dialRaw(t, b)
	stop := make(chan struct{})
	activeDone := make(chan struct{})
	go func() {
		defer close(activeDone)
		for i := int32(0); ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if err := apiVersionsErr(active, i); err != nil {
				t.Errorf("active client: %v", err)
				return
			}
		}
	}()

	closedAfter := func(c net.Conn) (time.Time, error) {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		var buf [1]byte
		_, err := c.Read(buf[:])
		return time.Now(), err
	}
	at, err := closedAfter(half)
	if !errors.Is(err, io.EOF) && !isConnReset(err) {
		t.Fatalf("half-sent frame: read returned %v, want the connection closed", err)
	}
	if at.Sub(halfStart) < 300*time.Millisecond {
		t.Fatalf("half-sent frame closed after %v, before request.read.timeout.ms", at.Sub(halfStart))
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at, err := closedAfter(c)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case !errors.Is(err, io.EOF) && !isConnReset(err):
				bad = append(bad, err.Error())
			case at.Sub(start) < idle:
				bad = append(bad, "closed before connections.max.idle.ms")
			}
		}()
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d of %d idle connections not closed as expected, first: %s", len(bad), n, bad[0])
	}
	close(stop)
	<-activeDone
	apiVersionsOK(t, active, 9999)
}

func isConnReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// TestFetchMaxBytesAndRequestGate: fetch.max.bytes caps an answer whatever the client asks
// (its first batch still comes whole), and a small queued.max.request.bytes slows requests
// down without blocking them.
func TestFetchMaxBytesAndRequestGate(t *testing.T) {
	b := startBroker(t, "", "fetch.max.bytes", "65536", "queued.max.request.bytes", "4096")
	c := newClient(t, b, kgo.DefaultProduceTopic("capped"), kgo.AllowAutoTopicCreation(), kgo.ProducerLinger(0),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	v := make([]byte, 10<<10)
	for i := 0; i < 20; i++ {
		if err := c.ProduceSync(testCtx(t), &kgo.Record{Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	req := kmsg.NewPtrFetchRequest()
	req.Version = 11
	req.ReplicaID, req.MaxBytes = -1, 50<<20
	req.Topics = append(req.Topics, fetchTopic("capped", [16]byte{}, 50<<20, 0))
	rc := dialRaw(t, b)
	rc.send(req, 1)
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	rc.response(resp, 1)
	got := len(resp.Topics[0].Partitions[0].RecordBatches)
	if got == 0 || got > 65536 {
		t.Fatalf("answer of %d bytes for 200 KiB of data with fetch.max.bytes=65536", got)
	}
}
