package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// The security settings of a client: security.protocol, TLS (ssl.*) and SASL (sasl.*,
// including the credentials of sasl.jaas.config), turned into kgo options.

// jaasField finds the username and password options of sasl.jaas.config.
var jaasField = regexp.MustCompile(`(username|password)\s*=\s*"((?:[^"\\]|\\.)*)"`)

func (s *settings) securityOpts() ([]kgo.Opt, error) {
	proto := s.securityProtocol
	if proto == "" {
		proto = "PLAINTEXT"
	}
	var opts []kgo.Opt
	useTLS := proto == "SSL" || proto == "SASL_SSL"
	useSASL := proto == "SASL_PLAINTEXT" || proto == "SASL_SSL"
	if useTLS {
		cfg, err := s.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	} else if s.sslCA != "" || s.sslCert != "" || s.sslKey != "" || s.sslTruststore != "" || s.sslKeystore != "" || s.sslKeystoreChain != "" || s.sslTrustCerts != "" {
		s.warnings = append(s.warnings, fmt.Sprintf("ssl.* properties are ignored: security.protocol is %s (want SSL or SASL_SSL)", proto))
	}
	if useSASL {
		m, err := s.saslMech()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	} else if s.saslMechanism != "" || s.saslUser != nil || s.saslJAAS != "" {
		s.warnings = append(s.warnings, fmt.Sprintf("sasl.* properties are ignored: security.protocol is %s (want SASL_PLAINTEXT or SASL_SSL)", proto))
	}
	return opts, nil
}

func (s *settings) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	caFile := s.sslCA
	if s.sslTruststore != "" {
		if s.sslTruststoreTyp != "" && s.sslTruststoreTyp != "PEM" {
			return nil, fmt.Errorf("client: ssl.truststore.type %s is not supported: convert the truststore to PEM and set ssl.truststore.type=PEM (or use ssl.ca.location)", s.sslTruststoreTyp)
		}
		if caFile != "" && caFile != s.sslTruststore {
			return nil, errors.New("client: set only one of ssl.ca.location and ssl.truststore.location")
		}
		caFile = s.sslTruststore
	}
	if caFile != "" && s.sslTrustCerts != "" {
		return nil, errors.New("client: set only one of ssl.truststore.certificates and a CA file (ssl.ca.location, ssl.truststore.location)")
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("client: ssl CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client: ssl CA file %s holds no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	if s.sslTrustCerts != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(s.sslTrustCerts)) {
			return nil, errors.New("client: ssl.truststore.certificates holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	keystores := 0
	for _, set := range []bool{s.sslCert != "" || s.sslKey != "", s.sslKeystore != "", s.sslKeystoreChain != "" || s.sslKeystoreKey != ""} {
		if set {
			keystores++
		}
	}
	if keystores > 1 {
		return nil, errors.New("client: give the client certificate one way: ssl.certificate.location with ssl.key.location, ssl.keystore.location (PEM), or ssl.keystore.certificate.chain with ssl.keystore.key")
	}
	switch {
	case s.sslKeystore != "":
		if s.sslKeystoreTyp != "PEM" {
			return nil, errors.New("client: ssl.keystore.location needs ssl.keystore.type=PEM (a PEM file with the key and the certificate chain; JKS and PKCS12 are not supported)")
		}
		data, err := os.ReadFile(s.sslKeystore)
		if err != nil {
			return nil, fmt.Errorf("client: ssl.keystore.location: %w", err)
		}
		pair, err := tls.X509KeyPair(data, data)
		if err != nil {
			return nil, fmt.Errorf("client: ssl.keystore.location %s: %w", s.sslKeystore, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case s.sslKeystoreChain != "" && s.sslKeystoreKey != "":
		pair, err := tls.X509KeyPair([]byte(s.sslKeystoreChain), []byte(s.sslKeystoreKey))
		if err != nil {
			return nil, fmt.Errorf("client: ssl.keystore.certificate.chain and ssl.keystore.key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case s.sslKeystoreChain != "" || s.sslKeystoreKey != "":
		return nil, errors.New("client: set both ssl.keystore.certificate.chain and ssl.keystore.key, or neither")
	case s.sslCert != "" && s.sslKey != "":
		pair, err := tls.LoadX509KeyPair(s.sslCert, s.sslKey)
		if err != nil {
			return nil, fmt.Errorf("client: ssl client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case s.sslCert != "" || s.sslKey != "":
		return nil, errors.New("client: set both ssl.certificate.location and ssl.key.location, or neither")
	}
	if s.sslHostnameCheck != nil && !*s.sslHostnameCheck {
		// Kafka's ssl.endpoint.identification.algorithm="" keeps chain verification and drops
		// only the host name check; Go has no switch for that, so verify the chain by hand.
		roots := cfg.RootCAs
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("client: tls: broker sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	}
	return cfg, nil
}

func (s *settings) saslMech() (sasl.Mechanism, error) {
	if s.saslMechanism == "" {
		return nil, errors.New("client: sasl.mechanism is required with SASL (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; Kafka's default GSSAPI is not supported)")
	}
	var user, pass string
	haveUser, havePass := false, false
	if s.saslJAAS != "" {
		for _, m := range jaasField.FindAllStringSubmatch(s.saslJAAS, -1) {
			v := strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(m[2])
			if m[1] == "username" {
				user, haveUser = v, true
			} else {
				pass, havePass = v, true
			}
		}
	}
	if s.saslUser != nil {
		user, haveUser = *s.saslUser, true
	}
	if s.saslPass != nil {
		pass, havePass = *s.saslPass, true
	}
	if !haveUser || !havePass {
		return nil, errors.New("client: SASL needs a username and a password: set sasl.username and sasl.password, or sasl.jaas.config with username=\"...\" password=\"...\"")
	}
	switch s.saslMechanism {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	default:
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	}
}
