// Package testpki makes throw-away TLS material for tests: a CA, a server certificate for
// 127.0.0.1 and localhost, and client certificates, written as PEM files in a temp dir.
// It is for tests only (it takes a testing.TB).
package testpki

import (
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
	"testing"
	"time"
)

// PKI is a throw-away CA with a server certificate for 127.0.0.1/localhost and client
// certificates, written as PEM files in a temp dir.
type PKI struct {
	dir        string
	caCert     *x509.Certificate
	caKey      *ecdsa.PrivateKey
	CAFile     string // the CA certificate
	ServerFile string // key + chain in one file (ssl.keystore.location)
	ServerCert string // the chain alone
	ServerKey  string // the key alone
}

// New makes a CA and a server certificate in a new temp dir.
func New(t testing.TB) *PKI {
	t.Helper()
	p := &PKI{dir: t.TempDir()}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rivulet test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p.caCert, _ = x509.ParseCertificate(der)
	p.caKey = key
	p.CAFile = p.write(t, "ca.pem", pemBlock("CERTIFICATE", der))
	certPEM, keyPEM := p.Issue(t, pkix.Name{CommonName: "localhost"}, true)
	p.ServerCert = p.write(t, "server.crt", certPEM)
	p.ServerKey = p.write(t, "server.key", keyPEM)
	p.ServerFile = p.write(t, "server.pem", append(append([]byte{}, keyPEM...), certPEM...))
	return p
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func (p *PKI) write(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Issue returns a certificate signed by the CA and its key, both PEM. A server certificate
// is for localhost and 127.0.0.1.
func (p *PKI) Issue(t testing.TB, subject pkix.Name, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	if server {
		return p.issue(t, subject, true, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	}
	return p.issue(t, subject, false, nil, nil)
}

// ServerCertificate issues a server certificate for exactly these host names and addresses,
// ready for a test listener's tls.Config.
func (p *PKI) ServerCertificate(t testing.TB, dnsNames []string, ips []net.IP) tls.Certificate {
	t.Helper()
	certPEM, keyPEM := p.issue(t, pkix.Name{CommonName: "broker"}, true, dnsNames, ips)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func (p *PKI) issue(t testing.TB, subject pkix.Name, server bool, dnsNames []string, ips []net.IP) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames, tmpl.IPAddresses = dnsNames, ips
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", kder)
}

// ClientFiles issues a client certificate for cn and returns the certificate and key paths.
func (p *PKI) ClientFiles(t testing.TB, cn string) (certFile, keyFile string) {
	c, k := p.Issue(t, pkix.Name{CommonName: cn}, false)
	return p.write(t, cn+".crt", c), p.write(t, cn+".key", k)
}

// ClientTLS is a client tls.Config trusting the CA, with a client certificate when cn != "".
func (p *PKI) ClientTLS(t testing.TB, cn string) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(p.caCert)
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if cn != "" {
		cf, kf := p.ClientFiles(t, cn)
		pair, err := tls.LoadX509KeyPair(cf, kf)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}
