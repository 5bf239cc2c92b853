package client

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rivulet-io/rivulet/internal/testpki"
)

func pingWith(t *testing.T, props Properties) error {
	t.Helper()
	adm, err := NewAdmin(props)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return adm.Ping(ctx)
}

func TestSASL(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "plainuser", "plainpw"),
		kfake.Superuser("SCRAM-SHA-256", "scram256", "pw256"),
		kfake.Superuser("SCRAM-SHA-512", "scram512", "pw512"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seeds := c.ListenAddrs()[0]
	for _, tc := range []struct {
		name  string
		props Properties
		ok    bool
	}{
		{"plain jaas", Properties{"sasl.mechanism": "PLAIN", "sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="plainuser" password="plainpw";`}, true},
		{"scram-256", Properties{"sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "scram256", "sasl.password": "pw256"}, true},
		{"scram-512", Properties{"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "scram512", "sasl.password": "pw512"}, true},
		{"wrong password", Properties{"sasl.mechanism": "PLAIN", "sasl.username": "plainuser", "sasl.password": "nope"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			props := tc.props.Merge(Properties{"bootstrap.servers": seeds, "security.protocol": "SASL_PLAINTEXT"})
			err := pingWith(t, props)
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok && err == nil {
				t.Fatal("want an authentication failure")
			}
		})
	}
}

// testPKI makes a CA and a server certificate for the given names.
func testPKI(t *testing.T, dnsNames []string, ips []net.IP) (caFile string, server tls.Certificate) {
	t.Helper()
	pki := testpki.New(t)
	return pki.CAFile, pki.ServerCertificate(t, dnsNames, ips)
}

func tlsCluster(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

func TestTLS(t *testing.T) {
	caFile, goodCert := testPKI(t, nil, []net.IP{net.ParseIP("127.0.0.1")})
	// A certificate from a CA the client is not told to trust.
	_, untrustedCert := testPKI(t, nil, []net.IP{net.ParseIP("127.0.0.1")})
	// A trusted certificate for another host name.
	wrongNameCA, wrongNameCert := testPKI(t, []string{"other.example"}, nil)

	good := tlsCluster(t, goodCert)
	if err := pingWith(t, Properties{"bootstrap.servers": good, "security.protocol": "SSL", "ssl.ca.location": caFile}); err != nil {
		t.Fatalf("trusted CA, matching IP: %v", err)
	}
	if err := pingWith(t, Properties{"bootstrap.servers": good, "security.protocol": "SSL", "ssl.truststore.location": caFile, "ssl.truststore.type": "PEM"}); err != nil {
		t.Fatalf("PEM truststore: %v", err)
	}
	if err := pingWith(t, Properties{"bootstrap.servers": good, "security.protocol": "PLAINTEXT"}); err == nil {
		t.Fatal("plaintext against a TLS listener must fail")
	}

	wrongName := tlsCluster(t, wrongNameCert)
	if err := pingWith(t, Properties{"bootstrap.servers": wrongName, "security.protocol": "SSL", "ssl.ca.location": wrongNameCA}); err == nil {
		t.Fatal("a certificate for another host name must fail the default host name check")
	}
	noCheck := Properties{"bootstrap.servers": wrongName, "security.protocol": "SSL", "ssl.ca.location": wrongNameCA, "ssl.endpoint.identification.algorithm": ""}
	if err := pingWith(t, noCheck); err != nil {
		t.Fatalf("host name check off, chain trusted: %v", err)
	}

	untrusted := tlsCluster(t, untrustedCert)
	err := pingWith(t, Properties{"bootstrap.servers": untrusted, "security.protocol": "SSL", "ssl.ca.location": caFile, "ssl.endpoint.identification.algorithm": ""})
	if err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("an untrusted chain must fail even without the host name check: %v", err)
	}
}
