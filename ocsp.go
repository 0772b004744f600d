package s2n

// OCSP stapling (RFC 6066, section 8; RFC 8446, section 4.4.2.1) and
// Certificate Transparency (RFC 6962, section 3.3): a server staples what a
// certificate chain carries, a client asks for it and reads what the server
// stapled.

// #include "cgo_helpers.h"
import "C"

import (
	"fmt"
	"unsafe"
)

// StatusRequestType is the kind of certificate status a client asks the
// server for (s2n_status_request_type).
type StatusRequestType int

// Status request types.
const (
	StatusRequestNone StatusRequestType = C.S2N_STATUS_REQUEST_NONE
	StatusRequestOCSP StatusRequestType = C.S2N_STATUS_REQUEST_OCSP
)

func (t StatusRequestType) String() string {
	switch t {
	case StatusRequestNone:
		return "none"
	case StatusRequestOCSP:
		return "OCSP"
	}
	return fmt.Sprintf("StatusRequestType(%d)", int(t))
}

// CTSupportLevel says whether a client asks the server for signed
// certificate timestamps (s2n_ct_support_level).
type CTSupportLevel int

// Certificate Transparency support levels.
const (
	CTSupportNone    CTSupportLevel = C.S2N_CT_SUPPORT_NONE
	CTSupportRequest CTSupportLevel = C.S2N_CT_SUPPORT_REQUEST
)

func (l CTSupportLevel) String() string {
	switch l {
	case CTSupportNone:
		return "none"
	case CTSupportRequest:
		return "request"
	}
	return fmt.Sprintf("CTSupportLevel(%d)", int(l))
}

// Size bounds of what a chain staples. In TLS 1.3 both travel in the
// extensions of the leaf's CertificateEntry, which share one 16-bit length
// (and in TLS 1.2 the SCT list shares the ServerHello's): the bounds let
// both fit at once, with room for their framing and other extensions.
// Real OCSP responses and SCT lists are a few KiB at most.
const (
	MaxOCSPResponseSize = 32 << 10
	MaxSCTListSize      = 16 << 10
)

// SetOCSPData sets the DER-encoded OCSP response (RFC 6960 OCSPResponse)
// that a server staples with this chain when the client asks for the
// certificate status (s2n_cert_chain_and_key_set_ocsp_data). s2n copies
// der and sends it as given: it is the caller's to keep it current (a
// response has a nextUpdate time) and to check that it is one. der must
// hold 1 to MaxOCSPResponseSize bytes.
//
// Call it before a Config that holds the chain is in use by a connection
// (the rule of Config's setters): after that it returns a usage error named
// "S2N_GO_ERR_IN_USE", so that no handshake reads the data while it
// changes. To staple a fresh response, load the chain again into a new
// Config. For a key offloaded to a crypto.Signer, set the data on a chain
// from [NewPublicCertChain] and add it with
// [Config.AddPublicCertChainWithSigner].
func (c *CertChainAndKey) SetOCSPData(der []byte) error {
	if len(der) == 0 || len(der) > MaxOCSPResponseSize {
		return usageError(nameInvalidArg, "OCSP response of %d bytes: it must hold 1 to %d bytes", len(der), MaxOCSPResponseSize)
	}
	return c.setStapled(func(p *C.struct_s2n_cert_chain_and_key, e *C.go_s2n_error) C.int {
		return C.go_s2n_cert_chain_and_key_set_ocsp_data(p, (*C.uint8_t)(unsafe.Pointer(&der[0])), C.uint32_t(len(der)), e)
	})
}

// SetSCTList sets the signed certificate timestamps that a server sends
// with this chain when the client asks for them
// (s2n_cert_chain_and_key_set_sct_list). list is a serialized
// SignedCertificateTimestampList of RFC 6962, section 3.3: a 2-byte
// big-endian length, then each SCT preceded by its own 2-byte length (the
// form of a TLS signed_certificate_timestamp extension). s2n copies list and
// sends it as given; SetSCTList checks its framing, and that it holds 1 to
// MaxSCTListSize bytes and no empty SCT, so that a malformed list fails here
// rather than in the client. The same rule as [CertChainAndKey.SetOCSPData]
// applies on when it may be called.
func (c *CertChainAndKey) SetSCTList(list []byte) error {
	if len(list) == 0 || len(list) > MaxSCTListSize {
		return usageError(nameInvalidArg, "SCT list of %d bytes: it must hold 1 to %d bytes", len(list), MaxSCTListSize)
	}
	if splitSCTList(list) == nil {
		return usageError(nameInvalidArg, "malformed SCT list: want a 2-byte length, then SCTs each with its own 2-byte length, none empty")
	}
	return c.setStapled(func(p *C.struct_s2n_cert_chain_and_key, e *C.go_s2n_error) C.int {
		return C.go_s2n_cert_chain_and_key_set_sct_list(p, (*C.uint8_t)(unsafe.Pointer(&list[0])), C.uint32_t(len(list)), e)
	})
}

// setStapled runs f on the chain, exclusively, unless a Config in use holds
// the chain (certState.frozen).
func (c *CertChainAndKey) setStapled(f func(p *C.struct_s2n_cert_chain_and_key, e *C.go_s2n_error) C.int) error {
	if c == nil || c.s == nil {
		return usageError(nameInvalidArg, "nil or zero *CertChainAndKey: use NewCertChainAndKey")
	}
	if c.closed.Load() {
		return closedError("certificate chain")
	}
	st := c.s
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ptr == nil {
		return closedError("certificate chain")
	}
	if st.frozen {
		return usageError(nameInUse, "certificate chain is held by a Config in use by a connection: set its OCSP response and SCT list before Connection.SetConfig")
	}
	var e C.go_s2n_error
	if f(st.ptr, &e) < 0 {
		return newError(&e, nil)
	}
	return nil
}

// splitSCTList splits a serialized SignedCertificateTimestampList into its
// SCTs, as crypto/tls reports them; nil unless list is well formed and holds
// at least one SCT, none empty.
func splitSCTList(list []byte) [][]byte {
	if len(list) < 2 || int(list[0])<<8|int(list[1]) != len(list)-2 {
		return nil
	}
	var scts [][]byte
	for rest := list[2:]; len(rest) > 0; {
		if len(rest) < 2 {
			return nil
		}
		n := int(rest[0])<<8 | int(rest[1])
		if n == 0 || len(rest) < 2+n {
			return nil
		}
		scts = append(scts, rest[2:2+n:2+n])
		rest = rest[2+n:]
	}
	return scts
}

// SetStatusRequestType makes a client ask the server to staple the status
// of its certificate (s2n_config_set_status_request_type). With
// StatusRequestOCSP, s2n also checks a stapled response while stapled
// responses are checked (the default: see
// [Config.SetCheckStapledOCSPResponse]) and the server's certificate is
// verified (not after DisableX509Verification): a response that is not
// signed for the server's certificate by its issuer or a responder the
// issuer delegated to, is out of its validity window, or says the
// certificate is revoked, fails the handshake. Without a request, a server
// staples nothing.
//
// s2n refuses StatusRequestOCSP with S2N_ERR_OCSP_NOT_SUPPORTED when its
// libcrypto has no OCSP support.
func (c *Config) SetStatusRequestType(t StatusRequestType) error {
	if t != StatusRequestNone && t != StatusRequestOCSP {
		return usageError(nameInvalidArg, "invalid status request type %d", int(t))
	}
	rec := setting{name: "SetStatusRequestType", replay: func(d *Config) error { return d.SetStatusRequestType(t) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_status_request_type(p, C.s2n_status_request_type(t), e)
	})
}

// SetCheckStapledOCSPResponse turns the check of stapled OCSP responses
// on or off (s2n_config_set_check_stapled_ocsp_response). s2n checks them
// by default when its libcrypto supports OCSP; turning the check on
// without that support fails with S2N_ERR_OCSP_NOT_SUPPORTED. With the check
// off, the response is still received and can be read with
// [Connection.OCSPResponse] for a check of one's own (for instance with a
// CertID hash other than SHA-1, the only one s2n's check supports).
func (c *Config) SetCheckStapledOCSPResponse(check bool) error {
	rec := setting{name: "SetCheckStapledOCSPResponse", replay: func(d *Config) error { return d.SetCheckStapledOCSPResponse(check) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_check_stapled_ocsp_response(p, C.uint8_t(cBool(check)), e)
	})
}

// SetCTSupportLevel makes a client ask the server for signed certificate
// timestamps (s2n_config_set_ct_support_level). s2n does not check the
// timestamps it receives: read them with [Connection.SCTList].
func (c *Config) SetCTSupportLevel(level CTSupportLevel) error {
	// s2n stores any value, and a client then asks as if CTSupportRequest.
	if level != CTSupportNone && level != CTSupportRequest {
		return usageError(nameInvalidArg, "invalid CT support level %d", int(level))
	}
	rec := setting{name: "SetCTSupportLevel", replay: func(d *Config) error { return d.SetCTSupportLevel(level) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_ct_support_level(p, C.s2n_ct_support_level(level), e)
	})
}

// OCSPResponse returns a copy of the OCSP response the peer stapled during
// the handshake (s2n_connection_get_ocsp_response); nil if it stapled none,
// before the handshake, and after Close.
func (c *Connection) OCSPResponse() []byte {
	var out []byte
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		var n C.uint32_t
		out = cBytes(C.s2n_connection_get_ocsp_response(p, &n), n)
		return 0
	})
	return out
}

// SCTList returns a copy of the serialized SignedCertificateTimestampList
// the peer sent (s2n_connection_get_sct_list), in the form
// [CertChainAndKey.SetSCTList] takes; nil if it sent none, before the
// handshake, and after Close. [Conn.ConnectionState] gives the SCTs one by
// one.
func (c *Connection) SCTList() []byte {
	var out []byte
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		var n C.uint32_t
		out = cBytes(C.s2n_connection_get_sct_list(p, &n), n)
		return 0
	})
	return out
}

// IsOCSPStapled reports whether an OCSP response was stapled in the
// handshake: sent, on a server; received, on a client
// (s2n_connection_is_ocsp_stapled). It is false before the handshake and
// after Close.
func (c *Connection) IsOCSPStapled() bool {
	var stapled C.int
	c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		stapled = C.go_s2n_connection_is_ocsp_stapled(p, e)
		return 0
	})
	return stapled == 1
}

// cBytes copies n bytes that s2n owns; nil when there are none.
func cBytes(p *C.uint8_t, n C.uint32_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return C.GoBytes(unsafe.Pointer(p), C.int(n))
}
