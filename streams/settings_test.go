package streams_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// Every property given that has no effect is listed, with what happens
// instead, in one log line at start (and in config.IgnoredProperties).
func TestStartupListsEveryIgnoredProperty(t *testing.T) {
	b := streams.NewBuilder()
	streams.NewStream(b, "in", streams.ConsumedWith(ss, ss)).To("out")
	topo := build(t, b)
	logs := new(testutil.Buffer)
	ignored := map[string]string{
		// Kafka Streams settings Rivulet does not implement.
		"task.timeout.ms":            "300000",
		"state.cleanup.delay.ms":     "600000",
		"default.key.serde":          "org.apache.kafka.common.serialization.Serdes$StringSerde",
		"default.value.serde":        "org.apache.kafka.common.serialization.Serdes$StringSerde",
		"rocksdb.config.setter":      "com.example.Setter",
		"upgrade.from":               "2.3",
		"window.size.ms":             "1000",
		"default.dsl.store":          "in_memory",
		"rack.aware.assignment.tags": "zone",
		// Client properties the client layer ignores.
		"send.buffer.bytes":             "131072",
		"producer.reconnect.backoff.ms": "50",
		"consumer.transactional.id":     "x",
	}
	props := streams.Properties{"application.id": "ignored", "bootstrap.servers": "127.0.0.1:1", "num.stream.threads": "2"}
	for k, v := range ignored {
		props[k] = v
	}
	app, err := streams.New(topo, props, streams.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	must(t, err)
	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "properties with no effect") {
			if line != "" {
				t.Fatalf("more than one line lists ignored properties:\n%s", logs)
			}
			line = l
		}
	}
	if line == "" || !strings.Contains(line, "level=WARN") {
		t.Fatalf("no WARN line listing ignored properties:\n%s", logs)
	}
	for k := range ignored {
		k = strings.TrimPrefix(strings.TrimPrefix(k, "producer."), "consumer.")
		if !strings.Contains(line, k) {
			t.Errorf("the start-up line does not name %s:\n%s", k, line)
		}
	}
	for _, instead := range []string{"WithBadgerConfigSetter", "Materialized.WithStoreType", "ConsumedWith"} {
		if !strings.Contains(line, instead) {
			t.Errorf("the start-up line does not say to use %s:\n%s", instead, line)
		}
	}
	seen := map[string]bool{}
	for _, p := range streams.IgnoredProperties(app) {
		seen[p.Key] = true
		if p.Instead == "" {
			t.Errorf("%v: no explanation", p)
		}
	}
	for _, k := range []string{"task.timeout.ms", "rocksdb.config.setter", "send.buffer.bytes", "reconnect.backoff.ms", "transactional.id"} {
		if !seen[k] {
			t.Errorf("config.IgnoredProperties misses %s: %v", k, streams.IgnoredProperties(app))
		}
	}
	// Implemented settings are not reported.
	if strings.Contains(line, "num.stream.threads") || strings.Contains(line, "bootstrap.servers") {
		t.Errorf("implemented settings listed as ignored:\n%s", line)
	}
}

// A property set without ignored keys logs no such line.
func TestStartupQuietWithoutIgnoredProperties(t *testing.T) {
	b := streams.NewBuilder()
	streams.NewStream(b, "in", streams.ConsumedWith(ss, ss)).To("out")
	logs := new(testutil.Buffer)
	_, err := streams.New(build(t, b), streams.Properties{"application.id": "quiet", "bootstrap.servers": "127.0.0.1:1", "linger.ms": "5"},
		streams.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	must(t, err)
	if strings.Contains(logs.String(), "no effect") {
		t.Fatalf("unexpected report:\n%s", logs)
	}
}

// App.Config hands out the effective configuration with Kafka Streams'
// names, a copy: changing it changes nothing, secrets stay hidden.
func TestConfigIsACopyWithPropertyNames(t *testing.T) {
	b := streams.NewBuilder()
	streams.NewStream(b, "in", streams.ConsumedWith(ss, ss)).To("out")
	topo := build(t, b)
	app, err := streams.New(topo, streams.Properties{
		"application.id": "copy", "bootstrap.servers": "127.0.0.1:1", "num.stream.threads": "3",
		"producer.linger.ms": "7", "sasl.mechanism": "PLAIN", "sasl.jaas.config": "secret-value",
	}, streams.WithLogger(slog.New(slog.DiscardHandler)))
	must(t, err)
	cfg := app.Config()
	for k, want := range map[string]string{
		"application.id": "copy", "client.id": "copy", "num.stream.threads": "3", "processing.guarantee": "at_least_once",
		"commit.interval.ms": "30000", "producer.linger.ms": "7", "admin.sasl.mechanism": "PLAIN",
		"consumer.sasl.jaas.config": "[hidden]",
	} {
		if cfg[k] != want {
			t.Errorf("%s=%q, want %q", k, cfg[k], want)
		}
	}
	cfg["num.stream.threads"] = "9"
	delete(cfg, "application.id")
	if again := app.Config(); again["num.stream.threads"] != "3" || again["application.id"] != "copy" {
		t.Errorf("changing the copy changed the app: %v", again)
	}
}

// Properties.ClientProperties gives one role's client properties: the
// shared ones, the role's own prefixed ones winning, no streams settings.
func TestClientPropertiesOfOneRole(t *testing.T) {
	p := streams.Properties{"application.id": "a", "bootstrap.servers": "h:1", "num.stream.threads": "2",
		"sasl.mechanism": "PLAIN", "admin.sasl.mechanism": "SCRAM-SHA-256", "producer.linger.ms": "5"}
	admin, err := p.ClientProperties("admin")
	must(t, err)
	if admin["bootstrap.servers"] != "h:1" || admin["sasl.mechanism"] != "SCRAM-SHA-256" || admin["linger.ms"] != "" || admin["num.stream.threads"] != "" {
		t.Errorf("admin properties %v", admin)
	}
	if _, err := p.ClientProperties("streams"); err == nil {
		t.Errorf("an unknown role was accepted")
	}
	if _, err := (streams.Properties{"bootstrap.servers": "h:1"}).ClientProperties("admin"); err == nil {
		t.Errorf("properties without application.id were accepted")
	}
}
