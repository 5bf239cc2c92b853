package auth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// ClientAuth is ssl.client.auth.
type ClientAuth string

// The values of ssl.client.auth.
const (
	ClientAuthNone      ClientAuth = "none"
	ClientAuthRequested ClientAuth = "requested"
	ClientAuthRequired  ClientAuth = "required"
)

// TLSSettings are a listener's ssl.* properties, PEM only (ssl.keystore.type=PEM). The
// certificate chain and key come either from one file (ssl.keystore.location holding the
// key and the chain) or from the values of ssl.keystore.certificate.chain and
// ssl.keystore.key; the trusted CAs from ssl.truststore.location or the value of
// ssl.truststore.certificates.
type TLSSettings struct {
	KeystoreLocation    string
	KeystoreCertChain   string // PEM text
	KeystoreKey         string // PEM text
	TruststoreLocation  string
	TruststoreCerts     string // PEM text
	ClientAuth          ClientAuth
	MinVersionTLS13Only bool // ssl.enabled.protocols=TLSv1.3
}

// ServerConfig builds the crypto/tls configuration of a listener: TLS 1.2 and 1.3, Go's
// cipher suites.
func (s TLSSettings) ServerConfig() (*tls.Config, error) {
	var certPEM, keyPEM []byte
	switch {
	case s.KeystoreLocation != "" && (s.KeystoreCertChain != "" || s.KeystoreKey != ""):
		return nil, errors.New("auth: set ssl.keystore.location or ssl.keystore.certificate.chain with ssl.keystore.key, not both")
	case s.KeystoreLocation != "":
		data, err := os.ReadFile(s.KeystoreLocation)
		if err != nil {
			return nil, fmt.Errorf("auth: ssl.keystore.location: %w", err)
		}
		certPEM, keyPEM = data, data
	case s.KeystoreCertChain != "" && s.KeystoreKey != "":
		certPEM, keyPEM = []byte(s.KeystoreCertChain), []byte(s.KeystoreKey)
	default:
		return nil, errors.New("auth: a TLS listener needs a certificate: set ssl.keystore.location (PEM with key and chain) or ssl.keystore.certificate.chain and ssl.keystore.key")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("auth: server certificate and key: %w (encrypted keys are not supported)", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if s.MinVersionTLS13Only {
		cfg.MinVersion = tls.VersionTLS13
	}
	var pool *x509.CertPool
	switch {
	case s.TruststoreLocation != "" && s.TruststoreCerts != "":
		return nil, errors.New("auth: set ssl.truststore.location or ssl.truststore.certificates, not both")
	case s.TruststoreLocation != "":
		data, err := os.ReadFile(s.TruststoreLocation)
		if err != nil {
			return nil, fmt.Errorf("auth: ssl.truststore.location: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("auth: ssl.truststore.location %s holds no PEM certificate", s.TruststoreLocation)
		}
	case s.TruststoreCerts != "":
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(s.TruststoreCerts)) {
			return nil, errors.New("auth: ssl.truststore.certificates holds no PEM certificate")
		}
	}
	switch s.ClientAuth {
	case ClientAuthNone, "":
		cfg.ClientAuth = tls.NoClientCert
	case ClientAuthRequested:
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case ClientAuthRequired:
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("auth: ssl.client.auth=%s: use none, requested or required", s.ClientAuth)
	}
	if cfg.ClientAuth != tls.NoClientCert {
		if pool == nil {
			return nil, fmt.Errorf("auth: ssl.client.auth=%s needs the CAs that sign client certificates: set ssl.truststore.location", s.ClientAuth)
		}
		cfg.ClientCAs = pool
	}
	return cfg, nil
}

// CertPrincipal is Kafka's default principal for a TLS client: "User:" followed by the
// certificate's subject distinguished name (RFC 2253, as Java's X500Principal.getName()
// prints it: CN=alice,OU=eng,O=Example,C=US).
func CertPrincipal(cert *x509.Certificate) string {
	return "User:" + cert.Subject.String()
}

// AnonymousPrincipal is the principal of a connection with no authentication (PLAINTEXT,
// or SSL without a client certificate), as Kafka's KafkaPrincipal.ANONYMOUS.
const AnonymousPrincipal = "User:ANONYMOUS"
