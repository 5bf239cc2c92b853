package brokerlite

import (
	"bufio"
	"context"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseProperties(t *testing.T) {
	props, err := ParseProperties(strings.NewReader(`# comment
! another comment
broker.id = 3
listeners: PLAINTEXT://127.0.0.1:9093
log.dirs=/data/a,\
  /data/b
empty=
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"broker.id": "3", "listeners": "PLAINTEXT://127.0.0.1:9093", "log.dirs": "/data/a,/data/b", "empty": ""}
	for k, v := range want {
		if props[k] != v {
			t.Errorf("%s = %q, want %q", k, props[k], v)
		}
	}
	if _, err := ParseProperties(strings.NewReader("=value\n")); err == nil {
		t.Error("empty key accepted")
	}
}

// TestParsePropertiesJavaSyntax checks that server.properties is read with Java's rules, as
// the clients read their files, and that values are trimmed as Kafka trims config values.
func TestParsePropertiesJavaSyntax(t *testing.T) {
	props, err := ParseProperties(strings.NewReader(`advertised.listeners=PLAINTEXT\://h\:9092
ssl.keystore.location caf\u00e9.jks:x
log.dirs=/a\\\
   /b
num.partitions = 3  ` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"advertised.listeners":  "PLAINTEXT://h:9092",
		"ssl.keystore.location": "café.jks:x",
		"log.dirs":              `/a\/b`,
		"num.partitions":        "3",
	}
	for k, v := range want {
		if props[k] != v {
			t.Errorf("%s = %q, want %q", k, props[k], v)
		}
	}
}

func TestParseSettings(t *testing.T) {
	s, unknown, err := ParseSettings(Config{Properties: map[string]string{
		"node.id": "2", "log.dirs": "/x, /y", "log.retention.minutes": "5", "log.retention.hours": "99",
		"zookeeper.connect": "localhost:2181", "num.partitions": "6",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if s.NodeID != 2 || len(s.LogDirs) != 2 || s.LogDirs[1] != "/y" || s.RetentionMs != 300000 || s.NumPartitions != 6 {
		t.Fatalf("settings: %+v", s)
	}
	if len(unknown) != 1 || unknown[0] != "zookeeper.connect" {
		t.Fatalf("unknown keys: %v", unknown)
	}
	// Defaults.
	d, _, err := ParseSettings(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if d.ListenAddr != "127.0.0.1:9092" || d.NumPartitions != 1 || !d.AutoCreateTopics || !d.DeleteTopicEnable ||
		d.RetentionMs != 168*3600*1000 || d.OffsetsTopicNumPartitions != 50 || d.GroupMinSessionTimeoutMs != 6000 ||
		d.GroupMaxSessionTimeoutMs != 1800000 || d.GroupInitialRebalanceDelayMs != 3000 || d.OffsetsRetentionMinutes != 10080 {
		t.Fatalf("defaults: %+v", d)
	}
	wantConfigErrors(t, []map[string]string{
		{"default.replication.factor": "3"},
		{"num.partitions": "0"},
		{"listeners": "SSL://0.0.0.0:9093"},
		{"listeners": "PLAINTEXT://a:1,PLAINTEXT://b:2"},
		{"broker.id": "x"},
		{"broker.id": "1", "node.id": "2"},
		{"log.cleanup.policy": "shred"},
		{"auto.create.topics.enable": "yes"},
		{"group.min.session.timeout.ms": "10", "group.max.session.timeout.ms": "5"},
		{"log.message.timestamp.type": "Now"},
	})
}

// TestServerPropertiesDocumentsEveryKey keeps config/server.properties complete: every
// key brokerlite understands appears (set or commented out), and every key set there parses.
func TestServerPropertiesDocumentsEveryKey(t *testing.T) {
	f, err := os.Open("../config/server.properties")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mentioned := map[string]bool{}
	keyRe := regexp.MustCompile(`^#?([a-z][a-z0-9._]+)=`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := keyRe.FindStringSubmatch(sc.Text()); m != nil {
			mentioned[m[1]] = true
		}
	}
	for _, k := range BrokerConfigKeys() {
		if !mentioned[k.Name] {
			t.Errorf("config/server.properties does not document %s", k.Name)
		}
	}
	props, err := LoadProperties("../config/server.properties")
	if err != nil {
		t.Fatal(err)
	}
	if _, unknown, err := ParseSettings(Config{Properties: props}); err != nil || len(unknown) > 0 {
		t.Fatalf("config/server.properties: %v (unknown %v)", err, unknown)
	}
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The same data directory twice.
	_, err := Start(ctx, Config{Logger: testLogger(t), Properties: map[string]string{"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": dir}})
	if err == nil || !strings.Contains(err.Error(), "in use by another broker") {
		t.Fatalf("second broker on one dir: %v", err)
	}
	// The same port twice: the error says what to do.
	_, port, _ := net.SplitHostPort(b.Addr())
	_, err = Start(ctx, Config{Logger: testLogger(t), Properties: map[string]string{"listeners": "PLAINTEXT://127.0.0.1:" + port, "log.dirs": t.TempDir()}})
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "--override listeners=") {
		t.Fatalf("port in use: %v", err)
	}
	// A directory that belongs to another node id.
	closeBroker(t, b)
	_, err = Start(ctx, Config{Logger: testLogger(t), Properties: map[string]string{"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": dir, "broker.id": "5"}})
	if err == nil || !strings.Contains(err.Error(), "node.id=0") {
		t.Fatalf("node id mismatch: %v", err)
	}
}

// wantConfigErrors checks that each of the property sets is refused with a brokerlite:
// config error.
func wantConfigErrors(t *testing.T, bad []map[string]string) {
	t.Helper()
	for _, props := range bad {
		if _, _, err := ParseSettings(Config{Properties: props}); err == nil || !strings.HasPrefix(err.Error(), "brokerlite: config:") {
			t.Errorf("%v: got %v, want a brokerlite: config error", props, err)
		}
	}
}
