package brokerlite

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// acceptLoop accepts connections until the listener closes. Each connection gets one
// goroutine, owned by the broker's WaitGroup.
func (b *Broker) acceptLoop(l *listener) {
	defer b.wg.Done()
	var delay time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if b.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary failures (EMFILE...): back off as net/http does, never spin.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			b.logger.Warn("accept failed; retrying", "err", err, "in", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-b.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		ip, err := b.limits.admit(c.RemoteAddr())
		if err != nil {
			if b.limits.shouldLogRefusal() {
				b.logger.Warn("refusing connection", "client", c.RemoteAddr().String(), "err", err)
			}
			_ = c.Close()
			continue
		}
		b.connMu.Lock()
		if b.closing {
			b.connMu.Unlock()
			b.limits.leave(ip)
			_ = c.Close()
			return
		}
		b.conns[c] = struct{}{}
		b.wg.Add(1)
		b.connMu.Unlock()
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
			if n := b.settings.SocketSendBuffer; n > 0 {
				_ = tc.SetWriteBuffer(n)
			}
			if n := b.settings.SocketReceiveBuffer; n > 0 {
				_ = tc.SetReadBuffer(n)
			}
		}
		go func() {
			defer b.wg.Done()
			b.serveConn(b.ctx, c, l)
			b.connMu.Lock()
			delete(b.conns, c)
			b.connMu.Unlock()
			b.limits.leave(ip)
		}()
	}
}

// frameBufPool holds request frame buffers; frames above maxPooledFrame are not kept.
var frameBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

const maxPooledFrame = 4 << 20

// maxPipelined bounds the answers a connection may have waiting to be written (for
// example produce requests waiting for their fsync).
const maxPipelined = 16

// serveConn runs one client connection with two goroutines: this one reads each request
// and runs its handler, in order, one at a time; a writer goroutine writes the answers in
// the same order. A handler may answer with a pendingResponse (acks=-1 produce): the
// writer waits for it (the fsync) while this goroutine goes on with the next request, so
// the requests a client pipelines share fsyncs (group commit) instead of paying one each.
// Answers still leave in request order, as Kafka guarantees. serveConn returns, after its
// writer has stopped, when the client goes away, on a protocol error (after a log line),
// or when ctx ends.
func (b *Broker) serveConn(ctx context.Context, c net.Conn, l *listener) {
	defer c.Close()
	info := &ConnInfo{Remote: c.RemoteAddr(), recordBufs: make(chan []byte, 2)} // a few free Fetch buffers, not one per pipelined request
	log := b.logger.With("client", info.Remote.String())
	c, ok := b.secureConn(ctx, c, l, info, log) // TLS handshake and principal (listeners.go)
	if !ok {
		return
	}
	w := &connWriter{c: c, log: log, ctx: ctx, info: info, items: make(chan outItem, maxPipelined), free: make(chan []byte, maxPipelined+1), done: make(chan struct{}),
		b: b, drained: make(chan struct{}, 1), idle: time.Duration(b.settings.Limits.ConnectionsMaxIdleMs) * time.Millisecond}
	dr := &deadlineReader{c: c, idle: w.idle, stall: time.Duration(b.settings.Limits.RequestReadTimeoutMs) * time.Millisecond,
		busy: func() bool { return w.queued.Load() > 0 }}
	r := bufio.NewReaderSize(dr, 64<<10)
	go w.run()
	defer func() {
		// Let the writer send what is queued, but never wait forever on a client that
		// stopped reading.
		t := time.AfterFunc(10*time.Second, func() { _ = c.Close() })
		defer t.Stop()
		close(w.items)
		<-w.done
	}()
	maxQueued := b.settings.Limits.ConnectionQueuedMaxResponseBytes
	for {
		// A client that does not read its answers does not get more requests read.
		for w.queued.Load() >= maxQueued {
			select {
			case <-w.drained:
			case <-w.done:
				return
			case <-ctx.Done():
				return
			}
		}
		bufp := frameBufPool.Get().(*[]byte)
		frame, gated, err := b.readRequestFrame(ctx, r, dr, (*bufp)[:0], b.maxFrame(info)) // smaller before SASL authentication (listeners.go)
		if err != nil {
			putFrameBuf(bufp, frame)
			switch {
			case errors.Is(err, errIdle):
				log.Debug("closing idle connection", "err", err)
			case !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil && !w.failed.Load():
				log.Warn("closing connection", "err", err)
			}
			return
		}
		corr, kresp, err := b.dispatchFrame(ctx, info, frame)
		b.limits.reqGate.release(gated)
		if err != nil {
			b.releaseReserved(info)
			putFrameBuf(bufp, frame)
			if ctx.Err() == nil {
				log.Warn("closing connection", "err", err)
			}
			return
		}
		if kresp == nil { // acks=0
			b.releaseReserved(info)
			putFrameBuf(bufp, frame)
			continue
		}
		item := outItem{corr: corr}
		if pr, ok := kresp.(*pendingResponse); ok {
			item.pending = pr
		} else if fr, ok := kresp.(*kmsg.FetchResponse); ok && info.heldBuf != nil {
			// The records stay in their buffer and go to the socket from there.
			item.frame, item.bufs = encodeFetchSpliced(w.buffer(), corr, fr)
			item.recBuf = info.heldBuf
		} else {
			// Encode now: the response may point into buffers the next request reuses (the
			// request frame).
			item.frame = encodeResponse(w.buffer(), corr, kresp)
		}
		info.heldBuf = nil
		putFrameBuf(bufp, frame)
		item.size = item.bytes()
		w.queued.Add(item.size)
		b.answerQueued(info, item.size)
		select {
		case w.items <- item:
		case <-w.done:
			w.queued.Add(-item.size)
			b.answerWritten(item.size)
			return // the writer failed; the connection is closed
		}
	}
}

func putFrameBuf(bufp *[]byte, frame []byte) {
	if cap(frame) <= maxPooledFrame {
		*bufp = frame[:0]
		frameBufPool.Put(bufp)
	}
}

// pendingResponse is an answer that is not ready when its handler returns: the writer calls
// wait (which may block, for an fsync, and may change the response) before encoding it.
// Handlers use it for work that later requests on the connection may overlap with.
type pendingResponse struct {
	kmsg.Response
	wait func()
}

// outItem is one answer queued for the writer: an encoded frame (or, for a spliced Fetch
// answer, the buffers to write, frame being the encode buffer they point into), or a
// pending response.
type outItem struct {
	corr    int32
	frame   []byte
	bufs    net.Buffers
	recBuf  []byte // a Fetch answer's records buffer, recycled after the write
	pending *pendingResponse
	size    int64 // the memory it holds, as counted in the connection's and broker's limits
}

// pendingAnswerBytes is what a pending answer (a produce acknowledgement) is counted as.
const pendingAnswerBytes = 512

// bytes is the memory an answer holds until it is written.
func (it *outItem) bytes() int64 {
	if it.pending != nil {
		return pendingAnswerBytes
	}
	return int64(cap(it.frame) + cap(it.recBuf))
}

// connWriter writes a connection's answers in order, coalescing the ones that are ready
// into one writev.
type connWriter struct {
	c      net.Conn
	log    *slog.Logger
	ctx    context.Context
	info   *ConnInfo
	items  chan outItem
	free   chan []byte // encode buffers to reuse
	done   chan struct{}
	failed atomic.Bool

	b *Broker
	// queued is the bytes of answers given to the writer and not yet written; drained
	// tells the reader it went down.
	queued  atomic.Int64
	drained chan struct{}
	idle    time.Duration // connections.max.idle.ms: the longest a write may make no progress
}

// buffer returns an empty encode buffer.
func (w *connWriter) buffer() []byte {
	select {
	case b := <-w.free:
		return b[:0]
	default:
		return make([]byte, 0, 4096)
	}
}

func (w *connWriter) recycle(b []byte) {
	if cap(b) > maxPooledFrame {
		return
	}
	select {
	case w.free <- b[:0]:
	default:
	}
}

func (w *connWriter) run() {
	defer close(w.done)
	var batch net.Buffers
	var owned, recBufs [][]byte
	for item := range w.items {
		batch, owned, recBufs = batch[:0], owned[:0], recBufs[:0]
		var size int64
		add := func(it outItem) {
			size += it.size
			if it.pending != nil {
				it.pending.wait()
				it.frame = encodeResponse(w.buffer(), it.corr, it.pending.Response)
			}
			if it.bufs != nil {
				batch = append(batch, it.bufs...)
			} else {
				batch = append(batch, it.frame)
			}
			owned = append(owned, it.frame)
			if it.recBuf != nil {
				recBufs = append(recBufs, it.recBuf)
			}
		}
		add(item)
		// Coalesce whatever else is already queued (without waiting for more).
	more:
		for len(batch) < maxPipelined {
			select {
			case it, ok := <-w.items:
				if !ok {
					break more
				}
				add(it)
			default:
				break more
			}
		}
		if w.failed.Load() {
			w.written(size)
			continue // drain: the connection is closed
		}
		// A client that reads nothing for connections.max.idle.ms is gone, or hostile.
		_ = w.c.SetWriteDeadline(time.Now().Add(w.idle))
		if _, err := batch.WriteTo(w.c); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				w.log.Warn("closing connection: the client read no answer for connections.max.idle.ms", "idle", w.idle, "queued.bytes", w.queued.Load())
				// Reset rather than close: a FIN would wait behind the unread answers in
				// the socket buffer for as long as the client keeps not reading.
				if tc, ok := w.c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
			} else if w.ctx.Err() == nil {
				w.log.Debug("write failed; closing connection", "err", err)
			}
			w.failed.Store(true)
			_ = w.c.Close() // unblocks the reader
		}
		for _, b := range owned {
			w.recycle(b)
		}
		for _, b := range recBufs {
			w.info.recycleRecordBuf(b)
		}
		w.written(size)
	}
}

// written accounts answers of size bytes written (or dropped) and wakes the reader.
func (w *connWriter) written(size int64) {
	w.queued.Add(-size)
	w.b.answerWritten(size)
	select {
	case w.drained <- struct{}{}:
	default:
	}
}

// spliceMagic starts the placeholders encodeFetchSpliced puts where records go; random, so
// that no other bytes of an answer match it.
var spliceMagic = func() (m [12]byte) {
	_, _ = rand.Read(m[:])
	return m
}()

const spliceMarkLen = 16

func spliceMark(i int) []byte {
	m := make([]byte, spliceMarkLen)
	copy(m, spliceMagic[:])
	binary.BigEndian.PutUint32(m[12:], uint32(i))
	return m
}

// encodeFetchSpliced encodes a Fetch answer whose records are not copied into the frame:
// each partition's records are replaced by a placeholder, the answer is encoded (small),
// and the result is cut at the placeholders into buffers that point at the records where
// they are, ready for one writev. It returns the encode buffer and the buffers to write (nil
// when there was nothing to splice; then frame is the whole answer).
func encodeFetchSpliced(out []byte, corr int32, resp *kmsg.FetchResponse) ([]byte, net.Buffers) {
	var recs [][]byte
	for ti := range resp.Topics {
		for pi := range resp.Topics[ti].Partitions {
			p := &resp.Topics[ti].Partitions[pi]
			if len(p.RecordBatches) > 0 {
				recs = append(recs, p.RecordBatches)
				p.RecordBatches = spliceMark(len(recs) - 1)
			}
		}
	}
	restore := func() {
		i := 0
		for ti := range resp.Topics {
			for pi := range resp.Topics[ti].Partitions {
				p := &resp.Topics[ti].Partitions[pi]
				if len(p.RecordBatches) > 0 {
					p.RecordBatches = recs[i]
					i++
				}
			}
		}
	}
	if len(recs) == 0 {
		return encodeResponse(out, corr, resp), nil
	}
	frame := encodeResponse(out, corr, resp)
	flexible := resp.IsFlexible()
	lens := make([]byte, 0, 5*len(recs)) // never reallocated: the slices below point into it
	bufs := make(net.Buffers, 0, 3*len(recs)+1)
	total := len(frame) - 4
	cursor := 0
	for i, r := range recs {
		mark := spliceMark(i)
		at := bytes.Index(frame[cursor:], mark)
		ok := at >= 0
		at += cursor
		prefix := 4
		if flexible {
			prefix = 1 // uvarint(16+1)
			ok = ok && at >= cursor+1 && frame[at-1] == spliceMarkLen+1
		} else {
			ok = ok && at >= cursor+4 && binary.BigEndian.Uint32(frame[at-4:]) == spliceMarkLen
		}
		if !ok {
			// Cannot happen unless the encoding changes; fall back to a plain copy.
			restore()
			return encodeResponse(frame[:0], corr, resp), nil
		}
		bufs = append(bufs, frame[cursor:at-prefix])
		start := len(lens)
		if flexible {
			lens = binary.AppendUvarint(lens, uint64(len(r))+1)
		} else {
			lens = binary.BigEndian.AppendUint32(lens, uint32(len(r)))
		}
		bufs = append(bufs, lens[start:], r)
		total += len(lens) - start + len(r) - prefix - spliceMarkLen
		cursor = at + spliceMarkLen
	}
	bufs = append(bufs, frame[cursor:])
	binary.BigEndian.PutUint32(frame, uint32(total))
	restore()
	return frame, bufs
}

// errFrameTooLarge is returned for a frame above socket.request.max.bytes.
var errFrameTooLarge = errors.New("brokerlite: request frame larger than socket.request.max.bytes")

// readFrame reads one size-prefixed request frame into buf.
func readFrame(r *bufio.Reader, buf []byte, maxSize int32) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return buf, err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 0 || n > maxSize {
		return buf, fmt.Errorf("%w: %d bytes (limit %d)", errFrameTooLarge, n, maxSize)
	}
	if n < 8 {
		return buf, fmt.Errorf("brokerlite: request frame of %d bytes is shorter than a request header", n)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return buf, fmt.Errorf("brokerlite: reading request frame: %w", err)
	}
	return buf, nil
}

// requestHeader is the part of a request before its body.
type requestHeader struct {
	key, version int16
	correlation  int32
	clientID     string
}

// handleFrame is dispatchFrame followed by encoding: it appends the response frame to out,
// waiting for a pending response. It returns nil bytes and no error when no reply is due.
func (b *Broker) handleFrame(ctx context.Context, info *ConnInfo, frame []byte, out []byte) ([]byte, error) {
	corr, resp, err := b.dispatchFrame(ctx, info, frame)
	info.heldBuf = nil // encoded (copied) below
	b.releaseReserved(info)
	if err != nil || resp == nil {
		return nil, err
	}
	if pr, ok := resp.(*pendingResponse); ok {
		pr.wait()
		resp = pr.Response
	}
	return encodeResponse(out, corr, resp), nil
}

// dispatchFrame decodes one frame and runs its handler, returning the correlation id and
// the response (nil when no reply is due, acks=0), or an error when the connection must be
// closed. A panic in a handler is recovered here and closes only this connection.
func (b *Broker) dispatchFrame(ctx context.Context, info *ConnInfo, frame []byte) (corr int32, resp kmsg.Response, err error) {
	defer b.metrics.requestStarted(frame)(&err) // metrics.go
	rd := kbin.Reader{Src: frame}
	h := requestHeader{key: rd.Int16(), version: rd.Int16(), correlation: rd.Int32()}
	if cid := rd.NullableString(); cid != nil {
		h.clientID = *cid
	}
	if !rd.Ok() {
		return 0, nil, errors.New("brokerlite: malformed request header")
	}
	info.ClientID = h.clientID

	entry, known := handlers[h.key]
	if !known {
		// Kafka closes the connection on an API key it does not know.
		return 0, nil, fmt.Errorf("brokerlite: unsupported API key %d (version %d, client %q)", h.key, h.version, h.clientID)
	}
	if h.version < entry.min || h.version > entry.max {
		if h.key == int16(kmsg.ApiVersions) {
			// KIP-511: answer an ApiVersions we cannot parse at v0 with UNSUPPORTED_VERSION
			// and our supported list, so the client retries at a version we know.
			r := kmsg.NewPtrApiVersionsResponse()
			r.ErrorCode = kerr.UnsupportedVersion.Code
			r.ApiKeys = apiVersionKeys()
			return h.correlation, r, nil
		}
		return 0, nil, fmt.Errorf("brokerlite: unsupported version %d of %s (supported %d-%d, client %q)",
			h.version, kmsg.NameForKey(h.key), entry.min, entry.max, h.clientID)
	}
	req := kmsg.RequestForKey(h.key)
	if req == nil {
		return 0, nil, fmt.Errorf("brokerlite: API key %d has no request type", h.key)
	}
	req.SetVersion(h.version)
	if req.IsFlexible() {
		kmsg.SkipTags(&rd)
		if !rd.Ok() {
			return 0, nil, errors.New("brokerlite: malformed request header tags")
		}
	}
	body := rd.Src
	if pr, ok := req.(*kmsg.ProduceRequest); ok {
		// Produce aliases the frame: the records go to the log without a copy. The handler
		// must copy anything it keeps (topic names of auto-created topics).
		err = pr.UnsafeReadFrom(body)
	} else {
		err = req.ReadFrom(body)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("brokerlite: malformed %s v%d request: %w", kmsg.NameForKey(h.key), h.version, err)
	}

	kresp, err := b.callSecured(ctx, entry.fn, info, req) // authentication and ACLs (security.go)
	if err != nil || kresp == nil {
		return 0, nil, err
	}
	kresp.SetVersion(h.version)
	return h.correlation, kresp, nil
}

// recoverHandlerPanics is turned off by the fuzz tests, so that a panic in a handler fails
// them instead of being logged.
var recoverHandlerPanics = true

// callHandler runs a handler, turning a panic into an error that closes the connection.
func (b *Broker) callHandler(ctx context.Context, fn handlerFunc, info *ConnInfo, req kmsg.Request) (resp kmsg.Response, err error) {
	defer func() {
		if !recoverHandlerPanics {
			return
		}
		if p := recover(); p != nil {
			b.logger.Error("handler panicked; closing the connection", "api", kmsg.NameForKey(req.Key()),
				"version", req.GetVersion(), "client", info.Remote.String(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp, err = nil, fmt.Errorf("brokerlite: %s handler failed: %v", kmsg.NameForKey(req.Key()), p)
		}
	}()
	return fn(ctx, b, info, req)
}

// encodeResponse appends a response frame: size, correlation id, the header's tagged fields
// for flexible responses (response header v1; ApiVersions always uses header v0), body.
func encodeResponse(out []byte, correlation int32, resp kmsg.Response) []byte {
	start := len(out)
	out = append(out, 0, 0, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(out[start+4:], uint32(correlation))
	if resp.IsFlexible() && resp.Key() != int16(kmsg.ApiVersions) {
		out = append(out, 0)
	}
	out = resp.AppendTo(out)
	binary.BigEndian.PutUint32(out[start:], uint32(len(out)-start-4))
	return out
}

// logAttrs is a helper for handlers that log about a request.
func logAttrs(info *ConnInfo) []any {
	if info == nil || info.Remote == nil {
		return []any{slog.String("client", "internal")}
	}
	return []any{slog.String("client", info.Remote.String()), slog.String("client.id", info.ClientID)}
}
