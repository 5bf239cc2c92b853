package brokerlite

// Listeners: one net.Listener per entry of `listeners`, each with its security protocol.
// A connection on a TLS listener completes its handshake before its first request; the
// principal of a connection comes from its client certificate (SSL), its SASL exchange
// (SASL_*), or is User:ANONYMOUS. Metadata, FindCoordinator and DescribeCluster answer each
// connection with the advertised address of the listener it came in on, as Kafka does.

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rivulet-io/rivulet/brokerlite/auth"
)

// listener is one bound listener.
type listener struct {
	ListenerSettings
	ln        net.Listener
	tlsConfig *tls.Config
	host      string // advertised host
	port      int32  // advertised port
}

// tlsHandshakeTimeout bounds a client's TLS handshake, so a silent client cannot hold a
// connection forever before its first request.
const tlsHandshakeTimeout = 10 * time.Second

// bindListeners binds every listener. On error the ones already bound are closed.
func (b *Broker) bindListeners() error {
	for _, ls := range b.settings.Listeners {
		l := &listener{ListenerSettings: ls}
		if ls.TLS != nil {
			cfg, err := ls.TLS.ServerConfig()
			if err != nil {
				b.closeListeners()
				return fmt.Errorf("brokerlite: listener %s: %w", ls.Name, err)
			}
			l.tlsConfig = cfg
		}
		ln, err := net.Listen("tcp", ls.Addr)
		if err != nil {
			b.closeListeners()
			if isAddrInUse(err) {
				return fmt.Errorf("brokerlite: listen on %s: address already in use: another broker on %s? pass --override listeners=%s://%s: %w",
					ls.Addr, ls.Addr, ls.Name, nextPort(ls.Addr), err)
			}
			return fmt.Errorf("brokerlite: listen on %s (listener %s): %w", ls.Addr, ls.Name, err)
		}
		l.ln = ln
		adv := ls.AdvertisedAddr
		if adv == "" {
			adv = ln.Addr().String()
		}
		h, p, _ := net.SplitHostPort(adv)
		if p == "0" {
			_, p, _ = net.SplitHostPort(ln.Addr().String())
		}
		if h == "" || h == "0.0.0.0" || h == "::" {
			if hn, err := os.Hostname(); err == nil {
				h = hn
			}
		}
		pn, _ := strconv.Atoi(p)
		l.host, l.port = h, int32(pn)
		b.listeners = append(b.listeners, l)
		b.warnOpenListener(l)
	}
	b.ln = b.listeners[0].ln
	b.host, b.port = b.listeners[0].host, b.listeners[0].port
	return nil
}

func (b *Broker) closeListeners() {
	for _, l := range b.listeners {
		_ = l.ln.Close()
	}
}

// warnOpenListener logs a warning for a listener reachable beyond this machine that does
// not authenticate its clients, or that takes PLAIN passwords without TLS.
func (b *Broker) warnOpenListener(l *listener) {
	host, _, _ := net.SplitHostPort(l.ln.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return
	}
	if l.Protocol == ProtocolSASLPlaintext {
		for _, m := range l.SASLMechanisms {
			if m == "PLAIN" {
				b.logger.Warn("listener takes PLAIN passwords without TLS from beyond this machine: they cross the network in clear (use SASL_SSL, or SCRAM)",
					"listener", l.Name, "addr", l.ln.Addr().String())
			}
		}
	}
	authenticated := l.SASLEnabled() || (l.TLS != nil && l.TLS.ClientAuth == auth.ClientAuthRequired)
	if authenticated {
		return
	}
	b.logger.Warn("listener is reachable beyond this machine without authentication: anyone who can connect may read and write every topic"+
		" (use SASL_SSL or SASL_PLAINTEXT, or SSL with ssl.client.auth=required, with authorizer.class.name)",
		"listener", l.Name, "protocol", l.Protocol, "addr", l.ln.Addr().String())
}

// ListenerAddr returns the bound address of the named listener (as in `listeners`), or ""
// when there is no such listener.
func (b *Broker) ListenerAddr(name string) string {
	for _, l := range b.listeners {
		if l.Name == name {
			return l.ln.Addr().String()
		}
	}
	return ""
}

// ListenerAddrs returns every listener as NAME://host:port with its bound address, in the
// order of `listeners`.
func (b *Broker) ListenerAddrs() []string {
	out := make([]string, 0, len(b.listeners))
	for _, l := range b.listeners {
		out = append(out, l.Name+"://"+l.ln.Addr().String())
	}
	return out
}

// connSecurity is what a connection's security layer knows about it.
type connSecurity struct {
	listener *listener
	// principal is "User:<name>" once known (TLS certificate or SASL), else anonymous.
	principal string
	host      string // the client's IP, for ACL host matching
	// SASL state: handshake picked mechanism; authenticated once the exchange succeeded.
	mechanism     string
	authenticated bool
	scram         *auth.ScramConversation
	authFailed    bool // the SASL exchange failed: the next request closes the connection
}

// Principal returns the connection's principal (User:ANONYMOUS when unauthenticated).
func (c *ConnInfo) Principal() string {
	if c.sec.principal == "" {
		return auth.AnonymousPrincipal
	}
	return c.sec.principal
}

// aclHost spells a client address as Kafka compares it with the host of an ACL (Java's
// InetAddress.getHostAddress): IPv4 dotted, IPv6 as eight hexadecimal groups without
// leading zeros and without "::" compression (2001:db8:0:0:0:0:0:9), so that an ACL written
// for Kafka matches the same clients here. A zone (fe80::1%eth0) is kept after a "%".
func aclHost(host string) string {
	addr, zone, _ := strings.Cut(host, "%")
	ip := net.ParseIP(addr)
	if ip == nil {
		return host
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	var sb strings.Builder
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(strconv.FormatUint(uint64(ip[i])<<8|uint64(ip[i+1]), 16))
	}
	if zone != "" {
		sb.WriteString("%" + zone)
	}
	return sb.String()
}

// secureConn prepares a new connection of listener l: the TLS handshake (bounded by
// tlsHandshakeTimeout) and the principal of the client certificate. It returns the
// connection to serve, or false when the handshake failed (logged).
func (b *Broker) secureConn(ctx context.Context, c net.Conn, l *listener, info *ConnInfo, log *slog.Logger) (net.Conn, bool) {
	info.sec.listener = l
	if host, _, err := net.SplitHostPort(info.Remote.String()); err == nil {
		info.sec.host = aclHost(host)
	}
	if l == nil || l.tlsConfig == nil {
		return c, true
	}
	tc := tls.Server(c, l.tlsConfig)
	hctx, cancel := context.WithTimeout(ctx, tlsHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		log.Info("TLS handshake failed; closing connection", "listener", l.Name, "err", err)
		return nil, false
	}
	if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
		info.sec.principal = auth.CertPrincipal(certs[0])
	}
	return tc, true
}

// maxFrame is the largest request frame the connection may send next: on a SASL listener,
// before authentication, sasl.server.max.receive.size (Kafka's bound on what an
// unauthenticated client may make the broker read); else socket.request.max.bytes.
func (b *Broker) maxFrame(info *ConnInfo) int32 {
	if l := info.sec.listener; l != nil && l.SASLEnabled() && !info.sec.authenticated {
		return min(b.settings.Security.SASLMaxReceiveSize, b.settings.SocketRequestMax)
	}
	return b.settings.SocketRequestMax
}

// advertisedFor is the host and port a client on this connection is told to connect to: the
// advertised address of the listener it came in on.
func (b *Broker) advertisedFor(info *ConnInfo) (string, int32) {
	if info != nil && info.sec.listener != nil {
		return info.sec.listener.host, info.sec.listener.port
	}
	return b.host, b.port
}
