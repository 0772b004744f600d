package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Mode says which side of the handshake a connection plays (s2n_mode).
type Mode int

// Connection modes. The bare names Server and Client belong to the net.Conn
// constructors, as in crypto/tls.
const (
	ModeServer Mode = C.S2N_SERVER
	ModeClient Mode = C.S2N_CLIENT
)

// Blocked says what a call that returned ErrBlocked waits for
// (s2n_blocked_status).
type Blocked int

// Blocked statuses.
const (
	NotBlocked                Blocked = C.S2N_NOT_BLOCKED
	BlockedOnRead             Blocked = C.S2N_BLOCKED_ON_READ
	BlockedOnWrite            Blocked = C.S2N_BLOCKED_ON_WRITE
	BlockedOnApplicationInput Blocked = C.S2N_BLOCKED_ON_APPLICATION_INPUT
	BlockedOnEarlyData        Blocked = C.S2N_BLOCKED_ON_EARLY_DATA
)

var blockedNames = [...]string{"not blocked", "blocked on read", "blocked on write", "blocked on application input", "blocked on early data"}

func (b Blocked) String() string {
	if b >= 0 && int(b) < len(blockedNames) {
		return blockedNames[b]
	}
	return fmt.Sprintf("Blocked(%d)", int(b))
}

// Blinding selects how s2n delays its response after a failed handshake, to
// blunt timing side channels (s2n_blinding).
type Blinding int

const (
	// BuiltInBlinding makes the failing call itself sleep 10-30 s (s2n's
	// default): it pins an OS thread for that long.
	BuiltInBlinding Blinding = C.S2N_BUILT_IN_BLINDING
	// SelfServiceBlinding leaves the delay to the application: wait
	// [Connection.Delay] before closing the socket.
	SelfServiceBlinding Blinding = C.S2N_SELF_SERVICE_BLINDING
)

// ProtocolVersion is a TLS protocol version as s2n numbers them.
type ProtocolVersion int

// Protocol versions.
const (
	SSLv2 ProtocolVersion = C.S2N_SSLv2
	SSLv3 ProtocolVersion = C.S2N_SSLv3
	TLS10 ProtocolVersion = C.S2N_TLS10
	TLS11 ProtocolVersion = C.S2N_TLS11
	TLS12 ProtocolVersion = C.S2N_TLS12
	TLS13 ProtocolVersion = C.S2N_TLS13
)

func (v ProtocolVersion) String() string {
	switch v {
	case SSLv2:
		return "SSLv2"
	case SSLv3:
		return "SSLv3"
	case TLS10:
		return "TLS1.0"
	case TLS11:
		return "TLS1.1"
	case TLS12:
		return "TLS1.2"
	case TLS13:
		return "TLS1.3"
	}
	return fmt.Sprintf("ProtocolVersion(%d)", int(v))
}

// Connection is one TLS connection (s2n_connection), the low-level API: it
// mirrors the C calls one to one. For a net.Conn, see the Conn type.
//
// # Concurrency
//
// The binding serializes every call into s2n on one Connection, including
// [AsyncPkeyOp.Apply] from other goroutines, because s2n does not. Calls
// made from inside this connection's async private-key callback are detected
// (the callback runs on a locked OS thread) and handled without deadlock:
// Apply and the getters work, Close is deferred until the callback returns,
// and Negotiate, Send, Recv, Shutdown and Wipe return a usage error.
//
// # Lifetime
//
// Close frees the connection and every async operation still pending on it,
// in that order: ops first. It is idempotent and safe from any goroutine; a
// blocking call in progress (on a blocking fd) finishes first.
type Connection struct {
	s       *connState
	cleanup runtime.Cleanup
}

type connState struct {
	mu  sync.Mutex // held for every call into s2n on ptr, except from inside a callback
	ptr *C.struct_s2n_connection
	h   cgo.Handle

	// driver is the Connection whose Negotiate is running, the only call
	// during which s2n runs callbacks: they hand it to the application.
	// Set and cleared under mu; no weak pointer or lookup needed.
	driver *Connection
	config *configState
	mode   Mode

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
	blocked C.int

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
	st.ptr = C.go_s2n_connection_new(C.int(mode), C.uintptr_t(st.h), &e)
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
// shutdown): never allowed from inside a callback.
func (s *connState) drive(what string) error {
	cb, err := s.lock()
	if err != nil {
		return err
	}
	if cb {
		return usageError(nameInCallback, "%s called from inside the connection's own async pkey callback", what)
	}
	return nil
}

// finish ends a driving call: it turns a C failure into an error carrying the
// callback's own error (e is read only when failed), and carries out a Close
// requested inside a callback.
func (s *connState) finish(failed bool, e *C.go_s2n_error) error {
	var err error
	if failed {
		err = newError(e, s.cbErr)
	}
	s.cbErr = nil
	if s.closeInCallback {
		s.closeLocked()
	}
	s.mu.Unlock()
	return err
}

// SetConfig attaches a Config (s2n_connection_set_config). The Config is
// frozen from then on and stays alive while the connection uses it.
func (c *Connection) SetConfig(config *Config) error {
	if config == nil || config.closed.Load() {
		return usageError(nameInvalidArg, "config is nil or closed")
	}
	s := c.state()
	if err := s.drive("SetConfig"); err != nil {
		return err
	}
	defer s.mu.Unlock()
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
		s.config.release()
	}
	s.config = config.s
	return nil
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
		return C.go_s2n_connection_prefer(p, 1, e)
	})
}

// PreferLowLatency makes s2n send records that fit one TCP segment, which
// the peer can decrypt as each arrives (s2n_connection_prefer_low_latency).
func (c *Connection) PreferLowLatency() error {
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_prefer(p, 0, e)
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

// SetBlinding chooses built-in or self-service blinding
// (s2n_connection_set_blinding). Wipe resets it to BuiltInBlinding.
func (c *Connection) SetBlinding(b Blinding) error {
	if b != BuiltInBlinding && b != SelfServiceBlinding {
		return usageError(nameInvalidArg, "invalid blinding %d", int(b))
	}
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_blinding(p, C.int(b), e)
	})
}

// Negotiate advances the handshake (s2n_negotiate). It returns NotBlocked
// and nil once the handshake is complete. When s2n is blocked it returns the
// blocked status and an error for which errors.Is(err, ErrBlocked) holds:
// BlockedOnRead/Write wait for I/O, BlockedOnApplicationInput waits for an
// async private-key operation to be applied.
func (c *Connection) Negotiate() (Blocked, error) {
	s := c.state()
	if err := s.drive("Negotiate"); err != nil {
		return NotBlocked, err
	}
	s.driver = c
	rc := C.go_s2n_negotiate(s.ptr, &s.blocked, &s.e)
	s.driver = nil
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
	if err := s.drive("Send"); err != nil {
		return 0, NotBlocked, err
	}
	var blocked C.int
	var e C.go_s2n_error
	n := C.go_s2n_send(s.ptr, (*C.uint8_t)(unsafe.SliceData(b)), C.ssize_t(len(b)), &blocked, &e)
	err := s.finish(n < 0, &e)
	return max(int(n), 0), Blocked(blocked), err
}

// Recv reads and decrypts into b (s2n_recv). With len(b) > 0, 0 and nil
// mean the peer closed the connection cleanly (close_notify).
func (c *Connection) Recv(b []byte) (int, Blocked, error) {
	s := c.state()
	if err := s.drive("Recv"); err != nil {
		return 0, NotBlocked, err
	}
	var blocked C.int
	var e C.go_s2n_error
	n := C.go_s2n_recv(s.ptr, (*C.uint8_t)(unsafe.SliceData(b)), C.ssize_t(len(b)), &blocked, &e)
	err := s.finish(n < 0, &e)
	return max(int(n), 0), Blocked(blocked), err
}

// Shutdown sends close_notify and waits for the peer's (s2n_shutdown).
func (c *Connection) Shutdown() (Blocked, error) {
	s := c.state()
	if err := s.drive("Shutdown"); err != nil {
		return NotBlocked, err
	}
	var blocked C.int
	var e C.go_s2n_error
	rc := C.go_s2n_shutdown(s.ptr, &blocked, &e)
	return Blocked(blocked), s.finish(rc < 0, &e)
}

// ShutdownSend sends close_notify without waiting for the peer's
// (s2n_shutdown_send): the write side is closed, reading goes on.
func (c *Connection) ShutdownSend() (Blocked, error) {
	s := c.state()
	if err := s.drive("ShutdownSend"); err != nil {
		return NotBlocked, err
	}
	var blocked C.int
	var e C.go_s2n_error
	rc := C.go_s2n_shutdown_send(s.ptr, &blocked, &e)
	return Blocked(blocked), s.finish(rc < 0, &e)
}

// SelectedCert returns the certificate chain chosen for this handshake, the
// same *CertChainAndKey that was added to the Config
// (s2n_connection_get_selected_cert).
func (c *Connection) SelectedCert() (*CertChainAndKey, error) {
	s := c.state()
	cb, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer s.unlock(cb)
	var e C.go_s2n_error
	p := C.go_s2n_connection_get_selected_cert(s.ptr, &e)
	if p == nil {
		return nil, newError(&e, nil)
	}
	return certFromC(p), nil
}

func (c *Connection) selectedAlgs(client bool) (SignatureAlgorithm, HashAlgorithm, error) {
	var sig, hash C.int
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_get_selected_algs(p, cBool(client), &sig, &hash, e)
	})
	return SignatureAlgorithm(sig), HashAlgorithm(hash), err
}

// SelectedSignatureAlgorithm is the algorithm of the server's signature
// (s2n_connection_get_selected_signature_algorithm).
func (c *Connection) SelectedSignatureAlgorithm() (SignatureAlgorithm, error) {
	sig, _, err := c.selectedAlgs(false)
	return sig, err
}

// SelectedDigestAlgorithm is the hash of the server's signature
// (s2n_connection_get_selected_digest_algorithm).
func (c *Connection) SelectedDigestAlgorithm() (HashAlgorithm, error) {
	_, hash, err := c.selectedAlgs(false)
	return hash, err
}

// SelectedClientCertSignatureAlgorithm is the algorithm of the client's
// CertificateVerify signature
// (s2n_connection_get_selected_client_cert_signature_algorithm).
func (c *Connection) SelectedClientCertSignatureAlgorithm() (SignatureAlgorithm, error) {
	sig, _, err := c.selectedAlgs(true)
	return sig, err
}

// SelectedClientCertDigestAlgorithm is the hash of the client's
// CertificateVerify signature
// (s2n_connection_get_selected_client_cert_digest_algorithm).
func (c *Connection) SelectedClientCertDigestAlgorithm() (HashAlgorithm, error) {
	_, hash, err := c.selectedAlgs(true)
	return hash, err
}

// ProtocolVersion is the negotiated protocol version
// (s2n_connection_get_actual_protocol_version); 0 if the connection is closed.
func (c *Connection) ProtocolVersion() ProtocolVersion {
	var v C.int
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		v = C.s2n_connection_get_actual_protocol_version(p)
		return 0
	})
	return ProtocolVersion(v)
}

// CipherSuite is the negotiated cipher suite, in s2n's (OpenSSL-style) naming
// (s2n_connection_get_cipher); "" before the handshake or once closed.
func (c *Connection) CipherSuite() string {
	var name string
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		if cs := C.s2n_connection_get_cipher(p); cs != nil {
			name = C.GoString(cs)
		}
		return 0
	})
	return name
}

// Delay is how long s2n asks the application to wait before closing after a
// failed handshake when SelfServiceBlinding is set (s2n_connection_get_delay).
func (c *Connection) Delay() time.Duration {
	var d C.uint64_t
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		d = C.s2n_connection_get_delay(p)
		return 0
	})
	return time.Duration(d)
}

// Wipe resets the connection for reuse, keeping its mode and Config
// (s2n_connection_wipe). Async operations still pending are freed first.
func (c *Connection) Wipe() error {
	s := c.state()
	if err := s.drive("Wipe"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.freeOps()
	s.asyncErr.Store(nil) // the freed ops' failures belong to the old handshake
	var e C.go_s2n_error
	if C.go_s2n_connection_wipe(s.ptr, C.uintptr_t(s.h), &e) < 0 {
		return newError(&e, nil)
	}
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
	if s.config != nil {
		s.config.release()
		s.config = nil
	}
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
	return &Error{Type: ErrorTypeInternal, Name: nameAsyncFailed, Message: "async private-key operation failed", cause: err}
}

// fail records the first asynchronous failure and wakes the handshake.
func (s *connState) fail(err error) {
	s.asyncErr.CompareAndSwap(nil, &err)
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

// KeyExchangeGroup is the negotiated (EC)DHE or hybrid post-quantum group,
// such as "secp256r1", "x25519" or "X25519MLKEM768"
// (s2n_connection_get_key_exchange_group); "" when none was used (TLS 1.2
// RSA key exchange) or before the handshake.
func (c *Connection) KeyExchangeGroup() string {
	var name string
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		if cs := C.go_s2n_connection_get_key_exchange_group(p); cs != nil {
			name = C.GoString(cs)
		}
		return 0
	})
	return name
}

// ApplicationProtocol is the protocol chosen by ALPN
// (s2n_get_application_protocol); "" if none.
func (c *Connection) ApplicationProtocol() string {
	var name string
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		if cs := C.s2n_get_application_protocol(p); cs != nil {
			name = C.GoString(cs)
		}
		return 0
	})
	return name
}

// ServerName is the SNI name: the one a client set, or the one a server
// received (s2n_get_server_name); "" if none.
func (c *Connection) ServerName() string {
	var name string
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		if cs := C.s2n_get_server_name(p); cs != nil {
			name = C.GoString(cs)
		}
		return 0
	})
	return name
}

// IsSessionResumed reports whether the handshake resumed an earlier session
// (s2n_connection_is_session_resumed).
func (c *Connection) IsSessionResumed() bool {
	var resumed C.int
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		resumed = C.s2n_connection_is_session_resumed(p)
		return 0
	})
	return resumed == 1
}

// PeerCertChain returns the certificates the peer presented, leaf first, in
// DER (s2n_connection_get_peer_cert_chain).
func (c *Connection) PeerCertChain() ([][]byte, error) {
	var raw []byte
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		buf := make([]byte, 2048) // a certificate or two; grown to what s2n needs
		for {
			need := C.go_s2n_connection_get_peer_chain(p, (*C.uint8_t)(&buf[0]), C.uint32_t(len(buf)), e)
			if need < 0 {
				return -1
			}
			if int(need) <= len(buf) {
				raw = buf[:need]
				return 0
			}
			buf = make([]byte, need)
		}
	})
	if err != nil {
		return nil, err
	}
	var certs [][]byte
	for len(raw) >= 4 {
		n := int(raw[0])<<24 | int(raw[1])<<16 | int(raw[2])<<8 | int(raw[3])
		certs = append(certs, raw[4:4+n])
		raw = raw[4+n:]
	}
	return certs, nil
}

// maxSessionSize bounds serialized session state (tickets are a few hundred
// bytes).
const maxSessionSize = 1 << 16

// SetSession offers a session saved from an earlier connection, for
// resumption (s2n_connection_set_session). Client only.
func (c *Connection) SetSession(session []byte) error {
	if len(session) == 0 || len(session) > maxSessionSize {
		return usageError(nameInvalidArg, "session state of %d bytes", len(session))
	}
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_session(p, (*C.uint8_t)(&session[0]), C.uint32_t(len(session)), e)
	})
}

// Session returns the state needed to resume this session later, or nil
// when there is none (yet: TLS 1.3 tickets arrive after the handshake, with
// the first Recv) (s2n_connection_get_session).
func (c *Connection) Session() ([]byte, error) {
	var out []byte
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		buf := make([]byte, 4096)
		n := C.go_s2n_connection_get_session(p, (*C.uint8_t)(&buf[0]), C.uint32_t(len(buf)), e)
		if int(n) > len(buf) {
			buf = make([]byte, n)
			n = C.go_s2n_connection_get_session(p, (*C.uint8_t)(&buf[0]), C.uint32_t(len(buf)), e)
		}
		if n > 0 {
			out = buf[:n]
		}
		return min(n, 0)
	})
	return out, err
}
