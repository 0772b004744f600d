package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"encoding/binary"
	"sync"
	"unsafe"
)

// ClientHelloFunc is called on a server once s2n has parsed the peer's
// ClientHello, before anything is chosen from it: it may read ch, swap the
// connection's Config (Connection.SetConfig: a certificate or policy per
// server name), or refuse the handshake by returning an error. A panic is
// recovered and refuses the handshake too; it never reaches C. It runs as a
// callback of conn, on the thread of Negotiate: in ClientHelloBlocking mode
// do not block for long; in ClientHelloNonBlocking mode return at once and
// call conn.ClientHelloDone when the work is done. ch is valid until conn is
// wiped or closed.
type ClientHelloFunc func(conn *Connection, ch *ClientHello) error

// SetClientHelloCallback sets the function called with each ClientHello a
// server receives, and its mode (s2n_config_set_client_hello_cb,
// s2n_config_set_client_hello_cb_mode). A nil fn removes it. If the
// callback changes the connection's settings on the strength of the server
// name, it must call [Connection.ServerNameExtensionUsed].
func (c *Config) SetClientHelloCallback(fn ClientHelloFunc, mode ClientHelloCallbackMode) error {
	return c.setClientHello(fn, mode, setting{name: "SetClientHelloCallback", kind: settingHello,
		replay: func(d *Config) error { return d.SetClientHelloCallback(fn, mode) }})
}

// setClientHello sets the ClientHello callback, recorded as rec.
func (c *Config) setClientHello(fn ClientHelloFunc, mode ClientHelloCallbackMode, rec setting) error {
	if mode != ClientHelloBlocking && mode != ClientHelloNonBlocking {
		return usageError(nameInvalidArg, "unknown ClientHello callback mode %d", mode)
	}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_client_hello_callback(p, cBool(fn != nil), C.s2n_client_hello_cb_mode(mode), e) < 0 {
			return -1
		}
		c.s.clientHelloFn = fn
		return 0
	})
}

// ClientHelloDone resumes a handshake paused by a ClientHelloFunc in
// ClientHelloNonBlocking mode (s2n_client_hello_cb_done). It may be called
// inside the callback or from any goroutine afterwards; a [Conn] parked on
// it wakes up. The connection's Config may have been swapped (SetConfig)
// for one in another mode: s2n checks the mode of the current Config, so
// the binding marks the callback done against the Config whose callback
// ran, then puts the current one back, in one locked step.
func (c *Connection) ClientHelloDone() error {
	s := c.state()
	cb, err := s.lock()
	if err != nil {
		return err
	}
	err = s.clientHelloDoneLocked()
	s.unlock(cb)
	if err == nil {
		s.notify()
	}
	return err
}

// clientHelloDoneLocked is ClientHelloDone with the lock held, without the
// notification.
func (s *connState) clientHelloDoneLocked() error {
	var cb, cur *C.struct_s2n_config
	if s.helloConfig != nil {
		cb = s.helloConfig.ptr
	}
	if s.config != nil {
		cur = s.config.ptr
	}
	if C.go_s2n_client_hello_done(s.ptr, cb, cur, &s.e) < 0 {
		return newError(&s.e, nil)
	}
	return nil
}

// SetConfigForClient sets a function that picks the Config of each server
// connection from its ClientHello, like crypto/tls's GetConfigForClient. It
// runs on a goroutine of its own, not on the handshake's thread (the
// ClientHello callback in ClientHelloNonBlocking mode): a slow lookup (a
// database, a secret store, a KMS) parks a [Conn]'s handshake, it holds no
// OS thread. It returns the Config to use, or nil to keep this one; an error
// or a panic ends the handshake with it as the cause. A switch to another
// Config marks the server name as used (ServerNameExtensionUsed). It
// replaces any ClientHello callback of this Config; fn nil removes it.
//
// A connection driven with Negotiate sees BlockedOnApplicationInput until
// fn has returned; the lookup's answer for a connection wiped or closed
// meanwhile is dropped.
func (c *Config) SetConfigForClient(fn func(*ClientHello) (*Config, error)) error {
	rec := setting{name: "SetConfigForClient", kind: settingHello, replay: func(d *Config) error { return d.SetConfigForClient(fn) }}
	if fn == nil {
		return c.setClientHello(nil, ClientHelloBlocking, rec)
	}
	return c.setClientHello(func(conn *Connection, ch *ClientHello) error {
		s := conn.state()
		gen := s.gen.Load()
		go s.finishConfigForClient(gen, fn, ch)
		return nil
	}, ClientHelloNonBlocking, rec)
}

// finishConfigForClient runs fn, then finishes the ClientHello callback of
// handshake gen with its answer.
func (s *connState) finishConfigForClient(gen uint64, fn func(*ClientHello) (*Config, error), ch *ClientHello) {
	cfg, err := callConfigForClient(fn, ch)
	if err == nil && cfg != nil && (cfg.s == nil || cfg.closed.Load()) {
		err = usageError(nameInvalidArg, "SetConfigForClient's function returned a closed or zero Config")
	}
	s.finishHello(gen, cfg, err)
}

// finishHello ends a non-blocking ClientHello callback run for handshake
// gen: under the connection's lock, and if the handshake is still
// generation gen, it switches to cfg (nil: keeps the Config) and resumes
// the handshake; err, or a failure to do so, is recorded for the handshake
// to return.
func (s *connState) finishHello(gen uint64, cfg *Config, err error) {
	if err == nil {
		cb, lerr := s.lock()
		if lerr != nil {
			return // closed meanwhile
		}
		if s.gen.Load() != gen {
			s.unlock(cb)
			return // wiped meanwhile: the answer is for an earlier handshake
		}
		if cfg != nil && cfg.s != s.config {
			err = s.setConfigLocked(cfg)
			if err == nil && C.go_s2n_connection_server_name_extension_used(s.ptr, &s.e) < 0 {
				err = newError(&s.e, nil)
			}
		}
		if err == nil {
			err = s.clientHelloDoneLocked()
		}
		s.unlock(cb)
	}
	if err != nil {
		s.fail(gen, err)
		return
	}
	s.notify()
}

// callConfigForClient runs fn; a panic becomes a *PanicError.
func callConfigForClient(fn func(*ClientHello) (*Config, error), ch *ClientHello) (cfg *Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			cfg, err = nil, &PanicError{Value: r}
		}
	}()
	return fn(ch)
}

// ServerNameExtensionUsed tells s2n that the ClientHello callback changed
// the connection's settings on the strength of the server name, so that
// s2n acknowledges the extension (s2n_connection_server_name_extension_used).
// Call it before ClientHelloDone.
func (c *Connection) ServerNameExtensionUsed() error {
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_server_name_extension_used(p, e)
	})
}

// ClientHelloVersion is the protocol version the peer's ClientHello asked
// for (s2n_connection_get_client_hello_version).
func (c *Connection) ClientHelloVersion() (ProtocolVersion, error) {
	var v C.int
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		v = C.go_s2n_connection_get_client_hello_version(p, e)
		return v
	})
	return ProtocolVersion(v), err
}

// ClientHello returns the ClientHello the server received
// (s2n_connection_get_client_hello); its accessors fail until one has been
// received.
func (c *Connection) ClientHello() *ClientHello { return &ClientHello{conn: c} }

// ClientHello is a ClientHello message: the one a server connection received
// ([Connection.ClientHello], or the argument of a ClientHelloFunc), read
// from the connection at each call, or one parsed from bytes by
// [ParseClientHello], which owns its memory until Close. Its accessors
// return copies.
type ClientHello struct {
	conn *Connection

	mu     sync.Mutex // parsed only
	ptr    *C.struct_s2n_client_hello
	closed bool
}

// ParseClientHello parses a ClientHello handshake message, without its
// record header (s2n_client_hello_parse_message): for fingerprinting or
// inspecting ClientHellos captured elsewhere. Close frees it.
func ParseClientHello(msg []byte) (*ClientHello, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	if len(msg) == 0 {
		return nil, usageError(nameInvalidArg, "empty ClientHello message")
	}
	var e C.go_s2n_error
	p := C.go_s2n_client_hello_parse_message((*C.uint8_t)(unsafe.Pointer(&msg[0])), C.uint32_t(len(msg)), &e)
	if p == nil {
		return nil, newError(&e, nil)
	}
	liveHandles.Add(1)
	return &ClientHello{ptr: p}, nil
}

// Close frees a ClientHello made by ParseClientHello (s2n_client_hello_free).
// It is idempotent, and does nothing for a connection's ClientHello.
func (ch *ClientHello) Close() error {
	if ch.conn != nil {
		return nil
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.closed {
		return nil
	}
	ch.closed = true
	liveHandles.Add(-1)
	var e C.go_s2n_error
	if C.go_s2n_client_hello_free(&ch.ptr, &e) < 0 {
		return newError(&e, nil)
	}
	return nil
}

// with runs f on the C ClientHello: the connection's, under its lock, or
// the parsed one, under ch's.
func (ch *ClientHello) with(f func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.int) error {
	if ch == nil {
		return usageError(nameInvalidArg, "nil *ClientHello")
	}
	if ch.conn != nil {
		return ch.conn.simple(func(cp *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
			p := C.go_s2n_connection_get_client_hello(cp, e)
			if p == nil {
				return -1
			}
			return f(p, e)
		})
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.closed || ch.ptr == nil {
		return closedError("ClientHello")
	}
	var e C.go_s2n_error
	if f(ch.ptr, &e) < 0 {
		return newError(&e, nil)
	}
	return nil
}

// sized reads a variable-length field: n returns its length, get fills out.
func (ch *ClientHello) sized(n func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.ssize_t,
	get func(p *C.struct_s2n_client_hello, out *C.uint8_t, max C.uint32_t, e *C.go_s2n_error) C.ssize_t) ([]byte, error) {
	var out []byte
	err := ch.with(func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.int {
		l := n(p, e)
		if l < 0 {
			return -1
		}
		out = make([]byte, l)
		if l == 0 {
			return 0
		}
		got := get(p, (*C.uint8_t)(unsafe.Pointer(&out[0])), C.uint32_t(l), e)
		if got < 0 {
			return -1
		}
		out = out[:got]
		return 0
	})
	return out, err
}

// Raw returns the ClientHello message, without its handshake header
// (s2n_client_hello_get_raw_message_length, s2n_client_hello_get_raw_message).
// An SSLv2 ClientHello is returned in its own format.
func (ch *ClientHello) Raw() ([]byte, error) {
	return ch.sized(
		func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.ssize_t {
			return C.go_s2n_client_hello_get_raw_message_length(p, e)
		},
		func(p *C.struct_s2n_client_hello, out *C.uint8_t, max C.uint32_t, e *C.go_s2n_error) C.ssize_t {
			return C.go_s2n_client_hello_get_raw_message(p, out, max, e)
		})
}

// CipherSuites returns the offered cipher suites, as IANA codes in the
// client's order (s2n_client_hello_get_cipher_suites_length,
// s2n_client_hello_get_cipher_suites).
func (ch *ClientHello) CipherSuites() ([]uint16, error) {
	b, err := ch.sized(
		func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.ssize_t {
			return C.go_s2n_client_hello_get_cipher_suites_length(p, e)
		},
		func(p *C.struct_s2n_client_hello, out *C.uint8_t, max C.uint32_t, e *C.go_s2n_error) C.ssize_t {
			return C.go_s2n_client_hello_get_cipher_suites(p, out, max, e)
		})
	if err != nil {
		return nil, err
	}
	return uint16s(b), nil
}

// Extensions returns the extensions block as sent: type, length and data of
// each (s2n_client_hello_get_extensions_length, s2n_client_hello_get_extensions).
func (ch *ClientHello) Extensions() ([]byte, error) {
	return ch.sized(
		func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.ssize_t {
			return C.go_s2n_client_hello_get_extensions_length(p, e)
		},
		func(p *C.struct_s2n_client_hello, out *C.uint8_t, max C.uint32_t, e *C.go_s2n_error) C.ssize_t {
			return C.go_s2n_client_hello_get_extensions(p, out, max, e)
		})
}

// Extension returns the data of the extension with IANA code id, and
// whether the ClientHello has it (s2n_client_hello_has_extension,
// s2n_client_hello_get_extension_length, s2n_client_hello_get_extension_by_id).
func (ch *ClientHello) Extension(id uint16) ([]byte, bool, error) {
	var exists C.bool
	if err := ch.with(func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.int {
		return C.go_s2n_client_hello_has_extension(p, C.uint16_t(id), &exists, e)
	}); err != nil || !exists {
		return nil, false, err
	}
	b, err := ch.sized(
		func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.ssize_t {
			return C.go_s2n_client_hello_get_extension_length(p, C.s2n_tls_extension_type(id), e)
		},
		func(p *C.struct_s2n_client_hello, out *C.uint8_t, max C.uint32_t, e *C.go_s2n_error) C.ssize_t {
			return C.go_s2n_client_hello_get_extension_by_id(p, C.s2n_tls_extension_type(id), out, max, e)
		})
	if err != nil {
		return nil, true, err
	}
	return b, true, nil
}

// SessionID returns the legacy session ID (s2n_client_hello_get_session_id_length,
// s2n_client_hello_get_session_id).
func (ch *ClientHello) SessionID() ([]byte, error) {
	var out []byte
	err := ch.with(func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.int {
		var n C.uint32_t
		if C.go_s2n_client_hello_get_session_id_length(p, &n, e) < 0 {
			return -1
		}
		out = make([]byte, n+1) // never empty, for the pointer
		if C.go_s2n_client_hello_get_session_id(p, (*C.uint8_t)(unsafe.Pointer(&out[0])), &n, n+1, e) < 0 {
			return -1
		}
		out = out[:n]
		return 0
	})
	return out, err
}

// CompressionMethods returns the offered compression methods
// (s2n_client_hello_get_compression_methods_length,
// s2n_client_hello_get_compression_methods).
func (ch *ClientHello) CompressionMethods() ([]byte, error) {
	var out []byte
	err := ch.with(func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.int {
		var n C.uint32_t
		if C.go_s2n_client_hello_get_compression_methods_length(p, &n, e) < 0 {
			return -1
		}
		out = make([]byte, n+1)
		if C.go_s2n_client_hello_get_compression_methods(p, (*C.uint8_t)(unsafe.Pointer(&out[0])), n+1, &n, e) < 0 {
			return -1
		}
		out = out[:n]
		return 0
	})
	return out, err
}

// LegacyVersion returns the legacy_version field, e.g. 0x0303 for a TLS 1.3
// or 1.2 ClientHello (s2n_client_hello_get_legacy_protocol_version, which
// reports it as s2n's major*10+minor, converted here to the wire value).
func (ch *ClientHello) LegacyVersion() (uint16, error) {
	var v C.uint8_t
	err := ch.with(func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.int {
		return C.go_s2n_client_hello_get_legacy_protocol_version(p, &v, e)
	})
	return wireVersion(uint8(v)), err
}

// LegacyRecordVersion returns the version of the record that carried the
// ClientHello, as a wire value (s2n_client_hello_get_legacy_record_version).
// It is known only for the ClientHello a connection received.
func (ch *ClientHello) LegacyRecordVersion() (uint16, error) {
	var v C.uint8_t
	err := ch.with(func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.int {
		return C.go_s2n_client_hello_get_legacy_record_version(p, &v, e)
	})
	return wireVersion(uint8(v)), err
}

// wireVersion turns s2n's protocol number (30 for SSLv3, 33 for TLS 1.2)
// into the wire value (0x0300, 0x0303).
func wireVersion(v uint8) uint16 { return uint16(v/10)<<8 | uint16(v%10) }

// Random returns the 32-byte client random (s2n_client_hello_get_random).
func (ch *ClientHello) Random() ([]byte, error) {
	out := make([]byte, 32)
	err := ch.with(func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.int {
		return C.go_s2n_client_hello_get_random(p, (*C.uint8_t)(unsafe.Pointer(&out[0])), C.uint32_t(len(out)), e)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// maxGroups bounds the supported groups read: the extension holds at most
// 65535/2 of them.
const maxGroups = 65535 / 2

// SupportedGroups returns the IANA codes of the supported_groups extension
// (s2n_client_hello_get_supported_groups); it fails if the extension is
// absent or malformed.
func (ch *ClientHello) SupportedGroups() ([]uint16, error) {
	var out []uint16
	err := ch.with(func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.int {
		n := C.go_s2n_client_hello_get_extension_length(p, C.S2N_EXTENSION_SUPPORTED_GROUPS, e)
		if n < 0 {
			return -1
		}
		out = make([]uint16, min(int(n)/2, maxGroups)+1)
		var got C.uint16_t
		if C.go_s2n_client_hello_get_supported_groups(p, (*C.uint16_t)(unsafe.Pointer(&out[0])), C.uint16_t(len(out)), &got, e) < 0 {
			return -1
		}
		out = out[:got]
		return 0
	})
	return out, err
}

// ServerName returns the first name of the server_name extension, "" if
// there is none (s2n_client_hello_get_server_name_length,
// s2n_client_hello_get_server_name).
func (ch *ClientHello) ServerName() (string, error) {
	if _, ok, err := ch.Extension(C.S2N_EXTENSION_SERVER_NAME); err != nil || !ok {
		return "", err
	}
	var name string
	err := ch.with(func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.int {
		var n C.uint16_t
		if C.go_s2n_client_hello_get_server_name_length(p, &n, e) < 0 {
			return -1
		}
		buf := make([]byte, int(n)+1)
		if C.go_s2n_client_hello_get_server_name(p, (*C.uint8_t)(unsafe.Pointer(&buf[0])), n+1, &n, e) < 0 {
			return -1
		}
		name = string(buf[:n])
		return 0
	})
	return name, err
}

// Fingerprint returns the ClientHello's fingerprint of kind t: its hash
// form and the full string it is computed from (unstable s2n_fingerprint_new,
// s2n_fingerprint_set_client_hello, s2n_fingerprint_get_hash_size,
// s2n_fingerprint_get_hash, s2n_fingerprint_get_raw_size,
// s2n_fingerprint_get_raw, s2n_fingerprint_free). JA3's hash is returned
// hex-encoded, as JA3 tools print it.
func (ch *ClientHello) Fingerprint(t FingerprintType) (hash, raw string, err error) {
	if t != FingerprintJA3 && t != FingerprintJA4 {
		return "", "", usageError(nameInvalidArg, "unknown fingerprint type %d", t)
	}
	err = ch.with(func(p *C.struct_s2n_client_hello, e *C.go_s2n_error) C.int {
		fp := C.go_s2n_fingerprint_new(C.s2n_fingerprint_type(t), e)
		if fp == nil {
			return -1
		}
		defer func() {
			var ignored C.go_s2n_error
			C.go_s2n_fingerprint_free(&fp, &ignored)
		}()
		if C.go_s2n_fingerprint_set_client_hello(fp, p, e) < 0 {
			return -1
		}
		var n C.uint32_t
		if C.go_s2n_fingerprint_get_hash_size(fp, &n, e) < 0 {
			return -1
		}
		hb := make([]byte, n+1)
		if C.go_s2n_fingerprint_get_hash(fp, n+1, (*C.uint8_t)(unsafe.Pointer(&hb[0])), &n, e) < 0 {
			return -1
		}
		hash = string(hb[:n])
		if C.go_s2n_fingerprint_get_raw_size(fp, &n, e) < 0 {
			return -1
		}
		rb := make([]byte, n+1)
		if C.go_s2n_fingerprint_get_raw(fp, n+1, (*C.uint8_t)(unsafe.Pointer(&rb[0])), &n, e) < 0 {
			return -1
		}
		raw = string(rb[:n])
		return 0
	})
	if err != nil {
		return "", "", err
	}
	return hash, raw, nil
}

func uint16s(b []byte) []uint16 {
	out := make([]uint16, len(b)/2)
	for i := range out {
		out[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	return out
}
