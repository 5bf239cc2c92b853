package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
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

// testPKI makes a CA and a server certificate for the given names, written as PEM files.
func testPKI(t *testing.T, dir string, dnsNames []string, ips []net.IP) (caFile string, server tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: dnsNames, IPAddresses: ips,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
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
	dir := t.TempDir()
	caFile, goodCert := testPKI(t, dir, nil, []net.IP{net.ParseIP("127.0.0.1")})
	// A certificate from a CA the client is not told to trust.
	_, untrustedCert := testPKI(t, t.TempDir(), nil, []net.IP{net.ParseIP("127.0.0.1")})
	// A trusted certificate for another host name.
	wrongNameCA, wrongNameCert := testPKI(t, t.TempDir(), []string{"other.example"}, nil)

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
