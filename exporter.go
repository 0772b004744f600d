package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"math"
	"unsafe"
)

// nameUnsupportedVersion: a call s2n offers only on some protocol versions,
// made on a connection that negotiated another.
const nameUnsupportedVersion = "S2N_GO_ERR_UNSUPPORTED_VERSION"

// TLSExporter derives length bytes of keying material from the connection's
// exporter secret, label and context: the TLS 1.3 exporter of RFC 8446,
// section 7.5 (s2n_connection_tls_exporter). The same label, context and
// length give the same bytes on both ends of a connection.
//
// s2n implements it for TLS 1.3 only, once the handshake is complete. On a
// connection that negotiated an earlier version it returns an *Error of type
// ErrorTypeUsage named "S2N_GO_ERR_UNSUPPORTED_VERSION" without calling s2n
// (s2n itself would report only S2N_ERR_INVALID_STATE); before the handshake
// completes, s2n's S2N_ERR_HANDSHAKE_NOT_COMPLETE. length must be 1 to 255
// times the length of the cipher suite's hash: otherwise s2n fails with
// S2N_ERR_HKDF_OUTPUT_SIZE, or with S2N_ERR_HKDF for a too long output in
// FIPS mode, where libcrypto computes HKDF. In TLS 1.3 an empty context and
// no context are the same.
func (c *Connection) TLSExporter(label string, context []byte, length int) ([]byte, error) {
	if length < 0 || length > math.MaxUint32 || len(label) > math.MaxUint32 || len(context) > math.MaxUint32 {
		return nil, usageError(nameInvalidArg, "TLSExporter: label, context and length must fit in uint32 (length %d)", length)
	}
	// s2n requires non-NULL pointers, also for empty values.
	var one [1]byte
	labelPtr, contextPtr := &one[0], &one[0]
	if len(label) > 0 {
		labelPtr = unsafe.StringData(label)
	}
	if len(context) > 0 {
		contextPtr = &context[0]
	}
	out := make([]byte, length)
	outPtr := &one[0]
	if length > 0 {
		outPtr = &out[0]
	}
	var version ProtocolVersion
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		version = ProtocolVersion(C.s2n_connection_get_actual_protocol_version(p))
		if version >= SSLv2 && version < TLS13 {
			return 0
		}
		return C.go_s2n_connection_tls_exporter(p, (*C.uint8_t)(labelPtr), C.uint32_t(len(label)),
			(*C.uint8_t)(contextPtr), C.uint32_t(len(context)), (*C.uint8_t)(outPtr), C.uint32_t(length), e)
	})
	if err != nil {
		return nil, err
	}
	if version >= SSLv2 && version < TLS13 {
		return nil, usageError(nameUnsupportedVersion,
			"TLS exporter: s2n supports it only on TLS 1.3 connections; this one negotiated %v", version)
	}
	return out, nil
}

// ExportKeyingMaterial returns length bytes of keying material derived
// from the connection's secrets with label and context, as
// crypto/tls.ConnectionState.ExportKeyingMaterial does: on TLS 1.3 the two
// give the same bytes for the same inputs ([Connection.TLSExporter], over
// s2n_connection_tls_exporter).
//
// It works once the handshake is complete, on TLS 1.3 connections only:
// s2n has no exporter for earlier versions, and the error says so (an *Error
// of type ErrorTypeUsage named "S2N_GO_ERR_UNSUPPORTED_VERSION"). Before the
// handshake and after Close it returns a usage error. length runs from 1 to
// 255 hash lengths (8160 bytes with a SHA-256 suite).
//
// The tls.ConnectionState that [Conn.ConnectionState] returns cannot export
// (crypto/tls keeps its exporter in an unexported field): call this method.
func (c *Conn) ExportKeyingMaterial(label string, context []byte, length int) ([]byte, error) {
	if !c.handshakeDone.Load() {
		return nil, usageError(nameInvalidArg, "ExportKeyingMaterial before the handshake completed")
	}
	if c.closed.Load() {
		return nil, closedError("connection")
	}
	return c.c.TLSExporter(label, context, length)
}
