package brokerlite

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/internal/testpki"
	"github.com/rivulet-io/rivulet/internal/testutil"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// plainJAAS is a PLAIN JAAS line with the users admin, alice and bob.
const plainJAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret" user_bob="bob-secret";`

func TestSecurityRefusesWhatItDoesNotImplement(t *testing.T) {
	base := map[string]string{"log.dirs": t.TempDir(), "listeners": "PLAINTEXT://127.0.0.1:0"}
	cases := []struct {
		props map[string]string
		want  string // the property the error must name
	}{
		{map[string]string{"authorizer.class.name": "com.example.MyAuthorizer"}, "authorizer.class.name"},
		{map[string]string{"sasl.enabled.mechanisms": "GSSAPI"}, "sasl.enabled.mechanisms"},
		{map[string]string{"sasl.enabled.mechanisms": "PLAIN,OAUTHBEARER"}, "sasl.enabled.mechanisms"},
		{map[string]string{"ssl.keystore.type": "JKS"}, "ssl.keystore.type"},
		{map[string]string{"ssl.cipher.suites": "TLS_AES_128_GCM_SHA256"}, "ssl.cipher.suites"},
		{map[string]string{"sasl.kerberos.service.name": "kafka"}, "sasl.kerberos.service.name"},
		{map[string]string{"ssl.client.auth": "sometimes"}, "ssl.client.auth"},
		{map[string]string{"ssl.key.password": "x"}, "ssl.key.password"},
		{map[string]string{"listener.name.plaintext.ssl.engine.factory.class": "x"}, "listener.name.plaintext.ssl.engine.factory.class"},
		{map[string]string{"super.users": "User:admin"}, "authorizer.class.name"},
		{map[string]string{"allow.everyone.if.no.acl.found": "false"}, "authorizer.class.name"},
		{map[string]string{"delegation.token.secret.key": "x"}, "delegation.token.secret.key"},
		{map[string]string{"principal.builder.class": "com.example.Builder"}, "principal.builder.class"},
		{map[string]string{"connections.max.reauth.ms": "60000"}, "connections.max.reauth.ms"},
		{map[string]string{"listeners": "SASL_PLAINTEXT://127.0.0.1:0"}, "sasl.enabled.mechanisms"},
		{map[string]string{"listeners": "SSL://127.0.0.1:0"}, "ssl.keystore.location"},
		{map[string]string{"listeners": "CLIENT://127.0.0.1:0"}, "listener.security.protocol.map"},
		{map[string]string{"listeners": "SASL_PLAINTEXT://127.0.0.1:0", "sasl.enabled.mechanisms": "PLAIN"}, "plain.sasl.jaas.config"},
		// Settings no listener would use are refused, not ignored.
		{map[string]string{"listeners": "SASL_PLAINTEXT://127.0.0.1:0", "sasl.enabled.mechanisms": "SCRAM-SHA-256",
			"listener.name.sasl_plaintext.plain.sasl.jaas.config": plainJAAS}, "listener.name.sasl_plaintext.plain.sasl.jaas.config"},
		{map[string]string{"listeners": "SASL_PLAINTEXT://127.0.0.1:0", "sasl.enabled.mechanisms": "SCRAM-SHA-256",
			"listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": plainJAAS}, "ScramLoginModule"},
		{map[string]string{"ssl.client.auth": "required"}, "ssl.client.auth"},
		{map[string]string{"sasl.enabled.mechanisms": "PLAIN"}, "sasl.enabled.mechanisms"},
		{map[string]string{"listener.name.client.ssl.client.auth": "required"}, "listener.name.client.ssl.client.auth"},
		{map[string]string{"listener.name.PLAINTEXT.ssl.client.auth": "required"}, "lower case"},
		{map[string]string{"listeners": "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0", "ssl.keystore.location": "/nonexistent.pem",
			"listener.name.plaintext.ssl.client.auth": "required"}, "listener.name.plaintext.ssl.client.auth"},
	}
	for _, c := range cases {
		props := map[string]string{}
		for k, v := range base {
			props[k] = v
		}
		for k, v := range c.props {
			props[k] = v
		}
		_, err := Start(context.Background(), Config{Properties: props, Logger: testLogger(t)})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Start with %v: got %v, want an error naming %s", c.props, err, c.want)
		}
	}
}

func TestOpenListenerWarns(t *testing.T) {
	const open, clear = "level=WARN msg=\"listener is reachable beyond this machine without authentication", "level=WARN msg=\"listener takes PLAIN passwords without TLS"
	for _, c := range []struct {
		listeners string
		props     []string
		warn      string // "" for none
	}{
		{"PLAINTEXT://0.0.0.0:0", nil, open},
		{"PLAINTEXT://127.0.0.1:0", nil, ""},
		{"SASL_PLAINTEXT://0.0.0.0:0", []string{"sasl.enabled.mechanisms", "PLAIN", "sasl.jaas.config", plainJAAS}, clear},
		{"SASL_PLAINTEXT://0.0.0.0:0", []string{"sasl.enabled.mechanisms", "SCRAM-SHA-256"}, ""},
		{"SASL_PLAINTEXT://127.0.0.1:0", []string{"sasl.enabled.mechanisms", "PLAIN", "sasl.jaas.config", plainJAAS}, ""},
	} {
		var logs testutil.Buffer
		props := map[string]string{"log.dirs": t.TempDir(), "listeners": c.listeners}
		for i := 0; i+1 < len(c.props); i += 2 {
			props[c.props[i]] = c.props[i+1]
		}
		b, err := Start(context.Background(), Config{Properties: props, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		closeBroker(t, b)
		got := logs.String()
		if c.warn != "" && !strings.Contains(got, c.warn) || c.warn == "" && strings.Contains(got, "level=WARN") {
			t.Errorf("listeners=%s %v: want warning %q, logs:\n%s", c.listeners, c.props, c.warn, got)
		}
	}
}

func TestDescribeConfigsHidesSecrets(t *testing.T) {
	pki := testpki.New(t)
	chain, err := readFileString(pki.ServerCert)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := readFileString(pki.ServerKey)
	b := startBroker(t, "", "listeners", "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0", "sasl.enabled.mechanisms", "PLAIN",
		"sasl.jaas.config", plainJAAS, "ssl.keystore.certificate.chain", chain, "ssl.keystore.key", key)
	adm := kadm.NewClient(newClient(t, b))
	rcs, err := adm.DescribeBrokerConfigs(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, rc := range rcs {
		for _, c := range rc.Configs {
			switch c.Key {
			case "sasl.jaas.config", "ssl.keystore.key", "ssl.keystore.certificate.chain":
				seen++
				if !c.Sensitive || c.Value != nil {
					t.Errorf("%s: sensitive=%v value=%v, want sensitive and no value", c.Key, c.Sensitive, c.Value)
				}
			}
			if c.Value != nil && (strings.Contains(*c.Value, "admin-secret") || strings.Contains(*c.Value, "PRIVATE KEY")) {
				t.Errorf("%s leaks a secret: %q", c.Key, *c.Value)
			}
			for _, syn := range c.Synonyms {
				if syn.Value != nil && (strings.Contains(*syn.Value, "admin-secret") || strings.Contains(*syn.Value, "PRIVATE KEY")) {
					t.Errorf("synonym %s of %s leaks a secret", syn.Key, c.Key)
				}
			}
		}
	}
	if seen != 3 {
		t.Fatalf("saw %d of the 3 secret configs", seen)
	}
}

func TestListenersAdvertiseTheirOwnAddress(t *testing.T) {
	b := startBroker(t, "",
		"listeners", "PLAINTEXT://127.0.0.1:0,CLIENT://127.0.0.1:0",
		"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CLIENT:PLAINTEXT",
		"advertised.listeners", "CLIENT://client.example:19092")
	for _, c := range []struct {
		listener, host string
		port           int32
	}{
		{"PLAINTEXT", "127.0.0.1", 0},
		{"CLIENT", "client.example", 19092},
	} {
		addr := b.ListenerAddr(c.listener)
		if addr == "" {
			t.Fatalf("no listener %s", c.listener)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err != nil {
			t.Fatal(err)
		}
		// The seed connection is used for the request, so the answer is this listener's.
		resp, err := kmsg.NewPtrMetadataRequest().RequestWith(testCtx(t), cl)
		cl.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := c.port
		if want == 0 {
			_, p := splitHostPortInt(t, addr)
			want = p
		}
		if len(resp.Brokers) != 1 || resp.Brokers[0].Host != c.host || resp.Brokers[0].Port != want {
			t.Errorf("listener %s advertised %+v, want %s:%d", c.listener, resp.Brokers, c.host, want)
		}
	}
}

func saslBroker(t *testing.T, extra ...string) *Broker {
	props := append([]string{
		"listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config", plainJAAS,
	}, extra...)
	return startBroker(t, "", props...)
}

func pingErr(t *testing.T, addr string, opts ...kgo.Opt) error {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RetryTimeout(3 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	return err
}

func TestSASLPlainAndSCRAM(t *testing.T) {
	b := saslBroker(t)
	addr := b.ListenerAddr("SASL_PLAINTEXT")
	if err := pingErr(t, addr, kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism())); err != nil {
		t.Fatalf("PLAIN with the right password: %v", err)
	}
	err := pingErr(t, addr, kgo.SASL(plain.Auth{User: "alice", Pass: "wrong"}.AsMechanism()))
	if !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("PLAIN with a wrong password: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
	if err := pingErr(t, addr); err == nil {
		t.Fatal("no SASL on a SASL listener: the request was answered")
	}

	// SCRAM credentials set through AlterUserScramCredentials on the plaintext listener.
	adm := kadm.NewClient(newClient(t, b))
	res, err := adm.AlterUserSCRAMs(testCtx(t), nil, []kadm.UpsertSCRAM{
		{User: "carol", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "carol-256"},
		{User: "dave", Mechanism: kadm.ScramSha512, Iterations: 8192, Password: "dave-512"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("alter %s: %v", r.User, r.Err)
		}
	}
	if err := pingErr(t, addr, kgo.SASL(scram.Auth{User: "carol", Pass: "carol-256"}.AsSha256Mechanism())); err != nil {
		t.Fatalf("SCRAM-SHA-256: %v", err)
	}
	if err := pingErr(t, addr, kgo.SASL(scram.Auth{User: "dave", Pass: "dave-512"}.AsSha512Mechanism())); err != nil {
		t.Fatalf("SCRAM-SHA-512: %v", err)
	}
	for _, bad := range []scram.Auth{{User: "carol", Pass: "nope"}, {User: "nobody", Pass: "x"}} {
		if err := pingErr(t, addr, kgo.SASL(bad.AsSha256Mechanism())); !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Errorf("SCRAM-SHA-256 as %s with a wrong password: %v, want SASL_AUTHENTICATION_FAILED", bad.User, err)
		}
	}
	// dave has only a SCRAM-SHA-512 credential.
	if err := pingErr(t, addr, kgo.SASL(scram.Auth{User: "dave", Pass: "dave-512"}.AsSha256Mechanism())); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Errorf("SCRAM-SHA-256 for a SHA-512-only user: %v", err)
	}

	desc, err := adm.DescribeUserSCRAMs(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if d := desc["dave"]; len(d.CredInfos) != 1 || d.CredInfos[0].Mechanism != kadm.ScramSha512 || d.CredInfos[0].Iterations != 8192 {
		t.Fatalf("describe dave: %+v", d)
	}
	// The store keeps salted keys only.
	data, err := readFileString(b.metaDir + "/" + scramCredentialsFile)
	if err != nil || strings.Contains(data, "carol-256") || !strings.Contains(data, "stored_key") {
		t.Fatalf("credential file: %v\n%s", err, data)
	}
	// Deleting removes the login.
	if _, err := adm.AlterUserSCRAMs(testCtx(t), []kadm.DeleteSCRAM{{User: "carol", Mechanism: kadm.ScramSha256}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := pingErr(t, addr, kgo.SASL(scram.Auth{User: "carol", Pass: "carol-256"}.AsSha256Mechanism())); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("SCRAM after delete: %v", err)
	}
	// Iterations outside Kafka's bounds are refused.
	areq := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	up := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
	up.Name, up.Mechanism, up.Iterations, up.Salt, up.SaltedPassword = "eve", 1, 100, []byte("salt"), []byte("salted")
	areq.Upsertions = append(areq.Upsertions, up)
	aresp, err := areq.RequestWith(testCtx(t), newClient(t, b))
	if err != nil || len(aresp.Results) != 1 || aresp.Results[0].ErrorCode != kerr.UnacceptableCredential.Code {
		t.Fatalf("100 iterations: %v %+v", err, aresp)
	}
}

func TestTLSListenerPrincipalFromCertificate(t *testing.T) {
	pki := testpki.New(t)
	b := startBroker(t, "",
		"listeners", "SSL://127.0.0.1:0",
		"ssl.keystore.type", "PEM",
		"ssl.keystore.location", pki.ServerFile,
		"ssl.truststore.location", pki.CAFile,
		"ssl.client.auth", "required",
		"authorizer.class.name", StandardAuthorizerClass,
		"super.users", "User:CN=admin")
	addr := b.ListenerAddr("SSL")
	if err := pingErr(t, addr, kgo.DialTLSConfig(pki.ClientTLS(t, "admin"))); err != nil {
		t.Fatalf("admin certificate: %v", err)
	}
	if err := pingErr(t, addr, kgo.DialTLSConfig(pki.ClientTLS(t, ""))); err == nil {
		t.Fatal("no client certificate with ssl.client.auth=required: answered")
	}
	// alice's certificate is valid, but she has no ACL: she sees no topics and may not
	// create one.
	admin := kadm.NewClient(newClient(t, b, kgo.SeedBrokers(addr), kgo.DialTLSConfig(pki.ClientTLS(t, "admin"))))
	if _, err := admin.CreateTopic(testCtx(t), 1, 1, nil, "secret"); err != nil {
		t.Fatal(err)
	}
	alice := kadm.NewClient(newClient(t, b, kgo.SeedBrokers(addr), kgo.DialTLSConfig(pki.ClientTLS(t, "alice"))))
	md, err := alice.Metadata(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Topics) != 0 {
		t.Fatalf("alice sees %v", md.Topics.Names())
	}
	r, err := alice.CreateTopic(testCtx(t), 1, 1, nil, "mine")
	if err == nil {
		err = r.Err
	}
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("alice creates a topic: %v", err)
	}
	// An ACL for her certificate's principal lets her describe the topic.
	created, err := admin.CreateACLs(testCtx(t), kadm.NewACLs().Allow("User:CN=alice").Topics("secret").Operations(kadm.OpDescribe).ResourcePatternType(kadm.ACLPatternLiteral))
	if err != nil || len(created) != 1 || created[0].Err != nil {
		t.Fatalf("create ACL: %v %+v", err, created)
	}
	alice = kadm.NewClient(newClient(t, b, kgo.SeedBrokers(addr), kgo.DialTLSConfig(pki.ClientTLS(t, "alice")))) // no cached metadata
	md, err = alice.Metadata(testCtx(t))
	if err != nil || len(md.Topics) != 1 {
		t.Fatalf("alice after the ACL: %v %v", md.Topics.Names(), err)
	}
}

func readFileString(path string) (string, error) {
	data, err := os.ReadFile(path)
	return string(data), err
}

func splitHostPortInt(t *testing.T, addr string) (string, int32) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return h, int32(n)
}

// TestSASLListenerBoundsUnauthenticatedFrames: before authentication a SASL listener reads
// no frame above sasl.server.max.receive.size; the connection is closed instead.
func TestSASLListenerBoundsUnauthenticatedFrames(t *testing.T) {
	b := saslBroker(t, "sasl.server.max.receive.size", "4096")
	c, err := net.Dial("tcp", b.ListenerAddr("SASL_PLAINTEXT"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	frame := make([]byte, 4+8192)
	binary.BigEndian.PutUint32(frame, 8192)
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 16)); err == nil {
		t.Fatalf("read %d bytes: the connection is still open", n)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the connection was not closed")
	}
	// A client that authenticates first is served as usual.
	if err := pingErr(t, b.ListenerAddr("SASL_PLAINTEXT"), kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism())); err != nil {
		t.Fatal(err)
	}
}

// TestACLAPIsWithoutAuthorizer: without authorizer.class.name the ACL APIs answer
// SECURITY_DISABLED, as Kafka.
func TestACLAPIsWithoutAuthorizer(t *testing.T) {
	b := startBroker(t, "")
	adm := kadm.NewClient(newClient(t, b))
	described, err := adm.DescribeACLs(testCtx(t), kadm.NewACLs().AnyResource().Allow().AllowHosts().Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternAny))
	if err != nil || len(described) == 0 || !errors.Is(described[0].Err, kerr.SecurityDisabled) {
		t.Fatalf("DescribeAcls: %v %+v, want SECURITY_DISABLED", err, described)
	}
	res, err := adm.CreateACLs(testCtx(t), kadm.NewACLs().Allow("User:a").Topics("t").Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral))
	if err != nil || len(res) != 1 || !errors.Is(res[0].Err, kerr.SecurityDisabled) {
		t.Fatalf("CreateAcls: %v %+v, want SECURITY_DISABLED", err, res)
	}
}
