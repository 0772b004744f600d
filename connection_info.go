package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"strings"
	"time"
	"unsafe"
)

// What a connection negotiated and learned of its peer: the getters of
// s2n_connection, each safe from inside the connection's own callbacks.

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
		if e.code == 0 { // NULL with no error: nothing selected
			return nil, usageError(nameNoSelectedCert, "no certificate chain selected: the handshake has not chosen one (yet)")
		}
		return nil, newError(&e, nil)
	}
	return certFromC(p), nil
}

func (c *Connection) selectedAlgs(client bool) (SignatureAlgorithm, HashAlgorithm, error) {
	var sig C.s2n_tls_signature_algorithm
	var hash C.s2n_tls_hash_algorithm
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
	return c.cString(func(p *C.struct_s2n_connection) *C.char { return C.s2n_connection_get_cipher(p) })
}

// KeyExchangeGroup is the negotiated (EC)DHE or hybrid post-quantum group,
// such as "secp256r1", "x25519" or "X25519MLKEM768"
// (s2n_connection_get_key_exchange_group); "" when none was used (TLS 1.2
// RSA key exchange) or before the handshake.
func (c *Connection) KeyExchangeGroup() string {
	return c.cString(func(p *C.struct_s2n_connection) *C.char { return C.go_s2n_connection_get_key_exchange_group(p) })
}

// KEMGroupName is the negotiated hybrid post-quantum group, such as
// "X25519MLKEM768" (s2n_connection_get_kem_group_name); "" where s2n
// reports "NONE": a classical (EC)DHE group, TLS 1.2, or before the
// handshake. KeyExchangeGroup names the group whichever kind it is.
func (c *Connection) KEMGroupName() string {
	return noneToEmpty(c.cString(func(p *C.struct_s2n_connection) *C.char { return C.s2n_connection_get_kem_group_name(p) }))
}

// Curve is the elliptic curve of the ECDHE key exchange
// (s2n_connection_get_curve); "" where s2n reports "NONE": a hybrid
// post-quantum group, no ECDHE (TLS 1.2 RSA key exchange, or a resumed TLS
// 1.2 session) or before the handshake.
//
// Deprecated: s2n.h deprecates s2n_connection_get_curve; use
// KeyExchangeGroup, which also names the hybrid post-quantum groups.
func (c *Connection) Curve() string {
	return noneToEmpty(c.cString(func(p *C.struct_s2n_connection) *C.char { return C.s2n_connection_get_curve(p) }))
}

// noneToEmpty maps s2n's "NONE" to "".
func noneToEmpty(s string) string {
	if s == "NONE" {
		return ""
	}
	return s
}

// ApplicationProtocol is the protocol chosen by ALPN
// (s2n_get_application_protocol); "" if none.
func (c *Connection) ApplicationProtocol() string {
	return c.cString(func(p *C.struct_s2n_connection) *C.char { return C.s2n_get_application_protocol(p) })
}

// ServerName is the SNI name: the one a client set, or the one a server
// received (s2n_get_server_name); "" if none.
func (c *Connection) ServerName() string {
	return c.cString(func(p *C.struct_s2n_connection) *C.char { return C.s2n_get_server_name(p) })
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

// PeerCertChain returns the certificates the peer presented, leaf first, in
// DER (s2n_connection_get_peer_cert_chain, s2n_cert_chain_get_length,
// s2n_cert_chain_get_cert, s2n_cert_get_der).
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

// PeerCertX509Extension is [CertChainAndKey.X509Extension] for certificate
// i of the chain the peer presented, 0 being its leaf
// (s2n_connection_get_peer_cert_chain, s2n_cert_chain_get_cert,
// s2n_cert_get_x509_extension_value_length,
// s2n_cert_get_x509_extension_value).
func (c *Connection) PeerCertX509Extension(i int, oid string) (value []byte, critical bool, err error) {
	if err := checkExtensionArgs(i, oid); err != nil {
		return nil, false, err
	}
	coid := C.CString(oid)
	defer C.free(unsafe.Pointer(coid))
	err = c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		var ok bool
		value, critical, ok = x509Extension(func(buf *C.uint8_t, cap C.uint32_t, crit *C.bool) C.long {
			return C.go_s2n_cert_x509_extension(nil, p, C.uint32_t(i), coid, buf, cap, crit, e)
		})
		if !ok {
			return -1
		}
		return 0
	})
	if err != nil {
		return nil, false, err
	}
	return value, critical, nil
}

// WireBytesIn is how many bytes s2n has read from the transport
// (s2n_connection_get_wire_bytes_in): records, handshake included.
func (c *Connection) WireBytesIn() uint64 {
	var n C.uint64_t
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		n = C.s2n_connection_get_wire_bytes_in(p)
		return 0
	})
	return uint64(n)
}

// WireBytesOut is how many bytes s2n has written to the transport
// (s2n_connection_get_wire_bytes_out).
func (c *Connection) WireBytesOut() uint64 {
	var n C.uint64_t
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		n = C.s2n_connection_get_wire_bytes_out(p)
		return 0
	})
	return uint64(n)
}

func (c *Connection) versionOf(f func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int) (ProtocolVersion, error) {
	var v C.int
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		v = f(p, e)
		return v
	})
	return ProtocolVersion(v), err
}

// ClientProtocolVersion is the highest version the client offered
// (s2n_connection_get_client_protocol_version): on a client, its own.
func (c *Connection) ClientProtocolVersion() (ProtocolVersion, error) {
	return c.versionOf(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_get_client_protocol_version(p, e)
	})
}

// ServerProtocolVersion is the highest version the server supports
// (s2n_connection_get_server_protocol_version): on a server, its own; on a
// client, what the server's hello showed.
func (c *Connection) ServerProtocolVersion() (ProtocolVersion, error) {
	return c.versionOf(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_get_server_protocol_version(p, e)
	})
}

// Alert is the TLS alert code received from the peer that closed the
// connection (s2n_connection_get_alert), such as 70 (protocol_version); s2n
// fails with S2N_ERR_NO_ALERT when none was received.
func (c *Connection) Alert() (int, error) {
	var a C.int
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		a = C.go_s2n_connection_get_alert(p, e)
		return a
	})
	return int(a), err
}

// HandshakeTypeName names the handshake that ran, as s2n's flags joined by
// "|", e.g. "NEGOTIATED|FULL_HANDSHAKE|MIDDLEBOX_COMPAT"
// (s2n_connection_get_handshake_type_name); "" once closed.
func (c *Connection) HandshakeTypeName() string {
	return c.cString(func(p *C.struct_s2n_connection) *C.char { return C.s2n_connection_get_handshake_type_name(p) })
}

// LastMessageName names the last handshake message s2n processed, e.g.
// "SERVER_HELLO", or "APPLICATION_DATA" once the handshake is complete
// (s2n_connection_get_last_message_name); "" once closed.
func (c *Connection) LastMessageName() string {
	return c.cString(func(p *C.struct_s2n_connection) *C.char { return C.s2n_connection_get_last_message_name(p) })
}

// HandshakeComplete reports whether every handshake message has been sent
// and received (s2n_connection_handshake_complete); false after a failed
// handshake and once closed.
func (c *Connection) HandshakeComplete() bool {
	var done C.bool
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		done = C.s2n_connection_handshake_complete(p)
		return 0
	})
	return bool(done)
}

// Mode is the side the connection plays, as given to NewConnection
// (s2n_connection_get_mode).
func (c *Connection) Mode() (Mode, error) {
	var m C.s2n_mode
	err := c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		m = C.s2n_connection_get_mode(p)
		return 0
	})
	return Mode(m), err
}

// IsValidForCipherPreferences reports whether what the connection
// negotiated (version, cipher suite, groups, signature) is allowed by the
// named security policy (s2n_connection_is_valid_for_cipher_preferences).
// An unknown policy name is an error.
func (c *Connection) IsValidForCipherPreferences(policy string) (bool, error) {
	if policy == "" || strings.IndexByte(policy, 0) >= 0 {
		return false, usageError(nameInvalidArg, "invalid cipher preferences name %q", policy)
	}
	cs := C.CString(policy)
	defer C.free(unsafe.Pointer(cs))
	var ok C.int
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		ok = C.go_s2n_connection_is_valid_for_cipher_preferences(p, cs, e)
		return ok
	})
	return ok == 1, err
}

// SignatureScheme names the signature scheme of the server's handshake
// signature, in IANA's naming, e.g. "ecdsa_secp256r1_sha256" in TLS 1.3 or
// "legacy_ecdsa_sha256" in TLS 1.2 (s2n_connection_get_signature_scheme);
// "none" when the handshake had no signature (RSA key exchange, resumption).
func (c *Connection) SignatureScheme() (string, error) {
	var name *C.char
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_get_signature_scheme(p, &name, e)
	})
	if err != nil {
		return "", err
	}
	return goStringOrEmpty(name), nil
}

// CertificateMatch reports, on a server, how the chosen certificate matched
// the client's SNI name (s2n_connection_get_certificate_match); s2n fails
// on a client, and before a certificate was chosen.
func (c *Connection) CertificateMatch() (CertSNIMatch, error) {
	var m C.s2n_cert_sni_match
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_get_certificate_match(p, &m, e)
	})
	return CertSNIMatch(m), err
}

// SignatureKeyType names the key type of the certificate that signed this
// handshake on side mode (ModeServer: the server's, ModeClient: the
// client's), e.g. "rsa", "rsa_pss", "ecdsa_secp256r1"
// (s2n_conn_get_signature_public_key_type).
func (c *Connection) SignatureKeyType(mode Mode) (string, error) {
	var buf [64]C.char
	n := C.uint32_t(len(buf))
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_conn_get_signature_public_key_type(p, C.s2n_mode(mode), &buf[0], &n, e)
	})
	if err != nil {
		return "", err
	}
	return C.GoString(&buf[0]), nil
}

// ClientCertChain returns the certificates, DER-encoded, leaf first, that
// the client sent, as received, verified or not; nil if it sent none
// (s2n_connection_get_client_cert_chain).
func (c *Connection) ClientCertChain() ([][]byte, error) {
	var chain [][]byte
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		var ptr *C.uint8_t
		var n C.uint32_t
		if C.go_s2n_connection_get_client_cert_chain(p, &ptr, &n, e) < 0 {
			return -1
		}
		// Each certificate is prefixed with its 3-byte length (RFC 5246
		// 7.4.2), in every protocol version.
		b := C.GoBytes(unsafe.Pointer(ptr), C.int(n))
		for len(b) >= 3 {
			l := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
			if l > len(b)-3 {
				break
			}
			chain = append(chain, b[3:3+l])
			b = b[3+l:]
		}
		return 0
	})
	return chain, err
}

// cString reads one of s2n's static strings about the connection under its
// lock; "" if s2n has none or the connection is closed.
func (c *Connection) cString(get func(p *C.struct_s2n_connection) *C.char) string {
	var name string
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		name = goStringOrEmpty(get(p))
		return 0
	})
	return name
}
