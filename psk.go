package s2n

// External pre-shared keys (TLS 1.3): keys agreed outside TLS, offered by a
// client by identity and chosen by a server, so that two endpoints can
// authenticate each other without certificates.

// #include "cgo_helpers.h"
import "C"

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// PSKHMAC is the hash algorithm of a PSK (s2n_psk_hmac): the PSK can only be
// used with TLS 1.3 cipher suites of that hash.
type PSKHMAC int

const (
	PSKHMACSHA256 PSKHMAC = C.S2N_PSK_HMAC_SHA256
	PSKHMACSHA384 PSKHMAC = C.S2N_PSK_HMAC_SHA384
)

// PSKMode says which kind of PSK a connection uses (s2n_psk_mode): those
// from session resumption (tickets, s2n's default) or external ones. A
// connection uses one kind only; appending an external PSK switches it to
// external.
type PSKMode int

const (
	PSKModeResumption PSKMode = C.S2N_PSK_MODE_RESUMPTION
	PSKModeExternal   PSKMode = C.S2N_PSK_MODE_EXTERNAL
)

// maxPSKField is the largest identity or secret s2n takes (a uint16 length).
const maxPSKField = 1<<16 - 1

// PSK is an external pre-shared key (s2n_psk): an identity, a secret and a
// hash algorithm. [Connection.AppendPSK] copies it into a connection, so one
// PSK may be appended to any number of connections and closed afterwards.
// Its methods may be called from any goroutine.
type PSK struct {
	s       *pskState
	closed  atomic.Bool
	cleanup runtime.Cleanup
}

type pskState struct {
	mu  sync.Mutex
	ptr *C.struct_s2n_psk
}

// NewExternalPSK creates an external PSK with identity, secret and hash
// (s2n_external_psk_new, s2n_psk_set_identity, s2n_psk_set_secret,
// s2n_psk_set_hmac). Both sides of a connection must know the same three.
// The secret should be high-entropy key material (RFC 9257): s2n does not
// stretch a low-entropy password. Close frees it (s2n_psk_free).
func NewExternalPSK(identity, secret []byte, hash PSKHMAC) (*PSK, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	var e C.go_s2n_error
	p := C.go_s2n_external_psk_new(&e)
	if p == nil {
		return nil, newError(&e, nil)
	}
	liveHandles.Add(1) // counted with the handles, for the leak gates
	st := &pskState{ptr: p}
	k := &PSK{s: st}
	k.cleanup = runtime.AddCleanup(k, (*pskState).free, st)
	for _, f := range []func() error{
		func() error { return k.SetIdentity(identity) },
		func() error { return k.SetSecret(secret) },
		func() error { return k.SetHMAC(hash) },
	} {
		if err := f(); err != nil {
			k.Close()
			return nil, err
		}
	}
	return k, nil
}

// Close frees the PSK (s2n_psk_free). It is idempotent; connections it was
// appended to keep their own copies.
func (k *PSK) Close() error {
	if k == nil || k.s == nil || k.closed.Swap(true) {
		return nil
	}
	k.cleanup.Stop()
	k.s.free()
	return nil
}

func (st *pskState) free() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ptr == nil {
		return
	}
	var e C.go_s2n_error
	C.go_s2n_psk_free(&st.ptr, &e)
	st.ptr = nil
	liveHandles.Add(-1)
}

// with runs f on the C PSK under its lock, failing once it is closed.
func (k *PSK) with(f func(p *C.struct_s2n_psk, e *C.go_s2n_error) C.int) error {
	if k == nil || k.s == nil {
		return usageError(nameInvalidArg, "nil or zero *PSK: use NewExternalPSK")
	}
	if k.closed.Load() {
		return closedError("PSK")
	}
	st := k.s
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ptr == nil {
		return closedError("PSK")
	}
	var e C.go_s2n_error
	if f(st.ptr, &e) < 0 {
		return newError(&e, nil)
	}
	return nil
}

// bytesArg is b's first byte for C, or nil when b is empty.
func bytesArg(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

// SetIdentity sets the identity the client offers and the server matches
// (s2n_psk_set_identity). It must not be empty.
func (k *PSK) SetIdentity(identity []byte) error {
	if len(identity) > maxPSKField {
		return usageError(nameInvalidArg, "PSK identity longer than %d bytes", maxPSKField)
	}
	return k.with(func(p *C.struct_s2n_psk, e *C.go_s2n_error) C.int {
		return C.go_s2n_psk_set_identity(p, bytesArg(identity), C.uint16_t(len(identity)), e)
	})
}

// SetSecret sets the secret (s2n_psk_set_secret). It must not be empty.
func (k *PSK) SetSecret(secret []byte) error {
	if len(secret) > maxPSKField {
		return usageError(nameInvalidArg, "PSK secret longer than %d bytes", maxPSKField)
	}
	return k.with(func(p *C.struct_s2n_psk, e *C.go_s2n_error) C.int {
		return C.go_s2n_psk_set_secret(p, bytesArg(secret), C.uint16_t(len(secret)), e)
	})
}

// SetHMAC sets the hash algorithm (s2n_psk_set_hmac).
func (k *PSK) SetHMAC(hash PSKHMAC) error {
	return k.with(func(p *C.struct_s2n_psk, e *C.go_s2n_error) C.int {
		return C.go_s2n_psk_set_hmac(p, C.s2n_psk_hmac(hash), e)
	})
}

// AppendPSK adds a copy of k to the PSKs of the connection
// (s2n_connection_append_psk): a client offers them in order, a server
// accepts the first one offered that it has (or the one its
// PSKSelectionFunc chooses). It switches the connection to
// PSKModeExternal. s2n refuses a second PSK with the same identity.
func (c *Connection) AppendPSK(k *PSK) error {
	var err error
	kerr := k.with(func(kp *C.struct_s2n_psk, _ *C.go_s2n_error) C.int {
		err = c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
			return C.go_s2n_connection_append_psk(p, kp, e)
		})
		return 0
	})
	if kerr != nil {
		return kerr
	}
	return err
}

// SetPSKMode sets which kind of PSK the connection uses
// (s2n_connection_set_psk_mode), in place of its Config's.
func (c *Connection) SetPSKMode(mode PSKMode) error {
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_psk_mode(p, C.s2n_psk_mode(mode), e)
	})
}

// NegotiatedPSKIdentity returns the identity of the PSK the handshake used,
// or nil if it used none
// (s2n_connection_get_negotiated_psk_identity_length,
// s2n_connection_get_negotiated_psk_identity).
func (c *Connection) NegotiatedPSKIdentity() ([]byte, error) {
	var id []byte
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		var n C.uint16_t
		if C.go_s2n_connection_get_negotiated_psk_identity_length(p, &n, e) < 0 {
			return -1
		}
		if n == 0 {
			return 0
		}
		id = make([]byte, int(n))
		return C.go_s2n_connection_get_negotiated_psk_identity(p, bytesArg(id), n, e)
	})
	if err != nil {
		return nil, err
	}
	return id, nil
}

// SetPSKMode sets which kind of PSK connections using the Config use
// (s2n_config_set_psk_mode).
func (c *Config) SetPSKMode(mode PSKMode) error {
	rec := setting{name: "SetPSKMode", replay: func(d *Config) error { return d.SetPSKMode(mode) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_psk_mode(p, C.s2n_psk_mode(mode), e)
	})
}

// pskSpec is a PSK added with Config.AddPSK.
type pskSpec struct {
	identity, secret []byte
	hash             PSKHMAC
}

// AddPSK adds an external PSK that every [Conn] made with this Config
// ([Client], [Server], [Listen], [Dial]) appends to its connection, in the
// order added (see [Connection.AppendPSK]): with the same PSK on both
// sides, a client and a server authenticate each other by the secret,
// without certificates (a server needs no certificate chain, a client no
// trust store). The handshake must be TLS 1.3 (a policy such as
// "default_tls13" on both sides). A server with no PSK matching the
// client's falls back to a certificate, and fails if it has none; a
// client with the right identity and a wrong secret fails the handshake.
// The Config keeps copies of identity and secret until Close. A Connection
// made with NewConnection does not get them: use AppendPSK.
func (c *Config) AddPSK(identity, secret []byte, hash PSKHMAC) error {
	// Check the PSK now, so that a bad one fails here and not in each Conn.
	k, err := NewExternalPSK(identity, secret, hash)
	if err != nil {
		return err
	}
	k.Close()
	spec := pskSpec{identity: slices.Clone(identity), secret: slices.Clone(secret), hash: hash}
	rec := setting{name: "AddPSK", replay: func(d *Config) error { return d.AddPSK(spec.identity, spec.secret, spec.hash) }}
	dup := false
	err = c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		dup = slices.ContainsFunc(c.s.psks, func(o pskSpec) bool { return string(o.identity) == string(spec.identity) })
		if dup {
			return -1
		}
		c.s.psks = append(c.s.psks, spec)
		return 0
	})
	if dup {
		return usageError(nameInvalidArg, "a PSK with this identity was already added to the Config")
	}
	return err
}

// appendConfigPSKs appends the PSKs of the connection's Config (AddPSK).
func (c *Connection) appendConfigPSKs() error {
	st := c.state().config
	if st == nil {
		return nil
	}
	st.mu.Lock()
	psks := slices.Clone(st.psks)
	st.mu.Unlock()
	for _, spec := range psks {
		k, err := NewExternalPSK(spec.identity, spec.secret, spec.hash)
		if err != nil {
			return err
		}
		err = c.AppendPSK(k)
		k.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// PSKSelectionFunc chooses, on a server, the PSK of the connection among
// those the client offered: it reads offered and calls Choose, in place of
// s2n's choice of the first offered identity the connection has. Returning
// without choosing fails the handshake; so do an error and a panic. It runs
// as a callback of conn, on the handshake's thread; offered is valid only
// during the call. s2n calls it for resumption PSKs (session tickets) too,
// whose identities are the tickets.
type PSKSelectionFunc func(conn *Connection, offered *OfferedPSKList) error

// SetPSKSelectionCallback sets the function a server runs to choose among
// the offered PSKs (s2n_config_set_psk_selection_callback). A nil fn
// removes it.
func (c *Config) SetPSKSelectionCallback(fn PSKSelectionFunc) error {
	rec := setting{name: "SetPSKSelectionCallback", replay: func(d *Config) error { return d.SetPSKSelectionCallback(fn) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_psk_selection_callback(p, cBool(fn != nil), e) < 0 {
			return -1
		}
		c.s.pskSelect = fn
		return 0
	})
}

// OfferedPSKList is the list of PSKs a client offered, valid only during
// the PSKSelectionFunc it is given to (s2n_offered_psk_list).
type OfferedPSKList struct {
	s      *connState
	p      *C.struct_s2n_offered_psk_list // nil once the callback has returned
	psks   []*OfferedPSK
	chosen bool
}

// OfferedPSK is one PSK of an OfferedPSKList (s2n_offered_psk), valid as
// long as its list.
type OfferedPSK struct {
	list *OfferedPSKList
	p    *C.struct_s2n_offered_psk
}

func (l *OfferedPSKList) valid() error {
	if l == nil || l.p == nil {
		return usageError(nameInvalidArg, "OfferedPSKList used outside its callback")
	}
	if !l.s.inCallback() {
		return usageError(nameInvalidArg, "OfferedPSKList used off its callback's goroutine")
	}
	return nil
}

// HasNext reports whether Next has another PSK to return
// (s2n_offered_psk_list_has_next).
func (l *OfferedPSKList) HasNext() bool {
	return l.valid() == nil && C.go_s2n_offered_psk_list_has_next(l.p) != 0
}

// Next returns the next offered PSK (s2n_offered_psk_new,
// s2n_offered_psk_list_next); it fails at the end of the list.
func (l *OfferedPSKList) Next() (*OfferedPSK, error) {
	if err := l.valid(); err != nil {
		return nil, err
	}
	var e C.go_s2n_error
	p := C.go_s2n_offered_psk_new(&e)
	if p == nil {
		return nil, newError(&e, nil)
	}
	o := &OfferedPSK{list: l, p: p}
	l.psks = append(l.psks, o) // freed when the callback returns
	if C.go_s2n_offered_psk_list_next(l.p, p, &e) < 0 {
		return nil, newError(&e, nil)
	}
	return o, nil
}

// Reread starts the list again from its first PSK
// (s2n_offered_psk_list_reread).
func (l *OfferedPSKList) Reread() error {
	if err := l.valid(); err != nil {
		return err
	}
	var e C.go_s2n_error
	if C.go_s2n_offered_psk_list_reread(l.p, &e) < 0 {
		return newError(&e, nil)
	}
	return nil
}

// Choose makes o the connection's PSK (s2n_offered_psk_list_choose_psk):
// s2n matches its identity against the connection's PSKs and fails if none
// has it.
func (l *OfferedPSKList) Choose(o *OfferedPSK) error {
	if err := l.valid(); err != nil {
		return err
	}
	if o == nil || o.list != l {
		return usageError(nameInvalidArg, "OfferedPSK not from this list")
	}
	var e C.go_s2n_error
	if C.go_s2n_offered_psk_list_choose_psk(l.p, o.p, &e) < 0 {
		return newError(&e, nil)
	}
	l.chosen = true
	return nil
}

// Identity returns a copy of the PSK's identity (s2n_offered_psk_get_identity).
func (o *OfferedPSK) Identity() ([]byte, error) {
	if err := o.list.valid(); err != nil {
		return nil, err
	}
	var id *C.uint8_t
	var n C.uint16_t
	var e C.go_s2n_error
	if C.go_s2n_offered_psk_get_identity(o.p, &id, &n, &e) < 0 {
		return nil, newError(&e, nil)
	}
	return C.GoBytes(unsafe.Pointer(id), C.int(n)), nil
}

// end invalidates the list and frees its PSKs (s2n_offered_psk_free).
func (l *OfferedPSKList) end() {
	l.p = nil
	var e C.go_s2n_error
	for _, o := range l.psks {
		C.go_s2n_offered_psk_free(&o.p, &e)
	}
	l.psks = nil
}
