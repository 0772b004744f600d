package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"strings"
	"unsafe"
)

// Certificate validation: the application's own checks of the peer's
// chain after s2n's (unstable/crl.h: the cert validation callback), the
// crypto/tls-style hooks built on it, and the trust store settings.

// nameStale: an answer for a callback of an earlier handshake of a
// connection that was wiped since.
const nameStale = "S2N_GO_ERR_STALE"

// certValidation is what a Config runs from s2n's cert validation and CRL
// lookup callbacks.
type certValidation struct {
	fn         CertValidationFunc                                                  // SetCertValidationCallback
	verifyPeer func(rawCerts [][]byte, verifiedChains [][]*x509.Certificate) error // SetVerifyPeerCertificate
	verifyConn func(tls.ConnectionState) error                                     // SetVerifyConnection
	crlLookup  CRLLookupFunc                                                       // SetCRLLookupCallback (crl.go)
}

func (v *certValidation) installed() bool {
	return v.fn != nil || v.verifyPeer != nil || v.verifyConn != nil
}

// CertValidationFunc is called once per handshake in which the peer sends a
// certificate chain (a server's; a client's under client authentication),
// after s2n has verified that chain: against the trust store, its validity
// dates, the names (the verify-host callback), its intended use and, with a
// CRL lookup callback, revocation. With DisableX509Verification s2n
// verifies nothing and still calls it. It runs before the peer has proven
// it holds the leaf's key: that signature comes in a later message.
// conn.PeerCertChain returns the chain
// as s2n verified it, leaf first, ending with the trust anchor (empty with
// verification off).
//
// The function decides with info.Accept or info.Reject, either before it
// returns or later, from any goroutine: until then the handshake waits,
// Negotiate reporting BlockedOnApplicationInput, and a [Conn] handshake
// stays parked (bounded by its context and deadline). Returning an error
// fails the handshake with S2N_ERR_CANCELLED and the error as its cause,
// as does a panic (a *PanicError); Reject fails it with
// S2N_ERR_CERT_REJECTED. The function runs as a callback of conn, on the
// thread of Negotiate: it may call conn's getters, not Negotiate, Send or
// Recv, and should not block (answer later from a goroutine instead).
type CertValidationFunc func(conn *Connection, info *CertValidationInfo) error

// CertValidationInfo is the pending decision of one [CertValidationFunc]
// call (s2n_cert_validation_info). It belongs to the connection and is
// valid until the connection is wiped or closed; Accept or Reject after
// that returns an error and changes nothing.
type CertValidationInfo struct {
	conn *Connection
	ptr  *C.struct_s2n_cert_validation_info
	gen  uint64
}

// Accept lets the handshake go on (s2n_cert_validation_accept). Called
// after the callback returned, it wakes a [Conn] handshake waiting for it.
func (i *CertValidationInfo) Accept() error {
	return i.decide(func(e *C.go_s2n_error) C.int { return C.go_s2n_cert_validation_accept(i.ptr, e) })
}

// Reject fails the handshake with S2N_ERR_CERT_REJECTED
// (s2n_cert_validation_reject). Called after the callback returned, it
// wakes a [Conn] handshake waiting for it.
func (i *CertValidationInfo) Reject() error {
	return i.decide(func(e *C.go_s2n_error) C.int { return C.go_s2n_cert_validation_reject(i.ptr, e) })
}

func (i *CertValidationInfo) decide(call func(e *C.go_s2n_error) C.int) error {
	if i == nil || i.conn == nil {
		return usageError(nameInvalidArg, "nil or zero *CertValidationInfo")
	}
	return answerCallback(i.conn, i.gen, "certificate validation", call)
}

// answerCallback makes call, the answer to a callback of handshake
// generation gen, under the connection's lock (or inside its callback),
// then wakes a Conn handshake waiting for it.
func answerCallback(conn *Connection, gen uint64, what string, call func(e *C.go_s2n_error) C.int) error {
	s := conn.state()
	cb, err := s.lock()
	if err != nil {
		return err
	}
	defer s.unlock(cb)
	if s.gen.Load() != gen {
		return usageError(nameStale, "%s of an earlier handshake: the connection was wiped since", what)
	}
	if call(&s.e) < 0 {
		return newError(&s.e, nil)
	}
	if !cb {
		s.notify()
	}
	return nil
}

// SetCertValidationCallback sets the function that accepts or rejects the
// peer's certificate chain once s2n has verified it
// (s2n_config_set_cert_validation_cb); see [CertValidationFunc]. A nil fn
// removes it. The checks of [Config.SetVerifyPeerCertificate] and
// [Config.SetVerifyConnection] run first, when set.
func (c *Config) SetCertValidationCallback(fn CertValidationFunc) error {
	return c.setValidation(setting{name: "SetCertValidationCallback", replay: func(d *Config) error { return d.SetCertValidationCallback(fn) }},
		func(v *certValidation) { v.fn = fn })
}

// SetVerifyPeerCertificate sets a check shaped like crypto/tls's
// Config.VerifyPeerCertificate, run from s2n's cert validation callback
// (s2n_config_set_cert_validation_cb), that is after s2n's own
// verification of the chain (see [CertValidationFunc] for what s2n checks
// and when it calls). rawCerts is the chain as s2n verified it, in DER,
// leaf first and ending with the trust anchor (crypto/tls gives the
// certificates as sent); verifiedChains holds that one chain, parsed, and
// is nil with DisableX509Verification, when rawCerts is empty too. A
// non-nil error fails the handshake with that error as the cause.
//
// Unlike crypto/tls, it is not called when no chain is received: on a
// resumed session, or on a server whose client sent no certificate under
// ClientAuthOptional. It runs synchronously, on the handshake's thread.
// A nil fn removes it.
func (c *Config) SetVerifyPeerCertificate(fn func(rawCerts [][]byte, verifiedChains [][]*x509.Certificate) error) error {
	return c.setValidation(setting{name: "SetVerifyPeerCertificate", replay: func(d *Config) error { return d.SetVerifyPeerCertificate(fn) }},
		func(v *certValidation) { v.verifyPeer = fn })
}

// SetVerifyConnection sets a check shaped like crypto/tls's
// Config.VerifyConnection, run from s2n's cert validation callback
// (s2n_config_set_cert_validation_cb) after the one of
// [Config.SetVerifyPeerCertificate]. The state is the connection's as
// [Conn.ConnectionState] reports it, at that point of the handshake:
// HandshakeComplete is false, and what s2n has not negotiated yet is zero
// (a TLS 1.2 client, for one, learns the key exchange group after the
// server's certificate). PeerCertificates and VerifiedChains are as in
// SetVerifyPeerCertificate. A non-nil error fails the handshake with that
// error as the cause.
//
// Unlike crypto/tls, it runs only in handshakes in which the peer sends a
// certificate chain (not on resumption, not for a server whose client sent
// none). A nil fn removes it.
func (c *Config) SetVerifyConnection(fn func(tls.ConnectionState) error) error {
	return c.setValidation(setting{name: "SetVerifyConnection", replay: func(d *Config) error { return d.SetVerifyConnection(fn) }},
		func(v *certValidation) { v.verifyConn = fn })
}

// setValidation changes the validation functions and installs s2n's
// callback while any is set.
func (c *Config) setValidation(rec setting, change func(*certValidation)) error {
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		v := c.s.validation
		change(&v)
		if C.go_s2n_config_set_cert_validation_callback(p, cBool(v.installed()), e) < 0 {
			return -1
		}
		c.s.validation = v
		return 0
	})
}

// validateCert runs the Config's checks for conn, from s2n's callback: the
// crypto/tls-style hooks, then the CertValidationFunc, which decides; with
// none, the hooks' success accepts.
func (st *configState) validateCert(conn *Connection, info *CertValidationInfo) error {
	v := st.validation
	if v.verifyPeer != nil || v.verifyConn != nil {
		certs, chains := conn.peerChain(!st.noVerify)
		if v.verifyPeer != nil {
			raw := make([][]byte, len(certs))
			for i, cert := range certs {
				raw[i] = cert.Raw
			}
			if err := v.verifyPeer(raw, chains); err != nil {
				return err
			}
		}
		if v.verifyConn != nil {
			f := conn.readFacts()
			f.tls.PeerCertificates, f.tls.VerifiedChains = certs, chains
			if err := v.verifyConn(f.tls); err != nil {
				return err
			}
		}
	}
	if v.fn != nil {
		return v.fn(conn, info)
	}
	return info.Accept()
}

// SetMaxCertChainDepth sets how many certificates a peer's chain may hold,
// 1 to 65535 (s2n_config_set_max_cert_chain_depth; s2n's default is 7). A
// longer chain fails verification.
func (c *Config) SetMaxCertChainDepth(n int) error {
	if n < 1 || n > 65535 {
		return usageError(nameInvalidArg, "max cert chain depth %d not in 1..65535", n)
	}
	rec := setting{name: "SetMaxCertChainDepth", replay: func(d *Config) error { return d.SetMaxCertChainDepth(n) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_max_cert_chain_depth(p, C.uint16_t(n), e)
	})
}

// SetVerificationCALocation adds to the trust store the certificates of a
// PEM file and of a directory of PEM files named by their subject hash, as
// OpenSSL's c_rehash lays them out; either may be "" (not both)
// (s2n_config_set_verification_ca_location). The libcrypto's parser is
// lenient and may skip malformed certificates: prefer
// [Config.AddPEMToTrustStore] for PEM you do not control the form of.
func (c *Config) SetVerificationCALocation(file, dir string) error {
	if file == "" && dir == "" || strings.IndexByte(file, 0) >= 0 || strings.IndexByte(dir, 0) >= 0 {
		return usageError(nameInvalidArg, "invalid CA location: file %q, directory %q", file, dir)
	}
	var cf, cd *C.char
	if file != "" {
		cf = C.CString(file)
		defer C.free(unsafe.Pointer(cf))
	}
	if dir != "" {
		cd = C.CString(dir)
		defer C.free(unsafe.Pointer(cd))
	}
	rec := setting{name: "SetVerificationCALocation", replay: func(d *Config) error { return d.SetVerificationCALocation(file, dir) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_verification_ca_location(p, cf, cd, e)
	})
}

// LoadSystemCerts adds the system's default CA certificates to the trust
// store (s2n_config_load_system_certs). A Config from [NewConfig] has them
// already, and s2n refuses to load them twice: it is for a trust store
// emptied with WipeTrustStore.
func (c *Config) LoadSystemCerts() error {
	rec := setting{name: "LoadSystemCerts", replay: func(d *Config) error { return d.LoadSystemCerts() }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_load_system_certs(p, e)
	})
}

// DisableX509TimeVerification makes the peer's certificates acceptable
// outside their validity period (s2n_config_disable_x509_time_verification):
// s2n no longer checks notBefore and notAfter, everything else stays
// verified. Revocation data for an expired certificate may be gone, so an
// application doing this needs its own bound on certificate lifetimes.
func (c *Config) DisableX509TimeVerification() error {
	rec := setting{name: "DisableX509TimeVerification", replay: (*Config).DisableX509TimeVerification}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_disable_x509_time_verification(p, e)
	})
}

// DisableX509IntentVerification makes the peer's certificates acceptable
// whatever their Key Usage and Extended Key Usage say
// (s2n_config_disable_x509_intent_verification). By default a client
// refuses a server certificate whose Extended Key Usage leaves out
// serverAuth, and a server a client certificate without clientAuth; a
// certificate without these extensions is accepted either way.
func (c *Config) DisableX509IntentVerification() error {
	rec := setting{name: "DisableX509IntentVerification", replay: (*Config).DisableX509IntentVerification}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_disable_x509_intent_verification(p, e)
	})
}

// AllowIPInCN lets a certificate without a Subject Alternative Name
// extension match an IP address server name through its Common Name
// (s2n_config_allow_ip_in_cn; unstable/allow_ip_in_cn.h). By default s2n
// refuses such a certificate, as RFC 6125 matches IP addresses only against
// iPAddress SAN entries. It is meant as a stopgap while certificates are
// reissued with those entries.
func (c *Config) AllowIPInCN() error {
	rec := setting{name: "AllowIPInCN", replay: (*Config).AllowIPInCN}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_allow_ip_in_cn(p, e)
	})
}

// AddCustomX509Extension marks the critical certificate extension oid as
// handled by the application (s2n_config_add_custom_x509_extension;
// unstable/custom_x509_extensions.h): s2n refuses a peer certificate with
// a critical extension it does not know, unless that extension was added
// here, one call per extension. s2n then ignores the extension: the
// application must check it itself, in a [CertValidationFunc] or
// [Config.SetVerifyPeerCertificate] hook, or before any application data.
// It needs AWS-LC 1.51.0 or later; other libcrypto builds fail with
// S2N_ERR_API_UNSUPPORTED_BY_LIBCRYPTO.
func (c *Config) AddCustomX509Extension(oid asn1.ObjectIdentifier) error {
	if len(oid) < 2 {
		return usageError(nameInvalidArg, "invalid extension OID %v", oid)
	}
	text := []byte(oid.String())
	rec := setting{name: "AddCustomX509Extension", replay: func(d *Config) error { return d.AddCustomX509Extension(oid) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_add_custom_x509_extension(p, (*C.uint8_t)(unsafe.Pointer(&text[0])), C.uint32_t(len(text)), e)
	})
}
