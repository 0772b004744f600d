package s2n

// Early data (TLS 1.3 0-RTT): a client sends application data in its first
// flight, encrypted under a PSK, before the handshake completes.
//
// Replay: early data is not protected against replay. An attacker who
// records a client's first flight can send it to the server again (to the
// same server, or to another one that shares the PSK or the session ticket
// keys), and each copy's early data is accepted as fresh. s2n does not
// detect this: it rejects early data that breaks TLS's own rules (RFC 8446
// section 4.2.10: wrong PSK, cipher suite, ALPN protocol, over the maximum
// size), nothing else. The application must (RFC 8446 section 8):
//   - accept as early data only requests that are safe to run twice
//     (idempotent ones, like an HTTP GET without side effects), or
//   - keep its own anti-replay record (a single-use ticket store, or a
//     record of ClientHello values within a time window) and reject early
//     data it has seen, from an EarlyDataFunc.
//
// Early data also lacks forward secrecy against the compromise of the PSK.

// #include "cgo_helpers.h"
import "C"

import (
	"errors"
	"unsafe"
)

// EarlyDataStatus is the state of early data on a connection
// (s2n_early_data_status_t).
type EarlyDataStatus int

const (
	// EarlyDataOK: early data is in progress.
	EarlyDataOK EarlyDataStatus = C.S2N_EARLY_DATA_STATUS_OK
	// EarlyDataNotRequested: the client offered none.
	EarlyDataNotRequested EarlyDataStatus = C.S2N_EARLY_DATA_STATUS_NOT_REQUESTED
	// EarlyDataRejected: the client offered early data and the server
	// rejected it: data the client sent was not received.
	EarlyDataRejected EarlyDataStatus = C.S2N_EARLY_DATA_STATUS_REJECTED
	// EarlyDataEnd: all early data was sent and received.
	EarlyDataEnd EarlyDataStatus = C.S2N_EARLY_DATA_STATUS_END
)

func (s EarlyDataStatus) String() string {
	switch s {
	case EarlyDataOK:
		return "ok"
	case EarlyDataNotRequested:
		return "not requested"
	case EarlyDataRejected:
		return "rejected"
	case EarlyDataEnd:
		return "end"
	}
	return "unknown"
}

// SetServerMaxEarlyDataSize sets the most early data a server accepts, in
// bytes (s2n_config_set_server_max_early_data_size); 0, the default,
// rejects all. A connection's own maximum, and a PSK's, take precedence.
func (c *Config) SetServerMaxEarlyDataSize(n uint32) error {
	rec := setting{name: "SetServerMaxEarlyDataSize", replay: func(d *Config) error { return d.SetServerMaxEarlyDataSize(n) }}
	err := c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_server_max_early_data_size(p, C.uint32_t(n), e)
	})
	if err == nil {
		c.s.maxEarly = n
	}
	return err
}

// SetServerMaxEarlyDataSize sets the most early data this server
// connection accepts, in place of its Config's
// (s2n_connection_set_server_max_early_data_size).
func (c *Connection) SetServerMaxEarlyDataSize(n uint32) error {
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_server_max_early_data_size(p, C.uint32_t(n), e)
	})
}

// SetServerEarlyDataContext sets bytes that s2n stores in the session
// tickets this server connection issues and hands to the EarlyDataFunc of
// a later connection resuming one (s2n_connection_set_server_early_data_context).
// It does not apply to external PSKs: see PSK.SetEarlyDataContext.
func (c *Connection) SetServerEarlyDataContext(ctx []byte) error {
	if len(ctx) > maxPSKField {
		return usageError(nameInvalidArg, "early data context longer than %d bytes", maxPSKField)
	}
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_server_early_data_context(p, bytesArg(ctx), C.uint16_t(len(ctx)), e)
	})
}

// ConfigureEarlyData lets the PSK carry up to maxSize bytes of early data
// with the TLS 1.3 cipher suite whose IANA value is cipherSuite (for
// example 0x1301, TLS_AES_128_GCM_SHA256) (s2n_psk_configure_early_data).
// Early data is used only if the handshake negotiates that suite, whose
// hash must be the PSK's. On a server the PSK's maximum takes precedence
// over the Config's and the connection's.
func (k *PSK) ConfigureEarlyData(maxSize uint32, cipherSuite uint16) error {
	return k.with(func(p *C.struct_s2n_psk, e *C.go_s2n_error) C.int {
		return C.go_s2n_psk_configure_early_data(p, C.uint32_t(maxSize), C.uint8_t(cipherSuite>>8), C.uint8_t(cipherSuite), e)
	})
}

// SetApplicationProtocol sets the ALPN protocol early data under this PSK
// belongs to (s2n_psk_set_application_protocol): early data is used only
// if the handshake negotiates it.
func (k *PSK) SetApplicationProtocol(proto string) error {
	if len(proto) > 255 {
		return usageError(nameInvalidArg, "application protocol longer than 255 bytes")
	}
	b := []byte(proto)
	return k.with(func(p *C.struct_s2n_psk, e *C.go_s2n_error) C.int {
		return C.go_s2n_psk_set_application_protocol(p, bytesArg(b), C.uint8_t(len(b)), e)
	})
}

// SetEarlyDataContext sets bytes handed to a server's EarlyDataFunc when
// early data comes under this PSK (s2n_psk_set_early_data_context).
func (k *PSK) SetEarlyDataContext(ctx []byte) error {
	if len(ctx) > maxPSKField {
		return usageError(nameInvalidArg, "early data context longer than %d bytes", maxPSKField)
	}
	return k.with(func(p *C.struct_s2n_psk, e *C.go_s2n_error) C.int {
		return C.go_s2n_psk_set_early_data_context(p, bytesArg(ctx), C.uint16_t(len(ctx)), e)
	})
}

// EarlyDataStatus reports the state of early data on the connection
// (s2n_connection_get_early_data_status).
func (c *Connection) EarlyDataStatus() (EarlyDataStatus, error) {
	var st C.s2n_early_data_status_t
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_get_early_data_status(p, &st, e)
	})
	return EarlyDataStatus(st), err
}

// RemainingEarlyDataSize is how many more bytes of early data the
// connection allows: 0 if early data was rejected or not requested
// (s2n_connection_get_remaining_early_data_size).
func (c *Connection) RemainingEarlyDataSize() (uint32, error) {
	var n C.uint32_t
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_get_remaining_early_data_size(p, &n, e)
	})
	return uint32(n), err
}

// MaxEarlyDataSize is the most early data the connection may ever send or
// receive, whatever its status (s2n_connection_get_max_early_data_size).
func (c *Connection) MaxEarlyDataSize() (uint32, error) {
	var n C.uint32_t
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_get_max_early_data_size(p, &n, e)
	})
	return uint32(n), err
}

// SendEarlyData starts or continues a client's handshake and sends b as
// early data (s2n_send_early_data): it returns how many bytes of b were
// sent, and Blocked and errors as Negotiate does. Call it until all of b
// is sent or it returns 0 with a nil error (the session allows no more
// early data), then call Negotiate to finish the handshake. Read the
// package's early data notes on replay first.
func (c *Connection) SendEarlyData(b []byte) (int, Blocked, error) {
	s := c.state()
	if err := s.drive(c, "SendEarlyData"); err != nil {
		return 0, NotBlocked, err
	}
	var n C.ssize_t
	rc := C.go_s2n_send_early_data(s.ptr, bytesArg(b), C.ssize_t(len(b)), &n, &s.blocked, &s.e)
	return int(n), Blocked(s.blocked), s.finishEarly(rc)
}

// RecvEarlyData starts or continues a server's handshake and reads early
// data into b (s2n_recv_early_data): it returns how many bytes it read,
// and Blocked and errors as Negotiate does. Call it until it returns 0
// bytes with a nil error and NotBlocked (no more early data), then call
// Negotiate to finish the handshake. Data read here may be a replay: read
// the package's early data notes.
func (c *Connection) RecvEarlyData(b []byte) (int, Blocked, error) {
	s := c.state()
	if err := s.drive(c, "RecvEarlyData"); err != nil {
		return 0, NotBlocked, err
	}
	// See go_s2n_early_rejected (transport.c): with a Conn's in-memory
	// transport, rejected early data is left for the Negotiate after the
	// early data phase. The buffers are set here, under the connection's
	// lock, because a Close may free them once the call has returned.
	if s.io != nil {
		s.io.in_early = 1
	}
	var n C.ssize_t
	rc := C.go_s2n_recv_early_data(s.ptr, bytesArg(b), C.ssize_t(len(b)), &n, &s.blocked, &s.e)
	if s.io != nil {
		s.io.in_early = 0
	}
	return int(n), Blocked(s.blocked), s.finishEarly(rc)
}

// finishEarly ends SendEarlyData or RecvEarlyData as Negotiate ends: a
// failure recorded off the driving goroutine (an EarlyDataFunc answered
// asynchronously) is returned instead of blocking for ever.
func (s *connState) finishEarly(rc C.int) error {
	if rc < 0 && Blocked(s.blocked) == BlockedOnApplicationInput && s.cbErr == nil {
		if err := s.failure(); err != nil {
			s.finish(false, nil)
			return asyncFailure(err)
		}
	}
	return s.finish(rc < 0, &s.e)
}

// EarlyDataFunc decides, on a server, whether to accept the early data a
// client offers, once s2n has found it acceptable by TLS's rules: it calls
// offered.Accept or offered.Reject, in the call or later from any
// goroutine (the handshake then waits, BlockedOnApplicationInput, and a
// [Conn] parks until the answer). An error or a panic fails the
// handshake. It runs as a callback of conn, on the handshake's thread.
// This is where an application keeps its anti-replay record.
type EarlyDataFunc func(conn *Connection, offered *OfferedEarlyData) error

// SetEarlyDataCallback sets the function a server runs on offered early
// data (s2n_config_set_early_data_cb). A nil fn removes it, and s2n
// accepts early data that TLS's rules allow.
func (c *Config) SetEarlyDataCallback(fn EarlyDataFunc) error {
	rec := setting{name: "SetEarlyDataCallback", replay: func(d *Config) error { return d.SetEarlyDataCallback(fn) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_early_data_callback(p, cBool(fn != nil), e) < 0 {
			return -1
		}
		c.s.earlyDataFn = fn
		return 0
	})
}

// OfferedEarlyData is early data a client offered (s2n_offered_early_data),
// handed to an EarlyDataFunc; it is answered once, with Accept or Reject,
// from any goroutine, until the connection is wiped or closed.
type OfferedEarlyData struct {
	s   *connState
	p   *C.struct_s2n_offered_early_data
	gen uint64
}

var errEarlyDataStale = errors.New("s2n: OfferedEarlyData answered after its connection was wiped or closed")

// with runs f under the connection's lock, failing if the handshake that
// offered the data is over.
func (d *OfferedEarlyData) with(f func(e *C.go_s2n_error) C.int) error {
	s := d.s
	cb, err := s.lock()
	if err != nil {
		return err
	}
	defer s.unlock(cb)
	if s.gen.Load() != d.gen {
		return usageError(nameInvalidArg, "%v", errEarlyDataStale)
	}
	if f(&s.e) < 0 {
		return newError(&s.e, nil)
	}
	return nil
}

// Context returns the early data context of the PSK or session ticket the
// data came under (s2n_offered_early_data_get_context_length,
// s2n_offered_early_data_get_context).
func (d *OfferedEarlyData) Context() ([]byte, error) {
	var out []byte
	err := d.with(func(e *C.go_s2n_error) C.int {
		var n C.uint16_t
		if C.go_s2n_offered_early_data_get_context_length(d.p, &n, e) < 0 {
			return -1
		}
		out = make([]byte, int(n))
		if n == 0 {
			return 0
		}
		return C.go_s2n_offered_early_data_get_context(d.p, (*C.uint8_t)(unsafe.Pointer(&out[0])), n, e)
	})
	return out, err
}

// Accept accepts the early data (s2n_offered_early_data_accept) and wakes
// a [Conn] parked on the answer.
func (d *OfferedEarlyData) Accept() error {
	err := d.with(func(e *C.go_s2n_error) C.int { return C.go_s2n_offered_early_data_accept(d.p, e) })
	if err == nil {
		d.s.notify()
	}
	return err
}

// Reject rejects the early data (s2n_offered_early_data_reject): the
// handshake goes on without it, and the client learns that its early data
// was not received. It wakes a [Conn] parked on the answer.
func (d *OfferedEarlyData) Reject() error {
	err := d.with(func(e *C.go_s2n_error) C.int { return C.go_s2n_offered_early_data_reject(d.p, e) })
	if err == nil {
		d.s.notify()
	}
	return err
}
