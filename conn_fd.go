package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"unsafe"
)

// The socket path of Conn. When the net.Conn is a *net.TCPConn or a
// *net.UnixConn over a stream socket, s2n reads and writes the socket
// itself (s2n_connection_set_fd): no bytes are copied through Go buffers.
// Go keeps the socket non-blocking, so every s2n call returns at once,
// reporting what it is blocked on. Each call runs inside a callback of the
// socket's syscall.RawConn: RawConn.Read for a call that waits to read,
// RawConn.Write for one that waits to write. The callback returns false
// when s2n is blocked on that direction, and Go's netpoller parks the
// goroutine until the socket is ready (or the deadline passes, or the
// socket is closed) and runs the callback again. A call blocked on the
// other direction goes on in the other RawConn method; a handshake blocked
// on an async private-key operation waits for it outside any callback (see
// Conn.drive), so no OS thread ever waits.
//
// Go's poll.FD keeps the socket's descriptor open while a RawConn callback
// runs, even when Close is called meanwhile: s2n never touches a closed or
// reused descriptor. Nothing calls s2n's I/O outside these callbacks.
//
// A server's handshake runs on the in-memory transport, and the Conn moves
// onto the socket when it is done (moveToSocket), unless its Config asks
// for kTLS.
//
// Only those two concrete types take this path: another net.Conn, also one
// that wraps a socket and implements syscall.Conn, may do something in its
// Read and Write (count, rate-limit, frame) that the socket path would
// bypass, so it keeps the in-memory transport (transport.c).
//
// A server Conn whose Config accepts early data (SetServerMaxEarlyDataSize
// above 0, or SetEarlyDataCallback) keeps the in-memory transport too. When
// a HelloRetryRequest rejects the client's early data, the rejected records
// that already arrived would be read inside s2n_recv_early_data, where s2n
// counts their ciphertext against the maximum and fails the handshake once
// it is exceeded; the in-memory transport holds them back until that call
// has returned, and s2n then skips them (go_s2n_early_rejected).
//
// s2n reads with recv buffering on (s2n_connection_set_recv_buffering): as
// many bytes as the socket has, up to its buffer's size, instead of a
// record header and then its body in two system calls.

// fdPath is the socket of a Conn on the socket path.
type fdPath struct {
	rc syscall.RawConn
	fd int
	// hs drives the handshake, early data and renegotiation (their callers
	// are serialized: handshakeMu, or readMu and writeMu together); r runs
	// Read's calls (readMu), w Write's and close_notify (writeMu).
	hs, r, w fdOp
	// rbuf and wbuf are the buffers of the Read and Write running, for
	// recvStep and sendStep, which are bound once so that Read and Write
	// allocate nothing.
	rbuf, wbuf         []byte
	recvStep, sendStep func() (int, Blocked, error)
}

// fdOp runs one s2n call inside RawConn callbacks (see fdPath).
type fdOp struct {
	c   *Conn
	fn  func(uintptr) bool // o.run, bound once
	ctx context.Context    // of the handshake, for the gate (hs only)

	step func() (int, Blocked, error)
	want Blocked // the direction the RawConn method running waits for
	// gated: the step is a handshake step, which holds a handshakeGate slot
	// while it runs; held: a slot taken outside the callback, for the next
	// run; needGate: the callback found no free slot and ran nothing.
	gated, held, needGate bool
	// idle: release the buffers before waiting for the peer (Read with
	// SetReleaseBuffersWhenIdle).
	idle bool

	n       int
	blocked Blocked
	err     error
}

// streamSocket returns the RawConn and descriptor of conn when it is a
// *net.TCPConn or *net.UnixConn over a stream socket; nil otherwise.
func streamSocket(conn net.Conn) (syscall.RawConn, int) {
	var sc syscall.Conn
	switch t := conn.(type) {
	case *net.TCPConn:
		sc = t
	case *net.UnixConn:
		sc = t
	default:
		return nil, -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, -1
	}
	fd := -1
	err = rc.Control(func(s uintptr) {
		typ, err := syscall.GetsockoptInt(int(s), syscall.SOL_SOCKET, syscall.SO_TYPE)
		if err == nil && typ == syscall.SOCK_STREAM {
			fd = int(s)
		}
	})
	if err != nil || fd < 0 {
		return nil, -1
	}
	return rc, fd
}

// attachTransport gives s2n the Conn's transport: the socket itself (see
// fdPath) or the in-memory buffers (attachIO). A server whose Config does
// not ask for kTLS starts on the in-memory buffers and moves onto its
// socket after the handshake (moveToSocket).
func (c *Conn) attachTransport(conn *Connection) error {
	rc, fd := streamSocket(c.conn)
	if rc == nil || (!c.isClient && (c.config.s.maxEarly > 0 || c.config.s.earlyDataFn != nil)) {
		return c.attachIO(conn)
	}
	if !c.isClient && !c.config.s.connKTLSSend && !c.config.s.connKTLSRecv {
		c.fdLater.Store(&fdPath{rc: rc, fd: fd})
		return c.attachIO(conn)
	}
	if err := conn.SetFd(fd); err != nil {
		return err
	}
	// Not when the Config wants kTLS for receiving: s2n must then hold
	// nothing read ahead when the handshake ends (enableKTLS).
	if err := conn.SetRecvBuffering(!c.config.s.connKTLSRecv); err != nil {
		return err
	}
	c.useSocket(&fdPath{rc: rc, fd: fd})
	return nil
}

// moveToSocket puts a server Conn whose handshake ran on the in-memory
// buffers onto its socket (s2n_connection_set_fd), for Read and Write, and
// frees the buffers. On its own socket s2n writes every handshake record
// with a write(2) of its own and sets TCP_QUICKACK again after each read;
// on the buffers the server's whole flight leaves in one write and no
// socket option is set, which costs a server less CPU per handshake. A
// server Conn whose Config asks for kTLS handshakes on its socket (kTLS is
// enabled before the handshake's state is freed, see enableKTLS).
//
// The move waits while the buffers hold bytes the socket gave (a client's
// first records often arrive with its Finished) or owes: it is tried at the
// end of the handshake and then at the start of each Read and Write
// (tryMoveToSocket) until it happens, or for good once the peer's end of
// stream is in the buffers. The caller keeps any other Read, Write and
// flush out: handshakeMu, or readMu, writeMu and flushMu.
func (c *Conn) moveToSocket() error {
	f := c.fdLater.Load()
	if f == nil {
		return nil
	}
	c.closedMu.Lock()
	defer c.closedMu.Unlock()
	b := c.io
	if c.closed.Load() || b == nil || b.in_eof != 0 {
		c.fdLater.Store(nil)
		return nil
	}
	if (b.in != nil && b.in_len > b.in_off) || b.out_len > 0 {
		return nil // later
	}
	c.fdLater.Store(nil)
	if err := c.c.SetRecvBuffering(true); err != nil {
		return err
	}
	return c.c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		if C.go_s2n_connection_set_fd(p, C.int(f.fd), e) < 0 {
			return -1
		}
		C.go_s2n_io_free(b)
		c.c.s.io = nil
		c.io = nil
		c.useSocket(f) // under both locks: Close reads c.fd (closeTransport, blindedAlert)
		return 0
	})
}

// tryMoveToSocket is moveToSocket from Read (other is writeMu) or Write
// (other is readMu), holding its own mutex: only when the other direction
// and the flusher are idle, never waiting for them.
func (c *Conn) tryMoveToSocket(other *sync.Mutex) error {
	if !other.TryLock() {
		return nil
	}
	defer other.Unlock()
	if !c.flushMu.TryLock() {
		return nil
	}
	defer c.flushMu.Unlock()
	if err := c.moveToSocket(); err != nil {
		c.failed()
		return c.wrapErr(err)
	}
	return nil
}

// useSocket makes f, whose descriptor s2n reads and writes, the Conn's
// transport.
func (c *Conn) useSocket(f *fdPath) {
	for _, o := range []*fdOp{&f.hs, &f.r, &f.w} {
		o.c = c
		o.fn = o.run
	}
	f.hs.gated = true
	f.hs.want = BlockedOnRead // a server reads first
	if c.isClient {
		f.hs.want = BlockedOnWrite
	}
	f.recvStep = func() (int, Blocked, error) { return c.c.recvSome(f.rbuf) }
	f.sendStep = func() (int, Blocked, error) { return c.c.Send(f.wbuf) }
	c.fd = f
}

// transportPath names the transport a Conn runs on, for tests.
func (c *Conn) transportPath() string {
	if c.fd != nil {
		return "fd"
	}
	return "memory"
}

// isBlocked reports whether err is s2n's S2N_ERR_T_BLOCKED.
func isBlocked(err error) bool {
	se, ok := err.(*Error)
	return ok && se.Type == ErrorTypeBlocked
}

// run is the RawConn callback: it runs the step once and returns false
// (wait for the socket) only when s2n is blocked on the direction the
// RawConn method waits for.
func (o *fdOp) run(uintptr) bool {
	s := o.c.c.s
	if o.gated {
		if !o.held && !handshakeGate.tryAcquire() {
			o.needGate = true
			return true
		}
		o.held = false
		s.gated = true
	}
	o.n, o.blocked, o.err = o.step()
	if o.gated && s.gated { // not given back by a key callback
		s.gated = false
		handshakeGate.release()
	}
	if o.n > 0 || o.err == nil || o.blocked != o.want || !isBlocked(o.err) {
		return true
	}
	if s.renegAccepted || s.renegRejected { // Read answers first (conn_renegotiate.go)
		return true
	}
	if o.idle {
		// Nothing to read: free the buffers while the peer is silent
		// (failing because s2n holds part of a record is fine).
		o.c.c.ReleaseBuffers()
	}
	return false
}

// do runs step, starting in the RawConn method of direction dir, until it
// is no longer blocked on the socket. It returns the step's last result, or
// the socket's error (deadline, closed) as ioErr, which means s2n was
// blocked and nothing more happened.
func (o *fdOp) do(step func() (int, Blocked, error), dir Blocked) (n int, blocked Blocked, err, ioErr error) {
	rc := o.c.fd.rc
	o.step = step
	o.want = dir
	defer func() { o.step = nil }()
	for {
		o.needGate = false
		var werr error
		if o.want == BlockedOnWrite {
			werr = rc.Write(o.fn)
		} else {
			werr = rc.Read(o.fn)
		}
		if o.held { // the callback did not run
			o.held = false
			handshakeGate.release()
		}
		if werr != nil {
			return 0, o.want, nil, socketError(werr, o.want)
		}
		if o.needGate {
			if err := handshakeGate.acquire(o.ctx); err != nil {
				return 0, NotBlocked, nil, err
			}
			o.held = true
			continue
		}
		s := o.c.c.s
		if o.n == 0 && o.err != nil && (o.blocked == BlockedOnRead || o.blocked == BlockedOnWrite) &&
			o.blocked != o.want && !s.renegAccepted && !s.renegRejected && isBlocked(o.err) {
			o.want = o.blocked
			continue
		}
		return o.n, o.blocked, o.err, nil
	}
}

// socketError names the RawConn's error after the Conn operation, as the
// net.Conn's own Read and Write would ("read", not "raw-read").
func socketError(err error, dir Blocked) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		if dir == BlockedOnWrite {
			oe.Op = "write"
		} else {
			oe.Op = "read"
		}
	}
	return err
}

// driveFd is drive on the socket path.
func (c *Conn) driveFd(ctx context.Context, step func() (int, Blocked, error)) (int, error) {
	o := &c.fd.hs
	o.ctx = ctx
	defer func() { o.ctx = nil }()
	for {
		if c.closed.Load() {
			return 0, net.ErrClosed
		}
		n, blocked, err, ioErr := o.do(step, o.want)
		if ioErr != nil {
			return 0, ioErr
		}
		if err != nil && !isBlocked(err) {
			c.failed()
			return 0, c.wrapErr(err)
		}
		if err == nil || n > 0 {
			return n, nil
		}
		if blocked != BlockedOnApplicationInput {
			return 0, fmt.Errorf("s2n: handshake blocked on %v", blocked)
		}
		if err := c.waitForKey(ctx); err != nil {
			c.failed()
			return 0, err
		}
	}
}

// readFd is Read on the socket path; readMu is held.
func (c *Conn) readFd(b []byte) (int, error) {
	f := c.fd
	f.r.idle = c.releaseIdle
	for {
		if n := c.takePending(b); n > 0 {
			return n, nil
		}
		f.rbuf = b
		n, blocked, err, ioErr := f.r.do(f.recvStep, BlockedOnRead)
		f.rbuf = nil
		if ioErr != nil {
			return 0, ioErr
		}
		if s := c.c.s; (s.renegAccepted || s.renegRejected) && (err == nil || isBlocked(err)) {
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
		if !isBlocked(err) {
			c.failed()
			return 0, c.wrapErr(err)
		}
		return 0, fmt.Errorf("s2n: Read blocked on %v", blocked)
	}
}

// writeFd is Write on the socket path; writeMu is held.
func (c *Conn) writeFd(b []byte) (int, error) {
	f := c.fd
	sent := 0
	for sent < len(b) {
		f.wbuf = b[sent:]
		n, blocked, err, ioErr := f.w.do(f.sendStep, BlockedOnWrite)
		f.wbuf = nil
		sent += n
		if ioErr != nil {
			return sent, ioErr
		}
		if err != nil && !isBlocked(err) {
			c.failed()
			return sent, c.wrapErr(err)
		}
		if err != nil && n == 0 {
			return sent, fmt.Errorf("s2n: Write blocked on %v", blocked)
		}
	}
	return sent, nil
}

// sendFd runs a step that writes (close_notify, a queued alert) on the
// socket path; writeMu is held.
func (c *Conn) sendFd(step func() (int, Blocked, error)) error {
	_, _, err, ioErr := c.fd.w.do(step, BlockedOnWrite)
	if ioErr != nil {
		return ioErr
	}
	if err != nil && !isBlocked(err) {
		return c.wrapErr(err)
	}
	return nil
}

// detachSocket moves s2n off the socket onto in-memory buffers that
// nothing drains, for a Close that holds the alert back for blinding
// (blindedAlert); the connection's lock is held. Returns -1 if s2n stays
// on the socket.
func (c *Conn) detachSocket(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
	io := C.go_s2n_io_new(64)
	if io == nil {
		return -1
	}
	if C.go_s2n_connection_set_io(p, io, e) < 0 {
		C.go_s2n_io_free(io)
		return -1
	}
	c.c.s.io = io // freed with the connection
	return 0
}

// recvSome is Recv for the socket path: with recv buffering, s2n often
// holds several records after one read of the socket, and recvSome
// decrypts as many of them into b as fit, in one call into C
// (go_s2n_recv_some), instead of one record per Read. An error or the
// peer's close_notify met after some bytes is returned by the next call.
// A Config with callbacks inside s2n_recv takes Recv's own path
// (recvWithCallbacks: one record per call).
func (c *Connection) recvSome(b []byte) (int, Blocked, error) {
	s := c.state()
	if err := s.drive(c, "Recv"); err != nil {
		return 0, NotBlocked, err
	}
	switch s.laterKind {
	case C.GO_S2N_RECV_LATER_EOF: // kept: every later call reports it too
		return 0, NotBlocked, s.finish(false, nil)
	case C.GO_S2N_RECV_LATER_ERROR:
		s.laterKind = 0
		return 0, NotBlocked, s.finish(true, &s.later)
	}
	if s.config.callbacksInRecv(s.mode) {
		return s.recvWithCallbacks(b)
	}
	var blocked C.s2n_blocked_status
	var e C.go_s2n_error
	n := C.go_s2n_recv_some(s.ptr, (*C.uint8_t)(unsafe.SliceData(b)), C.ssize_t(len(b)), &blocked, &e, &s.later, &s.laterKind)
	err := s.finish(n < 0, &e)
	return max(int(n), 0), Blocked(blocked), err
}
