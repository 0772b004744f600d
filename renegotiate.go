package s2n

// #include "cgo_helpers.h"
import "C"

import "unsafe"

// Client-side TLS 1.2 renegotiation (RFC 5746, secure renegotiation only):
// a server may ask an established connection for a new handshake with a
// HelloRequest. s2n has no server side, and TLS 1.3 has no renegotiation.

// RenegotiateResponse is a client's answer to a server's request to
// renegotiate (s2n_renegotiate_response).
type RenegotiateResponse int

// The answers to a renegotiation request.
const (
	// RenegotiateIgnore: do nothing (s2n's behaviour without a callback).
	RenegotiateIgnore RenegotiateResponse = C.S2N_RENEGOTIATE_IGNORE
	// RenegotiateReject: send the server a no_renegotiation warning alert.
	RenegotiateReject RenegotiateResponse = C.S2N_RENEGOTIATE_REJECT
	// RenegotiateAccept: the application renegotiates later, with
	// RenegotiateWipe and Renegotiate, once Recv has returned.
	RenegotiateAccept RenegotiateResponse = C.S2N_RENEGOTIATE_ACCEPT
)

// BlockedOnApplicationData is what Renegotiate reports, with ErrBlocked,
// when application data arrived during the new handshake and was read
// into its buffer (s2n's S2N_BLOCKED_ON_APPLICATION_DATA, the same value
// as BlockedOnEarlyData).
const BlockedOnApplicationData = BlockedOnEarlyData

// RenegotiateRequestFunc answers a server's HelloRequest for conn.
type RenegotiateRequestFunc func(conn *Connection) RenegotiateResponse

// SetRenegotiateRequestCallback makes TLS 1.2 clients using this Config
// call fn when the server asks to renegotiate
// (s2n_config_set_renegotiate_request_cb); without it s2n ignores such
// requests. fn runs inside Recv, as a callback of the connection: it may
// call the connection's getters, and must not call Recv, Send,
// RenegotiateWipe or Renegotiate. To renegotiate, fn returns
// RenegotiateAccept and the application, once Recv has returned, calls
// RenegotiateWipe then Renegotiate until it succeeds. A panic in fn fails
// the Recv. A nil fn removes the callback.
//
// A client [Conn] answers by itself, inside the Read that read the
// request: after RenegotiateAccept it runs the new handshake
// (RenegotiateWipe, its server name and blinding set again, Renegotiate),
// keeps application data that arrives meanwhile for the next Reads, and
// takes a new ConnectionState; after RenegotiateReject it sends the
// no_renegotiation alert at once. Writes wait meanwhile; the read deadline
// bounds the new handshake, and its failure ends the Conn.
//
// With a callback set, Recv and
// Shutdown of these connections copy through a buffer of the binding's (at
// most 16 KiB a call), and the connections cannot use kTLS.
func (c *Config) SetRenegotiateRequestCallback(fn RenegotiateRequestFunc) error {
	rec := setting{name: "SetRenegotiateRequestCallback", replay: func(d *Config) error { return d.SetRenegotiateRequestCallback(fn) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_renegotiate_request_callback(p, cBool(fn != nil), e) < 0 {
			return -1
		}
		c.s.renegotiateFn = fn
		return 0
	})
}

// RenegotiateWipe prepares an established TLS 1.2 client connection for a
// new handshake (s2n_renegotiate_wipe). It keeps the Config, the transport
// and the current keys (used until the new handshake completes), and
// resets the rest as Wipe does: set the server name, blinding and other
// per-connection settings again before Renegotiate. It fails while s2n
// holds unread application data: Recv it first.
func (c *Connection) RenegotiateWipe() error {
	s := c.state()
	if err := s.drive(c, "RenegotiateWipe"); err != nil {
		return err
	}
	defer s.finish(false, nil)
	s.opsMu.Lock()
	s.gen.Add(1)
	s.asyncErr.Store(nil)
	s.lookup = nil
	s.opsMu.Unlock()
	s.ticketCached.Store(false)
	s.freeOps()
	var e C.go_s2n_error
	if C.go_s2n_renegotiate_wipe(s.ptr, C.uintptr_t(s.h), &e) < 0 {
		return newError(&e, nil)
	}
	s.releaseRetired()
	s.verifyHost = nil // the wipe dropped the callback
	return nil
}

// Renegotiate runs the new handshake after RenegotiateWipe
// (s2n_renegotiate), like Negotiate: call it until it returns nil. Data
// the server sends before its part of the handshake is read into b: then
// Renegotiate returns the number of bytes read, BlockedOnApplicationData
// and ErrBlocked, and is to be called again.
func (c *Connection) Renegotiate(b []byte) (int, Blocked, error) {
	s := c.state()
	if err := s.drive(c, "Renegotiate"); err != nil {
		return 0, NotBlocked, err
	}
	// The handshake's callbacks may run: every pointer passed is on the
	// heap (go_s2n_renegotiate is not marked noescape).
	var n C.ssize_t
	rc := C.go_s2n_renegotiate(s.ptr, (*C.uint8_t)(unsafe.SliceData(b)), C.ssize_t(len(b)), &n, &s.blocked, &s.e)
	blocked := s.blocked
	err := s.finish(rc < 0, &s.e)
	return max(int(n), 0), Blocked(blocked), err
}
