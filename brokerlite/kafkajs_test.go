package brokerlite

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/rivulet-io/rivulet/internal/kafkajstest"
	"github.com/rivulet-io/rivulet/internal/testpki"
)

// TestKafkaJSClient: KafkaJS, a client that shares no code with franz-go, sarama or librdkafka,
// runs its admin client, an idempotent producer, a consumer group of two members,
// transactions with read_committed, and SASL PLAIN and SCRAM over plain TCP and TLS against
// the broker (internal/kafkajstest/js/conformance.js lists each check).
func TestKafkaJSClient(t *testing.T) {
	dir := kafkajstest.Dir(t)
	pki := testpki.New(t)
	b := startBroker(t, "",
		"listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
		"sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
		"sasl.jaas.config", plainJAAS,
		"ssl.keystore.type", "PEM",
		"ssl.keystore.location", pki.ServerFile,
		"ssl.truststore.location", pki.CAFile)
	adm := kadm.NewClient(newClient(t, b))
	if _, err := adm.AlterUserSCRAMs(testCtx(t), nil, []kadm.UpsertSCRAM{
		{User: "scram256", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "pw-256"},
		{User: "scram512", Mechanism: kadm.ScramSha512, Iterations: 8192, Password: "pw-512"},
	}); err != nil {
		t.Fatal(err)
	}
	users, err := json.Marshal(map[string][2]string{
		"plain":    {"alice", "alice-secret"},
		"scram256": {"scram256", "pw-256"},
		"scram512": {"scram512", "pw-512"},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := kafkajstest.Run(dir, "conformance.js", 5*time.Minute,
		"KJS_PLAINTEXT="+b.ListenerAddr("PLAINTEXT"),
		"KJS_SASL="+b.ListenerAddr("SASL_PLAINTEXT"),
		"KJS_SASL_SSL="+b.ListenerAddr("SASL_SSL"),
		"KJS_CA="+pki.CAFile,
		"KJS_USERS="+string(users))
	t.Logf("KafkaJS:\n%s", out)
	if err != nil {
		t.Fatalf("KafkaJS checks failed (%v); the output above names each", err)
	}
	passed := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "ok ") {
			passed++
		}
	}
	if passed != 21 { // 9 checks on PLAINTEXT, 6 on each SASL listener
		t.Fatalf("KafkaJS passed %d checks, want 21", passed)
	}
}
