package brokerlite

// Memory and connection limits: what one client, or many, may make the broker hold.
//
//   - queued.max.request.bytes bounds the bytes of request frames read and not yet handled,
//     broker-wide (Kafka's meaning). A connection whose next frame does not fit waits before
//     reading its body.
//   - fetch.max.bytes caps a Fetch answer whatever the client asks (Kafka's broker property).
//   - queued.max.response.bytes bounds the bytes of answers built and not yet written,
//     broker-wide; while it is used up a Fetch answer carries only its first batch (KIP-74),
//     so every consumer still makes progress.
//   - connection.queued.max.response.bytes bounds the answers waiting on one connection: a
//     client that stops reading stops having its requests read (and so its Fetch requests
//     answered), instead of making the broker hold its answers.
//   - max.connections, max.connections.per.ip(.overrides): a connection over a limit is
//     closed as soon as it is accepted; established connections are not affected.
//   - connections.max.idle.ms closes a connection with nothing to read and nothing to write
//     for that long; request.read.timeout.ms closes one whose request frame stops arriving.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// limitKeys are the broker properties of this file; brokerKeys includes them.
var limitKeys = []ConfigKey{
	{Name: "queued.max.request.bytes", Default: "-1", Doc: "bytes of request frames read and not yet handled, broker-wide; a connection waits before reading a frame that does not fit; -1 for no limit", ReadOnly: true},
	{Name: "fetch.max.bytes", Default: "57671680", Doc: "largest Fetch answer the broker builds, whatever the client asks (the first batch still comes whole)", ReadOnly: true},
	{Name: "queued.max.response.bytes", Default: "134217728", Doc: "Rivulet: bytes of answers built and not yet written, broker-wide; while used up, Fetch answers carry their first batch only; -1 for no limit", ReadOnly: true},
	{Name: "connection.queued.max.response.bytes", Default: "16777216", Doc: "Rivulet: bytes of answers waiting to be written on one connection; above it the connection's next request is read only once the client reads", ReadOnly: true},
	{Name: "max.connections", Default: "2147483647", Doc: "client connections the broker accepts; one over it is closed at once", ReadOnly: true},
	{Name: "max.connections.per.ip", Default: "2147483647", Doc: "client connections from one IP address; one over it is closed at once", ReadOnly: true},
	{Name: "max.connections.per.ip.overrides", Default: "", Doc: "per-IP exceptions to max.connections.per.ip, as ip:count,ip:count", ReadOnly: true},
	{Name: "connections.max.idle.ms", Default: "600000", Doc: "a connection with nothing read and nothing written for this long is closed", ReadOnly: true},
	{Name: "request.read.timeout.ms", Default: "30000", Doc: "Rivulet: a connection whose request frame stops arriving for this long is closed", ReadOnly: true},
	{Name: "num.recovery.threads.per.data.dir", Default: "8", Doc: "threads that open (recovering if needed) and close the partition logs of each log dir at start and shutdown (Rivulet default 8, Kafka's 1: both are bound by fsync latency)", ReadOnly: true},
}

// Limits are the parsed memory and connection limits (see limitKeys). A value <= 0 means no
// limit where the property allows -1.
type Limits struct {
	QueuedMaxRequestBytes            int64            // queued.max.request.bytes
	FetchMaxBytes                    int32            // fetch.max.bytes
	QueuedMaxResponseBytes           int64            // queued.max.response.bytes
	ConnectionQueuedMaxResponseBytes int64            // connection.queued.max.response.bytes
	MaxConnections                   int64            // max.connections
	MaxConnectionsPerIP              int64            // max.connections.per.ip
	MaxConnectionsPerIPOverrides     map[string]int64 // max.connections.per.ip.overrides, by IP
	ConnectionsMaxIdleMs             int64            // connections.max.idle.ms
	RequestReadTimeoutMs             int64            // request.read.timeout.ms
	RecoveryThreadsPerDataDir        int32            // num.recovery.threads.per.data.dir
}

func parseLimits(p *settingsParser) Limits {
	l := Limits{
		QueuedMaxRequestBytes:            p.int64("queued.max.request.bytes"),
		FetchMaxBytes:                    p.int32("fetch.max.bytes"),
		QueuedMaxResponseBytes:           p.int64("queued.max.response.bytes"),
		ConnectionQueuedMaxResponseBytes: p.int64("connection.queued.max.response.bytes"),
		MaxConnections:                   p.int64("max.connections"),
		MaxConnectionsPerIP:              p.int64("max.connections.per.ip"),
		ConnectionsMaxIdleMs:             p.int64("connections.max.idle.ms"),
		RequestReadTimeoutMs:             p.int64("request.read.timeout.ms"),
		RecoveryThreadsPerDataDir:        p.int32("num.recovery.threads.per.data.dir"),
	}
	if l.RecoveryThreadsPerDataDir < 1 {
		p.fail(fmt.Errorf("num.recovery.threads.per.data.dir must be >= 1, got %d", l.RecoveryThreadsPerDataDir))
	}
	if l.QueuedMaxRequestBytes == 0 || l.QueuedMaxRequestBytes < -1 {
		p.fail(fmt.Errorf("queued.max.request.bytes must be -1 or > 0, got %d", l.QueuedMaxRequestBytes))
	}
	if l.QueuedMaxResponseBytes == 0 || l.QueuedMaxResponseBytes < -1 {
		p.fail(fmt.Errorf("queued.max.response.bytes must be -1 or > 0, got %d", l.QueuedMaxResponseBytes))
	}
	for _, m := range []struct {
		key      string
		v, least int64
	}{
		{"fetch.max.bytes", int64(l.FetchMaxBytes), 1024},
		{"connection.queued.max.response.bytes", l.ConnectionQueuedMaxResponseBytes, 1},
		{"max.connections", l.MaxConnections, 1},
		{"max.connections.per.ip", l.MaxConnectionsPerIP, 1},
		{"connections.max.idle.ms", l.ConnectionsMaxIdleMs, 1},
		{"request.read.timeout.ms", l.RequestReadTimeoutMs, 1},
	} {
		if m.v < m.least {
			p.fail(fmt.Errorf("%s must be >= %d, got %d", m.key, m.least, m.v))
		}
	}
	v, _ := p.s.value("max.connections.per.ip.overrides")
	ov, err := parseIPOverrides(v)
	if err != nil {
		p.fail(fmt.Errorf("max.connections.per.ip.overrides: %w", err))
	}
	l.MaxConnectionsPerIPOverrides = ov
	return l
}

// parseIPOverrides reads "ip:count,ip:count" (an IPv6 address may be in brackets).
func parseIPOverrides(v string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := strings.LastIndex(part, ":")
		if i <= 0 {
			return nil, fmt.Errorf("%q is not ip:count", part)
		}
		host := strings.Trim(part[:i], "[]")
		n, err := strconv.ParseInt(strings.TrimSpace(part[i+1:]), 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q: count must be an integer >= 0", part)
		}
		ip := net.ParseIP(host)
		if ip == nil {
			return nil, fmt.Errorf("%q: %q is not an IP address (host names are not resolved)", part, host)
		}
		out[ip.String()] = n
	}
	return out, nil
}

// limiter holds the broker's live counters for its limits.
type limiter struct {
	cfg Limits

	reqGate byteGate // queued.max.request.bytes

	// respQueued is the bytes of answers built (or reserved by a Fetch being built) and not
	// yet written, broker-wide.
	respQueued atomic.Int64
	// bigAnswerAt (unix ns) and respPeak drive releaseMemory.
	bigAnswerAt atomic.Int64
	respPeak    atomic.Int64

	connMu sync.Mutex
	conns  int64
	perIP  map[string]int64
	// refusedLogAt rate-limits the log line about refused connections.
	refusedLogAt time.Time
}

func newLimiter(cfg Limits) *limiter {
	l := &limiter{cfg: cfg, perIP: map[string]int64{}}
	l.reqGate.limit = cfg.QueuedMaxRequestBytes
	l.reqGate.changed = make(chan struct{})
	return l
}

// admit counts a new connection from addr, or says why it is refused.
func (l *limiter) admit(addr net.Addr) (string, error) {
	ip := ipOf(addr)
	l.connMu.Lock()
	defer l.connMu.Unlock()
	if l.conns >= l.cfg.MaxConnections {
		return ip, fmt.Errorf("brokerlite: max.connections (%d) reached", l.cfg.MaxConnections)
	}
	limit := l.cfg.MaxConnectionsPerIP
	if n, ok := l.cfg.MaxConnectionsPerIPOverrides[ip]; ok {
		limit = n
	}
	if l.perIP[ip] >= limit {
		return ip, fmt.Errorf("brokerlite: max.connections.per.ip (%d) reached for %s", limit, ip)
	}
	l.conns++
	l.perIP[ip]++
	return ip, nil
}

// leave uncounts a connection admitted from ip.
func (l *limiter) leave(ip string) {
	l.connMu.Lock()
	l.conns--
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
	l.connMu.Unlock()
}

// shouldLogRefusal is true at most once a second, so a flood of refused connections does not
// flood the log.
func (l *limiter) shouldLogRefusal() bool {
	l.connMu.Lock()
	defer l.connMu.Unlock()
	if now := time.Now(); now.Sub(l.refusedLogAt) >= time.Second {
		l.refusedLogAt = now
		return true
	}
	return false
}

func ipOf(addr net.Addr) string {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

// fetchMaxBytes is the size limit of a Fetch answer asking for maxBytes: at least 1 and at
// most fetch.max.bytes.
func (b *Broker) fetchMaxBytes(maxBytes int32) int32 {
	want := max(maxBytes, 1)
	if fm := b.limits.cfg.FetchMaxBytes; fm > 0 && want > fm {
		want = fm
	}
	return want
}

// fetchBudget returns the bytes a Fetch asking for maxBytes may build, and reserves them in
// queued.max.response.bytes (the connection's writer gives back what the answer does not
// use). With the broker-wide budget used up, the answer carries its first batch only.
func (b *Broker) fetchBudget(conn *ConnInfo, maxBytes int32) int32 {
	want := b.fetchMaxBytes(maxBytes)
	limit := b.limits.cfg.QueuedMaxResponseBytes
	if limit <= 0 {
		return want
	}
	for {
		used := b.limits.respQueued.Load()
		n := int64(want)
		if avail := limit - used; avail < n {
			n = max(avail, 1)
		}
		if b.limits.respQueued.CompareAndSwap(used, used+n) {
			conn.reserved += n
			return int32(n)
		}
	}
}

// answerQueued accounts an answer of size bytes queued on a connection, in place of what
// its handler reserved.
func (b *Broker) answerQueued(conn *ConnInfo, size int64) {
	total := b.limits.respQueued.Add(size - conn.reserved)
	conn.reserved = 0
	if size >= 1<<20 {
		b.limits.bigAnswerAt.Store(time.Now().UnixNano())
	}
	for {
		p := b.limits.respPeak.Load()
		if total <= p || b.limits.respPeak.CompareAndSwap(p, total) {
			break
		}
	}
}

// releaseReserved gives back a reservation whose answer was not queued.
func (b *Broker) releaseReserved(conn *ConnInfo) {
	if conn.reserved != 0 {
		b.limits.respQueued.Add(-conn.reserved)
		conn.reserved = 0
	}
}

// keepReserved sets the reservation of the request being handled to n bytes: a Fetch
// parked in a long poll holds the records it has read, not the room it may fill.
func (b *Broker) keepReserved(conn *ConnInfo, n int64) {
	b.limits.respQueued.Add(n - conn.reserved)
	conn.reserved = n
}

// answerWritten accounts answers of size bytes written (or dropped).
func (b *Broker) answerWritten(size int64) { b.limits.respQueued.Add(-size) }

// releaseMemoryAfterBursts returns the memory of large answers to the operating system once
// they have been written and no large answer has been built for a while: without it a
// broker that is idle after a burst keeps the burst's memory until its next garbage
// collection, which an idle broker may not run for minutes.
func (b *Broker) releaseMemoryAfterBursts() {
	defer b.wg.Done()
	const quiet = 2 * time.Second
	const burst = 32 << 20
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		if b.limits.respPeak.Load() < burst || b.limits.respQueued.Load() > 0 {
			continue
		}
		if time.Since(time.Unix(0, b.limits.bigAnswerAt.Load())) < quiet {
			continue
		}
		b.limits.respPeak.Store(0)
		debug.FreeOSMemory()
	}
}

// byteGate is a counting semaphore over bytes; a limit <= 0 admits everything.
type byteGate struct {
	limit   int64
	mu      sync.Mutex
	used    int64
	changed chan struct{} // closed and replaced on each release
}

// acquire takes n bytes (at most the whole limit, so a frame larger than the limit still
// runs, alone), waiting until they fit or ctx ends. It returns what it took.
func (g *byteGate) acquire(ctx context.Context, n int64) (int64, error) {
	if g.limit <= 0 {
		return 0, nil
	}
	n = min(n, g.limit)
	for {
		g.mu.Lock()
		if g.used+n <= g.limit {
			g.used += n
			g.mu.Unlock()
			return n, nil
		}
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (g *byteGate) release(n int64) {
	if n == 0 {
		return
	}
	g.mu.Lock()
	g.used -= n
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
}

// errIdle and errRequestStalled close connections that outlived a timeout.
var (
	errIdle           = errors.New("brokerlite: connection idle for connections.max.idle.ms")
	errRequestStalled = errors.New("brokerlite: request frame stopped arriving for request.read.timeout.ms")
)

// deadlineReader reads a connection with a deadline on every read: connections.max.idle.ms
// while waiting for a request to start (extended while answers are still being written),
// request.read.timeout.ms once a request frame has started.
type deadlineReader struct {
	c        net.Conn
	idle     time.Duration
	stall    time.Duration
	midFrame bool
	busy     func() bool // answers are queued or being written
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	for {
		to := d.idle
		if d.midFrame {
			to = d.stall
		}
		_ = d.c.SetReadDeadline(time.Now().Add(to))
		n, err := d.c.Read(p)
		if err == nil || n > 0 {
			return n, err
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return n, err
		}
		if d.midFrame {
			return n, fmt.Errorf("%w (%v): %w", errRequestStalled, d.stall, err)
		}
		if d.busy() {
			continue // the client is reading answers; it is not idle
		}
		return n, fmt.Errorf("%w (%v): %w", errIdle, d.idle, err)
	}
}

// readRequestFrame reads one request frame into buf: it waits for the frame's first byte
// under connections.max.idle.ms, for the rest under request.read.timeout.ms, and takes the
// frame's size from queued.max.request.bytes before reading its body. It returns what it
// took from the gate, which the caller releases once the request is handled.
func (b *Broker) readRequestFrame(ctx context.Context, r *bufio.Reader, dr *deadlineReader, buf []byte, maxFrame int32) ([]byte, int64, error) {
	dr.midFrame = false
	if _, err := r.Peek(1); err != nil {
		return buf, 0, err
	}
	dr.midFrame = true
	defer func() { dr.midFrame = false }()
	var gated int64
	if b.limits.reqGate.limit > 0 {
		size, err := r.Peek(4)
		if err != nil {
			return buf, 0, err
		}
		n := int64(int32(binary.BigEndian.Uint32(size)))
		if n > 0 && n <= int64(maxFrame) {
			if gated, err = b.limits.reqGate.acquire(ctx, n); err != nil {
				return buf, 0, err
			}
		}
	}
	frame, err := readFrame(r, buf, maxFrame)
	if err != nil {
		b.limits.reqGate.release(gated)
		return frame, 0, err
	}
	return frame, gated, nil
}
