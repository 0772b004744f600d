package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// inBufSize holds a whole TLS record (2^14 bytes of data, 256 of expansion,
// a 5-byte header) and then some, so a record is usually read in one go.
const inBufSize = 18 * 1024

// closeNotifyTimeout bounds how long Close waits to send close_notify.
const closeNotifyTimeout = 5 * time.Second

// Conn is a TLS connection over a net.Conn, run by s2n-tls: the high-level
// API, shaped like crypto/tls.Conn. It implements net.Conn.
//
// s2n runs non-blocking, so no OS thread ever waits inside s2n. Over a
// *net.TCPConn, or a *net.UnixConn on a stream socket, s2n reads and writes
// the socket itself (s2n_connection_set_fd), inside callbacks of the
// socket's syscall.RawConn, and Go's netpoller waits for the socket in
// between (the socket path, see conn_fd.go). Over any other net.Conn,
// bytes move between the net.Conn and s2n in Go, between calls into C:
// s2n's I/O callbacks (s2n_connection_set_recv_cb,
// s2n_connection_set_send_cb) only copy bytes to and from the Conn's
// buffers, which are their context (s2n_connection_set_recv_ctx,
// s2n_connection_set_send_ctx). Deadlines work the same way on both. On
// the socket path, a callback of the connection (a Config's callbacks)
// runs while the socket cannot be closed: it may call the Conn's Close,
// but must not wait for another goroutine's Close of the Conn or of its
// net.Conn, which waits for the callback to return. A handshake
// whose private-key operation is away (see [Config.AddCertChainWithSigner]
// and [Config.SetAsyncPkeyCallback]) parks its goroutine until the
// operation is applied, the context ends, or the deadline passes.
//
// Read and Write may be called concurrently, as with crypto/tls. Close may
// be called at any time from any goroutine.
type Conn struct {
	conn       net.Conn
	config     *Config
	isClient   bool
	serverName string

	c  *Connection
	io *C.go_s2n_io // the in-memory transport; nil on the socket path
	fd *fdPath      // the socket path (conn_fd.go); nil on the in-memory one
	// fdLater: the socket a server moves onto after its handshake
	// (moveToSocket).
	fdLater atomic.Pointer[fdPath]
	err     error // from setting up the s2n connection, reported by Handshake

	handshakeMu   sync.Mutex
	handshakeErr  error
	handshakeDone atomic.Bool

	readMu  sync.Mutex
	writeMu sync.Mutex
	flushMu sync.Mutex // one flusher at a time keeps records in order
	// flushWanted: a Read found flushMu taken (flushFromRead).
	flushWanted atomic.Bool
	closed      atomic.Bool
	closing     atomic.Bool  // set by Close before its close_notify
	closedMu    sync.RWMutex // write-held by Close while it frees C memory

	// sessionOffered: a client offered a session from its Config's
	// ClientSessionCache.
	sessionOffered bool

	// handshakeOnState: accepted from a Listener, so ConnectionState runs
	// the handshake first (see there).
	handshakeOnState bool

	// releaseIdle: Config.SetReleaseBuffersWhenIdle. A Read that waits for
	// the peer with its buffers released reads into idleBuf.
	releaseIdle bool
	idleBuf     [64]byte

	// earlyDone: a server's early data phase is over (conn_early.go;
	// guarded by handshakeMu).
	earlyDone bool
	// pendingIn: plaintext read ahead for Read: a server's early data read
	// by Handshake (written under handshakeMu before handshakeDone), or
	// what the server sent during a renegotiation (conn_renegotiate.go,
	// under readMu). Read takes it under readMu.
	pendingIn []byte

	// ktls: what Config.EnableConnKTLS gave, set before handshakeDone.
	ktls *KTLSStatus

	state      atomic.Pointer[stateSnapshot] // taken when the handshake completes
	deadline   atomic.Int64                  // unix nanos of the key-wait deadline; 0: none
	blindUntil atomic.Int64                  // unix nanos: close the transport no earlier
}

// Client returns a client-side TLS connection over conn. serverName is sent
// as SNI and verified against the server's certificate ("" sends no SNI).
// An IP address is verified against the certificate's IP addresses and not
// sent, as RFC 6066 forbids IP literals in SNI.
// The handshake runs on the first Read or Write, or with Handshake.
func Client(conn net.Conn, config *Config, serverName string) *Conn {
	return newConn(conn, config, true, serverName)
}

// Server returns a server-side TLS connection over conn.
func Server(conn net.Conn, config *Config) *Conn {
	return newConn(conn, config, false, "")
}

func newConn(conn net.Conn, config *Config, isClient bool, serverName string) *Conn {
	c := &Conn{conn: conn, config: config, isClient: isClient, serverName: serverName}
	c.err = c.setup()
	return c
}

func (c *Conn) setup() error {
	if c.conn == nil {
		return usageError(nameInvalidArg, "nil net.Conn")
	}
	mode := ModeServer
	if c.isClient {
		mode = ModeClient
	}
	conn, err := NewConnection(mode)
	if err != nil {
		return err
	}
	steps := []func() error{
		func() error { return conn.SetConfig(c.config) },
		conn.appendConfigPSKs,
		// Blinding is done here with a timer, never by sleeping in C.
		func() error { return conn.SetBlinding(SelfServiceBlinding) },
		func() error { return c.setServerName(conn) },
		func() error { return c.attachTransport(conn) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			conn.Close()
			return err
		}
	}
	conn.s.wake = make(chan struct{}, 1)
	conn.s.netConn = c.conn
	c.c = conn
	c.releaseIdle = c.config.s.releaseIdle // frozen since SetConfig
	c.offerCachedSession()
	return nil
}

// offerCachedSession offers a client the session its Config's
// ClientSessionCache holds for the server (see Config.SetClientSessionCache),
// keyed like crypto/tls: by server name, else by the peer's address.
func (c *Conn) offerCachedSession() {
	cache := c.config.s.clientCache
	if !c.isClient || cache == nil {
		return
	}
	key := c.serverName
	if key == "" && c.conn.RemoteAddr() != nil {
		key = c.conn.RemoteAddr().String()
	}
	if key == "" {
		return
	}
	c.c.s.sessionKey = key
	session, ok := cache.Get(key)
	if !ok || len(session) == 0 {
		return
	}
	if c.c.SetSession(session) != nil {
		cache.Put(key, nil) // unusable: a full handshake, and forget it
		return
	}
	c.sessionOffered = true
}

// cacheSession runs when a client's handshake ends: after a failure with a
// session offered, the cache forgets it (as crypto/tls does, RFC 5077
// section 3.2); after a TLS 1.2 handshake that gave a session ID but no
// ticket, its session state is put there (tickets are put as they arrive).
func (c *Conn) cacheSession(failed bool) {
	s := c.c.s
	cache := c.config.s.clientCache
	if !c.isClient || cache == nil || s.sessionKey == "" {
		return
	}
	if failed {
		if c.sessionOffered {
			cache.Put(s.sessionKey, nil)
		}
		return
	}
	if s.ticketCached.Load() || c.c.ProtocolVersion() > TLS12 {
		return
	}
	if id, err := c.c.SessionID(); err != nil || len(id) == 0 {
		return
	}
	if session, err := c.c.Session(); err == nil && len(session) > 0 {
		cache.Put(s.sessionKey, session)
	}
}

// setServerName sends a client's server name as SNI, for s2n to verify the
// server's certificate against. An IP address is not sent (RFC 6066 allows
// only host names in SNI): the certificate's IP addresses are checked
// against it instead, unless the Config has its own verify-host callback.
func (c *Conn) setServerName(conn *Connection) error {
	if !c.isClient || c.serverName == "" {
		return nil
	}
	ip := net.ParseIP(c.serverName)
	if ip == nil {
		return conn.SetServerName(c.serverName)
	}
	if c.config.s.verifyHost != nil {
		return nil
	}
	return conn.SetVerifyHostCallback(func(name string) bool {
		got := net.ParseIP(name)
		return got != nil && got.Equal(ip)
	})
}

func (c *Conn) attachIO(conn *Connection) error {
	io := C.go_s2n_io_new(inBufSize)
	if io == nil {
		return usageError(nameInvalidArg, "out of memory for I/O buffers")
	}
	err := conn.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_io(p, io, e)
	})
	if err != nil {
		C.go_s2n_io_free(io)
		return err
	}
	// The connection owns the buffers and frees them after s2n: a Close
	// from inside one of its callbacks is deferred until s2n's call, which
	// goes on writing into them, has returned.
	conn.s.io = io
	c.io = io
	return nil
}

// Connection returns the low-level connection, for s2n calls this type does
// not wrap. Do not Negotiate, Send, Recv, Shutdown or Close it directly.
func (c *Conn) Connection() *Connection { return c.c }

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.conn }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// SetDeadline sets the read and write deadlines. It also bounds how long a
// handshake waits for an async private-key operation.
func (c *Conn) SetDeadline(t time.Time) error {
	c.setKeyDeadline(t)
	return c.conn.SetDeadline(t)
}

// SetReadDeadline sets the read deadline; it also bounds the wait for an
// async private-key operation.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.setKeyDeadline(t)
	return c.conn.SetReadDeadline(t)
}

// SetWriteDeadline sets the write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

func (c *Conn) setKeyDeadline(t time.Time) {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	c.deadline.Store(ns)
}

// testHookHandshakeReturned, when set by a test, runs between the end of a
// handshake and the check of its context.
var testHookHandshakeReturned func()

// Handshake runs the handshake if it has not run yet.
func (c *Conn) Handshake() error { return c.HandshakeContext(context.Background()) }

// HandshakeContext runs the handshake if it has not run yet. If ctx ends
// first, the handshake fails with ctx.Err(), the transport is closed (as
// crypto/tls does) and any pending private-key operation is freed. A failed
// handshake is final: later calls return the same error.
func (c *Conn) HandshakeContext(ctx context.Context) error {
	_, err := c.handshakeContext(ctx, nil, false)
	return err
}

// handshakeContext runs the handshake. A server's early data goes into
// early if it is not nil: with n > 0 the handshake is still going on (see
// readEarly); otherwise into the Conn's pendingIn, for Read. With
// earlyOnly, a server's handshake stops once the client's early data is
// over, returning 0 and a nil error (see ReadEarlyData).
func (c *Conn) handshakeContext(ctx context.Context, early []byte, earlyOnly bool) (n int, err error) {
	if c.handshakeDone.Load() {
		return 0, nil
	}
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	if c.handshakeDone.Load() || c.handshakeErr != nil {
		return 0, c.handshakeErr
	}
	if c.err != nil {
		c.handshakeErr = c.err
		return 0, c.err
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() {
			c.conn.Close()
			c.c.s.notify()
		})
	}
	c.c.s.hsCtx = ctx // read by callbacks of this goroutine's Negotiate
	n, err = c.handshake(ctx, early, earlyOnly)
	c.c.s.hsCtx = nil
	if errors.Is(err, errEarlyOver) {
		n, err = 0, nil
	}
	if (n > 0 || earlyOnly) && err == nil { // early data: the handshake goes on later
		if stop != nil {
			stop()
		}
		return n, nil
	}
	if testHookHandshakeReturned != nil {
		testHookHandshakeReturned()
	}
	if stop != nil && !stop() && err == nil {
		// ctx ended just as the handshake completed: the transport is
		// closed already. Report it, as crypto/tls does.
		err = ctx.Err()
	}
	switch {
	case err != nil && ctx.Err() != nil:
		err = ctx.Err()
	case err != nil && c.closed.Load() && !errors.Is(err, net.ErrClosed):
		err = fmt.Errorf("%w: %w", net.ErrClosed, err)
	case err == nil && c.closed.Load():
		// Closed meanwhile (from a callback, on the socket path, the socket
		// is closed by another goroutine, which the handshake may outrun):
		// the handshake did not give a usable connection.
		err = fmt.Errorf("%w: the Conn was closed during its handshake", net.ErrClosed)
	}
	if err == nil {
		if merr := c.moveToSocket(); merr != nil {
			c.failed()
			err = c.wrapErr(merr)
		}
	}
	if err != nil {
		c.handshakeErr = err
		c.abortKeyOps()
		c.cacheSession(true)
		return 0, err
	}
	c.state.Store(&stateSnapshot{facts: c.c.readFacts(), conn: c.c})
	c.cacheSession(false)
	c.enableKTLS() // before FreeHandshake: s2n needs the handshake's state
	// As s2n's own s2nd does: about 3.5 KiB less per connection. Not on a
	// client, whose TLS 1.2 session ticket (Session) is freed with it. Best
	// effort: it fails only when a racing Close has freed everything.
	if !c.isClient {
		_ = c.c.FreeHandshake()
	}
	c.handshakeDone.Store(true)
	return 0, nil
}

// handshake runs the handshake to its end, or on a server until early
// data arrives for early, or with earlyOnly until the early data is over
// (errEarlyOver) (see handshakeContext).
func (c *Conn) handshake(ctx context.Context, early []byte, earlyOnly bool) (int, error) {
	if !c.isClient && !c.earlyDone {
		n, err := c.recvEarly(ctx, early)
		if n > 0 || err != nil {
			return n, err
		}
	}
	if earlyOnly {
		return 0, errEarlyOver
	}
	return c.drive(ctx, func() (int, Blocked, error) {
		blocked, err := c.c.Negotiate()
		return 0, blocked, err
	})
}

// drive calls step, which advances the handshake (Negotiate, or a call
// that also moves early data), until it returns nil or n > 0, moving bytes
// and waiting for the transport and for async callbacks in between.
func (c *Conn) drive(ctx context.Context, step func() (int, Blocked, error)) (int, error) {
	if c.fd != nil {
		return c.driveFd(ctx, step)
	}
	for {
		if c.closed.Load() {
			return 0, net.ErrClosed
		}
		if err := handshakeGate.acquire(ctx); err != nil {
			return 0, err
		}
		c.c.s.gated = true
		n, blocked, err := step()
		if c.c.s.gated { // not given back by a key callback
			c.c.s.gated = false
			handshakeGate.release()
		}
		if err != nil && !errors.Is(err, ErrBlocked) {
			c.failed()
			return 0, c.wrapErr(err)
		}
		if err == nil || n > 0 {
			return n, c.flush()
		}
		if err := c.flush(); err != nil {
			return 0, err
		}
		switch blocked {
		case BlockedOnRead:
			if err := c.fill(); err != nil {
				return 0, err
			}
		case BlockedOnApplicationInput:
			if err := c.waitForKey(ctx); err != nil {
				c.failed()
				return 0, err
			}
		case BlockedOnWrite:
			// flushed above
		default:
			return 0, fmt.Errorf("s2n: handshake blocked on %v", blocked)
		}
	}
}

// waitForKey parks until an async op of this connection is applied or fails,
// or the context or deadline ends.
func (c *Conn) waitForKey(ctx context.Context) error {
	s := c.c.s
	if c.closed.Load() {
		return net.ErrClosed
	}
	if err := s.failure(); err != nil {
		return asyncFailure(err)
	}
	var expire <-chan time.Time
	if ns := c.deadline.Load(); ns != 0 {
		t := time.NewTimer(time.Until(time.Unix(0, ns)))
		defer t.Stop()
		expire = t.C
	}
	select {
	case <-s.wake:
	case <-ctx.Done():
		return ctx.Err()
	case <-expire:
		return &net.OpError{Op: "handshake", Net: "tls", Err: os.ErrDeadlineExceeded}
	}
	if c.closed.Load() {
		return net.ErrClosed
	}
	if err := s.failure(); err != nil {
		return asyncFailure(err)
	}
	return nil
}

// abortKeyOps frees what a failed handshake left pending, so a key that
// answers later finds its op gone.
func (c *Conn) abortKeyOps() {
	s := c.c.s
	if cb, err := s.lock(); err == nil {
		s.freeOps()
		s.unlock(cb)
	}
}

// failed starts s2n's blinding delay after a failed handshake: the transport
// is closed no earlier than Delay from now, by a timer, so no goroutine or
// thread waits for it.
func (c *Conn) failed() {
	if d := c.c.Delay(); d > 0 {
		c.blindUntil.Store(time.Now().Add(d).UnixNano())
	}
	c.flush() // the alert, if s2n wrote one
}

// wrapErr maps s2n's closed-connection errors to the io errors Go code
// expects, keeping the s2n error in the chain.
func (c *Conn) wrapErr(err error) error {
	if c.closing.Load() { // closed here: whatever s2n said, the cause is Close
		return fmt.Errorf("%w: %w", net.ErrClosed, err)
	}
	var se *Error
	if errors.As(err, &se) && se.Type == ErrorTypeClosed {
		return fmt.Errorf("%w: %w", io.ErrUnexpectedEOF, err)
	}
	if errors.As(err, &se) && se.Name == nameClosed {
		return fmt.Errorf("%w: %w", net.ErrClosed, err)
	}
	return err
}

// fill reads from the transport into the input buffer. Only the goroutine
// that drives s2n's reads calls it (the handshake, then Read).
func (c *Conn) fill() error {
	c.closedMu.RLock()
	defer c.closedMu.RUnlock()
	if c.closed.Load() || c.io == nil {
		return net.ErrClosed
	}
	b := c.io
	if b.in == nil { // released while idle
		return c.fillIdle()
	}
	if b.in_off > 0 {
		n := b.in_len - b.in_off
		buf := unsafe.Slice((*byte)(unsafe.Pointer(b.in)), b.in_cap)
		copy(buf, buf[b.in_off:b.in_len])
		b.in_off, b.in_len = 0, n
	}
	free := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(b.in), b.in_len)), b.in_cap-b.in_len)
	n, err := c.conn.Read(free)
	b.in_len += C.uint32_t(n)
	if err == io.EOF {
		b.in_eof = 1
		return nil
	}
	if n > 0 {
		return nil
	}
	return err
}

// fillIdle is fill with the input buffer released: the wait for the peer
// holds only idleBuf, and the buffer comes back once bytes have arrived.
func (c *Conn) fillIdle() error {
	n, err := c.conn.Read(c.idleBuf[:])
	if n > 0 {
		if C.go_s2n_io_alloc_in(c.io, inBufSize) < 0 {
			return usageError(nameInvalidArg, "out of memory for I/O buffers")
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(c.io.in)), n), c.idleBuf[:n])
		c.io.in_len = C.uint32_t(n)
	}
	if err == io.EOF {
		c.io.in_eof = 1
		return nil
	}
	if n > 0 {
		return nil
	}
	return err
}

// releaseBuffers frees the buffers of an idle connection (see
// Config.SetReleaseBuffersWhenIdle). Called by the reader only, which owns
// the input buffer; the output buffers are freed only when empty, under the
// connection's lock, and the spare one only if no flush is running.
func (c *Conn) releaseBuffers() {
	c.closedMu.RLock()
	defer c.closedMu.RUnlock()
	if c.closed.Load() || c.io == nil {
		return
	}
	spare := C.int(0)
	if c.flushMu.TryLock() {
		defer c.flushMu.Unlock()
		spare = 1
	}
	// Failing because s2n still holds data is fine: the buffers stay.
	c.c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_io_release(p, c.io, spare, e)
	})
}

// flush sends the records s2n produced. The output buffers are swapped under
// the connection's lock and sent outside it, so a slow peer never holds up
// the other direction.
func (c *Conn) flush() error {
	c.flushMu.Lock()
	err := c.flushLocked()
	c.flushMu.Unlock()
	return c.flushAgain(err)
}

// flushFromRead is flush for Read, which sends what s2n wrote while
// reading (the answer to a KeyUpdate, an alert). When a Write is flushing
// already, perhaps blocked on a peer that is itself writing and not
// reading, Read must not wait for it: that would stop it reading, and a
// full-duplex transfer would deadlock. It leaves flushWanted instead, which
// that flusher reads once it has let go of flushMu (flushAgain).
func (c *Conn) flushFromRead() error {
	c.flushWanted.Store(true)
	if !c.flushMu.TryLock() {
		return nil
	}
	err := c.flushLocked()
	c.flushMu.Unlock()
	return c.flushAgain(err)
}

// flushAgain flushes once more, after flushMu was let go, for a Read that
// found it taken (flushFromRead); the flag is set before that Read's
// TryLock and read here after the Unlock, so one of the two flushes.
func (c *Conn) flushAgain(err error) error {
	for err == nil && c.flushWanted.Load() && c.flushMu.TryLock() {
		err = c.flushLocked()
		c.flushMu.Unlock()
	}
	return err
}

// flushLocked is flush with flushMu held.
func (c *Conn) flushLocked() error {
	c.flushWanted.Store(false)
	c.closedMu.RLock()
	defer c.closedMu.RUnlock()
	if c.io == nil { // released
		return nil
	}
	s := c.c.s
	b := c.io
	for {
		s.mu.Lock()
		n := b.out_len
		p := b.out
		if n > 0 {
			b.out, b.spare = b.spare, b.out
			b.out_cap, b.spare_cap = b.spare_cap, b.out_cap
			b.out_len = 0
		}
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		// p is now the spare buffer: only a flusher swaps it back in, and
		// this one holds flushMu.
		if _, err := c.conn.Write(unsafe.Slice((*byte)(unsafe.Pointer(p)), n)); err != nil {
			return err
		}
	}
}

// Read reads application data, running the handshake first if needed. It
// returns io.EOF after the peer's close_notify.
func (c *Conn) Read(b []byte) (int, error) {
	if !c.handshakeDone.Load() && !c.isClient && len(b) > 0 {
		if n, err := c.readEarly(b); n > 0 || err != nil {
			return n, err
		}
	}
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if c.fdLater.Load() != nil {
		if err := c.tryMoveToSocket(&c.writeMu); err != nil {
			return 0, err
		}
	}
	if c.fd != nil {
		return c.readFd(b)
	}
	for {
		if n := c.takePending(b); n > 0 {
			return n, nil
		}
		n, blocked, err := c.c.Recv(b)
		if s := c.c.s; (s.renegAccepted || s.renegRejected) && (err == nil || errors.Is(err, ErrBlocked)) {
			if err := c.answerRenegotiation(); err != nil {
				return n, err
			}
			if n > 0 {
				return n, nil
			}
			continue
		}
		if n > 0 {
			return n, nil
		}
		if err == nil {
			return 0, io.EOF
		}
		if !errors.Is(err, ErrBlocked) {
			c.failed()
			return 0, c.wrapErr(err)
		}
		// s2n may have answered something (a KeyUpdate, an alert).
		if err := c.flushFromRead(); err != nil {
			return 0, err
		}
		if blocked == BlockedOnRead {
			if c.releaseIdle {
				c.releaseBuffers()
			}
			if err := c.fill(); err != nil {
				return 0, err
			}
		}
	}
}

// Write writes application data, running the handshake first if needed.
func (c *Conn) Write(b []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.fdLater.Load() != nil {
		if err := c.tryMoveToSocket(&c.readMu); err != nil {
			return 0, err
		}
	}
	if c.fd != nil {
		return c.writeFd(b)
	}
	sent := 0
	for sent < len(b) {
		n, _, err := c.c.Send(b[sent:])
		sent += n
		if err != nil && !errors.Is(err, ErrBlocked) {
			c.failed()
			return sent, c.wrapErr(err)
		}
		if err := c.flush(); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// CloseWrite sends close_notify and shuts down the transport's write side,
// if it has one; reading goes on. Half-close exists only in TLS 1.3: on an
// earlier version the peer discards the rest of the connection, so
// CloseWrite refuses with an error and sends nothing.
func (c *Conn) CloseWrite() error {
	if !c.handshakeDone.Load() {
		return usageError(nameInvalidArg, "CloseWrite before the handshake completed")
	}
	if v := c.c.ProtocolVersion(); v < TLS13 {
		return usageError(nameInvalidArg, "CloseWrite needs TLS 1.3 (half-close); this connection is %v", v)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.closeNotify(); err != nil {
		return err
	}
	if cw, ok := c.conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// closeNotify sends close_notify; writeMu is held.
func (c *Conn) closeNotify() error {
	if c.fd != nil {
		return c.sendFd(func() (int, Blocked, error) {
			blocked, err := c.c.ShutdownSend()
			return 0, blocked, err
		})
	}
	_, err := c.c.ShutdownSend()
	if err != nil && !errors.Is(err, ErrBlocked) {
		return err
	}
	return c.flush()
}

// Close sends close_notify (after a completed handshake), closes the
// transport, and frees the s2n connection and any pending key operation.
// After a failed handshake, s2n's blinding delay is honoured without
// blocking: Close frees the s2n connection and its buffers at once, keeping
// only the transport, s2n's alert (a few bytes) and a timer, which sends the
// alert and closes the transport when the delay has passed
// ([RuntimeStats].Blinding counts such transports; see SetMaxBlindedConns
// for their bound). Close is idempotent.
func (c *Conn) Close() error {
	if c.c == nil { // set-up failed: only the transport to close
		if c.closed.Swap(true) || c.conn == nil {
			return nil
		}
		return c.conn.Close()
	}
	if c.closed.Load() {
		return nil
	}
	c.closing.Store(true)
	var notifyErr error
	blinded := time.Until(time.Unix(0, c.blindUntil.Load())) > 0
	if c.handshakeDone.Load() && !blinded && c.writeMu.TryLock() {
		c.conn.SetWriteDeadline(time.Now().Add(closeNotifyTimeout))
		notifyErr = c.closeNotify()
		c.writeMu.Unlock()
	}
	if c.closed.Swap(true) {
		return nil
	}
	c.c.s.notify() // a handshake parked on a key op sees the close
	if wait := time.Until(time.Unix(0, c.blindUntil.Load())); wait > 0 {
		// Nothing is read from the transport again: wake whoever waits on it.
		c.conn.SetDeadline(time.Now())
		alert := c.blindedAlert()
		c.release()
		holdForBlinding(c.conn, alert, wait)
		return nil
	}
	err := c.closeTransport()
	c.release()
	if notifyErr != nil && err == nil {
		err = notifyErr
	}
	if errors.Is(err, net.ErrClosed) { // a cancelled handshake closed it already
		err = nil
	}
	return err
}

// closeTransport closes the net.Conn. On the socket path, Close of the
// socket waits until no RawConn callback runs (poll.FD.Close): called from
// inside one of the connection's own callbacks, which runs in such a
// callback, it would wait for itself, so the socket is closed by another
// goroutine once the callback has returned.
func (c *Conn) closeTransport() error {
	c.closedMu.RLock()
	onSocket := c.fd != nil // set by a server's moveToSocket, under closedMu
	c.closedMu.RUnlock()
	if onSocket && c.c.s.inCallback() {
		go c.conn.Close()
		return nil
	}
	return c.conn.Close()
}

// blindedAlert has s2n write the alert it holds back until the blinding
// delay has passed, and returns it with anything else not yet sent: the
// bytes the transport still owes the peer.
func (c *Conn) blindedAlert() []byte {
	var out []byte
	c.c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		if c.fd != nil && c.detachSocket(p, e) < 0 {
			return 0 // the alert would go out now: better none
		}
		var blocked C.s2n_blocked_status
		C.go_s2n_shutdown_send_blinded(p, &blocked, e)
		if io := c.c.s.io; io != nil && io.out_len > 0 {
			out = C.GoBytes(unsafe.Pointer(io.out), C.int(io.out_len))
			io.out_len = 0
		}
		return 0
	})
	return out
}

// release frees the s2n connection and its I/O buffers (at once, or when
// the callback Close was called from has returned) once no reader, writer
// or flusher can touch them.
func (c *Conn) release() {
	c.closedMu.Lock()
	defer c.closedMu.Unlock()
	c.c.Close()
	c.io = nil
}
