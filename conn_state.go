package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"crypto/tls"
	"crypto/x509"
	"sync"
)

// HandshakeInfo is what s2n itself says about a Conn's handshake, in s2n's
// terms: the facts [Conn.ConnectionState] has no field for, or gives in
// IANA codes.
type HandshakeInfo struct {
	Version          ProtocolVersion
	CipherSuite      string // s2n's name, e.g. "TLS_AES_128_GCM_SHA256"
	KeyExchangeGroup string // e.g. "X25519MLKEM768", "secp256r1"; "" for RSA key exchange
	// Policy is the security policy of the Config the handshake ran with
	// (Config.SetCipherPreferences), or s2n's default ("default", or
	// "default_fips" in a FIPS build) when none was set.
	Policy string
	// KeyOffloaded reports whether this side's private-key operations ran
	// off the handshake goroutine (through a crypto.Signer); OffloadedOps
	// counts them.
	KeyOffloaded bool
	OffloadedOps int
}

// connFacts is what one C call reads about a connection (go_s2n_connection_get_facts).
type connFacts struct {
	info     HandshakeInfo
	tls      tls.ConnectionState
	verified bool // s2n verified the peer's chain (verification is on)
}

// readFacts reads the negotiated parameters from s2n in one crossing.
func (c *Connection) readFacts() (f connFacts) {
	var cf C.go_s2n_facts
	var ocsp, scts []byte
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		C.go_s2n_connection_get_facts(p, &cf)
		// s2n owns these bytes: copy them while the connection is locked.
		ocsp = cBytes(cf.ocsp, cf.ocsp_len)
		scts = cBytes(cf.sct, cf.sct_len)
		if cfg := c.s.config; cfg != nil {
			f.info.Policy = cfg.policyName()
			f.verified = !cfg.noVerify
		}
		return 0
	})
	f.info.Version = ProtocolVersion(cf.version)
	f.info.CipherSuite = goStringOrEmpty(cf.cipher)
	f.info.KeyExchangeGroup = goStringOrEmpty(cf.group)
	f.info.OffloadedOps = int(c.s.offloaded.Load())
	f.info.KeyOffloaded = f.info.OffloadedOps > 0
	f.tls = tls.ConnectionState{
		Version:                     tlsVersion(f.info.Version),
		CipherSuite:                 uint16(cf.iana[0])<<8 | uint16(cf.iana[1]),
		CurveID:                     curveID(f.info.KeyExchangeGroup),
		NegotiatedProtocol:          goStringOrEmpty(cf.alpn),
		NegotiatedProtocolIsMutual:  true,
		ServerName:                  goStringOrEmpty(cf.server_name),
		DidResume:                   cf.resumed == 1,
		OCSPResponse:                ocsp,
		SignedCertificateTimestamps: splitSCTList(scts),
	}
	return f
}

func goStringOrEmpty(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

// tlsVersion maps s2n's protocol numbering to the wire value crypto/tls uses.
func tlsVersion(v ProtocolVersion) uint16 {
	switch v {
	case SSLv3:
		return tls.VersionSSL30 //nolint:staticcheck // reported as negotiated
	case TLS10:
		return tls.VersionTLS10
	case TLS11:
		return tls.VersionTLS11
	case TLS12:
		return tls.VersionTLS12
	case TLS13:
		return tls.VersionTLS13
	}
	return 0
}

// curveIDs maps s2n's names of key exchange groups to their IANA code
// points, which crypto/tls calls CurveID.
var curveIDs = map[string]tls.CurveID{
	"secp256r1":          23,
	"secp384r1":          24,
	"secp521r1":          25,
	"x25519":             29,
	"SecP256r1MLKEM768":  0x11EB,
	"X25519MLKEM768":     0x11EC,
	"SecP384r1MLKEM1024": 0x11ED,
	"MLKEM1024":          0x0202,
}

func curveID(group string) tls.CurveID { return curveIDs[group] }

// ConnectionState returns the connection's negotiated parameters, as
// crypto/tls reports them: Version, CipherSuite
// (s2n_connection_get_cipher_iana_value) and CurveID in IANA codes,
// NegotiatedProtocol, ServerName (the SNI name sent or received), DidResume,
// HandshakeComplete, the peer's certificates, and the OCSP response and
// signed certificate timestamps the peer stapled (see [Connection.OCSPResponse]
// and [Connection.SCTList]; a client asks for them with
// [Config.SetStatusRequestType] and [Config.SetCTSupportLevel]). net/http fills
// Request.TLS from it. s2n's own names and the offload counts are in
// [Conn.HandshakeInfo]. The returned state cannot export keying material
// (its ExportKeyingMaterial method panics: crypto/tls keeps the exporter in
// an unexported field); use [Conn.ExportKeyingMaterial].
//
// PeerCertificates is the chain s2n validated, leaf first and ending with
// the trust anchor (s2n_connection_get_peer_cert_chain), and VerifiedChains
// holds that one chain when s2n verified it (not after
// DisableX509Verification).
//
// Once the handshake is complete it returns the parameters as they were
// then, also after Close (as crypto/tls does), except the certificates:
// they are read from s2n on the first call, so after Close they are there
// only if ConnectionState was called before it. On a Conn accepted from a
// [Listen] or [NewListener] listener whose handshake has not run yet,
// ConnectionState runs it first: net/http asks for the state before it
// reads the request (and it runs the handshake itself only for a
// *tls.Conn).
func (c *Conn) ConnectionState() tls.ConnectionState {
	if c.handshakeOnState && !c.handshakeDone.Load() {
		c.Handshake() // a failure shows as HandshakeComplete == false
	}
	if snap := c.state.Load(); snap != nil {
		return snap.connectionState()
	}
	if c.c == nil {
		return tls.ConnectionState{}
	}
	f := c.c.readFacts()
	f.tls.PeerCertificates, f.tls.VerifiedChains = c.c.peerChain(f.verified)
	return f.tls
}

// HandshakeInfo returns s2n's own view of the handshake: its names for the
// version, cipher suite and key exchange group, the policy, and how many of
// this side's key operations were offloaded. After the handshake it is the
// state as it was then, also after Close.
func (c *Conn) HandshakeInfo() HandshakeInfo {
	if snap := c.state.Load(); snap != nil {
		return snap.facts.info
	}
	if c.c == nil {
		return HandshakeInfo{}
	}
	return c.c.readFacts().info
}

// stateSnapshot is the state taken when the handshake completed. The peer's
// certificates are read from s2n and parsed on the first ConnectionState
// call: s2n has verified them already, most connections never ask, and
// exporting them costs s2n about as much as 4% of an ECDSA handshake.
type stateSnapshot struct {
	facts    connFacts
	conn     *Connection
	once     sync.Once
	certs    []*x509.Certificate
	verified [][]*x509.Certificate
}

func (s *stateSnapshot) connectionState() tls.ConnectionState {
	s.once.Do(func() {
		// After Close, s2n's copy is gone: the certificates stay empty.
		s.certs, s.verified = s.conn.peerChain(s.facts.verified)
	})
	st := s.facts.tls
	st.HandshakeComplete = true
	st.PeerCertificates = s.certs
	st.VerifiedChains = s.verified
	return st
}

// peerChain parses the peer's chain as s2n holds it, and reports it as
// verified when s2n verified it.
func (c *Connection) peerChain(verified bool) (certs []*x509.Certificate, chains [][]*x509.Certificate) {
	ders, err := c.PeerCertChain()
	if err != nil {
		return nil, nil
	}
	for _, der := range ders {
		if cert, err := x509.ParseCertificate(der); err == nil {
			certs = append(certs, cert)
		}
	}
	if verified && len(certs) > 0 {
		chains = [][]*x509.Certificate{certs}
	}
	return certs, chains
}
