package brokerlite

// Security settings: listeners with their protocols, TLS, SASL and the authorizer, read
// from Kafka's property names. Every property in the security namespace (ssl.*, sasl.*,
// listener.name.*, authorizer.class.name, super.users, ...) is either honoured or refused
// at start with a message naming it: a broker must never run with less security than its
// operator asked for.

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/rivulet-io/rivulet/brokerlite/auth"
)

// The listener security protocols (Kafka's SecurityProtocol).
const (
	ProtocolPlaintext     = "PLAINTEXT"
	ProtocolSSL           = "SSL"
	ProtocolSASLPlaintext = "SASL_PLAINTEXT"
	ProtocolSASLSSL       = "SASL_SSL"
)

// Kafka's names for its built-in ACL authorizer (KRaft and ZooKeeper), both served by
// brokerlite's authorizer.
const (
	StandardAuthorizerClass = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
	AclAuthorizerClass      = "kafka.security.authorizer.AclAuthorizer"
)

// ListenerSettings is one listener: its name, protocol, bind and advertised addresses, and
// its TLS and SASL settings (each listener.name.<name>.<property> overriding <property>).
type ListenerSettings struct {
	Name           string // listener name, upper case (PLAINTEXT, SSL, CLIENT, ...)
	Protocol       string // PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
	Addr           string // host:port to bind
	AdvertisedAddr string // host:port told to clients; "" for the bound address
	// TLS is set for SSL and SASL_SSL listeners.
	TLS *auth.TLSSettings
	// SASLMechanisms is sasl.enabled.mechanisms for SASL listeners.
	SASLMechanisms []string
	// PlainUsers are the PLAIN users (user_<name> options of the listener's PLAIN JAAS line).
	PlainUsers auth.PlainUsers
}

// TLSEnabled reports whether the listener speaks TLS.
func (l *ListenerSettings) TLSEnabled() bool {
	return l.Protocol == ProtocolSSL || l.Protocol == ProtocolSASLSSL
}

// SASLEnabled reports whether the listener requires SASL authentication.
func (l *ListenerSettings) SASLEnabled() bool {
	return l.Protocol == ProtocolSASLPlaintext || l.Protocol == ProtocolSASLSSL
}

// SecuritySettings are the authorizer settings.
type SecuritySettings struct {
	// AuthorizerEnabled is true when authorizer.class.name names Kafka's built-in authorizer.
	AuthorizerEnabled bool
	// SuperUsers is super.users (principals separated by ';').
	SuperUsers []string
	// AllowEveryoneIfNoACLFound is allow.everyone.if.no.acl.found.
	AllowEveryoneIfNoACLFound bool
	// SASLMaxReceiveSize is sasl.server.max.receive.size: the largest frame a client may
	// send on a SASL listener before it has authenticated.
	SASLMaxReceiveSize int32
}

// securityConfigKeys are the broker-wide security properties brokerlite understands (the
// listener.name.<name>.* forms of the ssl.* and sasl.* ones are understood too).
var securityConfigKeys = []ConfigKey{
	{Name: "ssl.keystore.type", Default: "PEM", Doc: "only PEM is supported (Kafka's default JKS is not)", ReadOnly: true},
	{Name: "ssl.keystore.location", Default: "", Doc: "a PEM file with the listener's private key and certificate chain", ReadOnly: true},
	{Name: "ssl.keystore.certificate.chain", Default: "", Doc: "the certificate chain as PEM text (with ssl.keystore.key, instead of ssl.keystore.location)", ReadOnly: true, Sensitive: true},
	{Name: "ssl.keystore.key", Default: "", Doc: "the private key as PEM text (unencrypted)", ReadOnly: true, Sensitive: true},
	{Name: "ssl.keystore.password", Default: "", Doc: "not supported with PEM keystores: must be unset", ReadOnly: true, Sensitive: true},
	{Name: "ssl.key.password", Default: "", Doc: "not supported: encrypted private keys are refused; must be unset", ReadOnly: true, Sensitive: true},
	{Name: "ssl.truststore.type", Default: "PEM", Doc: "only PEM is supported", ReadOnly: true},
	{Name: "ssl.truststore.location", Default: "", Doc: "a PEM file with the CAs that sign client certificates", ReadOnly: true},
	{Name: "ssl.truststore.certificates", Default: "", Doc: "the trusted CAs as PEM text (instead of ssl.truststore.location)", ReadOnly: true, Sensitive: true},
	{Name: "ssl.truststore.password", Default: "", Doc: "not supported with PEM truststores: must be unset", ReadOnly: true, Sensitive: true},
	{Name: "ssl.client.auth", Default: "none", Doc: "none, requested or required: whether TLS clients must present a certificate", ReadOnly: true},
	{Name: "ssl.enabled.protocols", Default: "TLSv1.2,TLSv1.3", Doc: "TLSv1.2 and/or TLSv1.3 (Go's crypto/tls)", ReadOnly: true},
	{Name: "ssl.protocol", Default: "TLSv1.3", Doc: "accepted: TLS, TLSv1.2 or TLSv1.3; ssl.enabled.protocols decides", ReadOnly: true},
	{Name: "ssl.endpoint.identification.algorithm", Default: "https", Doc: "accepted: it governs inter-broker clients, which one node does not have", ReadOnly: true},
	{Name: "ssl.principal.mapping.rules", Default: "DEFAULT", Doc: "only DEFAULT: the principal is User:<subject DN of the client certificate>", ReadOnly: true},
	{Name: "principal.builder.class", Default: "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder", Doc: "only Kafka's default principal builder", ReadOnly: true},
	{Name: "sasl.enabled.mechanisms", Default: "", Doc: "PLAIN, SCRAM-SHA-256 and/or SCRAM-SHA-512; required on SASL listeners (Kafka's default GSSAPI is not supported)", ReadOnly: true},
	{Name: "sasl.jaas.config", Default: "", Doc: "the PlainLoginModule line with user_<name>=\"<password>\" options for PLAIN", ReadOnly: true, Sensitive: true},
	{Name: "sasl.server.max.receive.size", Default: "524288", Doc: "largest request a client may send on a SASL listener before it has authenticated (a larger one closes the connection)", ReadOnly: true},
	{Name: "sasl.mechanism.inter.broker.protocol", Default: "GSSAPI", Doc: "accepted: one node has no inter-broker traffic", ReadOnly: true},
	{Name: "security.inter.broker.protocol", Default: "PLAINTEXT", Doc: "accepted: one node has no inter-broker traffic", ReadOnly: true},
	{Name: "inter.broker.listener.name", Default: "", Doc: "accepted when it names a listener: one node has no inter-broker traffic", ReadOnly: true},
	{Name: "controller.listener.names", Default: "", Doc: "listeners of the KRaft controller; they are not bound, brokerlite is its own controller", ReadOnly: true},
	{Name: "connections.max.reauth.ms", Default: "0", Doc: "only 0: re-authentication (KIP-368) is not supported", ReadOnly: true},
	{Name: "authorizer.class.name", Default: "", Doc: "empty (no authorization) or " + StandardAuthorizerClass + " / " + AclAuthorizerClass + " (ACLs)", ReadOnly: true},
	{Name: "super.users", Default: "", Doc: "principals that skip ACL checks, separated by ';' (User:admin;User:ops)", ReadOnly: true},
	{Name: "allow.everyone.if.no.acl.found", Default: "false", Doc: "allow a request on a resource that has no ACL at all", ReadOnly: true},
}

// perListenerKeys may be given as listener.name.<listener>.<key> (and the SASL ones as
// listener.name.<listener>.<mechanism>.<key>).
var perListenerKeys = map[string]bool{
	"ssl.keystore.type": true, "ssl.keystore.location": true, "ssl.keystore.certificate.chain": true,
	"ssl.keystore.key": true, "ssl.keystore.password": true, "ssl.key.password": true,
	"ssl.truststore.type": true, "ssl.truststore.location": true, "ssl.truststore.certificates": true,
	"ssl.truststore.password": true, "ssl.client.auth": true, "ssl.enabled.protocols": true, "ssl.protocol": true,
	"ssl.endpoint.identification.algorithm": true, "ssl.principal.mapping.rules": true,
	"sasl.enabled.mechanisms": true, "sasl.jaas.config": true, "principal.builder.class": true,
	"connections.max.reauth.ms": true,
}

// isSecurityKey reports whether a property belongs to the security namespace, where an
// unknown key is refused rather than warned about.
func isSecurityKey(k string) bool {
	for _, p := range []string{"ssl.", "sasl.", "listener.name.", "authorizer.", "delegation.token.", "principal.builder.", "security.", "super.users", "allow.everyone.if.no.acl.found", "connections.max.reauth", "password.encoder."} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

var defaultProtocolMap = map[string]string{
	ProtocolPlaintext: ProtocolPlaintext, ProtocolSSL: ProtocolSSL,
	ProtocolSASLPlaintext: ProtocolSASLPlaintext, ProtocolSASLSSL: ProtocolSASLSSL,
}

// parseSecurity reads listeners, advertised.listeners, listener.security.protocol.map and
// every security property into s. Errors name the property.
func parseSecurity(s *Settings, props map[string]string) error {
	known := map[string]bool{}
	for _, k := range securityConfigKeys {
		known[k.Name] = true
	}
	// Refuse every security key brokerlite does not implement (fail closed).
	var refused []string
	for k := range props {
		if !isSecurityKey(k) {
			continue
		}
		if known[k] {
			continue
		}
		if rest, ok := strings.CutPrefix(k, "listener.name."); ok {
			if _, key, ok := strings.Cut(rest, "."); ok && perListenerKeys[key] {
				continue
			}
			if _, key, ok := strings.Cut(rest, "."); ok {
				if mech, key2, ok := strings.Cut(key, "."); ok && key2 == "sasl.jaas.config" && knownMechLower(mech) {
					continue
				}
			}
		}
		refused = append(refused, k)
	}
	if len(refused) > 0 {
		sort.Strings(refused)
		return fmt.Errorf("%s: brokerlite does not implement this security property, and will not start without what it asks for (docs/security.md lists the supported ones)", refused[0])
	}
	for _, m := range splitSecurityList(props["sasl.enabled.mechanisms"], ",") {
		if !knownMechLower(strings.ToLower(m)) {
			return fmt.Errorf("sasl.enabled.mechanisms: mechanism %s is not supported (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 are)", m)
		}
	}
	get := func(k string) string {
		if v, ok := props[k]; ok {
			return strings.TrimSpace(v)
		}
		for _, ck := range securityConfigKeys {
			if ck.Name == k {
				return ck.Default
			}
		}
		return ""
	}

	// listener.security.protocol.map
	pm := defaultProtocolMap
	if v := strings.TrimSpace(props["listener.security.protocol.map"]); v != "" {
		pm = map[string]string{}
		for _, part := range strings.Split(v, ",") {
			name, proto, ok := strings.Cut(strings.TrimSpace(part), ":")
			name, proto = strings.ToUpper(strings.TrimSpace(name)), strings.ToUpper(strings.TrimSpace(proto))
			if !ok || name == "" {
				return fmt.Errorf("listener.security.protocol.map: %q is not NAME:PROTOCOL", part)
			}
			if _, ok := defaultProtocolMap[proto]; !ok {
				return fmt.Errorf("listener.security.protocol.map: %q: protocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", part)
			}
			pm[name] = proto
		}
	}

	lis := props["listeners"]
	if strings.TrimSpace(lis) == "" {
		lis = brokerKeyIndex["listeners"].Default
	}
	ls, err := parseListenerList(lis)
	if err != nil {
		return fmt.Errorf("listeners: %w", err)
	}
	controllers := map[string]bool{}
	for _, n := range splitSecurityList(props["controller.listener.names"], ",") {
		controllers[strings.ToUpper(n)] = true
	}
	s.Listeners = nil
	names := map[string]bool{}
	for _, l := range ls {
		proto, ok := pm[l.name]
		if !ok {
			return fmt.Errorf("listeners: listener %s has no security protocol: add %s:<PROTOCOL> to listener.security.protocol.map", l.name, l.name)
		}
		names[l.name] = true
		if controllers[l.name] {
			continue
		}
		s.Listeners = append(s.Listeners, ListenerSettings{Name: l.name, Protocol: proto, Addr: l.addr})
	}
	if len(s.Listeners) == 0 {
		return errors.New("listeners: no listener left to serve clients (every one is in controller.listener.names)")
	}
	for n := range controllers {
		if !names[n] {
			return fmt.Errorf("controller.listener.names: %s is not in listeners", n)
		}
	}
	if v := strings.TrimSpace(props["inter.broker.listener.name"]); v != "" && !names[strings.ToUpper(v)] {
		return fmt.Errorf("inter.broker.listener.name: %s is not in listeners", v)
	}
	if v := strings.TrimSpace(props["security.inter.broker.protocol"]); v != "" {
		if _, ok := defaultProtocolMap[strings.ToUpper(v)]; !ok {
			return fmt.Errorf("security.inter.broker.protocol=%s: must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", v)
		}
	}
	if adv := strings.TrimSpace(props["advertised.listeners"]); adv != "" {
		as, err := parseListenerList(adv)
		if err != nil {
			return fmt.Errorf("advertised.listeners: %w", err)
		}
		for _, a := range as {
			found := false
			for i := range s.Listeners {
				if s.Listeners[i].Name == a.name {
					s.Listeners[i].AdvertisedAddr = a.addr
					found = true
				}
			}
			if !found {
				return fmt.Errorf("advertised.listeners: %s is not a listener in listeners", a.name)
			}
		}
	}
	s.ListenAddr = s.Listeners[0].Addr
	s.AdvertisedAddr = s.Listeners[0].AdvertisedAddr
	if err := checkSecurityKeysApply(s.Listeners, props); err != nil {
		return err
	}

	// Per-listener TLS and SASL.
	for i := range s.Listeners {
		l := &s.Listeners[i]
		lget := func(k string) string {
			if v, ok := props["listener.name."+strings.ToLower(l.Name)+"."+k]; ok {
				return strings.TrimSpace(v)
			}
			return get(k)
		}
		lkey := func(k string) string {
			if _, ok := props["listener.name."+strings.ToLower(l.Name)+"."+k]; ok {
				return "listener.name." + strings.ToLower(l.Name) + "." + k
			}
			return k
		}
		for _, k := range []string{"ssl.keystore.password", "ssl.key.password", "ssl.truststore.password"} {
			if lget(k) != "" {
				return fmt.Errorf("%s: passwords for PEM key material are not supported (use an unencrypted PEM key and leave it unset)", lkey(k))
			}
		}
		for _, k := range []string{"ssl.keystore.type", "ssl.truststore.type"} {
			if v := lget(k); !strings.EqualFold(v, "PEM") {
				return fmt.Errorf("%s=%s: only PEM is supported (convert with keytool/openssl to PEM files)", lkey(k), v)
			}
		}
		if v := lget("ssl.principal.mapping.rules"); v != "DEFAULT" {
			return fmt.Errorf("%s=%s: only DEFAULT is supported", lkey("ssl.principal.mapping.rules"), v)
		}
		if v := lget("principal.builder.class"); v != "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder" {
			return fmt.Errorf("%s=%s: only Kafka's DefaultKafkaPrincipalBuilder is supported", lkey("principal.builder.class"), v)
		}
		if v := lget("connections.max.reauth.ms"); v != "0" {
			return fmt.Errorf("%s=%s: re-authentication (KIP-368) is not supported; leave it 0", lkey("connections.max.reauth.ms"), v)
		}
		switch v := lget("ssl.protocol"); v {
		case "TLS", "TLSv1.2", "TLSv1.3":
		default:
			return fmt.Errorf("%s=%s: use TLSv1.2 or TLSv1.3", lkey("ssl.protocol"), v)
		}
		tls13Only := false
		if v := lget("ssl.enabled.protocols"); v != "" {
			has12, has13 := false, false
			for _, p := range splitSecurityList(v, ",") {
				switch p {
				case "TLSv1.2":
					has12 = true
				case "TLSv1.3":
					has13 = true
				default:
					return fmt.Errorf("%s: %s is not supported (TLSv1.2 and TLSv1.3 are)", lkey("ssl.enabled.protocols"), p)
				}
			}
			if !has12 && !has13 {
				return fmt.Errorf("%s is empty", lkey("ssl.enabled.protocols"))
			}
			tls13Only = !has12
		}
		ca := auth.ClientAuth(strings.ToLower(lget("ssl.client.auth")))
		switch ca {
		case auth.ClientAuthNone, auth.ClientAuthRequested, auth.ClientAuthRequired:
		default:
			return fmt.Errorf("%s=%s: use none, requested or required", lkey("ssl.client.auth"), ca)
		}
		if l.TLSEnabled() {
			l.TLS = &auth.TLSSettings{
				KeystoreLocation: lget("ssl.keystore.location"), KeystoreCertChain: lget("ssl.keystore.certificate.chain"),
				KeystoreKey: lget("ssl.keystore.key"), TruststoreLocation: lget("ssl.truststore.location"),
				TruststoreCerts: lget("ssl.truststore.certificates"), ClientAuth: ca, MinVersionTLS13Only: tls13Only,
			}
			if _, err := l.TLS.ServerConfig(); err != nil {
				return fmt.Errorf("listener %s: %w", l.Name, err)
			}
		}
		if l.SASLEnabled() {
			mechs := splitSecurityList(lget("sasl.enabled.mechanisms"), ",")
			if len(mechs) == 0 {
				return fmt.Errorf("listener %s is %s but %s is unset: set PLAIN, SCRAM-SHA-256 and/or SCRAM-SHA-512 (Kafka's default GSSAPI is not supported)", l.Name, l.Protocol, lkey("sasl.enabled.mechanisms"))
			}
			for _, m := range mechs {
				m = strings.ToUpper(m)
				switch m {
				case "PLAIN":
					jk := "listener.name." + strings.ToLower(l.Name) + ".plain.sasl.jaas.config"
					jv, ok := props[jk]
					if !ok {
						jk = lkey("sasl.jaas.config")
						jv = lget("sasl.jaas.config")
					}
					if strings.TrimSpace(jv) == "" {
						return fmt.Errorf("listener %s enables PLAIN but has no users: set listener.name.%s.plain.sasl.jaas.config=%s required user_<name>=\"<password>\";", l.Name, strings.ToLower(l.Name), auth.PlainLoginModule)
					}
					j, err := auth.ParseJAAS(jv)
					if err != nil {
						return fmt.Errorf("%s: %w", jk, err)
					}
					users, err := auth.PlainUsersFromJAAS(j)
					if err != nil {
						return fmt.Errorf("%s: %w", jk, err)
					}
					if len(users) == 0 {
						return fmt.Errorf("%s: no user_<name>=\"<password>\" option: PLAIN would accept nobody", jk)
					}
					l.PlainUsers = users
				case auth.ScramSHA256, auth.ScramSHA512:
				default:
					return fmt.Errorf("%s: mechanism %s is not supported (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 are)", lkey("sasl.enabled.mechanisms"), m)
				}
				l.SASLMechanisms = append(l.SASLMechanisms, m)
			}
		}
	}

	// listener.name.<l>.<mechanism>.sasl.jaas.config must belong to a mechanism the listener
	// enables. The SCRAM ones carry Kafka's inter-broker credentials: one node has no
	// inter-broker traffic, so they are only checked to be ScramLoginModule lines.
	for k, v := range props {
		rest, ok := strings.CutPrefix(k, "listener.name.")
		if !ok {
			continue
		}
		name, sub, _ := strings.Cut(rest, ".")
		mech, key, ok := strings.Cut(sub, ".")
		if !ok || key != "sasl.jaas.config" || !knownMechLower(mech) {
			continue
		}
		var l *ListenerSettings
		for i := range s.Listeners {
			if strings.ToLower(s.Listeners[i].Name) == name {
				l = &s.Listeners[i]
			}
		}
		enabled := false
		for _, m := range l.SASLMechanisms {
			enabled = enabled || strings.ToLower(m) == mech
		}
		if !enabled {
			return fmt.Errorf("%s is set but listener %s does not enable %s in sasl.enabled.mechanisms", k, l.Name, strings.ToUpper(mech))
		}
		if mech != "plain" {
			j, err := auth.ParseJAAS(v)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			if j.LoginModule != auth.ScramLoginModule {
				return fmt.Errorf("%s: %s needs %s, got %s", k, strings.ToUpper(mech), auth.ScramLoginModule, j.LoginModule)
			}
		}
	}

	switch v := get("authorizer.class.name"); v {
	case "":
	case StandardAuthorizerClass, AclAuthorizerClass:
		s.Security.AuthorizerEnabled = true
	default:
		return fmt.Errorf("authorizer.class.name=%s: not supported; use %s (brokerlite's built-in ACL authorizer) or leave it unset", v, StandardAuthorizerClass)
	}
	s.Security.SuperUsers = nil
	for _, u := range splitSecurityList(get("super.users"), ";") {
		if _, _, ok := strings.Cut(u, ":"); !ok {
			return fmt.Errorf("super.users: %q is not a principal such as User:admin", u)
		}
		s.Security.SuperUsers = append(s.Security.SuperUsers, u)
	}
	switch v := strings.ToLower(get("allow.everyone.if.no.acl.found")); v {
	case "true":
		s.Security.AllowEveryoneIfNoACLFound = true
	case "false":
	default:
		return fmt.Errorf("allow.everyone.if.no.acl.found=%q is not true or false", v)
	}
	if !s.Security.AuthorizerEnabled && (len(s.Security.SuperUsers) > 0 || props["allow.everyone.if.no.acl.found"] != "") {
		return errors.New("super.users and allow.everyone.if.no.acl.found need authorizer.class.name=" + StandardAuthorizerClass + ": without an authorizer every client may do everything")
	}
	n, err := strconv.ParseInt(get("sasl.server.max.receive.size"), 10, 32)
	if err != nil || n < 1024 {
		return fmt.Errorf("sasl.server.max.receive.size=%q must be a 32-bit integer >= 1024", get("sasl.server.max.receive.size"))
	}
	s.Security.SASLMaxReceiveSize = int32(n)
	if v := get("sasl.mechanism.inter.broker.protocol"); v != "" && v != "GSSAPI" && !knownMechLower(strings.ToLower(v)) {
		return fmt.Errorf("sasl.mechanism.inter.broker.protocol=%s: not a supported mechanism", v)
	}
	return nil
}

// checkSecurityKeysApply refuses TLS and SASL settings that no listener would use: an
// operator who sets ssl.client.auth=required on a broker without a TLS listener expects
// client certificates, and must not get a broker that takes anyone.
func checkSecurityKeysApply(ls []ListenerSettings, props map[string]string) error {
	byName := map[string]*ListenerSettings{}
	anyTLS, anySASL := false, false
	for i := range ls {
		byName[strings.ToLower(ls[i].Name)] = &ls[i]
		anyTLS = anyTLS || ls[i].TLSEnabled()
		anySASL = anySASL || ls[i].SASLEnabled()
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		key, tls, sasl := k, anyTLS, anySASL
		where := "no listener uses"
		if rest, ok := strings.CutPrefix(k, "listener.name."); ok {
			name, sub, _ := strings.Cut(rest, ".")
			l := byName[name]
			if l == nil && byName[strings.ToLower(name)] != nil {
				return fmt.Errorf("%s: write the listener name in lower case, as Kafka reads it: listener.name.%s.%s", k, strings.ToLower(name), sub)
			}
			if l == nil {
				return fmt.Errorf("%s: there is no listener %s in listeners", k, strings.ToUpper(name))
			}
			key, tls, sasl = sub, l.TLSEnabled(), l.SASLEnabled()
			where = "listener " + l.Name + " does not use"
			if _, after, ok := strings.Cut(sub, "."); ok && knownMechLower(strings.SplitN(sub, ".", 2)[0]) {
				key = after
			}
		}
		switch {
		case key == "ssl.endpoint.identification.algorithm" || key == "ssl.principal.mapping.rules" || key == "ssl.protocol" || key == "ssl.enabled.protocols":
			// Harmless without TLS (and validated above).
		case strings.HasPrefix(key, "ssl.") && !tls:
			return fmt.Errorf("%s is set but %s SSL or SASL_SSL: add a TLS listener or remove it", k, where)
		case strings.HasPrefix(key, "sasl.") && key != "sasl.mechanism.inter.broker.protocol" && !sasl:
			return fmt.Errorf("%s is set but %s SASL_PLAINTEXT or SASL_SSL: add a SASL listener or remove it", k, where)
		}
	}
	return nil
}

func knownMechLower(m string) bool {
	switch m {
	case "plain", "scram-sha-256", "scram-sha-512":
		return true
	}
	return false
}

func splitSecurityList(v, sep string) []string {
	var out []string
	for _, p := range strings.Split(v, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

type listenerAddr struct{ name, addr string }

// parseListenerList reads "NAME://host:port,NAME2://host:port" (a bare host:port is a
// PLAINTEXT listener). Names are unique and upper case.
func parseListenerList(v string) ([]listenerAddr, error) {
	var out []listenerAddr
	seen := map[string]bool{}
	for _, part := range splitSecurityList(v, ",") {
		name := ProtocolPlaintext
		rest := part
		if i := strings.Index(part, "://"); i >= 0 {
			name, rest = strings.ToUpper(part[:i]), part[i+3:]
		}
		if name == "" {
			return nil, fmt.Errorf("%q has an empty listener name", part)
		}
		host, port, err := net.SplitHostPort(rest)
		if err != nil {
			return nil, fmt.Errorf("%q is not NAME://host:port: %w", part, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return nil, fmt.Errorf("%q: bad port %q", part, port)
		}
		if seen[name] {
			return nil, fmt.Errorf("listener name %s appears twice", name)
		}
		seen[name] = true
		out = append(out, listenerAddr{name: name, addr: net.JoinHostPort(host, port)})
	}
	if len(out) == 0 {
		return nil, errors.New("no listener given")
	}
	return out, nil
}
