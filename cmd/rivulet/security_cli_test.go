package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const cliPlainJAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`

// writeProps writes a client .properties file.
func writeProps(t *testing.T, name string, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSecurityCLI: SCRAM credentials with `rivulet configs`, ACLs with `rivulet acls`, both as
// kafka-configs.sh and kafka-acls.sh are used, against a `rivulet broker` with SASL and ACLs;
// then a SCRAM user produces only where an ACL allows it.
func TestSecurityCLI(t *testing.T) {
	t.Parallel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	startRivuletBrokerWith(t, addr,
		"listeners=SASL_PLAINTEXT://"+addr,
		"sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256",
		"sasl.jaas.config="+cliPlainJAAS,
		"authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users=User:admin")
	admin := writeProps(t, "admin.properties", "security.protocol=SASL_PLAINTEXT", "sasl.mechanism=PLAIN", "sasl.username=admin", "sasl.password=admin-secret")
	carol := writeProps(t, "carol.properties", "security.protocol=SASL_PLAINTEXT", "sasl.mechanism=SCRAM-SHA-256",
		`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="carol" password="carol-secret";`)
	as := func(args ...string) []string {
		return append(args, "--bootstrap-server", addr, "--command-config", admin)
	}

	res := mustCLI(t, "", as("configs", "--alter", "--entity-type", "users", "--entity-name", "carol", "--add-config", "SCRAM-SHA-256=[iterations=8192,password=carol-secret],SCRAM-SHA-512=[password=carol-secret]")...)
	if strings.Count(res.stdout, "Completed updating config for user carol.") != 1 {
		t.Fatalf("configs --alter:\n%s", res)
	}
	res = mustCLI(t, "", as("configs", "--describe", "--entity-type", "users", "--entity-name", "carol")...)
	if !strings.Contains(res.stdout, "SCRAM credential configs for user-principal 'carol' are ") ||
		!strings.Contains(res.stdout, "SCRAM-SHA-256=iterations=8192") || !strings.Contains(res.stdout, "SCRAM-SHA-512=iterations=4096") ||
		strings.Contains(res.stdout, "carol-secret") {
		t.Fatalf("configs --describe:\n%s", res)
	}
	mustCLI(t, "", as("topics", "--create", "--topic", "orders")...)
	mustCLI(t, "", as("topics", "--create", "--topic", "secret")...)

	// No ACL yet: carol authenticates but may not write.
	expectCLI(t, 1, "TOPIC_AUTHORIZATION_FAILED", "x\n", "produce", "--bootstrap-server", addr, "--producer.config", carol, "--topic", "orders")

	res = mustCLI(t, "", as("acls", "--add", "--allow-principal", "User:carol", "--producer", "--topic", "orders")...)
	if !strings.Contains(res.stdout, "Added 3 ACL(s).") || !strings.Contains(res.stdout, "(principal=User:carol, host=*, operation=WRITE, permissionType=ALLOW)") {
		t.Fatalf("acls --add:\n%s", res)
	}
	mustCLI(t, "one\ntwo\n", "produce", "--bootstrap-server", addr, "--producer.config", carol, "--topic", "orders")
	expectCLI(t, 1, "TOPIC_AUTHORIZATION_FAILED", "x\n", "produce", "--bootstrap-server", addr, "--producer.config", carol, "--topic", "secret")

	// Topic configs through the same command.
	mustCLI(t, "", as("configs", "--alter", "--entity-type", "topics", "--entity-name", "orders", "--add-config", "retention.ms=3600000")...)
	res = mustCLI(t, "", as("configs", "--describe", "--entity-type", "topics", "--entity-name", "orders")...)
	if !strings.Contains(res.stdout, "retention.ms=3600000") {
		t.Fatalf("topic configs:\n%s", res)
	}
	// carol may not alter configs.
	expectCLI(t, 1, "TOPIC_AUTHORIZATION_FAILED", "", "configs", "--bootstrap-server", addr, "--command-config", carol,
		"--alter", "--entity-type", "topics", "--entity-name", "orders", "--add-config", "retention.ms=1")

	res = mustCLI(t, "", as("acls", "--list", "--principal", "User:carol")...)
	if strings.Count(res.stdout, "principal=User:carol") != 3 {
		t.Fatalf("acls --list:\n%s", res)
	}
	res = mustCLI(t, "", as("acls", "--remove", "--allow-principal", "User:carol", "--operation", "Write", "--topic", "orders")...)
	if !strings.Contains(res.stdout, "Removed 1 ACL(s).") {
		t.Fatalf("acls --remove:\n%s", res)
	}
	// Without WRITE on any topic the idempotent producer is refused its producer id, as Kafka
	// does (KIP-679: WRITE on a topic implies IDEMPOTENT_WRITE).
	expectCLI(t, 1, "CLUSTER_AUTHORIZATION_FAILED", "x\n", "produce", "--bootstrap-server", addr, "--producer.config", carol, "--topic", "orders")

	// A wrong password is an authentication error.
	bad := writeProps(t, "bad.properties", "security.protocol=SASL_PLAINTEXT", "sasl.mechanism=SCRAM-SHA-256", "sasl.username=carol", "sasl.password=nope")
	expectCLI(t, 1, "SASL_AUTHENTICATION_FAILED", "", "topics", "--bootstrap-server", addr, "--command-config", bad, "--list")

	mustCLI(t, "", as("configs", "--alter", "--entity-type", "users", "--entity-name", "carol", "--delete-config", "SCRAM-SHA-256")...)
	expectCLI(t, 1, "SASL_AUTHENTICATION_FAILED", "", "topics", "--bootstrap-server", addr, "--command-config", carol, "--list")
}

// TestBrokerRefusesUnknownSecurityProperty: `rivulet broker` does not start with a security
// property it does not implement, and names it.
func TestBrokerRefusesUnknownSecurityProperty(t *testing.T) {
	t.Parallel()
	for _, kv := range []string{
		"authorizer.class.name=com.example.CustomAuthorizer",
		"sasl.enabled.mechanisms=GSSAPI",
		"ssl.keystore.type=JKS",
	} {
		key, _, _ := strings.Cut(kv, "=")
		expectCLI(t, 2, key, "", "broker", "--override", "listeners=PLAINTEXT://127.0.0.1:0", "--override", "log.dirs="+t.TempDir(), "--override", kv)
	}
}
