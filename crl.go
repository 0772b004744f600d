package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Certificate revocation lists (unstable/crl.h): s2n asks the application
// for a CRL for each certificate of the peer's chain, then checks the
// whole chain against the CRLs it was given.

// CRL is a certificate revocation list loaded into s2n (s2n_crl). Hand it
// to s2n from a [CRLLookupFunc] with [CRLLookup.Set]; one CRL may serve
// any number of lookups and connections at once. Close releases the
// caller's reference; a connection it was handed to keeps it until that
// connection is wiped or closed.
type CRL struct {
	s       *crlState
	closed  atomic.Bool
	cleanup runtime.Cleanup
}

type crlState struct {
	mu   sync.Mutex // held while ptr is used, and to change refs or free
	ptr  *C.struct_s2n_crl
	refs int // the owner's reference plus one per connection handed the CRL
}

// NewCRL loads a PEM-encoded CRL (s2n_crl_new, s2n_crl_load_pem).
func NewCRL(pemBytes []byte) (*CRL, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	if len(pemBytes) == 0 || len(pemBytes) > maxPEMSize {
		return nil, usageError(nameInvalidArg, "CRL PEM is empty or larger than %d bytes", maxPEMSize)
	}
	var e C.go_s2n_error
	p := C.go_s2n_crl_new(&e)
	if p == nil {
		return nil, newError(&e, nil)
	}
	if C.go_s2n_crl_load_pem(p, (*C.uint8_t)(unsafe.Pointer(&pemBytes[0])), C.size_t(len(pemBytes)), &e) < 0 {
		err := newError(&e, nil)
		C.go_s2n_crl_free(&p, &e)
		return nil, err
	}
	liveHandles.Add(1) // counted with the handles, for the leak gates
	st := &crlState{ptr: p, refs: 1}
	c := &CRL{s: st}
	c.cleanup = runtime.AddCleanup(c, (*crlState).release, st)
	return c, nil
}

// Close releases this reference to the CRL. It is idempotent; the C object
// is freed once no connection uses it (s2n_crl_free).
func (c *CRL) Close() error {
	if c == nil || c.s == nil || c.closed.Swap(true) {
		return nil
	}
	c.cleanup.Stop()
	c.s.release()
	return nil
}

func (st *crlState) release() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.refs--
	if st.refs > 0 || st.ptr == nil {
		return
	}
	var e C.go_s2n_error
	C.go_s2n_crl_free(&st.ptr, &e)
	st.ptr = nil
	liveHandles.Add(-1)
}

// with runs f on the C CRL under its lock, failing once it is closed.
func (c *CRL) with(f func(p *C.struct_s2n_crl, e *C.go_s2n_error) C.int) error {
	if c == nil || c.s == nil {
		return usageError(nameInvalidArg, "nil or zero *CRL: use NewCRL")
	}
	if c.closed.Load() {
		return closedError("CRL")
	}
	st := c.s
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ptr == nil {
		return closedError("CRL")
	}
	var e C.go_s2n_error
	if f(st.ptr, &e) < 0 {
		return newError(&e, nil)
	}
	return nil
}

// IssuerHash returns the hash of the CRL's issuer name
// (s2n_crl_get_issuer_hash): OpenSSL's X509_NAME_hash, the value
// [CRLLookup.CertIssuerHash] gives for the certificates that issuer signed.
func (c *CRL) IssuerHash() (uint64, error) {
	var h C.uint64_t
	err := c.with(func(p *C.struct_s2n_crl, e *C.go_s2n_error) C.int {
		return C.go_s2n_crl_get_issuer_hash(p, &h, e)
	})
	return uint64(h), err
}

// ValidateActive returns nil if the CRL's thisUpdate time has passed
// (s2n_crl_validate_active). s2n itself does not check a CRL's times when
// it verifies a chain: a lookup that cares checks them before Set.
func (c *CRL) ValidateActive() error {
	return c.with(func(p *C.struct_s2n_crl, e *C.go_s2n_error) C.int {
		return C.go_s2n_crl_validate_active(p, e)
	})
}

// ValidateNotExpired returns nil if the CRL's nextUpdate time has not
// passed or it has none (s2n_crl_validate_not_expired).
func (c *CRL) ValidateNotExpired() error {
	return c.with(func(p *C.struct_s2n_crl, e *C.go_s2n_error) C.int {
		return C.go_s2n_crl_validate_not_expired(p, e)
	})
}

// CRLLookupFunc is called for each certificate of the chain the peer sent,
// leaf first, before s2n verifies the chain. It answers with lookup.Set (a
// CRL to check against) or lookup.Ignore (none), either before it returns
// or later, from any goroutine: until every lookup of the chain is
// answered the handshake waits, Negotiate reporting
// BlockedOnApplicationInput, and a [Conn] handshake stays parked (bounded
// by its context and deadline). Returning an error fails the handshake
// with S2N_ERR_CANCELLED and the error as its cause, as does a panic.
//
// Once all are answered, s2n verifies the chain with the CRLs given,
// checking every certificate of it, not only the leaf: a revoked one fails
// the handshake with S2N_ERR_CERT_REVOKED, and one whose issuer has no CRL
// among them with S2N_ERR_CRL_LOOKUP_FAILED (so ignoring a certificate
// that ends up in the verified chain fails it too). The function runs as a
// callback of conn, on the thread of Negotiate: it may call conn's getters,
// not Negotiate, Send or Recv, and should not block.
type CRLLookupFunc func(conn *Connection, lookup *CRLLookup) error

// SetCRLLookupCallback turns on revocation checking with CRLs the
// application provides (s2n_config_set_crl_lookup_cb); see
// [CRLLookupFunc]. A nil fn turns it off.
func (c *Config) SetCRLLookupCallback(fn CRLLookupFunc) error {
	rec := setting{name: "SetCRLLookupCallback", replay: func(d *Config) error { return d.SetCRLLookupCallback(fn) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_crl_lookup_callback(p, cBool(fn != nil), e) < 0 {
			return -1
		}
		c.s.validation.crlLookup = fn
		return 0
	})
}

// CRLLookup is one pending CRL request of a [CRLLookupFunc] call, for one
// certificate of the peer's chain (s2n_crl_lookup). It belongs to the
// connection and is valid until the connection is wiped or closed; an
// answer after that returns an error and changes nothing.
type CRLLookup struct {
	conn *Connection
	ptr  *C.struct_s2n_crl_lookup
	gen  uint64
}

// CertIssuerHash returns the hash of the certificate's issuer name
// (s2n_crl_lookup_get_cert_issuer_hash), to find the CRL whose
// [CRL.IssuerHash] matches.
func (l *CRLLookup) CertIssuerHash() (uint64, error) {
	if l == nil || l.conn == nil {
		return 0, usageError(nameInvalidArg, "nil or zero *CRLLookup")
	}
	var h C.uint64_t
	s := l.conn.state()
	cb, err := s.lock()
	if err != nil {
		return 0, err
	}
	defer s.unlock(cb)
	if s.gen.Load() != l.gen {
		return 0, usageError(nameStale, "CRL lookup of an earlier handshake: the connection was wiped since")
	}
	if C.go_s2n_crl_lookup_get_cert_issuer_hash(l.ptr, &h, &s.e) < 0 {
		return 0, newError(&s.e, nil)
	}
	return uint64(h), nil
}

// Set answers the lookup with crl (s2n_crl_lookup_set). The connection
// keeps crl until it is wiped or closed, so the caller may Close it at
// once. Called after the callback returned, it wakes a [Conn] handshake
// waiting for it.
func (l *CRLLookup) Set(crl *CRL) error {
	if l == nil || l.conn == nil {
		return usageError(nameInvalidArg, "nil or zero *CRLLookup")
	}
	if crl == nil || crl.s == nil || crl.closed.Load() {
		return usageError(nameInvalidArg, "CRL is nil or closed")
	}
	st := crl.s
	st.mu.Lock()
	if st.ptr == nil {
		st.mu.Unlock()
		return closedError("CRL")
	}
	st.refs++ // the connection's reference, dropped at its wipe or close
	st.mu.Unlock()
	s := l.conn.state()
	kept := false
	err := answerCallback(l.conn, l.gen, "CRL lookup", func(e *C.go_s2n_error) C.int {
		if C.go_s2n_crl_lookup_set(l.ptr, st.ptr, e) < 0 {
			return -1
		}
		s.crls = append(s.crls, st)
		kept = true
		return 0
	})
	if !kept {
		st.release()
	}
	return err
}

// Ignore answers the lookup with no CRL (s2n_crl_lookup_ignore): fine for
// a certificate that is not part of the verified chain; one that is fails
// verification with S2N_ERR_CRL_LOOKUP_FAILED. Called after the callback
// returned, it wakes a [Conn] handshake waiting for it.
func (l *CRLLookup) Ignore() error {
	if l == nil || l.conn == nil {
		return usageError(nameInvalidArg, "nil or zero *CRLLookup")
	}
	return answerCallback(l.conn, l.gen, "CRL lookup", func(e *C.go_s2n_error) C.int {
		return C.go_s2n_crl_lookup_ignore(l.ptr, e)
	})
}
