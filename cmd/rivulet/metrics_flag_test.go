package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

// TestBrokerMetricsListenerFlag: `rivulet broker --metrics-listener`
// serves Prometheus text and /healthz on that address.
func TestBrokerMetricsListenerFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(cliBinary(t), "broker", "--override", "listeners=PLAINTEXT://127.0.0.1:0",
		"--override", "log.dirs="+t.TempDir(), "--metrics-listener", addr)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	var body string
	testutil.EventuallyNoError(t, 60*time.Second, "metrics on "+addr, func() error {
		select {
		case <-exited:
			t.Fatalf("the broker exited:\n%s", stderr.String())
		default:
		}
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s:\n%s", resp.Status, body)
		}
		return nil
	})
	if !strings.Contains(body, "kafka_server_socket_server_metrics_connection_count") || !strings.Contains(body, "kafka_network_socketserver_memorypoolused_bytes") {
		t.Errorf("/metrics:\n%s", body)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}
