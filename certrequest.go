package s2n

// Client certificates: the server's CertificateRequest and the client's
// choice of chain (s2n's unstable cert_authorities.h), and client
// authentication per connection.

// #include "cgo_helpers.h"
import "C"

import "unsafe"

// CertRequestFunc is called on a client when the server asks for a
// certificate, in place of s2n's choice of the Config's default chain: it
// may read the certificate authorities the server named and must choose
// the chain to send with SetCertificate (returning without one fails the
// handshake with S2N_ERR_NO_CERT_FOUND). s2n calls it only when the Config
// has a chain of its own. An error or a panic fails the handshake. It runs
// as a callback of conn, on the handshake's thread.
type CertRequestFunc func(conn *Connection, req *CertificateRequest) error

// SetCertRequestCallback sets the function a client runs on each
// CertificateRequest (unstable s2n_config_set_cert_request_callback). A nil
// fn removes it.
func (c *Config) SetCertRequestCallback(fn CertRequestFunc) error {
	rec := setting{name: "SetCertRequestCallback", replay: func(d *Config) error { return d.SetCertRequestCallback(fn) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_cert_request_callback(p, cBool(fn != nil), e) < 0 {
			return -1
		}
		c.s.certRequestFn = fn
		return 0
	})
}

// EnableCertReqDSSLegacyCompat makes a server list the DSS certificate
// type (dss_sign) in its TLS 1.2 CertificateRequest, next to RSA and ECDSA
// (s2n_config_enable_cert_req_dss_legacy_compat), for legacy clients that
// expect it. It only names the type: s2n.h says a handshake in which the
// client then sends a DSS certificate still fails, and advises against it
// unless such compatibility is needed.
func (c *Config) EnableCertReqDSSLegacyCompat() error {
	rec := setting{name: "EnableCertReqDSSLegacyCompat", replay: (*Config).EnableCertReqDSSLegacyCompat}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_enable_cert_req_dss_legacy_compat(p, e)
	})
}

// SetCertAuthoritiesFromTrustStore makes a server name, in its
// CertificateRequest, the subjects of the certificates in its trust store
// (TLS 1.3 certificate_authorities), so that clients can pick a matching
// chain (unstable s2n_config_set_cert_authorities_from_trust_store). It
// reads the trust store as it is when called: call it after the trust store
// is complete. s2n refuses while the system's default certificates are
// loaded (call WipeTrustStore first), and with a libcrypto that cannot list
// a trust store.
func (c *Config) SetCertAuthoritiesFromTrustStore() error {
	rec := setting{name: "SetCertAuthoritiesFromTrustStore", replay: (*Config).SetCertAuthoritiesFromTrustStore}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_cert_authorities_from_trust_store(p, e)
	})
}

// CertificateRequest is a server's request for a client certificate, valid
// only during the CertRequestFunc it is given to.
type CertificateRequest struct {
	s *connState
	p *C.struct_s2n_certificate_request // nil once the callback has returned
}

func (r *CertificateRequest) valid() error {
	if r == nil || r.p == nil {
		return usageError(nameInvalidArg, "CertificateRequest used outside its callback")
	}
	if !r.s.inCallback() {
		return usageError(nameInvalidArg, "CertificateRequest used off its callback's goroutine")
	}
	return nil
}

// CertificateAuthorities returns the DER-encoded distinguished names the
// server listed, in its order; none if it sent no list
// (unstable s2n_certificate_request_get_ca_list,
// s2n_certificate_authority_list_has_next, s2n_certificate_authority_list_next,
// s2n_certificate_authority_list_reread).
func (r *CertificateRequest) CertificateAuthorities() ([][]byte, error) {
	if err := r.valid(); err != nil {
		return nil, err
	}
	var e C.go_s2n_error
	list := C.go_s2n_certificate_request_get_ca_list(r.p, &e)
	if list == nil {
		if e.code == 0 {
			return nil, nil // no list
		}
		return nil, newError(&e, nil)
	}
	if C.go_s2n_certificate_authority_list_reread(list, &e) < 0 {
		return nil, newError(&e, nil)
	}
	var names [][]byte
	for C.go_s2n_certificate_authority_list_has_next(list) == 1 {
		var name *C.uint8_t
		var n C.uint16_t
		if C.go_s2n_certificate_authority_list_next(list, &name, &n, &e) < 0 {
			return nil, newError(&e, nil)
		}
		names = append(names, C.GoBytes(unsafe.Pointer(name), C.int(n)))
	}
	return names, nil
}

// SetCertificate chooses the chain the client sends
// (unstable s2n_certificate_request_set_certificate). The connection keeps
// the chain until it is wiped or closed. Its key is the chain's own, or the
// Config's async private-key callback for a chain loaded public-only.
func (r *CertificateRequest) SetCertificate(chain *CertChainAndKey) error {
	if err := r.valid(); err != nil {
		return err
	}
	if chain == nil || chain.s == nil || chain.closed.Load() {
		return usageError(nameInvalidArg, "certificate chain is nil or closed")
	}
	cert := chain.s
	if !cert.acquire() {
		return closedError("certificate chain")
	}
	var e C.go_s2n_error
	cert.mu.RLock()
	rc := C.go_s2n_certificate_request_set_certificate(r.p, cert.ptr, &e)
	cert.mu.RUnlock()
	if rc < 0 {
		cert.release()
		return newError(&e, nil)
	}
	r.s.chosenCerts = append(r.s.chosenCerts, cert)
	return nil
}

// SetClientAuthType overrides the Config's client authentication for this
// connection (s2n_connection_set_client_auth_type).
func (c *Connection) SetClientAuthType(t ClientAuthType) error {
	if t != ClientAuthNone && t != ClientAuthRequired && t != ClientAuthOptional {
		return usageError(nameInvalidArg, "invalid client auth type %d", int(t))
	}
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_client_auth_type(p, C.s2n_cert_auth_type(t), e)
	})
}

// ClientAuthType is the client authentication in force for this
// connection: its own, or its Config's (s2n_connection_get_client_auth_type).
func (c *Connection) ClientAuthType() (ClientAuthType, error) {
	var t C.s2n_cert_auth_type
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_get_client_auth_type(p, &t, e)
	})
	return ClientAuthType(t), err
}

// ClientCertUsed reports whether the client sent a certificate and proved
// its key, on either side (s2n_connection_client_cert_used).
func (c *Connection) ClientCertUsed() (bool, error) {
	var used C.int
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		used = C.go_s2n_connection_client_cert_used(p, e)
		return used
	})
	return used == 1, err
}
