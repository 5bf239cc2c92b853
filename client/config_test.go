package client

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func base() Properties { return Properties{"bootstrap.servers": "127.0.0.1:9092"} }

func withBase(kv ...string) Properties {
	p := base()
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return p
}

// newClient checks that the options franz-go gets are valid together.
func newClient(t *testing.T, opts []kgo.Opt) {
	t.Helper()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	cl.Close()
}

func TestParseGood(t *testing.T) {
	cases := []struct {
		name  string
		role  Role
		props Properties
		check func(t *testing.T, p *Parsed)
	}{
		{"producer defaults", RoleProducer, base(), nil},
		{"producer everything", RoleProducer, withBase(
			"client.id", "cli", "acks", "all", "enable.idempotence", "true",
			"max.in.flight.requests.per.connection", "5", "retries", "10",
			"delivery.timeout.ms", "30000", "request.timeout.ms", "5000", "linger.ms", "5",
			"batch.size", "16384", "buffer.memory", "33554432", "max.request.size", "1048576",
			"compression.type", "zstd", "compression.zstd.level", "3",
			"partitioner.class", "org.apache.kafka.clients.producer.RoundRobinPartitioner",
			"retry.backoff.ms", "50", "retry.backoff.max.ms", "500",
			"metadata.max.age.ms", "60000", "connections.max.idle.ms", "9000",
			"socket.connection.setup.timeout.ms", "3000", "enable.metrics.push", "false",
			"transactional.id", "tx-1", "transaction.timeout.ms", "60000",
		), nil},
		{"acks=1 turns idempotence off", RoleProducer, withBase("acks", "1"), nil},
		{"acks=0 and in-flight 10", RoleProducer, withBase("acks", "0", "max.in.flight.requests.per.connection", "10"), nil},
		{"explicit no idempotence", RoleProducer, withBase("enable.idempotence", "false", "acks", "all"), nil},
		{"every codec", RoleProducer, withBase("compression.type", "gzip", "compression.gzip.level", "9"), nil},
		{"consumer in a group", RoleConsumer, withBase(
			"group.id", "g", "group.instance.id", "i-1", "auto.offset.reset", "earliest",
			"enable.auto.commit", "true", "auto.commit.interval.ms", "1000",
			"session.timeout.ms", "10000", "heartbeat.interval.ms", "1000",
			"max.poll.interval.ms", "60000", "max.poll.records", "42",
			"fetch.min.bytes", "1", "fetch.max.bytes", "52428800", "fetch.max.wait.ms", "100",
			"max.partition.fetch.bytes", "1048576", "isolation.level", "read_committed",
			"partition.assignment.strategy", "org.apache.kafka.clients.consumer.RangeAssignor, cooperative-sticky",
			"client.rack", "r1", "check.crcs", "false", "default.api.timeout.ms", "1500",
		), func(t *testing.T, p *Parsed) {
			if p.GroupID != "g" || !p.AutoCommit || p.MaxPollRecords != 42 || p.APITimeout != 1500*time.Millisecond {
				t.Errorf("parsed %+v", p)
			}
			if len(p.Warnings) != 0 {
				t.Errorf("warnings: %v", p.Warnings)
			}
		}},
		{"consumer without auto commit", RoleConsumer, withBase("group.id", "g", "enable.auto.commit", "false"), func(t *testing.T, p *Parsed) {
			if p.AutoCommit {
				t.Error("AutoCommit should be false")
			}
		}},
		{"consumer without group", RoleConsumer, withBase("auto.offset.reset", "none"), func(t *testing.T, p *Parsed) {
			if p.GroupID != "" || p.AutoCommit || p.MaxPollRecords != DefaultMaxPollRecords || p.APITimeout != DefaultAPITimeout {
				t.Errorf("parsed %+v", p)
			}
		}},
		{"group-only settings without a group warn", RoleConsumer, withBase("session.timeout.ms", "10000", "enable.auto.commit", "false"), func(t *testing.T, p *Parsed) {
			if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], `"session.timeout.ms" is ignored: it needs group.id`) {
				t.Errorf("warnings: %q", p.Warnings)
			}
		}},
		{"ignored and other-role keys warn", RoleProducer, withBase("key.serializer", "x", "group.id", "g", "send.buffer.bytes", "1"), func(t *testing.T, p *Parsed) {
			want := []string{
				`"group.id" is a consumer property; a producer ignores it`,
				`"key.serializer" is ignored: records are bytes here; serdes live in package streams`,
				`"send.buffer.bytes" is ignored: the operating system's socket buffer sizes are used`,
			}
			if strings.Join(p.Warnings, "\n") != strings.Join(want, "\n") {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(p.Warnings, "\n"), strings.Join(want, "\n"))
			}
		}},
		{"interceptor settings pass through", RoleProducer, withBase("interceptor.classes", "timestamp-header, counting", "interceptor.timestamp.header", "h"), func(t *testing.T, p *Parsed) {
			if strings.Join(p.Interceptors, ",") != "timestamp-header,counting" || len(p.Warnings) != 0 {
				t.Errorf("parsed %+v", p)
			}
		}},
		{"admin", RoleAdmin, withBase("request.timeout.ms", "1000", "retries", "3", "default.api.timeout.ms", "2000"), func(t *testing.T, p *Parsed) {
			if p.APITimeout != 2*time.Second {
				t.Errorf("APITimeout %v", p.APITimeout)
			}
		}},
		{"sasl plain with jaas", RoleAdmin, withBase("security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "PLAIN",
			"sasl.jaas.config", `org.apache.kafka.common.security.plain.PlainLoginModule required username="al\"ice" password="s3cret";`), nil},
		{"sasl scram with username", RoleConsumer, withBase("security.protocol", "sasl_plaintext", "sasl.mechanism", "SCRAM-SHA-512",
			"sasl.username", "u", "sasl.password", "p"), nil},
		{"ssl without files", RoleProducer, withBase("security.protocol", "SSL", "ssl.endpoint.identification.algorithm", ""), nil},
		{"ssl settings without ssl warn", RoleAdmin, withBase("ssl.ca.location", "/nope"), func(t *testing.T, p *Parsed) {
			if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "ssl.* properties are ignored") {
				t.Errorf("warnings %q", p.Warnings)
			}
		}},
		{"several seeds", RoleAdmin, Properties{"bootstrap.servers": " a:1, b:2 ,[::1]:3"}, func(t *testing.T, p *Parsed) {
			if strings.Join(p.BootstrapServers, ",") != "a:1,b:2,[::1]:3" {
				t.Errorf("seeds %v", p.BootstrapServers)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.role, tc.props)
			if err != nil {
				t.Fatal(err)
			}
			if p.Role != tc.role {
				t.Errorf("role %v", p.Role)
			}
			newClient(t, p.Opts)
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name  string
		role  Role
		props Properties
		want  string
	}{
		{"no bootstrap", RoleProducer, Properties{}, "bootstrap.servers is required"},
		{"bad seed", RoleAdmin, Properties{"bootstrap.servers": "localhost"}, `"localhost": want host:port`},
		{"bad port", RoleAdmin, Properties{"bootstrap.servers": "h:99999"}, "bad port"},
		{"typo", RoleProducer, withBase("linger.msx", "5"), `unknown property "linger.msx" (did you mean "linger.ms"?)`},
		{"unknown", RoleProducer, withBase("zzzzzzzzzzzzzz", "5"), `unknown property "zzzzzzzzzzzzzz" (see docs/cli.md`},
		{"bad acks", RoleProducer, withBase("acks", "2"), `property acks="2": want all, -1, 0 or 1`},
		{"bad int", RoleProducer, withBase("batch.size", "big"), `batch.size="big": want an integer`},
		{"negative ms", RoleProducer, withBase("linger.ms", "-1"), `linger.ms="-1": want 0 or more milliseconds`},
		{"linger too long", RoleProducer, withBase("linger.ms", "60001"), "at most 60000"},
		{"bad bool", RoleProducer, withBase("enable.idempotence", "yes"), "want true or false"},
		{"bad codec", RoleProducer, withBase("compression.type", "brotli"), `unknown codec "brotli"`},
		{"topic-level codec", RoleProducer, withBase("compression.type", "producer"), "topic-level value"},
		{"idempotence conflict", RoleProducer, withBase("enable.idempotence", "true", "acks", "1"), "enable.idempotence=true: acks must be all"},
		{"idempotence in-flight", RoleProducer, withBase("enable.idempotence", "true", "max.in.flight.requests.per.connection", "6"), "5 or less"},
		{"txn without idempotence", RoleProducer, withBase("transactional.id", "t", "acks", "1"), "transactional.id needs idempotence"},
		{"batch above request", RoleProducer, withBase("batch.size", "2000", "max.request.size", "1000"), "above max.request.size"},
		{"bad reset", RoleConsumer, withBase("auto.offset.reset", "smallest"), "want earliest, latest or none"},
		{"bad assignor", RoleConsumer, withBase("partition.assignment.strategy", "magic"), `unknown assignor "magic"`},
		{"heartbeat above session", RoleConsumer, withBase("group.id", "g", "session.timeout.ms", "1000", "heartbeat.interval.ms", "1000"), "heartbeat.interval.ms must be lower"},
		{"unregistered interceptor", RoleProducer, withBase("interceptor.classes", "nope"), `no producer interceptor named "nope"`},
		{"consumer interceptor name", RoleConsumer, withBase("interceptor.classes", "counting"), `no consumer interceptor named "counting"`},
		{"sasl without mechanism", RoleAdmin, withBase("security.protocol", "SASL_SSL"), "sasl.mechanism is required"},
		{"sasl without password", RoleAdmin, withBase("security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "PLAIN", "sasl.username", "u"), "needs a username and a password"},
		{"gssapi", RoleAdmin, withBase("sasl.mechanism", "GSSAPI"), "GSSAPI and OAUTHBEARER are not supported"},
		{"jks", RoleAdmin, withBase("security.protocol", "SSL", "ssl.truststore.location", "x.jks", "ssl.truststore.type", "JKS"), "convert the truststore to PEM"},
		{"missing ca", RoleAdmin, withBase("security.protocol", "SSL", "ssl.ca.location", "/does/not/exist.pem"), "ssl CA file"},
		{"cert without key", RoleAdmin, withBase("security.protocol", "SSL", "ssl.certificate.location", "c.pem"), "set both"},
		{"bad protocol", RoleAdmin, withBase("security.protocol", "TLS"), "want PLAINTEXT, SSL"},
		{"encrypted key", RoleAdmin, withBase("ssl.key.password", "x"), "encrypted private keys are not supported"},
		{"keystore", RoleAdmin, withBase("ssl.keystore.type", "JKS"), "is not supported: convert it to PEM"},
		{"empty txn id", RoleProducer, withBase("transactional.id", ""), "must not be empty"},
		{"bad role", Role(0), base(), "invalid role"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.role, tc.props)
			if err == nil {
				t.Fatalf("want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "client: ") {
				t.Fatalf("error %q, want it to start with \"client: \" and contain %q", err, tc.want)
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	_, err := Parse(RoleProducer, withBase("acks", "x", "linger.ms", "y", "nope.nope", "z"))
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	for _, want := range []string{"acks=", "linger.ms=", `"nope.nope"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	// Sorted by key: acks, linger.ms, nope.nope.
	if !(strings.Index(msg, "acks=") < strings.Index(msg, "linger.ms=") && strings.Index(msg, "linger.ms=") < strings.Index(msg, "nope.nope")) {
		t.Errorf("errors not in key order: %q", msg)
	}
}

func TestExponentialBackoff(t *testing.T) {
	f := exponentialBackoff(100*time.Millisecond, time.Second)
	for tries, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 10: time.Second} {
		got := f(tries)
		if got < want*8/10 || got > want*12/10 {
			t.Errorf("tries %d: %v, want %v ±20%%", tries, got, want)
		}
	}
}

func TestRoleString(t *testing.T) {
	if s := (RoleProducer | RoleConsumer).String(); s != "producer/consumer" {
		t.Error(s)
	}
	if s := Role(0).String(); s != "Role(0)" {
		t.Error(s)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(RoleProducer.String(), "acks", "all", "linger.ms", "5")
	f.Add(RoleConsumer.String(), "group.id", "g", "partition.assignment.strategy", "range,sticky")
	f.Add(RoleAdmin.String(), "sasl.jaas.config", `x username="a\"" password="b"`, "security.protocol", "SASL_PLAINTEXT")
	f.Fuzz(func(t *testing.T, role, k1, v1, k2, v2 string) {
		r := map[string]Role{"producer": RoleProducer, "consumer": RoleConsumer, "admin": RoleAdmin}[role]
		if r == 0 {
			r = RoleProducer
		}
		props := withBase(k1, v1, k2, v2)
		// Files named by ssl properties would be read from disk; keep the fuzzer off the disk.
		for k := range props {
			if strings.HasPrefix(k, "ssl.") {
				delete(props, k)
			}
		}
		p, err := Parse(r, props)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "client: ") {
				t.Fatalf("error without package prefix: %v", err)
			}
			return
		}
		if len(p.Opts) == 0 {
			t.Fatal("no options")
		}
	})
}

func TestPropertiesFor(t *testing.T) {
	all := withBase("group.id", "g", "acks", "1", "client.id", "c", "typo.here", "x", "interceptor.foo", "y", "default.api.timeout.ms", "5")
	got := all.For(RoleAdmin)
	want := Properties{"bootstrap.servers": "127.0.0.1:9092", "client.id": "c", "typo.here": "x", "default.api.timeout.ms": "5"}
	if len(got) != len(want) {
		t.Fatalf("got %v want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("got %v want %v", got, want)
		}
	}
	if c := all.For(RoleConsumer); c["interceptor.foo"] != "y" || c["group.id"] != "g" || c["acks"] != "" {
		t.Fatalf("consumer view %v", c)
	}
}
