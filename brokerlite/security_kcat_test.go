package brokerlite

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/rivulet-io/rivulet/internal/kcattest"
	"github.com/rivulet-io/rivulet/internal/testpki"
)

// TestKcatSecurity: kcat (librdkafka) produces and consumes over SASL_PLAINTEXT with PLAIN,
// SCRAM-SHA-256 and SCRAM-SHA-512, over SASL_SSL, and over SSL with a client certificate; a
// wrong password and a missing certificate fail with an authentication error.
func TestKcatSecurity(t *testing.T) {
	kcat := kcattest.Path(t)
	pki := testpki.New(t)
	b := startBroker(t, "",
		"listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SSL://127.0.0.1:0",
		"sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
		"sasl.jaas.config", plainJAAS,
		"ssl.keystore.type", "PEM",
		"ssl.keystore.location", pki.ServerFile,
		"ssl.truststore.location", pki.CAFile,
		"listener.name.ssl.ssl.client.auth", "required")
	adm := kadm.NewClient(newClient(t, b))
	if _, err := adm.AlterUserSCRAMs(testCtx(t), nil, []kadm.UpsertSCRAM{
		{User: "scram256", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "pw-256"},
		{User: "scram512", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "pw-512"},
	}); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := pki.ClientFiles(t, "kcat")
	tlsArgs := []string{"-X", "ssl.ca.location=" + pki.CAFile}
	sasl := func(mech, user, pass string) []string {
		return []string{"-X", "sasl.mechanism=" + mech, "-X", "sasl.username=" + user, "-X", "sasl.password=" + pass}
	}
	cases := []struct {
		name, listener string
		args           []string
	}{
		{"PLAIN", "SASL_PLAINTEXT", sasl("PLAIN", "alice", "alice-secret")},
		{"SCRAM-SHA-256", "SASL_PLAINTEXT", sasl("SCRAM-SHA-256", "scram256", "pw-256")},
		{"SCRAM-SHA-512", "SASL_PLAINTEXT", sasl("SCRAM-SHA-512", "scram512", "pw-512")},
		{"SASL_SSL SCRAM-SHA-512", "SASL_SSL", append(sasl("SCRAM-SHA-512", "scram512", "pw-512"), tlsArgs...)},
		{"SSL client certificate", "SSL", append([]string{"-X", "ssl.certificate.location=" + certFile, "-X", "ssl.key.location=" + keyFile}, tlsArgs...)},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			topic := "kcat-sec-" + string(rune('a'+i))
			common := append([]string{"-b", b.ListenerAddr(c.listener), "-X", "security.protocol=" + c.listener, "-t", topic}, c.args...)
			if _, stderr, err := kcattest.Run(kcat, 30*time.Second, "one\ntwo\nthree\n", append([]string{"-P"}, common...)...); err != nil {
				t.Fatalf("kcat -P: %v\n%s", err, stderr)
			}
			out, stderr, err := kcattest.Run(kcat, 30*time.Second, "", append([]string{"-C", "-o", "beginning", "-e", "-q"}, common...)...)
			if err != nil {
				t.Fatalf("kcat -C: %v\n%s", err, stderr)
			}
			if got := strings.Fields(out); strings.Join(got, ",") != "one,two,three" {
				t.Fatalf("kcat read %q", out)
			}
		})
	}

	fail := []struct {
		name, listener, want string
		args                 []string
	}{
		{"wrong PLAIN password", "SASL_PLAINTEXT", "Authentication failed", sasl("PLAIN", "alice", "wrong")},
		{"wrong SCRAM password", "SASL_PLAINTEXT", "Authentication failed", sasl("SCRAM-SHA-256", "scram256", "wrong")},
		{"wrong password over TLS", "SASL_SSL", "Authentication failed", append(sasl("PLAIN", "alice", "wrong"), tlsArgs...)},
		{"no client certificate", "SSL", "SSL", tlsArgs},
	}
	for _, c := range fail {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"-L", "-m", "2", "-b", b.ListenerAddr(c.listener), "-X", "security.protocol=" + c.listener}, c.args...)
			_, stderr, err := kcattest.Run(kcat, 30*time.Second, "", args...)
			if err == nil {
				t.Fatalf("kcat -L succeeded")
			}
			if !strings.Contains(stderr, c.want) {
				t.Fatalf("kcat's error does not mention %q:\n%s", c.want, stderr)
			}
		})
	}
}
