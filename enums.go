package s2n

// The C enums of s2n-tls's API, as Go types, in one place.

// #include "cgo_helpers.h"
import "C"

import (
	"crypto"
	"fmt"
	"strconv"
)

// ErrorType is s2n's classification of an error (s2n_error_get_type).
type ErrorType int

// Error types, as defined by s2n_error_type.
const (
	ErrorTypeOK       ErrorType = C.S2N_ERR_T_OK
	ErrorTypeIO       ErrorType = C.S2N_ERR_T_IO
	ErrorTypeClosed   ErrorType = C.S2N_ERR_T_CLOSED
	ErrorTypeBlocked  ErrorType = C.S2N_ERR_T_BLOCKED
	ErrorTypeAlert    ErrorType = C.S2N_ERR_T_ALERT
	ErrorTypeProto    ErrorType = C.S2N_ERR_T_PROTO
	ErrorTypeInternal ErrorType = C.S2N_ERR_T_INTERNAL
	ErrorTypeUsage    ErrorType = C.S2N_ERR_T_USAGE
)

var errorTypeNames = [...]string{"ok", "io", "closed", "blocked", "alert", "protocol", "internal", "usage"}

func (t ErrorType) String() string {
	if t >= 0 && int(t) < len(errorTypeNames) {
		return errorTypeNames[t]
	}
	return fmt.Sprintf("ErrorType(%d)", int(t))
}

// Mode says which side of the handshake a connection plays (s2n_mode).
type Mode int

// Connection modes. The bare names Server and Client belong to the net.Conn
// constructors, as in crypto/tls.
const (
	ModeServer Mode = C.S2N_SERVER
	ModeClient Mode = C.S2N_CLIENT
)

// Blocked says what a call that returned ErrBlocked waits for
// (s2n_blocked_status).
type Blocked int

// Blocked statuses.
const (
	NotBlocked                Blocked = C.S2N_NOT_BLOCKED
	BlockedOnRead             Blocked = C.S2N_BLOCKED_ON_READ
	BlockedOnWrite            Blocked = C.S2N_BLOCKED_ON_WRITE
	BlockedOnApplicationInput Blocked = C.S2N_BLOCKED_ON_APPLICATION_INPUT
	BlockedOnEarlyData        Blocked = C.S2N_BLOCKED_ON_EARLY_DATA
)

var blockedNames = [...]string{"not blocked", "blocked on read", "blocked on write", "blocked on application input", "blocked on early data"}

func (b Blocked) String() string {
	if b >= 0 && int(b) < len(blockedNames) {
		return blockedNames[b]
	}
	return fmt.Sprintf("Blocked(%d)", int(b))
}

// Blinding selects how s2n delays its response after a failed handshake, to
// blunt timing side channels (s2n_blinding).
type Blinding int

const (
	// BuiltInBlinding makes the failing call itself sleep 10-30 s (s2n's
	// default): it pins an OS thread for that long.
	BuiltInBlinding Blinding = C.S2N_BUILT_IN_BLINDING
	// SelfServiceBlinding leaves the delay to the application: wait
	// [Connection.Delay] before closing the socket.
	SelfServiceBlinding Blinding = C.S2N_SELF_SERVICE_BLINDING
)

// ProtocolVersion is a TLS protocol version as s2n numbers them.
type ProtocolVersion int

// Protocol versions.
const (
	SSLv2 ProtocolVersion = C.S2N_SSLv2
	SSLv3 ProtocolVersion = C.S2N_SSLv3
	TLS10 ProtocolVersion = C.S2N_TLS10
	TLS11 ProtocolVersion = C.S2N_TLS11
	TLS12 ProtocolVersion = C.S2N_TLS12
	TLS13 ProtocolVersion = C.S2N_TLS13
)

func (v ProtocolVersion) String() string {
	switch v {
	case SSLv2:
		return "SSLv2"
	case SSLv3:
		return "SSLv3"
	case TLS10:
		return "TLS1.0"
	case TLS11:
		return "TLS1.1"
	case TLS12:
		return "TLS1.2"
	case TLS13:
		return "TLS1.3"
	}
	return fmt.Sprintf("ProtocolVersion(%d)", int(v))
}

// ClientAuthType says whether a server requests a client certificate, or
// whether a client sends one (s2n_cert_auth_type).
type ClientAuthType int

// Client authentication types.
const (
	ClientAuthNone     ClientAuthType = C.S2N_CERT_AUTH_NONE
	ClientAuthRequired ClientAuthType = C.S2N_CERT_AUTH_REQUIRED
	ClientAuthOptional ClientAuthType = C.S2N_CERT_AUTH_OPTIONAL
)

// AsyncPkeyValidationMode chooses how much s2n checks the result of an
// async private-key operation at Apply (s2n_async_pkey_validation_mode).
type AsyncPkeyValidationMode int

const (
	// ValidationFast performs only the checks needed for safe use (s2n's
	// default).
	ValidationFast AsyncPkeyValidationMode = C.S2N_ASYNC_PKEY_VALIDATION_FAST
	// ValidationStrict also verifies every signature against the
	// certificate's public key, catching a faulty or wrong external key before
	// the peer sees its output.
	ValidationStrict AsyncPkeyValidationMode = C.S2N_ASYNC_PKEY_VALIDATION_STRICT
)

// AsyncPkeyOpType is the kind of private-key operation (s2n_async_pkey_op_type).
type AsyncPkeyOpType int

// Operation types.
const (
	AsyncDecrypt AsyncPkeyOpType = C.S2N_ASYNC_DECRYPT
	AsyncSign    AsyncPkeyOpType = C.S2N_ASYNC_SIGN
)

func (t AsyncPkeyOpType) String() string {
	switch t {
	case AsyncDecrypt:
		return "decrypt"
	case AsyncSign:
		return "sign"
	}
	return fmt.Sprintf("AsyncPkeyOpType(%d)", int(t))
}

// SignatureAlgorithm is a TLS signature algorithm as s2n reports it
// (s2n_tls_signature_algorithm).
type SignatureAlgorithm int

// Signature algorithms.
const (
	SignatureAnonymous  SignatureAlgorithm = C.S2N_TLS_SIGNATURE_ANONYMOUS
	SignatureRSA        SignatureAlgorithm = C.S2N_TLS_SIGNATURE_RSA
	SignatureECDSA      SignatureAlgorithm = C.S2N_TLS_SIGNATURE_ECDSA
	SignatureMLDSA      SignatureAlgorithm = C.S2N_TLS_SIGNATURE_MLDSA
	SignatureRSAPSSRSAE SignatureAlgorithm = C.S2N_TLS_SIGNATURE_RSA_PSS_RSAE
	SignatureRSAPSSPSS  SignatureAlgorithm = C.S2N_TLS_SIGNATURE_RSA_PSS_PSS
)

func (a SignatureAlgorithm) String() string {
	switch a {
	case SignatureAnonymous:
		return "anonymous"
	case SignatureRSA:
		return "rsa_pkcs1"
	case SignatureECDSA:
		return "ecdsa"
	case SignatureMLDSA:
		return "mldsa"
	case SignatureRSAPSSRSAE:
		return "rsa_pss_rsae"
	case SignatureRSAPSSPSS:
		return "rsa_pss_pss"
	}
	return fmt.Sprintf("SignatureAlgorithm(%d)", int(a))
}

// HashAlgorithm is a TLS hash algorithm as s2n reports it
// (s2n_tls_hash_algorithm).
type HashAlgorithm int

// Hash algorithms.
const (
	HashNone    HashAlgorithm = C.S2N_TLS_HASH_NONE
	HashMD5     HashAlgorithm = C.S2N_TLS_HASH_MD5
	HashSHA1    HashAlgorithm = C.S2N_TLS_HASH_SHA1
	HashSHA224  HashAlgorithm = C.S2N_TLS_HASH_SHA224
	HashSHA256  HashAlgorithm = C.S2N_TLS_HASH_SHA256
	HashSHA384  HashAlgorithm = C.S2N_TLS_HASH_SHA384
	HashSHA512  HashAlgorithm = C.S2N_TLS_HASH_SHA512
	HashMD5SHA1 HashAlgorithm = C.S2N_TLS_HASH_MD5_SHA1
)

// CryptoHash maps the algorithm to Go's crypto.Hash (0 for none).
func (h HashAlgorithm) CryptoHash() crypto.Hash {
	switch h {
	case HashMD5:
		return crypto.MD5
	case HashSHA1:
		return crypto.SHA1
	case HashSHA224:
		return crypto.SHA224
	case HashSHA256:
		return crypto.SHA256
	case HashSHA384:
		return crypto.SHA384
	case HashSHA512:
		return crypto.SHA512
	case HashMD5SHA1:
		return crypto.MD5SHA1
	}
	return 0
}

func (h HashAlgorithm) String() string {
	if h == HashNone {
		return "none"
	}
	if ch := h.CryptoHash(); ch != 0 {
		return ch.String()
	}
	return fmt.Sprintf("HashAlgorithm(%d)", int(h))
}

// ClientHelloCallbackMode says when a ClientHello callback's work is done
// (s2n_client_hello_cb_mode).
type ClientHelloCallbackMode int

const (
	// ClientHelloBlocking: the handshake goes on when the callback returns
	// (S2N_CLIENT_HELLO_CB_BLOCKING). The callback holds its OS thread.
	ClientHelloBlocking ClientHelloCallbackMode = C.S2N_CLIENT_HELLO_CB_BLOCKING
	// ClientHelloNonBlocking: the handshake waits, reporting
	// BlockedOnApplicationInput, until [Connection.ClientHelloDone] is called,
	// inside the callback or later from any goroutine
	// (S2N_CLIENT_HELLO_CB_NONBLOCKING).
	ClientHelloNonBlocking ClientHelloCallbackMode = C.S2N_CLIENT_HELLO_CB_NONBLOCKING
)

// FingerprintType is a ClientHello fingerprinting method (s2n_fingerprint_type).
type FingerprintType int

const (
	// FingerprintJA3: an MD5 hash, hex-encoded, of the JA3 string
	// (S2N_FINGERPRINT_JA3).
	FingerprintJA3 FingerprintType = C.S2N_FINGERPRINT_JA3
	// FingerprintJA4: "prefix_hash_hash" over the JA4 string
	// (S2N_FINGERPRINT_JA4).
	FingerprintJA4 FingerprintType = C.S2N_FINGERPRINT_JA4
)

func (t FingerprintType) String() string {
	switch t {
	case FingerprintJA3:
		return "JA3"
	case FingerprintJA4:
		return "JA4"
	}
	return "FingerprintType(" + strconv.Itoa(int(t)) + ")"
}

// PeerKeyUpdate says whether a TLS 1.3 KeyUpdate also asks the peer to
// update its sending key (s2n_peer_key_update).
type PeerKeyUpdate int

const (
	// KeyUpdateNotRequested updates only this side's sending key
	// (S2N_KEY_UPDATE_NOT_REQUESTED).
	KeyUpdateNotRequested PeerKeyUpdate = C.S2N_KEY_UPDATE_NOT_REQUESTED
	// KeyUpdateRequested would also ask the peer to update its key
	// (S2N_KEY_UPDATE_REQUESTED); s2n refuses it with
	// S2N_ERR_INVALID_ARGUMENT. s2n does answer a peer's request.
	KeyUpdateRequested PeerKeyUpdate = C.S2N_KEY_UPDATE_REQUESTED
)

// CertSNIMatch says how the certificate a server chose matched the
// client's SNI name (s2n_cert_sni_match).
type CertSNIMatch int

const (
	// SNINone: the client sent no SNI (S2N_SNI_NONE).
	SNINone CertSNIMatch = C.S2N_SNI_NONE
	// SNIExactMatch: a certificate names it exactly (S2N_SNI_EXACT_MATCH).
	SNIExactMatch CertSNIMatch = C.S2N_SNI_EXACT_MATCH
	// SNIWildcardMatch: a wildcard name matches it (S2N_SNI_WILDCARD_MATCH).
	SNIWildcardMatch CertSNIMatch = C.S2N_SNI_WILDCARD_MATCH
	// SNINoMatch: no certificate matches it; the default was sent
	// (S2N_SNI_NO_MATCH).
	SNINoMatch CertSNIMatch = C.S2N_SNI_NO_MATCH
)

func (m CertSNIMatch) String() string {
	switch m {
	case SNINone:
		return "none"
	case SNIExactMatch:
		return "exact"
	case SNIWildcardMatch:
		return "wildcard"
	case SNINoMatch:
		return "no match"
	}
	return "CertSNIMatch(" + strconv.Itoa(int(m)) + ")"
}
