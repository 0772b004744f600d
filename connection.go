package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"context"
	"errors"
	"net"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Connection is one TLS connection (s2n_connection), the low-level API: it
// mirrors the C calls one to one. For a net.Conn, see the Conn type. Its
// context slot holds the connection's cgo handle (s2n_connection_set_ctx),
// by which s2n's callbacks find it (s2n_connection_get_ctx).
//
// # Concurrency
//
// The binding serializes every call into s2n on one Connection, including
// [AsyncPkeyOp.Apply] from other goroutines, because s2n does not. Calls
// made from inside one of this connection's callbacks are detected (the
// callback runs on a locked OS thread) and handled without deadlock: Apply,
// SetConfig and the getters work, Close is deferred until the callback
// returns, and Negotiate, Send, Recv, Shutdown and Wipe return a usage error.
//
// # Lifetime
//
// Close frees the connection and every async operation still pending on it,
// in that order: ops first. It is idempotent and safe from any goroutine; a
// blocking call in progress (on a blocking fd) finishes first. Wipe resets
// the connection for another handshake; a key operation of the earlier
// handshake that completes afterwards is dropped (counted in
// [RuntimeStats].LateOps) and never touches the new one.
type Connection struct {
	s       *connState
	cleanup runtime.Cleanup
}

type connState struct {
	mu  sync.Mutex // held for every call into s2n on ptr, except from inside a callback
	ptr *C.struct_s2n_connection
	h   cgo.Handle

	// driver is the Connection whose driving call (Negotiate, Send, Recv,
	// Shutdown) is running, the only calls during which s2n runs callbacks:
	// they hand it to the application. Set and cleared under mu; no weak
	// pointer or lookup needed.
	driver *Connection
	config *configState
	// retired holds the Configs SetConfig replaced: s2n's handshake may
	// still point into them (the selected chain), so they live until Wipe
	// or Close.
	retired []*configState
	// helloConfig is the Config whose ClientHello callback ran (it stays
	// alive: SetConfig retires a replaced Config until Wipe or Close).
	helloConfig *configState
	// chosenCerts are the chains a CertRequestFunc gave s2n for this
	// handshake: s2n uses them until Wipe or Close.
	chosenCerts []*certState
	mode        Mode
	// gen numbers the handshakes of this connection: Wipe starts a new one.
	// A key operation carries the generation it was raised in, so a late
	// answer for an earlier handshake is dropped.
	gen atomic.Uint64
	// io is the in-memory transport of a Conn, freed with the connection
	// (after s2n, which writes into it until its last call returns).
	io *C.go_s2n_io
	// netConn and hsCtx are a Conn's transport and the context of its
	// running handshake, for SetGetCertificate's ClientHelloInfo; nil on
	// the low level.
	netConn net.Conn
	hsCtx   context.Context
	// verifyHost is SetVerifyHostCallback's function; Wipe clears it.
	verifyHost func(name string) bool
	// crls holds the CRLs handed to s2n by CRLLookup.Set: s2n points at
	// them until Wipe or Close.
	crls []*crlState
	// sessionKey is a client Conn's key in its Config's ClientSessionCache;
	// ticketCached is set once a ticket of the current handshake was put
	// there.
	sessionKey   string
	ticketCached atomic.Bool
	// renegAccepted, renegRejected: the renegotiation request callback
	// answered RenegotiateAccept or RenegotiateReject during a Recv (a
	// Conn then renegotiates, or sends the no_renegotiation alert). Only
	// the goroutine that drives Recv touches them.
	renegAccepted, renegRejected bool
	// lookup is the session cache Retrieve running for this connection's
	// handshake, if any (guarded by opsMu).
	lookup *cacheLookup
	// broken is set when a callback abandoned the driving call
	// (runtime.Goexit): s2n's state is unknown, only Close is left.
	broken error

	// wake is signalled when an async op of this connection is applied or
	// fails, so a handshake parked on BlockedOnApplicationInput can go on
	// (made by the net.Conn layer, before its handshake; nil otherwise);
	// asyncErr is the first failure of an op completed off the handshake's
	// goroutine, which s2n itself has no way to report.
	wake     chan struct{}
	asyncErr atomic.Pointer[error]
	// offloaded counts key operations completed off the handshake goroutine.
	offloaded atomic.Int32
	// closing is set once Close has begun: ops freed from then on were not
	// abandoned by the application.
	closing atomic.Bool

	// cbThread is the OS thread running this connection's callback, 0 if
	// none. Only the callback's own goroutine stores it.
	cbThread atomic.Uintptr
	// cbErr is the first application error raised by a callback during the
	// current call into s2n; closeInCallback records a Close made inside a
	// callback. Both are only touched by the goroutine that holds mu.
	cbErr           error
	closeInCallback bool
	// gated: the Negotiate running holds a handshakeGate slot (Conn only),
	// which a key callback gives back. Only the driving goroutine touches it.
	gated bool

	opsMu sync.Mutex // leaf lock: guards ops and done
	ops   map[*opState]struct{}
	done  chan struct{} // closed by Close; made on demand by dead

	// blocked receives Negotiate's blocked status: go_s2n_negotiate may call
	// back into Go, so cgo cannot keep a local out-parameter on the stack.
	blocked C.s2n_blocked_status

	// later and laterKind: what ended recvSome's bytes, for its next call
	// (go_s2n_recv_some; only the goroutine that drives Recv touches them).
	later     C.go_s2n_error
	laterKind C.int

	// e receives the error of calls made under mu (or from inside a
	// callback, sequentially); a field, so it never escapes per call.
	e C.go_s2n_error
}

// NewConnection creates a connection for the given side (s2n_connection_new).
func NewConnection(mode Mode) (*Connection, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	if mode != ModeServer && mode != ModeClient {
		return nil, usageError(nameInvalidArg, "invalid mode %d", int(mode))
	}
	st := &connState{mode: mode}
	st.h = newHandle(st)
	var e C.go_s2n_error
	st.ptr = C.go_s2n_connection_new(C.s2n_mode(mode), C.uintptr_t(st.h), &e)
	if st.ptr == nil {
		deleteHandle(st.h)
		return nil, newError(&e, nil)
	}
	c := &Connection{s: st}
	c.cleanup = runtime.AddCleanup(c, (*connState).closeFromCleanup, st)
	return c, nil
}

// inCallback reports whether the caller runs inside this connection's
// callback (on the callback's locked OS thread).
func (s *connState) inCallback() bool {
	if s == nil {
		return false
	}
	t := s.cbThread.Load()
	return t != 0 && t == threadID()
}

// lock takes the connection for a call into s2n and fails if it is closed.
// From inside the connection's own callback it takes nothing (the driving
// call already holds the lock) and reports cb = true; the caller decides
// whether the call is allowed there.
func (s *connState) lock() (cb bool, err error) {
	if s == nil {
		return false, usageError(nameInvalidArg, "nil or zero *Connection: use NewConnection")
	}
	if s.inCallback() {
		return true, nil
	}
	s.mu.Lock()
	if s.ptr == nil {
		s.mu.Unlock()
		return false, closedError("connection")
	}
	return false, nil
}

func (s *connState) unlock(cb bool) {
	if !cb {
		s.mu.Unlock()
	}
}

// drive locks for a call that can run callbacks (negotiate, send, recv,
// shutdown): never allowed from inside a callback. c becomes the driver
// the callbacks see; finish ends the call.
func (s *connState) drive(c *Connection, what string) error {
	cb, err := s.lock()
	if err != nil {
		return err
	}
	if cb {
		return usageError(nameInCallback, "%s called from inside one of the connection's own callbacks", what)
	}
	if s.broken != nil {
		s.mu.Unlock()
		return s.broken
	}
	s.driver = c
	return nil
}

// finish ends a driving call: it turns a C failure into an error carrying the
// callback's own error (e is read only when failed), and carries out a Close
// requested inside a callback.
func (s *connState) finish(failed bool, e *C.go_s2n_error) error {
	var err error
	switch {
	case s.cbErr != nil && (!failed || e._type == C.S2N_ERR_T_BLOCKED):
		// A callback failed, but s2n went on: it ignores what the key log
		// and the session cache's Store and Delete return, and falls back
		// to a full handshake when Retrieve fails. The application's
		// failure ends the connection all the same (not as "blocked",
		// which would be retried).
		err = &Error{Type: ErrorTypeInternal, Name: nameCallbackFailed,
			Message: "a callback whose result s2n ignores failed", cause: s.cbErr}
		s.broken = err
	case failed:
		err = newError(e, s.cbErr)
	}
	s.driver = nil
	s.cbErr = nil
	if s.closeInCallback {
		s.closeLocked()
	}
	s.mu.Unlock()
	return err
}

// SetConfig attaches a Config (s2n_connection_set_config). The Config is
// frozen from then on and stays alive while the connection uses it. It may
// be called again, also from inside the connection's own callbacks (to
// choose a Config per ClientHello): a Config it replaces stays alive until
// Wipe or Close, since the handshake may still use what it held.
func (c *Connection) SetConfig(config *Config) error {
	if config == nil || config.closed.Load() {
		return usageError(nameInvalidArg, "config is nil or closed")
	}
	s := c.state()
	cb, err := s.lock()
	if err != nil {
		return err
	}
	defer s.unlock(cb)
	return s.setConfigLocked(config)
}

// setConfigLocked is SetConfig with the connection's lock held.
func (s *connState) setConfigLocked(config *Config) error {
	if s.config == config.s {
		return nil
	}
	if !config.s.acquire() {
		return closedError("config")
	}
	var e C.go_s2n_error
	config.s.mu.Lock()
	rc := C.go_s2n_connection_set_config(s.ptr, config.s.ptr, &e)
	config.s.mu.Unlock()
	if rc < 0 {
		config.s.release()
		return newError(&e, nil)
	}
	if s.config != nil {
		s.retired = append(s.retired, s.config)
	}
	s.config = config.s
	return nil
}

// releaseRetired drops the Configs replaced during the last handshake, the
// chains chosen by a CertRequestFunc and the CRLs it used, once s2n no
// longer points at them (after wipe or free).
func (s *connState) releaseRetired() {
	for _, cfg := range s.retired {
		cfg.release()
	}
	s.retired = nil
	s.helloConfig = nil
	for _, cert := range s.chosenCerts {
		cert.release()
	}
	s.chosenCerts = nil
	for _, crl := range s.crls {
		crl.release()
	}
	s.crls = nil
}

// state returns the inner state: nil for a nil or zero Connection, which
// lock turns into a usage error.
func (c *Connection) state() *connState {
	if c == nil {
		return nil
	}
	return c.s
}

// simple runs a call that cannot trigger callbacks; it is allowed from inside
// a callback.
func (c *Connection) simple(f func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int) error {
	s := c.state()
	cb, err := s.lock()
	if err != nil {
		return err
	}
	defer s.unlock(cb)
	if f(s.ptr, &s.e) < 0 {
		return newError(&s.e, nil)
	}
	return nil
}

// PreferThroughput makes s2n send the largest records, 16 KiB
// (s2n_connection_prefer_throughput).
func (c *Connection) PreferThroughput() error {
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_prefer_throughput(p, e)
	})
}

// PreferLowLatency makes s2n send records that fit one TCP segment, which
// the peer can decrypt as each arrives (s2n_connection_prefer_low_latency).
func (c *Connection) PreferLowLatency() error {
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_prefer_low_latency(p, e)
	})
}

// ReleaseBuffers frees the connection's I/O buffers while it is idle
// (s2n_connection_release_buffers); s2n allocates them again when needed.
// It fails, changing nothing, while a buffer still holds data.
func (c *Connection) ReleaseBuffers() error {
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_release_buffers(p, e)
	})
}

// FreeHandshake frees what s2n keeps only for the handshake: transcript
// hashes, key-derivation state, the ClientHello (s2n_connection_free_handshake).
// Call it once the handshake is complete and nothing more is read from it
// (such as the ClientHello or, on a TLS 1.2 client, the session ticket for
// Session); a server [Conn] does so itself.
func (c *Connection) FreeHandshake() error {
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_free_handshake(p, e)
	})
}

// SetFd makes s2n read and write the file descriptor directly
// (s2n_connection_set_fd). The caller keeps ownership of fd.
func (c *Connection) SetFd(fd int) error {
	if fd < 0 {
		return usageError(nameInvalidArg, "invalid file descriptor %d", fd)
	}
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_fd(p, C.int(fd), e)
	})
}

// SetReadFd makes s2n read the file descriptor fd directly
// (s2n_connection_set_read_fd), for a transport whose two directions are
// two descriptors, such as two pipes; SetWriteFd sets the other. The caller
// keeps ownership of fd.
func (c *Connection) SetReadFd(fd int) error {
	if fd < 0 {
		return usageError(nameInvalidArg, "invalid file descriptor %d", fd)
	}
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_read_fd(p, C.int(fd), e)
	})
}

// SetWriteFd makes s2n write the file descriptor fd directly
// (s2n_connection_set_write_fd); see SetReadFd. The caller keeps ownership
// of fd. s2n does not handle SIGPIPE; in a Go program, whose runtime
// ignores a SIGPIPE raised on its own threads, a write to a pipe whose
// reader is gone fails with an I/O error instead.
func (c *Connection) SetWriteFd(fd int) error {
	if fd < 0 {
		return usageError(nameInvalidArg, "invalid file descriptor %d", fd)
	}
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_write_fd(p, C.int(fd), e)
	})
}

// ReadFd returns the file descriptor s2n reads, set by SetFd or SetReadFd
// (s2n_connection_get_read_fd). It fails with S2N_ERR_INVALID_STATE when
// s2n reads no descriptor, such as under a [Conn].
func (c *Connection) ReadFd() (int, error) {
	var fd C.int
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_get_read_fd(p, &fd, e)
	})
	if err != nil {
		return -1, err
	}
	return int(fd), nil
}

// WriteFd returns the file descriptor s2n writes, set by SetFd or
// SetWriteFd (s2n_connection_get_write_fd). It fails with
// S2N_ERR_INVALID_STATE when s2n writes no descriptor, such as under a
// [Conn].
func (c *Connection) WriteFd() (int, error) {
	var fd C.int
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_get_write_fd(p, &fd, e)
	})
	if err != nil {
		return -1, err
	}
	return int(fd), nil
}

// maxServerName is the longest server name accepted (a DNS name is at most
// 253 bytes; s2n allows 255).
const maxServerName = 255

// SetServerName sets the SNI name a client sends (s2n_set_server_name).
func (c *Connection) SetServerName(name string) error {
	if name == "" || len(name) > maxServerName || strings.IndexByte(name, 0) >= 0 {
		return usageError(nameInvalidArg, "invalid server name %q", name)
	}
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_set_server_name(p, cs, e)
	})
}

// SetVerifyHostCallback replaces, for this connection, the check of the
// names in the peer's certificate (s2n_connection_set_verify_host_callback):
// fn is called with each DNS name, URI and IP address (in text form) of the
// peer's leaf certificate until one is accepted; only if it has none of
// those, with its common name, and with "" if it has no name at all.
// It runs as a callback of this connection: it may call the connection's
// getters, but not Negotiate, Send or Recv. A nil fn turns the name check
// off for this connection, as in C: the chain is still verified against the
// trust store. It overrides [Config.SetVerifyHostCallback]; Wipe removes it.
func (c *Connection) SetVerifyHostCallback(fn func(name string) bool) error {
	s := c.state()
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		if C.go_s2n_connection_set_verify_host_callback(p, cBool(fn != nil), C.uintptr_t(s.h), e) < 0 {
			return -1
		}
		s.verifyHost = fn
		return 0
	})
}

// SetBlinding chooses built-in or self-service blinding
// (s2n_connection_set_blinding). Wipe resets it to BuiltInBlinding.
func (c *Connection) SetBlinding(b Blinding) error {
	if b != BuiltInBlinding && b != SelfServiceBlinding {
		return usageError(nameInvalidArg, "invalid blinding %d", int(b))
	}
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_blinding(p, C.s2n_blinding(b), e)
	})
}

// Negotiate advances the handshake (s2n_negotiate). It returns NotBlocked
// and nil once the handshake is complete. When s2n is blocked it returns the
// blocked status and an error for which errors.Is(err, ErrBlocked) holds:
// BlockedOnRead/Write wait for I/O, BlockedOnApplicationInput waits for an
// async private-key operation to be applied.
func (c *Connection) Negotiate() (Blocked, error) {
	s := c.state()
	if err := s.drive(c, "Negotiate"); err != nil {
		return NotBlocked, err
	}
	rc := C.go_s2n_negotiate(s.ptr, &s.blocked, &s.e)
	blocked := s.blocked
	if rc < 0 && Blocked(blocked) == BlockedOnApplicationInput && s.cbErr == nil {
		// s2n cannot learn that an op failed off this goroutine (a
		// signer's error, an answer Apply rejected, an op freed without
		// Apply): it would report BlockedOnApplicationInput for ever.
		if err := s.failure(); err != nil {
			s.finish(false, nil)
			return NotBlocked, asyncFailure(err)
		}
	}
	return Blocked(blocked), s.finish(rc < 0, &s.e)
}

// Send encrypts and writes b (s2n_send). It returns how many bytes of b were
// consumed, which may be fewer than len(b) with a nil error when the
// transport took only part (Blocked then says why): call Send again with the
// rest. On ErrBlocked, call Send again with the same bytes.
func (c *Connection) Send(b []byte) (int, Blocked, error) {
	s := c.state()
	if err := s.drive(c, "Send"); err != nil {
		return 0, NotBlocked, err
	}
	var blocked C.s2n_blocked_status
	var e C.go_s2n_error
	n := C.go_s2n_send(s.ptr, (*C.uint8_t)(unsafe.SliceData(b)), C.ssize_t(len(b)), &blocked, &e)
	err := s.finish(n < 0, &e)
	return max(int(n), 0), Blocked(blocked), err
}

// Recv reads and decrypts into b (s2n_recv). With len(b) > 0, 0 and nil
// mean the peer closed the connection cleanly (close_notify).
func (c *Connection) Recv(b []byte) (int, Blocked, error) {
	s := c.state()
	if err := s.drive(c, "Recv"); err != nil {
		return 0, NotBlocked, err
	}
	if s.config.callbacksInRecv(s.mode) {
		return s.recvWithCallbacks(b)
	}
	var blocked C.s2n_blocked_status
	var e C.go_s2n_error
	n := C.go_s2n_recv(s.ptr, (*C.uint8_t)(unsafe.SliceData(b)), C.ssize_t(len(b)), &blocked, &e)
	err := s.finish(n < 0, &e)
	return max(int(n), 0), Blocked(blocked), err
}

// recvBufs are the buffers recvWithCallbacks decrypts into: one record's
// worth (s2n_recv returns at most one record by default).
var recvBufs = sync.Pool{New: func() any { return new([16384]byte) }}

// recvWithCallbacks is Recv for a connection whose Config has callbacks
// that s2n raises inside s2n_recv (a client's session tickets in TLS 1.3, a
// server's session cache Delete). go_s2n_recv is marked nocallback (cgo
// panics if it calls into Go) and noescape (its arguments may be on the
// goroutine's stack, which a callback could move), so this path calls the
// unmarked go_s2n_recv_cb with heap memory only: the connection's blocked
// status and error record, and a pooled buffer that is copied into b.
func (s *connState) recvWithCallbacks(b []byte) (int, Blocked, error) {
	buf := recvBufs.Get().(*[16384]byte)
	defer recvBufs.Put(buf)
	size := min(len(b), len(buf))
	n := C.go_s2n_recv_cb(s.ptr, (*C.uint8_t)(&buf[0]), C.ssize_t(size), &s.blocked, &s.e)
	blocked := s.blocked
	err := s.finish(n < 0, &s.e)
	copy(b, buf[:max(int(n), 0)])
	return max(int(n), 0), Blocked(blocked), err
}

// Shutdown sends close_notify and waits for the peer's (s2n_shutdown).
func (c *Connection) Shutdown() (Blocked, error) {
	s := c.state()
	if err := s.drive(c, "Shutdown"); err != nil {
		return NotBlocked, err
	}
	if s.config.callbacksInRecv(s.mode) { // see recvWithCallbacks
		rc := C.go_s2n_shutdown_cb(s.ptr, &s.blocked, &s.e)
		blocked := s.blocked
		return Blocked(blocked), s.finish(rc < 0, &s.e)
	}
	var blocked C.s2n_blocked_status
	var e C.go_s2n_error
	rc := C.go_s2n_shutdown(s.ptr, &blocked, &e)
	return Blocked(blocked), s.finish(rc < 0, &e)
}

// ShutdownSend sends close_notify without waiting for the peer's
// (s2n_shutdown_send): the write side is closed, reading goes on.
func (c *Connection) ShutdownSend() (Blocked, error) {
	s := c.state()
	if err := s.drive(c, "ShutdownSend"); err != nil {
		return NotBlocked, err
	}
	var blocked C.s2n_blocked_status
	var e C.go_s2n_error
	rc := C.go_s2n_shutdown_send(s.ptr, &blocked, &e)
	return Blocked(blocked), s.finish(rc < 0, &e)
}

// Wipe resets the connection for reuse, keeping its mode and Config
// (s2n_connection_wipe): s2n's documented way to pool connections. Async
// operations still pending are freed first, and a new handshake generation
// starts: an answer for an operation of the earlier handshake that arrives
// later is dropped and counted ([RuntimeStats].LateOps).
func (c *Connection) Wipe() error {
	s := c.state()
	if err := s.drive(c, "Wipe"); err != nil {
		return err
	}
	defer s.finish(false, nil)
	s.opsMu.Lock() // with fail: no failure of the old handshake lands after this
	s.gen.Add(1)
	s.asyncErr.Store(nil)
	s.lookup = nil
	s.opsMu.Unlock()
	s.ticketCached.Store(false)
	s.freeOps()
	var e C.go_s2n_error
	if C.go_s2n_connection_wipe(s.ptr, C.uintptr_t(s.h), &e) < 0 {
		return newError(&e, nil)
	}
	s.releaseRetired()
	s.verifyHost = nil // s2n's wipe dropped the callback
	return nil
}

// Close frees the connection (s2n_connection_free) after freeing every async
// operation still pending on it. Called from inside the connection's own
// callback, it is carried out when the callback's s2n call returns. Close is
// idempotent; it does not send close_notify (see Shutdown).
func (c *Connection) Close() error {
	s := c.state()
	if s == nil {
		return nil
	}
	if s.inCallback() {
		s.closeInCallback = true
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.cleanup.Stop()
	s.closeLocked()
	return nil
}

func (s *connState) closeFromCleanup() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked()
}

// closeLocked frees ops, then the connection, then the handle; mu is held.
func (s *connState) closeLocked() {
	s.closeInCallback = false
	if s.ptr == nil {
		return
	}
	s.opsMu.Lock()
	s.closing.Store(true)
	if s.done != nil {
		close(s.done)
	}
	s.opsMu.Unlock()
	s.freeOps()
	var e C.go_s2n_error
	C.go_s2n_connection_free(s.ptr, &e)
	s.ptr = nil
	deleteHandle(s.h)
	if s.io != nil {
		C.go_s2n_io_free(s.io)
		s.io = nil
	}
	if s.config != nil {
		s.config.release()
		s.config = nil
	}
	s.releaseRetired()
}

// dead returns a channel that is closed when the connection closes, for
// goroutines that wait on its behalf.
func (s *connState) dead() <-chan struct{} {
	s.opsMu.Lock()
	defer s.opsMu.Unlock()
	if s.done == nil {
		s.done = make(chan struct{})
		if s.closing.Load() {
			close(s.done)
		}
	}
	return s.done
}

// notify wakes a handshake waiting for an async op.
func (s *connState) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// asyncFailure is the error Negotiate returns for a failure recorded by fail:
// the application's error is kept for errors.Is and errors.As.
func asyncFailure(err error) *Error {
	var se *Error
	if errors.As(err, &se) && se.Type != ErrorTypeBlocked {
		return se
	}
	return &Error{Type: ErrorTypeInternal, Name: nameAsyncFailed, Message: "asynchronous callback failed", cause: err}
}

// fail records the first asynchronous failure of handshake generation gen
// and wakes the handshake. A failure of an earlier generation (the
// connection was wiped meanwhile) belongs to no handshake and is dropped.
func (s *connState) fail(gen uint64, err error) {
	s.opsMu.Lock()
	if gen == s.gen.Load() {
		s.asyncErr.CompareAndSwap(nil, &err)
	}
	s.opsMu.Unlock()
	s.notify()
}

// failure returns the recorded asynchronous failure, if any.
func (s *connState) failure() error {
	if p := s.asyncErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *connState) freeOps() {
	s.opsMu.Lock()
	ops := make([]*opState, 0, len(s.ops))
	for op := range s.ops {
		ops = append(ops, op)
	}
	s.opsMu.Unlock()
	for _, op := range ops {
		op.free()
	}
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// SetCipherPreferences overrides the Config's security policy for this
// connection (s2n_connection_set_cipher_preferences).
func (c *Connection) SetCipherPreferences(policy string) error {
	if policy == "" || strings.IndexByte(policy, 0) >= 0 {
		return usageError(nameInvalidArg, "invalid security policy name %q", policy)
	}
	cs := C.CString(policy)
	defer C.free(unsafe.Pointer(cs))
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_cipher_preferences(p, cs, e)
	})
}

// AppendProtocolPreference adds protocol at the end of this connection's
// ALPN list (s2n_connection_append_protocol_preference). The first call
// starts the connection's own list, which then replaces the Config's, as
// SetProtocolPreferences does.
func (c *Connection) AppendProtocolPreference(protocol string) error {
	if err := checkALPNProtocol(protocol); err != nil {
		return err
	}
	b := []byte(protocol)
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_append_protocol_preference(p, (*C.uint8_t)(unsafe.Pointer(&b[0])), C.uint8_t(len(b)), e)
	})
}

// SetProtocolPreferences overrides the Config's ALPN list for this
// connection (s2n_connection_set_protocol_preferences).
func (c *Connection) SetProtocolPreferences(protocols []string) error {
	if err := checkALPN(protocols); err != nil {
		return err
	}
	arr, free := cStrings(protocols)
	defer free()
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_protocol_preferences(p, arr, C.int(len(protocols)), e)
	})
}
