package client

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"github.com/rivulet-io/rivulet/internal/testpki"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestPEMKeystoreProperties: Kafka's PEM keystore properties (a file with key and chain, or
// both as text) give a client certificate that a broker with ssl.client.auth=required
// accepts; without one the connection fails.
func TestPEMKeystoreProperties(t *testing.T) {
	pki := testpki.New(t)
	srv, err := tls.LoadX509KeyPair(pki.ServerFile, pki.ServerFile)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := os.ReadFile(pki.CAFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{
		Certificates: []tls.Certificate{srv}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	certFile, keyFile := pki.ClientFiles(t, "client")
	cert, _ := os.ReadFile(certFile)
	key, _ := os.ReadFile(keyFile)
	keystore := t.TempDir() + "/client.pem"
	if err := os.WriteFile(keystore, append(append([]byte{}, key...), cert...), 0o600); err != nil {
		t.Fatal(err)
	}
	base := func(extra Properties) Properties {
		p := Properties{"bootstrap.servers": c.ListenAddrs()[0], "security.protocol": "SSL"}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	for name, props := range map[string]Properties{
		"keystore file": {"ssl.keystore.type": "PEM", "ssl.keystore.location": keystore, "ssl.truststore.type": "PEM", "ssl.truststore.location": pki.CAFile},
		"inline PEM":    {"ssl.keystore.certificate.chain": string(cert), "ssl.keystore.key": string(key), "ssl.truststore.certificates": string(ca)},
	} {
		if err := pingWith(t, base(props)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := pingWith(t, base(Properties{"ssl.truststore.certificates": string(ca)})); err == nil {
		t.Error("no client certificate: the broker answered")
	}
	if _, err := NewAdmin(base(Properties{"ssl.keystore.location": keystore, "ssl.truststore.location": pki.CAFile})); err == nil {
		t.Error("ssl.keystore.location without ssl.keystore.type=PEM was accepted")
	}
}
